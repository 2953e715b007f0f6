//! The embedded SQLite backend.
//!
//! One dedicated writer thread owns the only read-write connection. Write jobs reach it
//! over a channel; it takes every job that is queued (up to [`MAX_BATCH`]) into one
//! `BEGIN IMMEDIATE` transaction, runs each inside its own savepoint (rolled back if the
//! job fails), commits once — one fsync for the whole batch — and only then answers the
//! callers. Reads run on a few read-only connections on tokio's blocking threads, each in
//! its own deferred read transaction (a consistent snapshot, thanks to WAL).

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, Timelike, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, Params, Row, params, params_from_iter};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{
    ApiKeyRow, Area, AreaStatistics, CaseKind, CaseRow, DecisionColumns, DecisionFilter,
    DecisionKind, DecisionRecord, Department, IdempotencyRecord, Job, Organisation, PoolUse,
    RuleBookRecord, StoreError, StoredRuleBook, Tx, UserRow,
};
use crate::engine::QuotaCounters;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The most write jobs committed together.
const MAX_BATCH: usize = 256;
/// Write jobs that may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1024;
/// Read-only connections (and so concurrent reads).
const READERS: usize = 4;
/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;
/// The writer's page cache, in KiB (SQLite takes a negative cache_size as KiB).
const WRITER_CACHE_KIB: i64 = -65_536;
/// The longest a batch waits for more jobs before it commits (see `writer_loop`).
const MAX_LINGER: Duration = Duration::from_millis(2);
/// How often a waiting batch takes the jobs that arrived.
const LINGER_STEP: Duration = Duration::from_micros(50);

/// Write jobs per committed batch (histogram, recorded through the `metrics` facade).
pub const BATCH_JOBS: &str = "letting_sqlite_batch_jobs";
/// Seconds of a batch's COMMIT: its fsync of the WAL, and any checkpoint.
pub const COMMIT_SECONDS: &str = "letting_sqlite_commit_seconds";
/// Seconds of a committed batch's whole transaction, BEGIN to the end of COMMIT.
pub const TRANSACTION_SECONDS: &str = "letting_sqlite_transaction_seconds";

/// The SQLite store: a writer thread and a pool of read-only connections.
pub struct SqliteStore {
    sender: Mutex<Option<mpsc::Sender<Box<dyn BatchJob>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<ReadPool>,
    /// For `sqlite::memory:`: the temporary directory holding the database file, removed
    /// when the store is dropped.
    _temp: Option<tempfile::TempDir>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database of `url` and applies the migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (path, temp) = database_path(url)?;
        let url_owned = url.to_owned();
        let writer_path = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_writer(&writer_path, &url_owned))
            .await
            .map_err(|e| StoreError::Open {
                url: url.to_owned(),
                message: e.to_string(),
            })??;
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || writer_loop(conn, receiver, runtime))
            .map_err(|e| StoreError::Open {
                url: url.to_owned(),
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(SqliteStore {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            readers: Arc::new(ReadPool {
                path,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(READERS)),
                closed: AtomicBool::new(false),
            }),
            _temp: temp,
        })
    }

    /// Queues `job` for the writer thread and waits until its batch has committed.
    pub async fn write<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let sender = lock(&self.sender).clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let pending: Box<dyn BatchJob> = Box::new(Pending {
            job,
            outcome: None,
            reply: Some(reply),
        });
        sender.send(pending).await.map_err(|_| StoreError::Closed)?;
        drop(sender);
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `job` in a read transaction on one of the read-only connections.
    pub async fn read<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.readers.clone();
        if pool.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed.into());
        }
        let permit = pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let result = tokio::task::spawn_blocking(move || {
            let result = pool.run(&job);
            drop(permit);
            result
        })
        .await;
        match result {
            Ok(result) => result,
            Err(e) => Err(StoreError::Database(format!("a read job failed: {e}")).into()),
        }
    }

    /// Runs a short read `job` (a few lookups by key) on the calling thread, on an idle
    /// read-only connection: it saves the hop to a blocking thread and back, which costs
    /// more than such a read. When every connection is busy it queues as `read` does.
    pub async fn lookup<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = &self.readers;
        if pool.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed.into());
        }
        match pool.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let result = pool.run(&job);
                drop(permit);
                result
            }
            Err(_) => self.read(job).await,
        }
    }

    /// Stops taking jobs, lets the writer finish the queued ones, checkpoints the WAL and
    /// closes every connection.
    pub async fn close(&self) {
        // Reads: wait for the running ones, then close the idle connections.
        self.readers.closed.store(true, Ordering::Release);
        if let Ok(all) = self.readers.permits.acquire_many(READERS as u32).await {
            all.forget();
            self.readers.permits.close();
        }
        lock(&self.readers.idle).clear();
        // Writes: dropping the sender lets the writer drain its queue and stop.
        drop(lock(&self.sender).take());
        let writer = lock(&self.writer).take();
        if let Some(writer) = writer {
            // The writer answers no more jobs after this; a panic there is already reported.
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The file of a `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` URL; the last is a
/// fresh file in a temporary directory (so the writer and the readers share it).
fn database_path(url: &str) -> Result<(PathBuf, Option<tempfile::TempDir>), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    let rest = rest.split('?').next().unwrap_or_default();
    if rest.is_empty() {
        return Err(StoreError::Open {
            url: url.to_owned(),
            message: "the URL names no file: use sqlite://PATH or sqlite::memory:".to_owned(),
        });
    }
    if rest == ":memory:" {
        let dir = tempfile::Builder::new()
            .prefix("letting-rules-memory-")
            .tempdir()
            .map_err(|e| StoreError::Open {
                url: url.to_owned(),
                message: format!("cannot make a temporary directory: {e}"),
            })?;
        let path = dir.path().join("store.sqlite");
        return Ok((path, Some(dir)));
    }
    Ok((PathBuf::from(rest), None))
}

fn open_error(url: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        url: url.to_owned(),
        message: message.to_string(),
    }
}

