//! The requests a decision records as they were made: the service takes them as commands,
//! and the log keeps them in the decision's body. Their JSON field names are part of the
//! log's contract (existing databases hold them), so renaming a field is a new schema
//! version (see [`super::SCHEMA_VERSION`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::AreaFacts;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterVacancy {
    pub department: String,
    /// The organisation's own reference for the dwelling.
    pub vacancy_ref: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MunicipalAct {
    pub letting_id: String,
    pub date: NaiveDate,
    /// The caseworker's reasons, recorded with the decision.
    pub reason: String,
    pub caseworker: String,
    /// For a rejection: the applicant is owed a replacement dwelling.
    pub replacement_owed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMoveIn {
    pub letting_id: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveInRecorded {
    pub decision_id: String,
    /// The vacancy was flexible but the tenant had no priority: the shortfall carries.
    pub flexible_shortfall: bool,
    /// Counts toward indicator 5 (flexible letting into exposed or high-risk areas).
    pub counts_flexible_indicator: bool,
    /// Counts toward indicator 6 (combined letting into exposed areas).
    pub counts_combined_indicator: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeOffer {
    pub letting_id: String,
    pub vacancy_id: String,
    pub date: NaiveDate,
    /// The caseworker who made the act (the console records its signed-in user); none
    /// when the caller did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerOffer {
    pub offer_id: String,
    pub accepted: bool,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantAct {
    pub grant_id: String,
    pub date: NaiveDate,
    pub reason: String,
}

/// One area's statistics for a year, as the municipality loads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaStatisticsInput {
    pub area: String,
    pub facts: AreaFacts,
    pub transfer_income_share: Option<rust_decimal::Decimal>,
    pub self_supporting_weeks: Option<rust_decimal::Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadStatistics {
    pub year: i32,
    pub date: NaiveDate,
    pub areas: Vec<AreaStatisticsInput>,
}
