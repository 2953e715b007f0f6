//! Protobuf ↔ domain. Requests are validated here, once: what passes is a well-formed
//! domain command; what fails names the field and the reason (sent as BadRequest details).

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::pb;
use crate::engine::{Comparison, Eligibility, Explanation, LettingOutcome};
use crate::model::{AreaFacts, BenefitSpell, Channel, Evidence, Household, Person, PersonRole};
use crate::store::DecisionRecord;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// Every field that failed, so a caller can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            reason: reason.into(),
        });
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// Collects field errors while reading a request.
pub struct Reader {
    pub errors: Invalid,
}

impl Reader {
    pub fn new() -> Self {
        Reader {
            errors: Invalid::default(),
        }
    }

    pub fn date(&mut self, field: &str, text: &str) -> NaiveDate {
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if text.len() == 10 => d,
            _ => {
                let reason = if text.is_empty() {
                    "is required: a date written YYYY-MM-DD".to_owned()
                } else {
                    format!("`{text}` is not a date written YYYY-MM-DD")
                };
                self.errors.push(field, reason);
                NaiveDate::MIN
            }
        }
    }

    pub fn optional_date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        (!text.is_empty()).then(|| self.date(field, text))
    }

    pub fn decimal(&mut self, field: &str, text: &str) -> Option<Decimal> {
        if text.is_empty() {
            return None;
        }
        // The contract's DECIMAL: digits, at most one "." followed by at least one digit,
        // no sign, exponent or separator, at most 18 significant digits. (The decimal
        // parser alone also takes "+5", "3.", ".5", "1_000" and "-0".)
        let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let significant = format!("{whole}{fraction}").trim_start_matches('0').len();
        let well_formed = digits(whole) && digits(fraction) && significant <= 18;
        match Decimal::from_str_exact(text) {
            Ok(d) if well_formed => Some(d),
            _ => {
                self.errors
                    .push(field, format!("`{text}` is not a decimal such as \"0.44\""));
                None
            }
        }
    }

    pub fn id(&mut self, field: &str, text: &str) -> String {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-');
        if !ok {
            self.errors.push(
                field,
                format!("`{text}` is not an id: 1-64 characters of a-z, 0-9 and -"),
            );
        }
        text.to_owned()
    }

    pub fn server_id(&mut self, field: &str, text: &str) -> String {
        if text.is_empty() || text.len() > 64 {
            self.errors
                .push(field, "is required: the id the service returned");
        }
        text.to_owned()
    }

    pub fn text(&mut self, field: &str, text: &str, max: usize) -> String {
        if text.trim().is_empty() || text.chars().count() > max {
            self.errors
                .push(field, format!("is required: 1 to {max} characters"));
        }
        text.to_owned()
    }

    /// A pseudonymous reference: never a CPR number.
    pub fn reference(&mut self, field: &str, text: &str) -> String {
        if text.is_empty() || text.len() > 64 {
            self.errors.push(
                field,
                "is required: a pseudonymous reference of 1-64 characters",
            );
        } else if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b))
        {
            self.errors
                .push(field, "may hold only A-Z, a-z, 0-9 and . : _ -");
        } else if looks_like_cpr(text) {
            // The value is not echoed: it may be a real CPR number.
            self.errors.push(
                field,
                "looks like a CPR number: identify the household by your own pseudonymous reference, never by CPR",
            );
        }
        text.to_owned()
    }

    pub fn municipality(&mut self, field: &str, text: &str) -> String {
        if !(text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit())) {
            self.errors.push(
                field,
                format!("`{text}` is not a four-digit municipality code such as \"0101\""),
            );
        }
        text.to_owned()
    }

    pub fn key(&mut self, text: &str) -> String {
        if text.is_empty() || text.len() > 200 {
            self.errors.push(
                "idempotency_key",
                "is required: a unique key of 1-200 characters per request (a UUID, say)",
            );
        }
        text.to_owned()
    }

    pub fn household(
        &mut self,
        field: &str,
        household: Option<&pb::ApplicantHousehold>,
    ) -> Household {
        let Some(h) = household else {
            self.errors.push(field, "is required");
            return Household {
                applicant_ref: String::new(),
                lives_in_department: false,
                persons: Vec::new(),
                referral_conditions: Vec::new(),
                resource_weak: None,
                current_area_class: None,
                waiting_list_registered_on: None,
                municipal_dispensation: false,
                moves_within_municipality: None,
            };
        };
        let applicant_ref = self.reference(&format!("{field}.applicant_ref"), &h.applicant_ref);
        let mut persons = Vec::new();
        for (i, p) in h.persons.iter().enumerate() {
            let pf = format!("{field}.persons[{i}]");
            let role = match pb::PersonRole::try_from(p.role) {
                Ok(pb::PersonRole::Applicant) => PersonRole::Applicant,
                Ok(pb::PersonRole::Spouse) => PersonRole::Spouse,
                Ok(pb::PersonRole::Cohabitant) => PersonRole::Cohabitant,
                _ => {
                    self.errors.push(
                        format!("{pf}.role"),
                        "must be APPLICANT, SPOUSE or COHABITANT",
                    );
                    // Left out of the household, so it is not also counted as an applicant.
                    continue;
                }
            };
            let mut benefits = Vec::new();
            for (j, b) in p.benefit_spells.iter().enumerate() {
                let bf = format!("{pf}.benefit_spells[{j}]");
                if b.kind.is_empty() {
                    self.errors.push(
                        format!("{bf}.kind"),
                        "is required, such as \"cash_benefit\"",
                    );
                }
                let from = self.date(&format!("{bf}.from_date"), &b.from_date);
                let to = self.optional_date(&format!("{bf}.to_date"), &b.to_date);
                if let Some(to) = to
                    && to < from
                {
                    self.errors
                        .push(format!("{bf}.to_date"), "is before from_date");
                }
                benefits.push(BenefitSpell {
                    kind: b.kind.clone(),
                    from,
                    to,
                });
            }
            persons.push(Person {
                role,
                cohabiting_since: self
                    .optional_date(&format!("{pf}.cohabiting_since"), &p.cohabiting_since),
                benefits,
                weekly_work_hours: self
                    .decimal(&format!("{pf}.weekly_work_hours"), &p.weekly_work_hours),
                student: p.student,
                age: (p.age > 0).then_some(p.age),
                gives_up_larger_dwelling_in_municipality: p
                    .gives_up_larger_dwelling_in_municipality,
                separated_on: self.optional_date(&format!("{pf}.separated_on"), &p.separated_on),
                shared_address_from: self
                    .optional_date(&format!("{pf}.shared_address_from"), &p.shared_address_from),
                evidence: match pb::Evidence::try_from(p.evidence) {
                    Ok(pb::Evidence::Documented) => Evidence::Documented,
                    _ => Evidence::SelfDeclared,
                },
            });
        }
        let applicants = persons
            .iter()
            .filter(|p| p.role == PersonRole::Applicant)
            .count();
        if applicants != 1 {
            self.errors.push(
                format!("{field}.persons"),
                format!("must have exactly one person with role APPLICANT, has {applicants}"),
            );
        }
        Household {
            applicant_ref,
            lives_in_department: h.lives_in_department,
            persons,
            referral_conditions: h.referral_conditions.clone(),
            resource_weak: h.resource_weak,
            current_area_class: (!h.current_area_class.is_empty())
                .then(|| h.current_area_class.clone()),
            waiting_list_registered_on: self.optional_date(
                &format!("{field}.waiting_list_registered_on"),
                &h.waiting_list_registered_on,
            ),
            municipal_dispensation: h.municipal_dispensation,
            moves_within_municipality: h.moves_within_municipality,
        }
    }

    pub fn area_statistics(
        &mut self,
        field: &str,
        s: &pb::AreaStatistics,
    ) -> crate::service::AreaStatisticsInput {
        let area = self.id(&format!("{field}.area_id"), &s.area_id);
        if let (Some(w), Some(without)) =
            (s.working_age_residents, s.without_labour_market_attachment)
            && without > w
        {
            self.errors.push(
                format!("{field}.without_labour_market_attachment"),
                "is larger than working_age_residents",
            );
        }
        let mut share = |name: &str, text: &str| {
            let value = self.decimal(&format!("{field}.{name}"), text);
            if value.is_some_and(|v| v > Decimal::ONE)
                && name != "conviction_rate_ratio"
                && name != "self_supporting_weeks"
            {
                self.errors.push(
                    format!("{field}.{name}"),
                    "is a share: write it between 0 and 1, such as \"0.412\"",
                );
            }
            value
        };
        let facts = AreaFacts {
            id: area.clone(),
            name: None,
            working_age_residents: s.working_age_residents,
            without_labour_market_attachment: s.without_labour_market_attachment,
            share_without_attachment: None,
            residents: s.residents,
            share_without_work_or_education: share(
                "share_without_work_or_education",
                &s.share_without_work_or_education,
            ),
            conviction_rate_ratio: share("conviction_rate_ratio", &s.conviction_rate_ratio),
            share_basic_schooling_only: share(
                "share_basic_schooling_only",
                &s.share_basic_schooling_only,
            ),
            income_ratio_to_region: share("income_ratio_to_region", &s.income_ratio_to_region),
            share_non_western: share("share_non_western", &s.share_non_western),
            share_convicted: share("share_convicted", &s.share_convicted),
        };
        let transfer_income_share = share("transfer_income_share", &s.transfer_income_share);
        let self_supporting_weeks = share("self_supporting_weeks", &s.self_supporting_weeks);
        crate::service::AreaStatisticsInput {
            area,
            facts,
            transfer_income_share,
            self_supporting_weeks,
        }
    }
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