/// Opens the read-write connection, sets it up and applies the migrations.
fn open_writer(path: &Path, url: &str) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| open_error(url, format!("cannot create {}: {e}", parent.display())))?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(url, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(url, e))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| open_error(url, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(
            url,
            format!("the database cannot use write-ahead logging (journal mode is {mode})"),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| open_error(url, e))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| open_error(url, e))?;
    // Each job's savepoint journals the pages it changes; in memory, that sub-journal
    // never spills to a temporary file (it does past 64 KiB otherwise).
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(|e| open_error(url, e))?;
    // The writer touches the right-hand edges of every table and index on each job: a
    // page cache larger than the default 2 MiB keeps them (and the interior pages) in
    // memory as the database grows, instead of reading them back through the OS.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)
        .map_err(|e| open_error(url, e))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    embedded::migrations::runner()
        .run(&mut conn)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(conn)
}

/// Opens one read-only connection.
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

// ----- reads ------------------------------------------------------------------------------------

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection that may be in use.
    permits: Arc<Semaphore>,
    closed: AtomicBool,
}

impl ReadPool {
    /// Runs a read job on an idle connection (opened if none is idle); on the calling,
    /// blocking thread.
    fn run<T, E>(&self, job: &impl Job<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let idle = lock(&self.idle).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        run_cached(&conn, "BEGIN DEFERRED").map_err(db)?;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut tx = SqliteTx {
                conn: &mut conn,
                writable: false,
            };
            futures::executor::block_on(job(&mut tx))
        }))
        .unwrap_or_else(|_| Err(StoreError::Database("the read job panicked".to_owned()).into()));
        // A connection that cannot end its transaction is not used again.
        if run_cached(&conn, "COMMIT").is_ok() && !self.closed.load(Ordering::Acquire) {
            lock(&self.idle).push(conn);
        }
        result
    }
}

// ----- writes -----------------------------------------------------------------------------------

/// A queued write job with its reply channel, its type parameters erased.
trait BatchJob: Send {
    /// Runs the job inside the batch; true if it returned `Ok`.
    fn run(&mut self, tx: &mut SqliteTx<'_>) -> bool;
    /// Answers the caller once the batch's fate is known: the job's own result if the
    /// batch committed, else the batch's error.
    fn answer(self: Box<Self>, batch: Result<(), &StoreError>);
}

struct Pending<T, E, J> {
    job: J,
    outcome: Option<Result<T, E>>,
    reply: Option<oneshot::Sender<Result<T, E>>>,
}

impl<T, E, J> BatchJob for Pending<T, E, J>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    J: Job<T, E>,
{
    fn run(&mut self, tx: &mut SqliteTx<'_>) -> bool {
        let job = &self.job;
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(job(tx))))
                .unwrap_or_else(|_| {
                    Err(StoreError::Database("the write job panicked".to_owned()).into())
                });
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(mut self: Box<Self>, batch: Result<(), &StoreError>) {
        let answer = match (batch, self.outcome.take()) {
            (Ok(()), Some(outcome)) => outcome,
            // A job that failed by itself keeps its own error.
            (Err(_), Some(Err(own))) => Err(own),
            (Err(error), _) => Err(duplicate(error).into()),
            (Ok(()), None) => Err(StoreError::Database("the job was not run".to_owned()).into()),
        };
        if let Some(reply) = self.reply.take() {
            // The caller may have stopped waiting; the commit stands either way.
            let _ = reply.send(answer);
        }
    }
}

