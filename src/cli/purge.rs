//! `letting purge --before DATE`: removes the personal facts of closed cases decided before
//! DATE; the decisions, and every figure the reports compute from them, stay.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;

use letting_rules::service::purge;
use letting_rules::store::Store;

use super::{Format, Status};

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Facts of decisions dated before this day go, where their case is closed.
    #[arg(
        long,
        required_unless_present = "retention_days",
        conflicts_with = "retention_days"
    )]
    before: Option<NaiveDate>,
    /// The retention period: facts of closed cases decided more than this many days ago go
    /// (the day is counted in Copenhagen).
    #[arg(long, env = "LETTING_RETENTION_DAYS")]
    retention_days: Option<u32>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = super::serve::DEFAULT_DATABASE)]
    database_url: String,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// Purges; `today` is the day in Copenhagen (the binary's clock).
pub async fn run(args: PurgeArgs, today: NaiveDate, out: &mut dyn Write) -> anyhow::Result<Status> {
    let before = match (args.before, args.retention_days) {
        (Some(day), _) => day,
        (None, Some(days)) => today
            .checked_sub_days(chrono::Days::new(u64::from(days)))
            .with_context(|| format!("{days} days before {today} is not a date"))?,
        (None, None) => bail!("give --before DATE or --retention-days N"),
    };
    if let Some(path) = args.database_url.strip_prefix("sqlite://")
        && !Path::new(path).exists()
    {
        bail!("there is no database at `{path}`: give --database-url");
    }
    let store = Store::open(&args.database_url)
        .await
        .with_context(|| format!("cannot open `{}`", args.database_url))?;
    let result = purge::purge_personal_facts(&store, before).await;
    store.close().await;
    let purged = result?;
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&purged)?)?,
        Format::Human => {
            writeln!(
                out,
                "decisions before {} with personal facts: {}",
                before, purged.with_facts
            )?;
            writeln!(out, "  facts removed (case closed): {}", purged.purged)?;
            writeln!(out, "  facts kept (case still open): {}", purged.kept_open)?;
        }
    }
    Ok(Status::Ok)
}
