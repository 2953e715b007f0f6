//! MunicipalityService over the service layer.

use tonic::{Request, Response, Status};

use super::auth::{Authenticator, Needs};
use super::convert::{self, Reader, limits};
use super::pb::{self, municipality_service_server::MunicipalityService};
use super::{invalid, status};
use crate::engine::{GrantOutcome, ReferralOutcome};
use crate::model::Money;
use crate::service::{
    DecideGrant, GrantAct, Ledger, LoadStatistics, MakeOffer, MunicipalAct, PoolStatus,
    RecordReferral,
};

#[derive(Clone)]
pub struct MunicipalityApi {
    pub ledger: Ledger,
    pub auth: Authenticator,
}

fn pool(p: PoolStatus) -> pb::GrantPool {
    pb::GrantPool {
        year: p.year,
        pool_ore: p.pool.ore(),
        committed_ore: p.committed.ore(),
        paid_ore: p.paid.ore(),
        remaining_ore: p.remaining.ore(),
        rule_set_id: p.rule_set_id,
    }
}

impl MunicipalityApi {
    async fn act(
        &self,
        request: Request<(String, String, String, String, String, bool)>,
        approve: bool,
    ) -> Result<Response<pb::MunicipalActResponse>, Status> {
        let what = if approve {
            "approve lettings"
        } else {
            "reject lettings"
        };
        let principal = self
            .auth
            .caller(&request, Needs::Municipality(what))
            .await?;
        let (key, letting_id, date, reason, caseworker, replacement_owed) = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&key);
        let act = MunicipalAct {
            letting_id: v.server_id("letting_id", &letting_id),
            date: v.date("decision_date", &date),
            reason: v.text("reason", &reason, limits::REASON),
            caseworker: v.optional_reference("caseworker_ref", &caseworker),
            replacement_owed,
        };
        let act = v.errors.finish(|| act).map_err(invalid)?;
        let done = self
            .ledger
            .decide_letting(&principal, &key, act, approve)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::MunicipalActResponse {
            decision_id: done.decision_id,
            status: done.status,
            explanation: done.explanation.as_ref().map(convert::explanation),
        }))
    }

    async fn settle(
        &self,
        request: Request<pb::SettleRelocationGrantRequest>,
        pay: bool,
    ) -> Result<Response<pb::GrantPool>, Status> {
        let what = if pay {
            "pay relocation grants"
        } else {
            "cancel relocation grants"
        };
        let principal = self
            .auth
            .caller(&request, Needs::Municipality(what))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let act = GrantAct {
            grant_id: v.server_id("grant_id", &r.grant_id),
            date: v.date("date", &r.date),
            reason: v.optional_text("reason", &r.reason, limits::REASON),
        };
        let act = v.errors.finish(|| act).map_err(invalid)?;
        let done = self
            .ledger
            .settle_grant(&principal, &key, act, pay)
            .await
            .map_err(status)?;
        Ok(Response::new(pool(done)))
    }
}

/// The municipality's read calls are for the municipality and its auditors.
fn not_organisation(principal: &crate::service::Principal) -> Result<(), Status> {
    match principal {
        crate::service::Principal::Organisation { .. } => Err(Status::permission_denied(
            "this call is for the municipality and its auditors, not for housing organisations",
        )),
        _ => Ok(()),
    }
}

fn rewrap<T, U>(request: Request<T>, f: impl FnOnce(T) -> U) -> Request<U> {
    let (metadata, extensions, message) = request.into_parts();
    Request::from_parts(metadata, extensions, f(message))
}

