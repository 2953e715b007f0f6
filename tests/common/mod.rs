//! One in-process server harness for the gRPC tests: a real server on a loopback port over
//! a fresh database, with keys for the municipality, two organisations and an auditor.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

use letting_rules::engine::QuotaCounters;
use letting_rules::grpc::auth::create_key;
use letting_rules::grpc::pb;
use letting_rules::grpc::pb::audit_service_client::AuditServiceClient;
use letting_rules::grpc::pb::housing_organisation_service_client::HousingOrganisationServiceClient;
use letting_rules::grpc::pb::municipality_service_client::MunicipalityServiceClient;
use letting_rules::grpc::pb::registry_service_client::RegistryServiceClient;
use letting_rules::grpc::server::{ServerOptions, serve};
use letting_rules::rules;
use letting_rules::service::{Ledger, Principal};
use letting_rules::store::{DecisionFilter, DecisionKind, DecisionRecord, PoolUse, Store};

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
pub struct Bearer(pub Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Housing = HousingOrganisationServiceClient<InterceptedService<Channel, Bearer>>;
pub type Municipality = MunicipalityServiceClient<InterceptedService<Channel, Bearer>>;
pub type Registry = RegistryServiceClient<InterceptedService<Channel, Bearer>>;
pub type Audit = AuditServiceClient<InterceptedService<Channel, Bearer>>;

pub struct Keys {
    pub municipality: String,
    pub kab: String,
    pub fsb: String,
    pub auditor: String,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub database_url: String,
    pub keys: Keys,
    pub store: Arc<Store>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
}

pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

impl TestServer {
    /// A server over a fresh SQLite file.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("letting.db").display());
        let mut server = TestServer::start_on(&url, None).await;
        server.dir = Some(dir);
        server
    }

    /// A server over `url`; makes keys unless `keys` are given (a restart).
    pub async fn start_on(url: &str, keys: Option<Keys>) -> TestServer {
        let store = Arc::new(Store::open(url).await.expect("open store"));
        let keys = match keys {
            Some(k) => k,
            None => {
                let m = "0101".to_owned();
                let make = |p: Principal| {
                    let store = store.clone();
                    async move { create_key(&store, &p, "test").await.expect("key").1 }
                };
                Keys {
                    municipality: make(Principal::Municipality {
                        municipality: m.clone(),
                    })
                    .await,
                    kab: make(Principal::Organisation {
                        organisation: "kab".into(),
                        municipality: m.clone(),
                    })
                    .await,
                    fsb: make(Principal::Organisation {
                        organisation: "fsb".into(),
                        municipality: m.clone(),
                    })
                    .await,
                    auditor: make(Principal::Auditor { municipality: m }).await,
                }
            }
        };
        let book = rules::load_dir(&rules_dir()).expect("rules load").book;
        let ledger = Ledger::new(store.clone(), book, letting_rules::service::Clock::system());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            serve(ledger, ServerOptions::default(), listener, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            addr,
            database_url: url.to_owned(),
            keys,
            store,
            shutdown: Some(tx),
            handle: Some(handle),
            dir: None,
        }
    }

    /// Stops the server (calls in flight finish) and closes the database.
    pub async fn stop(mut self) -> (String, Keys, Option<tempfile::TempDir>) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task");
        }
        self.store.close().await;
        let keys = std::mem::replace(
            &mut self.keys,
            Keys {
                municipality: String::new(),
                kab: String::new(),
                fsb: String::new(),
                auditor: String::new(),
            },
        );
        (self.database_url.clone(), keys, self.dir.take())
    }

    pub async fn channel(&self) -> Channel {
        connect(self.addr).await
    }

    fn bearer(key: Option<&str>) -> Bearer {
        bearer(key)
    }

    pub async fn housing(&self, key: Option<&str>) -> Housing {
        housing_at(self.addr, key).await
    }

    pub async fn municipality(&self, key: Option<&str>) -> Municipality {
        municipality_at(self.addr, key).await
    }

    pub async fn registry(&self, key: Option<&str>) -> Registry {
        registry_at(self.addr, key).await
    }

    pub async fn audit(&self, key: Option<&str>) -> Audit {
        AuditServiceClient::with_interceptor(connect(self.addr).await, bearer(key))
    }

    /// A small Copenhagen of 2007: FSB's Tingbjerg (exposed), KAB's Bispeparken (high-risk,
    /// 41.2 %), KAB's Nordvest (neutral) and FSB's Hulgård (risk).
    pub async fn seed(&self) {
        seed_at(self.addr, &self.keys.municipality).await;
    }
}

