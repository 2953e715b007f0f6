//! The reads the caseworker console shows: the approval queue with each letting's reasons,
//! one letting with every decision of its case, the vacancies a replacement offer may take,
//! open vacancies for a referral, and the compliance report. Who may read what is decided
//! here, as for every other call.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::letting::{LettingState, VacancyState};
use super::registry::area_facts;
use super::{Ledger, Principal, ServiceError, from_json};
use crate::engine;
use crate::log::{self, Body, Logged};
use crate::model::Channel;
use crate::report::{self, Period, Report, ReportError};
use crate::store::{CaseKind, CaseRow, Tx};

/// The most cases one console list reads.
const LIST_LIMIT: u32 = 1000;

/// Which pending lettings the queue shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub area: Option<String>,
    pub organisation: Option<String>,
}

/// A letting in the approval queue, with the reasons the rules gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub letting_id: String,
    pub organisation: Option<String>,
    pub state: LettingState,
    /// The messages of the rules that decided the proposal, Danish and English.
    pub reasons: Vec<(String, String)>,
}

/// One letting with every decision of its case, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LettingView {
    pub letting_id: String,
    pub status: String,
    pub organisation: Option<String>,
    pub state: LettingState,
    pub decisions: Vec<Logged>,
}

/// An open vacancy, for an offer or a referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenVacancy {
    pub vacancy_id: String,
    pub organisation: Option<String>,
    pub state: VacancyState,
    /// The area's class on the day asked about.
    pub class: String,
}

/// The caseworker an act records, if it names one.
pub fn caseworker_of(body: &Body) -> Option<&str> {
    let name = match body {
        Body::Approval(b) | Body::MunicipalRejection(b) => Some(b.act.caseworker.as_str()),
        Body::ReplacementOffer(b) => b.request.caseworker.as_deref(),
        Body::Referral(b) => b.caseworker.as_deref(),
        Body::Grant(b) => b.caseworker.as_deref(),
        _ => None,
    };
    name.filter(|n| !n.is_empty())
}

fn visible(principal: &Principal, row: &CaseRow) -> bool {
    row.municipality == principal.municipality()
        && match principal {
            Principal::Organisation { organisation, .. } => {
                row.organisation.as_deref() == Some(organisation.as_str())
            }
            _ => true,
        }
}