#[tonic::async_trait]
impl MunicipalityService for MunicipalityApi {
    async fn list_pending_approvals(
        &self,
        request: Request<pb::ListPendingApprovalsRequest>,
    ) -> Result<Response<pb::ListPendingApprovalsResponse>, Status> {
        let principal = self.auth.principal(&request).await?;
        not_organisation(&principal)?;
        let r = request.into_inner();
        let size = if r.page_size == 0 {
            100
        } else {
            r.page_size.min(1000)
        };
        let mut v = Reader::new();
        // The last letting id of the previous page.
        let token = v.optional_server_id("page_token", &r.page_token);
        v.errors.finish(|| ()).map_err(invalid)?;
        let pending = self
            .ledger
            .pending_approvals(&principal, token, size)
            .await
            .map_err(status)?;
        let next_page_token = if pending.len() as u32 == size {
            pending
                .last()
                .map(|p| p.letting_id.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListPendingApprovalsResponse {
            lettings: pending
                .into_iter()
                .map(|p| pb::PendingLetting {
                    letting_id: p.letting_id,
                    vacancy_id: p.state.vacancy_id,
                    department_id: p.state.department,
                    area_id: p.state.area,
                    applicant_ref: p.state.applicant_ref,
                    proposal_date: p.state.date.to_string(),
                    channel: convert::channel(p.state.channel).into(),
                    area_class: p.state.area_class,
                    flexible_eligibility: convert::eligibility(p.state.flexible).into(),
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn approve_letting(
        &self,
        request: Request<pb::ApproveLettingRequest>,
    ) -> Result<Response<pb::MunicipalActResponse>, Status> {
        let request = rewrap(request, |r| {
            (
                r.idempotency_key,
                r.letting_id,
                r.decision_date,
                r.reason,
                r.caseworker_ref,
                false,
            )
        });
        self.act(request, true).await
    }

    async fn reject_letting(
        &self,
        request: Request<pb::RejectLettingRequest>,
    ) -> Result<Response<pb::MunicipalActResponse>, Status> {
        let request = rewrap(request, |r| {
            (
                r.idempotency_key,
                r.letting_id,
                r.decision_date,
                r.reason,
                r.caseworker_ref,
                r.replacement_owed,
            )
        });
        self.act(request, false).await
    }

    async fn make_replacement_offer(
        &self,
        request: Request<pb::MakeReplacementOfferRequest>,
    ) -> Result<Response<pb::MakeReplacementOfferResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("make replacement offers"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let command = MakeOffer {
            letting_id: v.server_id("letting_id", &r.letting_id),
            vacancy_id: v.server_id("vacancy_id", &r.vacancy_id),
            date: v.date("offer_date", &r.offer_date),
            caseworker: None,
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .make_replacement_offer(&principal, &key, command)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::MakeReplacementOfferResponse {
            offer_id: done.offer_id,
            decision_id: done.decision_id,
            explanation: done.explanation.as_ref().map(convert::explanation),
        }))
    }

    async fn record_municipal_referral(
        &self,
        request: Request<pb::RecordMunicipalReferralRequest>,
    ) -> Result<Response<pb::RecordMunicipalReferralResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("refer households"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        let command = RecordReferral {
            vacancy_id: v.server_id("vacancy_id", &r.vacancy_id),
            household: v.household("household", r.household.as_ref()),
            date: v.date("referral_date", &r.referral_date),
            caseworker: None,
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .record_referral(&principal, &key, command)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RecordMunicipalReferralResponse {
            referral_id: done.referral_id,
            decision_id: done.decision_id,
            outcome: match done.decision.outcome {
                ReferralOutcome::Accepted => pb::ReferralOutcome::Accepted,
                ReferralOutcome::Refused => pb::ReferralOutcome::Refused,
            }
            .into(),
            area_class: done.decision.area_class.to_string(),
            explanation: Some(convert::explanation(&done.decision.explanation)),
        }))
    }

    async fn load_area_statistics(
        &self,
        request: Request<pb::LoadAreaStatisticsRequest>,
    ) -> Result<Response<pb::LoadAreaStatisticsResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("load area statistics"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        if !(1900..=2200).contains(&r.year) {
            v.errors.push(
                "year",
                format!("{} is not a plausible statistics year", r.year),
            );
        }
        if r.areas.is_empty() {
            v.errors.push("areas", "is empty: give at least one area");
        }
        let read = v.count("areas", r.areas.len(), limits::AREAS);
        let areas: Vec<_> = r
            .areas
            .iter()
            .take(read)
            .enumerate()
            .map(|(i, a)| v.area_statistics(&format!("areas[{i}]"), a))
            .collect();
        let load = LoadStatistics {
            year: r.year,
            date: v.date("effective_date", &r.effective_date),
            areas,
        };
        let load = v.errors.finish(|| load).map_err(invalid)?;
        let done = self
            .ledger
            .load_statistics(&principal, &key, load)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::LoadAreaStatisticsResponse {
            decision_id: done.decision_id,
            areas_loaded: u32::try_from(done.areas).unwrap_or(u32::MAX),
        }))
    }

    async fn get_classifications(
        &self,
        request: Request<pb::GetClassificationsRequest>,
    ) -> Result<Response<pb::GetClassificationsResponse>, Status> {
        let principal = self.auth.principal(&request).await?;
        not_organisation(&principal)?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let as_of = v.date("as_of", &r.as_of);
        v.errors.finish(|| ()).map_err(invalid)?;
        let found = self
            .ledger
            .classifications(&principal, as_of)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetClassificationsResponse {
            classifications: found
                .into_iter()
                .map(|c| match c {
                    Ok(c) => pb::AreaClassification {
                        area_id: c.area_id,
                        area_class: c.class.to_string(),
                        explanation: Some(convert::explanation(&c.explanation)),
                        error: String::new(),
                    },
                    Err((area_id, e)) => pb::AreaClassification {
                        area_id,
                        area_class: String::new(),
                        explanation: None,
                        error: e.to_string(),
                    },
                })
                .collect(),
        }))
    }

