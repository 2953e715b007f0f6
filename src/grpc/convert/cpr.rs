//! CPR-shaped runs in what a caller sent: found, never quoted back, withheld from
//! messages.

use super::limits;

/// Where `text` holds a CPR-shaped run: six digits, an optional dash and four digits, with
/// no digit just before or after (a longer run of digits is some other number). The byte
/// ranges of the runs, in order.
fn cpr_runs(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    // The length of the run of digits from `i`.
    let run = move |i: usize| (i..bytes.len()).take_while(|&j| digit(j)).count();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            if !digit(start) || (start > 0 && digit(start - 1)) {
                at = start.saturating_add(1);
                continue;
            }
            let n = run(start);
            at = start.saturating_add(n);
            let found = match n {
                10 => Some(start..at),
                6 if bytes.get(at) == Some(&b'-') && run(at.saturating_add(1)) == 4 => {
                    Some(start..at.saturating_add(5))
                }
                _ => None,
            };
            if let Some(found) = found {
                at = found.end;
                return Some(found);
            }
        }
        None
    })
}

/// Whether `text` holds a CPR-shaped run (see [`cpr_runs`]).
pub fn looks_like_cpr(text: &str) -> bool {
    cpr_runs(text).next().is_some()
}

/// A sent value as an error message shows it: in backticks, at most
/// [`limits::QUOTE`] characters and "…", and not at all when it holds a CPR-shaped run.
pub fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(limits::QUOTE).collect();
    // The cut prefix is checked too: cutting a longer run of digits can leave ten.
    if looks_like_cpr(text) || looks_like_cpr(&shown) {
        return "a value shaped like a CPR number (not shown)".to_owned();
    }
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// `message` with every CPR-shaped run withheld: for messages that may quote what a
/// caller sent.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut from = 0;
    for run in cpr_runs(message) {
        out.push_str(message.get(from..run.start).unwrap_or_default());
        out.push_str("[withheld]");
        from = run.end;
    }
    out.push_str(message.get(from..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpr_shapes_are_caught() {
        for cpr in [
            "010170-1234",
            "0101701234",
            "x0101701234",
            "hh-3112999999-x",
            "a 010170-1234 b",
            "010170-1234-5678",
        ] {
            assert!(looks_like_cpr(cpr), "{cpr}");
        }
        // Not six digits, a dash and four; or part of a longer run of digits.
        for other in [
            "A-1007",
            "hh-2007-000123",
            "01017-1234",
            "0101701",
            "01017012345",
            "1010170-1234",
            "010170-12345",
            "010170--1234",
            "2007-03-01",
            "",
        ] {
            assert!(!looks_like_cpr(other), "{other}");
        }
    }

    #[test]
    fn quotes_are_short_and_never_cpr_shaped() {
        assert_eq!(quote("abc"), "`abc`");
        let long = "q".repeat(1_000);
        assert_eq!(quote(&long), format!("`{}…`", "q".repeat(40)));
        assert!(!quote("hh-010170-1234").contains("010170"));
        // Thirteen digits are no CPR number, but cut after ten of them they would be.
        let cut = format!("{}0101701234567", "q".repeat(30));
        assert!(!quote(&cut).contains("0101701234"), "{}", quote(&cut));
    }

    #[test]
    fn redaction_withholds_each_run_and_keeps_the_rest() {
        assert_eq!(
            redact("vacancy `0190f0c4-0000-7000-8000-0101701234ab` and 010170-1234."),
            "vacancy `0190f0c4-0000-7000-8000-[withheld]ab` and [withheld]."
        );
        assert_eq!(redact("letting 2007-03-01"), "letting 2007-03-01");
    }
}
