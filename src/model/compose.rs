//! Composing layers: the national layer in force with a municipality's own decisions and
//! agreements in force, into the one rule set that judges its cases over a period.
//!
//! - classification: every layer's classes in layer order, then the catch-alls (a class
//!   whose condition is `always`) from the lowest layer up, so that a municipality's own
//!   bands are tried before national law's "otherwise";
//! - letting and referral rules: national duties; national options only where a municipal
//!   decision adopts them, limited to its areas, benefits and dates; the lower layers' own;
//! - flexible priority, quotas, complaint guidance: every layer's (lowest layer's
//!   complaint guidance wins for a kind of decision);
//! - channel order, quota period, fallback and grants: the lowest layer that states them.
//!
//! Pure and done once when the rules are loaded, so a decision costs no composition.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;

use super::{
    Adoption, Condition, LayerKind, LayerRef, LettingRule, NATIONAL, ReferralRule, RuleMeta,
    RuleModality, RuleSet, Term, Vocabulary,
};

/// The reference a layer gives of itself in an explanation.
pub fn layer_ref(set: &RuleSet) -> LayerRef {
    LayerRef {
        id: set.id.clone(),
        kind: set.layer,
        title: set.title.clone(),
        content_hash: set.content_hash.clone(),
        effective_from: set.effective_from,
        effective_to: set.effective_to,
    }
}

/// Every composition the layers give: national law alone for each national layer, and
/// for each municipality with layers of its own, one set per period in which the same
/// layers are in force. A period with municipal layers and no national one composes
/// nothing (`rules check` reports it).
pub fn compose_all(layers: &[Arc<RuleSet>]) -> Vec<Arc<RuleSet>> {
    let national: Vec<&Arc<RuleSet>> = layers
        .iter()
        .filter(|s| s.layer == LayerKind::National)
        .collect();
    let mut out: Vec<Arc<RuleSet>> = national
        .iter()
        .map(|n| Arc::new(compose(n, &[], n.effective_from, n.effective_to, NATIONAL)))
        .collect();
    let municipalities: BTreeSet<&str> = layers
        .iter()
        .filter(|s| s.layer != LayerKind::National)
        .map(|s| &*s.jurisdiction)
        .collect();
    for municipality in municipalities {
        let own: Vec<&Arc<RuleSet>> = layers
            .iter()
            .filter(|s| s.layer != LayerKind::National && &*s.jurisdiction == municipality)
            .collect();
        let mut starts: BTreeSet<NaiveDate> = BTreeSet::new();
        for s in national.iter().chain(own.iter()) {
            starts.insert(s.effective_from);
            if let Some(next) = s.effective_to.and_then(|d| d.succ_opt()) {
                starts.insert(next);
            }
        }
        let starts: Vec<NaiveDate> = starts.into_iter().collect();
        let mut pieces: Vec<Piece<'_>> = Vec::new();
        for (i, start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).and_then(|d| d.pred_opt());
            let Some(frame) = national.iter().find(|n| n.in_force(*start)) else {
                continue;
            };
            let mut lower: Vec<&Arc<RuleSet>> =
                own.iter().filter(|s| s.in_force(*start)).copied().collect();
            if lower.is_empty() {
                continue;
            }
            lower.sort_by_key(|s| (s.layer, s.effective_from));
            let mut all = vec![*frame];
            all.extend(lower);
            match pieces.last_mut() {
                Some(last)
                    if same_layers(&last.0, &all)
                        && last.2.and_then(|d| d.succ_opt()) == Some(*start) =>
                {
                    last.2 = end;
                }
                _ => pieces.push((all, *start, end)),
            }
        }
        for (all, from, to) in pieces {
            if let Some((frame, lower)) = all.split_first() {
                let lower: Vec<&RuleSet> = lower.iter().map(|s| &***s).collect();
                out.push(Arc::new(compose(frame, &lower, from, to, municipality)));
            }
        }
    }
    out
}

/// The layers in force over one period, from its first day to its last (open-ended: None).
type Piece<'a> = (Vec<&'a Arc<RuleSet>>, NaiveDate, Option<NaiveDate>);

fn same_layers(a: &[&Arc<RuleSet>], b: &[&Arc<RuleSet>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.id == y.id)
}

