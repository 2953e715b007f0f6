//! The quarterly compliance report: every figure the municipality, its politicians and
//! its auditors read, computed from the decision log alone for one municipality and a
//! period, with the ids of the decisions behind every count.
//!
//! [`compute`] reads in one read transaction (a consistent snapshot): the period's
//! decisions through the log's (municipality, event date) index, the statistics decisions
//! and the year's grant decisions up to the period's end, the lettings pending at its
//! end, and counts (not scans) for the cumulative indicators. Everything else is pure:
//! the classification of every area by [`crate::engine::classify`] at the period's start
//! and wherever its inputs change, the checks against the rule sets' targets, and the
//! indicators. The renderers in [`render`] turn a [`Report`] into text, CSV or HTML; the
//! report itself serialises to the stable JSON documented in `docs/report-format.md`.
//!
//! **Architecture invariant:** the report reads no clock and knows no SQL or protobuf:
//! `generated_at` is set by the caller, and the store is read only through [`crate::store::Tx`].

mod compute;
pub mod model;
pub mod render;

use chrono::{Datelike, NaiveDate};

pub use compute::{compute, compute_in};
pub use model::*;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("invalid period: {0}")]
    Period(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("a stored decision could not be read: {0}")]
    Corrupt(String),
    #[error("the report could not be written: {0}")]
    Render(String),
}

/// The days a report covers, both inclusive, and what to call them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub label: String,
}

impl Period {
    /// Quarter `q` (1 to 4) of `year`.
    pub fn quarter(year: i32, q: u32) -> Result<Period, ReportError> {
        if !(1..=4).contains(&q) {
            return Err(ReportError::Period(format!(
                "quarter {q} of {year}: a year has quarters 1 to 4"
            )));
        }
        let from = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1)
            .ok_or_else(|| ReportError::Period(format!("{year} is not a year")))?;
        let next = if q == 4 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, 3 * q + 1, 1)
        };
        let to = next
            .and_then(|d| d.pred_opt())
            .ok_or_else(|| ReportError::Period(format!("{year} is not a year")))?;
        Ok(Period {
            from,
            to,
            label: format!("{year}Q{q}"),
        })
    }

    /// `2007Q2` (also `2007-Q2` and `2007q2`).
    pub fn parse_quarter(text: &str) -> Result<Period, ReportError> {
        let bad = || {
            ReportError::Period(format!(
                "`{text}` is not a quarter: write the year and the quarter, such as 2007Q2"
            ))
        };
        let upper = text.trim().to_ascii_uppercase();
        let (year, q) = upper.split_once('Q').ok_or_else(bad)?;
        let year = year.strip_suffix('-').unwrap_or(year);
        if year.len() != 4 || q.len() != 1 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        Period::quarter(year, q)
    }

    /// Any range of days, `from` to `to` inclusive; labelled as a quarter when it is one.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Period, ReportError> {
        if to < from {
            return Err(ReportError::Period(format!(
                "the period ends ({to}) before it starts ({from})"
            )));
        }
        let (year, q) = quarter_of(from);
        if let Ok(quarter) = Period::quarter(year, q)
            && quarter.from == from
            && quarter.to == to
        {
            return Ok(quarter);
        }
        Ok(Period {
            from,
            to,
            label: format!("{from}..{to}"),
        })
    }

    /// Whether `date` falls in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The year and quarter (1 to 4) a date falls in.
pub fn quarter_of(date: NaiveDate) -> (i32, u32) {
    (date.year(), date.month0() / 3 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn quarters_have_their_days() {
        let q = Period::parse_quarter("2007Q2").unwrap();
        assert_eq!((q.from, q.to), (d("2007-04-01"), d("2007-06-30")));
        let q = Period::parse_quarter("2008-q1").unwrap();
        assert_eq!((q.from, q.to), (d("2008-01-01"), d("2008-03-31")));
        let q = Period::quarter(2007, 4).unwrap();
        assert_eq!((q.from, q.to), (d("2007-10-01"), d("2007-12-31")));
        assert!(Period::parse_quarter("2007Q5").is_err());
        assert!(Period::parse_quarter("07Q1").is_err());
        assert!(Period::parse_quarter("2007").is_err());
    }

    #[test]
    fn a_range_that_is_a_quarter_is_labelled_so() {
        let p = Period::range(d("2007-07-01"), d("2007-09-30")).unwrap();
        assert_eq!(p.label, "2007Q3");
        let p = Period::range(d("2007-07-01"), d("2007-08-15")).unwrap();
        assert_eq!(p.label, "2007-07-01..2007-08-15");
        assert!(Period::range(d("2007-07-02"), d("2007-07-01")).is_err());
    }
}
