//! The relocation grants: one sequence of their own, planned, then run beside the vacancies.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::calendar::{Q1_END, Q2_END, Q2_START, Q3_START, YEAR_END, YEAR_START, plus};
use super::city::diverged;
use super::households::adult;
use super::rng::Rng;
use super::run::{Ctx, Tally};
use crate::engine::GrantOutcome;
use crate::model::{Household, Money, PersonRole};
use crate::service::{DecideGrant, GrantAct, ServiceError};

#[derive(Debug, Clone)]
pub(super) enum GrantStep {
    Decide {
        index: usize,
        household: Household,
        purpose: &'static str,
        amount: Option<Money>,
        expect: GrantOutcome,
    },
    Settle {
        index: usize,
        pay: bool,
        reason: &'static str,
    },
}

pub(super) fn plan_grants(seed: u64) -> Result<Vec<(NaiveDate, GrantStep)>, ServiceError> {
    const DECISIONS: u64 = 42;
    const NOT_IN_EXPOSED_AREA: usize = 13;
    // A household that moves out of the municipality: § 63 c, stk. 2 refuses the grant.
    const MOVES_AWAY: usize = 29;
    const CANCELLED: usize = 7;
    let mut rng = Rng::new(seed, "grants");
    let mut dates: Vec<NaiveDate> = (0..DECISIONS)
        .map(|i| plus(YEAR_START, 10 + i * 345 / DECISIONS + rng.range(0, 4)))
        .collect();
    let mut forced: Vec<usize> = Vec::new();
    for edge in [Q1_END, Q2_START, Q2_END, Q3_START] {
        let nearest = dates
            .iter()
            .enumerate()
            .filter(|(i, _)| !forced.contains(i))
            .min_by_key(|(_, d)| d.signed_duration_since(edge).num_days().abs())
            .map(|(i, _)| i);
        if let Some(i) = nearest {
            dates[i] = edge;
            forced.push(i);
        }
    }
    dates.sort();
    let mut steps = Vec::new();
    for (index, date) in dates.into_iter().enumerate() {
        let mut applicant = adult(PersonRole::Applicant);
        applicant.age = Some(rng.range(25, 70) as u32);
        let special = index % 5 == 1 || index % 5 == 3;
        let mut household = Household {
            applicant_ref: format!("kk-g{:04}", index + 1),
            lives_in_department: false,
            persons: vec![applicant],
            referral_conditions: Vec::new(),
            resource_weak: Some(true),
            current_area_class: (!special).then(|| "exposed".to_owned()),
            waiting_list_registered_on: None,
            municipal_dispensation: false,
            moves_within_municipality: Some(index != MOVES_AWAY),
        };
        let (purpose, amount, expect) = match index {
            NOT_IN_EXPOSED_AREA => {
                household.current_area_class = Some("high_risk".to_owned());
                ("move_out_of_exposed_area", None, GrantOutcome::Refused)
            }
            MOVES_AWAY => {
                household.current_area_class = Some("exposed".to_owned());
                ("move_out_of_exposed_area", None, GrantOutcome::Refused)
            }
            _ if special => ("special_housing", None, GrantOutcome::Approved),
            _ => ("move_out_of_exposed_area", None, GrantOutcome::Approved),
        };
        if purpose == "special_housing" {
            household.current_area_class = None;
            household.resource_weak = None;
        }
        steps.push((
            date,
            GrantStep::Decide {
                index,
                household,
                purpose,
                amount,
                expect,
            },
        ));
        if expect == GrantOutcome::Refused {
            continue;
        }
        if index == CANCELLED {
            steps.push((
                plus(date, 21),
                GrantStep::Settle {
                    index,
                    pay: false,
                    reason: "Husstanden har trukket ansøgningen tilbage og bliver i sin bolig; tilskuddet annulleres.",
                },
            ));
        } else if rng.percent(90) {
            let paid = plus(date, rng.range(10, 40));
            if paid <= YEAR_END {
                steps.push((
                    paid,
                    GrantStep::Settle {
                        index,
                        pay: true,
                        reason: "Flytningen er dokumenteret; tilskuddet udbetales.",
                    },
                ));
            }
        }
    }
    // Decisions before payments of the same day; otherwise in date order.
    steps.sort_by_key(|(date, step)| (*date, matches!(step, GrantStep::Settle { .. })));
    Ok(steps)
}

pub(super) async fn run_grants(
    ctx: &Ctx<'_>,
    steps: &[(NaiveDate, GrantStep)],
) -> Result<Tally, ServiceError> {
    let mut tally = Tally::default();
    let mut grants: HashMap<usize, (String, Money)> = HashMap::new();
    for (date, step) in steps {
        tally.decisions += 1;
        match step {
            GrantStep::Decide {
                index,
                household,
                purpose,
                amount,
                expect,
            } => {
                let done = ctx
                    .ledger
                    .decide_grant(
                        &ctx.municipality,
                        &ctx.key(&format!("grant:{index}")),
                        DecideGrant {
                            household: household.clone(),
                            purpose: (*purpose).to_owned(),
                            amount: *amount,
                            date: *date,
                            caseworker: None,
                        },
                    )
                    .await?;
                if done.decision.outcome != *expect {
                    return Err(diverged(format!(
                        "grant {} on {date} was {:?}, not {expect:?}",
                        household.applicant_ref, done.decision.outcome
                    )));
                }
                match done.decision.outcome {
                    GrantOutcome::Approved => tally.grants_approved += 1,
                    GrantOutcome::Refused => tally.grants_refused += 1,
                }
                grants.insert(*index, (done.grant_id, done.decision.amount));
            }
            GrantStep::Settle { index, pay, reason } => {
                let Some((grant_id, amount)) = grants.get(index) else {
                    return Err(diverged(format!("no grant {index} to settle on {date}")));
                };
                ctx.ledger
                    .settle_grant(
                        &ctx.municipality,
                        &ctx.key(&format!("settle:{index}")),
                        GrantAct {
                            grant_id: grant_id.clone(),
                            date: *date,
                            reason: (*reason).to_owned(),
                        },
                        *pay,
                    )
                    .await?;
                if *pay {
                    tally.grants_paid += 1;
                    tally.paid_ore += amount.ore();
                } else {
                    tally.grants_cancelled += 1;
                }
            }
        }
    }
    Ok(tally)
}
