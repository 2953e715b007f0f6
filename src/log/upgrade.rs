//! Bodies of older schema versions, brought up to [`SCHEMA_VERSION`] one step at a time.
//! The stored body is never rewritten (the log is append-only): a reader upgrades it as it
//! decodes it.

use serde_json::Value;

use super::{LogError, SCHEMA_VERSION};
use crate::store::{DecisionKind, DecisionRecord};

/// One step: the body of version `from` turned into the body of version `from + 1`.
pub type Step = fn(DecisionKind, Value) -> Value;

/// The steps, by the version they start from. Version 1 is the first layout the contract
/// describes (every body written before the schema was versioned).
const STEPS: &[(u32, Step)] = &[(1, judged_by_an_unkept_book)];

/// 1 → 2: a judged decision names the rule book that judged it. Books were not kept
/// before version 2, so an older decision names none, and says so.
fn judged_by_an_unkept_book(kind: DecisionKind, mut body: Value) -> Value {
    if super::JUDGED_KINDS.contains(&kind)
        && let Value::Object(fields) = &mut body
    {
        fields.entry("rule_book").or_insert(Value::Null);
    }
    body
}

/// The body of `record` in the layout of [`SCHEMA_VERSION`].
pub fn upgrade(record: &DecisionRecord) -> Result<Value, LogError> {
    upgrade_with(record, STEPS, SCHEMA_VERSION)
}

/// The body of `record` brought to version `current` by `steps`. A body newer than
/// `current` is refused: this program does not know its layout.
pub fn upgrade_with(
    record: &DecisionRecord,
    steps: &[(u32, Step)],
    current: u32,
) -> Result<Value, LogError> {
    if record.schema_version > current {
        return Err(LogError::NewerSchema {
            id: record.id.clone(),
            version: record.schema_version,
        });
    }
    let mut body = record.body.clone();
    for version in record.schema_version..current {
        let step = steps
            .iter()
            .find(|(from, _)| *from == version)
            .map(|(_, step)| step)
            .ok_or_else(|| LogError::Body {
                id: record.id.clone(),
                kind: record.kind.as_str(),
                version: record.schema_version,
                path: String::new(),
                message: format!("no upgrade from schema version {version} is known"),
            })?;
        body = step(record.kind, body);
    }
    Ok(body)
}
