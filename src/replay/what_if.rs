//! What-if: the judged decisions of a period judged again under proposed rules, with the
//! decisions that would flip (grouped by rule, area, department, organisation and
//! outcome) and the compliance report's figures before and after. Nothing is written.
//!
//! Each decision is judged again on its own kept facts. What followed it in the log (an
//! approval, a move-in) is kept as it happened, and a channel assignment is judged with
//! the counters it was judged with: the change is measured on the decisions actually made,
//! not on a history played out anew.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use super::{PAGE, Read, ReplayError, read_page};
use crate::log::{self, Entry, Inputs, JUDGED_KINDS};
use crate::model::RuleBook;
use crate::report::render::{Figure, figures};
use crate::report::{self, Period};
use crate::store::{DecisionFilter, DecisionRecord, Overlay, Store};

/// One decision that comes out otherwise under the proposed rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flip {
    pub decision_id: String,
    pub kind: &'static str,
    pub event_date: NaiveDate,
    pub municipality: String,
    pub organisation: Option<String>,
    pub department: Option<String>,
    pub area: Option<String>,
    pub outcome_before: String,
    pub outcome_after: String,
    /// Rules that fired before and not after.
    pub rules_dropped: Vec<String>,
    /// Rules that fire after and did not before.
    pub rules_added: Vec<String>,
}

/// Flips sharing a key (a rule, an area, …), with the decisions behind the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub key: String,
    pub count: u64,
    pub decision_ids: Vec<String>,
}

/// A report figure that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureChange {
    pub section: &'static str,
    pub scope: String,
    pub measure: String,
    pub from: String,
    pub to: String,
    pub before: String,
    pub after: String,
    pub status_before: String,
    pub status_after: String,
}

/// The proposed rules measured on a period of real decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The version of the rules in force (before) and of the proposed rules (after).
    pub rules_before: String,
    pub rules_after: String,
    /// Judged decisions in the period.
    pub decisions: u64,
    /// Of those, judged again (the others have no kept facts).
    pub judged_again: u64,
    /// Decisions the proposed rules cannot judge, with the engine's reason.
    pub failing: Vec<(String, String)>,
    pub flips: Vec<Flip>,
    pub by_rule: Vec<Group>,
    pub by_area: Vec<Group>,
    pub by_department: Vec<Group>,
    pub by_organisation: Vec<Group>,
    pub by_outcome: Vec<Group>,
    /// The municipality whose compliance report is compared.
    pub report_municipality: String,
    /// Its figures for the period that differ, before and after.
    pub figures: Vec<FigureChange>,
}

/// Judges every decision of `municipality` dated `from..=to` again under `proposed` and
/// compares its compliance report for the period under `current` and `proposed`.
pub async fn what_if(
    store: &Store,
    current: &RuleBook,
    proposed: Arc<RuleBook>,
    municipality: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<WhatIf, ReplayError> {
    let period = Period::range(from, to).map_err(|_| ReplayError::Period { from, to })?;
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        kinds: JUDGED_KINDS.to_vec(),
        from: Some(from),
        to: Some(to),
        ..DecisionFilter::default()
    };
    let proposed_hash = proposed.content_hash();
    let mut out = WhatIf {
        from,
        to,
        rules_before: current.content_hash(),
        rules_after: proposed_hash.clone(),
        decisions: 0,
        judged_again: 0,
        failing: Vec::new(),
        flips: Vec::new(),
        by_rule: Vec::new(),
        by_area: Vec::new(),
        by_department: Vec::new(),
        by_organisation: Vec::new(),
        by_outcome: Vec::new(),
        report_municipality: municipality.to_owned(),
        figures: Vec::new(),
    };
    let mut replaced: HashMap<String, DecisionRecord> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = read_page(store, &filter, after.clone()).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|read| read.record.id.clone());
        out.decisions += page.len() as u64;
        let (book, hash) = (proposed.clone(), proposed_hash.clone());
        // The judging is CPU work on every core: off the async runtime's threads.
        let judged: Vec<Result<Option<Judgement>, ReplayError>> =
            tokio::task::spawn_blocking(move || {
                page.par_iter()
                    .map(|read| judge(read, &book, &hash))
                    .collect()
            })
            .await
            .map_err(|e| ReplayError::Judging(e.to_string()))?;
        for result in judged {
            match result? {
                None => {}
                Some(Judgement::Failed { id, error }) => {
                    out.judged_again += 1;
                    out.failing.push((id, error));
                }
                Some(Judgement::Same) => out.judged_again += 1,
                Some(Judgement::Flipped { flip, record }) => {
                    out.judged_again += 1;
                    replaced.insert(record.id.clone(), *record);
                    out.flips.push(*flip);
                }
            }
        }
        if !full {
            break;
        }
    }
    group(&mut out);

    let before = report::compute(store, current, municipality, period.clone())
        .await
        .map_err(|e| ReplayError::Report(e.to_string()))?;
    let (book, muni) = (proposed.clone(), municipality.to_owned());
    let after = store
        .read(move |tx| {
            let (book, muni, period, replaced) =
                (book.clone(), muni.clone(), period.clone(), replaced.clone());
            Box::pin(async move {
                let mut overlay = Overlay::new(tx, &replaced);
                report::compute_in(&mut overlay, &book, &muni, &period).await
            })
        })
        .await
        .map_err(|e| ReplayError::Report(e.to_string()))?;
    out.figures = changed_figures(&figures(&before), &figures(&after));
    Ok(out)
}

