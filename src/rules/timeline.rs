//! Checks across files: rule-set timelines per jurisdiction, and reference data against
//! the date asked.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::diagnostic::{Diagnostic, Severity};
use crate::model::{DatesAt, LayerKind, RuleBook, RuleSet};

/// The first day the rule book is meant to judge: `rules check` reports any day from here to
/// the date checked that no national layer covers.
pub const TIMELINE_START: NaiveDate = match NaiveDate::from_ymd_opt(2005, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// How long before a rule set ends `rules check` starts to warn.
pub const EXPIRY_WARNING_DAYS: i64 = 90;
/// How long a designation list lasts before a new one is due (lists come out yearly).
pub const DESIGNATION_CYCLE_DAYS: i64 = 366;

fn at(
    severity: Severity,
    file: &Arc<str>,
    pos: (usize, usize),
    key: &str,
    message: String,
    hint: Option<String>,
) -> Diagnostic {
    Diagnostic {
        severity,
        file: file.clone(),
        line: pos.0,
        column: pos.1,
        key: Some(key.to_owned()),
        message,
        hint,
    }
}

/// Checks that hold whatever the date: unique ids, no overlaps, gaps warned of.
pub fn structural(book: &RuleBook) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut by_id: BTreeMap<&str, &RuleSet> = BTreeMap::new();
    for set in &book.sets {
        if let Some(first) = by_id.insert(&set.id, set) {
            diags.push(at(
                Severity::Error,
                &set.file,
                (1, 1),
                "rule_set.id",
                format!("rule set id `{}` is also used in {}", set.id, first.file),
                Some("each rule set needs its own id".into()),
            ));
        }
    }
    // Layers of one kind and jurisdiction follow one another; a municipal decision and
    // an agreement of the same municipality are in force together by design.
    let mut by_jurisdiction: BTreeMap<(&str, LayerKind), Vec<&RuleSet>> = BTreeMap::new();
    for set in &book.sets {
        by_jurisdiction
            .entry((&set.jurisdiction, set.layer))
            .or_default()
            .push(set);
    }
    for sets in by_jurisdiction.values_mut() {
        sets.sort_by_key(|s| s.effective_from);
        for pair in sets.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            match a.effective_to {
                None => diags.push(at(
                    Severity::Error,
                    &b.file,
                    b.dates_at.from,
                    "rule_set.effective_from",
                    format!(
                        "rule set `{}` overlaps `{}`, which has no end date",
                        b.id, a.id
                    ),
                    Some(format!(
                        "give `{}` an effective_to of {}",
                        a.id,
                        day_before(b.effective_from)
                    )),
                )),
                Some(end) if end >= b.effective_from => diags.push(at(
                    Severity::Error,
                    &b.file,
                    b.dates_at.from,
                    "rule_set.effective_from",
                    format!(
                        "rule set `{}` starts on {} while `{}` is in force until {end}",
                        b.id, b.effective_from, a.id
                    ),
                    Some(
                        "two layers of one kind and jurisdiction may not be in force on the same day"
                            .into(),
                    ),
                )),
                Some(end) if end.succ_opt() != Some(b.effective_from) => diags.push(at(
                    Severity::Warning,
                    &a.file,
                    a.dates_at.to,
                    "rule_set.effective_to",
                    format!(
                        "gap in the {} layers of {}: none from {} to {}",
                        a.layer.as_str(),
                        a.jurisdiction,
                        end.succ_opt().unwrap_or(end),
                        day_before(b.effective_from)
                    ),
                    Some("cases in the gap are judged by the other layers in force; a national gap leaves them undecided".into()),
                )),
                Some(_) => {}
            }
        }
    }
    diags
}

fn day_before(date: NaiveDate) -> NaiveDate {
    date.pred_opt().unwrap_or(date)
}

