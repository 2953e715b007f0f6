//! The `letting` binary. Only this file knows the process: arguments, environment, the
//! clock, the async runtime, logging, stdout and exit codes.

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use cli::{Format, Status};
use letting_rules::service::Principal;

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
    /// Run the gRPC service and the caseworker console.
    Serve(ServeArgs),
    /// Check or test the rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Decide one case (TOML or JSON) and print the decision with its reasons and, for a
    /// letting, its counterfactuals: the smallest change of one fact that flips it.
    Decide {
        /// The case file.
        file: PathBuf,
        /// The rules directory.
        #[arg(long, default_value = "rules", env = "LETTING_RULES")]
        rules: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Add, list or revoke API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        db: DatabaseArgs,
        /// `json`: one JSON document on stdout (never a hash; a new key's secret once).
        #[arg(long, value_enum, default_value_t, global = true)]
        format: Format,
    },
    /// Add caseworker console users (username and password, stored as an Argon2 hash).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Load organisations, areas and departments from a TOML or CSV file.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
        /// The municipality the registry belongs to.
        #[arg(long, default_value = "0101", env = "LETTING_MUNICIPALITY")]
        municipality: String,
    },
    /// Measure the service under load: an in-process server on loopback over a fresh
    /// database, called by a real client; prints throughput and latency per run.
    Loadgen(cli::loadgen::LoadgenArgs),
    /// Seed an empty database with a deterministic demo city: Copenhagen in 2007.
    Demo(cli::demo::DemoArgs),
    /// The quarterly compliance report, from the decision log: text, JSON, CSV or HTML.
    Report(cli::report::ReportArgs),
    /// Derive every judged decision of a period again, with the rule book version that made
    /// it, and compare; exit 1 if any comes out differently.
    Replay(cli::replay::ReplayArgs),
    /// Remove the personal facts of closed cases decided before a day; the decisions and
    /// the report's figures stay.
    Purge(cli::purge::PurgeArgs),
    /// Judge a period's decisions again under proposed rules: which would flip, grouped,
    /// and the report's figures before and after. Nothing is written.
    #[command(name = "what-if")]
    WhatIf(cli::what_if::WhatIfArgs),
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "LETTING_DATABASE_URL", default_value = cli::serve::DEFAULT_DATABASE)]
    database_url: String,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "LETTING_LISTEN")]
    listen: Option<SocketAddr>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://data/letting.db].
    #[arg(long, env = "LETTING_DATABASE_URL")]
    database_url: Option<String>,
    /// Rules directory [default: ./rules if present, else the rules built into the binary].
    #[arg(long, env = "LETTING_RULES")]
    rules: Option<PathBuf>,
    /// PEM certificate chain; with --tls-key, serve TLS.
    #[arg(long, env = "LETTING_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, env = "LETTING_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// TOML file of pre-provisioned keys (hashes only), added at start.
    #[arg(long, env = "LETTING_API_KEY_FILE")]
    api_key_file: Option<PathBuf>,
    /// Municipality of the key created on first start [default: 0101].
    #[arg(long, env = "LETTING_MUNICIPALITY")]
    municipality: Option<String>,
    /// Config file [default: ./letting.toml if present].
    #[arg(long, env = "LETTING_CONFIG")]
    config: Option<PathBuf>,
    /// Seconds before a call is cancelled [default: 30].
    #[arg(long, env = "LETTING_REQUEST_TIMEOUT_SECS")]
    request_timeout_secs: Option<u64>,
    /// Calls served at once; more wait [default: 1024].
    #[arg(long, env = "LETTING_CONCURRENCY_LIMIT")]
    concurrency_limit: Option<usize>,
    /// Serve Prometheus metrics at http://ADDR/metrics [default: off].
    #[arg(long, env = "LETTING_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Address of the caseworker console (HTTP) [default: 127.0.0.1:8080].
    #[arg(long, env = "LETTING_CONSOLE_LISTEN")]
    console_listen: Option<SocketAddr>,
    /// Mark the console's session cookie Secure: the console is reached over HTTPS (a
    /// TLS-terminating proxy in front of it).
    #[arg(long, env = "LETTING_CONSOLE_SECURE_COOKIES")]
    console_secure_cookies: bool,
    /// Serve no caseworker console.
    #[arg(long, env = "LETTING_NO_CONSOLE")]
    no_console: bool,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "LETTING_LOG_JSON")]
    log_json: bool,
    /// Export tracing spans over OTLP/gRPC to the collector at URL, such as
    /// http://127.0.0.1:4317 [default: off].
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    otlp_endpoint: Option<String>,
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
    /// Which layers judge which dates, and which lists are in force, from 2005 on.
    Timeline {
        #[arg(default_value = "rules")]
        dir: PathBuf,
        /// A municipality code (or DK); default: national law and every municipality with
        /// layers of its own.
        #[arg(long)]
        jurisdiction: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a key; its secret is printed once.
    Add {
        /// A key for this housing organisation (its own departments only).
        #[arg(long, conflicts_with_all = ["municipality_key", "auditor"])]
        organisation: Option<String>,
        /// A municipality key (approvals, offers, grants, statistics, registry).
        #[arg(long)]
        municipality_key: bool,
        /// A read-only auditor key.
        #[arg(long, conflicts_with = "municipality_key")]
        auditor: bool,
        #[arg(long, default_value = "0101")]
        municipality: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user; the password is read from standard input (asked for at a terminal).
    Add(cli::users::AddArgs),
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LETTING_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,refinery_core=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Logging as `init_logging` sets it up, and every span also exported to OpenTelemetry.
fn init_traced_logging(json: bool, telemetry: &letting_rules::telemetry::Telemetry) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("LETTING_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,refinery_core=warn"));
    let text = (!json).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let lines = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(lines)
        .with(telemetry.layer())
        .init();
}

