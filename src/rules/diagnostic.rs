//! Diagnostics of rule files: what is wrong, where (file:line:column), and how to fix it.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use toml::de::{DeTable, DeValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding of `rules check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Arc<str>,
    pub line: usize,
    pub column: usize,
    /// The offending key path, such as `letting_rules[2].when.op`.
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {level}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(key) = &self.key {
            write!(f, "\n  at `{key}`")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// "did you mean `effective_from`?" when a close candidate exists.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// One segment of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as `a.b[2].c`.
pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// A parsed file kept for locating key paths in it.
pub struct SourceMap<'a> {
    pub file: Arc<str>,
    text: &'a str,
    root: Option<DeTable<'a>>,
}

impl<'a> SourceMap<'a> {
    pub fn new(file: Arc<str>, text: &'a str, root: Option<DeTable<'a>>) -> Self {
        SourceMap { file, text, root }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Line and column (both from 1) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// Byte offset of the value at `path` (or of its key, with `key_span`), or of the
    /// deepest part of the path that exists.
    pub fn offset_of(&self, path: &[Seg], key_span: bool) -> usize {
        let Some(root) = &self.root else { return 0 };
        let mut offset = 0;
        let mut table: Option<&DeTable<'a>> = Some(root);
        let mut value: Option<&DeValue<'a>> = None;
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next = match (seg, table, value) {
                (Seg::Key(k), Some(t), _) => {
                    t.iter()
                        .find(|(key, _)| key.get_ref() == k)
                        .map(|(key, v)| {
                            let span = if last && key_span {
                                key.span()
                            } else {
                                v.span()
                            };
                            (span.start, v.get_ref())
                        })
                }
                (Seg::Index(n), _, Some(DeValue::Array(items))) => {
                    items.get(*n).map(|v| (v.span().start, v.get_ref()))
                }
                _ => None,
            };
            let Some((start, v)) = next else { break };
            offset = start;
            table = match v {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
            value = Some(v);
        }
        offset
    }

    pub fn diagnostic(
        &self,
        severity: Severity,
        path: &[Seg],
        key_span: bool,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.line_column(self.offset_of(path, key_span));
        Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            column,
            key: (!path.is_empty()).then(|| path_text(path)),
            message: message.into(),
            hint,
        }
    }

    pub fn at_offset(
        &self,
        severity: Severity,
        offset: usize,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.line_column(offset);
        Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            column,
            key: None,
            message: message.into(),
            hint,
        }
    }
}

/// Parses a dotted path with indices (`a.b[2].c`) as serde_ignored reports it.
pub fn parse_path(text: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in text.split('.') {
        if let Ok(n) = part.parse::<usize>() {
            segs.push(Seg::Index(n));
        } else if !part.is_empty() && part != "?" {
            segs.push(Seg::Key(part.to_owned()));
        }
    }
    segs
}
