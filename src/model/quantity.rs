//! Exact quantities: shares as ratios of decimals, money in øre, calendar periods.

use std::fmt;
use std::str::FromStr;

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

/// A threshold operator, always written out in the rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CompareOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl CompareOp {
    pub const ALL: [&'static str; 6] = ["<", "<=", ">", ">=", "==", "!="];

    pub fn parse(text: &str) -> Option<CompareOp> {
        Some(match text {
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            ">=" => CompareOp::Ge,
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
        }
    }

    pub fn holds<T: Ord>(self, left: &T, right: &T) -> bool {
        match self {
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Ge => left >= right,
            CompareOp::Eq => left == right,
            CompareOp::Ne => left != right,
        }
    }

    pub fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A share as an exact ratio: "0.44" is 0.44/1, "1/9" is 1/9, so "every 9th" stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    numerator: Decimal,
    denominator: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    #[error("`{0}` is not a share: write a decimal such as \"0.44\" or a ratio such as \"1/9\"")]
    Malformed(String),
    #[error("share `{0}` is outside 0 to 1")]
    OutOfRange(String),
    #[error(
        "share `{0}` is too large or too precise: a numerator or denominator is at most 1000000, with at most 6 decimals"
    )]
    TooLarge(String),
}

/// The largest numerator or denominator a share may have, and its most decimals: enough for
/// any share the law writes ("1/4", "1/9", "0.44"), small enough that every product with a
/// count of vacancies stays exact.
const SHARE_PART_MAX: u32 = 1_000_000;
const SHARE_PART_SCALE: u32 = 6;

impl Share {
    pub const ZERO: Share = Share {
        numerator: Decimal::ZERO,
        denominator: Decimal::ONE,
    };

    /// Whether a quota is still due for the `total`-th item when `count` items went to it:
    /// the requirement `count op share × total` does not hold yet.
    pub fn is_due(self, op: CompareOp, count: u64, total: u64) -> bool {
        // count op n/d × total  ⇔  count × d op n × total, as d > 0. Parts are bounded
        // (`SHARE_PART_MAX`), so the products of u64 counts fit; were they not to, the
        // quota would be treated as not due rather than panic.
        let left = Decimal::from(count).checked_mul(self.denominator);
        let right = self.numerator.checked_mul(Decimal::from(total));
        match (left, right) {
            (Some(left), Some(right)) => !op.holds(&left, &right),
            _ => !op.holds(&self.as_decimal(), &self.as_decimal()),
        }
    }

    /// [`Share::is_due`], or None when its products do not fit a decimal (the engine
    /// reports that rather than decide on a fallback).
    pub fn checked_is_due(self, op: CompareOp, count: u64, total: u64) -> Option<bool> {
        let left = Decimal::from(count).checked_mul(self.denominator)?;
        let right = self.numerator.checked_mul(Decimal::from(total))?;
        Some(!op.holds(&left, &right))
    }

    /// The number required of `total` items, exact; None when it does not fit a decimal.
    pub fn checked_of(self, total: u64) -> Option<Decimal> {
        self.numerator
            .checked_mul(Decimal::from(total))
            .and_then(|n| n.checked_div(self.denominator))
    }

    /// The number required of `total` items, exact.
    pub fn of(self, total: u64) -> Decimal {
        self.numerator
            .checked_mul(Decimal::from(total))
            .and_then(|n| n.checked_div(self.denominator))
            .unwrap_or(Decimal::MAX)
    }

    pub fn as_decimal(self) -> Decimal {
        self.numerator
            .checked_div(self.denominator)
            .unwrap_or(Decimal::ZERO)
    }

    pub fn is_zero(self) -> bool {
        self.numerator.is_zero()
    }
}

impl FromStr for Share {
    type Err = ShareError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || ShareError::Malformed(text.to_owned());
        let (numerator, denominator) = match text.split_once('/') {
            Some((n, d)) => (
                Decimal::from_str_exact(n.trim()).map_err(|_| malformed())?,
                Decimal::from_str_exact(d.trim()).map_err(|_| malformed())?,
            ),
            None => (
                Decimal::from_str_exact(text.trim()).map_err(|_| malformed())?,
                Decimal::ONE,
            ),
        };
        if denominator <= Decimal::ZERO || numerator < Decimal::ZERO || numerator > denominator {
            return Err(ShareError::OutOfRange(text.to_owned()));
        }
        let max = Decimal::from(SHARE_PART_MAX);
        if denominator > max
            || numerator.scale() > SHARE_PART_SCALE
            || denominator.scale() > SHARE_PART_SCALE
        {
            return Err(ShareError::TooLarge(text.to_owned()));
        }
        Ok(Share {
            numerator,
            denominator,
        })
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.denominator == Decimal::ONE {
            write!(f, "{}", self.numerator.normalize())
        } else {
            write!(
                f,
                "{}/{}",
                self.numerator.normalize(),
                self.denominator.normalize()
            )
        }
    }
}

impl Serialize for Share {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An amount of Danish kroner, held as integer øre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money {
    ore: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an amount in DKK: write it as a string such as \"15000.00\"")]
    Malformed(String),
    #[error("`{0}` has more than two decimals: DKK amounts are kept to the øre")]
    SubOre(String),
    #[error("`{0}` is negative")]
    Negative(String),
    #[error("`{0}` is too large: an amount is at most 92233720368547758.07 DKK")]
    TooLarge(String),
}

impl Money {
    pub const ZERO: Money = Money { ore: 0 };

    pub fn from_ore(ore: i64) -> Money {
        Money { ore }
    }

