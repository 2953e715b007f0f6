//! The transaction: one job's transaction on a pooled connection, how it runs statements
//! and notes its first error, and the log's paging in (event_date, id) order.

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::conditions::filter_conditions;
use super::rows::{DECISION_COLUMNS, Param, describe, get};
use crate::store::{DecisionFilter, StoreError};

/// Serialisation failures and deadlocks: the job is run again.
pub(super) fn retryable(error: &tokio_postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// The first error a transaction met.
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) retryable: bool,
}

/// One job's transaction.
pub(super) struct PgTx<'c> {
    pub(super) tx: deadpool_postgres::Transaction<'c>,
    pub(super) writable: bool,
    pub(super) failure: Option<Failure>,
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
    pub(super) async fn decision_rows(
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

    pub(super) async fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = match self.tx.prepare_cached(sql).await {
            Ok(statement) => statement,
            Err(e) => return Err(self.failed(e)),
        };
        match self.tx.query(&statement, params).await {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.failed(e)),
        }
    }

    pub(super) async fn query_opt(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    pub(super) async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<u64, StoreError> {
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