/// A second municipality beside the seeded 0101: Frederiksberg (0147), with a municipality
/// key of its own and its own registry: the organisation FAB and its department
/// `fab-syd-1` in the area `frederiksberg-syd`. Returns 0147's municipality key.
pub async fn seed_frederiksberg(server: &TestServer) -> String {
    let (_, key) = server
        .new_key(Principal::Municipality {
            municipality: "0147".into(),
        })
        .await;
    let mut r = server.registry(Some(&key)).await;
    r.upsert_organisation(pb::UpsertOrganisationRequest {
        idempotency_key: "seed-0147-org-fab".into(),
        organisation: Some(pb::Organisation {
            id: "fab".into(),
            name: "Frederiksberg Boligfond".into(),
        }),
    })
    .await
    .expect("0147's organisation");
    r.upsert_area(pb::UpsertAreaRequest {
        idempotency_key: "seed-0147-area".into(),
        area: Some(pb::Area {
            id: "frederiksberg-syd".into(),
            municipality_code: "0147".into(),
            name: "Frederiksberg Syd".into(),
        }),
    })
    .await
    .expect("0147's area");
    r.upsert_department(pb::UpsertDepartmentRequest {
        idempotency_key: "seed-0147-dept".into(),
        department: Some(pb::Department {
            id: "fab-syd-1".into(),
            organisation_id: "fab".into(),
            area_id: "frederiksberg-syd".into(),
            name: "Syd 1".into(),
            dwellings: 200,
        }),
    })
    .await
    .expect("0147's department");
    key
}

/// A small Copenhagen of 2007: FSB's Tingbjerg (exposed), KAB's Bispeparken (high-risk,
/// 41.2 %), KAB's Nordvest (neutral) and FSB's Hulgård (risk).
pub async fn seed_at(addr: SocketAddr, municipality_key: &str) {
    let mut r = registry_at(addr, Some(municipality_key)).await;
    for (id, name) in [("fsb", "FSB"), ("kab", "KAB")] {
        r.upsert_organisation(pb::UpsertOrganisationRequest {
            idempotency_key: format!("seed-org-{id}"),
            organisation: Some(pb::Organisation {
                id: id.into(),
                name: name.into(),
            }),
        })
        .await
        .expect("organisation");
    }
    for (id, name) in [
        ("tingbjerg", "Tingbjerg"),
        ("bispeparken", "Bispeparken"),
        ("nordvest", "Nordvest"),
        ("hulgaard", "Hulgård"),
    ] {
        r.upsert_area(pb::UpsertAreaRequest {
            idempotency_key: format!("seed-area-{id}"),
            area: Some(pb::Area {
                id: id.into(),
                municipality_code: "0101".into(),
                name: name.into(),
            }),
        })
        .await
        .expect("area");
    }
    for (id, org, area) in [
        ("fsb-tingbjerg-1", "fsb", "tingbjerg"),
        ("akb-bispeparken", "kab", "bispeparken"),
        ("kab-nordvest-3", "kab", "nordvest"),
        ("fsb-hulgaard", "fsb", "hulgaard"),
    ] {
        r.upsert_department(pb::UpsertDepartmentRequest {
            idempotency_key: format!("seed-dept-{id}"),
            department: Some(pb::Department {
                id: id.into(),
                organisation_id: org.into(),
                area_id: area.into(),
                name: id.into(),
                dwellings: 400,
            }),
        })
        .await
        .expect("department");
    }
    let mut m = municipality_at(addr, Some(municipality_key)).await;
    let stats = |area: &str, working: u64, without: u64| pb::AreaStatistics {
        area_id: area.into(),
        working_age_residents: Some(working),
        without_labour_market_attachment: Some(without),
        residents: Some(working * 2),
        ..Default::default()
    };
    m.load_area_statistics(pb::LoadAreaStatisticsRequest {
        idempotency_key: "seed-stats-2007".into(),
        year: 2007,
        effective_date: "2007-01-01".into(),
        areas: vec![
            stats("tingbjerg", 4000, 2100),
            stats("bispeparken", 1000, 412),
            stats("nordvest", 2000, 300),
            stats("hulgaard", 1000, 350),
        ],
    })
    .await
    .expect("statistics");
}

