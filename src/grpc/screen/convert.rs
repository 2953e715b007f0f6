//! ScreenWaitingList's messages to and from the service's types.

use super::super::convert::Reader;
use super::super::pb;
use super::super::{convert, invalid};
use crate::engine::screen::Screened;
use crate::model::Household;
use crate::service::ScreenFor;
use tonic::Status;

/// Households of one batch, at most.
pub const BATCH: usize = 5_000;

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

/// A later message: its households, each validated as EvaluateLetting's.
pub fn batch(message: pb::ScreenRequest) -> Result<Vec<Household>, Status> {
    let mut v = Reader::new();
    let households = match message.item {
        Some(pb::screen_request::Item::Batch(b)) => {
            if b.households.is_empty() {
                v.errors
                    .push("batch.households", "is empty: send 1 or more");
            }
            let n = v.count("batch.households", b.households.len(), BATCH);
            b.households
                .iter()
                .take(n)
                .enumerate()
                .map(|(i, h)| v.household(&format!("batch.households[{i}]"), Some(h)))
                .collect()
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

/// The answer to a batch, in its order.
pub fn result(refs: Vec<String>, screened: Vec<Screened>) -> pb::ScreenResult {
    pb::ScreenResult {
        households: refs
            .into_iter()
            .zip(screened)
            .map(|(applicant_ref, s)| pb::ScreenedHousehold {
                applicant_ref,
                rejected: s.rejected(),
                outcome: convert::outcome(s.outcome).into(),
                flexible_eligibility: convert::eligibility(s.flexible.status).into(),
                flexible_groups: s.flexible.groups.iter().map(|g| g.to_string()).collect(),
                rejection_rule_ids: s.rejection_rules.iter().map(|r| r.to_string()).collect(),
                priority_rule_ids: s.priority_rules.iter().map(|r| r.to_string()).collect(),
            })
            .collect(),
    }
}