async fn all_cases(
    tx: &mut dyn Tx,
    kind: CaseKind,
    status: &str,
    municipality: &str,
) -> Result<Vec<CaseRow>, ServiceError> {
    let mut out: Vec<CaseRow> = Vec::new();
    loop {
        let after = out.last().map(|r| r.id.clone());
        let page = tx
            .cases(
                kind,
                Some(status),
                municipality,
                after.as_deref(),
                LIST_LIMIT,
            )
            .await?;
        let full = page.len() == LIST_LIMIT as usize;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

async fn decision_in(tx: &mut dyn Tx, id: &str) -> Result<Option<Logged>, ServiceError> {
    match tx.decision(id).await? {
        Some(record) => log::read(record)
            .map(Some)
            .map_err(|e| ServiceError::Corrupt(e.to_string())),
        None => Ok(None),
    }
}

impl Ledger {
    /// Lettings awaiting the municipality's approval, oldest proposal first, with the
    /// reasons the rules gave. The municipality and its auditors see all of them; an
    /// organisation sees only its own, whatever the filter asks.
    pub async fn approval_queue(
        &self,
        principal: &Principal,
        mut filter: QueueFilter,
    ) -> Result<Vec<QueueItem>, ServiceError> {
        if let Principal::Organisation { organisation, .. } = principal {
            if filter
                .organisation
                .as_ref()
                .is_some_and(|o| o != organisation)
            {
                return Ok(Vec::new());
            }
            filter.organisation = Some(organisation.clone());
        }
        let municipality = principal.municipality().to_owned();
        let mut items = self
            .store
            .read(move |tx| {
                let (municipality, filter) = (municipality.clone(), filter.clone());
                Box::pin(async move {
                    let rows = all_cases(
                        tx,
                        CaseKind::Letting,
                        "pending_municipal_approval",
                        &municipality,
                    )
                    .await?;
                    let mut items = Vec::new();
                    for row in rows {
                        let state: LettingState = from_json(&row.body)?;
                        if filter.area.as_ref().is_some_and(|a| *a != state.area)
                            || filter
                                .organisation
                                .as_ref()
                                .is_some_and(|o| Some(o) != row.organisation.as_ref())
                        {
                            continue;
                        }
                        let mut reasons = Vec::new();
                        if let Some(first) = state.decisions.first()
                            && let Some(logged) = decision_in(tx, first).await?
                            && let Some(explanation) = logged.body.explanation()
                        {
                            reasons = explanation
                                .fired
                                .iter()
                                .filter(|f| f.to_citizen)
                                .map(|f| (f.message_da.clone(), f.message_en.clone()))
                                .collect();
                        }
                        items.push(QueueItem {
                            letting_id: row.id,
                            organisation: row.organisation,
                            state,
                            reasons,
                        });
                    }
                    Ok::<_, ServiceError>(items)
                })
            })
            .await?;
        items.sort_by(|a, b| (a.state.date, &a.letting_id).cmp(&(b.state.date, &b.letting_id)));
        Ok(items)
    }

    /// One letting and the decisions of its case. Another municipality's letting, or
    /// another organisation's, is not found (its existence is not revealed).
    pub async fn letting(
        &self,
        principal: &Principal,
        letting_id: &str,
    ) -> Result<LettingView, ServiceError> {
        let (p, id) = (principal.clone(), letting_id.to_owned());
        self.store
            .read(move |tx| {
                let (p, id) = (p.clone(), id.clone());
                Box::pin(async move {
                    let row = tx
                        .case_for_update(CaseKind::Letting, &id)
                        .await?
                        .filter(|r| visible(&p, r))
                        .ok_or_else(|| ServiceError::NotFound {
                            what: "letting",
                            id: id.clone(),
                        })?;
                    let state: LettingState = from_json(&row.body)?;
                    let mut decisions = Vec::new();
                    for d in &state.decisions {
                        if let Some(logged) = decision_in(tx, d).await? {
                            decisions.push(logged);
                        }
                    }
                    Ok(LettingView {
                        letting_id: row.id,
                        status: row.status,
                        organisation: row.organisation,
                        state,
                        decisions,
                    })
                })
            })
            .await
    }

    /// Open vacancies of the municipality with their area's class on `date`: for a
    /// replacement offer (`outside_exposed`: only those outside exposed areas, the offers
    /// the service accepts) or for a referral (`channel`: the vacancies assigned to it).
    pub async fn open_vacancies(
        &self,
        principal: &Principal,
        date: NaiveDate,
        outside_exposed: bool,
        channel: Option<Channel>,
    ) -> Result<Vec<OpenVacancy>, ServiceError> {
        if matches!(principal, Principal::Organisation { .. }) {
            return Err(ServiceError::PermissionDenied(
                "only the municipality and auditors see the municipality's open vacancies".into(),
            ));
        }
        let municipality = principal.municipality().to_owned();
        let book = self.rules();
        self.store
            .read(move |tx| {
                let (municipality, book) = (municipality.clone(), book.clone());
                Box::pin(async move {
                    let rows = all_cases(tx, CaseKind::Vacancy, "open", &municipality).await?;
                    let mut out = Vec::new();
                    for row in rows {
                        let state: VacancyState = from_json(&row.body)?;
                        if channel.is_some_and(|c| c != state.channel) || state.date > date {
                            continue;
                        }
                        let facts = area_facts(tx, &state.area, date).await?;
                        let Ok(class) =
                            engine::classify_offered_dwelling(&book, &municipality, &facts, date)
                        else {
                            continue;
                        };
                        // The same test `make_replacement_offer` applies.
                        if outside_exposed && matches!(&*class.class, "exposed" | "hard_exposed") {
                            continue;
                        }
                        out.push(OpenVacancy {
                            vacancy_id: row.id,
                            organisation: row.organisation,
                            state,
                            class: class.class.to_string(),
                        });
                    }
                    Ok::<_, ServiceError>(out)
                })
            })
            .await
    }

    /// The compliance report of the caller's municipality: for the municipality and its
    /// auditors, not for housing organisations (as ReportService).
    pub async fn compliance_report(
        &self,
        principal: &Principal,
        period: Period,
    ) -> Result<Report, ServiceError> {
        if matches!(principal, Principal::Organisation { .. }) {
            return Err(ServiceError::PermissionDenied(
                "the compliance report is for the municipality and its auditors, not for housing organisations".into(),
            ));
        }
        let book = self.rules();
        report::compute(&self.store, &book, principal.municipality(), period)
            .await
            .map_err(|e| match e {
                ReportError::Store(e) => ServiceError::Store(e),
                ReportError::Period(why) => ServiceError::invalid("period", why),
                other => ServiceError::Corrupt(other.to_string()),
            })
    }
}