/// Checks against a date: sets about to expire, jurisdictions left with no rules, and
/// designation lists past their yearly cycle.
pub fn as_of(book: &RuleBook, date: NaiveDate) -> Vec<Diagnostic> {
    let mut diags = national_gaps(book, date);
    for set in &book.sets {
        if let Some(end) = set.effective_to
            && set.in_force(date)
        {
            let days = (end - date).num_days();
            let has_successor = book.sets.iter().any(|s| {
                s.jurisdiction == set.jurisdiction
                    && s.layer == set.layer
                    && end.succ_opt() == Some(s.effective_from)
            });
            if days <= EXPIRY_WARNING_DAYS && !has_successor {
                diags.push(at(
                    Severity::Warning,
                    &set.file,
                    set.dates_at.to,
                    "rule_set.effective_to",
                    format!(
                        "rule set `{}` expires in {days} day(s), on {end}, and nothing follows it",
                        set.id
                    ),
                    Some("add the rule set that follows, or extend effective_to".into()),
                ));
            }
        }
    }
    // Only lists of classes the rules in force read are due each year: a class the law no
    // longer uses (the ghetto list after 2021, say) is history, not stale.
    // A history of renamed lists (ghetto, then parallel society) is due as one: only its
    // newest list must be current.
    let mut histories: Vec<&[Arc<str>]> = Vec::new();
    for s in book.composed.iter().filter(|s| s.in_force(date)) {
        for h in s.list_histories() {
            if !histories.contains(&h) {
                histories.push(h);
            }
        }
    }
    let mut latest: BTreeMap<(&str, &str), (&crate::model::Designation, DatesAt)> = BTreeMap::new();
    for history in &histories {
        let mut newest: BTreeMap<&str, &crate::model::Designation> = BTreeMap::new();
        for d in &book.reference.designations {
            if d.valid_from <= date && history.contains(&d.class) {
                let entry = newest.entry(&*d.jurisdiction).or_insert(d);
                if d.valid_from > entry.valid_from {
                    *entry = d;
                }
            }
        }
        for (jurisdiction, d) in newest {
            latest.insert((jurisdiction, &*d.class), (d, d.dates_at));
        }
    }
    let national_newest: BTreeMap<&str, NaiveDate> = latest
        .iter()
        .filter(|((j, _), _)| *j == crate::model::NATIONAL)
        .map(|((_, c), (d, _))| (*c, d.valid_from))
        .collect();
    for ((jurisdiction, class), (d, dates_at)) in latest {
        // A municipality's own copy of a list is superseded by a newer national list.
        if jurisdiction != crate::model::NATIONAL
            && national_newest
                .get(class)
                .is_some_and(|n| *n > d.valid_from)
        {
            continue;
        }
        let age = (date - d.provenance.published).num_days();
        if date > d.valid_to || age > DESIGNATION_CYCLE_DAYS {
            diags.push(at(
                Severity::Warning,
                &d.file,
                dates_at.to,
                "designations.valid_to",
                format!(
                    "the newest `{class}` designation list for {jurisdiction} (`{}`, published {}, valid to {}) is past its yearly cycle on {date}: the list due {} is missing",
                    d.id,
                    d.provenance.published,
                    d.valid_to,
                    d.valid_to.succ_opt().unwrap_or(d.valid_to)
                ),
                Some("add the ministry's list of that date and any after it; decisions after the last list's end find no list of this class".into()),
            ));
        }
    }
    diags
}

/// Periods from `TIMELINE_START` to `date` that no national layer covers: nothing is decided
/// on those days, so they are stated, not papered over.
fn national_gaps(book: &RuleBook, date: NaiveDate) -> Vec<Diagnostic> {
    let mut national: Vec<&RuleSet> = book
        .sets
        .iter()
        .filter(|s| s.layer == LayerKind::National)
        .map(|s| &**s)
        .collect();
    national.sort_by_key(|s| s.effective_from);
    let mut diags = Vec::new();
    let mut covered_to = TIMELINE_START.pred_opt().unwrap_or(TIMELINE_START);
    let mut gap = |from: NaiveDate, to: NaiveDate, next: Option<&RuleSet>| {
        let (file, pos): (Arc<str>, (usize, usize)) = match next {
            Some(s) => (s.file.clone(), s.dates_at.from),
            None => ("rules".into(), (1, 1)),
        };
        diags.push(at(
            Severity::Warning,
            &file,
            pos,
            "rule_set.effective_from",
            format!("no national layer is in force from {from} to {to}: nothing is decided on those days"),
            Some("add the national layer for that period, or state in rules/LAW.md why none is encoded".into()),
        ));
    };
    for s in &national {
        if let Some(first_uncovered) = covered_to.succ_opt()
            && s.effective_from > first_uncovered
            && first_uncovered <= date
        {
            gap(
                first_uncovered,
                day_before(s.effective_from).min(date),
                Some(s),
            );
        }
        match s.effective_to {
            None => return diags,
            Some(end) => covered_to = covered_to.max(end),
        }
    }
    if let Some(first_uncovered) = covered_to.succ_opt()
        && first_uncovered <= date
    {
        gap(first_uncovered, date, None);
    }
    diags
}
