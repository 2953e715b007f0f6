//! The fields of a request that failed validation, and why.

use super::cpr::redact;
use super::limits;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// The fields that failed, so a caller can fix them all at once: the first
/// [`limits::FIELD_ERRORS`] of them, and how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    errors: Vec<FieldError>,
    more: usize,
}

impl Invalid {
    /// Records a field's error. A reason never shows a CPR-shaped run, whatever it quotes
    /// (a number, say); past [`limits::FIELD_ERRORS`] errors are counted, not kept, so the
    /// answer to a request of a million bad entries stays small.
    pub fn push(&mut self, field: impl Into<String>, reason: impl AsRef<str>) {
        if self.errors.len() >= limits::FIELD_ERRORS {
            self.more = self.more.saturating_add(1);
            return;
        }
        self.errors.push(FieldError {
            field: field.into(),
            reason: redact(reason.as_ref()),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors listed.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// How many errors there were beyond those listed.
    pub fn more(&self) -> usize {
        self.more
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}
