//! Domain → protobuf: the engine's channels, outcomes and explanations, and logged
//! decisions, as answers carry them.

use super::super::pb;
use crate::engine::{
    Comparison, Counterfactual, Eligibility, Explanation, FiredRule, LettingOutcome,
};
use crate::log::Logged;
use crate::model::Channel;

pub fn channel(c: Channel) -> pb::LettingChannel {
    match c {
        Channel::MunicipalReferral => pb::LettingChannel::MunicipalReferral,
        Channel::Flexible => pb::LettingChannel::Flexible,
        Channel::InternalList => pb::LettingChannel::InternalList,
        Channel::ExternalList => pb::LettingChannel::ExternalList,
    }
}

pub fn outcome(o: LettingOutcome) -> pb::LettingOutcome {
    match o {
        LettingOutcome::Approved => pb::LettingOutcome::Approved,
        LettingOutcome::Rejected => pb::LettingOutcome::Rejected,
        LettingOutcome::PendingMunicipalApproval => pb::LettingOutcome::PendingMunicipalApproval,
    }
}

pub fn eligibility(e: Eligibility) -> pb::FlexibleEligibility {
    match e {
        Eligibility::NotApplicable => pb::FlexibleEligibility::NotApplicable,
        Eligibility::NotEligible => pb::FlexibleEligibility::NotEligible,
        Eligibility::Provisional => pb::FlexibleEligibility::Provisional,
        Eligibility::Verified => pb::FlexibleEligibility::Verified,
    }
}

fn comparison(c: &Comparison) -> pb::Comparison {
    pb::Comparison {
        fact: c.fact.to_string(),
        operator: c.op.to_string(),
        threshold: c.threshold.clone(),
        actual: c.actual.clone(),
        holds: c.holds,
    }
}

/// A letting decision's counterfactuals, in the engine's order.
pub fn counterfactuals(found: &[Counterfactual]) -> Vec<pb::Counterfactual> {
    found
        .iter()
        .map(|c| pb::Counterfactual {
            fact: c.fact.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
            rule_id: c.rule_id.to_string(),
            message_da: c.message_da.clone(),
            message_en: c.message_en.clone(),
        })
        .collect()
}

fn fired_rule(f: &FiredRule) -> pb::FiredRule {
    pb::FiredRule {
        rule_id: f.rule_id.to_string(),
        layer_id: f.layer.to_string(),
        legal_source: Some(pb::LegalSource {
            document: f.source.document.to_string(),
            section: f.source.section.as_deref().unwrap_or_default().to_owned(),
            title: f.source.title.to_string(),
        }),
        comparisons: f.comparisons.iter().map(comparison).collect(),
        message_da: f.message_da.clone(),
        message_en: f.message_en.clone(),
        to_citizen: f.to_citizen,
    }
}

pub fn explanation(e: &Explanation) -> pb::DecisionExplanation {
    pb::DecisionExplanation {
        rule_set_id: e.rule_set_id.to_string(),
        rule_set_content_hash: e.rule_set_hash.to_string(),
        decided_on: e.decided_on.to_string(),
        fired_rules: e.fired.iter().map(fired_rule).collect(),
        considered_rules: e.considered.iter().map(fired_rule).collect(),
        facts: e
            .facts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        reference_data: e
            .reference_data
            .iter()
            .map(|r| pb::ReferenceData {
                id: r.id.to_string(),
                content_hash: r.content_hash.to_string(),
                completeness: r.completeness.as_str().to_owned(),
            })
            .collect(),
        layers: e
            .layers
            .iter()
            .map(|l| pb::Layer {
                id: l.id.to_string(),
                kind: l.kind.as_str().to_owned(),
                title: l.title.to_string(),
                content_hash: l.content_hash.to_string(),
                effective_from: l.effective_from.to_string(),
                effective_to: l.effective_to.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        rests_on_incomplete_data: e.rests_on_incomplete_data(),
        main_considerations: e.considerations.clone().unwrap_or_default(),
        complaint: e.complaint.as_ref().map(|c| pb::ComplaintGuidance {
            guidance_id: c.guidance_id.to_string(),
            legal_source: Some(pb::LegalSource {
                document: c.source.document.to_string(),
                section: c.source.section.as_deref().unwrap_or_default().to_owned(),
                title: c.source.title.to_string(),
            }),
            body_da: c.body_da.to_string(),
            body_en: c.body_en.to_string(),
            how_da: c.how_da.to_string(),
            how_en: c.how_en.to_string(),
            deadline_da: c.deadline_da.to_string(),
            deadline_en: c.deadline_en.to_string(),
        }),
    }
}

pub fn decision(logged: &Logged) -> pb::Decision {
    let d = &logged.record;
    pb::Decision {
        decision_id: d.id.clone(),
        kind: d.kind.as_str().to_owned(),
        municipality_code: d.municipality.clone(),
        organisation_id: d.organisation.clone().unwrap_or_default(),
        department_id: d.department.clone().unwrap_or_default(),
        area_id: d.area.clone().unwrap_or_default(),
        subject_id: d.subject.clone().unwrap_or_default(),
        event_date: d.event_date.to_string(),
        recorded_at: d.recorded_at.to_rfc3339(),
        outcome: d.outcome.clone(),
        channel: d.channel.clone().unwrap_or_default(),
        area_class: d.area_class.clone().unwrap_or_default(),
        amount_ore: d.amount_ore.unwrap_or_default(),
        principal: d.principal.clone(),
        explanation: logged.body.explanation().map(explanation),
        body_json: d.body.to_string(),
    }
}
