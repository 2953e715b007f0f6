//! `letting rules check` on broken rule files: every error with file:line:column and a
//! hint, nothing loaded, exit code 1. Fixtures are the shipped rules with one mistake
//! written in, so each test names the exact line it broke.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the shipped rules (every layer and list) with `from` replaced by `to` in the
/// layer `sets/<file>`; returns the copy, the broken file and the line of the change.
fn broken_in(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["sets", "reference"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(repo().join("rules").join(sub)).expect("read dir") {
            let path = entry.expect("entry").path();
            let target = dir.path().join(sub).join(path.file_name().expect("name"));
            std::fs::copy(&path, target).expect("copy");
        }
    }
    let path = dir.path().join("sets").join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let line = text
        .lines()
        .position(|l| l.contains(from))
        .expect("fixture line")
        + 1;
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    (dir, path, line)
}

/// The same, in Copenhagen's municipal layer.
fn broken(from: &str, to: &str) -> (tempfile::TempDir, PathBuf, usize) {
    broken_in("kk-2007.toml", from, to)
}

fn check(dir: &Path, json: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_letting"));
    cmd.args(["rules", "check"])
        .arg(dir)
        .args(["--as-of", "2007-06-01"]);
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.output().expect("run letting");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn shipped_rules_check_clean() {
    let (code, out) = check(&repo().join("rules"), false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn misspelt_key_is_reported_with_line_column_and_hint() {
    let (dir, file, line) = broken("effective_from = 2007-01-01", "efective_from = 2007-01-01");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:1: error: unknown key `efective_from`",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(out.contains("did you mean `effective_from`?"), "{out}");
    assert!(out.contains("no rule set is used"), "{out}");
}

#[test]
fn decimal_written_as_float_is_reported_at_its_value() {
    let (dir, file, line) = broken(
        r#"op = ">=", value = "0.40" }"#,
        r#"op = ">=", value = 0.40 }"#,
    );
    let (code, out) = check(dir.path(), true);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json output");
    let diags = doc["diagnostics"].as_array().expect("diagnostics");
    let d = diags
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.contains("written as a float"))
        })
        .expect("float error");
    assert_eq!(d["file"], file.display().to_string());
    assert_eq!(d["line"], line);
    assert!(d["column"].as_u64().expect("column") > 1);
    assert!(d["hint"].as_str().expect("hint").contains("as a string"));
    assert_eq!(doc["ok"], false);
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let (dir, path, _) = broken_in(
        "kk-aftale-2007.toml",
        r#"share = "0.44""#,
        r#"share = "0.4.4""#,
    );
    let text = std::fs::read_to_string(&path).expect("read");
    let text = text
        .replacen(
            "department {department} has agreed",
            "department {departmnt} has agreed",
            1,
        )
        .replacen(
            r#"source = { ref = "status-2007-bilag-1", section = "Fleksibel udlejning: hver 9. ledige bolig" }"#,
            r#"source = { ref = "status-2007-bilag-9", section = "Fleksibel udlejning: hver 9. ledige bolig" }"#,
            1,
        );
    std::fs::write(&path, text).expect("write");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1);
    assert!(out.contains("`0.4.4` is not a share"), "{out}");
    assert!(
        out.contains("unknown placeholder `{departmnt}`")
            && out.contains("did you mean `department`?"),
        "{out}"
    );
    assert!(
        out.contains("unknown source `status-2007-bilag-9`")
            && out.contains("did you mean `status-2007-bilag-"),
        "{out}"
    );
    assert!(out.contains("3 error(s)"), "{out}");
}

