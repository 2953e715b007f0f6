//! Conditions built with numbered parameters: the decision log's filter (one builder for
//! its reads and counts) and lists of placeholders.

use rusqlite::types::Value;

use super::rows::date_text;
use crate::store::DecisionFilter;

/// `?1, ?2, …, ?n`.
pub(super) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A statement's conditions with their numbered parameters: one place for the log's reads
/// and counts.
pub(super) struct Conditions {
    pub(super) sql: String,
    pub(super) values: Vec<Value>,
}

impl Conditions {
    pub(super) fn new(select: String) -> Self {
        Conditions {
            sql: select + " WHERE 1 = 1",
            values: Vec::new(),
        }
    }

    /// Appends `condition`, its `?` numbered as the next parameter, `value`.
    pub(super) fn bind(&mut self, condition: &str, value: Value) {
        self.values.push(value);
        let numbered = format!("?{}", self.values.len());
        self.sql.push_str(&condition.replace('?', &numbered));
    }

    /// `column` is one of `list`; nothing when the list is empty.
    pub(super) fn any_of(&mut self, column: &str, list: &[String]) {
        if list.is_empty() {
            return;
        }
        self.sql.push_str(&format!(" AND {column} IN ("));
        for (i, value) in list.iter().enumerate() {
            let separator = if i == 0 { "?" } else { ", ?" };
            self.bind(separator, Value::Text(value.clone()));
        }
        self.sql.push(')');
    }

    /// The conditions of `filter`; its event dates from `from` only when `from_bounds`.
    pub(super) fn filter(&mut self, filter: &DecisionFilter, from_bounds: bool) {
        if let Some(municipality) = &filter.municipality {
            self.bind(" AND municipality = ?", Value::Text(municipality.clone()));
        }
        if let Some(subject) = &filter.subject {
            self.bind(" AND subject = ?", Value::Text(subject.clone()));
        }
        if let Some(from) = filter.from
            && from_bounds
        {
            self.bind(" AND event_date >= ?", Value::Text(date_text(from)));
        }
        if let Some(to) = filter.to {
            self.bind(" AND event_date <= ?", Value::Text(date_text(to)));
        }
        let kinds: Vec<String> = filter.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        self.any_of("kind", &kinds);
    }
}