/// A household of one applicant.
pub fn household(reference: &str, person: pb::Person) -> pb::ApplicantHousehold {
    pb::ApplicantHousehold {
        applicant_ref: reference.into(),
        persons: vec![pb::Person {
            role: pb::PersonRole::Applicant.into(),
            ..person
        }],
        ..Default::default()
    }
}

/// An applicant on cash benefit since `from`.
pub fn on_cash_benefit(from: &str) -> pb::Person {
    pb::Person {
        benefit_spells: vec![pb::BenefitSpell {
            kind: "cash_benefit".into(),
            from_date: from.into(),
            to_date: String::new(),
        }],
        ..Default::default()
    }
}

/// An applicant in work `hours` a week.
pub fn in_work(hours: &str) -> pb::Person {
    pb::Person {
        weekly_work_hours: hours.into(),
        ..Default::default()
    }
}

// ----- clients for any address (an in-process server or a `letting serve` process) ---------

/// A plain-text channel to a server on `addr`.
pub async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

/// The interceptor that sends `key` as a bearer token (none when `key` is `None`).
pub fn bearer(key: Option<&str>) -> Bearer {
    Bearer(key.map(|k| format!("Bearer {k}").parse().expect("ascii key")))
}

pub async fn housing_at(addr: SocketAddr, key: Option<&str>) -> Housing {
    HousingOrganisationServiceClient::with_interceptor(connect(addr).await, bearer(key))
}

pub async fn municipality_at(addr: SocketAddr, key: Option<&str>) -> Municipality {
    MunicipalityServiceClient::with_interceptor(connect(addr).await, bearer(key))
}

pub async fn registry_at(addr: SocketAddr, key: Option<&str>) -> Registry {
    RegistryServiceClient::with_interceptor(connect(addr).await, bearer(key))
}

// ----- requests the suites make again and again --------------------------------------------

/// A RegisterVacancyRequest.
pub fn vacancy(key: &str, department: &str, date: &str) -> pb::RegisterVacancyRequest {
    pb::RegisterVacancyRequest {
        idempotency_key: key.into(),
        department_id: department.into(),
        vacancy_ref: format!("ref-{key}"),
        vacancy_date: date.into(),
    }
}

/// A standard relocation grant (the rule set's amount) for establishing special housing.
pub fn standard_grant(key: &str, date: &str) -> pb::DecideRelocationGrantRequest {
    pb::DecideRelocationGrantRequest {
        idempotency_key: key.into(),
        household: Some(household(&format!("hh-{key}"), pb::Person::default())),
        purpose: "special_housing".into(),
        amount_ore: 0,
        decision_date: date.into(),
    }
}

/// The status code of a call that must fail.
pub fn code_of<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) -> tonic::Code {
    match result {
        Ok(r) => panic!("expected an error status, got {r:?}"),
        Err(status) => status.code(),
    }
}

// ----- reading the store behind a server ---------------------------------------------------

