//! `letting serve`: configuration, first-start key, rule reloading, signals, shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use letting_rules::console;
use letting_rules::grpc::auth;
use letting_rules::grpc::server::{self, ServerOptions};
use letting_rules::rules::{self, LoadError, Loaded};
use letting_rules::service::{Ledger, Principal};
use letting_rules::store::{ApiKeyRow, Store};

/// Settings from `letting.toml` (or `--config FILE`); flags and environment win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub rules: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub api_key_file: Option<PathBuf>,
    pub municipality: Option<String>,
    pub request_timeout_secs: Option<u64>,
    pub concurrency_limit: Option<usize>,
    pub metrics_listen: Option<SocketAddr>,
    pub console_listen: Option<SocketAddr>,
    pub no_console: Option<bool>,
    pub console_secure_cookies: Option<bool>,
}

/// What `serve` runs with, after flags, environment, config file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    /// None: the embedded rules.
    pub rules: Option<PathBuf>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub api_key_file: Option<PathBuf>,
    pub municipality: String,
    pub request_timeout: Duration,
    pub concurrency_limit: usize,
    /// Where Prometheus scrapes `/metrics`; None: no exporter, every record a no-op.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the caseworker console listens; None: no console.
    pub console_listen: Option<SocketAddr>,
    /// The console's session cookie is Secure (HTTPS in front of it, or TLS configured).
    pub console_secure_cookies: bool,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_CONSOLE_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://data/letting.db";

pub fn read_config(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
    let (path, required) = match path {
        Some(p) => (p.to_owned(), true),
        None => (PathBuf::from("letting.toml"), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("in config file `{}`", path.display()))
        }
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(ConfigFile::default())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read config file `{}`", path.display())),
    }
}

/// Loads the rules: the directory given, else `./rules` if present, else the embedded set.
pub fn load_rules(dir: Option<&Path>) -> Result<Loaded, LoadError> {
    match dir {
        Some(dir) => rules::load_dir(dir),
        None if Path::new("rules").is_dir() => rules::load_dir(Path::new("rules")),
        None => rules::load_sources(&rules::embedded::files()),
    }
}

/// A pre-provisioned key in the API-key file: its hash, never the secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileEntry {
    principal: String,
    municipality: String,
    sha256: String,
    #[serde(default)]
    label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    keys: Vec<KeyFileEntry>,
}

