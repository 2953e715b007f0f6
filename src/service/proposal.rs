//! Proposing a letting, and its dry run: one judgement (`judge_letting`) for both, so
//! that EvaluateLetting shows exactly what ProposeLetting would record. The judgement runs
//! inside the proposal's write transaction, on the state it commits against.
//!
//! Judging and encoding on a read snapshot before the transaction, with only a re-check of
//! what it read inside, was measured (PERFORMANCE.md): the SQLite writer's time per job
//! stayed the same (the re-check reads cost what the engine and the encoding saved), and the
//! extra read transaction made each proposal dearer on the machine as a whole.

use chrono::{NaiveDate, Utc};

use super::letting::{
    LettingEvaluated, LettingProposed, LettingState, ProposeLetting, VacancyState, dated,
    first_step, letting_status, step, vacancy_for_update, vacancy_row,
};
use super::referrals::{ReferralState, referral_behind};
use super::registry::{area_facts, writer};
use super::workflow::{Act, Transition};
use super::{InForce, Ledger, Principal, ServiceError, logged, new_id, to_json};
use crate::engine::{self, Counterfactual, LettingCase, LettingDecision, LettingOutcome};
use crate::log::{self, Body, Inputs, Placement};
use crate::model::RuleBook;
use crate::store::{CaseKind, CaseRow, DecisionRecord, Tx};

/// What ProposeLetting found and decided, before it writes.
struct JudgedLetting {
    vrow: CaseRow,
    vacancy: VacancyState,
    vacancy_step: &'static Transition,
    referral: Option<(CaseRow, ReferralState)>,
    decision: LettingDecision,
    /// What the engine was given, for the log.
    inputs: Inputs,
    counterfactuals: Vec<Counterfactual>,
}

/// Reads the vacancy (locked in a write transaction), checks that a letting may be
/// proposed for it, and runs the engine: what ProposeLetting records and EvaluateLetting
/// only shows.
async fn judge_letting(
    tx: &mut dyn Tx,
    principal: &Principal,
    book: &RuleBook,
    today: NaiveDate,
    command: &ProposeLetting,
) -> Result<JudgedLetting, ServiceError> {
    let (vrow, vacancy) = vacancy_for_update(tx, principal, &command.vacancy_id).await?;
    let vacancy_step = step(&vrow, Act::ProposeLetting)?;
    let referral = referral_behind(tx, principal, &vacancy, command).await?;
    let mut answers = vec![("the vacancy", vacancy.date)];
    if let Some((_, r)) = &referral {
        answers.push(("the referral", r.date));
    }
    dated(
        book,
        &vrow.municipality,
        Act::ProposeLetting,
        command.date,
        today,
        &answers,
    )?;
    let area = area_facts(tx, &vacancy.area, command.date).await?;
    let case = LettingCase {
        date: command.date,
        municipality: vrow.municipality.clone(),
        department: vacancy.department.clone(),
        department_name: vacancy.department_name.clone(),
        area,
        channel: Some(vacancy.channel),
        household: command.household.clone(),
    };
    let decision = engine::evaluate_letting(book, &case)?;
    let counterfactuals = engine::letting_counterfactuals(book, &case, &decision);
    Ok(JudgedLetting {
        inputs: Inputs::letting(&case),
        vrow,
        vacancy,
        vacancy_step,
        referral,
        decision,
        counterfactuals,
    })
}

/// The rows a proposal writes, encoded.
struct LettingWrites {
    decision: DecisionRecord,
    inputs: Inputs,
    letting: CaseRow,
    /// The vacancy, and the referral behind it, now held by the letting (none when the
    /// letting is rejected).
    held: Vec<CaseRow>,
}