    async fn decide_relocation_grant(
        &self,
        request: Request<pb::DecideRelocationGrantRequest>,
    ) -> Result<Response<pb::DecideRelocationGrantResponse>, Status> {
        let principal = self
            .auth
            .caller(&request, Needs::Municipality("decide relocation grants"))
            .await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let key = v.key(&r.idempotency_key);
        if r.amount_ore < 0 {
            v.errors.push("amount_ore", "is negative");
        }
        v.at_most("amount_ore", r.amount_ore, limits::GRANT_ORE);
        let command = DecideGrant {
            household: v.household("household", r.household.as_ref()),
            purpose: v.term("purpose", &r.purpose, "special_housing"),
            amount: (r.amount_ore > 0).then(|| Money::from_ore(r.amount_ore)),
            date: v.date("decision_date", &r.decision_date),
            caseworker: None,
        };
        let command = v.errors.finish(|| command).map_err(invalid)?;
        let done = self
            .ledger
            .decide_grant(&principal, &key, command)
            .await
            .map_err(status)?;
        let d = &done.decision;
        Ok(Response::new(pb::DecideRelocationGrantResponse {
            grant_id: done.grant_id.clone(),
            decision_id: done.decision_id.clone(),
            outcome: match d.outcome {
                GrantOutcome::Approved => pb::GrantOutcome::Approved,
                GrantOutcome::Refused => pb::GrantOutcome::Refused,
            }
            .into(),
            amount_ore: d.amount.ore(),
            pool_remaining_ore: d.remaining.ore(),
            explanation: Some(convert::explanation(&d.explanation)),
        }))
    }

    async fn pay_relocation_grant(
        &self,
        request: Request<pb::SettleRelocationGrantRequest>,
    ) -> Result<Response<pb::GrantPool>, Status> {
        self.settle(request, true).await
    }

    async fn cancel_relocation_grant(
        &self,
        request: Request<pb::SettleRelocationGrantRequest>,
    ) -> Result<Response<pb::GrantPool>, Status> {
        self.settle(request, false).await
    }

    async fn get_grant_pool(
        &self,
        request: Request<pb::GetGrantPoolRequest>,
    ) -> Result<Response<pb::GrantPool>, Status> {
        let principal = self.auth.principal(&request).await?;
        not_organisation(&principal)?;
        let year = request.into_inner().year;
        let found = self
            .ledger
            .grant_pool(&principal, year)
            .await
            .map_err(status)?;
        Ok(Response::new(pool(found)))
    }
}