/// A copy of a store error, to give one batch's failure to each of its jobs.
pub(super) fn duplicate(error: &StoreError) -> StoreError {
    match error {
        StoreError::Closed => StoreError::Closed,
        StoreError::Database(m) => StoreError::Database(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Migration(m) => StoreError::Migration(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

fn writer_loop(
    mut conn: Connection,
    mut receiver: mpsc::Receiver<Box<dyn BatchJob>>,
    runtime: Option<tokio::runtime::Handle>,
) {
    // Jobs may use tokio's timers and the like while they run here.
    let _runtime = runtime.as_ref().map(tokio::runtime::Handle::enter);
    // Under load, the callers a batch answered come back within a round trip. A batch that
    // starts with fewer jobs than the last one waits a little for them (at most half the
    // last commit's time, and never more than MAX_LINGER), so that one fsync serves them
    // all instead of a small batch paying a whole fsync while the rest queue behind it.
    // A caller alone (the last batch was one job) never waits.
    let mut last_size = 0;
    let mut last_commit = Duration::ZERO;
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = Vec::with_capacity(last_size.clamp(8, MAX_BATCH));
        batch.push(first);
        take_queued(&mut receiver, &mut batch);
        if last_size > 1 && batch.len() < last_size {
            let until = Instant::now() + (last_commit / 2).min(MAX_LINGER);
            while batch.len() < last_size && Instant::now() < until {
                std::thread::sleep(LINGER_STEP);
                take_queued(&mut receiver, &mut batch);
            }
        }
        last_size = batch.len();
        last_commit = run_batch(&mut conn, batch);
    }
    // Closing: fold the WAL back into the database file, then close.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    let _ = conn.close();
}

/// Moves the jobs already queued into `batch`, up to MAX_BATCH.
fn take_queued(
    receiver: &mut mpsc::Receiver<Box<dyn BatchJob>>,
    batch: &mut Vec<Box<dyn BatchJob>>,
) {
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

/// Runs one batch in one transaction: a savepoint per job, one commit, then the answers.
/// Returns how long the commit (its fsync, and any checkpoint) took.
fn run_batch(conn: &mut Connection, mut batch: Vec<Box<dyn BatchJob>>) -> Duration {
    let began = Instant::now();
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        answer_all(batch, Err(&db(e)));
        return Duration::ZERO;
    }
    for job in &mut batch {
        if let Err(e) = run_cached(conn, "SAVEPOINT job") {
            abort(conn, batch, db(e));
            return Duration::ZERO;
        }
        let ok = job.run(&mut SqliteTx {
            conn,
            writable: true,
        });
        let end = if ok {
            run_cached(conn, "RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            abort(conn, batch, db(e));
            return Duration::ZERO;
        }
    }
    let committing = Instant::now();
    let committed = run_cached(conn, "COMMIT");
    let took = committing.elapsed();
    match committed {
        Ok(()) => {
            // Recorded before the answers, so a caller that reads the metrics after its
            // answer finds its own batch in them.
            metrics::histogram!(BATCH_JOBS).record(batch.len() as f64);
            metrics::histogram!(COMMIT_SECONDS).record(took.as_secs_f64());
            metrics::histogram!(TRANSACTION_SECONDS).record(began.elapsed().as_secs_f64());
            answer_all(batch, Ok(()))
        }
        Err(e) => abort(conn, batch, db(e)),
    }
    took
}

/// Runs a statement without parameters through the connection's statement cache: BEGIN,
/// SAVEPOINT, RELEASE and COMMIT run on every call, and parsing them each time (as
/// `execute_batch` does) costs more than running them.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn abort(conn: &mut Connection, batch: Vec<Box<dyn BatchJob>>, error: StoreError) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    answer_all(batch, Err(&error));
}

fn answer_all(batch: Vec<Box<dyn BatchJob>>, result: Result<(), &StoreError>) {
    for job in batch {
        job.answer(result);
    }
}

// ----- encoding shared by both backends ---------------------------------------------------------

pub(super) fn case_kind(text: &str) -> Option<CaseKind> {
    [
        CaseKind::Vacancy,
        CaseKind::Letting,
        CaseKind::Offer,
        CaseKind::Referral,
        CaseKind::Grant,
    ]
    .into_iter()
    .find(|k| k.as_str() == text)
}

pub(super) fn decision_kind(text: &str) -> Result<DecisionKind, StoreError> {
    DecisionKind::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown decision kind `{text}`")))
}

pub(super) fn parse_case_kind(text: &str) -> Result<CaseKind, StoreError> {
    case_kind(text).ok_or_else(|| StoreError::Corrupt(format!("unknown case kind `{text}`")))
}

/// Counters as stored: vacancies, then one column per channel.
pub(super) fn counters_to_db(counters: &QuotaCounters) -> Result<[i64; 5], StoreError> {
    let one = |v: u64| {
        i64::try_from(v).map_err(|_| StoreError::Database(format!("counter {v} is too large")))
    };
    Ok([
        one(counters.vacancies)?,
        one(counters.by_channel[0])?,
        one(counters.by_channel[1])?,
        one(counters.by_channel[2])?,
        one(counters.by_channel[3])?,
    ])
}

pub(super) fn counters_from_db(values: [i64; 5]) -> Result<QuotaCounters, StoreError> {
    let one =
        |v: i64| u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative counter {v}")));
    Ok(QuotaCounters {
        vacancies: one(values[0])?,
        by_channel: [
            one(values[1])?,
            one(values[2])?,
            one(values[3])?,
            one(values[4])?,
        ],
    })
}

pub(super) fn dwellings_from_db(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("dwellings {value} out of range")))
}

/// Instants are kept to the microsecond (PostgreSQL's precision) on both backends.
pub(super) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

pub(super) fn encode_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Database(format!("cannot encode a JSON body: {e}")))
}

