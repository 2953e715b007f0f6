//! Quota counters: kept per department and per municipality for each quota period.
//! The engine reads them and returns them updated; the store keeps them.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::{Channel, QuotaPeriod};

/// Vacancies counted in a period, and how many went to each channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaCounters {
    pub vacancies: u64,
    /// Indexed by [`Channel::index`].
    pub by_channel: [u64; 4],
}

/// The counters a channel assignment reads: the department's and the municipality's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaState {
    pub department: QuotaCounters,
    pub municipality: QuotaCounters,
}

impl QuotaState {
    /// A flexible vacancy was let ordinarily: it no longer counts as flexible, so the
    /// shortfall carries to the next vacancy.
    pub fn flexible_not_let_flexibly(&self) -> QuotaState {
        let mut next = self.clone();
        let i = Channel::Flexible.index();
        next.department.by_channel[i] = next.department.by_channel[i].saturating_sub(1);
        next.municipality.by_channel[i] = next.municipality.by_channel[i].saturating_sub(1);
        next
    }
}

/// The key of the quota period a date falls in: `2007` or `2007Q2`.
pub fn period_key(period: QuotaPeriod, date: NaiveDate) -> String {
    match period {
        QuotaPeriod::CalendarYear => date.year().to_string(),
        QuotaPeriod::CalendarQuarter => format!("{}Q{}", date.year(), date.month0() / 3 + 1),
    }
}