/// A run of six digits, an optional dash and four digits: the shape of a CPR number.
pub fn looks_like_cpr(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|start| {
        let digits = |from: usize, n: usize| {
            bytes
                .get(from..from + n)
                .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
        };
        digits(start, 6)
            && (digits(start + 6, 4)
                || (bytes.get(start + 6) == Some(&b'-') && digits(start + 7, 4)))
    })
}

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

pub fn explanation(e: &Explanation) -> pb::DecisionExplanation {
    pb::DecisionExplanation {
        rule_set_id: e.rule_set_id.to_string(),
        rule_set_content_hash: e.rule_set_hash.to_string(),
        decided_on: e.decided_on.to_string(),
        fired_rules: e
            .fired
            .iter()
            .map(|f| pb::FiredRule {
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
            })
            .collect(),
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

/// The explanation stored inside a decision's body, if it has one.
fn stored_explanation(body: &serde_json::Value) -> Option<Explanation> {
    let found = body
        .get("decision")
        .and_then(|d| d.get("explanation"))
        .or_else(|| {
            body.get("classification")
                .and_then(|c| c.get("explanation"))
        })?;
    serde_json::from_value(found.clone()).ok()
}

pub fn decision(d: &DecisionRecord) -> pb::Decision {
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
        explanation: stored_explanation(&d.body).as_ref().map(explanation),
        body_json: d.body.to_string(),
    }
}

pub fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpr_shapes_are_caught() {
        assert!(looks_like_cpr("010170-1234"));
        assert!(looks_like_cpr("x0101701234"));
        assert!(!looks_like_cpr("A-1007"));
        assert!(!looks_like_cpr("hh-2007-000123"));
        assert!(!looks_like_cpr("01017-1234"));
    }
}