pub(super) fn decode_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("a stored JSON body does not parse: {e}")))
}

/// An empty response marks a claim (see `Tx::claim_idempotency`), so none is stored.
pub(super) fn empty_response_refused(record: &IdempotencyRecord) -> Result<(), StoreError> {
    if record.response.is_empty() {
        return Err(StoreError::Database(
            "an idempotency record needs a response: an empty one marks a claim".to_owned(),
        ));
    }
    Ok(())
}

pub(super) fn decode_decimal(
    text: Option<String>,
) -> Result<Option<rust_decimal::Decimal>, StoreError> {
    text.map(|t| {
        rust_decimal::Decimal::from_str(&t)
            .map_err(|e| StoreError::Corrupt(format!("stored decimal `{t}`: {e}")))
    })
    .transpose()
}

// ----- SQLite values ----------------------------------------------------------------------------

fn db(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> Result<T, StoreError> {
    row.get(index)
        .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("stored date `{text}`: {e}")))
}

fn instant_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("stored instant `{text}`: {e}")))
}

fn limit_value(limit: u32) -> i64 {
    i64::from(limit)
}

// ----- the transaction --------------------------------------------------------------------------

/// A transaction on one connection: the writer's (inside a job's savepoint) or a reader's.
struct SqliteTx<'c> {
    conn: &'c mut Connection,
    writable: bool,
}

const DEPARTMENT_COLUMNS: &str = "id, organisation, area, name, dwellings";
const STATISTICS_COLUMNS: &str =
    "area, year, facts, transfer_income_share, self_supporting_weeks, loaded_by_decision";
const DECISION_COLUMNS: &str = "id, kind, municipality, organisation, department, area, \
     subject, event_date, recorded_at, outcome, channel, area_class, amount_ore, rule_set_id, \
     rule_set_hash, principal, body, schema_version";
const CASE_COLUMNS: &str =
    "kind, id, municipality, organisation, department, status, updated_at, body";
const API_KEY_COLUMNS: &str =
    "id, principal, municipality, secret_hash, created_at, revoked_at, label";

impl SqliteTx<'_> {
    fn writable(&self) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::Database("read-only transaction".to_owned()))
        }
    }

    fn execute(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        self.writable()?;
        let mut statement = self.conn.prepare_cached(sql).map_err(db)?;
        statement.execute(params).map_err(db)
    }

    /// The decisions of `filter` after `after`, each mapped by `map`.
    fn decisions_as<T>(
        &self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
        map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        // Paging is in (event_date, id) order: continue after the named decision.
        let after = match after {
            Some(id) => match self.row(
                "SELECT event_date FROM decisions WHERE id = ?1",
                [id],
                |row| parse_date(&get::<String>(row, 0)?),
            )? {
                Some(date) => Some((date, id)),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut sql = Conditions::new(format!("SELECT {DECISION_COLUMNS} FROM decisions"));
        // A cursor at or past `from` bounds the index range better on its own.
        let from_bounds = after.is_none_or(|(date, _)| filter.from.is_some_and(|f| date < f));
        sql.filter(filter, from_bounds);
        if let Some((date, id)) = after {
            sql.bind(" AND (event_date, id) > (?", Value::Text(date_text(date)));
            sql.bind(", ?)", Value::Text(id.to_owned()));
        }
        sql.bind(
            " ORDER BY event_date, id LIMIT ?",
            Value::Integer(limit_value(limit)),
        );
        self.rows(&sql.sql, params_from_iter(sql.values), map)
    }

    fn rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = statement.query(params).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(map(row)?);
        }
        Ok(out)
    }

    fn row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = statement.query(params).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => Ok(Some(map(row)?)),
            None => Ok(None),
        }
    }
}

fn organisation_row(row: &Row<'_>) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: get(row, 0)?,
        name: get(row, 1)?,
    })
}

fn area_row(row: &Row<'_>) -> Result<Area, StoreError> {
    Ok(Area {
        id: get(row, 0)?,
        municipality: get(row, 1)?,
        name: get(row, 2)?,
    })
}

fn department_row(row: &Row<'_>) -> Result<Department, StoreError> {
    Ok(Department {
        id: get(row, 0)?,
        organisation: get(row, 1)?,
        area: get(row, 2)?,
        name: get(row, 3)?,
        dwellings: dwellings_from_db(get(row, 4)?)?,
    })
}

fn statistics_row(row: &Row<'_>) -> Result<AreaStatistics, StoreError> {
    let facts: String = get(row, 2)?;
    Ok(AreaStatistics {
        area: get(row, 0)?,
        year: get(row, 1)?,
        facts: decode_json(&facts)?,
        transfer_income_share: decode_decimal(get(row, 3)?)?,
        self_supporting_weeks: decode_decimal(get(row, 4)?)?,
        loaded_by_decision: get(row, 5)?,
    })
}

/// `?1, ?2, …, ?n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A statement's conditions with their numbered parameters: one place for the log's reads
/// and counts.
struct Conditions {
    sql: String,
    values: Vec<Value>,
}

impl Conditions {
    fn new(select: String) -> Self {
        Conditions {
            sql: select + " WHERE 1 = 1",
            values: Vec::new(),
        }
    }

