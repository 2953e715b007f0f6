//! Single values of a rule file: required keys, dates, jurisdictions, shares, amounts, periods.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn date(&mut self, path: &[Seg], raw: &RawDate) -> Option<NaiveDate> {
        let text = match raw {
            RawDate::Toml(dt) => match (dt.date, dt.time) {
                (Some(d), None) if dt.offset.is_none() => {
                    return NaiveDate::from_ymd_opt(
                        i32::from(d.year),
                        u32::from(d.month),
                        u32::from(d.day),
                    );
                }
                _ => {
                    self.error(
                        path,
                        format!("`{dt}` is not a calendar date"),
                        Some("write a date without a time, such as 2007-01-01".into()),
                    );
                    return None;
                }
            },
            RawDate::Text(text) => text,
        };
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.error(
                    path,
                    format!("`{text}` is not a date"),
                    Some("write it as YYYY-MM-DD, such as 2007-01-01".into()),
                );
                None
            }
        }
    }

    pub(super) fn jurisdiction(&mut self, path: &[Seg], text: &str) -> Option<Arc<str>> {
        let ok = text == NATIONAL || (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Some(text.into())
        } else {
            self.error(
                path,
                format!("`{text}` is not a jurisdiction"),
                Some("use a four-digit municipality code such as \"0101\" (Copenhagen), or \"DK\" for national law".into()),
            );
            None
        }
    }

    pub(super) fn share(&mut self, path: &[Seg], text: &str) -> Option<Share> {
        match Share::from_str(text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(path, e.to_string(), None);
                None
            }
        }
    }

    pub(super) fn money(&mut self, path: &[Seg], raw: &RawDecimal) -> Option<Money> {
        match raw {
            RawDecimal::Text(text) => match Money::from_str(text) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.error(path, e.to_string(), None);
                    None
                }
            },
            RawDecimal::Float(f) => {
                self.error(
                    path,
                    format!("amount `{f}` is written as a float"),
                    Some(format!(
                        "write it as a string, \"{f:.2}\": TOML floats lose digits"
                    )),
                );
                None
            }
            RawDecimal::Integer(i) => {
                self.error(
                    path,
                    format!("amount `{i}` is written as an integer"),
                    Some(format!("write it as a string with øre, \"{i}.00\"")),
                );
                None
            }
        }
    }

    pub(super) fn period(&mut self, path: &[Seg], text: &str) -> Option<CalendarPeriod> {
        match CalendarPeriod::from_str(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(path, e.to_string(), None);
                None
            }
        }
    }

    pub(super) fn required<'v, T: ?Sized>(
        &mut self,
        path: &[Seg],
        name: &str,
        value: Option<&'v T>,
    ) -> Option<&'v T> {
        if value.is_none() {
            self.error(
                path,
                format!("missing key `{name}`"),
                Some("rules/README.md lists what each table needs".into()),
            );
        }
        value
    }

    pub(super) fn op(&mut self, path: &[Seg], text: &str) -> Option<CompareOp> {
        let op = CompareOp::parse(text);
        if op.is_none() {
            self.error(
                path,
                format!("unknown operator `{text}`"),
                Some(format!("use one of {}", CompareOp::ALL.join(" "))),
            );
        }
        op
    }
}
