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
//!   letting, its decision and its idempotency record.
//!
//! It prints one row per (mode, concurrency): calls, calls per second, p50 and p99 latency
//! and the throughput relative to Ping at the same concurrency. Every run is bounded in
//! time and in calls, and everything stops by itself. Traffic goes to 127.0.0.1 only.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::{Format, Status};
use letting_rules::grpc::auth::create_key;
use letting_rules::grpc::pb;
use letting_rules::grpc::pb::housing_organisation_service_client::HousingOrganisationServiceClient;
use letting_rules::grpc::pb::municipality_service_client::MunicipalityServiceClient;
use letting_rules::grpc::pb::registry_service_client::RegistryServiceClient;
use letting_rules::grpc::server::{self, ServerOptions};
use letting_rules::service::{Ledger, Principal};
use letting_rules::store::{DecisionFilter, Store, StoreError};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ModeArg {
    /// Ping, evaluate and durable, in that order, at each concurrency.
    #[default]
    All,
    /// The no-op RPC.
    Ping,
    /// EvaluateLetting: the engine with its explanation, nothing written.
    Evaluate,
    /// ProposeLetting: each call commits a letting.
    Durable,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Ping,
    Evaluate,
    Durable,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Ping => "ping",
            Mode::Evaluate => "evaluate",
            Mode::Durable => "durable",
        }
    }
}

/// One timed run's result.
#[derive(Debug, Clone, Serialize)]
struct Row {
    mode: Mode,
    concurrency: usize,
    connections: usize,
    /// Calls that succeeded.
    calls: u64,
    errors: u64,
    seconds: f64,
    calls_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Throughput relative to Ping at the same concurrency, when Ping was measured.
    vs_ping: Option<f64>,
    /// The durable run used up its pre-registered vacancies before its time was up.
    vacancies_ran_out: bool,
    /// Share of the machine's CPU time this process (client and server) used during the
    /// run, and the share other processes used (Linux only).
    cpu_this_process: Option<f64>,
    cpu_other_processes: Option<f64>,
    /// Encoded size of one reply, in bytes (an evaluation or a letting carries its
    /// explanation; Ping's reply is empty).
    reply_bytes: usize,
    /// CPU microseconds per successful call, by thread name (the SQLite writer,
    /// tokio's workers, ...), from /proc (Linux only; 10 ms ticks).
    cpu_us_per_call_by_thread: std::collections::BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
}

/// Untimed setup that was itself durable load.
#[derive(Debug, Clone, Serialize)]
struct Registration {
    vacancies: usize,
    seconds: f64,
    per_second: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    database: String,
    cpus: usize,
    duration_secs: u64,
    warmup_secs: u64,
    calls_per_connection: usize,
    departments: usize,
    build: &'static str,
    runs: Vec<Row>,
    registrations: Vec<Registration>,
}

type Client = HousingOrganisationServiceClient<Channel>;

/// A vacancy and the organisation (index into the keys) that owns it.
#[derive(Debug, Clone)]
struct Vacancy {
    id: String,
    organisation: usize,
}

/// What the workers share.
struct Shared {
    /// `Bearer <key>` of each organisation.
    organisations: Vec<MetadataValue<Ascii>>,
    /// One open vacancy per department, for the dry runs; never proposed.
    evaluation: Vec<Vacancy>,
    /// Open vacancies for durable proposals; each is used once.
    pool: Mutex<Vec<Vacancy>>,
    /// Makes idempotency keys and household references unique within the process.
    sequence: AtomicU64,
}

impl Shared {
    fn take_vacancy(&self) -> Option<Vacancy> {
        lock(&self.pool).pop()
    }

    fn pooled(&self) -> usize {
        lock(&self.pool).len()
    }

    fn next(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn bearer(secret: &str) -> anyhow::Result<MetadataValue<Ascii>> {
    format!("Bearer {secret}")
        .parse()
        .context("a key that is not ASCII")
}

fn request<T>(message: T, key: &MetadataValue<Ascii>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", key.clone());
    request
}

/// A household of one applicant in work, different on each call.
fn household(n: u64) -> pb::ApplicantHousehold {
    pb::ApplicantHousehold {
        applicant_ref: format!("lg-hh-{n}"),
        persons: vec![pb::Person {
            role: pb::PersonRole::Applicant.into(),
            weekly_work_hours: if n % 2 == 0 { "37" } else { "30.5" }.into(),
            age: 25 + u32::try_from(n % 40).unwrap_or(0),
            benefit_spells: vec![pb::BenefitSpell {
                kind: "cash_benefit".into(),
                from_date: "2005-01-01".into(),
                to_date: "2005-09-30".into(),
            }],
            evidence: pb::Evidence::Documented.into(),
            ..Default::default()
        }],
        ..Default::default()
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

fn organisation_id(i: usize) -> String {
    format!("lg-org-{}", i + 1)
}

fn department_id(i: usize) -> String {
    format!("lg-dept-{:04}", i + 1)
}

fn area_id(i: usize) -> String {
    format!("lg-area-{:03}", i + 1)
}

async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))?
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))
}

