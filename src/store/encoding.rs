//! Encoding shared by both backends: kinds, counters, dwellings and decimals as stored,
//! instants to the microsecond, JSON bodies, and the refusal of an empty idempotency
//! response.

use std::str::FromStr;

use chrono::{DateTime, Timelike, Utc};

use super::{CaseKind, DecisionKind, IdempotencyRecord, StoreError};
use crate::engine::QuotaCounters;

pub(super) fn case_kind(text: &str) -> Option<CaseKind> {
    [
        CaseKind::Vacancy,
        CaseKind::Letting,
        CaseKind::Offer,
        CaseKind::Referral,
        CaseKind::Grant,
    ]
    .into_iter()
    .find(|k| k.as_str() == text)
}

pub(super) fn decision_kind(text: &str) -> Result<DecisionKind, StoreError> {
    DecisionKind::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown decision kind `{text}`")))
}

pub(super) fn parse_case_kind(text: &str) -> Result<CaseKind, StoreError> {
    case_kind(text).ok_or_else(|| StoreError::Corrupt(format!("unknown case kind `{text}`")))
}

/// Counters as stored: vacancies, then one column per channel.
pub(super) fn counters_to_db(counters: &QuotaCounters) -> Result<[i64; 5], StoreError> {
    let one = |v: u64| {
        i64::try_from(v).map_err(|_| StoreError::Database(format!("counter {v} is too large")))
    };
    Ok([
        one(counters.vacancies)?,
        one(counters.by_channel[0])?,
        one(counters.by_channel[1])?,
        one(counters.by_channel[2])?,
        one(counters.by_channel[3])?,
    ])
}

pub(super) fn counters_from_db(values: [i64; 5]) -> Result<QuotaCounters, StoreError> {
    let one =
        |v: i64| u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative counter {v}")));
    Ok(QuotaCounters {
        vacancies: one(values[0])?,
        by_channel: [
            one(values[1])?,
            one(values[2])?,
            one(values[3])?,
            one(values[4])?,
        ],
    })
}

pub(super) fn dwellings_from_db(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("dwellings {value} out of range")))
}

/// Instants are kept to the microsecond (PostgreSQL's precision) on both backends.
pub(super) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

pub(super) fn encode_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Database(format!("cannot encode a JSON body: {e}")))
}

pub(super) fn decode_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("a stored JSON body does not parse: {e}")))
}

/// An empty response marks a claim (see `Tx::claim_idempotency`), so none is stored.
pub(super) fn empty_response_refused(record: &IdempotencyRecord) -> Result<(), StoreError> {
    if record.response.is_empty() {
        return Err(StoreError::Database(
            "an idempotency record needs a response: an empty one marks a claim".to_owned(),
        ));
    }
    Ok(())
}

pub(super) fn decode_decimal(
    text: Option<String>,
) -> Result<Option<rust_decimal::Decimal>, StoreError> {
    text.map(|t| {
        rust_decimal::Decimal::from_str(&t)
            .map_err(|e| StoreError::Corrupt(format!("stored decimal `{t}`: {e}")))
    })
    .transpose()
}
