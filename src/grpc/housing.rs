//! HousingOrganisationService over the service layer.

use tonic::{Request, Response, Status};

use super::auth::{Authenticator, Needs};
use super::convert::{self, Reader, limits};
use super::pb::{self, housing_organisation_service_server::HousingOrganisationService};
use super::screen::{self, ScreenStream};
use super::{invalid, status};
use crate::service::{AnswerOffer, Ledger, ProposeLetting, RecordMoveIn, RegisterVacancy};

#[derive(Clone)]
pub struct HousingApi {
    pub ledger: Ledger,
    pub auth: Authenticator,
}

#[tonic::async_trait]
impl HousingOrganisationService for HousingApi {
    async fn register_vacancy(
        &self,
        request: Request<pb::RegisterVacancyRequest>,
    ) -> Result<Response<pb::RegisterVacancyResponse>, Status> {
        let principal = self.auth.caller(&request, Needs::Writer).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let command = RegisterVacancy {
            department: v.id("department_id", &r.department_id),
            vacancy_ref: v.text("vacancy_ref", &r.vacancy_ref, limits::VACANCY_REF),
            date: v.date("vacancy_date", &r.vacancy_date),
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .register_vacancy(&principal, &key, command)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RegisterVacancyResponse {
            vacancy_id: done.vacancy_id,
            decision_id: done.decision_id,
            channel: convert::channel(done.decision.channel).into(),
            area_class: done.decision.area_class.to_string(),
            quota_period: done.decision.period.clone(),
            explanation: Some(convert::explanation(&done.decision.explanation)),
        }))
    }

    async fn propose_letting(
        &self,
        request: Request<pb::ProposeLettingRequest>,
    ) -> Result<Response<pb::ProposeLettingResponse>, Status> {
        let principal = self.auth.caller(&request, Needs::Writer).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let command = ProposeLetting {
            vacancy_id: v.server_id("vacancy_id", &r.vacancy_id),
            household: v.household("household", r.household.as_ref()),
            date: v.date("proposal_date", &r.proposal_date),
            referral_id: (!r.referral_id.is_empty())
                .then(|| v.server_id("referral_id", &r.referral_id)),
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .propose_letting(&principal, &key, command)
            .await
            .map_err(status)?;
        let d = &done.decision;
        Ok(Response::new(pb::ProposeLettingResponse {
            letting_id: done.letting_id.clone(),
            decision_id: done.decision_id.clone(),
            outcome: convert::outcome(d.outcome).into(),
            area_class: d.area_class.to_string(),
            obligations: d.obligations.iter().map(|o| o.to_string()).collect(),
            flexible_eligibility: convert::eligibility(d.flexible.status).into(),
            flexible_groups: d.flexible.groups.iter().map(|g| g.to_string()).collect(),
            explanation: Some(convert::explanation(&d.explanation)),
            counterfactuals: convert::counterfactuals(&done.counterfactuals),
        }))
    }

    async fn evaluate_letting(
        &self,
        request: Request<pb::EvaluateLettingRequest>,
    ) -> Result<Response<pb::EvaluateLettingResponse>, Status> {
        let principal = self.auth.caller(&request, Needs::Writer).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let command = ProposeLetting {
            vacancy_id: v.server_id("vacancy_id", &r.vacancy_id),
            household: v.household("household", r.household.as_ref()),
            date: v.date("proposal_date", &r.proposal_date),
            referral_id: (!r.referral_id.is_empty())
                .then(|| v.server_id("referral_id", &r.referral_id)),
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let evaluated = self
            .ledger
            .evaluate_letting(&principal, command)
            .await
            .map_err(status)?;
        let d = &evaluated.decision;
        Ok(Response::new(pb::EvaluateLettingResponse {
            outcome: convert::outcome(d.outcome).into(),
            area_class: d.area_class.to_string(),
            obligations: d.obligations.iter().map(|o| o.to_string()).collect(),
            flexible_eligibility: convert::eligibility(d.flexible.status).into(),
            flexible_groups: d.flexible.groups.iter().map(|g| g.to_string()).collect(),
            explanation: Some(convert::explanation(&d.explanation)),
            counterfactuals: convert::counterfactuals(&evaluated.counterfactuals),
        }))
    }

    async fn record_move_in(
        &self,
        request: Request<pb::RecordMoveInRequest>,
    ) -> Result<Response<pb::RecordMoveInResponse>, Status> {
        let principal = self.auth.caller(&request, Needs::Writer).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let command = RecordMoveIn {
            letting_id: v.server_id("letting_id", &r.letting_id),
            date: v.date("move_in_date", &r.move_in_date),
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .record_move_in(&principal, &key, command)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RecordMoveInResponse {
            decision_id: done.decision_id,
            flexible_shortfall: done.flexible_shortfall,
            counts_flexible_indicator: done.counts_flexible_indicator,
            counts_combined_indicator: done.counts_combined_indicator,
        }))
    }

    async fn record_replacement_offer_answer(
        &self,
        request: Request<pb::RecordReplacementOfferAnswerRequest>,
    ) -> Result<Response<pb::RecordReplacementOfferAnswerResponse>, Status> {
        let principal = self.auth.caller(&request, Needs::Writer).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let command = AnswerOffer {
            offer_id: v.server_id("offer_id", &r.offer_id),
            accepted: r.accepted,
            date: v.date("answer_date", &r.answer_date),
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .answer_offer(&principal, &key, command)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RecordReplacementOfferAnswerResponse {
            decision_id: done.decision_id,
            status: done.status,
        }))
    }

    async fn get_decision(
        &self,
        request: Request<pb::GetDecisionRequest>,
    ) -> Result<Response<pb::Decision>, Status> {
        let principal = self.auth.principal(&request).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let id = v.server_id("decision_id", &r.decision_id);
        v.errors.finish(|| ()).map_err(invalid)?;
        let record = self
            .ledger
            .get_decision(&principal, &id)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::decision(&record)))
    }

    type ScreenWaitingListStream = ScreenStream;

    async fn screen_waiting_list(
        &self,
        request: Request<tonic::Streaming<pb::ScreenRequest>>,
    ) -> Result<Response<ScreenStream>, Status> {
        screen::screen_waiting_list(&self.auth, &self.ledger, request).await
    }

    async fn ping(
        &self,
        request: Request<pb::PingRequest>,
    ) -> Result<Response<pb::PingResponse>, Status> {
        self.auth.principal(&request).await?;
        Ok(Response::new(pb::PingResponse {}))
    }
}
