//! Replay: every judged decision of a period derived again from the facts it kept, with the
//! rule book version that made it, and compared with what was decided.
//!
//! The store is read page by page (the decisions, their kept facts, the rule books they
//! name); the judging and the comparison are pure and run in parallel over the cores. A
//! decision that cannot be derived again says why: its facts were purged, it was made
//! before rule books were kept, or it records an act rather than a judgement.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::log::{self, Inputs, JUDGED_KINDS, Judged, LogError};
use crate::model::RuleBook;
use crate::rules::{self, SourceFile};
use crate::store::{DecisionFilter, DecisionRecord, Store, StoreError};

mod render;
mod what_if;

pub use render::{csv as what_if_csv, html as what_if_html, text as what_if_text};

pub use what_if::{FigureChange, Flip, Group, WhatIf, what_if};

/// Decisions read and judged per page.
const PAGE: u32 = 5_000;

/// Replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the period is empty: {from} is after {to}")]
    Period { from: NaiveDate, to: NaiveDate },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("rule book `{hash}` is named by decision `{decision}` but the store does not keep it")]
    MissingBook { hash: String, decision: String },
    #[error("the kept rule book `{hash}` does not load: {message}")]
    BookDoesNotLoad { hash: String, message: String },
    #[error("the kept facts of decision `{decision}` do not decode: {message}")]
    Inputs { decision: String, message: String },
    #[error("the compliance report could not be computed: {0}")]
    Report(String),
    #[error("judging stopped: {0}")]
    Judging(String),
}

/// What replaying one decision came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Derived again exactly as it was decided.
    Identical,
    /// Derived again differently: the first field (a JSON path into the engine's
    /// decision) where the two part, with both values.
    Differs {
        field: String,
        decided: String,
        replayed: String,
    },
    /// The engine refused the kept facts under the kept rules.
    Fails { error: String },
    /// Cannot be derived again, and why.
    NotReplayable { reason: NotReplayable },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotReplayable {
    /// Decided before rule books were kept (schema version 1).
    NoRuleBook,
    /// Its facts were never kept, or `letting purge` removed them.
    NoInputs,
}

/// One replayed decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replayed {
    pub decision_id: String,
    pub kind: &'static str,
    pub event_date: NaiveDate,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A period replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaySummary {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Judged decisions in the period.
    pub decisions: u64,
    pub identical: u64,
    pub differing: u64,
    pub failing: u64,
    pub not_replayable: u64,
    /// Rule book versions that judged the period.
    pub rule_books: Vec<String>,
    /// Every decision that differs or fails, in log order.
    pub problems: Vec<Replayed>,
    /// The decisions that could not be derived again, by reason.
    pub not_replayable_by_reason: Vec<(NotReplayable, u64)>,
}

impl ReplaySummary {
    /// Every judged decision was derived again exactly.
    pub fn all_identical(&self) -> bool {
        self.differing == 0 && self.failing == 0
    }
}