#[test]
fn overlapping_layers_of_one_kind_and_municipality_are_refused() {
    let (dir, _, _) = broken("effective_to = 2019-06-30", "effective_to = 2019-06-30");
    let copy = std::fs::read_to_string(dir.path().join("sets/kk-2007.toml")).expect("read");
    let other = copy
        .replacen(r#"id = "kk-2007""#, r#"id = "kk-2010""#, 1)
        .replacen(
            "effective_from = 2007-01-01",
            "effective_from = 2010-01-01",
            1,
        );
    std::fs::write(dir.path().join("sets/kk-2010.toml"), other).expect("write");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "rule set `kk-2010` starts on 2010-01-01 while `kk-2007` is in force until 2019-06-30"
        ),
        "{out}"
    );
}

/// The frame: a municipal layer or agreement may not go beyond what national law permits.
/// Each refusal names the file, line and column of what goes beyond, and how to fix it.
/// A referral quota the municipality claims by its own decision (appended to its layer).
const OWN_REFERRAL_QUOTA: &str = r#"
[channel_assignment]

[[channel_assignment.quotas]]
id = "cph2007.channel.own_referral_share"
channel = "municipal_referral"
share = "1/3"
op = ">="
source = { ref = "br-711-06" }
message.da = "Boligen går til {channel}."
message.en = "The dwelling goes to {channel}."
"#;

#[test]
fn a_municipal_referral_share_above_the_national_cap_is_refused() {
    let (dir, file, _) = broken("[relocation_grants]", "[relocation_grants]");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, format!("{text}{OWN_REFERRAL_QUOTA}")).expect("write");
    let line = text.lines().count()
        + 1
        + OWN_REFERRAL_QUOTA
            .lines()
            .position(|l| l.starts_with("share"))
            .expect("share line");
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:9: error: `cph2007.channel.own_referral_share` claims 1/3 of vacancies for municipal_referral, above the national cap 1/4 of `dk2005.channel.referral_cap`",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(
        out.contains("help: lower the share to at most 1/4"),
        "{out}"
    );
}

/// § 59, stk. 1 as the ministry describes it: by agreement the share "kan både være mere
/// eller mindre end hver fjerde bolig", so an agreement layer may agree 1/3.
#[test]
fn an_agreed_referral_share_may_exceed_the_cap() {
    let (dir, _, _) = broken_in(
        "kk-aftale-2007.toml",
        r#"share = "1/4""#,
        r#"share = "1/3""#,
    );
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn adopting_an_option_the_law_does_not_offer_is_refused() {
    let (dir, file, line) = broken(r#"option = "abl-51b""#, r#"option = "abl-51x""#);
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:10: error: decision `cph2007.adopt.combined_letting` adopts option `abl-51x`, which national layer `dk-2005` (in force from 2005-06-01) does not offer",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(out.contains("`dk-2005` offers abl-51b"), "{out}");
}

#[test]
fn a_benefit_the_law_does_not_list_is_refused() {
    let (dir, file, line) = broken(
        r#"benefits = ["cash_benefit", "start_aid", "introduction_allowance"]"#,
        r#"benefits = ["cash_benefit", "disability_pension"]"#,
    );
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:12: error: decision `cph2007.adopt.combined_letting` uses benefit `disability_pension`, which option `abl-51b` of national layer `dk-2005` does not list",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(
        out.contains("narrow the law's list, not extend it"),
        "{out}"
    );
}

/// § 51 b as first enacted may be used in the areas the ministry designates: combined
/// letting in an area on no designation list is refused.
#[test]
fn combined_letting_outside_the_designated_areas_is_refused() {
    let (dir, file, line) = broken(
        r#"areas = ["tingbjerg", "mjoelnerparken", "akacieparken", "aldersrogade", "lundtoftegade"]"#,
        r#"areas = ["tingbjerg", "nordvest"]"#,
    );
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:9: error: decision `cph2007.adopt.combined_letting` names area `nordvest`, which no designation list of class exposed names while the decision and national layer `dk-2005` are in force",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(
        out.contains("may be used only in designated areas"),
        "{out}"
    );
    assert!(!out.contains("area `tingbjerg`"), "{out}");
}