async fn provision_keys(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    let mut rows: Vec<ApiKeyRow> = Vec::new();
    if let Some(path) = &settings.api_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read API-key file `{}`", path.display()))?;
        let file: KeyFile = toml::from_str(&text)
            .with_context(|| format!("in API-key file `{}`", path.display()))?;
        for k in file.keys {
            if Principal::parse(&k.principal, &k.municipality).is_none() {
                bail!(
                    "API-key file `{}`: `{}` is not a principal (municipality, auditor or organisation:<id>)",
                    path.display(),
                    k.principal
                );
            }
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "API-key file `{}`: `sha256` must be the 64 hex digits of the key's SHA-256",
                    path.display()
                );
            }
            rows.push(ApiKeyRow {
                id: letting_rules::service::new_id(),
                principal: k.principal,
                municipality: k.municipality,
                secret_hash: k.sha256.to_ascii_lowercase(),
                created_at: chrono::Utc::now(),
                revoked_at: None,
                label: if k.label.is_empty() {
                    "api-key file".into()
                } else {
                    k.label
                },
            });
        }
    }
    let existing = store
        .write(move |tx| {
            let rows = rows.clone();
            Box::pin(async move {
                let mut known = tx.api_keys().await?;
                for row in rows {
                    if !known.iter().any(|k| k.secret_hash == row.secret_hash) {
                        tx.insert_api_key(&row).await?;
                        known.push(row);
                    }
                }
                Ok::<_, letting_rules::store::StoreError>(known.len())
            })
        })
        .await?;
    if existing == 0 {
        let principal = Principal::Municipality {
            municipality: settings.municipality.clone(),
        };
        let (_, secret) = auth::create_key(store, &principal, "created on first start").await?;
        println!(
            "No API keys were found, so a municipality key for {} was created.",
            settings.municipality
        );
        println!("It is shown this once; only its hash is stored:\n\n    {secret}\n");
        println!(
            "Use it as `authorization: Bearer {secret}`. Add organisation keys with `letting keys add`."
        );
    }
    Ok(())
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    // The signal handlers first: until they are registered a SIGHUP or SIGTERM takes its
    // default action and ends the process, so one arriving while the server starts (or just
    // after its port opens) killed it. Registered now, such a signal waits for its handler.
    let signals = Signals::register().context("cannot install the signal handlers")?;
    // Then the TLS pair, before the rules, the store or a first-start key: a key that does
    // not belong to its certificate must stop the start with nothing created.
    let tls = match &settings.tls {
        Some((cert, key)) => Some(read_tls_pair(cert, key)?),
        None => None,
    };
    // The exporter before the rules and the store, so the first rule book and the first
    // commit are recorded.
    if let Some(addr) = settings.metrics_listen {
        install_metrics(addr)?;
        println!("letting serve: metrics on http://{addr}/metrics");
    }
    let loaded = load_rules(settings.rules.as_deref())
        .context("the rules have errors; the service does not start on broken rules")?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let rules_label = settings
        .rules
        .as_ref()
        .map_or("embedded rules".to_owned(), |p| p.display().to_string());
    let store = Arc::new(
        Store::open(&settings.database_url)
            .await
            .with_context(|| format!("cannot open `{}`", settings.database_url))?,
    );
    provision_keys(&store, &settings).await?;
    let ledger = Ledger::new(
        store.clone(),
        loaded.book,
        letting_rules::service::Clock::system(),
    );
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, database = store.backend(), rules = %rules_label, tls = tls.is_some(), "serving letting.v1");
    println!(
        "letting serve: listening on {local} ({} database, {rules_label}{})",
        store.backend(),
        if tls.is_some() { ", TLS" } else { "" }
    );

    // The console on its own address, stopped by the same signal after the gRPC server.
    let (stop_console, console_stopped) = tokio::sync::watch::channel(false);
    let console = match settings.console_listen {
        Some(addr) => {
            let console_listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for the console"))?;
            let local = console_listener.local_addr()?;
            println!(
                "letting serve: caseworker console on {}://{local}/",
                if tls.is_some() { "https" } else { "http" }
            );
            let router = console::router(
                ledger.clone(),
                console::ConsoleOptions {
                    secure_cookies: settings.console_secure_cookies || tls.is_some(),
                },
            );
            let mut stopped = console_stopped.clone();
            let stop = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            // Over TLS with the gRPC server's pair when it has one.
            let pair = tls.clone();
            Some(tokio::spawn(async move {
                match pair {
                    Some((cert, key)) => {
                        console::serve_tls(console_listener, router, &cert, &key, stop)
                            .await
                            .map_err(|e| anyhow::anyhow!("the console's TLS: {e}"))
                    }
                    None => console::serve(console_listener, router, stop)
                        .await
                        .map_err(anyhow::Error::from),
                }
            }))
        }
        None => None,
    };

    let Signals { reload, shutdown } = signals;
    spawn_rule_reloader(ledger.clone(), settings.rules.clone(), reload);
    let options = ServerOptions {
        tls,
        request_timeout: settings.request_timeout,
        concurrency_limit: settings.concurrency_limit,
    };
    let served = server::serve(ledger, options, listener, shutdown.wait()).await;
    let _ = stop_console.send(true);
    if let Some(console) = console {
        match console.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the console stopped with an error"),
            Err(e) => tracing::error!(error = %e, "the console task failed"),
        }
    }
    served?;
    tracing::info!("calls finished; closing the database");
    store.close().await;
    println!("letting serve: stopped cleanly");
    Ok(())
}

/// Latency buckets in seconds: from a cached read (~100 µs) to the default deadline.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];
/// Jobs per SQLite batch, by powers of two up to the writer's largest batch (256).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Installs the Prometheus recorder for the `metrics` facade and serves `/metrics` on
/// `addr` (on the running tokio runtime). Histograms get buckets, so they are exported as
/// Prometheus histograms that aggregate across processes, not as per-process summaries.
fn install_metrics(addr: SocketAddr) -> anyhow::Result<()> {
    use letting_rules::store::metrics as store_metrics;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let seconds = [
        letting_rules::grpc::metrics::CALL_SECONDS,
        store_metrics::COMMIT_SECONDS,
        store_metrics::TRANSACTION_SECONDS,
        letting_rules::grpc::screen::BATCH_SECONDS,
    ];
    let mut builder = PrometheusBuilder::new().with_http_listener(addr);
    for name in seconds {
        builder =
            builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), SECONDS_BUCKETS)?;
    }
    builder
        .set_buckets_for_metric(
            Matcher::Full(store_metrics::BATCH_JOBS.to_owned()),
            BATCH_BUCKETS,
        )?
        .install()
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    describe_metrics();
    Ok(())
}

