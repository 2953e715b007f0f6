//! Vacancies, lettings, municipal approval and move-ins; the helpers every case operation
//! shares (the workflow step, the date rules, locked case reads).

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::registry::{area_facts, period_for, placed_department, writer};
use super::workflow::{self, Act, NEW, Transition};
use super::{
    Ledger, Principal, ServiceError, from_json, logged, new_id, require_municipality, to_json,
};
use crate::engine::{
    self, ChannelDecision, Counterfactual, Eligibility, Explanation, LettingDecision,
    LettingOutcome, MunicipalActCase, QuotaState, VacancyCase,
};
use crate::log::{
    self, Body, Inputs, MoveInRecorded, MunicipalAct, Placement, RecordMoveIn, RegisterVacancy,
};
use crate::model::{ActKind, Channel, Household, RuleBook};
use crate::store::{CaseKind, CaseRow, Tx};

/// The scope key of a department's quota counters.
pub fn department_scope(department: &str) -> String {
    format!("department:{department}")
}

/// The scope key of a municipality's quota counters.
pub fn municipality_scope(municipality: &str) -> String {
    format!("municipality:{municipality}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VacancyRegistered {
    pub vacancy_id: String,
    pub decision_id: String,
    pub decision: ChannelDecision,
}

/// The stored state of a vacancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VacancyState {
    pub department: String,
    pub area: String,
    pub vacancy_ref: String,
    pub date: NaiveDate,
    pub channel: Channel,
    pub area_class: String,
    pub period: String,
    /// The department's registered name, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    pub channel_decision: String,
    /// Set when a letting for it is approved.
    pub letting: Option<String>,
    /// The accepted municipal referral that holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposeLetting {
    pub vacancy_id: String,
    pub household: Household,
    pub date: NaiveDate,
    /// The municipality's referral behind a letting on a vacancy it referred to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LettingProposed {
    pub letting_id: String,
    pub decision_id: String,
    pub decision: LettingDecision,
    /// What would have changed the decision (not recorded with it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counterfactuals: Vec<Counterfactual>,
}

/// What EvaluateLetting shows: the decision ProposeLetting would record, and what would
/// change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LettingEvaluated {
    pub decision: LettingDecision,
    pub counterfactuals: Vec<Counterfactual>,
}

/// The stored state of a letting. The household's benefit facts are not kept: the
/// decision's explanation keeps what the reasons rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LettingState {
    pub vacancy_id: String,
    pub department: String,
    /// The department's registered name, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    pub area: String,
    pub applicant_ref: String,
    pub date: NaiveDate,
    pub channel: Channel,
    pub area_class: String,
    pub flexible: Eligibility,
    pub outcome: LettingOutcome,
    pub replacement_owed: bool,
    pub decisions: Vec<String>,
    pub move_in: Option<NaiveDate>,
    /// The date of the act that approved or rejected it: the proposal's when the rules
    /// decided, the municipality's act otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<NaiveDate>,
    /// The replacement offer made for it; one owed dwelling is met by one offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_offer: Option<String>,
    /// The municipal referral it lets the vacancy to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActRecorded {
    pub decision_id: String,
    pub status: String,
    /// The reasons of a municipal act; none for an answer to an offer.
    #[serde(default)]
    pub explanation: Option<Explanation>,
}

/// A letting awaiting the municipality, for its work list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLetting {
    pub letting_id: String,
    pub state: LettingState,
}

pub(super) fn vacancy_row(
    principal: &Principal,
    id: &str,
    organisation: &str,
    state: &VacancyState,
    status: &str,
) -> Result<CaseRow, ServiceError> {
    Ok(CaseRow {
        kind: CaseKind::Vacancy,
        id: id.to_owned(),
        municipality: principal.municipality().to_owned(),
        organisation: Some(organisation.to_owned()),
        department: Some(state.department.clone()),
        status: status.to_owned(),
        updated_at: Utc::now(),
        body: to_json(state)?,
    })
}

pub(super) fn letting_status(outcome: LettingOutcome) -> &'static str {
    match outcome {
        LettingOutcome::Approved => "approved",
        LettingOutcome::Rejected => "rejected",
        LettingOutcome::PendingMunicipalApproval => "pending_municipal_approval",
    }
}

/// The step the workflow allows this case now, or FAILED_PRECONDITION naming its state.
pub(super) fn step(row: &CaseRow, act: Act) -> Result<&'static Transition, ServiceError> {
    Ok(workflow::step(row.kind, &row.id, &row.status, act)?)
}

/// The step a case takes at its creation.
pub(super) fn first_step(kind: CaseKind, act: Act) -> Result<&'static Transition, ServiceError> {
    Ok(workflow::step(kind, "", NEW, act)?)
}

