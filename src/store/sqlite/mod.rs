//! The embedded SQLite backend.
//!
//! One dedicated writer thread owns the only read-write connection. Write jobs reach it
//! over a channel; it takes every job that is queued (up to
//! [`MAX_BATCH`](writer::MAX_BATCH)) into one `BEGIN IMMEDIATE` transaction, runs each
//! inside its own savepoint (rolled back if the job fails), commits once — one fsync for
//! the whole batch — and only then answers the callers. Reads run on a few read-only
//! connections on tokio's blocking threads, each in its own deferred read transaction (a
//! consistent snapshot, thanks to WAL).

mod conditions;
mod connection;
mod operations;
mod rows;
mod tx;
mod writer;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{Job, StoreError};
use connection::{database_path, open_reader, open_writer};
use rows::db;
use tx::SqliteTx;
use writer::{BatchJob, Pending, run_cached, writer_loop};

pub use writer::{BATCH_JOBS, COMMIT_SECONDS, TRANSACTION_SECONDS};

/// Write jobs that may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1024;
/// Read-only connections (and so concurrent reads).
const READERS: usize = 4;

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
