//! Municipal referrals: a household referred to a vacancy, refused into barred areas.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::letting::{
    ProposeLetting, VacancyState, dated, first_step, owned_case_for_update, step,
    vacancy_for_update, vacancy_row,
};
use super::registry::area_facts;
use super::workflow::Act;
use super::{Ledger, Principal, ServiceError, logged, new_id, require_municipality, to_json};
use crate::engine::{self, ReferralCase, ReferralDecision, ReferralOutcome};
use crate::log::{self, Body, Inputs, Placement};
use crate::model::{Channel, Household};
use crate::store::{CaseKind, CaseRow, Tx};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordReferral {
    pub vacancy_id: String,
    pub household: Household,
    pub date: NaiveDate,
    /// The caseworker who made the act (the console records its signed-in user); none
    /// when the caller did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralRecorded {
    pub referral_id: String,
    pub decision_id: String,
    pub decision: ReferralDecision,
}

/// The stored state of a municipal referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralState {
    pub vacancy_id: String,
    pub applicant_ref: String,
    pub date: NaiveDate,
    /// The letting that let the vacancy to the referred household.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letting: Option<String>,
}

/// The referral a letting must name on a vacancy the municipality referred to, checked:
/// accepted, for this vacancy and this household. Any other vacancy takes no referral.
pub(super) async fn referral_behind(
    tx: &mut dyn Tx,
    principal: &Principal,
    vacancy: &VacancyState,
    command: &ProposeLetting,
) -> Result<Option<(CaseRow, ReferralState)>, ServiceError> {
    let referral_vacancy =
        vacancy.channel == Channel::MunicipalReferral || vacancy.referral.is_some();
    let Some(id) = &command.referral_id else {
        if referral_vacancy {
            return Err(ServiceError::FailedPrecondition(format!(
                "vacancy `{}` is for municipal referral: a letting of it names the municipality's accepted referral (referral_id)",
                command.vacancy_id
            )));
        }
        return Ok(None);
    };
    if !referral_vacancy {
        return Err(ServiceError::FailedPrecondition(format!(
            "vacancy `{}` goes to {}, not municipal referral: a letting of it names no referral",
            command.vacancy_id,
            vacancy.channel.as_str()
        )));
    }
    let (row, state): (CaseRow, ReferralState) =
        owned_case_for_update(tx, principal, CaseKind::Referral, "referral", id).await?;
    step(&row, Act::ProposeLetting)?;
    if state.vacancy_id != command.vacancy_id || vacancy.referral.as_deref() != Some(id.as_str()) {
        return Err(ServiceError::FailedPrecondition(format!(
            "referral `{id}` is to vacancy `{}`, not `{}`",
            state.vacancy_id, command.vacancy_id
        )));
    }
    if state.applicant_ref != command.household.applicant_ref {
        return Err(ServiceError::FailedPrecondition(format!(
            "referral `{id}` refers another household: the letting is for the referred household"
        )));
    }
    Ok(Some((row, state)))
}

impl Ledger {
    /// A municipal referral of a household to a vacancy: refused into barred areas, with
    /// the reason; accepted referrals elsewhere are the compensation the report counts.
    pub async fn record_referral(
        &self,
        principal: &Principal,
        key: &str,
        command: RecordReferral,
    ) -> Result<ReferralRecorded, ServiceError> {
        require_municipality(principal, "refer households")?;
        let in_force = self.in_force();
        let p = principal.clone();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        let judging = in_force.clone();
        self.judged(&in_force, principal, key, hash, move |tx| {
            let (command, in_force, p) = (command.clone(), judging.clone(), p.clone());
            Box::pin(async move {
                let book = &in_force.book;
                let (vrow, mut vacancy) = vacancy_for_update(tx, &p, &command.vacancy_id).await?;
                let vacancy_step = step(&vrow, Act::RecordReferral)?;
                dated(
                    book,
                    &vrow.municipality,
                    Act::RecordReferral,
                    command.date,
                    today,
                    &[("the vacancy", vacancy.date)],
                )?;
                let area = area_facts(tx, &vacancy.area, command.date).await?;
                let case = ReferralCase {
                    date: command.date,
                    municipality: vrow.municipality.clone(),
                    department: vacancy.department.clone(),
                    department_name: vacancy.department_name.clone(),
                    area,
                    household: command.household.clone(),
                };
                let decided = engine::evaluate_referral(book, &case)?;
                let accepted = decided.outcome == ReferralOutcome::Accepted;
                // Only a vacancy put at the municipality's disposal takes a referral; a
                // refused one is recorded wherever it was tried, so the report sees it.
                if accepted && vacancy.channel != Channel::MunicipalReferral {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "vacancy `{}` goes to {}: the municipality refers only to vacancies assigned to municipal referral",
                        command.vacancy_id,
                        vacancy.channel.as_str()
                    )));
                }
                let referral_id = new_id();
                let status = first_step(CaseKind::Referral, Act::RecordReferral)?
                    .to(&referral_id, if accepted { "accepted" } else { "refused" })?;
                let d = logged(
                    &p,
                    command.date,
                    Body::Referral(log::Referral {
                        vacancy_id: command.vacancy_id.clone(),
                        applicant_ref: command.household.applicant_ref.clone(),
                        decision: decided.clone(),
                        rule_book: Some(in_force.hash.clone()),
                        caseworker: command.caseworker.clone(),
                    }),
                    Placement {
                        organisation: vrow.organisation.clone(),
                        department: Some(vacancy.department.clone()),
                        area: Some(vacancy.area.clone()),
                        subject: Some(referral_id.clone()),
                        ..Placement::default()
                    },
                )?;
                in_force.append(tx, &d, &Inputs::referral(&case)).await?;
                tx.put_case(&CaseRow {
                    kind: CaseKind::Referral,
                    id: referral_id.clone(),
                    municipality: vrow.municipality.clone(),
                    organisation: vrow.organisation.clone(),
                    department: Some(vacancy.department.clone()),
                    status: status.into(),
                    updated_at: Utc::now(),
                    body: to_json(&ReferralState {
                        vacancy_id: command.vacancy_id.clone(),
                        applicant_ref: command.household.applicant_ref.clone(),
                        date: command.date,
                        letting: None,
                    })?,
                })
                .await?;
                if accepted {
                    vacancy.referral = Some(referral_id.clone());
                    let org = vrow.organisation.clone().unwrap_or_default();
                    let held = vacancy_step.to(&command.vacancy_id, "referred")?;
                    tx.put_case(&vacancy_row(&p, &command.vacancy_id, &org, &vacancy, held)?)
                        .await?;
                }
                Ok(ReferralRecorded { referral_id, decision_id: d.id, decision: decided })
            })
        })
        .await
    }
}
