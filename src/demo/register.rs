//! Registering the city: its registry and statistics, then the year's vacancies in rounds.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::calendar::YEAR_START;
use super::city::{AREAS, Class, DEPARTMENTS, MUNICIPALITY, ORGANISATIONS, diverged};
use super::plan::Vacancy;
use super::run::Ctx;
use crate::engine::{QuotaCounters, period_key};
use crate::model::{AreaFacts, CompareOp, CountedOver, RuleBook, ShareSource};
use crate::service::{
    AreaStatisticsInput, LoadStatistics, RegisterVacancy, ServiceError, municipality_scope,
};
use crate::store::{Area, Department, Organisation};

/// Vacancies registered in one round, at most.
const ROUND: usize = 128;

/// Whether `k` more vacancies of `date`'s quota period, registered in any order, leave every
/// municipality-wide quota as it is (not due) for each of them. Only then may they be
/// registered at once: their channels then depend on their departments' counters alone.
fn municipality_quotas_hold(
    book: &RuleBook,
    date: NaiveDate,
    counters: Option<&QuotaCounters>,
    k: u64,
) -> bool {
    let Some(set) = book.in_force(MUNICIPALITY, date) else {
        return false;
    };
    let (count_of, vacancies) = match counters {
        Some(c) => (c.by_channel, c.vacancies),
        None => ([0; 4], 0),
    };
    set.channels
        .floors()
        .filter(|q| q.counted_over == CountedOver::Municipality && q.meta.in_force(date))
        .all(|q| match q.share {
            // A quota of the form "at least a share": with counts only growing and at most
            // `k` more vacancies, it is not due for anyone if it is not due at the worst.
            ShareSource::Fixed(share) if matches!(q.op, CompareOp::Ge | CompareOp::Gt) => {
                let count = count_of.get(q.channel.index()).copied().unwrap_or(0);
                !share.is_due(q.op, count, vacancies + k)
            }
            _ => false,
        })
}

fn period_of(book: &RuleBook, date: NaiveDate) -> String {
    book.in_force(MUNICIPALITY, date).map_or_else(
        || date.year().to_string(),
        |set| period_key(set.channels.period(), date),
    )
}

pub(super) async fn register_vacancies(
    ctx: &Ctx<'_>,
    planned: &[(usize, NaiveDate, String)],
) -> Result<Vec<Vacancy>, ServiceError> {
    let book = ctx.ledger.rules();
    // The municipality's counters as they stand, per quota period.
    let mut counters: HashMap<String, QuotaCounters> = HashMap::new();
    let periods: HashSet<String> = planned
        .iter()
        .map(|(_, d, _)| period_of(&book, *d))
        .collect();
    for period in periods {
        let scope = municipality_scope(MUNICIPALITY);
        let read_period = period.clone();
        let found = ctx
            .ledger
            .store()
            .read(move |tx| {
                let (scope, period) = (scope.clone(), read_period.clone());
                Box::pin(async move {
                    Ok::<_, ServiceError>(tx.counters_for_update(&scope, &period).await?)
                })
            })
            .await?;
        counters.insert(period, found);
    }

    let mut registered: Vec<Option<Vacancy>> = vec![None; planned.len()];
    let mut remaining: Vec<usize> = (0..planned.len()).collect();
    while !remaining.is_empty() {
        // A round: the next vacancy of each department, in date order, while the
        // municipality-wide quotas cannot notice the order the store runs them in.
        let mut round: Vec<usize> = Vec::new();
        let mut rest = Vec::new();
        let mut departments: HashSet<usize> = HashSet::new();
        let mut in_period: HashMap<String, u64> = HashMap::new();
        let mut closed = false;
        for &i in &remaining {
            let (d, date, _) = &planned[i];
            let free = !closed && round.len() < ROUND && !departments.contains(d);
            departments.insert(*d);
            if free {
                let period = period_of(&book, *date);
                let k = in_period.get(&period).copied().unwrap_or(0) + 1;
                let holds = round
                    .iter()
                    .map(|&j| planned[j].1)
                    .chain([*date])
                    .filter(|other| period_of(&book, *other) == period)
                    .all(|other| municipality_quotas_hold(&book, other, counters.get(&period), k));
                if holds || round.is_empty() {
                    round.push(i);
                    in_period.insert(period, k);
                    closed = !holds;
                    continue;
                }
                closed = true;
            }
            rest.push(i);
        }
        remaining = rest;
        let calls = round.iter().map(|&i| {
            let (d, date, vacancy_ref) = &planned[i];
            let dept = &DEPARTMENTS[*d];
            let principal = ctx.organisation(dept.organisation);
            let key = ctx.key(&format!("vacancy:{vacancy_ref}"));
            let command = RegisterVacancy {
                department: dept.id.to_owned(),
                vacancy_ref: vacancy_ref.clone(),
                date: *date,
            };
            async move { ctx.ledger.register_vacancy(&principal, &key, command).await }
        });
        let answers = futures::future::join_all(calls).await;
        for (&i, answer) in round.iter().zip(answers) {
            let done = answer?;
            let (d, date, vacancy_ref) = &planned[i];
            let decided = &done.decision;
            let entry = counters.entry(decided.period.clone()).or_default();
            entry.vacancies += 1;
            if let Some(n) = entry.by_channel.get_mut(decided.channel.index()) {
                *n += 1;
            }
            let class = Class::parse(&decided.area_class).ok_or_else(|| {
                diverged(format!(
                    "vacancy {vacancy_ref} lies in an area of class `{}`",
                    decided.area_class
                ))
            })?;
            registered[i] = Some(Vacancy {
                department: &DEPARTMENTS[*d],
                date: *date,
                vacancy_ref: vacancy_ref.clone(),
                id: done.vacancy_id,
                channel: decided.channel,
                class,
            });
        }
    }
    registered
        .into_iter()
        .map(|v| v.ok_or_else(|| diverged("a vacancy was not registered".into())))
        .collect()
}

