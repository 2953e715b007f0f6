//! `letting loadgen`: a load generator and its measurements. It starts the same server as
//! `letting serve` in this process on a loopback port over a fresh database, seeds a
//! municipality of many departments in neutral areas through the gRPC API, and then, for
//! each concurrency level, calls the server as a real client for a fixed time:
//!
//! - `ping`: the no-op RPC, the baseline;
//! - `evaluate`: EvaluateLetting, a dry run of a letting (the engine with its full
//!   explanation over the vacancy's and area's stored facts, nothing written);
//! - `durable`: ProposeLetting with unique idempotency keys, each on a vacancy registered
//!   for it beforehand (an approved letting uses its vacancy up), so every call commits a
//!   letting, its decision and its idempotency record;
//! - `screen`: ScreenWaitingList over one connection, one stream: batches of households
//!   screened against one vacancy, with as many batches unanswered as the concurrency.
//!
//! It prints one row per (mode, concurrency): calls (households, for `screen`), calls per
//! second, p50 and p99 latency (of a batch, for `screen`) and the throughput relative to
//! Ping at the same concurrency; Ping is measured in every run for that ratio. Every run is
//! bounded in time and in calls, and everything stops by itself. Traffic goes to 127.0.0.1
//! only.
//!
//! The parts: `setup` (connections, seeding, vacancies), `runner` (the timed runs),
//! `screen` (the screening stream, its batches encoded before the run), `report` (rows,
//! the table, JSON) and `cpu` (CPU accounting from /proc).

mod cpu;
mod report;
mod runner;
mod screen;
mod setup;
mod worker;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use tonic::metadata::{Ascii, MetadataValue};

use super::{Format, Status};
use letting_rules::grpc::auth::create_key;
use letting_rules::grpc::server::{self, ServerOptions};
use letting_rules::service::{Ledger, Principal};
use letting_rules::store::{DecisionFilter, Store, StoreError};
use report::{Registration, Report, Row, print_table};
use runner::{Level, timed};
use setup::{Shared, bearer, clients, connect, organisation_id, register, seed, top_up};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ModeArg {
    /// Ping, evaluate, durable and screen, in that order, at each concurrency.
    #[default]
    All,
    /// The no-op RPC.
    Ping,
    /// EvaluateLetting: the engine with its explanation, nothing written (and Ping).
    Evaluate,
    /// ProposeLetting: each call commits a letting (and Ping).
    Durable,
    /// ScreenWaitingList: batches of households over one stream (and Ping).
    Screen,
}

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// A fresh, empty database: sqlite://PATH or postgres://USER@HOST/DB. A database that
    /// already holds keys or decisions is refused [default: a new SQLite file in a
    /// temporary directory, removed afterwards].
    #[arg(long)]
    pub database_url: Option<String>,
    /// Seconds each timed run lasts (1-600).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Seconds of untimed warm-up before each timed run (0-60; durable runs take at least
    /// 1, since their warm-up rate sizes the vacancies registered for the timed run).
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// Calls in flight at once, one run per level (1-1024 each).
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<usize>,
    #[arg(long, value_enum, default_value_t)]
    pub mode: ModeArg,
    /// In-flight calls sharing one HTTP/2 connection: concurrency 64 uses 8 connections.
    #[arg(long, default_value_t = 8)]
    pub calls_per_connection: usize,
    /// Departments, in neutral areas of ten departments each, that vacancies spread over.
    #[arg(long, default_value_t = 200)]
    pub departments: usize,
    /// Rules directory [default: ./rules if present, else the rules built into the binary].
    #[arg(long, env = "LETTING_RULES")]
    pub rules: Option<PathBuf>,
    /// Human: a Markdown table.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The municipality everything is seeded in.
