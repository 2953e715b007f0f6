//! The transaction: one connection (the writer's, inside a job's savepoint, or a
//! reader's), how it runs statements, and the log's paging in (event_date, id) order.

use rusqlite::types::Value;
use rusqlite::{Connection, Params, Row, params_from_iter};

use super::conditions::Conditions;
use super::rows::{DECISION_COLUMNS, date_text, db, get, limit_value, parse_date};
use crate::store::{DecisionFilter, StoreError};

/// A transaction on one connection: the writer's (inside a job's savepoint) or a reader's.
pub(super) struct SqliteTx<'c> {
    pub(super) conn: &'c mut Connection,
    pub(super) writable: bool,
}

impl SqliteTx<'_> {
    fn writable(&self) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::Database("read-only transaction".to_owned()))
        }
    }

    pub(super) fn execute(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        self.writable()?;
        let mut statement = self.conn.prepare_cached(sql).map_err(db)?;
        statement.execute(params).map_err(db)
    }

    /// The decisions of `filter` after `after`, each mapped by `map`.
    pub(super) fn decisions_as<T>(
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

    pub(super) fn rows<T>(
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

    pub(super) fn row<T>(
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