/// Replays every judged decision of `municipality` dated `from` to `to` (read through the
/// log's (municipality, date) index). `progress` is told the number of decisions done
/// after each page.
pub async fn replay(
    store: &Store,
    municipality: &str,
    from: NaiveDate,
    to: NaiveDate,
    mut progress: impl FnMut(u64),
) -> Result<ReplaySummary, ReplayError> {
    if from > to {
        return Err(ReplayError::Period { from, to });
    }
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        kinds: JUDGED_KINDS.to_vec(),
        from: Some(from),
        to: Some(to),
        ..DecisionFilter::default()
    };
    let mut summary = ReplaySummary {
        from: Some(from),
        to: Some(to),
        ..ReplaySummary::default()
    };
    let mut books: HashMap<String, Arc<RuleBook>> = HashMap::new();
    let mut reasons: HashMap<NotReplayable, u64> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = read_page(store, &filter, after.clone()).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|read| read.record.id.clone());
        let cases = prepare(store, page, &mut books).await?;
        // The judging is CPU work on every core: off the async runtime's threads.
        let verdicts: Vec<Replayed> =
            tokio::task::spawn_blocking(move || cases.par_iter().map(judge_again).collect())
                .await
                .map_err(|e| ReplayError::Judging(e.to_string()))?;
        for replayed in verdicts {
            summary.decisions += 1;
            match &replayed.verdict {
                Verdict::Identical => summary.identical += 1,
                Verdict::Differs { .. } => {
                    summary.differing += 1;
                    summary.problems.push(replayed);
                }
                Verdict::Fails { .. } => {
                    summary.failing += 1;
                    summary.problems.push(replayed);
                }
                Verdict::NotReplayable { reason } => {
                    summary.not_replayable += 1;
                    *reasons.entry(*reason).or_default() += 1;
                }
            }
        }
        progress(summary.decisions);
        if !full {
            break;
        }
    }
    summary.rule_books = books.into_keys().collect();
    summary.rule_books.sort();
    summary.not_replayable_by_reason = reasons.into_iter().collect();
    summary
        .not_replayable_by_reason
        .sort_by_key(|(r, _)| *r as u8);
    Ok(summary)
}

/// A decision ready to be judged again: its body, its facts and its book.
struct Case {
    record: DecisionRecord,
    stored: Option<Judged>,
    inputs: Option<Inputs>,
    book: Option<Arc<RuleBook>>,
}

/// A stored decision with its body as stored text, and the facts kept with it.
pub(super) struct Read {
    pub(super) record: DecisionRecord,
    pub(super) body: String,
    pub(super) kept: Option<Value>,
}

async fn read_page(
    store: &Store,
    filter: &DecisionFilter,
    after: Option<String>,
) -> Result<Vec<Read>, ReplayError> {
    let filter = filter.clone();
    store
        .read(move |tx| {
            let (filter, after) = (filter.clone(), after.clone());
            Box::pin(async move {
                let page = tx.decision_texts(&filter, after.as_deref(), PAGE).await?;
                let ids: Vec<String> = page.iter().map(|(d, _)| d.id.clone()).collect();
                let mut inputs: HashMap<String, Value> =
                    tx.decision_inputs(&ids).await?.into_iter().collect();
                Ok::<_, ReplayError>(
                    page.into_iter()
                        .map(|(record, body)| {
                            let kept = inputs.remove(&record.id);
                            Read { record, body, kept }
                        })
                        .collect(),
                )
            })
        })
        .await
}

/// Decodes each decision and its facts, and loads each rule book the page names once.
async fn prepare(
    store: &Store,
    page: Vec<Read>,
    books: &mut HashMap<String, Arc<RuleBook>>,
) -> Result<Vec<Case>, ReplayError> {
    let mut cases = Vec::with_capacity(page.len());
    for Read { record, body, kept } in page {
        let body = log::decode_text(&record, &body)?;
        let book = match body.rule_book() {
            Some(hash) => Some(book(store, books, hash, &record.id).await?),
            None => None,
        };
        let inputs = kept
            .map(|value| {
                serde_json::from_value::<Inputs>(value).map_err(|e| ReplayError::Inputs {
                    decision: record.id.clone(),
                    message: e.to_string(),
                })
            })
            .transpose()?;
        cases.push(Case {
            stored: body.judged(),
            record,
            inputs,
            book,
        });
    }
    Ok(cases)
}