const MUNICIPALITY: &str = "0101";
/// Housing organisations; department `i` belongs to organisation `i % ORGANISATIONS`.
const ORGANISATIONS: usize = 4;
/// Departments per area.
const DEPARTMENTS_PER_AREA: usize = 10;
/// Vacancies are dated here and lettings proposed here: under the 2007 Copenhagen rules.
const VACANCY_DATE: &str = "2007-03-01";
const PROPOSAL_DATE: &str = "2007-06-01";
/// Calls in flight while registering vacancies (untimed setup).
const REGISTER_CONCURRENCY: usize = 64;
/// A hard bound on the calls of one run, whatever the time.
const MAX_CALLS_PER_RUN: u64 = 5_000_000;
/// Vacancies registered per call in flight before the first durable warm-up (at most
/// FIRST_WARMUP_POOL); a warm-up that uses them up still measures its rate.
const FIRST_WARMUP_PER_CALL: usize = 500;
const FIRST_WARMUP_POOL: usize = 5_000;
/// The timed durable run gets this many times the vacancies its warm-up rate needs.
const POOL_MARGIN: f64 = 1.5;
/// Households in one ScreenWaitingList batch (some 80 KB encoded, under the 256 KiB limit).
const SCREEN_BATCH: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Ping,
    Evaluate,
    Durable,
    Screen,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Ping => "ping",
            Mode::Evaluate => "evaluate",
            Mode::Durable => "durable",
            Mode::Screen => "screen",
        }
    }

    /// What one of its "calls" is.
    fn unit(self) -> &'static str {
        match self {
            Mode::Screen => "households",
            Mode::Ping | Mode::Evaluate | Mode::Durable => "calls",
        }
    }
}

pub async fn run(args: LoadgenArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    if !(1..=600).contains(&args.duration_secs) {
        bail!("--duration-secs must be 1 to 600");
    }
    if args.warmup_secs > 60 {
        bail!("--warmup-secs must be 0 to 60");
    }
    if args.concurrency.is_empty() || args.concurrency.iter().any(|c| !(1..=1024).contains(c)) {
        bail!("--concurrency takes levels of 1 to 1024, such as 1,16,64");
    }
    if !(1..=256).contains(&args.calls_per_connection) {
        bail!("--calls-per-connection must be 1 to 256");
    }
    if !(1..=10_000).contains(&args.departments) {
        bail!("--departments must be 1 to 10000");
    }

    // The database: a fresh SQLite file unless one is named, and then it must be empty.
    let temp = match &args.database_url {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("letting-loadgen-")
                .tempdir()
                .context("cannot make a temporary directory")?,
        ),
    };
    let url = match (&args.database_url, &temp) {
        (Some(url), _) => url.clone(),
        (None, Some(dir)) => format!("sqlite://{}", dir.path().join("letting.db").display()),
        (None, None) => bail!("no database"),
    };
    let shown = match &args.database_url {
        Some(_) => url.split('@').next_back().unwrap_or_default().to_owned(),
        None => "a new SQLite file in a temporary directory".to_owned(),
    };
    let store = Arc::new(
        Store::open(&url)
            .await
            .with_context(|| format!("cannot open the database ({shown})"))?,
    );
    let used = store
        .read(|tx| {
            Box::pin(async move {
                let keys = tx.api_keys().await?.len();
                let decisions = tx
                    .decisions(&DecisionFilter::default(), None, 1)
                    .await?
                    .len();
                Ok::<_, StoreError>(keys + decisions)
            })
        })
        .await?;
    if used > 0 {
        store.close().await;
        bail!(
            "the database already holds keys or decisions: loadgen writes thousands of test \
             lettings, so give it a fresh, empty database"
        );
    }

    // Keys, made directly through the store.
    let municipality = Principal::Municipality {
        municipality: MUNICIPALITY.into(),
    };
    let (_, secret) = create_key(&store, &municipality, "loadgen").await?;
    let municipality_key = bearer(&secret)?;
    let mut organisations = Vec::new();
    for i in 0..ORGANISATIONS {
        let principal = Principal::Organisation {
            organisation: organisation_id(i),
            municipality: MUNICIPALITY.into(),
        };
        let (_, secret) = create_key(&store, &principal, "loadgen").await?;
        organisations.push(bearer(&secret)?);
    }

    // The server, as `letting serve` runs it.
    let loaded = super::serve::load_rules(args.rules.as_deref())
        .context("the rules have errors; the service does not start on broken rules")?;
    let ledger = Ledger::new(
        store.clone(),
        loaded.book,
        letting_rules::service::Clock::system(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        ledger,
        ServerOptions::default(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    eprintln!(
        "loadgen: serving on {addr} over {} ({shown})",
        store.backend()
    );

    let outcome = measure(&args, addr, municipality_key, organisations).await;

    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("loadgen: the server stopped with an error: {e}"),
        Err(e) => eprintln!("loadgen: the server task failed: {e}"),
    }
    store.close().await;
    drop(temp);

    let (runs, registrations) = outcome?;
    let report = Report {
        backend: store.backend(),
        database: shown,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        duration_secs: args.duration_secs,
        warmup_secs: args.warmup_secs,
        calls_per_connection: args.calls_per_connection,
        departments: args.departments,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        runs,
        registrations,
    };
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Human => print_table(&report, out)?,
    }
    Ok(if report.runs.iter().any(|r| r.errors > 0) {
        Status::Failed
    } else {
        Status::Ok
    })
}