/// `n` connections (each its own HTTP/2 connection).
async fn clients(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(HousingOrganisationServiceClient::new(connect(addr).await?));
    }
    Ok(clients)
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
        ModeArg::All => &[Mode::Ping, Mode::Evaluate, Mode::Durable],
        ModeArg::Ping => &[Mode::Ping],
        ModeArg::Evaluate => &[Mode::Evaluate],
        ModeArg::Durable => &[Mode::Durable],
    };
    let mut registrations = Vec::new();
    if modes.contains(&Mode::Evaluate) {
        // Twice the departments: a department's first vacancy goes to municipal
        // referral, which an organisation cannot let.
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
        let level = clients(addr, connections).await?;
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
                let warm = run_once(mode, concurrency, &level, args, &context, warmup).await;
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
            let mut row = run_once(mode, concurrency, &level, args, &context, duration).await;
            match mode {
                Mode::Ping => ping_rate = Some(row.calls_per_second),
                Mode::Durable => last_durable_rate = Some(row.calls_per_second),
                Mode::Evaluate => {}
            }
            row.vs_ping = ping_rate
                .filter(|p| *p > 0.0)
                .map(|p| row.calls_per_second / p);
            eprintln!(
                "loadgen: {:<8} concurrency {:>4}: {:>9} calls, {:>9.0}/s, p50 {:.3} ms, p99 {:.3} ms, others' CPU {:.0} %{}{}",
                mode.as_str(),
                concurrency,
                row.calls,
                row.calls_per_second,
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

/// Organisations, areas and departments through the RegistryService, and 2007 statistics
/// that make every area neutral (under 30 % without labour-market attachment).
async fn seed(
    addr: SocketAddr,
    key: &MetadataValue<Ascii>,
    departments: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let channel = connect(addr).await?;
    let mut registry = RegistryServiceClient::new(channel.clone());
    let mut municipality = MunicipalityServiceClient::new(channel);
    for i in 0..ORGANISATIONS {
        let organisation = pb::Organisation {
            id: organisation_id(i),
            name: format!("Loadgen Boligselskab {}", i + 1),
        };
        registry
            .upsert_organisation(request(
                pb::UpsertOrganisationRequest {
                    idempotency_key: format!("seed-org-{i}"),
                    organisation: Some(organisation),
                },
                key,
            ))
            .await
            .context("seeding an organisation")?;
    }
    let areas = departments.div_ceil(DEPARTMENTS_PER_AREA);
    for a in 0..areas {
        registry
            .upsert_area(request(
                pb::UpsertAreaRequest {
                    idempotency_key: format!("seed-area-{a}"),
                    area: Some(pb::Area {
                        id: area_id(a),
                        municipality_code: MUNICIPALITY.into(),
                        name: format!("Loadgen area {}", a + 1),
                    }),
                },
                key,
            ))
            .await
            .context("seeding an area")?;
    }
    for d in 0..departments {
        registry
            .upsert_department(request(
                pb::UpsertDepartmentRequest {
                    idempotency_key: format!("seed-dept-{d}"),
                    department: Some(pb::Department {
                        id: department_id(d),
                        organisation_id: organisation_id(d % ORGANISATIONS),
                        area_id: area_id(d / DEPARTMENTS_PER_AREA),
                        name: format!("Afdeling {}", d + 1),
                        dwellings: 400,
                    }),
                },
                key,
            ))
            .await
            .context("seeding a department")?;
    }
    let statistics = (0..areas)
        .map(|a| {
            let working = 2_000 + 10 * a as u64;
            pb::AreaStatistics {
                area_id: area_id(a),
                working_age_residents: Some(working),
                // 10 % to 25 %: neutral.
                without_labour_market_attachment: Some(working * (10 + (a as u64 % 16)) / 100),
                residents: Some(working * 2),
                ..Default::default()
            }
        })
        .collect();
    municipality
        .load_area_statistics(request(
            pb::LoadAreaStatisticsRequest {
                idempotency_key: "seed-stats-2007".into(),
                year: 2007,
                effective_date: "2007-01-01".into(),
                areas: statistics,
            },
            key,
        ))
        .await
        .context("seeding the 2007 statistics")?;
    eprintln!(
        "loadgen: seeded {ORGANISATIONS} organisations, {areas} neutral areas and {departments} \
         departments in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Registers vacancies until the pool holds at least `want`.
async fn top_up(
    setup: &[Client],
    context: &Arc<Shared>,
    departments: usize,
    want: usize,
    registrations: &mut Vec<Registration>,
) -> anyhow::Result<()> {
    let have = context.pooled();
    if have >= want {
        return Ok(());
    }
    let (vacancies, registration) = register(setup, context, departments, want - have).await?;
    lock(&context.pool).extend(vacancies);
    registrations.push(registration);
    Ok(())
}

/// Registers `count` vacancies spread over the departments, REGISTER_CONCURRENCY at a time.
async fn register(
    setup: &[Client],
    context: &Shared,
    departments: usize,
    count: usize,
) -> anyhow::Result<(Vec<Vacancy>, Registration)> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let first = context.sequence.fetch_add(count as u64, Ordering::Relaxed);
    let mut tasks = Vec::new();
    for w in 0..REGISTER_CONCURRENCY {
        let mut client = setup[w % setup.len()].clone();
        let next = next.clone();
        let keys = context.organisations.clone();
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let department = (first as usize + i) % departments;
                let organisation = department % ORGANISATIONS;
                let reply = client
                    .register_vacancy(request(
                        pb::RegisterVacancyRequest {
                            idempotency_key: format!("lg-vacancy-{}", first + i as u64),
                            department_id: department_id(department),
                            vacancy_ref: format!("lg-flat-{}", first + i as u64),
                            vacancy_date: VACANCY_DATE.into(),
                        },
                        &keys[organisation],
                    ))
                    .await?
                    .into_inner();
                // A vacancy for municipal referral is let only to a referred household.
                if reply.channel() == pb::LettingChannel::MunicipalReferral {
                    continue;
                }
                made.push(Vacancy {
                    id: reply.vacancy_id,
                    organisation,
                });
            }
            Ok::<_, tonic::Status>(made)
        }));
    }
    let mut vacancies = Vec::with_capacity(count);
    for task in tasks {
        vacancies.extend(
            task.await
                .context("a registering task failed")?
                .context("registering a vacancy")?,
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "loadgen: registered {count} vacancies in {seconds:.1} s ({:.0}/s, concurrency {REGISTER_CONCURRENCY})",
        count as f64 / seconds
    );
    Ok((
        vacancies,
        Registration {
            vacancies: count,
            seconds,
            per_second: count as f64 / seconds,
        },
    ))
}

