//! Every quota and threshold evaluated on edge inputs before a rule book is accepted.
//!
//! Parsing bounds each value a file can hold; this checks what the engine computes from
//! them. Each quota's arithmetic runs with its counters at 0, at u32::MAX and at the
//! largest the engine can still count one more on, with every share it may use (its own,
//! and every agreed department share where it defers to an agreement). Every composed set
//! classifies areas whose shares are all 0 and all 1 and whose counts are 0 and at their
//! largest, and decides grants of nothing and of the largest amount against an empty and
//! a full pool. A rule the engine cannot evaluate exactly there is an error, so a book
//! that loads cannot fail a decision later, at start or after a SIGHUP reload, on counts or
//! facts that happen to be large.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::diagnostic::{Diagnostic, Severity};
use crate::engine::{self, EngineError, GrantCase};
use crate::model::{
    AreaFacts, Household, Money, NATIONAL, Person, PersonRole, RuleBook, RuleSet, Share,
    ShareSource,
};

/// Vacancy counts a quota is evaluated on: none, one, u32::MAX and the most a counter can
/// hold (the engine refuses to count past it).
const TOTALS: [u64; 4] = [0, 1, u32::MAX as u64, u64::MAX];

/// Every diagnostic of the edge evaluation of `book`.
pub fn check(book: &RuleBook) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for layer in &book.sets {
        quotas(book, layer, &mut diags);
    }
    for set in &book.composed {
        thresholds(book, set, &mut diags);
    }
    diags
}

fn error(file: &Arc<str>, pos: (usize, usize), key: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.clone(),
        line: pos.0,
        column: pos.1,
        key: Some(key.to_owned()),
        message,
        hint: Some(
            "write the share with smaller parts (at most 1000000 each, six decimals)".into(),
        ),
    }
}

/// Each quota of `layer` with each share it may use, on counts at the edges.
fn quotas(book: &RuleBook, layer: &RuleSet, diags: &mut Vec<Diagnostic>) {
    'quotas: for quota in &layer.channels.quotas {
        let mut shares: Vec<Share> = Vec::new();
        match quota.share {
            ShareSource::Fixed(s) => shares.push(s),
            ShareSource::DepartmentAgreement { default } => {
                shares.push(default);
                shares.extend(
                    book.reference
                        .flexible_shares
                        .iter()
                        .filter(|l| {
                            *l.jurisdiction == *layer.jurisdiction
                                || &*layer.jurisdiction == NATIONAL
                        })
                        .flat_map(|l| l.departments.values().copied()),
                );
            }
        }
        for share in shares {
            for total in TOTALS {
                for count in [0, total] {
                    let exact = share.checked_is_due(quota.op, count, total).is_some()
                        && share.checked_of(total).is_some();
                    if !exact {
                        diags.push(error(
                            &layer.file,
                            quota.share_at,
                            "channel_assignment.quotas.share",
                            format!(
                                "quota `{}` cannot be evaluated exactly with share {share} at {count} of {total} vacancies: its arithmetic overflows",
                                quota.meta.id
                            ),
                        ));
                        continue 'quotas;
                    }
                }
            }
        }
    }
}

/// The edge areas: nothing known, every share 0 and counts 0, every share 1 and counts at
/// their largest.
fn edge_areas() -> [AreaFacts; 3] {
    let all = |share: Decimal, count: u64| AreaFacts {
        id: "edge".into(),
        name: None,
        working_age_residents: Some(count),
        without_labour_market_attachment: Some(count),
        share_without_attachment: None,
        residents: Some(count),
        share_without_work_or_education: Some(share),
        conviction_rate_ratio: Some(share),
        share_basic_schooling_only: Some(share),
        income_ratio_to_region: Some(share),
        share_non_western: Some(share),
        share_convicted: Some(share),
    };
    [
        AreaFacts {
            id: "edge".into(),
            ..AreaFacts::default()
        },
        all(Decimal::ZERO, 0),
        all(Decimal::ONE, u64::MAX),
    ]
}

/// An error the engine gives for arithmetic, as opposed to a case it has no rule for.
fn arithmetic(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::Arithmetic { .. } | EngineError::CounterOverflow { .. }
    )
}

/// Classification and grant thresholds of a composed set on the edge facts, on the first
/// day of the set and on the first day of each rule in it.
fn thresholds(book: &RuleBook, set: &RuleSet, diags: &mut Vec<Diagnostic>) {
    let municipality: &str = &set.jurisdiction;
    let mut dates = vec![set.effective_from];
    dates.extend(
        set.classification
            .iter()
            .filter_map(|r| r.meta.effective_from)
            .filter(|d| set.in_force(*d)),
    );
    dates.sort();
    dates.dedup();
    let mut report = |what: String, e: &EngineError| {
        diags.push(Diagnostic {
            severity: Severity::Error,
            file: set.file.clone(),
            line: 1,
            column: 1,
            key: None,
            message: format!("rule set `{}`: {what}: {e}", set.id),
            hint: None,
        })
    };
    for date in dates {
        for area in edge_areas() {
            if let Err(e) = engine::classify(book, municipality, &area, date)
                && arithmetic(&e)
            {
                report(format!("classifying an edge area on {date}"), &e);
            }
        }
        let Some(grants) = &set.grants else { continue };
        let household = Household {
            applicant_ref: "edge".into(),
            lives_in_department: false,
            persons: vec![Person {
                role: PersonRole::Applicant,
                cohabiting_since: None,
                benefits: Vec::new(),
                weekly_work_hours: None,
                student: false,
                age: None,
                gives_up_larger_dwelling_in_municipality: false,
                separated_on: None,
                shared_address_from: None,
                evidence: Default::default(),
            }],
            referral_conditions: Vec::new(),
            resource_weak: Some(true),
            current_area_class: None,
            waiting_list_registered_on: None,
            municipal_dispensation: false,
            moves_within_municipality: Some(true),
        };
        for purpose in set.vocabulary.grant_purposes.iter() {
            for amount in [
                Money::ZERO,
                grants.standard_amount,
                Money::from_ore(i64::MAX),
            ] {
                for committed in [Money::ZERO, Money::from_ore(i64::MAX)] {
                    let case = GrantCase {
                        date,
                        municipality: municipality.to_owned(),
                        purpose: purpose.id.to_string(),
                        amount: Some(amount),
                        household: household.clone(),
                        pool_committed: committed,
                    };
                    if let Err(e) = engine::evaluate_grant(book, &case)
                        && arithmetic(&e)
                    {
                        report(format!("a grant of {amount} on {date}"), &e);
                    }
                }
            }
        }
    }
}
