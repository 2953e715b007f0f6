//! The relocation grants section: the period's decisions and the year's pool at its end.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate};

use super::counts::{amount_of, count};
use super::events::Event;
use crate::engine::GrantOutcome;
use crate::log::Outcome;
use crate::model::RuleBook;
use crate::report::Period;
use crate::report::model::{Grants, PoolAtEnd, Reason};
use crate::store::DecisionKind;

pub(super) fn grants(
    book: &RuleBook,
    municipality: &str,
    period: &Period,
    events: &[Event],
    year_grants: &[Event],
) -> Grants {
    let of_kind = |kind| events.iter().filter(move |e| e.kind == kind);
    let decided: Vec<&Event> = of_kind(DecisionKind::Grant).collect();
    let refused: Vec<&Event> = decided
        .iter()
        .filter(|e| e.outcome == Outcome::Grant(GrantOutcome::Refused))
        .copied()
        .collect();
    let mut reasons: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    for e in &refused {
        let (id, source) = e
            .fired
            .last()
            .cloned()
            .unwrap_or_else(|| ("unknown".into(), None));
        let entry = reasons.entry(id).or_default();
        if entry.0.is_none() {
            entry.0 = source;
        }
        entry.1.push(e.id.clone());
    }

    // The pool of the period's last year, as it stood at the period's end.
    let year = period.to.year();
    let set = NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| book.in_force(municipality, d));
    let approved: Vec<&Event> = year_grants
        .iter()
        .filter(|e| e.outcome == Outcome::Grant(GrantOutcome::Approved) && e.date.year() == year)
        .collect();
    let approved_ids: HashSet<&str> = approved
        .iter()
        .filter_map(|e| e.subject.as_deref())
        .collect();
    let settled = |kind| {
        amount_of(year_grants.iter().filter(|e| {
            e.kind == kind
                && e.subject
                    .as_deref()
                    .is_some_and(|s| approved_ids.contains(s))
        }))
    };
    let cancelled = settled(DecisionKind::GrantCancellation);
    let paid = settled(DecisionKind::GrantPayment);
    let approved = amount_of(approved.iter().copied());
    let pool_ore = set.and_then(|s| s.grants.as_ref().map(|g| g.pool_per_year.ore()));
    let pool = PoolAtEnd {
        year,
        rule_set_id: set.map(|s| s.id.to_string()),
        pool_ore,
        committed_ore: approved.amount_ore - cancelled.amount_ore - paid.amount_ore,
        remaining_ore: pool_ore.map(|p| p - approved.amount_ore + cancelled.amount_ore),
        approved,
        cancelled,
        paid,
    };

    Grants {
        applications: amount_of(decided.iter().copied()),
        approvals: amount_of(
            decided
                .iter()
                .filter(|e| e.outcome == Outcome::Grant(GrantOutcome::Approved))
                .copied(),
        ),
        refusals: amount_of(refused.iter().copied()),
        refusals_by_reason: reasons
            .into_iter()
            .map(|(reason, (source, ids))| Reason {
                reason,
                source,
                count: count(ids),
            })
            .collect(),
        payments: amount_of(of_kind(DecisionKind::GrantPayment)),
        cancellations: amount_of(of_kind(DecisionKind::GrantCancellation)),
        pool,
    }
}
