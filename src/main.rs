//! The `letting` binary. Only this file knows the process: arguments, the clock, stdout
//! and exit codes.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use cli::{Format, Status};

#[derive(Debug, Parser)]
#[command(
    name = "letting",
    version,
    about = "Letting rules for Danish social housing: rules engine and validation service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check or test the rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Decide one case (TOML or JSON) and print the decision with its reasons.
    Decide {
        /// The case file.
        file: PathBuf,
        /// The rules directory.
        #[arg(long, default_value = "rules", env = "LETTING_RULES")]
        rules: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Parse and validate every rule file; check the timelines. Exit 1 on any error.
    Check {
        #[arg(default_value = "rules")]
        dir: PathBuf,
        /// The date to check timelines and reference data against (default: today).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Run the declarative cases in DIR/tests. Exit 1 on any failure.
    Test {
        #[arg(default_value = "rules")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let result = match cli.command {
        Command::Rules { command } => match command {
            RulesCommand::Check { dir, as_of, format } => {
                let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
                cli::rules::check(&dir, as_of, format, &mut stdout)
            }
            RulesCommand::Test { dir, format } => cli::rules::test(&dir, format, &mut stdout),
        },
        Command::Decide {
            file,
            rules,
            format,
        } => cli::decide::decide(&rules, &file, format, &mut stdout),
    };
    match result {
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::Failed) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
