//! A demo city: Copenhagen in 2007, seeded through the same [`Ledger`] calls the gRPC
//! handlers make, so that every act goes through the engine and lands in the decision log.
//!
//! The city has the five exposed areas the Social Ministry designated (4,627 dwellings in
//! all), high-risk, risk and neutral areas, and a year of vacancies with everything that
//! follows from them: channel assignments, lettings proposed and judged under combined
//! letting, municipal approvals and rejections, replacement offers, move-ins, municipal
//! referrals (a few into barred areas, refused) and relocation grants. The municipality
//! approves exactly 33 lettings in exposed areas by 2007-05-01, the figure of the 2007
//! status report, and events fall on the quarter edges so that reports meet them.
//!
//! Every choice comes from a seeded generator, so the same seed gives the same decisions
//! (apart from decision ids and recording times), and idempotency keys are derived from
//! the seed: seeding the same database twice with the same seed changes nothing.
//!
//! Speed without giving up determinism. The store commits concurrent writes in one batch,
//! so the demo runs independent work concurrently:
//! - vacancies are registered in date order, in rounds holding at most one vacancy per
//!   department (a department's quota counters see its vacancies in order), and only as
//!   many at once as cannot change whether the municipality-wide quotas (every 9th vacancy)
//!   are due, whatever order the store runs them in; a vacancy that might tip such a quota
//!   is registered alone;
//! - each vacancy's letting flow (proposals, approval, move-in, referrals) runs on its own,
//!   concurrently with the others: nothing in one flow depends on another;
//! - grants run in one sequence of their own (the pool's remainder is in every reason);
//! - replacement offers run last, when the rejected lettings they answer exist; their
//!   dwellings are set aside for them and let by no other flow.
//!
//! The flows are planned before they run, with the outcome the rules must give; a call
//! that decides otherwise stops the demo with an error naming the difference.

mod calendar;
mod city;
mod grants;
mod households;
mod plan;
mod register;
mod rng;
mod run;
mod summary;

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;

use crate::model::Money;
use crate::service::{Ledger, Principal, ServiceError};
use calendar::{Q1_END, Q2_END};
pub use city::{APPROVALS_BY_MAY_1, MUNICIPALITY};
use city::{AREAS, Class, DEPARTMENTS, ORGANISATIONS, diverged};
use grants::{plan_grants, run_grants};
use plan::{
    Flow, Planner, add_move_ins, approve_on, barred_referrals, keep_33_by_may, owed_replacements,
    plan_offers,
};
use register::{register_vacancies, seed_registry};
use run::{Ctx, FlowResult, Tally, run_offer, run_steps};
pub use summary::DemoSummary;

/// The seed `letting demo` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 2007;

/// Letting flows in flight at once.
const FLOWS_AT_ONCE: usize = 256;

/// How `seed` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Every random choice of the demo follows from it.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { seed: DEFAULT_SEED }
    }
}