/// Every decision of the given kinds (all kinds when empty), in (event date, id) order.
pub async fn decisions_in(store: &Store, kinds: &[DecisionKind]) -> Vec<DecisionRecord> {
    let filter = DecisionFilter {
        kinds: kinds.to_vec(),
        ..DecisionFilter::default()
    };
    let mut all: Vec<DecisionRecord> = Vec::new();
    loop {
        let after = all.last().map(|d| d.id.clone());
        let filter = filter.clone();
        let page = store
            .read(move |tx| {
                let (filter, after) = (filter.clone(), after.clone());
                Box::pin(async move { tx.decisions(&filter, after.as_deref(), 500).await })
            })
            .await
            .expect("read decisions");
        let done = page.len() < 500;
        all.extend(page);
        if done {
            return all;
        }
    }
}

/// A quota scope's counters for a period (`department:<id>` or `municipality:<code>`).
pub async fn counters_in(store: &Store, scope: &str, period: &str) -> QuotaCounters {
    let (scope, period) = (scope.to_owned(), period.to_owned());
    store
        .read(move |tx| {
            let (scope, period) = (scope.clone(), period.clone());
            Box::pin(async move { tx.counters_for_update(&scope, &period).await })
        })
        .await
        .expect("read counters")
}

/// A municipality's grant-pool use for a year.
pub async fn pool_in(store: &Store, municipality: &str, year: i32) -> PoolUse {
    let municipality = municipality.to_owned();
    store
        .read(move |tx| {
            let municipality = municipality.clone();
            Box::pin(async move { tx.pool_for_update(&municipality, year).await })
        })
        .await
        .expect("read pool")
}

impl TestServer {
    /// Decisions of the given kinds (all when empty) in this server's store.
    pub async fn decisions(&self, kinds: &[DecisionKind]) -> Vec<DecisionRecord> {
        decisions_in(&self.store, kinds).await
    }

    /// A department's quota counters for a period.
    pub async fn department_counters(&self, department: &str, period: &str) -> QuotaCounters {
        counters_in(&self.store, &format!("department:{department}"), period).await
    }

    /// The municipality's (0101) quota counters for a period.
    pub async fn municipality_counters(&self, period: &str) -> QuotaCounters {
        counters_in(&self.store, "municipality:0101", period).await
    }

    /// The grant pool's use in 0101 for a year.
    pub async fn pool_use(&self, year: i32) -> PoolUse {
        pool_in(&self.store, "0101", year).await
    }

    /// A new key for `principal` in this server's store: (key id, secret).
    pub async fn new_key(&self, principal: Principal) -> (String, String) {
        let (row, secret) = create_key(&self.store, &principal, "test")
            .await
            .expect("key");
        (row.id, secret)
    }

    /// Revokes a key through the store, as `letting keys revoke` does.
    pub async fn revoke_key(&self, id: &str) {
        let id = id.to_owned();
        let found = self
            .store
            .write(move |tx| {
                let id = id.clone();
                Box::pin(async move { tx.revoke_api_key(&id, chrono::Utc::now()).await })
            })
            .await
            .expect("revoke");
        assert!(found, "no key to revoke");
    }

    /// A server over a fresh PostgreSQL database, or `None` (with a skip line) when
    /// `LETTING_TEST_POSTGRES_URL` is not set. Drop the database after `stop()`.
    pub async fn start_postgres(test: &str) -> Option<(TestServer, PgDatabase)> {
        let db = PgDatabase::create(test).await?;
        let server = TestServer::start_on(&db.url, None).await;
        Some((server, db))
    }
}

// ----- PostgreSQL: a fresh database per test -----------------------------------------------

pub const PG_URL_VAR: &str = "LETTING_TEST_POSTGRES_URL";

/// Says that a test was skipped, straight to stderr (past the harness's capture). Under CI
/// nothing may pass by skipping: the test fails instead.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI must run this test, but {why}"
    );
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {why}");
}

/// A database made for one test in the server `LETTING_TEST_POSTGRES_URL` names.
/// Dropped by `drop_database`, or, when a test fails before it, when the value is dropped.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
    dropped: bool,
}