enum Judgement {
    Same,
    Flipped {
        flip: Box<Flip>,
        record: Box<DecisionRecord>,
    },
    Failed {
        id: String,
        error: String,
    },
}

/// Judges one decision under the proposed book: pure.
fn judge(
    read: &Read,
    proposed: &RuleBook,
    proposed_hash: &str,
) -> Result<Option<Judgement>, ReplayError> {
    let record = &read.record;
    let Some(kept) = &read.kept else {
        return Ok(None);
    };
    let inputs: Inputs = serde_json::from_value(kept.clone()).map_err(|e| ReplayError::Inputs {
        decision: record.id.clone(),
        message: e.to_string(),
    })?;
    let body = log::decode_text(record, &read.body)?;
    let Some(before) = body.judged() else {
        return Ok(None);
    };
    let after = match inputs.judge(proposed) {
        Ok(after) => after,
        Err(e) => {
            return Ok(Some(Judgement::Failed {
                id: record.id.clone(),
                error: e.to_string(),
            }));
        }
    };
    let (outcome_before, outcome_after) = (before.outcome(), after.outcome());
    if outcome_before == outcome_after {
        return Ok(Some(Judgement::Same));
    }
    let fired = |j: &log::Judged| -> Vec<String> {
        j.explanation()
            .fired_ids()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (was, is) = (fired(&before), fired(&after));
    let flip = Flip {
        decision_id: record.id.clone(),
        kind: record.kind.as_str(),
        event_date: record.event_date,
        municipality: record.municipality.clone(),
        organisation: record.organisation.clone(),
        department: record.department.clone(),
        area: record.area.clone(),
        outcome_before,
        outcome_after,
        rules_dropped: was.iter().filter(|r| !is.contains(r)).cloned().collect(),
        rules_added: is.iter().filter(|r| !was.contains(r)).cloned().collect(),
    };
    let Some(new_body) = body.with_judged(after, Some(proposed_hash.to_owned())) else {
        return Ok(Some(Judgement::Same));
    };
    let replaced = Entry::replacing(record, new_body).into_record()?;
    Ok(Some(Judgement::Flipped {
        flip: Box::new(flip),
        record: Box::new(replaced),
    }))
}

fn group(out: &mut WhatIf) {
    let by = |key: &dyn Fn(&Flip) -> Vec<String>| -> Vec<Group> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for flip in &out.flips {
            for k in key(flip) {
                groups.entry(k).or_default().push(flip.decision_id.clone());
            }
        }
        let mut groups: Vec<Group> = groups
            .into_iter()
            .map(|(key, decision_ids)| Group {
                key,
                count: decision_ids.len() as u64,
                decision_ids,
            })
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        groups
    };
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
    let by_rule = by(&|f| {
        f.rules_dropped
            .iter()
            .map(|r| format!("{r} (no longer fires)"))
            .chain(f.rules_added.iter().map(|r| format!("{r} (now fires)")))
            .collect()
    });
    let by_area = by(&|f| vec![or_none(&f.area)]);
    let by_department = by(&|f| vec![or_none(&f.department)]);
    let by_organisation = by(&|f| vec![or_none(&f.organisation)]);
    let by_outcome = by(&|f| {
        vec![format!(
            "{} {} → {}",
            f.kind, f.outcome_before, f.outcome_after
        )]
    });
    out.by_rule = by_rule;
    out.by_area = by_area;
    out.by_department = by_department;
    out.by_organisation = by_organisation;
    out.by_outcome = by_outcome;
}

/// The figures whose value or status differ, matched by section, scope, measure and dates.
fn changed_figures(before: &[Figure], after: &[Figure]) -> Vec<FigureChange> {
    type Key = (&'static str, String, String, String, String);
    let key = |f: &Figure| -> Key {
        (
            f.section,
            f.scope.clone(),
            f.measure.clone(),
            f.from.clone(),
            f.to.clone(),
        )
    };
    let after_by: HashMap<Key, &Figure> = after.iter().map(|f| (key(f), f)).collect();
    let before_keys: std::collections::HashSet<Key> = before.iter().map(key).collect();
    let mut changes = Vec::new();
    for b in before {
        let a = after_by.get(&key(b)).copied();
        let (value, status) = a.map_or(("(absent)".to_owned(), String::new()), |a| {
            (a.value.clone(), a.status.clone())
        });
        if value != b.value || status != b.status {
            changes.push(FigureChange {
                section: b.section,
                scope: b.scope.clone(),
                measure: b.measure.clone(),
                from: b.from.clone(),
                to: b.to.clone(),
                before: b.value.clone(),
                after: value,
                status_before: b.status.clone(),
                status_after: status,
            });
        }
    }
    for a in after.iter().filter(|a| !before_keys.contains(&key(a))) {
        changes.push(FigureChange {
            section: a.section,
            scope: a.scope.clone(),
            measure: a.measure.clone(),
            from: a.from.clone(),
            to: a.to.clone(),
            before: "(absent)".to_owned(),
            after: a.value.clone(),
            status_before: String::new(),
            status_after: a.status.clone(),
        });
    }
    changes
}