/// What one worker saw.
#[derive(Default)]
struct Worker {
    latencies_ns: Vec<u64>,
    reply_bytes: usize,
    errors: u64,
    first_error: Option<String>,
    ran_out: bool,
}

/// One call of `mode`; Ok(()) if it succeeded with the expected answer.
async fn call(
    mode: Mode,
    worker: usize,
    client: &mut Client,
    context: &Shared,
    ran_out: &mut bool,
    reply_bytes: &mut usize,
) -> Option<Result<Duration, String>> {
    let started;
    let result = match mode {
        Mode::Ping => {
            let key = &context.organisations[worker % context.organisations.len()];
            let r = request(pb::PingRequest {}, key);
            started = Instant::now();
            match client.ping(r).await {
                Ok(reply) => {
                    *reply_bytes = prost::Message::encoded_len(reply.get_ref());
                    Ok(())
                }
                Err(s) => Err(s.to_string()),
            }
        }
        Mode::Evaluate => {
            let n = context.next();
            let vacancy = &context.evaluation[(n as usize) % context.evaluation.len()];
            let r = request(
                pb::EvaluateLettingRequest {
                    vacancy_id: vacancy.id.clone(),
                    household: Some(household(n)),
                    proposal_date: PROPOSAL_DATE.into(),
                    referral_id: String::new(),
                },
                &context.organisations[vacancy.organisation],
            );
            started = Instant::now();
            match client.evaluate_letting(r).await {
                Ok(reply) => {
                    *reply_bytes = prost::Message::encoded_len(reply.get_ref());
                    expect_approved(reply.get_ref().outcome())
                }
                Err(s) => Err(s.to_string()),
            }
        }
        Mode::Durable => {
            let Some(vacancy) = context.take_vacancy() else {
                *ran_out = true;
                return None;
            };
            let n = context.next();
            let r = request(
                pb::ProposeLettingRequest {
                    idempotency_key: format!("lg-letting-{n}"),
                    vacancy_id: vacancy.id,
                    household: Some(household(n)),
                    proposal_date: PROPOSAL_DATE.into(),
                    referral_id: String::new(),
                },
                &context.organisations[vacancy.organisation],
            );
            started = Instant::now();
            match client.propose_letting(r).await {
                Ok(reply) => {
                    *reply_bytes = prost::Message::encoded_len(reply.get_ref());
                    expect_approved(reply.get_ref().outcome())
                }
                Err(s) => Err(s.to_string()),
            }
        }
    };
    Some(result.map(|()| started.elapsed()))
}