async fn measure(
    args: &LoadgenArgs,
    addr: SocketAddr,
    municipality_key: MetadataValue<Ascii>,
    organisations: Vec<MetadataValue<Ascii>>,
) -> anyhow::Result<(Vec<Row>, Vec<Registration>)> {
    seed(addr, &municipality_key, args.departments).await?;
    let setup = clients(addr, REGISTER_CONCURRENCY / 8).await?;
    let mut context = Shared {
        organisations,
        evaluation: Vec::new(),
        pool: Mutex::new(Vec::new()),
        sequence: AtomicU64::new(0),
    };
    let modes: &[Mode] = match args.mode {
        ModeArg::All => &[Mode::Ping, Mode::Evaluate, Mode::Durable, Mode::Screen],
        ModeArg::Ping => &[Mode::Ping],
        // Ping first in every run: each mode is given as a ratio to it.
        ModeArg::Evaluate => &[Mode::Ping, Mode::Evaluate],
        ModeArg::Durable => &[Mode::Ping, Mode::Durable],
        ModeArg::Screen => &[Mode::Ping, Mode::Screen],
    };
    let mut registrations = Vec::new();
    if modes.contains(&Mode::Evaluate) || modes.contains(&Mode::Screen) {
        // Twice the departments: a department's first vacancy goes to municipal
        // referral, which an organisation cannot let (nor screen a waiting list for).
        let (vacancies, registration) =
            register(&setup, &context, args.departments, 2 * args.departments).await?;
        context.evaluation = vacancies;
        registrations.push(registration);
    }
    let context = Arc::new(context);
    let duration = Duration::from_secs(args.duration_secs);
    let warmup = Duration::from_secs(args.warmup_secs);
    let mut rows: Vec<Row> = Vec::new();
    let mut last_durable_rate: Option<f64> = None;
    for &concurrency in &args.concurrency {
        let connections = concurrency.div_ceil(args.calls_per_connection);
        let level = Level {
            clients: clients(addr, connections).await?,
            // A connection of its own for the screening stream.
            screen: connect(addr).await?,
        };
        let mut ping_rate = None;
        for &mode in modes {
            // Durable runs always warm up, for at least a second: the warm-up's rate sizes
            // the vacancies registered for the timed run.
            let warmup = if mode == Mode::Durable {
                warmup.max(Duration::from_secs(1))
            } else {
                warmup
            };
            if mode == Mode::Durable {
                // Enough vacancies for the warm-up, then for the timed run at the rate the
                // warm-up reached (registering them is durable load too, so it is done
                // here, untimed).
                let first = (FIRST_WARMUP_PER_CALL * concurrency).min(FIRST_WARMUP_POOL);
                let want = last_durable_rate.map_or(first, |rate| {
                    (rate * warmup.as_secs_f64() * POOL_MARGIN) as usize
                });
                top_up(&setup, &context, args.departments, want, &mut registrations).await?;
            }
            if !warmup.is_zero() {
                let warm = timed(mode, concurrency, &level, args, &context, warmup).await;
                if warm.errors > 0 {
                    bail!(
                        "{} at concurrency {concurrency} fails in the warm-up: {}",
                        mode.as_str(),
                        warm.first_error.unwrap_or_default()
                    );
                }
                if mode == Mode::Durable {
                    last_durable_rate = Some(warm.calls_per_second);
                }
            }
            if mode == Mode::Durable {
                let rate = last_durable_rate.unwrap_or(FIRST_WARMUP_POOL as f64);
                let want = (rate * args.duration_secs as f64 * POOL_MARGIN) as usize + 1_000;
                top_up(&setup, &context, args.departments, want, &mut registrations).await?;
            }
            let mut row = timed(mode, concurrency, &level, args, &context, duration).await;
            match mode {
                Mode::Ping => ping_rate = Some(row.calls_per_second),
                Mode::Durable => last_durable_rate = Some(row.calls_per_second),
                Mode::Evaluate | Mode::Screen => {}
            }
            row.vs_ping = ping_rate
                .filter(|p| *p > 0.0)
                .map(|p| row.calls_per_second / p);
            eprintln!(
                "loadgen: {:<8} concurrency {:>4}: {:>9} {}, {:>9.0}/s ({} of ping), p50 {:.3} ms, p99 {:.3} ms, others' CPU {:.0} %{}{}",
                mode.as_str(),
                concurrency,
                row.calls,
                mode.unit(),
                row.calls_per_second,
                row.vs_ping
                    .map_or("–".to_owned(), |v| format!("{:.0} %", v * 100.0)),
                row.p50_ms,
                row.p99_ms,
                row.cpu_other_processes.unwrap_or(0.0) * 100.0,
                if row.errors > 0 {
                    format!(", {} errors", row.errors)
                } else {
                    String::new()
                },
                if row.vacancies_ran_out {
                    ", ran out of vacancies"
                } else {
                    ""
                },
            );
            rows.push(row);
        }
    }
    Ok((rows, registrations))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CI-sized smoke run: every mode for 1 s over a fresh SQLite file, end to end,
    /// without errors; each made calls and is given as a ratio to Ping. Not a speed test.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_run_measures_every_mode() {
        let args = LoadgenArgs {
            database_url: None,
            duration_secs: 1,
            warmup_secs: 0,
            concurrency: vec![2],
            mode: ModeArg::All,
            calls_per_connection: 8,
            departments: 10,
            rules: None,
            format: Format::Human,
        };
        let mut out = Vec::new();
        let status = run(args, &mut out).await.expect("loadgen runs");
        let table = String::from_utf8(out).expect("utf-8");
        assert_eq!(status, Status::Ok, "{table}");
        for mode in ["ping", "evaluate", "durable", "screen"] {
            let row = table
                .lines()
                .find(|l| l.starts_with(&format!("| {mode} | 2 | 1 |")))
                .unwrap_or_else(|| panic!("no {mode} row: {table}"));
            // | mode | concurrency | connections | calls | errors | calls/s | p50 | p99 | vs Ping |
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            assert_ne!(cells[4], "0", "{mode} made no calls: {table}");
            assert_eq!(cells[5], "0", "{mode} had errors: {table}");
            assert!(
                cells[9].ends_with('%'),
                "{mode} has no ratio to ping: {table}"
            );
        }
    }
}
