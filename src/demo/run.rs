//! Running the letting flows and replacement offers through the ledger, adding up what they did.

use std::collections::HashMap;

use super::calendar::MAY_1;
use super::city::{Class, MUNICIPALITY, diverged};
use super::plan::{Act, CASEWORKERS, OfferPlan, Step, Vacancy};
use crate::engine::{Eligibility, LettingOutcome, ReferralOutcome};
use crate::model::Channel;
use crate::service::{
    AnswerOffer, Ledger, MakeOffer, MunicipalAct, Principal, ProposeLetting, RecordMoveIn,
    RecordReferral, ServiceError,
};

/// What a flow did, to be added up.
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    pub(super) decisions: usize,
    pub(super) proposals: usize,
    pub(super) rejected: usize,
    pub(super) pending: usize,
    pub(super) approved_at_once: usize,
    pub(super) approvals: usize,
    pub(super) approvals_by_may: usize,
    pub(super) municipal_rejections: usize,
    pub(super) offers: usize,
    pub(super) offers_accepted: usize,
    pub(super) offers_declined: usize,
    pub(super) move_ins: usize,
    pub(super) shortfalls: usize,
    pub(super) flexible_indicator: usize,
    pub(super) combined_indicator: usize,
    pub(super) referrals_accepted: usize,
    pub(super) referrals_refused: usize,
    pub(super) grants_approved: usize,
    pub(super) grants_refused: usize,
    pub(super) grants_paid: usize,
    pub(super) grants_cancelled: usize,
    pub(super) paid_ore: i64,
}

impl Tally {
    pub(super) fn add(&mut self, o: &Tally) {
        self.decisions += o.decisions;
        self.proposals += o.proposals;
        self.rejected += o.rejected;
        self.pending += o.pending;
        self.approved_at_once += o.approved_at_once;
        self.approvals += o.approvals;
        self.approvals_by_may += o.approvals_by_may;
        self.municipal_rejections += o.municipal_rejections;
        self.offers += o.offers;
        self.offers_accepted += o.offers_accepted;
        self.offers_declined += o.offers_declined;
        self.move_ins += o.move_ins;
        self.shortfalls += o.shortfalls;
        self.flexible_indicator += o.flexible_indicator;
        self.combined_indicator += o.combined_indicator;
        self.referrals_accepted += o.referrals_accepted;
        self.referrals_refused += o.referrals_refused;
        self.grants_approved += o.grants_approved;
        self.grants_refused += o.grants_refused;
        self.grants_paid += o.grants_paid;
        self.grants_cancelled += o.grants_cancelled;
        self.paid_ore += o.paid_ore;
    }
}

/// What a letting flow did, and the rejected lettings it leaves owed a replacement dwelling.
pub(super) type FlowResult = Result<(Tally, Vec<String>), ServiceError>;

pub(super) struct Ctx<'a> {
    pub(super) ledger: &'a Ledger,
    pub(super) seed: u64,
    pub(super) municipality: Principal,
}

impl Ctx<'_> {
    pub(super) fn key(&self, what: &str) -> String {
        format!("demo:{}:{what}", self.seed)
    }

    pub(super) fn organisation(&self, id: &str) -> Principal {
        Principal::Organisation {
            organisation: id.to_owned(),
            municipality: MUNICIPALITY.to_owned(),
        }
    }
}

