//! The indicator history's points, and the date indicators 5 and 6 count from.

use chrono::NaiveDate;

use crate::report::{Period, quarter_of};

/// Indicators 5 and 6 count from this date (the agreement's start).
pub(super) fn indicators_since() -> NaiveDate {
    NaiveDate::from_ymd_opt(2007, 1, 1).unwrap_or(NaiveDate::MIN)
}
/// Quarters of indicator history shown, the period's own included.
const HISTORY_QUARTERS: i64 = 8;

/// The history's points: the end of each quarter before the period's last quarter (at
/// most [`HISTORY_QUARTERS`] in all, none before 2007), then the period's end.
pub(super) fn history_points(period: &Period) -> Vec<(String, NaiveDate)> {
    let (year, q) = quarter_of(period.to);
    let last = i64::from(year) * 4 + i64::from(q) - 1;
    let first = (last - HISTORY_QUARTERS + 1).max(2007 * 4);
    let mut points = Vec::new();
    for index in first..last {
        let (y, q) = (index.div_euclid(4), index.rem_euclid(4) + 1);
        if let (Ok(y), Ok(q)) = (i32::try_from(y), u32::try_from(q))
            && let Ok(quarter) = Period::quarter(y, q)
            && quarter.to < period.to
        {
            points.push((quarter.label, quarter.to));
        }
    }
    points.push((period.label.clone(), period.to));
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ends_at_the_period_and_starts_no_earlier_than_2007() {
        let p = Period::quarter(2007, 2).unwrap();
        let points = history_points(&p);
        assert_eq!(
            points.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            ["2007Q1", "2007Q2"]
        );
        let p = Period::quarter(2010, 3).unwrap();
        let points = history_points(&p);
        assert_eq!(points.len(), 8);
        assert_eq!(points[0].0, "2008Q4");
        assert_eq!(points[7].1, p.to);
        let p =
            Period::range("2007-05-01".parse().unwrap(), "2007-05-20".parse().unwrap()).unwrap();
        let points = history_points(&p);
        assert_eq!(points.last().unwrap().0, "2007-05-01..2007-05-20");
        assert_eq!(points.len(), 2);
    }
}
