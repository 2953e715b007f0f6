//! Bodies of older schema versions, brought up to [`SCHEMA_VERSION`] one step at a time.
//! The stored body is never rewritten (the log is append-only): a reader upgrades it as it
//! decodes it.

use serde_json::Value;

use super::{LogError, SCHEMA_VERSION};
use crate::store::{DecisionKind, DecisionRecord};

/// One step: the body of `from` turned into the body of `from + 1`.
type Step = fn(DecisionKind, Value) -> Value;

/// The steps, by the version they start from. Version 1 is the first layout the contract
/// describes (every body written before the schema was versioned).
const STEPS: &[(u32, Step)] = &[];

/// The body of `record` in the layout of [`SCHEMA_VERSION`].
pub fn upgrade(record: &DecisionRecord) -> Result<Value, LogError> {
    if record.schema_version > SCHEMA_VERSION {
        return Err(LogError::NewerSchema {
            id: record.id.clone(),
            version: record.schema_version,
        });
    }
    let mut body = record.body.clone();
    for version in record.schema_version..SCHEMA_VERSION {
        let step = STEPS
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