/// Runs a flow's steps in order on one vacancy. Returns the rejected lettings for which a
/// replacement dwelling is owed, in order.
pub(super) async fn run_steps(
    ctx: &Ctx<'_>,
    v: &Vacancy,
    steps: &[Step],
    key: &str,
    tally: &mut Tally,
) -> Result<Vec<String>, ServiceError> {
    let organisation = ctx.organisation(v.department.organisation);
    let mut letting: Option<String> = None;
    let mut referral: Option<String> = None;
    let mut owed = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let key = ctx.key(&format!("{key}:{i}"));
        let what = format!("{} on {}", v.vacancy_ref, step.date);
        tally.decisions += 1;
        match &step.act {
            Act::Referral { household, expect } => {
                let done = ctx
                    .ledger
                    .record_referral(
                        &ctx.municipality,
                        &key,
                        RecordReferral {
                            vacancy_id: v.id.clone(),
                            household: household.clone(),
                            date: step.date,
                            caseworker: None,
                        },
                    )
                    .await?;
                if done.decision.outcome != *expect {
                    return Err(diverged(format!(
                        "the referral to {what} was {:?}, not {expect:?}",
                        done.decision.outcome
                    )));
                }
                match done.decision.outcome {
                    ReferralOutcome::Accepted => {
                        tally.referrals_accepted += 1;
                        referral = Some(done.referral_id);
                    }
                    ReferralOutcome::Refused => tally.referrals_refused += 1,
                }
            }
            Act::Propose {
                household,
                expect,
                priority,
            } => {
                let done = ctx
                    .ledger
                    .propose_letting(
                        &organisation,
                        &key,
                        ProposeLetting {
                            vacancy_id: v.id.clone(),
                            household: household.clone(),
                            date: step.date,
                            referral_id: referral.clone(),
                        },
                    )
                    .await?;
                let decided = &done.decision;
                if decided.outcome != *expect {
                    return Err(diverged(format!(
                        "the letting of {what} to {} was {:?}, not {expect:?}",
                        household.applicant_ref, decided.outcome
                    )));
                }
                let eligible = matches!(
                    decided.flexible.status,
                    Eligibility::Provisional | Eligibility::Verified
                );
                if v.channel == Channel::Flexible && eligible != *priority {
                    return Err(diverged(format!(
                        "flexible priority of {} for {what} was {:?}",
                        household.applicant_ref, decided.flexible.status
                    )));
                }
                tally.proposals += 1;
                match decided.outcome {
                    LettingOutcome::Rejected => {
                        tally.rejected += 1;
                        if !decided.obligations.is_empty() {
                            owed.push(done.letting_id);
                        }
                    }
                    LettingOutcome::PendingMunicipalApproval => {
                        tally.pending += 1;
                        letting = Some(done.letting_id);
                    }
                    LettingOutcome::Approved => {
                        tally.approved_at_once += 1;
                        letting = Some(done.letting_id);
                    }
                }
            }
            Act::Decide {
                approve,
                replacement_owed,
                reason,
            } => {
                let Some(letting_id) = letting.clone() else {
                    return Err(diverged(format!("no letting to decide for {what}")));
                };
                let caseworker = CASEWORKERS[i % CASEWORKERS.len()];
                ctx.ledger
                    .decide_letting(
                        &ctx.municipality,
                        &key,
                        MunicipalAct {
                            letting_id: letting_id.clone(),
                            date: step.date,
                            reason: (*reason).to_owned(),
                            caseworker: caseworker.to_owned(),
                            replacement_owed: *replacement_owed,
                        },
                        *approve,
                    )
                    .await?;
                if *approve {
                    tally.approvals += 1;
                    if v.class == Class::Exposed && step.date <= MAY_1 {
                        tally.approvals_by_may += 1;
                    }
                } else {
                    tally.municipal_rejections += 1;
                    if *replacement_owed {
                        owed.push(letting_id);
                    }
                    letting = None;
                }
            }
            Act::MoveIn => {
                let Some(letting_id) = letting.clone() else {
                    return Err(diverged(format!("no letting to move into for {what}")));
                };
                let done = ctx
                    .ledger
                    .record_move_in(
                        &organisation,
                        &key,
                        RecordMoveIn {
                            letting_id,
                            date: step.date,
                        },
                    )
                    .await?;
                tally.move_ins += 1;
                tally.shortfalls += usize::from(done.flexible_shortfall);
                tally.flexible_indicator += usize::from(done.counts_flexible_indicator);
                tally.combined_indicator += usize::from(done.counts_combined_indicator);
            }
        }
    }
    Ok(owed)
}

pub(super) async fn run_offer(
    ctx: &Ctx<'_>,
    vacancies: &[Vacancy],
    owed: &HashMap<usize, Vec<String>>,
    offer: &OfferPlan,
) -> Result<Tally, ServiceError> {
    let mut tally = Tally::default();
    let (Some(target), Some(letting_id)) = (
        vacancies.get(offer.target),
        owed.get(&offer.origin)
            .and_then(|lettings| lettings.get(offer.rejection)),
    ) else {
        return Err(diverged(format!(
            "no rejected letting {} of vacancy {} to offer a dwelling for",
            offer.rejection, offer.origin
        )));
    };
    let made = ctx
        .ledger
        .make_replacement_offer(
            &ctx.municipality,
            &ctx.key(&format!("offer:{}", target.vacancy_ref)),
            MakeOffer {
                letting_id: letting_id.clone(),
                vacancy_id: target.id.clone(),
                date: offer.date,
                caseworker: None,
            },
        )
        .await?;
    tally.decisions += 1;
    tally.offers += 1;
    if let Some((date, accepted)) = offer.answer {
        ctx.ledger
            .answer_offer(
                &ctx.organisation(target.department.organisation),
                &ctx.key(&format!("answer:{}", target.vacancy_ref)),
                AnswerOffer {
                    offer_id: made.offer_id,
                    accepted,
                    date,
                },
            )
            .await?;
        tally.decisions += 1;
        if accepted {
            tally.offers_accepted += 1;
        } else {
            tally.offers_declined += 1;
        }
    }
    let key = format!("after-offer:{}", target.vacancy_ref);
    run_steps(ctx, target, &offer.then, &key, &mut tally).await?;
    Ok(tally)
}
