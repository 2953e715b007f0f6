//! Opening the database: its file from the URL, the writer's and the readers'
//! connections with their settings, and the migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::rows::db;
use crate::store::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;
/// The writer's page cache, in KiB (SQLite takes a negative cache_size as KiB).
const WRITER_CACHE_KIB: i64 = -65_536;

/// The file of a `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` URL; the last is a
/// fresh file in a temporary directory (so the writer and the readers share it).
pub(super) fn database_path(url: &str) -> Result<(PathBuf, Option<tempfile::TempDir>), StoreError> {
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
pub(super) fn open_writer(path: &Path, url: &str) -> Result<Connection, StoreError> {
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
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
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