    /// Appends `condition`, its `?` numbered as the next parameter, `value`.
    fn bind(&mut self, condition: &str, value: Value) {
        self.values.push(value);
        let numbered = format!("?{}", self.values.len());
        self.sql.push_str(&condition.replace('?', &numbered));
    }

    /// `column` is one of `list`; nothing when the list is empty.
    fn any_of(&mut self, column: &str, list: &[String]) {
        if list.is_empty() {
            return;
        }
        self.sql.push_str(&format!(" AND {column} IN ("));
        for (i, value) in list.iter().enumerate() {
            let separator = if i == 0 { "?" } else { ", ?" };
            self.bind(separator, Value::Text(value.clone()));
        }
        self.sql.push(')');
    }

    /// The conditions of `filter`; its event dates from `from` only when `from_bounds`.
    fn filter(&mut self, filter: &DecisionFilter, from_bounds: bool) {
        if let Some(municipality) = &filter.municipality {
            self.bind(" AND municipality = ?", Value::Text(municipality.clone()));
        }
        if let Some(subject) = &filter.subject {
            self.bind(" AND subject = ?", Value::Text(subject.clone()));
        }
        if let Some(from) = filter.from
            && from_bounds
        {
            self.bind(" AND event_date >= ?", Value::Text(date_text(from)));
        }
        if let Some(to) = filter.to {
            self.bind(" AND event_date <= ?", Value::Text(date_text(to)));
        }
        let kinds: Vec<String> = filter.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        self.any_of("kind", &kinds);
    }
}

fn decision_row(row: &Row<'_>) -> Result<DecisionRecord, StoreError> {
    let (mut record, body) = decision_text_row(row)?;
    record.body = decode_json(&body)?;
    Ok(record)
}

/// A decision with its body as stored, as text (the record's `body` is null).
fn decision_text_row(row: &Row<'_>) -> Result<(DecisionRecord, String), StoreError> {
    let kind: String = get(row, 1)?;
    let event_date: String = get(row, 7)?;
    let recorded_at: String = get(row, 8)?;
    let body: String = get(row, 16)?;
    let record = DecisionRecord {
        id: get(row, 0)?,
        kind: decision_kind(&kind)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        area: get(row, 5)?,
        subject: get(row, 6)?,
        event_date: parse_date(&event_date)?,
        recorded_at: parse_instant(&recorded_at)?,
        outcome: get(row, 9)?,
        channel: get(row, 10)?,
        area_class: get(row, 11)?,
        amount_ore: get(row, 12)?,
        rule_set_id: get(row, 13)?,
        rule_set_hash: get(row, 14)?,
        principal: get(row, 15)?,
        body: serde_json::Value::Null,
        schema_version: get(row, 17)?,
    };
    Ok((record, body))
}

fn case_row(row: &Row<'_>) -> Result<CaseRow, StoreError> {
    let kind: String = get(row, 0)?;
    let updated_at: String = get(row, 6)?;
    let body: String = get(row, 7)?;
    Ok(CaseRow {
        kind: parse_case_kind(&kind)?,
        id: get(row, 1)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        status: get(row, 5)?,
        updated_at: parse_instant(&updated_at)?,
        body: decode_json(&body)?,
    })
}

fn api_key_row(row: &Row<'_>) -> Result<ApiKeyRow, StoreError> {
    let created_at: String = get(row, 4)?;
    let revoked_at: Option<String> = get(row, 5)?;
    Ok(ApiKeyRow {
        id: get(row, 0)?,
        principal: get(row, 1)?,
        municipality: get(row, 2)?,
        secret_hash: get(row, 3)?,
        created_at: parse_instant(&created_at)?,
        revoked_at: revoked_at.as_deref().map(parse_instant).transpose()?,
        label: get(row, 6)?,
    })
}

fn counters_row(row: &Row<'_>) -> Result<QuotaCounters, StoreError> {
    counters_from_db([
        get(row, 0)?,
        get(row, 1)?,
        get(row, 2)?,
        get(row, 3)?,
        get(row, 4)?,
    ])
}

