//! The command line: one file per subcommand. Only `main` turns results into exit codes.

pub mod decide;
pub mod demo;
pub mod import;
pub mod keys;
pub mod loadgen;
pub mod purge;
pub mod replay;
pub mod report;
pub mod rules;
pub mod serve;
pub mod timeline;
pub mod users;
pub mod what_if;

use clap::ValueEnum;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// For people.
    #[default]
    Human,
    /// For machines: one JSON document on stdout.
    Json,
}

/// What a command came to, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// The rules or the cases are wrong (exit 1).
    Failed,
}
