//! The referrals section: municipal referrals, those into barred areas, compensation.

use chrono::NaiveDate;

use super::counts::{count_of, named};
use super::events::{EXPOSED, Event, HIGH_RISK};
use crate::engine::ReferralOutcome;
use crate::log::Outcome;
use crate::model::{Condition, RuleBook};
use crate::report::model::{BarredReferral, Referrals};
use crate::store::DecisionKind;

/// The classes a rule set bars referrals to unconditionally.
fn barred_classes(book: &RuleBook, municipality: &str, date: NaiveDate) -> Vec<String> {
    match book.in_force(municipality, date) {
        Some(set) => set
            .referral_rules
            .iter()
            .filter(|r| r.meta.in_force(date) && matches!(r.when, Condition::Always))
            .flat_map(|r| r.applies_to_classes.iter().map(|c| c.to_string()))
            .collect(),
        None => EXPOSED
            .iter()
            .chain(HIGH_RISK.iter())
            .map(|c| (*c).to_owned())
            .collect(),
    }
}

pub(super) fn referrals(book: &RuleBook, municipality: &str, events: &[Event]) -> Referrals {
    let all: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::Referral)
        .collect();
    let mut barred = Vec::new();
    let mut compensating = Vec::new();
    for e in &all {
        let classes = barred_classes(book, municipality, e.date);
        let into_barred = e.outcome == Outcome::Referral(ReferralOutcome::Refused)
            || e.area_class
                .as_deref()
                .is_some_and(|c| classes.iter().any(|b| b == c));
        if into_barred {
            barred.push(BarredReferral {
                decision_id: e.id.clone(),
                date: e.date,
                department: e.department.clone(),
                area: e.area.clone(),
                area_class: e.area_class.clone(),
                outcome: e.outcome.as_str().to_owned(),
            });
        } else if e.outcome == Outcome::Referral(ReferralOutcome::Accepted) {
            compensating.push(*e);
        }
    }
    Referrals {
        total: count_of(all.iter().copied()),
        accepted: count_of(
            all.iter()
                .filter(|e| e.outcome == Outcome::Referral(ReferralOutcome::Accepted))
                .copied(),
        ),
        refused: count_of(
            all.iter()
                .filter(|e| e.outcome == Outcome::Referral(ReferralOutcome::Refused))
                .copied(),
        ),
        into_barred_areas: barred,
        compensating_by_department: named(
            &[],
            &compensating
                .iter()
                .map(|e| {
                    (
                        e.department.clone().unwrap_or_else(|| "unknown".into()),
                        e.id.clone(),
                    )
                })
                .collect::<Vec<_>>(),
        ),
        compensating: count_of(compensating.iter().copied()),
    }
}