async fn book(
    store: &Store,
    books: &mut HashMap<String, Arc<RuleBook>>,
    hash: &str,
    decision: &str,
) -> Result<Arc<RuleBook>, ReplayError> {
    if let Some(book) = books.get(hash) {
        return Ok(book.clone());
    }
    let wanted = hash.to_owned();
    let kept = store
        .read(move |tx| {
            let wanted = wanted.clone();
            Box::pin(async move { tx.rule_book(&wanted).await })
        })
        .await?
        .ok_or_else(|| ReplayError::MissingBook {
            hash: hash.to_owned(),
            decision: decision.to_owned(),
        })?;
    let files: Vec<SourceFile> = kept
        .sources
        .iter()
        .map(|s| SourceFile {
            name: s.name.to_string(),
            text: s.text.to_string(),
        })
        .collect();
    let loaded = rules::load_sources(&files).map_err(|e| ReplayError::BookDoesNotLoad {
        hash: hash.to_owned(),
        message: e.to_string(),
    })?;
    if loaded.book.content_hash() != hash {
        return Err(ReplayError::BookDoesNotLoad {
            hash: hash.to_owned(),
            message: format!(
                "its files load to version {}, not to the version kept",
                loaded.book.content_hash()
            ),
        });
    }
    let book = Arc::new(loaded.book);
    books.insert(hash.to_owned(), book.clone());
    Ok(book)
}

/// Judges one decision again and compares: pure.
fn judge_again(case: &Case) -> Replayed {
    let verdict = match (&case.book, &case.inputs, &case.stored) {
        (None, _, _) => Verdict::NotReplayable {
            reason: NotReplayable::NoRuleBook,
        },
        (Some(_), None, _) | (Some(_), Some(_), None) => Verdict::NotReplayable {
            reason: NotReplayable::NoInputs,
        },
        (Some(book), Some(inputs), Some(stored)) => match inputs.judge(book) {
            Ok(replayed) => compare(stored, &replayed),
            Err(e) => Verdict::Fails {
                error: e.to_string(),
            },
        },
    };
    Replayed {
        decision_id: case.record.id.clone(),
        kind: case.record.kind.as_str(),
        event_date: case.record.event_date,
        verdict,
    }
}

/// The first field where two decisions part, by a walk of their JSON in field order.
pub fn compare(decided: &Judged, replayed: &Judged) -> Verdict {
    let (a, b) = match (
        serde_json::to_value(decided),
        serde_json::to_value(replayed),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return Verdict::Fails {
                error: format!("a decision does not encode: {e}"),
            };
        }
    };
    match first_difference(&a, &b, String::new()) {
        None => Verdict::Identical,
        Some((field, decided, replayed)) => Verdict::Differs {
            field,
            decided,
            replayed,
        },
    }
}

fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    let here = |path: &str| {
        if path.is_empty() {
            "(the decision)".to_owned()
        } else {
            path.to_owned()
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let field = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, field),
                    (p, q) => Some((field, shown(p), shown(q))),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            let found = x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, format!("{path}[{i}]")));
            found.or_else(|| {
                (x.len() != y.len()).then(|| {
                    (
                        format!("{}.len()", here(&path)),
                        x.len().to_string(),
                        y.len().to_string(),
                    )
                })
            })
        }
        _ if a == b => None,
        _ => Some((here(&path), a.to_string(), b.to_string())),
    }
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_path() {
        let a = json!({"outcome": "rejected", "explanation": {"fired": [{"rule_id": "a"}, {"rule_id": "b"}]}});
        let b = json!({"outcome": "rejected", "explanation": {"fired": [{"rule_id": "a"}, {"rule_id": "c"}]}});
        assert_eq!(
            first_difference(&a, &b, String::new()),
            Some((
                "explanation.fired[1].rule_id".to_owned(),
                "\"b\"".to_owned(),
                "\"c\"".to_owned()
            ))
        );
        assert_eq!(first_difference(&a, &a, String::new()), None);
        let shorter = json!({"outcome": "rejected", "explanation": {"fired": [{"rule_id": "a"}]}});
        assert_eq!(
            first_difference(&a, &shorter, String::new()),
            Some((
                "explanation.fired.len()".to_owned(),
                "2".to_owned(),
                "1".to_owned()
            ))
        );
        let missing = json!({"outcome": "rejected"});
        assert_eq!(
            first_difference(&a, &missing, String::new()).map(|d| d.0),
            Some("explanation".to_owned())
        );
    }
}