/// The `# HELP` lines of the exported metrics.
fn describe_metrics() {
    use letting_rules::grpc::metrics::{CALL_SECONDS, CALLS};
    use letting_rules::service::{RULE_BOOK_INFO, RULE_BOOK_LOADED};
    use letting_rules::store::metrics::{BATCH_JOBS, COMMIT_SECONDS, TRANSACTION_SECONDS};
    use metrics::Unit;
    metrics::describe_counter!(CALLS, "gRPC calls answered, by service, method and code");
    metrics::describe_histogram!(
        CALL_SECONDS,
        Unit::Seconds,
        "gRPC calls from arrival to the end of the response, by service, method and code"
    );
    metrics::describe_histogram!(BATCH_JOBS, "write jobs per committed SQLite batch");
    metrics::describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "SQLite COMMIT of one batch: the WAL fsync and any checkpoint"
    );
    metrics::describe_histogram!(
        TRANSACTION_SECONDS,
        Unit::Seconds,
        "SQLite batch transaction, BEGIN to the end of COMMIT"
    );
    metrics::describe_counter!(
        letting_rules::grpc::screen::SCREENED,
        "households screened by ScreenWaitingList"
    );
    metrics::describe_histogram!(
        letting_rules::grpc::screen::BATCH_SECONDS,
        Unit::Seconds,
        "one ScreenWaitingList batch validated and judged, on every core"
    );
    metrics::describe_gauge!(
        RULE_BOOK_INFO,
        "1 for the rule book in force, by the hash of its layers and reference data"
    );
    metrics::describe_gauge!(
        RULE_BOOK_LOADED,
        Unit::Seconds,
        "when the rule book in force was loaded (Unix time)"
    );
}

/// Reads the TLS certificate chain and key and checks that they belong together.
fn read_tls_pair(cert: &Path, key: &Path) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let cert_pem = std::fs::read(cert)
        .with_context(|| format!("cannot read TLS certificate `{}`", cert.display()))?;
    let key_pem =
        std::fs::read(key).with_context(|| format!("cannot read TLS key `{}`", key.display()))?;
    server::check_tls_pair(&cert_pem, &key_pem).with_context(|| {
        format!(
            "TLS certificate `{}` and key `{}` cannot be served; the service does not start",
            cert.display(),
            key.display()
        )
    })?;
    Ok((cert_pem, key_pem))
}

/// The signals `serve` answers, registered as it starts.
struct Signals {
    /// SIGHUP: reload the rules.
    reload: Reload,
    /// SIGINT or SIGTERM: stop gracefully.
    shutdown: Shutdown,
}

#[cfg(unix)]
type Reload = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Reload = ();

struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            reload: signal(SignalKind::hangup())?,
            shutdown: Shutdown {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            },
        })
    }

    #[cfg(not(unix))]
    fn register() -> std::io::Result<Signals> {
        Ok(Signals {
            reload: (),
            shutdown: Shutdown {},
        })
    }
}

impl Shutdown {
    /// Completes at the first SIGINT or SIGTERM.
    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received: finishing calls in flight");
    }
}

/// SIGHUP reloads the rules; a set with errors is refused and the old one kept.
#[cfg_attr(not(unix), allow(unused_variables))]
fn spawn_rule_reloader(ledger: Ledger, dir: Option<PathBuf>, mut hangups: Reload) {
    #[cfg(unix)]
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match load_rules(dir.as_deref()) {
                Ok(loaded) => {
                    ledger.replace_rules(loaded.book);
                    tracing::info!("rules reloaded");
                }
                Err(e) => {
                    tracing::error!(error = %e, "rules not reloaded: the running rules stay in force")
                }
            }
        }
    });
}
