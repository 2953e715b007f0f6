//! PostgreSQL's values and rows: statement parameters, driver errors as text, and each
//! table's column list with its row reader.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::engine::QuotaCounters;
use crate::store::encoding::{
    counters_from_db, decision_kind, decode_decimal, decode_json, dwellings_from_db,
    parse_case_kind,
};
use crate::store::{
    ApiKeyRow, Area, AreaStatistics, CaseRow, DecisionRecord, Department, Organisation, PoolUse,
    StoreError,
};

pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// A driver error as text, with the server's message and SQLSTATE when there is one.
pub(super) fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

pub(super) fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
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
pub(super) const COUNTER_COLUMNS: &str =
    "vacancies, municipal_referral, flexible, internal_list, external_list";

pub(super) const USER_COLUMNS: &str =
    "username, principal, municipality, password_hash, created_at";

pub(super) fn organisation_row(row: &Row) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: get(row, 0)?,
        name: get(row, 1)?,
    })
}

pub(super) fn area_row(row: &Row) -> Result<Area, StoreError> {
    Ok(Area {
        id: get(row, 0)?,
        municipality: get(row, 1)?,
        name: get(row, 2)?,
    })
}

pub(super) fn department_row(row: &Row) -> Result<Department, StoreError> {
    Ok(Department {
        id: get(row, 0)?,
        organisation: get(row, 1)?,
        area: get(row, 2)?,
        name: get(row, 3)?,
        dwellings: dwellings_from_db(get(row, 4)?)?,
    })
}

pub(super) fn statistics_row(row: &Row) -> Result<AreaStatistics, StoreError> {
    Ok(AreaStatistics {
        area: get(row, 0)?,
        year: get(row, 1)?,
        facts: decode_json(get(row, 2)?)?,
        transfer_income_share: decode_decimal(get(row, 3)?)?,
        self_supporting_weeks: decode_decimal(get(row, 4)?)?,
        loaded_by_decision: get(row, 5)?,
    })
}

pub(super) fn decision_row(row: &Row) -> Result<DecisionRecord, StoreError> {
    let (mut record, body) = decision_text_row(row)?;
    record.body = decode_json(&body)?;
    Ok(record)
}

/// A decision with its body as stored, as text (the record's `body` is null).
pub(super) fn decision_text_row(row: &Row) -> Result<(DecisionRecord, String), StoreError> {
    let record = DecisionRecord {
        id: get(row, 0)?,
        kind: decision_kind(get(row, 1)?)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        area: get(row, 5)?,
        subject: get(row, 6)?,
        event_date: get(row, 7)?,
        recorded_at: get(row, 8)?,
        outcome: get(row, 9)?,
        channel: get(row, 10)?,
        area_class: get(row, 11)?,
        amount_ore: get(row, 12)?,
        rule_set_id: get(row, 13)?,
        rule_set_hash: get(row, 14)?,
        principal: get(row, 15)?,
        body: serde_json::Value::Null,
        schema_version: schema_version(get(row, 17)?)?,
    };
    Ok((record, get(row, 16)?))
}

pub(super) fn schema_version(stored: i32) -> Result<u32, StoreError> {
    u32::try_from(stored)
        .map_err(|_| StoreError::Corrupt(format!("a decision's schema version is {stored}")))
}

pub(super) fn case_row(row: &Row) -> Result<CaseRow, StoreError> {
    Ok(CaseRow {
        kind: parse_case_kind(get(row, 0)?)?,
        id: get(row, 1)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        status: get(row, 5)?,
        updated_at: get(row, 6)?,
        body: decode_json(get(row, 7)?)?,
    })
}

pub(super) fn api_key_row(row: &Row) -> Result<ApiKeyRow, StoreError> {
    Ok(ApiKeyRow {
        id: get(row, 0)?,
        principal: get(row, 1)?,
        municipality: get(row, 2)?,
        secret_hash: get(row, 3)?,
        created_at: get(row, 4)?,
        revoked_at: get(row, 5)?,
        label: get(row, 6)?,
    })
}

pub(super) fn counters_row(row: &Row) -> Result<QuotaCounters, StoreError> {
    counters_from_db([
        get(row, 0)?,
        get(row, 1)?,
        get(row, 2)?,
        get(row, 3)?,
        get(row, 4)?,
    ])
}

pub(super) fn pool_row(row: &Row) -> Result<PoolUse, StoreError> {
    Ok(PoolUse {
        committed_ore: get(row, 0)?,
        paid_ore: get(row, 1)?,
    })
}