#[async_trait::async_trait]
impl Tx for SqliteTx<'_> {
    async fn upsert_organisation(
        &mut self,
        municipality: &str,
        org: &Organisation,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO organisations (municipality, id, name) VALUES (?1, ?2, ?3) \
             ON CONFLICT (municipality, id) DO UPDATE SET name = excluded.name",
            params![municipality, org.id, org.name],
        )?;
        Ok(())
    }

    async fn upsert_area(&mut self, area: &Area) -> Result<(), StoreError> {
        // Another municipality's area is left as it is: no row changes.
        let changed = self.execute(
            "INSERT INTO areas (id, municipality, name) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name \
             WHERE areas.municipality = excluded.municipality",
            params![area.id, area.municipality, area.name],
        )?;
        if changed == 0 {
            return Err(StoreError::OtherMunicipality {
                what: "area",
                id: area.id.clone(),
            });
        }
        Ok(())
    }

    async fn upsert_department(
        &mut self,
        municipality: &str,
        department: &Department,
    ) -> Result<(), StoreError> {
        let changed = self.execute(
            "INSERT INTO departments (id, municipality, organisation, area, name, dwellings) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET organisation = excluded.organisation, \
             area = excluded.area, name = excluded.name, dwellings = excluded.dwellings \
             WHERE departments.municipality = excluded.municipality",
            params![
                department.id,
                municipality,
                department.organisation,
                department.area,
                department.name,
                i64::from(department.dwellings)
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::OtherMunicipality {
                what: "department",
                id: department.id.clone(),
            });
        }
        Ok(())
    }

    async fn organisation(
        &mut self,
        municipality: &str,
        id: &str,
    ) -> Result<Option<Organisation>, StoreError> {
        self.row(
            "SELECT id, name FROM organisations WHERE municipality = ?1 AND id = ?2",
            [municipality, id],
            organisation_row,
        )
    }

    async fn area(&mut self, id: &str) -> Result<Option<Area>, StoreError> {
        self.row(
            "SELECT id, municipality, name FROM areas WHERE id = ?1",
            [id],
            area_row,
        )
    }

    async fn department(&mut self, id: &str) -> Result<Option<Department>, StoreError> {
        self.row(
            &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE id = ?1"),
            [id],
            department_row,
        )
    }

    async fn departments(
        &mut self,
        municipality: &str,
        organisation: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Department>, StoreError> {
        let mut sql =
            format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE municipality = ?1");
        let mut values: Vec<Value> = vec![Value::Text(municipality.to_owned())];
        if let Some(organisation) = organisation {
            values.push(Value::Text(organisation.to_owned()));
            sql.push_str(&format!(" AND organisation = ?{}", values.len()));
        }
        if let Some(after) = after {
            values.push(Value::Text(after.to_owned()));
            sql.push_str(&format!(" AND id > ?{}", values.len()));
        }
        values.push(Value::Integer(limit_value(limit)));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
        self.rows(&sql, params_from_iter(values), department_row)
    }

    async fn areas(&mut self, municipality: &str) -> Result<Vec<Area>, StoreError> {
        self.rows(
            "SELECT id, municipality, name FROM areas WHERE municipality = ?1 ORDER BY id",
            [municipality],
            area_row,
        )
    }

    async fn put_area_statistics(&mut self, stats: &AreaStatistics) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO area_statistics (area, year, facts, transfer_income_share, \
             self_supporting_weeks, loaded_by_decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (area, year) DO UPDATE SET facts = excluded.facts, \
             transfer_income_share = excluded.transfer_income_share, \
             self_supporting_weeks = excluded.self_supporting_weeks, \
             loaded_by_decision = excluded.loaded_by_decision",
            params![
                stats.area,
                stats.year,
                encode_json(&stats.facts)?,
                stats.transfer_income_share.map(|d| d.to_string()),
                stats.self_supporting_weeks.map(|d| d.to_string()),
                stats.loaded_by_decision
            ],
        )?;
        Ok(())
    }

    async fn area_statistics(
        &mut self,
        area: &str,
        year: i32,
    ) -> Result<Option<AreaStatistics>, StoreError> {
        self.row(
            &format!(
                "SELECT {STATISTICS_COLUMNS} FROM area_statistics \
                 WHERE area = ?1 AND year <= ?2 ORDER BY year DESC LIMIT 1"
            ),
            params![area, year],
            statistics_row,
        )
    }

    async fn counters_for_update(
        &mut self,
        scope: &str,
        period: &str,
    ) -> Result<QuotaCounters, StoreError> {
        // The single writer already serialises every write transaction.
        Ok(self
            .row(
                "SELECT vacancies, municipal_referral, flexible, internal_list, external_list \
                 FROM quota_counters WHERE scope = ?1 AND period = ?2",
                [scope, period],
                counters_row,
            )?
            .unwrap_or_default())
    }

    async fn put_counters(
        &mut self,
        scope: &str,
        period: &str,
        counters: &QuotaCounters,
    ) -> Result<(), StoreError> {
        let [vacancies, referral, flexible, internal, external] = counters_to_db(counters)?;
        self.execute(
            "INSERT INTO quota_counters (scope, period, vacancies, municipal_referral, \
             flexible, internal_list, external_list) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (scope, period) DO UPDATE SET vacancies = excluded.vacancies, \
             municipal_referral = excluded.municipal_referral, flexible = excluded.flexible, \
             internal_list = excluded.internal_list, external_list = excluded.external_list",
            params![
                scope, period, vacancies, referral, flexible, internal, external
            ],
        )?;
        Ok(())
    }

    async fn append_decision(&mut self, d: &DecisionRecord) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
            ),
            params![
                d.id,
                d.kind.as_str(),
                d.municipality,
                d.organisation,
                d.department,
                d.area,
                d.subject,
                date_text(d.event_date),
                instant_text(d.recorded_at),
                d.outcome,
                d.channel,
                d.area_class,
                d.amount_ore,
                d.rule_set_id,
                d.rule_set_hash,
                d.principal,
                encode_json(&d.body)?,
                d.schema_version
            ],
        )?;
        Ok(())
    }

    async fn put_rule_book(&mut self, book: &RuleBookRecord) -> Result<(), StoreError> {
        if self
            .row(
                "SELECT 1 FROM rule_books WHERE hash = ?1",
                [&book.hash],
                |_| Ok(()),
            )?
            .is_none()
        {
            let files = serde_json::to_string(&book.sources).map_err(|e| {
                StoreError::Database(format!("cannot encode a rule book's files: {e}"))
            })?;
            self.execute(
                "INSERT INTO rule_books (hash, loaded_at, files) VALUES (?1, ?2, ?3)",
                params![book.hash, instant_text(book.loaded_at), files],
            )?;
        }
        self.execute(
            "INSERT INTO rule_book_activations (activated_at, hash) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            params![instant_text(book.activated_at), book.hash],
        )?;
        Ok(())
    }

    async fn rule_book(&mut self, hash: &str) -> Result<Option<StoredRuleBook>, StoreError> {
        let Some((loaded_at, files)) = self.row(
            "SELECT loaded_at, files FROM rule_books WHERE hash = ?1",
            [hash],
            |row| Ok((get::<String>(row, 0)?, get::<String>(row, 1)?)),
        )?
        else {
            return Ok(None);
        };
        let activations = self.rows(
            "SELECT activated_at FROM rule_book_activations WHERE hash = ?1 ORDER BY activated_at",
            [hash],
            |row| parse_instant(&get::<String>(row, 0)?),
        )?;
        Ok(Some(StoredRuleBook {
            hash: hash.to_owned(),
            loaded_at: parse_instant(&loaded_at)?,
            activations,
            sources: serde_json::from_str(&files).map_err(|e| {
                StoreError::Corrupt(format!("rule book `{hash}`: its files do not parse: {e}"))
            })?,
        }))
    }

    async fn put_decision_inputs(
        &mut self,
        decision_id: &str,
        inputs: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO decision_inputs (decision_id, inputs) VALUES (?1, ?2)",
            params![decision_id, encode_json(inputs)?],
        )?;
        Ok(())
    }

    async fn decision_inputs(
        &mut self,
        decision_ids: &[String],
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut out = Vec::new();
        // SQLite binds at most 32,766 values a statement.
        for chunk in decision_ids.chunks(1000) {
            let sql = format!(
                "SELECT decision_id, inputs FROM decision_inputs WHERE decision_id IN ({})",
                placeholders(chunk.len())
            );
            out.extend(self.rows(&sql, params_from_iter(chunk.iter()), |row| {
                Ok((
                    get::<String>(row, 0)?,
                    decode_json(&get::<String>(row, 1)?)?,
                ))
            })?);
        }
        Ok(out)
    }

    async fn delete_decision_inputs(&mut self, decision_ids: &[String]) -> Result<u64, StoreError> {
        let mut removed = 0u64;
        for chunk in decision_ids.chunks(1000) {
            let sql = format!(
                "DELETE FROM decision_inputs WHERE decision_id IN ({})",
                placeholders(chunk.len())
            );
            let n = self.execute(&sql, params_from_iter(chunk.iter()))?;
            removed = removed.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        }
        Ok(removed)
    }

    async fn decision(&mut self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.row(
            &format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?1"),
            [id],
            decision_row,
        )
    }

    /// Answered from the index on (municipality, kind, event_date, …) without reading bodies.
    async fn count_decisions(
        &mut self,
        filter: &DecisionFilter,
        only: &DecisionColumns,
    ) -> Result<u64, StoreError> {
        let mut sql = Conditions::new("SELECT COUNT(*) FROM decisions".to_owned());
        sql.filter(filter, true);
        sql.any_of("outcome", &only.outcomes);
        sql.any_of("channel", &only.channels);
        sql.any_of("area_class", &only.area_classes);
        let count = self.row(&sql.sql, params_from_iter(sql.values), |row| {
            get::<i64>(row, 0)
        })?;
        Ok(u64::try_from(count.unwrap_or(0)).unwrap_or(0))
    }

    /// Answered from the partial index of pending lettings.
    async fn pending_lettings_as_of(
        &mut self,
        municipality: &str,
        as_of: NaiveDate,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        self.rows(
            &format!(
                "SELECT {DECISION_COLUMNS} FROM decisions l \
                 WHERE l.municipality = ?1 AND l.kind = 'letting' \
                   AND l.outcome = 'pending_municipal_approval' AND l.event_date <= ?2 \
                   AND NOT EXISTS (SELECT 1 FROM decisions s WHERE s.subject = l.subject \
                       AND s.kind IN ('approval', 'municipal_rejection') AND s.event_date <= ?2) \
                 ORDER BY l.event_date, l.id"
            ),
            rusqlite::params![municipality, date_text(as_of)],
            decision_row,
        )
    }

    async fn decisions(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        self.decisions_as(filter, after, limit, decision_row)
    }

    async fn decision_texts(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(DecisionRecord, String)>, StoreError> {
        self.decisions_as(filter, after, limit, decision_text_row)
    }

    async fn put_case(&mut self, case: &CaseRow) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO cases ({CASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (kind, id) DO UPDATE SET municipality = excluded.municipality, \
                 organisation = excluded.organisation, department = excluded.department, \
                 status = excluded.status, updated_at = excluded.updated_at, \
                 body = excluded.body"
            ),
            params![
                case.kind.as_str(),
                case.id,
                case.municipality,
                case.organisation,
                case.department,
                case.status,
                instant_text(case.updated_at),
                encode_json(&case.body)?
            ],
        )?;
        Ok(())
    }

    async fn case_for_update(
        &mut self,
        kind: CaseKind,
        id: &str,
    ) -> Result<Option<CaseRow>, StoreError> {
        self.row(
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = ?1 AND id = ?2"),
            [kind.as_str(), id],
            case_row,
        )
    }

    async fn cases(
        &mut self,
        kind: CaseKind,
        status: Option<&str>,
        municipality: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>, StoreError> {
        let mut sql =
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = ?1 AND municipality = ?2");
        let mut values = vec![
            Value::Text(kind.as_str().to_owned()),
            Value::Text(municipality.to_owned()),
        ];
        if let Some(status) = status {
            values.push(Value::Text(status.to_owned()));
            sql.push_str(&format!(" AND status = ?{}", values.len()));
        }
        if let Some(after) = after {
            values.push(Value::Text(after.to_owned()));
            sql.push_str(&format!(" AND id > ?{}", values.len()));
        }
        values.push(Value::Integer(limit_value(limit)));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
        self.rows(&sql, params_from_iter(values), case_row)
    }

    async fn pool_for_update(
        &mut self,
        municipality: &str,
        year: i32,
    ) -> Result<PoolUse, StoreError> {
        Ok(self
            .row(
                "SELECT committed_ore, paid_ore FROM grant_pools \
                 WHERE municipality = ?1 AND year = ?2",
                params![municipality, year],
                |row| {
                    Ok(PoolUse {
                        committed_ore: get(row, 0)?,
                        paid_ore: get(row, 1)?,
                    })
                },
            )?
            .unwrap_or_default())
    }

    async fn put_pool(
        &mut self,
        municipality: &str,
        year: i32,
        pool: &PoolUse,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO grant_pools (municipality, year, committed_ore, paid_ore) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (municipality, year) DO UPDATE SET \
             committed_ore = excluded.committed_ore, paid_ore = excluded.paid_ore",
            params![municipality, year, pool.committed_ore, pool.paid_ore],
        )?;
        Ok(())
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.row(
            "SELECT request_hash, response FROM idempotency WHERE principal = ?1 AND key = ?2",
            [principal, key],
            |row| {
                Ok(IdempotencyRecord {
                    request_hash: get(row, 0)?,
                    response: get(row, 1)?,
                })
            },
        )
    }

    async fn claim_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // One writer: no claim of another job can be pending, only committed (or released
        // earlier in this batch).
        let claimed = self.execute(
            "INSERT INTO idempotency (principal, key, request_hash, response) \
             VALUES (?1, ?2, ?3, X'') ON CONFLICT (principal, key) DO NOTHING",
            params![principal, key, request_hash],
        )?;
        if claimed == 1 {
            return Ok(None);
        }
        self.idempotency(principal, key).await
    }

    async fn put_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        empty_response_refused(record)?;
        // This job's own claim is the only row with an empty response.
        let filled = self.execute(
            "UPDATE idempotency SET request_hash = ?3, response = ?4 \
             WHERE principal = ?1 AND key = ?2 AND length(response) = 0",
            params![principal, key, record.request_hash, record.response],
        )?;
        if filled == 0 {
            self.execute(
                "INSERT INTO idempotency (principal, key, request_hash, response) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![principal, key, record.request_hash, record.response],
            )?;
        }
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                key.id,
                key.principal,
                key.municipality,
                key.secret_hash,
                instant_text(key.created_at),
                key.revoked_at.map(instant_text),
                key.label
            ],
        )?;
        Ok(())
    }

    async fn api_key_by_hash(
        &mut self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        self.row(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?1"),
            [secret_hash],
            api_key_row,
        )
    }

    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.rows(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"),
            [],
            api_key_row,
        )
    }

    async fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let changed = self.execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id, instant_text(at)],
        )?;
        Ok(changed > 0)
    }

    async fn insert_user(&mut self, user: &UserRow) -> Result<bool, StoreError> {
        let added = self.execute(
            &format!(
                "INSERT INTO console_users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (username) DO NOTHING"
            ),
            params![
                user.username,
                user.principal,
                user.municipality,
                user.password_hash,
                instant_text(user.created_at)
            ],
        )?;
        Ok(added > 0)
    }

    async fn user(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.row(
            &format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = ?1"),
            [username],
            |row| {
                let created_at: String = get(row, 4)?;
                Ok(UserRow {
                    username: get(row, 0)?,
                    principal: get(row, 1)?,
                    municipality: get(row, 2)?,
                    password_hash: get(row, 3)?,
                    created_at: parse_instant(&created_at)?,
                })
            },
        )
    }
}

const USER_COLUMNS: &str = "username, principal, municipality, password_hash, created_at";