/// An act's date: on or after what it answers, near today, and judged by a rule set.
pub(crate) fn dated(
    book: &RuleBook,
    municipality: &str,
    act: Act,
    date: NaiveDate,
    today: NaiveDate,
    answers: &[(&str, NaiveDate)],
) -> Result<(), ServiceError> {
    workflow::dated(act, date, today, answers)?;
    if book.in_force(municipality, date).is_none() {
        return Err(engine::EngineError::NoRuleSet {
            municipality: municipality.to_owned(),
            date,
        }
        .into());
    }
    Ok(())
}

/// A case of the caller's municipality, locked for the transaction, with its state; an
/// organisation may touch only its own.
pub(super) async fn owned_case_for_update<S: serde::de::DeserializeOwned>(
    tx: &mut dyn Tx,
    principal: &Principal,
    kind: CaseKind,
    what: &'static str,
    id: &str,
) -> Result<(CaseRow, S), ServiceError> {
    let row = tx
        .case_for_update(kind, id)
        .await?
        .filter(|r| r.municipality == principal.municipality())
        .ok_or_else(|| ServiceError::NotFound {
            what,
            id: id.to_owned(),
        })?;
    if let Principal::Organisation { organisation, .. } = principal
        && row.organisation.as_deref() != Some(organisation.as_str())
    {
        return Err(ServiceError::PermissionDenied(format!(
            "{what} `{id}` belongs to another organisation"
        )));
    }
    let state: S = from_json(&row.body)?;
    Ok((row, state))
}

pub(super) async fn letting_for_update(
    tx: &mut dyn Tx,
    principal: &Principal,
    id: &str,
) -> Result<(CaseRow, LettingState), ServiceError> {
    owned_case_for_update(tx, principal, CaseKind::Letting, "letting", id).await
}

pub(super) async fn vacancy_for_update(
    tx: &mut dyn Tx,
    principal: &Principal,
    id: &str,
) -> Result<(CaseRow, VacancyState), ServiceError> {
    owned_case_for_update(tx, principal, CaseKind::Vacancy, "vacancy", id).await
}

impl Ledger {
    /// Registers a vacancy and gives it its letting channel.
    pub async fn register_vacancy(
        &self,
        principal: &Principal,
        key: &str,
        command: RegisterVacancy,
    ) -> Result<VacancyRegistered, ServiceError> {
        writer(principal)?;
        let in_force = self.in_force();
        let p = principal.clone();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        let judging = in_force.clone();
        self.judged(&in_force, principal, key, hash, move |tx| {
            let (command, in_force, p) = (command.clone(), judging.clone(), p.clone());
            Box::pin(async move {
                let book = &in_force.book;
                let opened = first_step(CaseKind::Vacancy, Act::RegisterVacancy)?;
                let placed = placed_department(tx, &p, &command.department).await?;
                let municipality = placed.area.municipality.clone();
                dated(
                    book,
                    &municipality,
                    Act::RegisterVacancy,
                    command.date,
                    today,
                    &[],
                )?;
                let period = period_for(book, &municipality, command.date)?;
                // Lock order everywhere: the department's counters, then the municipality's.
                let dept_scope = department_scope(&placed.department.id);
                let muni_scope = municipality_scope(&municipality);
                let counters = QuotaState {
                    department: tx.counters_for_update(&dept_scope, &period).await?,
                    municipality: tx.counters_for_update(&muni_scope, &period).await?,
                };
                let area = area_facts(tx, &placed.area.id, command.date).await?;
                let case = VacancyCase {
                    date: command.date,
                    municipality: municipality.clone(),
                    department: placed.department.id.clone(),
                    department_name: Some(placed.department.name.clone()),
                    area,
                };
                let decided = engine::assign_channel(book, &case, &counters)?;
                tx.put_counters(&dept_scope, &period, &decided.counters_after.department)
                    .await?;
                tx.put_counters(&muni_scope, &period, &decided.counters_after.municipality)
                    .await?;
                let vacancy_id = new_id();
                let d = logged(
                    &p,
                    command.date,
                    Body::ChannelAssignment(log::ChannelAssignment {
                        request: command.clone(),
                        decision: decided.clone(),
                        rule_book: Some(in_force.hash.clone()),
                    }),
                    Placement {
                        organisation: Some(placed.department.organisation.clone()),
                        department: Some(placed.department.id.clone()),
                        area: Some(placed.area.id.clone()),
                        subject: Some(vacancy_id.clone()),
                        ..Placement::default()
                    },
                )?;
                in_force
                    .append(
                        tx,
                        &d,
                        &Inputs::ChannelAssignment {
                            vacancy: case,
                            counters,
                        },
                    )
                    .await?;
                let state = VacancyState {
                    department: placed.department.id.clone(),
                    department_name: Some(placed.department.name.clone()),
                    area: placed.area.id.clone(),
                    vacancy_ref: command.vacancy_ref.clone(),
                    date: command.date,
                    channel: decided.channel,
                    area_class: decided.area_class.to_string(),
                    period,
                    channel_decision: d.id.clone(),
                    letting: None,
                    referral: None,
                };
                tx.put_case(&vacancy_row(
                    &p,
                    &vacancy_id,
                    &placed.department.organisation,
                    &state,
                    opened.to(&vacancy_id, "open")?,
                )?)
                .await?;
                Ok(VacancyRegistered {
                    vacancy_id,
                    decision_id: d.id,
                    decision: decided,
                })
            })
        })
        .await
    }

