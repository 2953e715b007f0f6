//! `letting report`: the quarterly compliance report from the same database the service
//! writes, as text, JSON, CSV or a self-contained HTML page.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, ValueEnum};

use letting_rules::report::render::{self, Format};
use letting_rules::report::{self, Detail, Period};
use letting_rules::store::Store;

use super::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Plain text, for a terminal or an e-mail.
    Text,
    /// The stable JSON document (docs/report-format.md).
    Json,
    /// One figure a row, for a spreadsheet (docs/report-format.md).
    Csv,
    /// One self-contained page with charts, for a browser or a printer.
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportDetail {
    /// Every figure with the ids of the decisions behind it.
    Full,
    /// Every figure, without the decision ids.
    Summary,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The quarter, such as 2007Q2.
    #[arg(long, conflicts_with_all = ["from", "to"], required_unless_present = "from")]
    quarter: Option<String>,
    /// The first day of another period (with --to).
    #[arg(long, requires = "to")]
    from: Option<NaiveDate>,
    /// The last day of the period, inclusive.
    #[arg(long, requires = "from")]
    to: Option<NaiveDate>,
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "full")]
    detail: ReportDetail,
    /// The municipality whose report it is.
    #[arg(long, default_value = "0101", env = "LETTING_MUNICIPALITY")]
    municipality: String,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = super::serve::DEFAULT_DATABASE)]
    database_url: String,
    /// Rules directory [default: ./rules if present, else the rules built into the binary].
    #[arg(long, env = "LETTING_RULES")]
    rules: Option<PathBuf>,
}

/// Makes the report; `now` is when (the binary's clock).
pub async fn run(
    args: ReportArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let period = match (&args.quarter, args.from, args.to) {
        (Some(q), _, _) => Period::parse_quarter(q)?,
        (None, Some(from), Some(to)) => Period::range(from, to)?,
        _ => bail!("give --quarter YYYYQn, or --from DATE and --to DATE"),
    };
    if let Some(path) = args.database_url.strip_prefix("sqlite://")
        && !Path::new(path).exists()
    {
        bail!(
            "there is no database at `{path}`: give --database-url, or run `letting serve` or `letting demo` first"
        );
    }
    let book = super::serve::load_rules(args.rules.as_deref())
        .context("the rules have errors; a report is not made on broken rules")?
        .book;
    let store = Store::open(&args.database_url)
        .await
        .with_context(|| format!("cannot open `{}`", args.database_url))?;
    let result = report::compute(&store, &book, &args.municipality, period).await;
    store.close().await;
    let mut report = result?.with_detail(match args.detail {
        ReportDetail::Full => Detail::Full,
        ReportDetail::Summary => Detail::Summary,
    });
    report.generated_at = Some(now);
    let format = match args.format {
        ReportFormat::Text => Format::Text,
        ReportFormat::Json => Format::Json,
        ReportFormat::Csv => Format::Csv,
        ReportFormat::Html => Format::Html,
    };
    let written = render::render(&report, format)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, written.as_bytes())
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            let s = &report.summary;
            writeln!(
                out,
                "{} report {} of municipality {} written to {}: {} checks, {} failed, {} violation(s)",
                format.as_str(),
                report.period.label,
                report.municipality,
                path.display(),
                s.checks,
                s.failed,
                s.violations
            )?;
        }
        None => out.write_all(written.as_bytes())?,
    }
    Ok(Status::Ok)
}
