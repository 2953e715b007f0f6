//! `letting users add`: a caseworker console user, bound to one principal as an API key
//! is. The password is read from standard input (a pipe), or asked for at a terminal with
//! echo off; only its Argon2 hash is stored.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::Args;

use letting_rules::rules;
use letting_rules::service::{Clock, Ledger, Principal};
use letting_rules::store::Store;

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The name the caseworker signs in with (a-z, 0-9, `.`, `_`, `-`); it is recorded on
    /// every act they make.
    #[arg(long)]
    pub username: String,
    /// `municipality`, `auditor` or `organisation:ID`.
    #[arg(long)]
    pub role: String,
    #[arg(long, default_value = "0101")]
    pub municipality: String,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = super::serve::DEFAULT_DATABASE)]
    pub database_url: String,
}

/// Reads one line: the password. At a terminal, echo is turned off while it is typed.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("Password for the new user: ");
        std::io::stderr().flush()?;
        let _ = std::process::Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn add(args: AddArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let database_url = args.database_url.as_str();
    let Some(principal) = Principal::parse(&args.role, &args.municipality) else {
        bail!(
            "`{}` is not a role: use municipality, auditor or organisation:ID",
            args.role
        );
    };
    let password = read_password()?;
    let store = std::sync::Arc::new(
        Store::open(database_url)
            .await
            .with_context(|| format!("cannot open `{database_url}`"))?,
    );
    // The ledger needs a rule book; adding a user reads none of it.
    let book = rules::load_sources(&rules::embedded::files())
        .context("the built-in rules")?
        .book;
    let ledger = Ledger::new(store.clone(), book, Clock::system());
    let added = ledger.add_user(&args.username, &principal, &password).await;
    store.close().await;
    added?;
    writeln!(
        out,
        "added console user `{}` ({} of {}); only the password's Argon2 hash is stored",
        args.username,
        principal.label(),
        principal.municipality()
    )?;
    Ok(())
}
