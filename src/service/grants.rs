//! Relocation grants against the municipality's yearly pool. The pool row is locked for
//! the logged, so two grants decided at once can never overspend it.

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::letting::dated;
use super::workflow::{self, Act, NEW};
use super::{
    Ledger, Principal, ServiceError, from_json, logged, new_id, require_municipality, to_json,
};
use crate::engine::{self, GrantCase, GrantDecision, GrantOutcome};
use crate::log::{self, Body, GrantAct, Inputs, Placement};
use crate::model::{Household, Money};
use crate::store::{CaseKind, CaseRow, PoolUse};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideGrant {
    pub household: Household,
    pub purpose: String,
    /// The rule set's standard amount when absent.
    pub amount: Option<Money>,
    pub date: NaiveDate,
    /// The caseworker who made the act (the console records its signed-in user); none
    /// when the caller did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantDecided {
    pub grant_id: String,
    pub decision_id: String,
    pub decision: GrantDecision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantState {
    pub applicant_ref: String,
    pub purpose: String,
    pub amount: Money,
    pub year: i32,
    pub decided_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStatus {
    pub year: i32,
    pub pool: Money,
    pub committed: Money,
    pub paid: Money,
    pub remaining: Money,
    pub rule_set_id: String,
}

fn pool_status(year: i32, pool: Money, used: PoolUse, rule_set_id: String) -> PoolStatus {
    let committed = Money::from_ore(used.committed_ore);
    let paid = Money::from_ore(used.paid_ore);
    let remaining = Money::from_ore((pool.ore() - used.committed_ore - used.paid_ore).max(0));
    PoolStatus {
        year,
        pool,
        committed,
        paid,
        remaining,
        rule_set_id,
    }
}

impl Ledger {
    pub async fn decide_grant(
        &self,
        principal: &Principal,
        key: &str,
        command: DecideGrant,
    ) -> Result<GrantDecided, ServiceError> {
        require_municipality(principal, "decide relocation grants")?;
        let in_force = self.in_force();
        let p = principal.clone();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        let judging = in_force.clone();
        self.judged(&in_force, principal, key, hash, move |tx| {
            let (command, in_force, p) = (command.clone(), judging.clone(), p.clone());
            Box::pin(async move {
                let book = &in_force.book;
                let decided_step = workflow::step(CaseKind::Grant, "", NEW, Act::DecideGrant)?;
                dated(
                    book,
                    p.municipality(),
                    Act::DecideGrant,
                    command.date,
                    today,
                    &[],
                )?;
                let year = command.date.year();
                let mut used = tx.pool_for_update(p.municipality(), year).await?;
                let case = GrantCase {
                    date: command.date,
                    municipality: p.municipality().to_owned(),
                    purpose: command.purpose.clone(),
                    amount: command.amount,
                    household: command.household.clone(),
                    pool_committed: Money::from_ore(used.committed_ore + used.paid_ore),
                };
                let decided = engine::evaluate_grant(book, &case)?;
                let grant_id = new_id();
                let outcome = decided_step.to(
                    &grant_id,
                    match decided.outcome {
                        GrantOutcome::Approved => "approved",
                        GrantOutcome::Refused => "refused",
                    },
                )?;
                let d = logged(
                    &p,
                    command.date,
                    Body::Grant(log::Grant {
                        applicant_ref: command.household.applicant_ref.clone(),
                        purpose: command.purpose.clone(),
                        decision: decided.clone(),
                        rule_book: Some(in_force.hash.clone()),
                        caseworker: command.caseworker.clone(),
                    }),
                    Placement {
                        subject: Some(grant_id.clone()),
                        ..Placement::default()
                    },
                )?;
                in_force.append(tx, &d, &Inputs::grant(&case)).await?;
                if decided.outcome == GrantOutcome::Approved {
                    used.committed_ore += decided.amount.ore();
                    tx.put_pool(p.municipality(), year, &used).await?;
                }
                let state = GrantState {
                    applicant_ref: command.household.applicant_ref.clone(),
                    purpose: command.purpose.clone(),
                    amount: decided.amount,
                    year,
                    decided_on: command.date,
                };
                tx.put_case(&CaseRow {
                    kind: CaseKind::Grant,
                    id: grant_id.clone(),
                    municipality: p.municipality().to_owned(),
                    organisation: None,
                    department: None,
                    status: outcome.into(),
                    updated_at: Utc::now(),
                    body: to_json(&state)?,
                })
                .await?;
                Ok(GrantDecided {
                    grant_id,
                    decision_id: d.id,
                    decision: decided,
                })
            })
        })
        .await
    }

    /// Pays (`pay = true`) or cancels an approved grant.
    pub async fn settle_grant(
        &self,
        principal: &Principal,
        key: &str,
        act: GrantAct,
        pay: bool,
    ) -> Result<PoolStatus, ServiceError> {
        require_municipality(
            principal,
            if pay {
                "pay relocation grants"
            } else {
                "cancel relocation grants"
            },
        )?;
        let book = self.rules();
        let p = principal.clone();
        let today = self.today();
        let hash = super::request_hash(&(pay, &act))?;
        self.idempotent(principal, key, hash, move |tx| {
            let (act, book, p) = (act.clone(), book.clone(), p.clone());
            Box::pin(async move {
                let row = tx
                    .case_for_update(CaseKind::Grant, &act.grant_id)
                    .await?
                    .filter(|r| r.municipality == p.municipality())
                    .ok_or_else(|| ServiceError::NotFound {
                        what: "grant",
                        id: act.grant_id.clone(),
                    })?;
                let what = if pay { Act::PayGrant } else { Act::CancelGrant };
                let settled = workflow::step(CaseKind::Grant, &row.id, &row.status, what)?
                    .to(&act.grant_id, if pay { "paid" } else { "cancelled" })?;
                let state: GrantState = from_json(&row.body)?;
                dated(
                    &book,
                    p.municipality(),
                    what,
                    act.date,
                    today,
                    &[("the grant's decision", state.decided_on)],
                )?;
                let mut used = tx.pool_for_update(p.municipality(), state.year).await?;
                used.committed_ore -= state.amount.ore();
                if pay {
                    used.paid_ore += state.amount.ore();
                }
                tx.put_pool(p.municipality(), state.year, &used).await?;
                let status = settled;
                let d = logged(
                    &p,
                    act.date,
                    if pay {
                        Body::GrantPayment(act.clone())
                    } else {
                        Body::GrantCancellation(act.clone())
                    },
                    Placement {
                        subject: Some(act.grant_id.clone()),
                        amount_ore: Some(state.amount.ore()),
                        ..Placement::default()
                    },
                )?;
                tx.append_decision(&d).await?;
                tx.put_case(&CaseRow {
                    status: status.into(),
                    updated_at: Utc::now(),
                    ..row
                })
                .await?;
                let (pool, set_id) = pool_size(&book, p.municipality(), state.year)?;
                Ok(pool_status(state.year, pool, used, set_id))
            })
        })
        .await
    }

    pub async fn grant_pool(
        &self,
        principal: &Principal,
        year: i32,
    ) -> Result<PoolStatus, ServiceError> {
        let (pool, set_id) = pool_size(&self.rules(), principal.municipality(), year)?;
        let municipality = principal.municipality().to_owned();
        let used = self
            .store
            .read(move |tx| {
                let municipality = municipality.clone();
                // In a read transaction this is a plain read: zero when nothing is committed yet.
                Box::pin(async move {
                    Ok::<_, ServiceError>(tx.pool_for_update(&municipality, year).await?)
                })
            })
            .await?;
        Ok(pool_status(year, pool, used, set_id))
    }
}

/// The pool of the rule set in force on 1 January of the year.
fn pool_size(
    book: &crate::model::RuleBook,
    municipality: &str,
    year: i32,
) -> Result<(Money, String), ServiceError> {
    let date = NaiveDate::from_ymd_opt(year, 1, 1)
        .ok_or_else(|| ServiceError::invalid("year", format!("{year} is not a year")))?;
    let set = book
        .in_force(municipality, date)
        .ok_or(engine::EngineError::NoRuleSet {
            municipality: municipality.to_owned(),
            date,
        })?;
    let grants = set
        .grants
        .as_ref()
        .ok_or_else(|| engine::EngineError::NoGrantRules(set.id.clone()))?;
    Ok((grants.pool_per_year, set.id.to_string()))
}
