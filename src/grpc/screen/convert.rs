//! ScreenWaitingList's messages to and from the service's types.

use rayon::prelude::*;
use tonic::Status;

use super::super::convert::Reader;
use super::super::pb;
use super::super::{convert, invalid};
use crate::engine::screen::Screened;
use crate::model::Household;
use crate::service::{ScreenFor, ServiceError};

/// Households of one batch, at most.
pub const BATCH: usize = 5_000;

/// Households validated on one thread before a batch is split between threads.
const PER_THREAD: usize = 64;

/// The first message: the vacancy and the date.
pub fn target(first: pb::ScreenRequest) -> Result<ScreenFor, Status> {
    let mut v = Reader::new();
    let target = match first.item {
        Some(pb::screen_request::Item::Vacancy(t)) => ScreenFor {
            vacancy_id: v.server_id("vacancy.vacancy_id", &t.vacancy_id),
            date: v.date("vacancy.as_of_date", &t.as_of_date),
        },
        Some(pb::screen_request::Item::Batch(_)) | None => {
            v.errors.push(
                "vacancy",
                "is required first: the stream's first message names the vacancy, later ones carry households",
            );
            ScreenFor {
                vacancy_id: String::new(),
                date: chrono::NaiveDate::MIN,
            }
        }
    };
    v.errors.finish(|| target).map_err(invalid)
}

/// A later message: its households as sent (1 to [`BATCH`]); each is validated by
/// [`households`].
pub fn batch(message: pb::ScreenRequest) -> Result<Vec<pb::ApplicantHousehold>, Status> {
    let mut v = Reader::new();
    let households = match message.item {
        Some(pb::screen_request::Item::Batch(b)) => {
            if b.households.is_empty() {
                v.errors
                    .push("batch.households", "is empty: send 1 or more");
            }
            v.count("batch.households", b.households.len(), BATCH);
            b.households
        }
        Some(pb::screen_request::Item::Vacancy(_)) => {
            v.errors.push(
                "vacancy",
                "is given once, in the first message: later messages carry households",
            );
            Vec::new()
        }
        None => {
            v.errors
                .push("batch", "is required: a message of households");
            Vec::new()
        }
    };
    v.errors.finish(|| households).map_err(invalid)
}

fn field(i: usize) -> String {
    format!("batch.households[{i}]")
}

/// Each household validated as EvaluateLetting's, on every core. If any is invalid, the
/// batch is read again in order on one thread, so the answer lists its errors exactly as
/// a single reader would (the first of them, and how many more).
pub fn households(sent: &[pb::ApplicantHousehold]) -> Result<Vec<Household>, Status> {
    let read: Option<Vec<Household>> = sent
        .par_iter()
        .with_min_len(PER_THREAD)
        .map(|h| {
            // The field's name is needed only for an error, which the second pass lists.
            let mut v = Reader::new();
            let household = v.household("batch.households", Some(h));
            v.errors.is_empty().then_some(household)
        })
        .collect();
    if let Some(households) = read {
        return Ok(households);
    }
    let mut v = Reader::new();
    for (i, h) in sent.iter().enumerate() {
        v.household(&field(i), Some(h));
    }
    Err(invalid(v.errors))
}

/// One household's answer, or why it could not be judged (never quoting a CPR-shaped
/// run).
pub fn screened(
    applicant_ref: String,
    judged: Result<Screened, ServiceError>,
) -> pb::ScreenedHousehold {
    match judged {
        Ok(s) => pb::ScreenedHousehold {
            applicant_ref,
            rejected: s.rejected(),
            outcome: convert::outcome(s.outcome).into(),
            flexible_eligibility: convert::eligibility(s.flexible.status).into(),
            flexible_groups: s.flexible.groups.iter().map(|g| g.to_string()).collect(),
            rejection_rule_ids: s.rejection_rules.iter().map(|r| r.to_string()).collect(),
            priority_rule_ids: s.priority_rules.iter().map(|r| r.to_string()).collect(),
            error: String::new(),
        },
        Err(e) => pb::ScreenedHousehold {
            applicant_ref,
            error: convert::redact(&e.to_string()),
            ..Default::default()
        },
    }
}