pub(super) async fn seed_registry(ctx: &Ctx<'_>) -> Result<usize, ServiceError> {
    let m = &ctx.municipality;
    let calls = ORGANISATIONS.iter().map(|(id, name)| {
        let key = ctx.key(&format!("organisation:{id}"));
        let org = Organisation {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
        };
        async move { ctx.ledger.upsert_organisation(m, &key, org).await }
    });
    let mut decisions = 0;
    for done in futures::future::join_all(calls).await {
        done?;
        decisions += 1;
    }
    let calls = AREAS.iter().map(|a| {
        let key = ctx.key(&format!("area:{}", a.id));
        let area = Area {
            id: a.id.to_owned(),
            municipality: MUNICIPALITY.to_owned(),
            name: a.name.to_owned(),
        };
        async move { ctx.ledger.upsert_area(m, &key, area).await }
    });
    for done in futures::future::join_all(calls).await {
        done?;
        decisions += 1;
    }
    let calls = DEPARTMENTS.iter().map(|d| {
        let key = ctx.key(&format!("department:{}", d.id));
        let department = Department {
            id: d.id.to_owned(),
            organisation: d.organisation.to_owned(),
            area: d.area.to_owned(),
            name: d.name.to_owned(),
            dwellings: d.dwellings,
        };
        async move { ctx.ledger.upsert_department(m, &key, department).await }
    });
    for done in futures::future::join_all(calls).await {
        done?;
        decisions += 1;
    }
    let decimal = |text: &str, field: &str| {
        text.parse::<Decimal>()
            .map_err(|e| ServiceError::invalid(field, format!("`{text}`: {e}")))
    };
    let mut areas = Vec::new();
    for a in AREAS {
        areas.push(AreaStatisticsInput {
            area: a.id.to_owned(),
            facts: AreaFacts {
                id: a.id.to_owned(),
                working_age_residents: Some(a.working_age),
                without_labour_market_attachment: Some(a.without_attachment),
                residents: Some(a.residents),
                ..AreaFacts::default()
            },
            transfer_income_share: Some(decimal(a.transfer_income, "transfer_income_share")?),
            self_supporting_weeks: Some(decimal(a.self_supporting_weeks, "self_supporting_weeks")?),
        });
    }
    ctx.ledger
        .load_statistics(
            m,
            &ctx.key("statistics:2007"),
            LoadStatistics {
                year: 2007,
                date: YEAR_START,
                areas,
            },
        )
        .await?;
    Ok(decisions + 1)
}