/// One composition: `frame` (national) with the `lower` layers in layer order.
pub fn compose(
    frame: &RuleSet,
    lower: &[&RuleSet],
    from: NaiveDate,
    to: Option<NaiveDate>,
    jurisdiction: &str,
) -> RuleSet {
    let all: Vec<&RuleSet> = std::iter::once(frame)
        .chain(lower.iter().copied())
        .collect();
    let id = all.iter().map(|s| &*s.id).collect::<Vec<_>>().join("+");
    let title = all
        .iter()
        .map(|s| &*s.title)
        .collect::<Vec<_>>()
        .join(" · ");
    let content_hash: Arc<str> = if lower.is_empty() {
        frame.content_hash.clone()
    } else {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for s in &all {
            hasher.update(s.id.as_bytes());
            hasher.update(b"\0");
            hasher.update(s.content_hash.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize()).into()
    };

    let mut vocabulary = Vocabulary::default();
    for s in &all {
        merge_terms(&mut vocabulary.classes, &s.vocabulary.classes);
        merge_terms(&mut vocabulary.benefits, &s.vocabulary.benefits);
        merge_terms(
            &mut vocabulary.referral_conditions,
            &s.vocabulary.referral_conditions,
        );
        merge_terms(&mut vocabulary.grant_purposes, &s.vocabulary.grant_purposes);
        merge_terms(
            &mut vocabulary.priority_groups,
            &s.vocabulary.priority_groups,
        );
        merge_terms(&mut vocabulary.obligations, &s.vocabulary.obligations);
    }

    let catch_all = |r: &&super::ClassRule| matches!(r.when, Condition::Always);
    let mut classification: Vec<super::ClassRule> = all
        .iter()
        .flat_map(|s| s.classification.iter().filter(|r| !catch_all(r)))
        .cloned()
        .collect();
    classification.extend(
        all.iter()
            .rev()
            .flat_map(|s| s.classification.iter().filter(catch_all))
            .cloned(),
    );

    let adoptions: Vec<Arc<Adoption>> = lower
        .iter()
        .flat_map(|s| s.adoptions.iter().cloned())
        .collect();

    let mut letting_rules = Vec::new();
    let mut referral_rules = Vec::new();
    for s in &all {
        for rule in &s.letting_rules {
            match rule.modality {
                RuleModality::Required => letting_rules.push(rule.clone()),
                RuleModality::Option => {
                    for adoption in adoptions
                        .iter()
                        .filter(|a| rule.option.as_ref() == Some(&a.option))
                    {
                        letting_rules.push(LettingRule {
                            meta: within(&rule.meta, &adoption.meta),
                            when: narrow_benefits(&rule.when, &adoption.benefits),
                            adoption: Some(adoption.clone()),
                            ..rule.clone()
                        });
                    }
                }
            }
        }
        for rule in &s.referral_rules {
            match rule.modality {
                RuleModality::Required => referral_rules.push(rule.clone()),
                RuleModality::Option => {
                    for adoption in adoptions
                        .iter()
                        .filter(|a| rule.option.as_ref() == Some(&a.option))
                    {
                        referral_rules.push(ReferralRule {
                            meta: within(&rule.meta, &adoption.meta),
                            adoption: Some(adoption.clone()),
                            ..rule.clone()
                        });
                    }
                }
            }
        }
    }

    let mut channels = frame.channels.clone();
    for s in lower {
        if !s.channels.order.is_empty() {
            channels.order = s.channels.order.clone();
        }
        if s.channels.period.is_some() {
            channels.period = s.channels.period;
        }
        if s.channels.fallback.is_some() {
            channels.fallback = s.channels.fallback.clone();
        }
        channels.quotas.extend(s.channels.quotas.iter().cloned());
    }

    RuleSet {
        id: id.into(),
        title: title.into(),
        jurisdiction: jurisdiction.into(),
        layer: all.iter().map(|s| s.layer).max().unwrap_or(frame.layer),
        layers: all.iter().map(|s| layer_ref(s)).collect(),
        effective_from: from,
        effective_to: to,
        sources: all.iter().flat_map(|s| s.sources.iter().cloned()).collect(),
        content_hash,
        file: frame.file.clone(),
        dates_at: frame.dates_at,
        vocabulary,
        classification,
        letting_rules,
        flexible_priority: all
            .iter()
            .flat_map(|s| s.flexible_priority.iter().cloned())
            .collect(),
        referral_rules,
        channels,
        grants: all.iter().rev().find_map(|s| s.grants.clone()),
        municipal_acts: all
            .iter()
            .flat_map(|s| s.municipal_acts.iter().cloned())
            .collect(),
        adoptions,
        complaints: all
            .iter()
            .flat_map(|s| s.complaints.iter().cloned())
            .collect(),
    }
}

fn merge_terms(into: &mut Vec<Term>, from: &[Term]) {
    for t in from {
        if !into.iter().any(|e| e.id == t.id) {
            into.push(t.clone());
        }
    }
}

/// The option rule's meta, in force only while the adopting decision is.
fn within(rule: &RuleMeta, adoption: &RuleMeta) -> RuleMeta {
    let later = |a: Option<NaiveDate>, b: Option<NaiveDate>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let earlier = |a: Option<NaiveDate>, b: Option<NaiveDate>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    RuleMeta {
        effective_from: later(rule.effective_from, adoption.effective_from),
        effective_to: earlier(rule.effective_to, adoption.effective_to),
        ..rule.clone()
    }
}

/// The condition with every benefit test limited to `benefits` (all kept when empty).
fn narrow_benefits(condition: &Condition, benefits: &[Arc<str>]) -> Condition {
    if benefits.is_empty() {
        return condition.clone();
    }
    let each = |items: &[Condition]| items.iter().map(|c| narrow_benefits(c, benefits)).collect();
    match condition {
        Condition::BenefitReceipt(test) => {
            let mut test = test.clone();
            test.kinds.retain(|k| benefits.contains(k));
            Condition::BenefitReceipt(test)
        }
        Condition::All(items) => Condition::All(each(items)),
        Condition::Any(items) => Condition::Any(each(items)),
        Condition::AtLeast { n, of } => Condition::AtLeast {
            n: *n,
            of: each(of),
        },
        Condition::Not(inner) => Condition::Not(Box::new(narrow_benefits(inner, benefits))),
        other => other.clone(),
    }
}
