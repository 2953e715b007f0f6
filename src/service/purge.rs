//! `letting purge`: the personal facts of closed cases removed, the decisions kept.
//!
//! A judged decision keeps the facts the engine read (`crate::log::Inputs`), so that it can
//! be derived again. Those facts are personal, pseudonymous as they are: once the case they
//! belong to is closed and the retention period has passed, they go. The decision log
//! itself stays whole: its bodies hold the outcome and the reasons, which is all the
//! reports read, so every figure computes as before; a purged decision can no longer be
//! replayed, and replay says so.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ServiceError;
use super::letting::LettingState;
use super::workflow;
use crate::log::JUDGED_KINDS;
use crate::store::{CaseKind, DecisionFilter, DecisionKind, Store, Tx};

/// Decisions read per page.
const PAGE: u32 = 5_000;

/// What a purge removed and what it kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// The last day whose decisions were considered (the day before `--before`).
    pub through: Option<NaiveDate>,
    /// Judged decisions of those days that still had their facts.
    pub with_facts: u64,
    /// Facts removed: their case is closed.
    pub purged: u64,
    /// Facts kept: their case is still open (an act may still follow).
    pub kept_open: u64,
}

/// The case a judged decision belongs to (its `subject`).
fn case_of(kind: DecisionKind) -> Option<CaseKind> {
    match kind {
        DecisionKind::ChannelAssignment => Some(CaseKind::Vacancy),
        DecisionKind::Letting | DecisionKind::Approval | DecisionKind::MunicipalRejection => {
            Some(CaseKind::Letting)
        }
        DecisionKind::ReplacementOffer => Some(CaseKind::Offer),
        DecisionKind::Referral => Some(CaseKind::Referral),
        DecisionKind::Grant => Some(CaseKind::Grant),
        _ => None,
    }
}

/// Whether the case `id` of `kind` is closed: in a final state, or a rejected letting
/// whose replacement dwelling is not owed or has been offered.
async fn closed(tx: &mut dyn Tx, kind: CaseKind, id: &str) -> Result<bool, ServiceError> {
    let Some(row) = tx.case_for_update(kind, id).await? else {
        // A case that was never stored (a refused referral keeps its decision only).
        return Ok(true);
    };
    if workflow::final_state(kind, &row.status) {
        return Ok(true);
    }
    if kind == CaseKind::Letting && row.status.starts_with("rejected") {
        let state: LettingState = super::from_json(&row.body)?;
        return Ok(!state.replacement_owed || state.replacement_offer.is_some());
    }
    Ok(false)
}

/// Removes the kept facts of every judged decision dated before `before` whose case is
/// closed, in one transaction.
pub async fn purge_personal_facts(
    store: &Store,
    before: NaiveDate,
) -> Result<Purged, ServiceError> {
    let Some(through) = before.pred_opt() else {
        return Ok(Purged::default());
    };
    store
        .write(move |tx| {
            Box::pin(async move {
                let filter = DecisionFilter {
                    kinds: JUDGED_KINDS.to_vec(),
                    to: Some(through),
                    ..DecisionFilter::default()
                };
                let mut purged = Purged {
                    through: Some(through),
                    ..Purged::default()
                };
                let mut after: Option<String> = None;
                loop {
                    let page = tx.decisions(&filter, after.as_deref(), PAGE).await?;
                    let full = page.len() == PAGE as usize;
                    after = page.last().map(|d| d.id.clone());
                    let ids: Vec<String> = page.iter().map(|d| d.id.clone()).collect();
                    let kept: std::collections::HashSet<String> = tx
                        .decision_inputs(&ids)
                        .await?
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect();
                    let mut gone = Vec::new();
                    for d in page.iter().filter(|d| kept.contains(&d.id)) {
                        purged.with_facts += 1;
                        let is_closed = match (case_of(d.kind), &d.subject) {
                            (Some(kind), Some(subject)) => closed(tx, kind, subject).await?,
                            _ => true,
                        };
                        if is_closed {
                            gone.push(d.id.clone());
                        } else {
                            purged.kept_open += 1;
                        }
                    }
                    purged.purged += tx.delete_decision_inputs(&gone).await?;
                    if !full {
                        return Ok(purged);
                    }
                }
            })
        })
        .await
}