#[test]
fn a_municipal_rejection_rule_of_its_own_is_refused() {
    let (dir, file, line) = broken(
        r#"effect = "require_municipal_approval""#,
        r#"effect = "reject""#,
    );
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    let at = format!(
        "{}:{line}:10: error: a municipal decision or agreement cannot reject applicants by a rule of its own",
        file.display()
    );
    assert!(out.contains(&at), "expected `{at}` in:\n{out}");
    assert!(out.contains("adopt the national option"), "{out}");
}

#[test]
fn stale_designation_list_is_warned_of() {
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["rules", "check"])
        .arg(repo().join("rules"))
        .args(["--as-of", "2009-03-01"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings do not fail the check: {text}"
    );
    assert!(
        text.contains("warning: the newest `exposed` designation list for 0101"),
        "{text}"
    );
}

/// `letting rules timeline`: which layers judge which dates in Copenhagen, from 2005 on.
#[test]
fn the_timeline_shows_which_layers_judge_which_dates() {
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["rules", "timeline"])
        .arg(repo().join("rules"))
        .args(["--jurisdiction", "0101", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let periods: Vec<(String, String)> = doc[0]["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| {
            (
                p["from"].as_str().unwrap_or_default().to_owned(),
                p["rule_set_id"].as_str().unwrap_or("(none)").to_owned(),
            )
        })
        .collect();
    assert_eq!(periods[0], ("2005-01-01".to_owned(), "dk-2003".to_owned()));
    assert!(
        periods.contains(&(
            "2007-01-01".to_owned(),
            "dk-2005+kk-2007+kk-aftale-2007".to_owned()
        )),
        "{periods:?}"
    );
    // Today's letting in Copenhagen: the 2025 national layer (L 23's terms, the reformed
    // kontanthjælp) with the 2024 agreement; the 2019 agreement before, and the half-year
    // between the agreements judged by national law alone.
    assert_eq!(
        periods.last(),
        Some(&("2028-01-01".to_owned(), "dk-2025".to_owned()))
    );
    for expected in [
        ("2019-07-01", "dk-2018+kk-aftale-2019"),
        ("2021-11-30", "dk-2021+kk-aftale-2019"),
        ("2023-07-01", "dk-2021"),
        ("2024-01-01", "dk-2021+kk-aftale-2024"),
        ("2025-07-01", "dk-2025+kk-aftale-2024"),
    ] {
        assert!(
            periods.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {periods:?}"
        );
    }
    // No day from 2005-01-01 on lacks national law.
    let (check_code, check) = check(&repo().join("rules"), false);
    assert_eq!(check_code, 0);
    assert!(!check.contains("no national layer is in force"), "{check}");
}

/// A list history names its classes; one the layer does not declare is refused where it
/// stands, with the nearest declared class as a hint.
#[test]
fn a_list_history_naming_an_undeclared_class_is_refused() {
    let (dir, file, line) = broken_in(
        "dk-2021.toml",
        r#"classes = ["ghetto", "parallel_society"]"#,
        r#"classes = ["ghetto", "paralel_society"]"#,
    );
    let (code, out) = check(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("{}:{line}:", file.display())),
        "expected the line {line} of {} in:\n{out}",
        file.display()
    );
    assert!(
        out.contains("`paralel_society` is not in `vocabulary.classes`"),
        "{out}"
    );
    assert!(out.contains("did you mean `parallel_society`?"), "{out}");
}

/// The ghetto lists end with L 23's renaming; a history that reads them with the
/// parallel-society lists is due as one, so only its newest list may be stale.
#[test]
fn a_renamed_list_read_as_history_is_not_stale() {
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["rules", "check"])
        .arg(repo().join("rules"))
        .args(["--as-of", "2023-06-01"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        !text.contains("the newest `ghetto` designation list"),
        "{text}"
    );
    assert!(!text.contains("past its yearly cycle"), "{text}");
}