    pub fn ore(self) -> i64 {
        self.ore
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.ore.checked_sub(other.ore).map(Money::from_ore)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.ore.checked_add(other.ore).map(Money::from_ore)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.ore, 2)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value = Decimal::from_str_exact(text.trim())
            .map_err(|_| MoneyError::Malformed(text.to_owned()))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative(text.to_owned()));
        }
        // Checked: a 29-digit amount in a rule file overflowed the multiplication and
        // panicked `rules check`.
        let ore = value
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or_else(|| MoneyError::TooLarge(text.to_owned()))?;
        if ore.fract() != Decimal::ZERO {
            return Err(MoneyError::SubOre(text.to_owned()));
        }
        let ore = i64::try_from(ore).map_err(|_| MoneyError::TooLarge(text.to_owned()))?;
        Ok(Money { ore })
    }
}

impl fmt::Display for Money {
    /// `DKK 15,000.00` style without grouping: `15000.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Amounts are written as decimal strings in DKK: "15000.00".
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A calendar period: years and months move by calendar months, days by days, so
/// "1 year" from 2008-02-29 is 2009-02-28 as chrono reckons it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarPeriod {
    pub months: u32,
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a period: write a number and a unit, such as \"6 months\", \"2 years\" or \"30 days\""
)]
pub struct PeriodError(pub String);

impl CalendarPeriod {
    /// The date `self` before `date` (saturating at the start of the calendar).
    pub fn before(self, date: NaiveDate) -> NaiveDate {
        date.checked_sub_months(Months::new(self.months))
            .and_then(|d| d.checked_sub_days(chrono::Days::new(u64::from(self.days))))
            .unwrap_or(NaiveDate::MIN)
    }

    /// The date `self` after `date` (saturating at the end of the calendar).
    pub fn after(self, date: NaiveDate) -> NaiveDate {
        date.checked_add_months(Months::new(self.months))
            .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(self.days))))
            .unwrap_or(NaiveDate::MAX)
    }
}

impl FromStr for CalendarPeriod {
    type Err = PeriodError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || PeriodError(text.to_owned());
        let mut words = text.split_whitespace();
        let (Some(number), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(error());
        };
        let n: u32 = number.parse().map_err(|_| error())?;
        match unit {
            "year" | "years" => Ok(CalendarPeriod {
                months: n.checked_mul(12).ok_or_else(error)?,
                days: 0,
            }),
            "month" | "months" => Ok(CalendarPeriod { months: n, days: 0 }),
            "day" | "days" => Ok(CalendarPeriod { months: 0, days: n }),
            _ => Err(error()),
        }
    }
}

impl fmt::Display for CalendarPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.months, self.days) {
            (m, 0) if m % 12 == 0 && m > 0 => {
                write!(f, "{} year{}", m / 12, if m == 12 { "" } else { "s" })
            }
            (m, 0) => write!(f, "{m} month{}", if m == 1 { "" } else { "s" }),
            (0, d) => write!(f, "{d} day{}", if d == 1 { "" } else { "s" }),
            (m, d) => write!(f, "{m} months {d} days"),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn shares_too_large_or_too_precise_are_refused() {
        assert!(matches!(
            "79228162514264337593543950335/79228162514264337593543950335".parse::<Share>(),
            Err(ShareError::TooLarge(_))
        ));
        assert!(matches!(
            "0.1234567".parse::<Share>(),
            Err(ShareError::TooLarge(_))
        ));
        let ninth: Share = "1/9".parse().expect("share");
        assert!(ninth.is_due(CompareOp::Ge, 0, u64::MAX));
        assert!(ninth.of(u64::MAX) > Decimal::ZERO);
    }

    use super::*;

    #[test]
    fn shares_parse_exactly() {
        let ninth: Share = "1/9".parse().unwrap();
        // 100 of 900 meets "at least 1/9"; 99 does not.
        assert!(!ninth.is_due(CompareOp::Ge, 100, 900));
        assert!(ninth.is_due(CompareOp::Ge, 99, 900));
        let floor: Share = "0.44".parse().unwrap();
        assert_eq!(floor.of(9), Decimal::new(396, 2));
        assert!(matches!(
            "1.5".parse::<Share>(),
            Err(ShareError::OutOfRange(_))
        ));
        assert!(matches!(
            "abc".parse::<Share>(),
            Err(ShareError::Malformed(_))
        ));
    }

    #[test]
    fn money_keeps_ore() {
        let m: Money = "15000.00".parse().unwrap();
        assert_eq!(m.ore(), 1_500_000);
        assert_eq!(m.to_string(), "15000.00");
        assert!(matches!(
            "1.005".parse::<Money>(),
            Err(MoneyError::SubOre(_))
        ));
        assert!(matches!(
            "-1".parse::<Money>(),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            "79228162514264337593543950335".parse::<Money>(),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            "92233720368547758.08".parse::<Money>(),
            Err(MoneyError::TooLarge(_))
        ));
        assert_eq!(
            "92233720368547758.07".parse::<Money>().map(Money::ore),
            Ok(i64::MAX)
        );
    }

    #[test]
    fn periods_move_by_calendar() {
        let year: CalendarPeriod = "1 year".parse().unwrap();
        let leap = NaiveDate::from_ymd_opt(2008, 2, 29).unwrap();
        assert_eq!(
            year.after(leap),
            NaiveDate::from_ymd_opt(2009, 2, 28).unwrap()
        );
        assert_eq!(year.to_string(), "1 year");
        assert!("6 fortnights".parse::<CalendarPeriod>().is_err());
    }
}
