//! The national frame checked against the layers below it: a municipal decision or an
//! agreement may use only what the national law in force on its dates permits.
//!
//! - every municipal or agreement layer has a national layer in force on its first day;
//! - an adoption names an option of every national layer in force while it is, uses only
//!   benefits that option lists, and, where the national layer makes the option's areas
//!   by designation alone (§ 51 b as first enacted), names only areas on such a list;
//! - a fixed share on a channel stays within the national cap on that channel (§ 59
//!   stk. 1: "indtil hver fjerde"); an agreement may agree more where the cap says so.

use std::sync::Arc;

use chrono::NaiveDate;

use super::diagnostic::{Diagnostic, Severity};
use crate::model::{
    Adoption, Condition, LayerKind, LettingRule, NATIONAL, QuotaModality, ReferenceData, RuleMeta,
    RuleSet, ShareSource,
};

fn error(
    file: &Arc<str>,
    pos: (usize, usize),
    key: &str,
    message: String,
    hint: String,
) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.clone(),
        line: pos.0,
        column: pos.1,
        key: Some(key.to_owned()),
        message,
        hint: Some(hint),
    }
}

/// The part of `[from, to]` (open-ended when `to` is None) that overlaps `set`.
fn overlaps(set: &RuleSet, from: NaiveDate, to: Option<NaiveDate>) -> bool {
    set.effective_to.is_none_or(|end| end >= from) && to.is_none_or(|t| t >= set.effective_from)
}

/// Every check of lower layers against the national frame.
pub fn check(layers: &[Arc<RuleSet>], reference: &ReferenceData) -> Vec<Diagnostic> {
    let national: Vec<&RuleSet> = layers
        .iter()
        .filter(|s| s.layer == LayerKind::National)
        .map(|s| &**s)
        .collect();
    let mut diags = Vec::new();
    for layer in layers.iter().filter(|s| s.layer != LayerKind::National) {
        if !national.iter().any(|n| n.in_force(layer.effective_from)) {
            diags.push(error(
                &layer.file,
                layer.dates_at.from,
                "rule_set.effective_from",
                format!(
                    "{} layer `{}` starts on {} when no national layer is in force",
                    layer.layer.as_str(),
                    layer.id,
                    layer.effective_from
                ),
                "a municipality decides within national law: add the national layer in force on that date".into(),
            ));
        }
        adoptions(layer, &national, reference, &mut diags);
        caps(layer, &national, &mut diags);
    }
    diags
}

