//! Replacement offers: the dwelling a rejected applicant is owed, offered and answered.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::letting::{
    ActRecorded, dated, first_step, letting_for_update, step, vacancy_for_update, vacancy_row,
};
use super::registry::area_facts;
use super::registry::writer;
use super::workflow::Act;
use super::{
    Ledger, Principal, ServiceError, from_json, logged, new_id, require_municipality, to_json,
};
use crate::engine::{self, Explanation};
use crate::log::{self, AnswerOffer, Body, ClassificationCase, Inputs, MakeOffer, Placement};
use crate::store::{CaseKind, CaseRow};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferMade {
    pub offer_id: String,
    pub decision_id: String,
    #[serde(default)]
    pub explanation: Option<Explanation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferState {
    pub letting_id: String,
    pub vacancy_id: String,
    pub applicant_ref: String,
    pub date: NaiveDate,
    pub answer: Option<bool>,
}

impl Ledger {
    /// The municipality offers a replacement dwelling to an applicant rejected under
    /// combined letting. Only a vacancy outside exposed areas qualifies.
    pub async fn make_replacement_offer(
        &self,
        principal: &Principal,
        key: &str,
        command: MakeOffer,
    ) -> Result<OfferMade, ServiceError> {
        require_municipality(principal, "make replacement offers")?;
        let in_force = self.in_force();
        let p = principal.clone();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        let judging = in_force.clone();
        self.judged(&in_force, principal, key, hash, move |tx| {
            let (command, in_force, p) = (command.clone(), judging.clone(), p.clone());
            Box::pin(async move {
                let book = &in_force.book;
                let (row, mut state) = letting_for_update(tx, &p, &command.letting_id).await?;
                if !state.replacement_owed {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "no replacement dwelling is owed for letting `{}`",
                        command.letting_id
                    )));
                }
                let letting_step = step(&row, Act::MakeReplacementOffer)?;
                if let Some(offer) = &state.replacement_offer {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "letting `{}` already has replacement offer `{offer}`: one owed dwelling is met by one offer",
                        command.letting_id
                    )));
                }
                let (vrow, mut vacancy) = vacancy_for_update(tx, &p, &command.vacancy_id).await?;
                let vacancy_step = step(&vrow, Act::MakeReplacementOffer)?;
                let rejected_on = state.decided_on.unwrap_or(state.date);
                dated(
                    book,
                    &row.municipality,
                    Act::MakeReplacementOffer,
                    command.date,
                    today,
                    &[("the rejection", rejected_on), ("the offered vacancy", vacancy.date)],
                )?;
                let area = area_facts(tx, &vacancy.area, command.date).await?;
                let case = ClassificationCase {
                    date: command.date,
                    municipality: vrow.municipality.clone(),
                    area,
                };
                let class =
                    engine::classify_offered_dwelling(book, &case.municipality, &case.area, case.date)?;
                if matches!(&*class.class, "exposed" | "hard_exposed") {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "vacancy `{}` lies in {} ({}): a replacement dwelling must be outside exposed areas",
                        command.vacancy_id, vacancy.area, class.class
                    )));
                }
                let offer_id = new_id();
                let offered = first_step(CaseKind::Offer, Act::MakeReplacementOffer)?.to(&offer_id, "offered")?;
                let d = logged(
                    &p,
                    command.date,
                    Body::ReplacementOffer(log::ReplacementOffer {
                        request: command.clone(),
                        classification: class.clone(),
                        rule_book: Some(in_force.hash.clone()),
                    }),
                    Placement {
                        organisation: vrow.organisation.clone(),
                        department: Some(vacancy.department.clone()),
                        area: Some(vacancy.area.clone()),
                        subject: Some(offer_id.clone()),
                        ..Placement::default()
                    },
                )?;
                in_force
                    .append(tx, &d, &Inputs::ReplacementOffer(case))
                    .await?;
                let offer = OfferState {
                    letting_id: command.letting_id.clone(),
                    vacancy_id: command.vacancy_id.clone(),
                    applicant_ref: state.applicant_ref.clone(),
                    date: command.date,
                    answer: None,
                };
                tx.put_case(&CaseRow {
                    kind: CaseKind::Offer,
                    id: offer_id.clone(),
                    municipality: row.municipality.clone(),
                    organisation: vrow.organisation.clone(),
                    department: Some(vacancy.department.clone()),
                    status: offered.into(),
                    updated_at: Utc::now(),
                    body: to_json(&offer)?,
                })
                .await?;
                vacancy.letting = None;
                let org = vrow.organisation.clone().unwrap_or_default();
                let held = vacancy_step.to(&command.vacancy_id, "offered")?;
                tx.put_case(&vacancy_row(&p, &command.vacancy_id, &org, &vacancy, held)?).await?;
                state.replacement_offer = Some(offer_id.clone());
                let unchanged = letting_step.to(&command.letting_id, letting_step.from)?;
                tx.put_case(&CaseRow {
                    status: unchanged.to_owned(),
                    updated_at: Utc::now(),
                    body: to_json(&state)?,
                    ..row
                })
                .await?;
                Ok(OfferMade { offer_id, decision_id: d.id, explanation: Some(class.explanation) })
            })
        })
        .await
    }

    /// The applicant's answer to a replacement offer, recorded by the organisation that
    /// owns the offered dwelling (or the municipality).
    pub async fn answer_offer(
        &self,
        principal: &Principal,
        key: &str,
        command: AnswerOffer,
    ) -> Result<ActRecorded, ServiceError> {
        writer(principal)?;
        let p = principal.clone();
        let book = self.rules();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        self.idempotent(principal, key, hash, move |tx| {
            let (command, p, book) = (command.clone(), p.clone(), book.clone());
            Box::pin(async move {
                let row = tx
                    .case_for_update(CaseKind::Offer, &command.offer_id)
                    .await?
                    .filter(|r| r.municipality == p.municipality())
                    .ok_or_else(|| ServiceError::NotFound {
                        what: "replacement offer",
                        id: command.offer_id.clone(),
                    })?;
                if let Principal::Organisation { organisation, .. } = &p
                    && row.organisation.as_deref() != Some(organisation.as_str())
                {
                    return Err(ServiceError::PermissionDenied(format!(
                        "offer `{}` is for another organisation's dwelling",
                        command.offer_id
                    )));
                }
                let offer_step = step(&row, Act::AnswerReplacementOffer)?;
                let mut offer: OfferState = from_json(&row.body)?;
                dated(
                    &book,
                    &row.municipality,
                    Act::AnswerReplacementOffer,
                    command.date,
                    today,
                    &[("the offer", offer.date)],
                )?;
                offer.answer = Some(command.accepted);
                let status = offer_step.to(
                    &command.offer_id,
                    if command.accepted {
                        "accepted"
                    } else {
                        "declined"
                    },
                )?;
                let d = logged(
                    &p,
                    command.date,
                    Body::OfferAnswer(command.clone()),
                    Placement {
                        organisation: row.organisation.clone(),
                        department: row.department.clone(),
                        subject: Some(command.offer_id.clone()),
                        ..Placement::default()
                    },
                )?;
                tx.append_decision(&d).await?;
                let (vrow, vacancy) = vacancy_for_update(tx, &p, &offer.vacancy_id).await?;
                let org = vrow.organisation.clone().unwrap_or_default();
                let vstatus = step(&vrow, Act::AnswerReplacementOffer)?.to(
                    &offer.vacancy_id,
                    if command.accepted { "let" } else { "open" },
                )?;
                tx.put_case(&vacancy_row(
                    &p,
                    &offer.vacancy_id,
                    &org,
                    &vacancy,
                    vstatus,
                )?)
                .await?;
                tx.put_case(&CaseRow {
                    status: status.into(),
                    updated_at: Utc::now(),
                    body: to_json(&offer)?,
                    ..row
                })
                .await?;
                Ok(ActRecorded {
                    decision_id: d.id,
                    status: status.into(),
                    explanation: None,
                })
            })
        })
        .await
    }
}
