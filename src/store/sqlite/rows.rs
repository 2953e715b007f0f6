//! SQLite's values and rows: dates and instants as text, driver errors, and each table's
//! column list with its row reader.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::Row;

use crate::engine::QuotaCounters;
use crate::store::encoding::{
    counters_from_db, decision_kind, decode_decimal, decode_json, dwellings_from_db,
    parse_case_kind,
};
use crate::store::{
    ApiKeyRow, Area, AreaStatistics, CaseRow, DecisionRecord, Department, Organisation, StoreError,
};

pub(super) fn db(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

pub(super) fn get<T: rusqlite::types::FromSql>(
    row: &Row<'_>,
    index: usize,
) -> Result<T, StoreError> {
    row.get(index)
        .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
}

pub(super) fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(super) fn parse_date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("stored date `{text}`: {e}")))
}

pub(super) fn instant_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_instant(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("stored instant `{text}`: {e}")))
}

pub(super) fn limit_value(limit: u32) -> i64 {
    i64::from(limit)
}

pub(super) const DEPARTMENT_COLUMNS: &str = "id, organisation, area, name, dwellings";
pub(super) const STATISTICS_COLUMNS: &str =
    "area, year, facts, transfer_income_share, self_supporting_weeks, loaded_by_decision";
pub(super) const DECISION_COLUMNS: &str = "id, kind, municipality, organisation, department, area, \
     subject, event_date, recorded_at, outcome, channel, area_class, amount_ore, rule_set_id, \
     rule_set_hash, principal, body, schema_version";
pub(super) const CASE_COLUMNS: &str =
    "kind, id, municipality, organisation, department, status, updated_at, body";
pub(super) const API_KEY_COLUMNS: &str =
    "id, principal, municipality, secret_hash, created_at, revoked_at, label";

pub(super) const USER_COLUMNS: &str =
    "username, principal, municipality, password_hash, created_at";

pub(super) fn organisation_row(row: &Row<'_>) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: get(row, 0)?,
        name: get(row, 1)?,
    })
}

pub(super) fn area_row(row: &Row<'_>) -> Result<Area, StoreError> {
    Ok(Area {
        id: get(row, 0)?,
        municipality: get(row, 1)?,
        name: get(row, 2)?,
    })
}

pub(super) fn department_row(row: &Row<'_>) -> Result<Department, StoreError> {
    Ok(Department {
        id: get(row, 0)?,
        organisation: get(row, 1)?,
        area: get(row, 2)?,
        name: get(row, 3)?,
        dwellings: dwellings_from_db(get(row, 4)?)?,
    })
}

pub(super) fn statistics_row(row: &Row<'_>) -> Result<AreaStatistics, StoreError> {
    let facts: String = get(row, 2)?;
    Ok(AreaStatistics {
        area: get(row, 0)?,
        year: get(row, 1)?,
        facts: decode_json(&facts)?,
        transfer_income_share: decode_decimal(get(row, 3)?)?,
        self_supporting_weeks: decode_decimal(get(row, 4)?)?,
        loaded_by_decision: get(row, 5)?,
    })
}

pub(super) fn decision_row(row: &Row<'_>) -> Result<DecisionRecord, StoreError> {
    let (mut record, body) = decision_text_row(row)?;
    record.body = decode_json(&body)?;
    Ok(record)
}

/// A decision with its body as stored, as text (the record's `body` is null).
pub(super) fn decision_text_row(row: &Row<'_>) -> Result<(DecisionRecord, String), StoreError> {
    let kind: String = get(row, 1)?;
    let event_date: String = get(row, 7)?;
    let recorded_at: String = get(row, 8)?;
    let body: String = get(row, 16)?;
    let record = DecisionRecord {
        id: get(row, 0)?,
        kind: decision_kind(&kind)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        area: get(row, 5)?,
        subject: get(row, 6)?,
        event_date: parse_date(&event_date)?,
        recorded_at: parse_instant(&recorded_at)?,
        outcome: get(row, 9)?,
        channel: get(row, 10)?,
        area_class: get(row, 11)?,
        amount_ore: get(row, 12)?,
        rule_set_id: get(row, 13)?,
        rule_set_hash: get(row, 14)?,
        principal: get(row, 15)?,
        body: serde_json::Value::Null,
        schema_version: get(row, 17)?,
    };
    Ok((record, body))
}

pub(super) fn case_row(row: &Row<'_>) -> Result<CaseRow, StoreError> {
    let kind: String = get(row, 0)?;
    let updated_at: String = get(row, 6)?;
    let body: String = get(row, 7)?;
    Ok(CaseRow {
        kind: parse_case_kind(&kind)?,
        id: get(row, 1)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        status: get(row, 5)?,
        updated_at: parse_instant(&updated_at)?,
        body: decode_json(&body)?,
    })
}

pub(super) fn api_key_row(row: &Row<'_>) -> Result<ApiKeyRow, StoreError> {
    let created_at: String = get(row, 4)?;
    let revoked_at: Option<String> = get(row, 5)?;
    Ok(ApiKeyRow {
        id: get(row, 0)?,
        principal: get(row, 1)?,
        municipality: get(row, 2)?,
        secret_hash: get(row, 3)?,
        created_at: parse_instant(&created_at)?,
        revoked_at: revoked_at.as_deref().map(parse_instant).transpose()?,
        label: get(row, 6)?,
    })
}

pub(super) fn counters_row(row: &Row<'_>) -> Result<QuotaCounters, StoreError> {
    counters_from_db([
        get(row, 0)?,
        get(row, 1)?,
        get(row, 2)?,
        get(row, 3)?,
        get(row, 4)?,
    ])
}
