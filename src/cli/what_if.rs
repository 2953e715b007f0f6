//! `letting what-if`: the decisions of a period judged again under proposed rules; which
//! would flip, grouped, and the compliance report's figures before and after. Nothing is
//! written to the log.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use letting_rules::replay;
use letting_rules::store::Store;

use super::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhatIfFormat {
    Text,
    Json,
    /// One row a flip, a group or a changed figure.
    Csv,
    /// One self-contained page with a chart.
    Html,
}

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    /// The proposed rules: a directory laid out as `rules/`.
    #[arg(long, value_name = "DIR")]
    rules: PathBuf,
    /// The first day whose decisions are judged again.
    #[arg(long)]
    from: NaiveDate,
    /// The last day, inclusive.
    #[arg(long)]
    to: NaiveDate,
    /// The rules in force, for the report before [default: ./rules if present, else the
    /// rules built into the binary].
    #[arg(long, value_name = "DIR")]
    current_rules: Option<PathBuf>,
    /// The municipality whose decisions are judged again and whose compliance report is
    /// compared.
    #[arg(long, default_value = "0101", env = "LETTING_MUNICIPALITY")]
    municipality: String,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = super::serve::DEFAULT_DATABASE)]
    database_url: String,
    #[arg(long, value_enum, default_value = "text")]
    format: WhatIfFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn run(args: WhatIfArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    if let Some(path) = args.database_url.strip_prefix("sqlite://")
        && !Path::new(path).exists()
    {
        bail!("there is no database at `{path}`: give --database-url");
    }
    let proposed = letting_rules::rules::load_dir(&args.rules)
        .with_context(|| {
            format!(
                "the proposed rules in `{}` have errors; nothing was judged",
                args.rules.display()
            )
        })?
        .book;
    let current = super::serve::load_rules(args.current_rules.as_deref())
        .context("the rules in force have errors")?
        .book;
    let store = Store::open(&args.database_url)
        .await
        .with_context(|| format!("cannot open `{}`", args.database_url))?;
    let result = replay::what_if(
        &store,
        &current,
        std::sync::Arc::new(proposed),
        &args.municipality,
        args.from,
        args.to,
    )
    .await;
    store.close().await;
    let w = result?;
    let written = match args.format {
        WhatIfFormat::Text => replay::what_if_text(&w),
        WhatIfFormat::Json => serde_json::to_string_pretty(&w)? + "\n",
        WhatIfFormat::Csv => replay::what_if_csv(&w)?,
        WhatIfFormat::Html => replay::what_if_html(&w),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, written.as_bytes())
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            writeln!(
                out,
                "{} of {} judged decisions would flip; {} report figures change; written to {}",
                w.flips.len(),
                w.decisions,
                w.figures.len(),
                path.display()
            )?;
        }
        None => out.write_all(written.as_bytes())?,
    }
    Ok(Status::Ok)
}