/// In a neutral area every letting of these households is approved; anything else means
/// the setup is wrong.
fn expect_approved(outcome: pb::LettingOutcome) -> Result<(), String> {
    if outcome == pb::LettingOutcome::Approved {
        Ok(())
    } else {
        Err(format!(
            "expected an approved letting, got {}",
            outcome.as_str_name()
        ))
    }
}

/// Runs `mode` at `concurrency` for `duration` and measures it.
async fn run_once(
    mode: Mode,
    concurrency: usize,
    level: &[Client],
    args: &LoadgenArgs,
    context: &Arc<Shared>,
    duration: Duration,
) -> Row {
    let issued = Arc::new(AtomicU64::new(0));
    let cpu_before = CpuTimes::now();
    let threads_before = thread_ticks();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let mut client = level[(w / args.calls_per_connection) % level.len()].clone();
        let context = context.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Worker {
                latencies_ns: Vec::with_capacity(16_384),
                ..Worker::default()
            };
            while Instant::now() < deadline
                && issued.fetch_add(1, Ordering::Relaxed) < MAX_CALLS_PER_RUN
            {
                match call(
                    mode,
                    w,
                    &mut client,
                    &context,
                    &mut seen.ran_out,
                    &mut seen.reply_bytes,
                )
                .await
                {
                    None => break,
                    Some(Ok(latency)) => seen
                        .latencies_ns
                        .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX)),
                    Some(Err(e)) => {
                        seen.errors += 1;
                        seen.first_error.get_or_insert(e);
                    }
                }
            }
            seen
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut ran_out = false;
    let mut reply_bytes = 0;
    for task in tasks {
        match task.await {
            Ok(seen) => {
                reply_bytes = reply_bytes.max(seen.reply_bytes);
                latencies.extend(seen.latencies_ns);
                errors += seen.errors;
                ran_out |= seen.ran_out;
                if first_error.is_none() {
                    first_error = seen.first_error;
                }
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(format!("a worker failed: {e}"));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(CpuTimes::now())
        .map(|(a, b)| a.shares_until(&b));
    latencies.sort_unstable();
    let calls = latencies.len() as u64;
    let mut by_thread = std::collections::BTreeMap::new();
    for (name, ticks) in thread_ticks() {
        let spent = ticks.saturating_sub(threads_before.get(&name).copied().unwrap_or(0));
        if spent > 0 && calls > 0 {
            // USER_HZ is 100 on Linux: a tick is 10 ms.
            by_thread.insert(name, spent as f64 * 10_000.0 / calls as f64);
        }
    }
    Row {
        mode,
        concurrency,
        connections: level.len(),
        calls,
        errors,
        seconds,
        calls_per_second: if seconds > 0.0 {
            calls as f64 / seconds
        } else {
            0.0
        },
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        vs_ping: None,
        vacancies_ran_out: ran_out,
        cpu_this_process: cpu.map(|c| c.0),
        cpu_other_processes: cpu.map(|c| c.1),
        reply_bytes,
        cpu_us_per_call_by_thread: by_thread,
        first_error,
    }
}

/// CPU ticks (user and system) this process's threads have used, summed by thread name.
/// Threads that ended are missing, so only live ones (workers, the writer) are useful.
fn thread_ticks() -> std::collections::BTreeMap<String, u64> {
    let mut ticks = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return ticks;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let used = fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        *ticks.entry(name).or_insert(0) += used;
    }
    ticks
}

/// CPU time in clock ticks from /proc: the whole machine's and this process's.
#[derive(Debug, Clone, Copy)]
struct CpuTimes {
    total: u64,
    busy: u64,
    own: u64,
}

impl CpuTimes {
    fn now() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        // cpu user nice system idle iowait irq softirq steal ...
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let total: u64 = ticks.iter().sum();
        let idle = ticks.get(3)? + ticks.get(4)?;
        // The process's own line: utime and stime are the 14th and 15th fields, counted
        // past the command name (which may hold spaces) as the 12th and 13th.
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &own_stat[own_stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let own = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(CpuTimes {
            total,
            busy: total.saturating_sub(idle),
            own,
        })
    }

    /// (this process, other processes) as shares of all the machine's CPU time between
    /// `self` and `later`.
    fn shares_until(&self, later: &CpuTimes) -> (f64, f64) {
        let total = later.total.saturating_sub(self.total).max(1) as f64;
        let own = later.own.saturating_sub(self.own) as f64;
        let busy = later.busy.saturating_sub(self.busy) as f64;
        (
            (own / total).clamp(0.0, 1.0),
            ((busy - own) / total).clamp(0.0, 1.0),
        )
    }
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_ns.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_ns.len()) - 1;
    sorted_ns[index] as f64 / 1e6
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_table(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "| mode | concurrency | connections | calls | errors | calls/s | p50 ms | p99 ms | vs Ping | CPU: loadgen / others |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for r in &report.runs {
        writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {} | {} |",
            r.mode.as_str(),
            if r.vacancies_ran_out { " †" } else { "" },
            r.concurrency,
            r.connections,
            thousands(r.calls),
            r.errors,
            thousands(r.calls_per_second.round() as u64),
            r.p50_ms,
            r.p99_ms,
            r.vs_ping
                .map_or("–".to_owned(), |v| format!("{:.0} %", v * 100.0)),
            match (r.cpu_this_process, r.cpu_other_processes) {
                (Some(own), Some(others)) =>
                    format!("{:.0} % / {:.0} %", own * 100.0, others * 100.0),
                _ => "–".to_owned(),
            },
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} backend ({}), {} build, {} s per run after {} s of warm-up, {} calls per HTTP/2 \
         connection, {} departments; client and server share this {}-CPU machine (the last \
         column: the share of all its CPU time that this process and that other processes \
         used during the run).",
        report.backend,
        report.database,
        report.build,
        report.duration_secs,
        report.warmup_secs,
        report.calls_per_connection,
        report.departments,
        report.cpus
    )?;
    if !report.registrations.is_empty() {
        let count: usize = report.registrations.iter().map(|r| r.vacancies).sum();
        let seconds: f64 = report.registrations.iter().map(|r| r.seconds).sum();
        writeln!(
            out,
            "Untimed setup: {} vacancies registered (RegisterVacancy, durable) in {seconds:.1} s, \
             {}/s at concurrency {REGISTER_CONCURRENCY}.",
            thousands(count as u64),
            thousands((count as f64 / seconds.max(1e-9)).round() as u64),
        )?;
    }
    if report.runs.iter().any(|r| r.vacancies_ran_out) {
        writeln!(
            out,
            "† used up its pre-registered vacancies before its time was up; the rate is over \
             the time it ran."
        )?;
    }
    for r in report.runs.iter().filter(|r| r.errors > 0) {
        writeln!(
            out,
            "{} at concurrency {}: {} errors, the first: {}",
            r.mode.as_str(),
            r.concurrency,
            r.errors,
            r.first_error.as_deref().unwrap_or("?")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile_ms(&v, 50.0), 50.0);
        assert_eq!(percentile_ms(&v, 99.0), 99.0);
        assert_eq!(percentile_ms(&[7_000_000], 99.0), 7.0);
        assert_eq!(percentile_ms(&[], 50.0), 0.0);
    }

    /// A whole run, small and short: every mode works end to end over a fresh SQLite
    /// file, without errors, and the table has a row per (mode, concurrency).
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
        for mode in ["ping", "evaluate", "durable"] {
            assert!(
                table
                    .lines()
                    .any(|l| l.starts_with(&format!("| {mode} | 2 | 1 |"))),
                "{table}"
            );
        }
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(65_432_100), "65,432,100");
    }
}
