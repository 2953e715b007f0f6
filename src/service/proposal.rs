//! Proposing a letting, and its dry run. The engine judges the proposal and everything it
//! writes is built on a read snapshot, before the write transaction; the writer then only
//! checks that what the judgement read is unchanged and writes. A proposal whose facts
//! changed in between (or that cannot be judged on the snapshot) is judged again inside
//! the transaction, as before: the decision is always the one its transaction's state
//! gives.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};

use super::letting::{
    LettingEvaluated, LettingProposed, LettingState, ProposeLetting, VacancyState, dated,
    first_step, letting_status, step, vacancy_for_update, vacancy_row,
};
use super::referrals::{ReferralState, referral_behind};
use super::registry::{area_facts, writer};
use super::workflow::{Act, Transition};
use super::{
    Answer, InForce, Ledger, Principal, ServiceError, encode_answer, logged, new_id, to_json,
};
use crate::engine::{self, Counterfactual, LettingCase, LettingDecision, LettingOutcome};
use crate::log::{self, Body, Inputs, Placement};
use crate::model::{AreaFacts, RuleBook};
use crate::store::{CaseKind, CaseRow, DecisionRecord, Tx};

/// Proposals by what their write transaction did: `written` (the prepared writes, their
/// snapshot still holding), `judged_again` (the snapshot no longer held) or `unprepared`
/// (nothing prepared: PostgreSQL, or a proposal the snapshot could not judge).
pub const PREPARED_PROPOSALS: &str = "letting_prepared_proposals_total";

/// What ProposeLetting found and decided, before it writes.
struct JudgedLetting {
    vrow: CaseRow,
    vacancy: VacancyState,
    vacancy_step: &'static Transition,
    referral: Option<(CaseRow, ReferralState)>,
    /// The area's facts as the engine was given them.
    area: AreaFacts,
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
        area: case.area,
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
    inputs: serde_json::Value,
    letting: CaseRow,
    /// The vacancy, and the referral behind it, now held by the letting (none when the
    /// letting is rejected).
    held: Vec<CaseRow>,
}

/// What a judgement on a snapshot read, to be found unchanged by the write transaction.
struct Snapshot {
    vacancy: CaseRow,
    referral: Option<CaseRow>,
    area: AreaFacts,
}

/// A proposal judged and encoded before its write transaction.
struct Prepared {
    snapshot: Snapshot,
    writes: LettingWrites,
    response: LettingProposed,
    /// The response as its idempotency record keeps it.
    encoded: Arc<[u8]>,
}

/// Everything a judged proposal writes, and its answer.
fn letting_writes(
    principal: &Principal,
    in_force: &InForce,
    command: &ProposeLetting,
    judged: JudgedLetting,
) -> Result<(Snapshot, LettingWrites, LettingProposed), ServiceError> {
    let JudgedLetting {
        vrow,
        mut vacancy,
        vacancy_step,
        referral,
        area,
        decision: decided,
        inputs,
        counterfactuals,
    } = judged;
    let snapshot = Snapshot {
        vacancy: vrow.clone(),
        referral: referral.as_ref().map(|(row, _)| row.clone()),
        area,
    };
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
        inputs: to_json(&inputs)?,
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
    Ok((snapshot, writes, response))
}

async fn write_letting(
    tx: &mut dyn Tx,
    in_force: &InForce,
    writes: &LettingWrites,
) -> Result<(), ServiceError> {
    in_force
        .append_encoded(tx, &writes.decision, &writes.inputs)
        .await?;
    tx.put_case(&writes.letting).await?;
    for row in &writes.held {
        tx.put_case(row).await?;
    }
    Ok(())
}

