//! The PostgreSQL backend: a connection pool; each write job in its own READ COMMITTED
//! transaction, with row locks (`SELECT ... FOR UPDATE`) on quota counters, grant pools
//! and cases, so that several server processes may share one database. A job that meets
//! a serialisation failure or a deadlock is run again from the start.

use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use super::encoding::{
    counters_from_db, counters_to_db, decision_kind, decode_decimal, decode_json,
    dwellings_from_db, empty_response_refused, encode_json, micros, parse_case_kind,
};
use super::{
    ApiKeyRow, Area, AreaStatistics, CaseKind, CaseRow, DecisionFilter, DecisionRecord, Department,
    IdempotencyRecord, Job, Organisation, PoolUse, RuleBookRecord, StoreError, StoredRuleBook, Tx,
    UserRow,
};
use crate::engine::QuotaCounters;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections in the pool.
const POOL_SIZE: usize = 16;
/// Runs of one job: the first and up to five more after serialisation failures or
/// deadlocks.
const MAX_ATTEMPTS: u32 = 6;
/// Key of the advisory lock that keeps two processes from migrating at once.
const MIGRATION_LOCK: i64 = 0x6c65_7474_696e_6701;

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    closed: AtomicBool,
}

type Param<'a> = &'a (dyn ToSql + Sync);

/// The URL with any password blanked out, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A driver error as text, with the server's message and SQLSTATE when there is one.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

/// Serialisation failures and deadlocks: the job is run again.
fn retryable(error: &tokio_postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
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

/// Applies the embedded migrations, holding an advisory lock so that processes starting
/// together do not migrate at once.
async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let migration_error = |e: tokio_postgres::Error| StoreError::Migration(describe(&e));
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(migration_error)?;
    let result = embedded::migrations::runner()
        .run_async(client)
        .await
        .map(|_| ())
        .map_err(|e| StoreError::Migration(e.to_string()));
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(migration_error)?;
    result
}

/// The first error a transaction met.
struct Failure {
    message: String,
    retryable: bool,
}

/// One job's transaction.
struct PgTx<'c> {
    tx: deadpool_postgres::Transaction<'c>,
    writable: bool,
    failure: Option<Failure>,
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
const COUNTER_COLUMNS: &str =
    "vacancies, municipal_referral, flexible, internal_list, external_list";

fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
}

impl PgTx<'_> {
    fn writable(&self) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::Database("read-only transaction".to_owned()))
        }
    }

    /// Notes the first error (the transaction is aborted from here on) and converts it.
    fn failed(&mut self, error: tokio_postgres::Error) -> StoreError {
        let message = describe(&error);
        // A lost race to insert an idempotency record without claiming the key first: the
        // job run again finds the first response.
        let lost_race = error.code() == Some(&SqlState::UNIQUE_VIOLATION)
            && error
                .as_db_error()
                .and_then(|db| db.table())
                .is_some_and(|table| table == "idempotency");
        if self.failure.is_none() {
            self.failure = Some(Failure {
                message: message.clone(),
                retryable: retryable(&error) || lost_race,
            });
        }
        StoreError::Database(message)
    }

    /// The rows of the decisions of `filter` after `after`.
    async fn decision_rows(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Row>, StoreError> {
        // Paging is in (event_date, id) order: continue after the named decision.
        let after = match after {
            Some(id) => match self
                .query_opt("SELECT event_date FROM decisions WHERE id = $1", &[&id])
                .await?
            {
                Some(row) => Some((get::<chrono::NaiveDate>(&row, 0)?, id)),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
        let limit = i64::from(limit);
        let mut sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE TRUE");
        let mut params: Vec<Param<'_>> = Vec::new();
        // A cursor at or past `from` bounds the index range better on its own.
        let from_bounds = after.is_none_or(|(date, _)| filter.from.is_some_and(|f| date < f));
        let any_kind = (!kinds.is_empty()).then_some(&kinds as Param<'_>);
        filter_conditions(filter, any_kind, from_bounds, &mut sql, &mut params);
        if let Some((date, id)) = &after {
            params.push(date);
            params.push(id);
            sql.push_str(&format!(
                " AND (event_date, id) > (${}, ${})",
                params.len() - 1,
                params.len()
            ));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY event_date, id LIMIT ${}", params.len()));
        self.query(&sql, &params).await
    }

    async fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let statement = match self.tx.prepare_cached(sql).await {
            Ok(statement) => statement,
            Err(e) => return Err(self.failed(e)),
        };
        match self.tx.query(&statement, params).await {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.failed(e)),
        }
    }

    async fn query_opt(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        self.writable()?;
        let statement = match self.tx.prepare_cached(sql).await {
            Ok(statement) => statement,
            Err(e) => return Err(self.failed(e)),
        };
        match self.tx.execute(&statement, params).await {
            Ok(count) => Ok(count),
            Err(e) => Err(self.failed(e)),
        }
    }
}

fn organisation_row(row: &Row) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: get(row, 0)?,
        name: get(row, 1)?,
    })
}