/// `letting serve` with its spans exported to the OTLP collector at `endpoint`; the spans
/// still batched are exported before the process ends.
fn serve_traced(args: ServeArgs, endpoint: &str) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let telemetry = {
        // The exporter's gRPC channel runs on the runtime.
        let _entered = runtime.enter();
        letting_rules::telemetry::Telemetry::otlp(endpoint)?
    };
    init_traced_logging(args.log_json, &telemetry);
    let served = settings(args).and_then(|s| runtime.block_on(cli::serve::run(s)));
    if let Err(e) = telemetry.shutdown() {
        eprintln!("warning: {e}");
    }
    served
}

fn settings(args: ServeArgs) -> anyhow::Result<cli::serve::Settings> {
    let file = cli::serve::read_config(args.config.as_deref())?;
    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => anyhow::bail!("give both a TLS certificate and a TLS key, or neither"),
    };
    Ok(cli::serve::Settings {
        listen: match args.listen.or(file.listen) {
            Some(a) => a,
            None => cli::serve::DEFAULT_LISTEN
                .parse()
                .context("default address")?,
        },
        database_url: args
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| cli::serve::DEFAULT_DATABASE.into()),
        rules: args.rules.or(file.rules),
        tls,
        api_key_file: args.api_key_file.or(file.api_key_file),
        municipality: args
            .municipality
            .or(file.municipality)
            .unwrap_or_else(|| "0101".into()),
        request_timeout: Duration::from_secs(
            args.request_timeout_secs
                .or(file.request_timeout_secs)
                .unwrap_or(30),
        ),
        concurrency_limit: args
            .concurrency_limit
            .or(file.concurrency_limit)
            .unwrap_or(1024),
        metrics_listen: args.metrics_listen.or(file.metrics_listen),
        console_listen: if args.no_console || file.no_console == Some(true) {
            None
        } else {
            Some(match args.console_listen.or(file.console_listen) {
                Some(a) => a,
                None => cli::serve::DEFAULT_CONSOLE_LISTEN
                    .parse()
                    .context("default console address")?,
            })
        },
        console_secure_cookies: args.console_secure_cookies
            || file.console_secure_cookies == Some(true),
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let result = match cli.command {
        Command::Serve(args) => match args.otlp_endpoint.clone() {
            Some(endpoint) => serve_traced(args, &endpoint).map(|()| Status::Ok),
            None => {
                init_logging(args.log_json);
                settings(args)
                    .and_then(|s| runtime()?.block_on(cli::serve::run(s)))
                    .map(|()| Status::Ok)
            }
        },
        Command::Rules { command } => match command {
            RulesCommand::Check { dir, as_of, format } => {
                let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
                cli::rules::check(&dir, as_of, format, &mut stdout)
            }
            RulesCommand::Test { dir, format } => cli::rules::test(&dir, format, &mut stdout),
            RulesCommand::Timeline {
                dir,
                jurisdiction,
                format,
            } => cli::timeline::timeline(&dir, jurisdiction.as_deref(), format, &mut stdout),
        },
        Command::Decide {
            file,
            rules,
            format,
        } => cli::decide::decide(&rules, &file, format, &mut stdout),
        Command::Keys {
            command,
            db,
            format,
        } => {
            let command = match command {
                KeysCommand::Add {
                    organisation,
                    municipality_key,
                    auditor,
                    municipality,
                    label,
                } => {
                    let principal = match (organisation, municipality_key, auditor) {
                        (Some(organisation), _, _) => Principal::Organisation {
                            organisation,
                            municipality,
                        },
                        (None, true, _) => Principal::Municipality { municipality },
                        (None, false, true) => Principal::Auditor { municipality },
                        (None, false, false) => {
                            eprintln!(
                                "error: say whose key: --organisation ID, --municipality-key or --auditor"
                            );
                            return ExitCode::from(2);
                        }
                    };
                    cli::keys::KeyCommand::Add { principal, label }
                }
                KeysCommand::List => cli::keys::KeyCommand::List,
                KeysCommand::Revoke { id } => cli::keys::KeyCommand::Revoke { id },
            };
            runtime()
                .and_then(|rt| {
                    rt.block_on(cli::keys::run(
                        &db.database_url,
                        command,
                        format,
                        &mut stdout,
                    ))
                })
                .map(|()| Status::Ok)
        }
        Command::Users { command } => match command {
            UsersCommand::Add(args) => runtime()
                .and_then(|rt| rt.block_on(cli::users::add(args, &mut stdout)))
                .map(|()| Status::Ok),
        },
        Command::Import {
            file,
            db,
            municipality,
        } => runtime()
            .and_then(|rt| {
                rt.block_on(cli::import::run(
                    &db.database_url,
                    &municipality,
                    &file,
                    &mut stdout,
                ))
            })
            .map(|()| Status::Ok),
        Command::Loadgen(args) => {
            init_logging(false);
            runtime().and_then(|rt| rt.block_on(cli::loadgen::run(args, &mut stdout)))
        }
        Command::Demo(args) => {
            runtime().and_then(|rt| rt.block_on(cli::demo::run(args, &mut stdout)))
        }
        Command::Report(args) => runtime()
            .and_then(|rt| rt.block_on(cli::report::run(args, chrono::Utc::now(), &mut stdout))),
        Command::Replay(args) => {
            runtime().and_then(|rt| rt.block_on(cli::replay::run(args, &mut stdout)))
        }
        Command::Purge(args) => {
            let today = letting_rules::service::Clock::system().today();
            runtime().and_then(|rt| rt.block_on(cli::purge::run(args, today, &mut stdout)))
        }
        Command::WhatIf(args) => {
            runtime().and_then(|rt| rt.block_on(cli::what_if::run(args, &mut stdout)))
        }
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
