//! The time the service is told. Only `main` (and the CLI commands it runs) makes a
//! system clock; tests pass a fixed one, so the date rules are tested on a known day.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

/// Where the service gets "now" from.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The machine's clock.
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }

    /// Always the same instant.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock(Arc::new(move || at))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }

    /// Today's date in Copenhagen: the date a caseworker writes on an act.
    pub fn today(&self) -> NaiveDate {
        self.now()
            .with_timezone(&chrono_tz::Europe::Copenhagen)
            .date_naive()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_date_in_copenhagen() {
        let late = DateTime::parse_from_rfc3339("2026-12-02T23:30:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(Clock::fixed(late).today().to_string(), "2026-12-03");
    }
}