/// Whether the state a snapshot judgement read is still the state in `tx`: the vacancy
/// and the referral rows (which every change to them rewrites) and the area's facts.
async fn still_holds(
    tx: &mut dyn Tx,
    principal: &Principal,
    command: &ProposeLetting,
    snapshot: &Snapshot,
) -> Result<bool, ServiceError> {
    let (vrow, vacancy) = match vacancy_for_update(tx, principal, &command.vacancy_id).await {
        Ok(found) => found,
        // Judged again in the transaction, which gives the error.
        Err(_) => return Ok(false),
    };
    if vrow != snapshot.vacancy {
        return Ok(false);
    }
    let referral = match referral_behind(tx, principal, &vacancy, command).await {
        Ok(found) => found.map(|(row, _)| row),
        Err(_) => return Ok(false),
    };
    if referral != snapshot.referral {
        return Ok(false);
    }
    Ok(area_facts(tx, &vacancy.area, command.date).await? == snapshot.area)
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
        // With one writer thread (SQLite), the proposal is judged and encoded on a snapshot
        // first, off the writer.
        let prepared = if self.store.serial_writer() {
            self.prepare_letting(principal, &in_force, &command).await
        } else {
            None
        };
        self.commit_letting(principal, key, in_force, command, prepared)
            .await
    }

    /// The proposal judged and encoded on a read snapshot; None when it cannot be judged
    /// so (a retry of a proposal already made, say), and the transaction judges it.
    async fn prepare_letting(
        &self,
        principal: &Principal,
        in_force: &Arc<InForce>,
        command: &ProposeLetting,
    ) -> Option<Arc<Prepared>> {
        let today = self.today();
        let (command, in_force, p) = (command.clone(), in_force.clone(), principal.clone());
        self.store
            .lookup(move |tx| {
                let (command, in_force, p) = (command.clone(), in_force.clone(), p.clone());
                Box::pin(async move {
                    let judged = judge_letting(tx, &p, &in_force.book, today, &command).await?;
                    let (snapshot, writes, response) =
                        letting_writes(&p, &in_force, &command, judged)?;
                    Ok::<_, ServiceError>(Prepared {
                        encoded: encode_answer(&response)?.into(),
                        snapshot,
                        writes,
                        response,
                    })
                })
            })
            .await
            .ok()
            .map(Arc::new)
    }

    /// The write transaction: the prepared writes if what they were judged on still holds,
    /// else the proposal judged again on the transaction's state.
    async fn commit_letting(
        &self,
        principal: &Principal,
        key: &str,
        in_force: Arc<InForce>,
        command: ProposeLetting,
        prepared: Option<Arc<Prepared>>,
    ) -> Result<LettingProposed, ServiceError> {
        let today = self.today();
        let hash = super::request_hash(&command)?;
        let p = principal.clone();
        let judging = in_force.clone();
        self.judged_encoded(&in_force, principal, key, hash, move |tx| {
            let (command, in_force, p, prepared) = (
                command.clone(),
                judging.clone(),
                p.clone(),
                prepared.clone(),
            );
            Box::pin(async move {
                if let Some(prepared) = &prepared
                    && still_holds(tx, &p, &command, &prepared.snapshot).await?
                {
                    metrics::counter!(PREPARED_PROPOSALS, "result" => "written").increment(1);
                    write_letting(tx, &in_force, &prepared.writes).await?;
                    return Ok(Answer {
                        value: prepared.response.clone(),
                        encoded: Some(prepared.encoded.clone()),
                    });
                }
                let result = if prepared.is_some() {
                    "judged_again"
                } else {
                    "unprepared"
                };
                metrics::counter!(PREPARED_PROPOSALS, "result" => result).increment(1);
                let judged = judge_letting(tx, &p, &in_force.book, today, &command).await?;
                let (_, writes, response) = letting_writes(&p, &in_force, &command, judged)?;
                write_letting(tx, &in_force, &writes).await?;
                Ok(Answer {
                    value: response,
                    encoded: None,
                })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{AreaStatisticsInput, LoadStatistics, RegisterVacancy};
    use crate::model::Household;
    use crate::service::Clock;
    use crate::store::{Area, Department, Organisation, Store};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    /// A single applicant in work: no benefit, nothing that rejects.
    fn household(reference: &str) -> Household {
        serde_json::from_value(serde_json::json!({
            "applicant_ref": reference,
            "persons": [{"role": "applicant", "weekly_work_hours": "37"}],
        }))
        .expect("a household")
    }

    /// A Copenhagen department in a neutral area, with one open vacancy, in 2007.
    async fn one_open_vacancy() -> (Ledger, Principal, String) {
        let store = Arc::new(Store::open("sqlite::memory:").await.expect("a store"));
        let loaded =
            crate::rules::load_sources(&crate::rules::embedded::files()).expect("the rules");
        let at = date(2007, 3, 1)
            .and_hms_opt(10, 0, 0)
            .expect("a time")
            .and_utc();
        let ledger = Ledger::new(store, loaded.book, Clock::fixed(at));
        let city = Principal::Municipality {
            municipality: "0101".into(),
        };
        let org = Principal::Organisation {
            organisation: "org".into(),
            municipality: "0101".into(),
        };
        let org_row = Organisation {
            id: "org".into(),
            name: "Org".into(),
        };
        ledger
            .upsert_organisation(&city, "o", org_row)
            .await
            .expect("org");
        let area = Area {
            id: "area".into(),
            municipality: "0101".into(),
            name: "Area".into(),
        };
        ledger.upsert_area(&city, "a", area).await.expect("area");
        let department = Department {
            id: "dept".into(),
            organisation: "org".into(),
            area: "area".into(),
            name: "Dept".into(),
            dwellings: 100,
        };
        ledger
            .upsert_department(&city, "d", department)
            .await
            .expect("dept");
        let facts = AreaFacts {
            id: "area".into(),
            working_age_residents: Some(1000),
            without_labour_market_attachment: Some(150),
            ..AreaFacts::default()
        };
        let load = LoadStatistics {
            year: 2007,
            date: date(2007, 1, 2),
            areas: vec![AreaStatisticsInput {
                area: "area".into(),
                facts,
                transfer_income_share: None,
                self_supporting_weeks: None,
            }],
        };
        ledger
            .load_statistics(&city, "s", load)
            .await
            .expect("statistics");
        // The first vacancies go to municipal referral; the first that does not is used.
        for n in 0..20 {
            let vacancy = RegisterVacancy {
                department: "dept".into(),
                vacancy_ref: format!("v{n}"),
                date: date(2007, 2, 1),
            };
            let key = format!("v{n}");
            let registered = ledger
                .register_vacancy(&org, &key, vacancy)
                .await
                .expect("vacancy");
            if registered.decision.channel != crate::model::Channel::MunicipalReferral {
                return (ledger, org, registered.vacancy_id);
            }
        }
        panic!("no vacancy outside municipal referral in 20")
    }

    fn proposal(vacancy_id: &str, reference: &str) -> ProposeLetting {
        ProposeLetting {
            vacancy_id: vacancy_id.to_owned(),
            household: household(reference),
            date: date(2007, 2, 20),
            referral_id: None,
        }
    }

    #[tokio::test]
    async fn a_prepared_proposal_is_written_when_its_snapshot_still_holds() {
        let (ledger, org, vacancy) = one_open_vacancy().await;
        let in_force = ledger.in_force();
        let command = proposal(&vacancy, "hh-1");
        let prepared = ledger.prepare_letting(&org, &in_force, &command).await;
        let expected = prepared
            .as_ref()
            .expect("judged on the snapshot")
            .response
            .clone();
        let proposed = ledger
            .commit_letting(&org, "p1", in_force, command.clone(), prepared)
            .await
            .expect("proposed");
        assert_eq!(proposed, expected, "the prepared answer, ids and all");
        // A retry gets the answer its idempotency record kept, encoded before the write.
        let retried = ledger
            .propose_letting(&org, "p1", command)
            .await
            .expect("the retry");
        assert_eq!(retried, expected);
    }

    #[tokio::test]
    async fn a_prepared_proposal_whose_vacancy_was_taken_meanwhile_is_judged_again() {
        let (ledger, org, vacancy) = one_open_vacancy().await;
        let in_force = ledger.in_force();
        let late = proposal(&vacancy, "hh-late");
        let prepared = ledger.prepare_letting(&org, &in_force, &late).await;
        assert!(prepared.is_some(), "the vacancy was open on the snapshot");
        // Another proposal takes the vacancy between the snapshot and the write.
        ledger
            .propose_letting(&org, "first", proposal(&vacancy, "hh-first"))
            .await
            .expect("the first proposal");
        let refused = ledger
            .commit_letting(&org, "late", in_force, late, prepared)
            .await
            .expect_err("the vacancy is let: the stale judgement must not be written");
        assert!(
            matches!(refused, ServiceError::FailedPrecondition(_)),
            "{refused:?}"
        );
    }
}
