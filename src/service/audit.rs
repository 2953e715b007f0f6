//! Replay and what-if for the municipality and its auditors, over the caller's own
//! municipality. Nothing is written.

use std::sync::Arc;

use chrono::NaiveDate;

use super::{Ledger, Principal, ServiceError};
use crate::replay::{self, ReplayError, ReplaySummary, WhatIf};
use crate::rules::{self, LoadError, SourceFile};

/// A file of proposed rules: its path under the rules directory and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedFile {
    pub path: String,
    pub text: String,
}

/// The municipality and its auditors read the log against the rules; organisations do not.
pub(crate) fn require_auditing(principal: &Principal) -> Result<(), ServiceError> {
    match principal {
        Principal::Municipality { .. } | Principal::Auditor { .. } => Ok(()),
        Principal::Organisation { .. } => Err(ServiceError::PermissionDenied(
            "replay and what-if are for the municipality and its auditors, not for housing organisations".into(),
        )),
    }
}

fn replay_error(error: ReplayError) -> ServiceError {
    match error {
        ReplayError::Period { .. } => ServiceError::invalid("to_date", error.to_string()),
        ReplayError::Store(e) => ServiceError::Store(e),
        other => ServiceError::Corrupt(other.to_string()),
    }
}

impl Ledger {
    /// Replays the judged decisions of the caller's municipality dated `from` to `to`.
    pub async fn replay(
        &self,
        principal: &Principal,
        from: NaiveDate,
        to: NaiveDate,
        progress: impl FnMut(u64),
    ) -> Result<ReplaySummary, ServiceError> {
        require_auditing(principal)?;
        replay::replay(self.store(), principal.municipality(), from, to, progress)
            .await
            .map_err(replay_error)
    }

    /// Judges the caller's municipality's decisions of `from..=to` under the rules in
    /// force with `files` replaced or added.
    pub async fn what_if(
        &self,
        principal: &Principal,
        files: Vec<ProposedFile>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<WhatIf, ServiceError> {
        require_auditing(principal)?;
        let current = self.rules();
        let proposed = proposed_book(&current, files)?;
        replay::what_if(
            self.store(),
            &current,
            Arc::new(proposed),
            principal.municipality(),
            from,
            to,
        )
        .await
        .map_err(replay_error)
    }
}

/// The rules in force with `files` put in by path: a file whose name ends in the path
/// is replaced, another is added. A book with errors is refused with its diagnostics.
fn proposed_book(
    current: &crate::model::RuleBook,
    files: Vec<ProposedFile>,
) -> Result<crate::model::RuleBook, ServiceError> {
    let mut sources: Vec<SourceFile> = current
        .sources
        .iter()
        .map(|s| SourceFile {
            name: s.name.to_string(),
            text: s.text.to_string(),
        })
        .collect();
    for file in files {
        let suffix = format!("/{}", file.path);
        match sources
            .iter_mut()
            .find(|s| s.name == file.path || s.name.ends_with(&suffix))
        {
            Some(existing) => existing.text = file.text,
            None => sources.push(SourceFile {
                name: file.path,
                text: file.text,
            }),
        }
    }
    match rules::load_sources(&sources) {
        Ok(loaded) => Ok(loaded.book),
        Err(LoadError::Invalid(diagnostics)) => {
            let errors: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.severity == rules::Severity::Error)
                .take(5)
                .map(ToString::to_string)
                .collect();
            Err(ServiceError::invalid(
                "rule_files",
                format!("the proposed rules have errors: {}", errors.join("; ")),
            ))
        }
        Err(e) => Err(ServiceError::invalid("rule_files", e.to_string())),
    }
}
