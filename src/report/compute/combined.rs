//! The combined letting section: proposals in exposed areas, approvals, rejections by reason.

use std::collections::BTreeMap;

use super::counts::{count, count_of};
use super::events::{EXPOSED, Event};
use crate::engine::LettingOutcome;
use crate::log::Outcome;
use crate::model::{LettingEffect, RuleBook};
use crate::report::model::{CombinedLetting, Reason};
use crate::store::DecisionKind;

pub(super) fn combined(book: &RuleBook, events: &[Event], pending: &[Event]) -> CombinedLetting {
    let proposals: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::Letting && e.class_in(&EXPOSED))
        .collect();
    let rejected: Vec<&Event> = proposals
        .iter()
        .filter(|e| e.outcome == Outcome::Letting(LettingOutcome::Rejected))
        .copied()
        .collect();
    let municipal: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::MunicipalRejection)
        .collect();
    let mut reasons: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    for e in &rejected {
        let set = e.rule_set_id.as_deref().and_then(|id| book.set(id));
        let rejecting: Vec<&(String, Option<String>)> = e
            .fired
            .iter()
            .filter(|(id, _)| match set {
                Some(set) => set
                    .letting_rules
                    .iter()
                    .any(|r| *r.meta.id == **id && r.effect == LettingEffect::Reject),
                None => !id.contains(".class."),
            })
            .collect();
        if rejecting.is_empty() {
            reasons
                .entry("unknown".into())
                .or_default()
                .1
                .push(e.id.clone());
        }
        for (id, source) in rejecting {
            let entry = reasons.entry(id.clone()).or_default();
            if entry.0.is_none() {
                entry.0 = source.clone();
            }
            entry.1.push(e.id.clone());
        }
    }
    let mut rejections_by_reason: Vec<Reason> = reasons
        .into_iter()
        .map(|(reason, (source, ids))| Reason {
            reason,
            source,
            count: count(ids),
        })
        .collect();
    if !municipal.is_empty() {
        rejections_by_reason.push(Reason {
            reason: "municipal_rejection".into(),
            source: Some("the municipality's caseworker, with written reasons".into()),
            count: count_of(municipal.iter().copied()),
        });
    }
    CombinedLetting {
        sent_for_approval: count_of(
            proposals
                .iter()
                .filter(|e| e.outcome == Outcome::Letting(LettingOutcome::PendingMunicipalApproval))
                .copied(),
        ),
        rejected_by_rules: count_of(rejected.iter().copied()),
        proposals: count_of(proposals.iter().copied()),
        approvals: count_of(events.iter().filter(|e| e.kind == DecisionKind::Approval)),
        municipal_rejections: count_of(municipal.iter().copied()),
        rejections_by_reason,
        pending_at_end: count_of(pending),
        oldest_pending: pending.iter().map(|e| e.date).min(),
    }
}
