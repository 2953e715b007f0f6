//! The demo's year, 2007: its dates, quarter edges, holidays and working days, date arithmetic.

use chrono::{Datelike, Days, NaiveDate, Weekday};

pub(super) const fn ymd(month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(2007, month, day) {
        Some(date) => date,
        None => NaiveDate::MIN,
    }
}

pub(super) const YEAR_START: NaiveDate = ymd(1, 1);
const FIRST_VACANCY: NaiveDate = ymd(1, 2);
const LAST_VACANCY: NaiveDate = ymd(12, 28);
pub(super) const YEAR_END: NaiveDate = ymd(12, 31);
pub(super) const MAY_1: NaiveDate = ymd(5, 1);
/// The quarter edges every report should meet.
pub(super) const Q1_END: NaiveDate = ymd(3, 31);
pub(super) const Q2_START: NaiveDate = ymd(4, 1);
pub(super) const Q2_END: NaiveDate = ymd(6, 30);
pub(super) const Q3_START: NaiveDate = ymd(7, 1);

/// Danish public holidays of 2007 on weekdays: no vacancy is registered on them.
const HOLIDAYS: [NaiveDate; 9] = [
    ymd(4, 5),   // Skærtorsdag
    ymd(4, 6),   // Langfredag
    ymd(4, 9),   // 2. påskedag
    ymd(5, 4),   // Store bededag
    ymd(5, 17),  // Kristi himmelfartsdag
    ymd(5, 28),  // 2. pinsedag
    ymd(6, 5),   // Grundlovsdag
    ymd(12, 24), // Juleaftensdag
    ymd(12, 25), // Juledag
];

pub(super) fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

pub(super) fn minus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days))
        .unwrap_or(NaiveDate::MIN)
}

pub(super) fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// Tenants move in on the 1st or the 15th, at least two weeks after the letting is settled.
pub(super) fn move_in_after(date: NaiveDate) -> NaiveDate {
    let earliest = plus(date, 14);
    match earliest.day() {
        1 | 15 => earliest,
        d if d < 15 => earliest.with_day(15).unwrap_or(earliest),
        _ => earliest
            .with_day(1)
            .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
            .unwrap_or(NaiveDate::MAX),
    }
}

pub(super) fn working_days() -> Vec<NaiveDate> {
    FIRST_VACANCY
        .iter_days()
        .take_while(|d| *d <= LAST_VACANCY)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !HOLIDAYS.contains(d))
        .collect()
}