fn adoptions(
    layer: &RuleSet,
    national: &[&RuleSet],
    reference: &ReferenceData,
    diags: &mut Vec<Diagnostic>,
) {
    for adoption in &layer.adoptions {
        let (from, to) = in_force_within(&adoption.meta, layer);
        for frame in national.iter().filter(|n| overlaps(n, from, to)) {
            let versions: Vec<&LettingRule> = frame
                .letting_rules
                .iter()
                .filter(|r| r.option.as_ref() == Some(&adoption.option))
                .collect();
            let referral_option = frame
                .referral_rules
                .iter()
                .any(|r| r.option.as_ref() == Some(&adoption.option));
            if versions.is_empty() && !referral_option {
                let mut offered: Vec<&str> = frame
                    .letting_rules
                    .iter()
                    .filter_map(|r| r.option.as_deref())
                    .chain(
                        frame
                            .referral_rules
                            .iter()
                            .filter_map(|r| r.option.as_deref()),
                    )
                    .collect();
                offered.dedup();
                diags.push(error(
                    &layer.file,
                    adoption.option_at,
                    "adoptions.option",
                    format!(
                        "decision `{}` adopts option `{}`, which national layer `{}` (in force from {}) does not offer",
                        adoption.meta.id, adoption.option, frame.id, frame.effective_from,
                    ),
                    if offered.is_empty() {
                        format!("`{}` offers no option: end the decision (effective_to) before that layer starts", frame.id)
                    } else {
                        format!(
                            "`{}` offers {}; end the decision (effective_to) when the option it adopts ends",
                            frame.id,
                            offered.join(", ")
                        )
                    },
                ));
                continue;
            }
            eligible_areas(
                layer,
                frame,
                adoption,
                &versions,
                reference,
                (from, to),
                diags,
            );
            let listed: Vec<Arc<str>> = versions.iter().flat_map(|r| benefit_kinds(r)).collect();
            for b in adoption.benefits.iter().filter(|b| !listed.contains(b)) {
                diags.push(error(
                    &layer.file,
                    adoption.benefits_at,
                    "adoptions.benefits",
                    format!(
                        "decision `{}` uses benefit `{b}`, which option `{}` of national layer `{}` does not list",
                        adoption.meta.id, adoption.option, frame.id
                    ),
                    format!(
                        "a municipality may narrow the law's list, not extend it: use some of {}",
                        listed.iter().map(|k| &**k).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
}

/// Where a national layer gives the option's classes by designation alone, every area the
/// decision names must be on a list of such a class in force while both are.
fn eligible_areas(
    layer: &RuleSet,
    frame: &RuleSet,
    adoption: &Adoption,
    versions: &[&LettingRule],
    reference: &ReferenceData,
    (from, to): (NaiveDate, Option<NaiveDate>),
    diags: &mut Vec<Diagnostic>,
) {
    let classes: Vec<&Arc<str>> = versions
        .iter()
        .flat_map(|r| r.applies_to_classes.iter())
        .collect();
    let by_designation_only = !classes.is_empty()
        && classes.iter().all(|class| {
            let rules: Vec<_> = frame
                .classification
                .iter()
                .filter(|r| r.class == **class)
                .collect();
            !rules.is_empty()
                && rules.iter().all(|r| {
                    matches!(
                        r.when,
                        Condition::DesignatedAs(_) | Condition::ListedInSuccession { .. }
                    )
                })
        });
    if !by_designation_only {
        return;
    }
    let start = from.max(frame.effective_from);
    let end = match (to, frame.effective_to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    for area in &adoption.areas {
        let listed = reference.designations.iter().any(|d| {
            (&*d.jurisdiction == NATIONAL || d.jurisdiction == layer.jurisdiction)
                && classes.iter().any(|c| **c == d.class)
                && d.areas.contains_key(&**area)
                && d.valid_to >= start
                && end.is_none_or(|e| d.valid_from <= e)
        });
        if !listed {
            diags.push(error(
                &layer.file,
                adoption.areas_at,
                "adoptions.areas",
                format!(
                    "decision `{}` names area `{area}`, which no designation list of class {} names while the decision and national layer `{}` are in force",
                    adoption.meta.id,
                    classes.iter().map(|c| &***c).collect::<Vec<_>>().join(" or "),
                    frame.id
                ),
                format!(
                    "under `{}` option `{}` may be used only in designated areas: add the area's designation to rules/reference/, or leave the area out",
                    frame.id, adoption.option
                ),
            ));
        }
    }
}

/// The days a rule is in force within its layer: from its first to its last (None: open).
fn in_force_within(meta: &RuleMeta, layer: &RuleSet) -> (NaiveDate, Option<NaiveDate>) {
    let from = meta
        .effective_from
        .unwrap_or(layer.effective_from)
        .max(layer.effective_from);
    let to = match (meta.effective_to, layer.effective_to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    (from, to)
}

/// Every benefit kind the option's benefit tests name.
fn benefit_kinds(rule: &LettingRule) -> Vec<Arc<str>> {
    let mut out = Vec::new();
    rule.when.visit(&mut |c| {
        if let Condition::BenefitReceipt(t) = c {
            out.extend(t.kinds.iter().cloned());
        }
    });
    out
}

fn caps(layer: &RuleSet, national: &[&RuleSet], diags: &mut Vec<Diagnostic>) {
    for quota in layer.channels.quotas.iter() {
        let ShareSource::Fixed(share) = quota.share else {
            continue;
        };
        let (from, to) = in_force_within(&quota.meta, layer);
        for frame in national.iter().filter(|n| overlaps(n, from, to)) {
            for cap in frame.channels.quotas.iter().filter(|c| {
                c.modality == QuotaModality::Cap
                    && c.channel == quota.channel
                    && !(c.agreement_may_exceed && layer.layer == LayerKind::Agreement)
            }) {
                let ShareSource::Fixed(max) = cap.share else {
                    continue;
                };
                // "up to" (<=) admits the cap itself; "less than" (<) does not.
                let exceeds = if cap.op.as_str() == "<" {
                    share.as_decimal() >= max.as_decimal()
                } else {
                    share.as_decimal() > max.as_decimal()
                };
                if exceeds {
                    diags.push(error(
                        &layer.file,
                        quota.share_at,
                        "channel_assignment.quotas.share",
                        format!(
                            "`{}` claims {share} of vacancies for {}, above the national cap {max} of `{}` ({}) in force from {}",
                            quota.meta.id,
                            quota.channel.as_str(),
                            cap.meta.id,
                            cap.meta.source.section.as_deref().unwrap_or(&cap.meta.source.document),
                            frame.effective_from
                        ),
                        format!("lower the share to at most {max}"),
                    ));
                }
            }
        }
    }
}
