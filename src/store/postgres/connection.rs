//! Connecting: the URL with any password blanked out for error messages, and the
//! migrations, applied by one process at a time.

use super::rows::describe;
use crate::store::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Key of the advisory lock that keeps two processes from migrating at once.
const MIGRATION_LOCK: i64 = 0x6c65_7474_696e_6701;

/// The URL with any password blanked out, for error messages.
pub(super) fn redact(url: &str) -> String {
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

/// Applies the embedded migrations, holding an advisory lock so that processes starting
/// together do not migrate at once.
pub(super) async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
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
