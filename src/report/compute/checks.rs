//! The checks of flexible lettings against the rule sets' targets, segment by segment.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::classes::Segment;
use super::counts::ratio;
use crate::model::{Channel, CountedOver, QuotaModality, RuleBook, Share, ShareSource};
use crate::report::model::{Check, CheckKind, CheckStatus, ListRef};

/// A dwelling let in the period.
#[derive(Debug, Clone)]
pub(super) struct Letting {
    pub(super) id: String,
    pub(super) date: NaiveDate,
    pub(super) department: Option<String>,
    pub(super) area: Option<String>,
    pub(super) bucket: String,
}

impl Letting {
    pub(super) fn flexible(&self) -> bool {
        self.bucket == Channel::Flexible.as_str()
    }
}

/// A target for flexible lettings over a segment.
pub(super) struct Target {
    pub(super) kind: CheckKind,
    pub(super) modality: QuotaModality,
    pub(super) rule_id: String,
    pub(super) share: Share,
    pub(super) op: crate::model::CompareOp,
    pub(super) list: Option<ListRef>,
    /// The channels that come before flexible letting in the rule set's order.
    pub(super) before: Vec<String>,
}

/// The channels a rule set lets a vacancy go to before flexible letting.
pub(super) fn channels_before_flexible(set: &crate::model::RuleSet) -> Vec<String> {
    set.channels
        .order
        .iter()
        .take_while(|c| **c != Channel::Flexible)
        .map(|c| c.as_str().to_owned())
        .collect()
}

/// The department-level targets of a segment's rule set for its class.
pub(super) fn department_targets(
    book: &RuleBook,
    municipality: &str,
    department: &str,
    segment: &Segment,
    class_floor_only: bool,
) -> Vec<Target> {
    let (Some(set_id), Some(class)) = (&segment.rule_set_id, &segment.class) else {
        return Vec::new();
    };
    let Some(set) = book.set(set_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for q in set.channels.quotas.iter().filter(|q| {
        q.channel == Channel::Flexible
            && q.modality != QuotaModality::Cap
            && q.counted_over == CountedOver::Department
            && q.meta.in_force(segment.to)
            && q.applies_to_class(class)
    }) {
        let (kind, share, list) = match &q.share {
            ShareSource::Fixed(s) => (CheckKind::ClassFloor, *s, None),
            ShareSource::DepartmentAgreement { default } => {
                if class_floor_only {
                    continue;
                }
                match book
                    .reference
                    .flexible_share(municipality, department, segment.to)
                {
                    Some((list, s)) => (
                        CheckKind::AgreedShare,
                        s,
                        Some(ListRef {
                            id: list.id.to_string(),
                            content_hash: list.content_hash.to_string(),
                            completeness: list.provenance.completeness,
                        }),
                    ),
                    None => (CheckKind::AgreedShare, *default, None),
                }
            }
        };
        if share.is_zero() {
            continue;
        }
        out.push(Target {
            kind,
            modality: q.modality,
            rule_id: q.meta.id.to_string(),
            share,
            op: q.op,
            list,
            before: channels_before_flexible(set),
        });
    }
    out
}

pub(super) fn check(
    target: &Target,
    scope: String,
    rule_set_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    area_class: Option<String>,
    lettings: &[&Letting],
) -> Check {
    // A share of 1 makes flexible letting mandatory for every vacancy that a channel
    // before it (municipal referral) does not take: those lettings are not in its base.
    let lettings: Vec<&Letting> = if target.share.as_decimal() == Decimal::ONE {
        lettings
            .iter()
            .filter(|l| !target.before.contains(&l.bucket))
            .copied()
            .collect()
    } else {
        lettings.to_vec()
    };
    let letting_ids: Vec<String> = lettings.iter().map(|l| l.id.clone()).collect();
    let flexible_ids: Vec<String> = lettings
        .iter()
        .filter(|l| l.flexible())
        .map(|l| l.id.clone())
        .collect();
    let (n, f) = (letting_ids.len() as u64, flexible_ids.len() as u64);
    let status = if n == 0 {
        CheckStatus::NoLettings
    } else if target.share.is_due(target.op, f, n) {
        CheckStatus::Fail
    } else {
        CheckStatus::Pass
    };
    Check {
        kind: target.kind,
        modality: target.modality,
        scope,
        rule_id: target.rule_id.clone(),
        rule_set_id: rule_set_id.to_owned(),
        from,
        to,
        area_class,
        target: target.share.to_string(),
        target_share: target.share.as_decimal().round_dp(4),
        list: target.list.clone(),
        lettings: n,
        flexible: f,
        required: target.share.of(n).round_dp(4).normalize(),
        share: ratio(f, n),
        status,
        letting_ids,
        flexible_ids,
    }
}

pub(super) fn status_of(checks: &[Check]) -> CheckStatus {
    let has = |s| checks.iter().any(|c| c.status == s);
    if has(CheckStatus::Fail) {
        CheckStatus::Fail
    } else if has(CheckStatus::Pass) {
        CheckStatus::Pass
    } else if has(CheckStatus::NoLettings) {
        CheckStatus::NoLettings
    } else {
        CheckStatus::NoTarget
    }
}

pub(super) fn in_segment<'l>(
    lettings: &[&'l Letting],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<&'l Letting> {
    lettings
        .iter()
        .filter(|l| from <= l.date && l.date <= to)
        .copied()
        .collect()
}