fn area_row(row: &Row) -> Result<Area, StoreError> {
    Ok(Area {
        id: get(row, 0)?,
        municipality: get(row, 1)?,
        name: get(row, 2)?,
    })
}

fn department_row(row: &Row) -> Result<Department, StoreError> {
    Ok(Department {
        id: get(row, 0)?,
        organisation: get(row, 1)?,
        area: get(row, 2)?,
        name: get(row, 3)?,
        dwellings: dwellings_from_db(get(row, 4)?)?,
    })
}

fn statistics_row(row: &Row) -> Result<AreaStatistics, StoreError> {
    Ok(AreaStatistics {
        area: get(row, 0)?,
        year: get(row, 1)?,
        facts: decode_json(get(row, 2)?)?,
        transfer_income_share: decode_decimal(get(row, 3)?)?,
        self_supporting_weeks: decode_decimal(get(row, 4)?)?,
        loaded_by_decision: get(row, 5)?,
    })
}

/// The conditions of `filter` (its event dates from `from` only when `from_bounds`; its
/// kinds as `kinds`, an array, when it names any), with their parameters: one place for
/// the log's reads and counts.
fn filter_conditions<'a>(
    filter: &'a DecisionFilter,
    kinds: Option<Param<'a>>,
    from_bounds: bool,
    sql: &mut String,
    params: &mut Vec<Param<'a>>,
) {
    if let Some(municipality) = &filter.municipality {
        params.push(municipality);
        sql.push_str(&format!(" AND municipality = ${}", params.len()));
    }
    if let Some(subject) = &filter.subject {
        params.push(subject);
        sql.push_str(&format!(" AND subject = ${}", params.len()));
    }
    if let Some(from) = &filter.from
        && from_bounds
    {
        params.push(from);
        sql.push_str(&format!(" AND event_date >= ${}", params.len()));
    }
    if let Some(to) = &filter.to {
        params.push(to);
        sql.push_str(&format!(" AND event_date <= ${}", params.len()));
    }
    if let Some(kinds) = kinds {
        params.push(kinds);
        sql.push_str(&format!(" AND kind = ANY(${})", params.len()));
    }
}

fn decision_row(row: &Row) -> Result<DecisionRecord, StoreError> {
    let (mut record, body) = decision_text_row(row)?;
    record.body = decode_json(&body)?;
    Ok(record)
}

/// A decision with its body as stored, as text (the record's `body` is null).
fn decision_text_row(row: &Row) -> Result<(DecisionRecord, String), StoreError> {
    let record = DecisionRecord {
        id: get(row, 0)?,
        kind: decision_kind(get(row, 1)?)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        area: get(row, 5)?,
        subject: get(row, 6)?,
        event_date: get(row, 7)?,
        recorded_at: get(row, 8)?,
        outcome: get(row, 9)?,
        channel: get(row, 10)?,
        area_class: get(row, 11)?,
        amount_ore: get(row, 12)?,
        rule_set_id: get(row, 13)?,
        rule_set_hash: get(row, 14)?,
        principal: get(row, 15)?,
        body: serde_json::Value::Null,
        schema_version: schema_version(get(row, 17)?)?,
    };
    Ok((record, get(row, 16)?))
}

fn schema_version(stored: i32) -> Result<u32, StoreError> {
    u32::try_from(stored)
        .map_err(|_| StoreError::Corrupt(format!("a decision's schema version is {stored}")))
}

fn case_row(row: &Row) -> Result<CaseRow, StoreError> {
    Ok(CaseRow {
        kind: parse_case_kind(get(row, 0)?)?,
        id: get(row, 1)?,
        municipality: get(row, 2)?,
        organisation: get(row, 3)?,
        department: get(row, 4)?,
        status: get(row, 5)?,
        updated_at: get(row, 6)?,
        body: decode_json(get(row, 7)?)?,
    })
}

