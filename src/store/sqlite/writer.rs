//! The writer thread: the queued write jobs in one transaction, a savepoint each, one
//! commit (one fsync) for the batch, then the answers.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::rows::db;
use super::tx::SqliteTx;
use crate::store::{Job, StoreError};

/// The most write jobs committed together.
const MAX_BATCH: usize = 256;

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

/// A queued write job with its reply channel, its type parameters erased.
pub(super) trait BatchJob: Send {
    /// Runs the job inside the batch; true if it returned `Ok`.
    fn run(&mut self, tx: &mut SqliteTx<'_>) -> bool;
    /// Answers the caller once the batch's fate is known: the job's own result if the
    /// batch committed, else the batch's error.
    fn answer(self: Box<Self>, batch: Result<(), &StoreError>);
}

pub(super) struct Pending<T, E, J> {
    pub(super) job: J,
    pub(super) outcome: Option<Result<T, E>>,
    pub(super) reply: Option<oneshot::Sender<Result<T, E>>>,
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
fn duplicate(error: &StoreError) -> StoreError {
    match error {
        StoreError::Closed => StoreError::Closed,
        StoreError::Database(m) => StoreError::Database(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::Migration(m) => StoreError::Migration(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

pub(super) fn writer_loop(
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
pub(super) fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
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