impl PgDatabase {
    /// A new, empty database; `None` with a skip line when the variable is not set.
    pub async fn create(test: &str) -> Option<PgDatabase> {
        let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
            skip(
                test,
                &format!("{PG_URL_VAR} not set (eval \"$(bash .ci/postgres.sh)\" starts a server)"),
            );
            return None;
        };
        let name = format!("letting_t_{}", uuid::Uuid::now_v7().simple());
        pg_execute(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let url = with_database(&admin_url, &name);
        Some(PgDatabase {
            admin_url,
            name,
            url,
            dropped: false,
        })
    }

    fn drop_sql(&self) -> String {
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
    }

    /// Drops the database, closing whatever connections are left.
    pub async fn drop_database(mut self) {
        pg_execute(&self.admin_url, &self.drop_sql()).await;
        self.dropped = true;
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A test that failed: drop the database from a thread of its own, as this may run
        // inside the test's runtime.
        let (url, sql) = (self.admin_url.clone(), self.drop_sql());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(pg_execute(&url, &sql));
            }
        })
        .join();
    }
}

async fn pg_execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR}: {e}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    drop(client);
    let _ = driver.await;
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

// ----- the real binary: `letting serve` as a child process ---------------------------------

/// An API-key file with fresh secrets for the municipality, KAB, FSB and an auditor.
pub fn write_key_file(path: &Path) -> Keys {
    let secret = || letting_rules::grpc::auth::new_secret().expect("secret");
    let keys = Keys {
        municipality: secret(),
        kab: secret(),
        fsb: secret(),
        auditor: secret(),
    };
    let mut text = String::new();
    for (principal, key) in [
        ("municipality", &keys.municipality),
        ("organisation:kab", &keys.kab),
        ("organisation:fsb", &keys.fsb),
        ("auditor", &keys.auditor),
    ] {
        text.push_str(&format!(
            "[[keys]]\nprincipal = \"{principal}\"\nmunicipality = \"0101\"\nsha256 = \"{}\"\n\n",
            letting_rules::grpc::auth::hash_secret(key)
        ));
    }
    std::fs::write(path, text).expect("write the API-key file");
    keys
}

/// A `letting serve` process on a loopback port of its own choosing. Killed when dropped.
pub struct ServeProcess {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts `letting serve` on `database_url` with the keys of `key_file` and the
    /// repository's rules, and waits until it listens.
    pub fn spawn(database_url: &str, key_file: &Path) -> ServeProcess {
        ServeProcess::spawn_with(database_url, key_file, &[])
    }