    /// Lettings awaiting the municipality's approval.
    pub async fn pending_approvals(
        &self,
        principal: &Principal,
        after: Option<String>,
        page_size: u32,
    ) -> Result<Vec<PendingLetting>, ServiceError> {
        if matches!(principal, Principal::Organisation { .. }) {
            return Err(ServiceError::PermissionDenied(
                "only the municipality and auditors see the approval work list".into(),
            ));
        }
        let municipality = principal.municipality().to_owned();
        let limit = page_size.clamp(1, 1000);
        self.store
            .read(move |tx| {
                let (municipality, after) = (municipality.clone(), after.clone());
                Box::pin(async move {
                    let rows = tx
                        .cases(
                            CaseKind::Letting,
                            Some("pending_municipal_approval"),
                            &municipality,
                            after.as_deref(),
                            limit,
                        )
                        .await?;
                    rows.into_iter()
                        .map(|r| {
                            Ok(PendingLetting {
                                state: from_json(&r.body)?,
                                letting_id: r.id,
                            })
                        })
                        .collect::<Result<Vec<_>, ServiceError>>()
                })
            })
            .await
    }

    /// The municipality approves (`approve = true`) or rejects a pending letting.
    pub async fn decide_letting(
        &self,
        principal: &Principal,
        key: &str,
        act: MunicipalAct,
        approve: bool,
    ) -> Result<ActRecorded, ServiceError> {
        require_municipality(
            principal,
            if approve {
                "approve lettings"
            } else {
                "reject lettings"
            },
        )?;
        if act.reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reason",
                "the caseworker's reasons are required: they go to the applicant",
            ));
        }
        let p = principal.clone();
        let in_force = self.in_force();
        let today = self.today();
        let hash = super::request_hash(&(approve, &act))?;
        let judging = in_force.clone();
        self.judged(&in_force, principal, key, hash, move |tx| {
            let (act, p, in_force) = (act.clone(), p.clone(), judging.clone());
            Box::pin(async move {
                let book = &in_force.book;
                let (row, mut state) = letting_for_update(tx, &p, &act.letting_id).await?;
                let what = if approve {
                    Act::ApproveLetting
                } else {
                    Act::RejectLetting
                };
                let letting_step = step(&row, what)?;
                dated(
                    book,
                    &row.municipality,
                    what,
                    act.date,
                    today,
                    &[("the proposal", state.date)],
                )?;
                let area = area_facts(tx, &state.area, act.date).await?;
                let case = MunicipalActCase {
                    date: act.date,
                    municipality: row.municipality.clone(),
                    department: state.department.clone(),
                    department_name: state.department_name.clone(),
                    area,
                    act: if approve {
                        ActKind::Approval
                    } else {
                        ActKind::Rejection
                    },
                    considerations: act.reason.clone(),
                };
                let decided = engine::municipal_act(book, &case)?;
                let status = letting_step.to(
                    &act.letting_id,
                    if approve {
                        "approved"
                    } else {
                        "rejected_by_municipality"
                    },
                )?;
                let record = log::MunicipalActRecord {
                    act: act.clone(),
                    decision: Some(decided.clone()),
                    rule_book: Some(in_force.hash.clone()),
                };
                let d = logged(
                    &p,
                    act.date,
                    if approve {
                        Body::Approval(record)
                    } else {
                        Body::MunicipalRejection(record)
                    },
                    Placement {
                        organisation: row.organisation.clone(),
                        department: Some(state.department.clone()),
                        area: Some(state.area.clone()),
                        subject: Some(act.letting_id.clone()),
                        channel: Some(state.channel.as_str().to_owned()),
                        area_class: Some(state.area_class.clone()),
                        ..Placement::default()
                    },
                )?;
                in_force.append(tx, &d, &Inputs::MunicipalAct(case)).await?;
                state.decisions.push(d.id.clone());
                state.decided_on = Some(act.date);
                if approve {
                    state.outcome = LettingOutcome::Approved;
                } else {
                    state.outcome = LettingOutcome::Rejected;
                    state.replacement_owed = act.replacement_owed;
                    // The vacancy opens again for another applicant.
                    let (vrow, mut vacancy) = vacancy_for_update(tx, &p, &state.vacancy_id).await?;
                    let reopened =
                        step(&vrow, Act::RejectLetting)?.to(&state.vacancy_id, "open")?;
                    vacancy.letting = None;
                    let org = vrow.organisation.clone().unwrap_or_default();
                    tx.put_case(&vacancy_row(
                        &p,
                        &state.vacancy_id,
                        &org,
                        &vacancy,
                        reopened,
                    )?)
                    .await?;
                }
                tx.put_case(&CaseRow {
                    status: status.to_owned(),
                    updated_at: Utc::now(),
                    body: to_json(&state)?,
                    ..row
                })
                .await?;
                Ok(ActRecorded {
                    decision_id: d.id,
                    status: status.to_owned(),
                    explanation: Some(decided.explanation),
                })
            })
        })
        .await
    }

    /// Records that the tenant of an approved letting moved in.
    pub async fn record_move_in(
        &self,
        principal: &Principal,
        key: &str,
        command: RecordMoveIn,
    ) -> Result<MoveInRecorded, ServiceError> {
        writer(principal)?;
        let p = principal.clone();
        let book = self.rules();
        let today = self.today();
        let hash = super::request_hash(&command)?;
        self.idempotent(principal, key, hash, move |tx| {
            let (command, p, book) = (command.clone(), p.clone(), book.clone());
            Box::pin(async move {
                let (row, mut state) = letting_for_update(tx, &p, &command.letting_id).await?;
                let moved_in =
                    step(&row, Act::RecordMoveIn)?.to(&command.letting_id, "moved_in")?;
                let mut answers = vec![("the letting", state.date)];
                if let Some(approved) = state.decided_on {
                    answers.push(("its approval", approved));
                }
                dated(
                    &book,
                    &row.municipality,
                    Act::RecordMoveIn,
                    command.date,
                    today,
                    &answers,
                )?;
                let flexible_shortfall = state.channel == Channel::Flexible
                    && !matches!(
                        state.flexible,
                        Eligibility::Provisional | Eligibility::Verified
                    );
                if flexible_shortfall {
                    let (vrow, vacancy) = vacancy_for_update(tx, &p, &state.vacancy_id).await?;
                    let dept = department_scope(&vacancy.department);
                    let muni = municipality_scope(&vrow.municipality);
                    let counters = QuotaState {
                        department: tx.counters_for_update(&dept, &vacancy.period).await?,
                        municipality: tx.counters_for_update(&muni, &vacancy.period).await?,
                    };
                    let after = counters.flexible_not_let_flexibly();
                    tx.put_counters(&dept, &vacancy.period, &after.department)
                        .await?;
                    tx.put_counters(&muni, &vacancy.period, &after.municipality)
                        .await?;
                }
                let exposed_or_high_risk = matches!(
                    state.area_class.as_str(),
                    "exposed" | "high_risk" | "hard_exposed"
                );
                let counts_flexible_indicator = state.channel == Channel::Flexible
                    && !flexible_shortfall
                    && exposed_or_high_risk;
                let counts_combined_indicator = state.decisions.len() > 1
                    && matches!(state.area_class.as_str(), "exposed" | "hard_exposed");
                let outcome = MoveInRecorded {
                    decision_id: String::new(),
                    flexible_shortfall,
                    counts_flexible_indicator,
                    counts_combined_indicator,
                };
                let d = logged(
                    &p,
                    command.date,
                    Body::MoveIn(log::MoveIn {
                        request: command.clone(),
                        outcome: outcome.clone(),
                    }),
                    Placement {
                        organisation: row.organisation.clone(),
                        department: Some(state.department.clone()),
                        area: Some(state.area.clone()),
                        subject: Some(command.letting_id.clone()),
                        channel: Some(state.channel.as_str().to_owned()),
                        area_class: Some(state.area_class.clone()),
                        ..Placement::default()
                    },
                )?;
                tx.append_decision(&d).await?;
                state.decisions.push(d.id.clone());
                state.move_in = Some(command.date);
                let (vrow, vacancy) = vacancy_for_update(tx, &p, &state.vacancy_id).await?;
                let vacancy_moved_in =
                    step(&vrow, Act::RecordMoveIn)?.to(&state.vacancy_id, "moved_in")?;
                let org = vrow.organisation.clone().unwrap_or_default();
                tx.put_case(&vacancy_row(
                    &p,
                    &state.vacancy_id,
                    &org,
                    &vacancy,
                    vacancy_moved_in,
                )?)
                .await?;
                tx.put_case(&CaseRow {
                    status: moved_in.into(),
                    updated_at: Utc::now(),
                    body: to_json(&state)?,
                    ..row
                })
                .await?;
                Ok(MoveInRecorded {
                    decision_id: d.id,
                    ..outcome
                })
            })
        })
        .await
    }
}
