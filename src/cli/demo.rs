//! `letting demo`: seeds a deterministic Copenhagen of 2007 into an empty database through
//! the same service calls the API makes, and prints what it did.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;

use super::{Format, Status};
use letting_rules::demo::{self, DemoOptions};
use letting_rules::service::{Ledger, ServiceError};
use letting_rules::store::{DecisionFilter, Store};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// sqlite://PATH or postgres://USER@HOST/DB. It must hold no decisions yet.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = super::serve::DEFAULT_DATABASE)]
    pub database_url: String,
    /// Rules directory [default: ./rules if present, else the rules built into the binary].
    #[arg(long, env = "LETTING_RULES")]
    pub rules: Option<PathBuf>,
    /// The seed of the demo's choices: the same seed gives the same decisions.
    #[arg(long, default_value_t = demo::DEFAULT_SEED)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Whether the store already holds any decision.
async fn holds_decisions(store: &Store) -> Result<bool, ServiceError> {
    store
        .read(|tx| {
            Box::pin(async move {
                Ok::<_, ServiceError>(
                    !tx.decisions(&DecisionFilter::default(), None, 1)
                        .await?
                        .is_empty(),
                )
            })
        })
        .await
}

pub async fn run(args: DemoArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let loaded = super::serve::load_rules(args.rules.as_deref())
        .context("the rules have errors; the demo does not run on broken rules")?;
    let url = &args.database_url;
    let store = Arc::new(
        Store::open(url)
            .await
            .with_context(|| format!("cannot open `{url}`"))?,
    );
    if holds_decisions(&store).await? {
        store.close().await;
        bail!(
            "`{url}` already holds decisions: the demo seeds a whole city into an empty \
             database and would mix with them; give it a new one, such as \
             --database-url sqlite://data/demo.db"
        );
    }
    let ledger = Ledger::new(
        store.clone(),
        loaded.book,
        letting_rules::service::Clock::system(),
    );
    let started = Instant::now();
    let seeded = demo::seed(&ledger, &DemoOptions { seed: args.seed }).await;
    store.close().await;
    let summary = seeded.context("the demo stopped")?;
    let elapsed = started.elapsed();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &summary)?;
            writeln!(out)?;
        }
        Format::Human => {
            writeln!(out, "{summary}")?;
            writeln!(
                out,
                "seeded `{url}` in {:.1} s ({} database)",
                elapsed.as_secs_f64(),
                store.backend()
            )?;
            let db = if url == super::serve::DEFAULT_DATABASE {
                String::new()
            } else {
                format!(" --database-url {url}")
            };
            writeln!(
                out,
                "\nnext: letting report{db} --quarter 2007Q2 --format html --out report.html"
            )?;
        }
    }
    Ok(Status::Ok)
}
