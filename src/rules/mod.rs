//! Loading rule files: read a directory, check every file, and build the [`RuleBook`] the
//! engine runs on. A file with an error contributes nothing.

pub mod diagnostic;
pub mod edges;
pub mod embedded;
pub mod frame;
pub mod raw;
pub mod timeline;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::{ReferenceData, RuleBook, RuleSet, RuleSource};
pub use diagnostic::{Diagnostic, Severity};

/// A rule file's name (as shown in diagnostics) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// Loading rules failed: every diagnostic found, errors and warnings.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read rules from `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} error(s) in the rules; the first: {}", count_errors(.0), first_error(.0))]
    Invalid(Vec<Diagnostic>),
}

fn count_errors(diags: &[Diagnostic]) -> usize {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

fn first_error(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .find(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// A loaded rule book and the warnings its files gave.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub book: RuleBook,
    pub warnings: Vec<Diagnostic>,
}

/// Reads every `*.toml` under `dir` except the test cases in `tests/`, in path order.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && e.file_type().is_dir() && e.file_name() == "tests"));
    for entry in walker {
        let entry = entry.map_err(|e| LoadError::Io {
            path: dir.to_owned(),
            source: e.into(),
        })?;
        let path = entry.path();
        if entry.file_type().is_file() && path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
                path: path.to_owned(),
                source,
            })?;
            files.push(SourceFile {
                name: path.display().to_string(),
                text,
            });
        }
    }
    Ok(files)
}

/// Checks and loads rule files held in memory.
pub fn load_sources(files: &[SourceFile]) -> Result<Loaded, LoadError> {
    build(Vec::new(), ReferenceData::default(), files)
}

/// The rule book with `extra` layers added (test fixtures): the extra files are checked
/// as any rule file is, and the whole is checked against the national frame again.
pub fn extend(book: &RuleBook, extra: &[SourceFile]) -> Result<RuleBook, LoadError> {
    let loaded = build(book.sets.clone(), book.reference.clone(), extra)?;
    let sources: Vec<RuleSource> = book
        .sources
        .iter()
        .chain(loaded.book.sources.iter())
        .cloned()
        .collect();
    Ok(loaded.book.with_sources(sources))
}

fn build(
    mut sets: Vec<Arc<RuleSet>>,
    mut reference: ReferenceData,
    files: &[SourceFile],
) -> Result<Loaded, LoadError> {
    let mut diags = Vec::new();
    for file in files {
        let name: Arc<str> = file.name.as_str().into();
        let contents = validate::check_file(&name, &file.text, &mut diags);
        if let Some(set) = contents.rule_set {
            sets.push(Arc::new(set));
        }
        reference.designations.extend(contents.designations);
        reference.flexible_shares.extend(contents.flexible_shares);
    }
    diags.extend(frame::check(&sets, &reference));
    let sources = files
        .iter()
        .map(|f| RuleSource {
            name: f.name.as_str().into(),
            text: f.text.as_str().into(),
        })
        .collect();
    let book = RuleBook::new(sets, reference).with_sources(sources);
    diags.extend(timeline::structural(&book));
    // Only a book without errors so far is evaluated: the engine needs a consistent one.
    if !diags.iter().any(|d| d.severity == Severity::Error) {
        diags.extend(edges::check(&book));
    }
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(LoadError::Invalid(diags));
    }
    Ok(Loaded {
        book,
        warnings: diags,
    })
}

/// Checks and loads every rule file under `dir`.
pub fn load_dir(dir: &Path) -> Result<Loaded, LoadError> {
    load_sources(&read_dir(dir)?)
}
