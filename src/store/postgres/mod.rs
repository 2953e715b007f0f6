//! The PostgreSQL backend: a connection pool; each write job in its own READ COMMITTED
//! transaction, with row locks (`SELECT ... FOR UPDATE`) on quota counters, grant pools
//! and cases, so that several server processes may share one database. A job that meets
//! a serialisation failure or a deadlock is run again from the start.

mod conditions;
mod connection;
mod operations;
mod rows;
mod tx;

use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{IsolationLevel, NoTls};

use super::{Job, StoreError};
use connection::{migrate, redact};
use rows::describe;
use tx::{PgTx, retryable};

/// Connections in the pool.
const POOL_SIZE: usize = 16;
/// Runs of one job: the first and up to five more after serialisation failures or
/// deadlocks.
const MAX_ATTEMPTS: u32 = 6;

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    closed: AtomicBool,
}

/// A short, growing, jittered pause before running a job again.
async fn backoff(attempt: u32) {
    let jitter = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        % 10;
    let millis = 5u64.saturating_mul(1 << attempt.min(6)) + jitter;
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

impl PgStore {
    /// Connects, applies the migrations (one process at a time) and builds the pool.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = redact(url);
        let open_error = |message: String| StoreError::Open {
            url: shown.clone(),
            message,
        };
        let config = tokio_postgres::Config::from_str(url).map_err(|e| open_error(describe(&e)))?;

        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| open_error(describe(&e)))?;
        let driver = tokio::spawn(connection);
        let migrated = migrate(&mut client).await;
        drop(client);
        // The connection task ends once the client is gone; its error, if any, is moot.
        let _ = driver.await;
        migrated?;

        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| open_error(e.to_string()))?;
        // Fail now, not on the first request, if the pool cannot connect.
        drop(
            pool.get()
                .await
                .map_err(|e| open_error(format!("cannot connect: {e}")))?,
        );
        Ok(PgStore {
            pool,
            closed: AtomicBool::new(false),
        })
    }

    pub async fn write<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(job, true).await
    }

    pub async fn read<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run(job, false).await
    }

    /// Closes the pool: idle connections now, busy ones as their jobs finish.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.pool.close();
    }

    /// Runs `job` in a transaction, again after serialisation failures and deadlocks.
    async fn run<T, E>(&self, job: impl Job<T, E>, writable: bool) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed.into());
        }
        let mut client = self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Closed => StoreError::Closed,
            other => StoreError::Database(format!("no database connection: {other}")),
        })?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let may_retry = attempt < MAX_ATTEMPTS;
            let builder = client.build_transaction();
            let builder = if writable {
                builder.isolation_level(IsolationLevel::ReadCommitted)
            } else {
                builder
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
            };
            let transaction = builder
                .start()
                .await
                .map_err(|e| StoreError::Database(describe(&e)))?;
            let mut tx = PgTx {
                tx: transaction,
                writable,
                failure: None,
            };
            let result = job(&mut tx).await;
            let PgTx { tx, failure, .. } = tx;
            match (result, failure) {
                (Ok(value), None) => match tx.commit().await {
                    Ok(()) => return Ok(value),
                    Err(e) if retryable(&e) && may_retry => {}
                    Err(e) => return Err(StoreError::Database(describe(&e)).into()),
                },
                (result, failure) => {
                    // PostgreSQL aborts the whole transaction at the first error, so
                    // nothing may be committed once one happened, even if the job went on.
                    tx.rollback()
                        .await
                        .map_err(|e| StoreError::Database(describe(&e)))?;
                    match failure {
                        Some(failure) if failure.retryable && may_retry => {}
                        Some(failure) => {
                            return match result {
                                Err(e) => Err(e),
                                Ok(_) => Err(StoreError::Database(format!(
                                    "the transaction was rolled back after an error the job \
                                     did not pass on: {}",
                                    failure.message
                                ))
                                .into()),
                            };
                        }
                        None => return result,
                    }
                }
            }
            backoff(attempt).await;
        }
    }
}
