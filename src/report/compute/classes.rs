//! Classification over the period: each area's class, its spans and changes, the rule sets.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use super::events::StatLoad;
use crate::engine;
use crate::log::AreaStatisticsInput;
use crate::model::{NATIONAL, RuleBook};
use crate::report::Period;
use crate::report::model::{ClassChange, ClassSpan, ListRef, RuleSetSpan};

/// An area's class on one date, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClassAt {
    pub(super) class: Option<String>,
    pub(super) class_en: Option<String>,
    pub(super) class_da: Option<String>,
    pub(super) rule_set_id: Option<String>,
    pub(super) rule_id: Option<String>,
    pub(super) reason_en: Option<String>,
    pub(super) reason_da: Option<String>,
    pub(super) statistics_decision: Option<String>,
    pub(super) lists: Vec<ListRef>,
    pub(super) error: Option<String>,
}

/// The statistics of `area` in force on `date`: of the loads dated on or before it, for
/// a year not after its year, the latest year (then the latest load).
pub(super) fn statistics_at<'s>(
    stats: &'s [StatLoad],
    area: &str,
    date: NaiveDate,
) -> Option<(&'s StatLoad, &'s AreaStatisticsInput)> {
    stats
        .iter()
        .filter(|s| s.date <= date && s.year <= date.year())
        .filter_map(|s| s.areas.get(area).map(|a| (s, a)))
        .max_by(|(a, _), (b, _)| {
            (a.year, a.date, &a.decision_id).cmp(&(b.year, b.date, &b.decision_id))
        })
}

