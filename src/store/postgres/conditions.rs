//! Conditions built with numbered parameters: the decision log's filter, one builder for
//! its reads and counts.

use super::rows::Param;
use crate::store::DecisionFilter;

/// The conditions of `filter` (its event dates from `from` only when `from_bounds`; its
/// kinds as `kinds`, an array, when it names any), with their parameters: one place for
/// the log's reads and counts.
pub(super) fn filter_conditions<'a>(
    filter: &'a DecisionFilter,
    kinds: Option<Param<'a>>,
    from_bounds: bool,
    sql: &mut String,
    params: &mut Vec<Param<'a>>,
) {
    if let Some(municipality) = &filter.municipality {
        params.push(municipality);
        sql.push_str(&format!(" AND municipality = ${}", params.len()));
    }
    if let Some(subject) = &filter.subject {
        params.push(subject);
        sql.push_str(&format!(" AND subject = ${}", params.len()));
    }
    if let Some(from) = &filter.from
        && from_bounds
    {
        params.push(from);
        sql.push_str(&format!(" AND event_date >= ${}", params.len()));
    }
    if let Some(to) = &filter.to {
        params.push(to);
        sql.push_str(&format!(" AND event_date <= ${}", params.len()));
    }
    if let Some(kinds) = kinds {
        params.push(kinds);
        sql.push_str(&format!(" AND kind = ANY(${})", params.len()));
    }
}