fn api_key_row(row: &Row) -> Result<ApiKeyRow, StoreError> {
    Ok(ApiKeyRow {
        id: get(row, 0)?,
        principal: get(row, 1)?,
        municipality: get(row, 2)?,
        secret_hash: get(row, 3)?,
        created_at: get(row, 4)?,
        revoked_at: get(row, 5)?,
        label: get(row, 6)?,
    })
}

fn counters_row(row: &Row) -> Result<QuotaCounters, StoreError> {
    counters_from_db([
        get(row, 0)?,
        get(row, 1)?,
        get(row, 2)?,
        get(row, 3)?,
        get(row, 4)?,
    ])
}

fn pool_row(row: &Row) -> Result<PoolUse, StoreError> {
    Ok(PoolUse {
        committed_ore: get(row, 0)?,
        paid_ore: get(row, 1)?,
    })
}

#[async_trait::async_trait]
impl Tx for PgTx<'_> {
    async fn upsert_organisation(
        &mut self,
        municipality: &str,
        org: &Organisation,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO organisations (municipality, id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (municipality, id) DO UPDATE SET name = EXCLUDED.name",
            &[&municipality, &org.id, &org.name],
        )
        .await?;
        Ok(())
    }

    async fn upsert_area(&mut self, area: &Area) -> Result<(), StoreError> {
        // Another municipality's area is left as it is: no row changes.
        let changed = self
            .execute(
                "INSERT INTO areas (id, municipality, name) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name \
                 WHERE areas.municipality = EXCLUDED.municipality",
                &[&area.id, &area.municipality, &area.name],
            )
            .await?;
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
        let dwellings = i64::from(department.dwellings);
        let changed = self
            .execute(
                "INSERT INTO departments (id, municipality, organisation, area, name, dwellings) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET organisation = EXCLUDED.organisation, \
                 area = EXCLUDED.area, name = EXCLUDED.name, dwellings = EXCLUDED.dwellings \
                 WHERE departments.municipality = EXCLUDED.municipality",
                &[
                    &department.id,
                    &municipality,
                    &department.organisation,
                    &department.area,
                    &department.name,
                    &dwellings,
                ],
            )
            .await?;
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
        self.query_opt(
            "SELECT id, name FROM organisations WHERE municipality = $1 AND id = $2",
            &[&municipality, &id],
        )
        .await?
        .as_ref()
        .map(organisation_row)
        .transpose()
    }

    async fn area(&mut self, id: &str) -> Result<Option<Area>, StoreError> {
        self.query_opt(
            "SELECT id, municipality, name FROM areas WHERE id = $1",
            &[&id],
        )
        .await?
        .as_ref()
        .map(area_row)
        .transpose()
    }

    async fn department(&mut self, id: &str) -> Result<Option<Department>, StoreError> {
        let sql = format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE id = $1");
        self.query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(department_row)
            .transpose()
    }

    async fn departments(
        &mut self,
        municipality: &str,
        organisation: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Department>, StoreError> {
        let limit = i64::from(limit);
        let mut sql =
            format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE municipality = $1");
        let mut params: Vec<Param<'_>> = vec![&municipality];
        if let Some(organisation) = &organisation {
            params.push(organisation);
            sql.push_str(&format!(" AND organisation = ${}", params.len()));
        }
        if let Some(after) = &after {
            params.push(after);
            sql.push_str(&format!(" AND id > ${}", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", params.len()));
        self.query(&sql, &params)
            .await?
            .iter()
            .map(department_row)
            .collect()
    }

    async fn areas(&mut self, municipality: &str) -> Result<Vec<Area>, StoreError> {
        self.query(
            "SELECT id, municipality, name FROM areas WHERE municipality = $1 ORDER BY id",
            &[&municipality],
        )
        .await?
        .iter()
        .map(area_row)
        .collect()
    }

    async fn put_area_statistics(&mut self, stats: &AreaStatistics) -> Result<(), StoreError> {
        let facts = encode_json(&stats.facts)?;
        let transfer = stats.transfer_income_share.map(|d| d.to_string());
        let weeks = stats.self_supporting_weeks.map(|d| d.to_string());
        self.execute(
            "INSERT INTO area_statistics (area, year, facts, transfer_income_share, \
             self_supporting_weeks, loaded_by_decision) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (area, year) DO UPDATE SET facts = EXCLUDED.facts, \
             transfer_income_share = EXCLUDED.transfer_income_share, \
             self_supporting_weeks = EXCLUDED.self_supporting_weeks, \
             loaded_by_decision = EXCLUDED.loaded_by_decision",
            &[
                &stats.area,
                &stats.year,
                &facts,
                &transfer,
                &weeks,
                &stats.loaded_by_decision,
            ],
        )
        .await?;
        Ok(())
    }

    async fn area_statistics(
        &mut self,
        area: &str,
        year: i32,
    ) -> Result<Option<AreaStatistics>, StoreError> {
        let sql = format!(
            "SELECT {STATISTICS_COLUMNS} FROM area_statistics \
             WHERE area = $1 AND year <= $2 ORDER BY year DESC LIMIT 1"
        );
        self.query_opt(&sql, &[&area, &year])
            .await?
            .as_ref()
            .map(statistics_row)
            .transpose()
    }

    async fn counters_for_update(
        &mut self,
        scope: &str,
        period: &str,
    ) -> Result<QuotaCounters, StoreError> {
        let lock = if self.writable {
            // Make sure the row exists, so that there is something to lock.
            self.execute(
                "INSERT INTO quota_counters (scope, period) VALUES ($1, $2) \
                 ON CONFLICT (scope, period) DO NOTHING",
                &[&scope, &period],
            )
            .await?;
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {COUNTER_COLUMNS} FROM quota_counters WHERE scope = $1 AND period = $2{lock}"
        );
        Ok(self
            .query_opt(&sql, &[&scope, &period])
            .await?
            .as_ref()
            .map(counters_row)
            .transpose()?
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
             flexible, internal_list, external_list) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (scope, period) DO UPDATE SET vacancies = EXCLUDED.vacancies, \
             municipal_referral = EXCLUDED.municipal_referral, flexible = EXCLUDED.flexible, \
             internal_list = EXCLUDED.internal_list, external_list = EXCLUDED.external_list",
            &[
                &scope, &period, &vacancies, &referral, &flexible, &internal, &external,
            ],
        )
        .await?;
        Ok(())
    }

    async fn append_decision(&mut self, d: &DecisionRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        );
        let kind = d.kind.as_str();
        let recorded_at = micros(d.recorded_at);
        let body = encode_json(&d.body)?;
        let schema_version = i32::try_from(d.schema_version).map_err(|_| {
            StoreError::Database(format!(
                "schema version {} is out of range",
                d.schema_version
            ))
        })?;
        self.execute(
            &sql,
            &[
                &d.id,
                &kind,
                &d.municipality,
                &d.organisation,
                &d.department,
                &d.area,
                &d.subject,
                &d.event_date,
                &recorded_at,
                &d.outcome,
                &d.channel,
                &d.area_class,
                &d.amount_ore,
                &d.rule_set_id,
                &d.rule_set_hash,
                &d.principal,
                &body,
                &schema_version,
            ],
        )
        .await?;
        Ok(())
    }

    async fn put_rule_book(&mut self, book: &RuleBookRecord) -> Result<(), StoreError> {
        if self
            .query_opt("SELECT 1 FROM rule_books WHERE hash = $1", &[&book.hash])
            .await?
            .is_none()
        {
            let files = serde_json::to_string(&book.sources).map_err(|e| {
                StoreError::Database(format!("cannot encode a rule book's files: {e}"))
            })?;
            self.execute(
                "INSERT INTO rule_books (hash, loaded_at, files) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&book.hash, &micros(book.loaded_at), &files],
            )
            .await?;
        }
        self.execute(
            "INSERT INTO rule_book_activations (activated_at, hash) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
            &[&micros(book.activated_at), &book.hash],
        )
        .await?;
        Ok(())
    }

    async fn rule_book(&mut self, hash: &str) -> Result<Option<StoredRuleBook>, StoreError> {
        let Some(row) = self
            .query_opt(
                "SELECT loaded_at, files FROM rule_books WHERE hash = $1",
                &[&hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let loaded_at: DateTime<Utc> = get(&row, 0)?;
        let files: String = get(&row, 1)?;
        let activations = self
            .query(
                "SELECT activated_at FROM rule_book_activations WHERE hash = $1 \
                 ORDER BY activated_at",
                &[&hash],
            )
            .await?
            .iter()
            .map(|row| get(row, 0))
            .collect::<Result<Vec<DateTime<Utc>>, _>>()?;
        Ok(Some(StoredRuleBook {
            hash: hash.to_owned(),
            loaded_at,
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
        let inputs = encode_json(inputs)?;
        self.execute(
            "INSERT INTO decision_inputs (decision_id, inputs) VALUES ($1, $2)",
            &[&decision_id, &inputs],
        )
        .await?;
        Ok(())
    }

    async fn decision_inputs(
        &mut self,
        decision_ids: &[String],
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let ids: Vec<&str> = decision_ids.iter().map(String::as_str).collect();
        self.query(
            "SELECT decision_id, inputs FROM decision_inputs WHERE decision_id = ANY($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| Ok((get(row, 0)?, decode_json(get(row, 1)?)?)))
        .collect()
    }

    async fn delete_decision_inputs(&mut self, decision_ids: &[String]) -> Result<u64, StoreError> {
        let ids: Vec<&str> = decision_ids.iter().map(String::as_str).collect();
        self.execute(
            "DELETE FROM decision_inputs WHERE decision_id = ANY($1)",
            &[&ids],
        )
        .await
    }

    async fn decision(&mut self, id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1");
        self.query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(decision_row)
            .transpose()
    }

    async fn decisions(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        self.decision_rows(filter, after, limit)
            .await?
            .iter()
            .map(decision_row)
            .collect()
    }

    async fn decision_texts(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(DecisionRecord, String)>, StoreError> {
        self.decision_rows(filter, after, limit)
            .await?
            .iter()
            .map(decision_text_row)
            .collect()
    }

    /// Answered from the report index of migration V2, as on SQLite.
    async fn count_decisions(
        &mut self,
        filter: &DecisionFilter,
        only: &super::DecisionColumns,
    ) -> Result<u64, StoreError> {
        let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
        let mut sql = "SELECT COUNT(*) FROM decisions WHERE TRUE".to_owned();
        let mut params: Vec<Param<'_>> = Vec::new();
        let any_kind = (!kinds.is_empty()).then_some(&kinds as Param<'_>);
        filter_conditions(filter, any_kind, true, &mut sql, &mut params);
        for (column, list) in [
            ("outcome", &only.outcomes),
            ("channel", &only.channels),
            ("area_class", &only.area_classes),
        ] {
            if !list.is_empty() {
                params.push(list);
                sql.push_str(&format!(" AND {column} = ANY(${})", params.len()));
            }
        }
        let row = self.query_opt(&sql, &params).await?;
        let count = match row {
            Some(row) => get::<i64>(&row, 0)?,
            None => 0,
        };
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("a count of {count}")))
    }

    /// Answered from the partial index of pending lettings, as on SQLite.
    async fn pending_lettings_as_of(
        &mut self,
        municipality: &str,
        as_of: chrono::NaiveDate,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions l \
             WHERE l.municipality = $1 AND l.kind = 'letting' \
               AND l.outcome = 'pending_municipal_approval' AND l.event_date <= $2 \
               AND NOT EXISTS (SELECT 1 FROM decisions s WHERE s.subject = l.subject \
                   AND s.kind IN ('approval', 'municipal_rejection') AND s.event_date <= $2) \
             ORDER BY l.event_date, l.id"
        );
        self.query(&sql, &[&municipality, &as_of])
            .await?
            .iter()
            .map(decision_row)
            .collect()
    }

    async fn put_case(&mut self, case: &CaseRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO cases ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (kind, id) DO UPDATE SET municipality = EXCLUDED.municipality, \
             organisation = EXCLUDED.organisation, department = EXCLUDED.department, \
             status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body"
        );
        let kind = case.kind.as_str();
        let updated_at = micros(case.updated_at);
        let body = encode_json(&case.body)?;
        self.execute(
            &sql,
            &[
                &kind,
                &case.id,
                &case.municipality,
                &case.organisation,
                &case.department,
                &case.status,
                &updated_at,
                &body,
            ],
        )
        .await?;
        Ok(())
    }

    async fn case_for_update(
        &mut self,
        kind: CaseKind,
        id: &str,
    ) -> Result<Option<CaseRow>, StoreError> {
        let lock = if self.writable { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = $1 AND id = $2{lock}");
        self.query_opt(&sql, &[&kind.as_str(), &id])
            .await?
            .as_ref()
            .map(case_row)
            .transpose()
    }

    async fn cases(
        &mut self,
        kind: CaseKind,
        status: Option<&str>,
        municipality: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>, StoreError> {
        let kind = kind.as_str();
        let limit = i64::from(limit);
        let mut sql =
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE kind = $1 AND municipality = $2");
        let mut params: Vec<Param<'_>> = vec![&kind, &municipality];
        if let Some(status) = &status {
            params.push(status);
            sql.push_str(&format!(" AND status = ${}", params.len()));
        }
        if let Some(after) = &after {
            params.push(after);
            sql.push_str(&format!(" AND id > ${}", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", params.len()));
        self.query(&sql, &params)
            .await?
            .iter()
            .map(case_row)
            .collect()
    }

    async fn pool_for_update(
        &mut self,
        municipality: &str,
        year: i32,
    ) -> Result<PoolUse, StoreError> {
        let lock = if self.writable {
            self.execute(
                "INSERT INTO grant_pools (municipality, year) VALUES ($1, $2) \
                 ON CONFLICT (municipality, year) DO NOTHING",
                &[&municipality, &year],
            )
            .await?;
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT committed_ore, paid_ore FROM grant_pools \
             WHERE municipality = $1 AND year = $2{lock}"
        );
        Ok(self
            .query_opt(&sql, &[&municipality, &year])
            .await?
            .as_ref()
            .map(pool_row)
            .transpose()?
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
             VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, year) DO UPDATE SET \
             committed_ore = EXCLUDED.committed_ore, paid_ore = EXCLUDED.paid_ore",
            &[&municipality, &year, &pool.committed_ore, &pool.paid_ore],
        )
        .await?;
        Ok(())
    }

    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.query_opt(
            "SELECT request_hash, response FROM idempotency WHERE principal = $1 AND key = $2",
            &[&principal, &key],
        )
        .await?
        .map(|row| {
            Ok(IdempotencyRecord {
                request_hash: get(&row, 0)?,
                response: get(&row, 1)?,
            })
        })
        .transpose()
    }

    async fn claim_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // Waits on the unique index while another transaction's claim of the key is
        // uncommitted; inserts nothing once a claim has committed (with its response).
        let claimed = self
            .execute(
                "INSERT INTO idempotency (principal, key, request_hash, response) \
                 VALUES ($1, $2, $3, ''::bytea) ON CONFLICT (principal, key) DO NOTHING",
                &[&principal, &key, &request_hash],
            )
            .await?;
        if claimed == 1 {
            return Ok(None);
        }
        // A new statement, so a new snapshot under READ COMMITTED: the committed record.
        self.idempotency(principal, key).await
    }

    async fn put_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        empty_response_refused(record)?;
        // This transaction's own claim is the only row with an empty response it can see.
        let filled = self
            .execute(
                "UPDATE idempotency SET request_hash = $3, response = $4 \
                 WHERE principal = $1 AND key = $2 AND length(response) = 0",
                &[&principal, &key, &record.request_hash, &record.response],
            )
            .await?;
        if filled == 0 {
            self.execute(
                "INSERT INTO idempotency (principal, key, request_hash, response) \
                 VALUES ($1, $2, $3, $4)",
                &[&principal, &key, &record.request_hash, &record.response],
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        let created_at = micros(key.created_at);
        let revoked_at = key.revoked_at.map(micros);
        self.execute(
            &sql,
            &[
                &key.id,
                &key.principal,
                &key.municipality,
                &key.secret_hash,
                &created_at,
                &revoked_at,
                &key.label,
            ],
        )
        .await?;
        Ok(())
    }

    async fn api_key_by_hash(
        &mut self,
        secret_hash: &str,
    ) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
        self.query_opt(&sql, &[&secret_hash])
            .await?
            .as_ref()
            .map(api_key_row)
            .transpose()
    }

    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
        self.query(&sql, &[])
            .await?
            .iter()
            .map(api_key_row)
            .collect()
    }

    async fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let at = micros(at);
        let changed = self
            .execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[&id, &at],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn insert_user(&mut self, user: &UserRow) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO console_users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (username) DO NOTHING"
        );
        let created_at = micros(user.created_at);
        let added = self
            .execute(
                &sql,
                &[
                    &user.username,
                    &user.principal,
                    &user.municipality,
                    &user.password_hash,
                    &created_at,
                ],
            )
            .await?;
        Ok(added > 0)
    }

    async fn user(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = $1");
        self.query_opt(&sql, &[&username])
            .await?
            .as_ref()
            .map(|row| {
                Ok(UserRow {
                    username: get(row, 0)?,
                    principal: get(row, 1)?,
                    municipality: get(row, 2)?,
                    password_hash: get(row, 3)?,
                    created_at: get(row, 4)?,
                })
            })
            .transpose()
    }
}

const USER_COLUMNS: &str = "username, principal, municipality, password_hash, created_at";
