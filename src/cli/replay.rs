//! `letting replay`: every judged decision of a period derived again with the rule book
//! version that made it; a decision that comes out differently is an error (exit 1).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;

use letting_rules::replay::{self, NotReplayable, ReplaySummary, Verdict};
use letting_rules::store::Store;

use super::{Format, Status};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The first day whose decisions are replayed.
    #[arg(long)]
    from: NaiveDate,
    /// The last day, inclusive.
    #[arg(long)]
    to: NaiveDate,
    /// The municipality whose decisions are replayed.
    #[arg(long, default_value = "0101", env = "LETTING_MUNICIPALITY")]
    municipality: String,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = super::serve::DEFAULT_DATABASE)]
    database_url: String,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub async fn run(args: ReplayArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    if let Some(path) = args.database_url.strip_prefix("sqlite://")
        && !Path::new(path).exists()
    {
        bail!("there is no database at `{path}`: give --database-url");
    }
    let store = Store::open(&args.database_url)
        .await
        .with_context(|| format!("cannot open `{}`", args.database_url))?;
    let result = replay::replay(&store, &args.municipality, args.from, args.to, |done| {
        eprint!("\rreplayed {done} decisions");
    })
    .await;
    eprintln!();
    store.close().await;
    let summary = result?;
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?,
        Format::Human => write_text(&summary, out)?,
    }
    Ok(if summary.all_identical() {
        Status::Ok
    } else {
        Status::Failed
    })
}

fn write_text(s: &ReplaySummary, out: &mut dyn Write) -> std::io::Result<()> {
    let range = match (s.from, s.to) {
        (Some(from), Some(to)) => format!("{from} to {to}"),
        _ => "the period".to_owned(),
    };
    writeln!(
        out,
        "replayed {} judged decisions from {range} with {} rule book version(s)",
        s.decisions,
        s.rule_books.len()
    )?;
    for hash in &s.rule_books {
        writeln!(out, "  rule book {hash}")?;
    }
    writeln!(out, "  identical       {:>8}", s.identical)?;
    writeln!(out, "  differing       {:>8}", s.differing)?;
    writeln!(out, "  failing         {:>8}", s.failing)?;
    writeln!(out, "  not replayable  {:>8}", s.not_replayable)?;
    for (reason, count) in &s.not_replayable_by_reason {
        let why = match reason {
            NotReplayable::NoRuleBook => "decided before rule books were kept",
            NotReplayable::NoInputs => "facts not kept or purged",
        };
        writeln!(out, "    {why}: {count}")?;
    }
    for p in &s.problems {
        match &p.verdict {
            Verdict::Differs {
                field,
                decided,
                replayed,
            } => writeln!(
                out,
                "DIFFERS {} ({}, {}): {field}: decided {decided}, replayed {replayed}",
                p.decision_id, p.kind, p.event_date
            )?,
            Verdict::Fails { error } => writeln!(
                out,
                "FAILS {} ({}, {}): {error}",
                p.decision_id, p.kind, p.event_date
            )?,
            Verdict::Identical | Verdict::NotReplayable { .. } => {}
        }
    }
    if s.all_identical() {
        writeln!(out, "every judged decision was derived again exactly")?;
    }
    Ok(())
}