/// Everything a judged proposal writes, and its answer.
fn letting_writes(
    principal: &Principal,
    in_force: &InForce,
    command: &ProposeLetting,
    judged: JudgedLetting,
) -> Result<(LettingWrites, LettingProposed), ServiceError> {
    let JudgedLetting {
        vrow,
        mut vacancy,
        vacancy_step,
        referral,
        decision: decided,
        inputs,
        counterfactuals,
    } = judged;
    let letting_id = new_id();
    let new_status = first_step(CaseKind::Letting, Act::ProposeLetting)?
        .to(&letting_id, letting_status(decided.outcome))?;
    // Only what the explanation needs: the reference and the outcome, not the benefit
    // spells themselves.
    let d = logged(
        principal,
        command.date,
        Body::Letting(log::LettingProposal {
            vacancy_id: command.vacancy_id.clone(),
            applicant_ref: command.household.applicant_ref.clone(),
            decision: decided.clone(),
            referral_id: command.referral_id.clone(),
            rule_book: Some(in_force.hash.clone()),
        }),
        Placement {
            organisation: vrow.organisation.clone(),
            department: Some(vacancy.department.clone()),
            area: Some(vacancy.area.clone()),
            subject: Some(letting_id.clone()),
            channel: Some(vacancy.channel.as_str().to_owned()),
            ..Placement::default()
        },
    )?;
    let state = LettingState {
        vacancy_id: command.vacancy_id.clone(),
        department: vacancy.department.clone(),
        department_name: vacancy.department_name.clone(),
        area: vacancy.area.clone(),
        applicant_ref: command.household.applicant_ref.clone(),
        date: command.date,
        channel: vacancy.channel,
        area_class: decided.area_class.to_string(),
        flexible: decided.flexible.status,
        outcome: decided.outcome,
        replacement_owed: !decided.obligations.is_empty(),
        decisions: vec![d.id.clone()],
        move_in: None,
        decided_on: (decided.outcome != LettingOutcome::PendingMunicipalApproval)
            .then_some(command.date),
        replacement_offer: None,
        referral: command.referral_id.clone(),
    };
    let letting = CaseRow {
        kind: CaseKind::Letting,
        id: letting_id.clone(),
        municipality: vrow.municipality.clone(),
        organisation: vrow.organisation.clone(),
        department: Some(vacancy.department.clone()),
        status: new_status.to_owned(),
        updated_at: Utc::now(),
        body: to_json(&state)?,
    };
    let mut held = Vec::new();
    if decided.outcome != LettingOutcome::Rejected {
        // The vacancy is held by this letting until it is rejected by the municipality or
        // the tenant moves in.
        vacancy.letting = Some(letting_id.clone());
        let org = vrow.organisation.clone().unwrap_or_default();
        let let_to = vacancy_step.to(&command.vacancy_id, "let")?;
        held.push(vacancy_row(
            principal,
            &command.vacancy_id,
            &org,
            &vacancy,
            let_to,
        )?);
        if let Some((rrow, mut referral)) = referral {
            let let_to = step(&rrow, Act::ProposeLetting)?.to(&rrow.id, "let")?;
            referral.letting = Some(letting_id.clone());
            held.push(CaseRow {
                status: let_to.to_owned(),
                updated_at: Utc::now(),
                body: to_json(&referral)?,
                ..rrow
            });
        }
    }
    let writes = LettingWrites {
        inputs,
        decision: d,
        letting,
        held,
    };
    let response = LettingProposed {
        letting_id,
        decision_id: writes.decision.id.clone(),
        decision: decided,
        counterfactuals,
    };
    Ok((writes, response))
}

async fn write_letting(
    tx: &mut dyn Tx,
    in_force: &InForce,
    writes: &LettingWrites,
) -> Result<(), ServiceError> {
    in_force
        .append(tx, &writes.decision, &writes.inputs)
        .await?;
    tx.put_case(&writes.letting).await?;
    for row in &writes.held {
        tx.put_case(row).await?;
    }
    Ok(())
}

impl Ledger {
    /// Proposes an applicant household for an open vacancy.
    pub async fn propose_letting(
        &self,
        principal: &Principal,
        key: &str,
        command: ProposeLetting,
    ) -> Result<LettingProposed, ServiceError> {
        writer(principal)?;
        let in_force = self.in_force();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        let p = principal.clone();
        let judging = in_force.clone();
        self.judged(&in_force, principal, key, hash, move |tx| {
            let (command, in_force, p) = (command.clone(), judging.clone(), p.clone());
            Box::pin(async move {
                let judged = judge_letting(tx, &p, &in_force.book, today, &command).await?;
                let (writes, response) = letting_writes(&p, &in_force, &command, judged)?;
                write_letting(tx, &in_force, &writes).await?;
                Ok(response)
            })
        })
        .await
    }

    /// Judges a proposed letting as `propose_letting` would, in a read transaction,
    /// recording nothing: a dry run (the same callers, checks, errors and decision).
    pub async fn evaluate_letting(
        &self,
        principal: &Principal,
        command: ProposeLetting,
    ) -> Result<LettingEvaluated, ServiceError> {
        writer(principal)?;
        let book = self.rules();
        let p = principal.clone();
        let today = self.today();
        // A few lookups by key: on the calling thread, not a blocking one.
        self.store
            .lookup(move |tx| {
                let (command, book, p) = (command.clone(), book.clone(), p.clone());
                Box::pin(async move {
                    let judged = judge_letting(tx, &p, &book, today, &command).await?;
                    Ok(LettingEvaluated {
                        decision: judged.decision,
                        counterfactuals: judged.counterfactuals,
                    })
                })
            })
            .await
    }
}