pub(super) fn classify_at(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    area: &str,
    date: NaiveDate,
) -> ClassAt {
    let found = statistics_at(stats, area, date);
    let facts = crate::model::AreaFacts {
        id: area.to_owned(),
        ..found.map(|(_, a)| a.facts.clone()).unwrap_or_default()
    };
    let statistics_decision = found.map(|(s, _)| s.decision_id.clone());
    match engine::classify(book, municipality, &facts, date) {
        Ok(c) => {
            let set = book.set(&c.explanation.rule_set_id);
            let term = set.and_then(|s| s.class_term(&c.class));
            let fired = c.explanation.fired.last();
            ClassAt {
                class: Some(c.class.to_string()),
                class_en: term.map(|t| t.en.to_string()),
                class_da: term.map(|t| t.da.to_string()),
                rule_set_id: Some(c.explanation.rule_set_id.to_string()),
                rule_id: fired.map(|f| f.rule_id.to_string()),
                reason_en: fired.map(|f| f.message_en.clone()),
                reason_da: fired.map(|f| f.message_da.clone()),
                statistics_decision,
                lists: c
                    .explanation
                    .reference_data
                    .iter()
                    .map(|r| ListRef {
                        id: r.id.to_string(),
                        content_hash: r.content_hash.to_string(),
                        completeness: r.completeness,
                    })
                    .collect(),
                error: None,
            }
        }
        Err(e) => ClassAt {
            class: None,
            class_en: None,
            class_da: None,
            rule_set_id: book.in_force(municipality, date).map(|s| s.id.to_string()),
            rule_id: None,
            reason_en: None,
            reason_da: None,
            statistics_decision,
            lists: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

fn applies_to(jurisdiction: &str, municipality: &str) -> bool {
    jurisdiction == municipality || jurisdiction == NATIONAL
}

/// The dates inside the period (after its first day) on which an area's class may
/// change: designation lists naming it start or end, rule sets (and their classification
/// rules) start or end, its statistics take effect, a new year begins.
fn change_dates(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    area: &str,
    period: &Period,
) -> Vec<NaiveDate> {
    let mut dates = BTreeSet::new();
    let mut add = |d: Option<NaiveDate>| {
        if let Some(d) = d
            && period.from < d
            && d <= period.to
        {
            dates.insert(d);
        }
    };
    for d in &book.reference.designations {
        if applies_to(&d.jurisdiction, municipality) && d.areas.contains_key(area) {
            add(Some(d.valid_from));
            add(d.valid_to.succ_opt());
        }
    }
    for s in &book.sets {
        if applies_to(&s.jurisdiction, municipality) {
            add(Some(s.effective_from));
            add(s.effective_to.and_then(|d| d.succ_opt()));
            for rule in &s.classification {
                add(rule.meta.effective_from);
                add(rule.meta.effective_to.and_then(|d| d.succ_opt()));
            }
        }
    }
    for s in stats.iter().filter(|s| s.areas.contains_key(area)) {
        add(NaiveDate::from_ymd_opt(s.year, 1, 1).map(|jan1| jan1.max(s.date)));
    }
    for year in period.from.year() + 1..=period.to.year() {
        add(NaiveDate::from_ymd_opt(year, 1, 1));
    }
    dates.into_iter().collect()
}

pub(super) fn class_spans(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    area: &str,
    period: &Period,
) -> Vec<ClassSpan> {
    let mut spans: Vec<ClassSpan> = Vec::new();
    let starts =
        std::iter::once(period.from).chain(change_dates(book, municipality, stats, area, period));
    for start in starts {
        let at = classify_at(book, municipality, stats, area, start);
        if let Some(last) = spans.last_mut() {
            let same = last.class == at.class
                && last.rule_set_id == at.rule_set_id
                && last.rule_id == at.rule_id
                && last.statistics_decision == at.statistics_decision
                && last.designation_lists == at.lists
                && last.error == at.error;
            if same {
                continue;
            }
            last.to = start.pred_opt().unwrap_or(start);
        }
        spans.push(ClassSpan {
            from: start,
            to: period.to,
            class: at.class,
            class_en: at.class_en,
            class_da: at.class_da,
            rule_set_id: at.rule_set_id,
            rule_id: at.rule_id,
            reason_en: at.reason_en,
            reason_da: at.reason_da,
            statistics_decision: at.statistics_decision,
            designation_lists: at.lists,
            error: at.error,
        });
    }
    spans
}

pub(super) fn class_changes(spans: &[ClassSpan]) -> Vec<ClassChange> {
    spans
        .windows(2)
        .filter(|w| w[0].class != w[1].class)
        .map(|w| ClassChange {
            date: w[1].from,
            from_class: w[0].class.clone(),
            to_class: w[1].class.clone(),
            rule_id: w[1].rule_id.clone(),
            rule_set_id: w[1].rule_set_id.clone(),
            reason_en: w[1].reason_en.clone().or_else(|| w[1].error.clone()),
        })
        .collect()
}

/// A part of the period with one class under one rule set: what a check covers.
#[derive(Debug, Clone)]
pub(super) struct Segment {
    pub(super) from: NaiveDate,
    pub(super) to: NaiveDate,
    pub(super) class: Option<String>,
    pub(super) rule_set_id: Option<String>,
}

pub(super) fn segments(spans: &[ClassSpan]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for s in spans {
        if let Some(last) = out.last_mut()
            && last.class == s.class
            && last.rule_set_id == s.rule_set_id
        {
            last.to = s.to;
            continue;
        }
        out.push(Segment {
            from: s.from,
            to: s.to,
            class: s.class.clone(),
            rule_set_id: s.rule_set_id.clone(),
        });
    }
    out
}

pub(super) fn rule_set_spans(
    book: &RuleBook,
    municipality: &str,
    period: &Period,
) -> Vec<RuleSetSpan> {
    let mut starts = BTreeSet::from([period.from]);
    for s in book
        .sets
        .iter()
        .filter(|s| applies_to(&s.jurisdiction, municipality))
    {
        for d in [
            Some(s.effective_from),
            s.effective_to.and_then(|d| d.succ_opt()),
        ]
        .into_iter()
        .flatten()
        {
            if period.from < d && d <= period.to {
                starts.insert(d);
            }
        }
    }
    let starts: Vec<NaiveDate> = starts.into_iter().collect();
    let mut spans: Vec<RuleSetSpan> = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .and_then(|d| d.pred_opt())
            .unwrap_or(period.to);
        let Some(set) = book.in_force(municipality, *start) else {
            continue;
        };
        if let Some(last) = spans.last_mut()
            && last.rule_set_id == *set.id
            && last.to.succ_opt() == Some(*start)
        {
            last.to = end;
            continue;
        }
        spans.push(RuleSetSpan {
            rule_set_id: set.id.to_string(),
            title: set.title.to_string(),
            content_hash: set.content_hash.to_string(),
            from: *start,
            to: end,
        });
    }
    spans
}