/// Seeds the demo city of 2007 through `ledger`: registry, statistics, a year of
/// vacancies and lettings, referrals and grants. The same seed gives the same decisions.
pub async fn seed(ledger: &Ledger, options: &DemoOptions) -> Result<DemoSummary, ServiceError> {
    let ctx = Ctx {
        ledger,
        seed: options.seed,
        municipality: Principal::Municipality {
            municipality: MUNICIPALITY.to_owned(),
        },
    };
    let mut tally = Tally {
        decisions: seed_registry(&ctx).await?,
        ..Tally::default()
    };

    // Vacancies, with the year's grants running beside them.
    let mut planner = Planner {
        seed: options.seed,
        serial: 0,
    };
    let planned = planner.vacancies();
    let grant_plan = plan_grants(options.seed)?;
    let (vacancies, grants) = futures::join!(
        register_vacancies(&ctx, &planned),
        run_grants(&ctx, &grant_plan)
    );
    let vacancies = vacancies?;
    tally.add(&grants?);
    tally.decisions += vacancies.len();

    // The letting flows: exposed areas first (their rejections decide the offers), then
    // the rest, leaving out the dwellings set aside for replacement offers.
    let barred = barred_referrals(&mut planner, &vacancies);
    let mut exposed: Vec<Flow> = Vec::new();
    for (i, v) in vacancies.iter().enumerate() {
        if v.class == Class::Exposed {
            let referral = barred.get(&i).cloned();
            let start = referral.as_ref().map_or(v.date, |r| r.date);
            let mut flow = planner.exposed_flow(i, v, start);
            if let Some(r) = referral {
                flow.steps.insert(0, r);
            }
            exposed.push(flow);
        }
    }
    approve_on(&mut exposed, Q1_END);
    approve_on(&mut exposed, Q2_END);
    keep_33_by_may(&mut exposed)?;
    add_move_ins(&mut exposed);
    let offers = plan_offers(&mut planner, &vacancies, &owed_replacements(&exposed));
    let reserved: HashSet<usize> = offers.iter().map(|o| o.target).collect();
    let mut flows = exposed;
    for (i, v) in vacancies.iter().enumerate() {
        if v.class != Class::Exposed && !reserved.contains(&i) {
            let referral = barred.get(&i).cloned();
            let start = referral.as_ref().map_or(v.date, |r| r.date);
            let mut flow = planner.open_flow(i, v, start);
            if let Some(r) = referral {
                flow.steps.insert(0, r);
            }
            flows.push(flow);
        }
    }

    let ctx_ref = &ctx;
    let vacancies_ref = &vacancies;
    let mut results: Vec<(usize, FlowResult)> =
        futures::stream::iter(flows.iter().map(|flow| async move {
            let mut tally = Tally::default();
            let v = vacancies_ref.get(flow.vacancy);
            let outcome = match v {
                Some(v) => {
                    let key = format!("flow:{}", v.vacancy_ref);
                    run_steps(ctx_ref, v, &flow.steps, &key, &mut tally).await
                }
                None => Err(diverged(format!("no vacancy {}", flow.vacancy))),
            };
            (flow.vacancy, outcome.map(|owed| (tally, owed)))
        }))
        .buffer_unordered(FLOWS_AT_ONCE)
        .collect()
        .await;
    results.sort_by_key(|(vacancy, _)| *vacancy);
    let mut owed: HashMap<usize, Vec<String>> = HashMap::new();
    for (vacancy, result) in results {
        let (flow_tally, lettings) = result?;
        tally.add(&flow_tally);
        owed.insert(vacancy, lettings);
    }

    // Replacement offers, now that the rejected lettings exist.
    let owed_ref = &owed;
    let mut offer_results: Vec<(usize, Result<Tally, ServiceError>)> =
        futures::stream::iter(offers.iter().enumerate().map(|(i, offer)| async move {
            (i, run_offer(ctx_ref, vacancies_ref, owed_ref, offer).await)
        }))
        .buffer_unordered(FLOWS_AT_ONCE)
        .collect()
        .await;
    offer_results.sort_by_key(|(i, _)| *i);
    for (_, result) in offer_results {
        tally.add(&result?);
    }

    let mut by_channel: BTreeMap<String, usize> = BTreeMap::new();
    for v in &vacancies {
        *by_channel.entry(v.channel.as_str().to_owned()).or_default() += 1;
    }
    let exposed_areas: HashSet<&str> = AREAS
        .iter()
        .filter(|a| a.class == Class::Exposed)
        .map(|a| a.id)
        .collect();
    Ok(DemoSummary {
        seed: options.seed,
        municipality: MUNICIPALITY.to_owned(),
        organisations: ORGANISATIONS.len(),
        areas: AREAS.len(),
        departments: DEPARTMENTS.len(),
        dwellings: DEPARTMENTS.iter().map(|d| d.dwellings).sum(),
        dwellings_in_exposed_areas: DEPARTMENTS
            .iter()
            .filter(|d| exposed_areas.contains(d.area))
            .map(|d| d.dwellings)
            .sum(),
        vacancies: vacancies.len(),
        vacancies_by_channel: by_channel,
        proposals: tally.proposals,
        proposals_rejected: tally.rejected,
        proposals_pending_approval: tally.pending,
        proposals_approved: tally.approved_at_once,
        approvals: tally.approvals,
        approvals_in_exposed_areas_by_2007_05_01: tally.approvals_by_may,
        municipal_rejections: tally.municipal_rejections,
        pending_at_year_end: tally
            .pending
            .saturating_sub(tally.approvals + tally.municipal_rejections),
        replacement_offers: tally.offers,
        offers_accepted: tally.offers_accepted,
        offers_declined: tally.offers_declined,
        move_ins: tally.move_ins,
        move_ins_flexible_shortfall: tally.shortfalls,
        move_ins_flexible_indicator: tally.flexible_indicator,
        move_ins_combined_indicator: tally.combined_indicator,
        referrals_accepted: tally.referrals_accepted,
        referrals_refused: tally.referrals_refused,
        grants_approved: tally.grants_approved,
        grants_refused: tally.grants_refused,
        grants_paid: tally.grants_paid,
        grants_cancelled: tally.grants_cancelled,
        grants_paid_amount: Money::from_ore(tally.paid_ore),
        decisions: tally.decisions,
    })
}
