//! Screening a waiting list for one vacancy (ScreenWaitingList): the vacancy, its area and
//! the rules are read once, then batches of households are judged by the engine on every
//! core. Nothing is written: each household is judged as EvaluateLetting judges it.

use chrono::NaiveDate;
use rayon::prelude::*;

use super::letting::{dated, step, vacancy_for_update};
use super::registry::{area_facts, writer};
use super::workflow::Act;
use super::{Ledger, Principal, ServiceError};
use crate::engine::screen::{Screened, Screener};
use crate::model::{Channel, Household};

/// Households of one batch judged on one thread before the batch is split between threads:
/// below this a batch stays on one core (the split would cost more than it saves).
const PER_THREAD: usize = 64;

/// What a waiting list is screened for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenFor {
    pub vacancy_id: String,
    /// The date the households are judged on (EvaluateLetting's proposal date).
    pub date: NaiveDate,
}

/// A vacancy read for screening: everything a household is judged with except the
/// household, settled once (the rule set of the date, the area's class, the rules that
/// apply there) and kept for the whole stream.
#[derive(Debug, Clone)]
pub struct Screening {
    screener: Screener,
    channel: Channel,
}

impl Screening {
    /// The vacancy's channel, which decides whether priority is judged.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Screens one household (`index` is its place in its batch, for an error).
    pub fn screen_one(
        &self,
        index: usize,
        household: &Household,
    ) -> Result<Screened, ServiceError> {
        self.screener.screen(household).map_err(|e| {
            ServiceError::FailedPrecondition(format!(
                "household {index} (`{}`) cannot be judged: {e}",
                household.applicant_ref
            ))
        })
    }

    /// Screens a batch on rayon's threads (every core), in order, blocking the caller: call
    /// it on rayon's threads (as the gRPC layer does) or where blocking is allowed. A
    /// household that cannot be judged has its error in its place; the others are judged.
    pub fn screen_all(&self, households: &[Household]) -> Vec<Result<Screened, ServiceError>> {
        households
            .par_iter()
            .with_min_len(PER_THREAD)
            .enumerate()
            .map(|(i, h)| self.screen_one(i, h))
            .collect()
    }
}

impl Ledger {
    /// Reads a vacancy for screening its waiting list: the same callers, checks and errors
    /// as EvaluateLetting (an open vacancy of the caller's, the date judged by rules in
    /// force), and a vacancy for municipal referral is refused: it goes to the referred
    /// household, not to the waiting list.
    pub async fn open_screening(
        &self,
        principal: &Principal,
        target: ScreenFor,
    ) -> Result<Screening, ServiceError> {
        writer(principal)?;
        let book = self.rules();
        let p = principal.clone();
        let today = self.today();
        self.store()
            .read(move |tx| {
                let (target, book, p) = (target.clone(), book.clone(), p.clone());
                Box::pin(async move {
                    let (vrow, vacancy) = vacancy_for_update(tx, &p, &target.vacancy_id).await?;
                    step(&vrow, Act::ProposeLetting)?;
                    if vacancy.channel == Channel::MunicipalReferral || vacancy.referral.is_some()
                    {
                        return Err(ServiceError::FailedPrecondition(format!(
                            "vacancy `{}` is for municipal referral: it is let to the referred household, not from the waiting list",
                            target.vacancy_id
                        )));
                    }
                    dated(
                        &book,
                        &vrow.municipality,
                        Act::ProposeLetting,
                        target.date,
                        today,
                        &[("the vacancy", vacancy.date)],
                    )?;
                    let area = area_facts(tx, &vacancy.area, target.date).await?;
                    let screener = Screener::new(
                        &book,
                        &vrow.municipality,
                        area,
                        target.date,
                        Some(vacancy.channel),
                    )?;
                    Ok(Screening {
                        screener,
                        channel: vacancy.channel,
                    })
                })
            })
            .await
    }
}
