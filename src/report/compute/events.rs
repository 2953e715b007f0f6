//! A decision as the report reads it, a load of area statistics, and the exposed-area classes.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::log::{self, AreaStatisticsInput, Body, Outcome};
use crate::report::ReportError;
use crate::store::{DecisionKind, DecisionRecord};

/// Classes that are exposed areas (the 2007 agreement's and the national law's words).
pub(super) const EXPOSED: [&str; 2] = ["exposed", "hard_exposed"];
pub(super) const HIGH_RISK: [&str; 1] = ["high_risk"];

/// A decision as the report needs it: the indexed columns and a few facts of the body.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) id: String,
    pub(super) kind: DecisionKind,
    pub(super) date: NaiveDate,
    pub(super) department: Option<String>,
    pub(super) area: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) outcome: Outcome,
    pub(super) channel: Option<String>,
    pub(super) area_class: Option<String>,
    pub(super) amount_ore: Option<i64>,
    pub(super) rule_set_id: Option<String>,
    pub(super) rule_set_hash: Option<String>,
    /// The rules that fired (letting, referral, grant), with their legal source.
    pub(super) fired: Vec<(String, Option<String>)>,
    /// A letting whose decision owes the applicant a replacement offer.
    pub(super) obligations: bool,
    /// A municipal rejection that owes the applicant a replacement offer.
    pub(super) replacement_owed: bool,
}

impl Event {
    pub(super) fn from_record(d: DecisionRecord) -> Result<Event, ReportError> {
        let body = log::decode(&d).map_err(|e| ReportError::Corrupt(e.to_string()))?;
        Ok(Event::of(d, &body))
    }

    /// From a record whose body is still its stored text.
    pub(super) fn from_text((d, text): (DecisionRecord, String)) -> Result<Event, ReportError> {
        let body = log::decode_text(&d, &text).map_err(|e| ReportError::Corrupt(e.to_string()))?;
        Ok(Event::of(d, &body))
    }

    fn of(d: DecisionRecord, body: &Body) -> Event {
        let fired = body
            .explanation()
            .map(|explanation| {
                explanation
                    .fired
                    .iter()
                    .map(|f| {
                        let source = match &f.source.section {
                            Some(section) => format!("{}, {section}", f.source.document),
                            None => f.source.document.to_string(),
                        };
                        (
                            f.rule_id.to_string(),
                            Some(source).filter(|s| !s.is_empty()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let obligations = matches!(body, Body::Letting(l) if !l.decision.obligations.is_empty());
        let replacement_owed =
            matches!(body, Body::MunicipalRejection(r) if r.act.replacement_owed);
        Event {
            id: d.id,
            kind: d.kind,
            date: d.event_date,
            department: d.department,
            area: d.area,
            subject: d.subject,
            outcome: body.outcome(),
            channel: d.channel,
            area_class: d.area_class,
            amount_ore: d.amount_ore,
            rule_set_id: d.rule_set_id,
            rule_set_hash: d.rule_set_hash,
            fired,
            obligations,
            replacement_owed,
        }
    }

    pub(super) fn class_in(&self, classes: &[&str]) -> bool {
        self.area_class
            .as_deref()
            .is_some_and(|c| classes.contains(&c))
    }
}

/// One load of area statistics, from its decision.
#[derive(Debug, Clone)]
pub(super) struct StatLoad {
    pub(super) decision_id: String,
    pub(super) date: NaiveDate,
    pub(super) year: i32,
    pub(super) areas: HashMap<String, AreaStatisticsInput>,
}