    /// As [`ServeProcess::spawn`], with more arguments to `letting serve`.
    pub fn spawn_with(database_url: &str, key_file: &Path, extra: &[&str]) -> ServeProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let stdout = std::fs::File::create(dir.path().join("stdout.log")).expect("stdout log");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_letting"));
        for (name, _) in std::env::vars() {
            if name.starts_with("LETTING_") || name.starts_with("OTEL_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--console-listen")
            .arg("127.0.0.1:0")
            .arg("--database-url")
            .arg(database_url)
            .arg("--rules")
            .arg(rules_dir())
            .arg("--api-key-file")
            .arg(key_file)
            .args(extra)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn letting serve");
        let started = Instant::now();
        let addr = loop {
            let out = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap_or_default();
            if let Some(rest) = out.split("listening on ").nth(1)
                && let Some(addr) = rest.split_whitespace().next()
            {
                break addr.parse().expect("the address serve prints");
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err =
                    std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
                panic!("letting serve exited with {status} before listening:\n{out}\n{err}");
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("letting serve did not listen within 60 s:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        ServeProcess { child, addr, dir }
    }

    /// SIGKILL: no shutdown, no flushing, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// What the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...) with kill(1).
    pub fn signal(&self, name: &str) {
        send_signal(self.child.id(), name);
    }

    /// Waits up to `timeout` for the process to exit; None if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        wait_child(&mut self.child, timeout)
    }

    pub async fn housing(&self, key: &str) -> Housing {
        housing_at(self.addr, Some(key)).await
    }

    pub async fn municipality(&self, key: &str) -> Municipality {
        municipality_at(self.addr, Some(key)).await
    }

    pub async fn registry(&self, key: &str) -> Registry {
        registry_at(self.addr, Some(key)).await
    }
}

/// Sends signal `name` (`TERM`, `HUP`, ...) to process `pid` with kill(1).
pub fn send_signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg("-s")
        .arg(name)
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {name} {pid} failed");
}

/// Waits up to `timeout` for `child` to exit; None if it is still running.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if started.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- the engine, run sequentially, as the reference for racing calls -------------------

/// The channels a sequential run of the engine gives `n` vacancies of one department on
/// `date` (the only department registering vacancies in 0101 that year), in order, with
/// the area's statistics as the store has them.
pub async fn sequential_channels(
    store: &Store,
    department: &str,
    area: &str,
    date: &str,
    n: usize,
) -> Vec<letting_rules::model::Channel> {
    let date: chrono::NaiveDate = date.parse().expect("date");
    let book = rules::load_dir(&rules_dir()).expect("rules load").book;
    let area = area.to_owned();
    let year = chrono::Datelike::year(&date);
    let stats = store
        .read(move |tx| {
            let area = area.clone();
            Box::pin(async move { tx.area_statistics(&area, year).await })
        })
        .await
        .expect("read statistics")
        .expect("statistics loaded");
    let case = letting_rules::engine::VacancyCase {
        date,
        municipality: "0101".into(),
        department: department.into(),
        department_name: None,
        area: stats.facts,
    };
    let mut counters = letting_rules::engine::QuotaState::default();
    let mut channels = Vec::new();
    for _ in 0..n {
        let decided =
            letting_rules::engine::assign_channel(&book, &case, &counters).expect("engine");
        channels.push(decided.channel);
        counters = decided.counters_after;
    }
    channels
}

/// The domain channel of a protobuf channel.
pub fn channel_of(c: pb::LettingChannel) -> letting_rules::model::Channel {
    use letting_rules::model::Channel;
    match c {
        pb::LettingChannel::MunicipalReferral => Channel::MunicipalReferral,
        pb::LettingChannel::Flexible => Channel::Flexible,
        pb::LettingChannel::InternalList => Channel::InternalList,
        pb::LettingChannel::ExternalList => Channel::ExternalList,
        pb::LettingChannel::Unspecified => panic!("an unspecified channel"),
    }
}

// ----- ScreenWaitingList ---------------------------------------------------------------------

/// The first message of a screening: the vacancy and the date.
pub fn screen_vacancy(vacancy_id: &str, date: &str) -> pb::ScreenRequest {
    pb::ScreenRequest {
        item: Some(pb::screen_request::Item::Vacancy(pb::ScreenVacancy {
            vacancy_id: vacancy_id.into(),
            as_of_date: date.into(),
        })),
    }
}

/// A later message of a screening: a batch of households.
pub fn screen_batch(households: Vec<pb::ApplicantHousehold>) -> pb::ScreenRequest {
    pb::ScreenRequest {
        item: Some(pb::screen_request::Item::Batch(pb::ScreenBatch {
            households,
        })),
    }
}

/// Sends `messages` as one ScreenWaitingList stream; the answers received before the
/// stream ended, and its error status if it ended with one (or the call was refused).
pub async fn screen(
    h: &mut Housing,
    messages: Vec<pb::ScreenRequest>,
) -> (Vec<pb::ScreenResult>, Option<Status>) {
    let mut answers = Vec::new();
    let mut stream = match h.screen_waiting_list(tokio_stream::iter(messages)).await {
        Ok(r) => r.into_inner(),
        Err(status) => return (answers, Some(status)),
    };
    loop {
        match stream.message().await {
            Ok(Some(answer)) => answers.push(answer),
            Ok(None) => return (answers, None),
            Err(status) => return (answers, Some(status)),
        }
    }
}
