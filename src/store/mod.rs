//! The store: the only module that knows SQL. Two backends behind one interface:
//! embedded SQLite (the default; one writer thread that commits concurrent calls in
//! batches, one fsync per batch) and PostgreSQL (several server processes may share one
//! database; quota counters and grant pools are locked with row locks).
//!
//! Callers run their logic inside a transaction through [`Store::write`] or
//! [`Store::read`], using the typed operations of [`Tx`]. A job that returns an error is
//! rolled back and nothing it wrote remains; a job is answered only after its commit is
//! on disk. On PostgreSQL a job may be run again after a serialisation failure or a
//! deadlock, so jobs must not have side effects outside the transaction.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::QuotaCounters;
use crate::model::{AreaFacts, RuleSource};

/// A boxed future borrowing the transaction.
pub type TxFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database `{url}`: {message}")]
    Open { url: String, message: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("a stored record could not be read: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("`{0}` is not a database URL this service knows: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A registry record of one municipality written as another's.
    #[error("{what} `{id}` is registered by another municipality")]
    OtherMunicipality { what: &'static str, id: String },
}

// ----- registry ---------------------------------------------------------------------------------

/// A housing organisation as one municipality registered it: an organisation active in
/// several municipalities has a record in each (see [`Tx::upsert_organisation`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    pub id: String,
    pub municipality: String,
    pub name: String,
}

/// A department: it belongs to the municipality of its area, and its organisation is
/// registered there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub organisation: String,
    pub area: String,
    pub name: String,
    pub dwellings: u32,
}

/// An area's statistics for a year, as loaded by the municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaStatistics {
    pub area: String,
    pub year: i32,
    pub facts: AreaFacts,
    /// Share of residents on transfer income (indicators 2 and 3), exact decimal text.
    pub transfer_income_share: Option<rust_decimal::Decimal>,
    /// Weeks a year residents are self-supporting on average (indicator 4).
    pub self_supporting_weeks: Option<rust_decimal::Decimal>,
    pub loaded_by_decision: String,
}

// ----- decision log ---------------------------------------------------------------------------

/// What kind of act a decision records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    ChannelAssignment,
    Letting,
    Approval,
    MunicipalRejection,
    MoveIn,
    ReplacementOffer,
    OfferAnswer,
    Referral,
    Grant,
    GrantPayment,
    GrantCancellation,
    Statistics,
    Registry,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::ChannelAssignment => "channel_assignment",
            DecisionKind::Letting => "letting",
            DecisionKind::Approval => "approval",
            DecisionKind::MunicipalRejection => "municipal_rejection",
            DecisionKind::MoveIn => "move_in",
            DecisionKind::ReplacementOffer => "replacement_offer",
            DecisionKind::OfferAnswer => "offer_answer",
            DecisionKind::Referral => "referral",
            DecisionKind::Grant => "grant",
            DecisionKind::GrantPayment => "grant_payment",
            DecisionKind::GrantCancellation => "grant_cancellation",
            DecisionKind::Statistics => "statistics",
            DecisionKind::Registry => "registry",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionKind> {
        use DecisionKind::*;
        [
            ChannelAssignment,
            Letting,
            Approval,
            MunicipalRejection,
            MoveIn,
            ReplacementOffer,
            OfferAnswer,
            Referral,
            Grant,
            GrantPayment,
            GrantCancellation,
            Statistics,
            Registry,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One entry of the append-only decision log. The indexed columns are what reports
/// filter and group by; `body` holds the facts used and the full explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Time-ordered unique id (UUID v7 text).
    pub id: String,
    pub kind: DecisionKind,
    pub municipality: String,
    pub organisation: Option<String>,
    pub department: Option<String>,
    pub area: Option<String>,
    /// The vacancy, letting, offer, referral or grant this decision concerns.
    pub subject: Option<String>,
    /// The date of the event itself (the letting date, the move-in date, ...).
    pub event_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// `approved`, `rejected`, `flexible`, `paid`, ... depending on the kind.
    pub outcome: String,
    pub channel: Option<String>,
    pub area_class: Option<String>,
    pub amount_ore: Option<i64>,
    pub rule_set_id: Option<String>,
    pub rule_set_hash: Option<String>,
    /// Who asked: `municipality`, `organisation:<id>` or `auditor`.
    pub principal: String,
    pub body: serde_json::Value,
    /// The layout of `body`: the decision log's contract (`crate::log`) reads each
    /// version it knows and refuses a newer one.
    pub schema_version: u32,
}

/// A rule book version as kept for replay: its content hash, the files it was loaded
/// from, and when this server loaded it and put it in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleBookRecord {
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
    pub sources: Vec<RuleSource>,
}

/// A kept rule book version: the first time any server loaded it, and every time a server
/// put it in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRuleBook {
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
    pub activations: Vec<DateTime<Utc>>,
    pub sources: Vec<RuleSource>,
}

/// Filter for reading the decision log (reports read by event date, from an index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    pub municipality: Option<String>,
    pub kinds: Vec<DecisionKind>,
    /// Event dates from (inclusive).
    pub from: Option<NaiveDate>,
    /// Event dates to (inclusive).
    pub to: Option<NaiveDate>,
    pub subject: Option<String>,
}

/// Further conditions on a decision's indexed columns, for counts. Empty lists match all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionColumns {
    pub outcomes: Vec<String>,
    pub channels: Vec<String>,
    pub area_classes: Vec<String>,
}

impl DecisionColumns {
    pub fn matches(&self, d: &DecisionRecord) -> bool {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l == v))
        };
        any(&self.outcomes, Some(&d.outcome))
            && any(&self.channels, d.channel.as_deref())
            && any(&self.area_classes, d.area_class.as_deref())
    }
}

// ----- cases: the current state of vacancies, lettings, offers, referrals, grants -------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Vacancy,
    Letting,
    Offer,
    Referral,
    Grant,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Vacancy => "vacancy",
            CaseKind::Letting => "letting",
            CaseKind::Offer => "offer",
            CaseKind::Referral => "referral",
            CaseKind::Grant => "grant",
        }
    }
}

/// The current state of one case; its history is in the decision log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    pub kind: CaseKind,
    pub id: String,
    pub municipality: String,
    pub organisation: Option<String>,
    pub department: Option<String>,
    /// Such as `pending_municipal_approval`, `approved`, `moved_in`, `paid`.
    pub status: String,
    pub updated_at: DateTime<Utc>,
    pub body: serde_json::Value,
}

/// A yearly relocation-grant pool's use, in øre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolUse {
    /// Approved and not yet paid or cancelled.
    pub committed_ore: i64,
    pub paid_ore: i64,
}

/// A stored idempotency record: the request's hash and the first response. A claim (see
/// [`Tx::claim_idempotency`]) is a record with an empty response, seen only by the
/// transaction holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: Vec<u8>,
    pub response: Vec<u8>,
}

// ----- API keys -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: String,
    /// `municipality`, `organisation:<id>` or `auditor`.
    pub principal: String,
    pub municipality: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub label: String,
}

// ----- console users ---------------------------------------------------------------------------

/// A caseworker console user (`letting users add`): bound to one principal, as a key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub username: String,
    /// `municipality`, `organisation:<id>` or `auditor`.
    pub principal: String,
    pub municipality: String,
    /// The Argon2 hash of the password, as a PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// The operations a transaction offers. Every method is part of the caller's
/// transaction: nothing is visible to others until the job returns `Ok` and commits.
#[async_trait::async_trait]
pub trait Tx: Send {
    /// Registers an organisation in `municipality`'s registry, or renames it there; other
    /// municipalities' records of the same organisation are not touched.
    async fn upsert_organisation(
        &mut self,
        municipality: &str,
        org: &Organisation,
    ) -> Result<(), StoreError>;
    /// Creates or renames an area. An area never changes municipality: an id registered
    /// by another municipality is [`StoreError::OtherMunicipality`].
    async fn upsert_area(&mut self, area: &Area) -> Result<(), StoreError>;
    /// Creates or replaces a department of `municipality`: its area must lie there and its
    /// organisation be registered there. An id registered by another municipality is
    /// [`StoreError::OtherMunicipality`].
    async fn upsert_department(
        &mut self,
        municipality: &str,
        department: &Department,
    ) -> Result<(), StoreError>;
    /// An organisation as `municipality` registered it.
    async fn organisation(
        &mut self,
        municipality: &str,
        id: &str,
    ) -> Result<Option<Organisation>, StoreError>;
    async fn area(&mut self, id: &str) -> Result<Option<Area>, StoreError>;
    async fn department(&mut self, id: &str) -> Result<Option<Department>, StoreError>;
    /// Departments of `municipality`, optionally of one organisation, ordered by id, after
    /// `after`.
    async fn departments(
        &mut self,
        municipality: &str,
        organisation: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Department>, StoreError>;
    async fn areas(&mut self, municipality: &str) -> Result<Vec<Area>, StoreError>;

    /// Replaces the statistics of (area, year).
    async fn put_area_statistics(&mut self, stats: &AreaStatistics) -> Result<(), StoreError>;
    /// The statistics of the latest year not after `year`.
    async fn area_statistics(
        &mut self,
        area: &str,
        year: i32,
    ) -> Result<Option<AreaStatistics>, StoreError>;

    /// The counters of a quota scope (`department:<id>` or `municipality:<code>`) for a
    /// period, locked until the transaction ends (in a read transaction: a plain read);
    /// zero if none are stored yet.
    async fn counters_for_update(
        &mut self,
        scope: &str,
        period: &str,
    ) -> Result<QuotaCounters, StoreError>;
    async fn put_counters(
        &mut self,
        scope: &str,
        period: &str,
        counters: &QuotaCounters,
    ) -> Result<(), StoreError>;

    /// Appends to the decision log. Decisions are never updated or deleted.
    async fn append_decision(&mut self, decision: &DecisionRecord) -> Result<(), StoreError>;
    async fn decision(&mut self, id: &str) -> Result<Option<DecisionRecord>, StoreError>;
    /// Keeps a rule book version (once per hash: the first load time stays) and the
    /// instant this server put it in force.
    async fn put_rule_book(&mut self, book: &RuleBookRecord) -> Result<(), StoreError>;
    async fn rule_book(&mut self, hash: &str) -> Result<Option<StoredRuleBook>, StoreError>;
    /// The facts a judged decision used (a JSON document of the log's contract).
    async fn put_decision_inputs(
        &mut self,
        decision_id: &str,
        inputs: &serde_json::Value,
    ) -> Result<(), StoreError>;
    /// The kept facts of those of `decision_ids` that still have them.
    async fn decision_inputs(
        &mut self,
        decision_ids: &[String],
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError>;
    /// Removes the kept facts of `decision_ids`; returns how many were removed.
    async fn delete_decision_inputs(&mut self, decision_ids: &[String]) -> Result<u64, StoreError>;
    /// Decisions matching `filter`, in (event_date, id) order, after the id `after`.
    async fn decisions(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>, StoreError>;

    /// [`Tx::decisions`] with each body as its stored JSON text (the record's `body` is
    /// null): for a reader that decodes bodies into its own types (the report) without
    /// building a JSON tree first. The default encodes the trees `decisions` reads.
    async fn decision_texts(
        &mut self,
        filter: &DecisionFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(DecisionRecord, String)>, StoreError> {
        let page = self.decisions(filter, after, limit).await?;
        page.into_iter()
            .map(|mut d| {
                let text = serde_json::to_string(&d.body)
                    .map_err(|e| StoreError::Database(format!("cannot encode a JSON body: {e}")))?;
                d.body = serde_json::Value::Null;
                Ok((d, text))
            })
            .collect()
    }

    /// How many decisions match `filter` and `only`. The default pages through
    /// [`Tx::decisions`]; a backend may answer from an index instead.
    async fn count_decisions(
        &mut self,
        filter: &DecisionFilter,
        only: &DecisionColumns,
    ) -> Result<u64, StoreError> {
        let mut count = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self.decisions(filter, after.as_deref(), 1000).await?;
            count += page.iter().filter(|d| only.matches(d)).count() as u64;
            match page.last() {
                Some(last) if page.len() == 1000 => after = Some(last.id.clone()),
                _ => return Ok(count),
            }
        }
    }

    /// Lettings of `municipality` proposed on or before `as_of` that were pending the
    /// municipality's approval and had neither an approval nor a rejection by `as_of`.
    /// The default pages through [`Tx::decisions`]; a backend may use an index instead.
    async fn pending_lettings_as_of(
        &mut self,
        municipality: &str,
        as_of: NaiveDate,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let filter = DecisionFilter {
            municipality: Some(municipality.to_owned()),
            kinds: vec![
                DecisionKind::Letting,
                DecisionKind::Approval,
                DecisionKind::MunicipalRejection,
            ],
            from: None,
            to: Some(as_of),
            subject: None,
        };
        let mut pending: Vec<DecisionRecord> = Vec::new();
        let mut settled: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.decisions(&filter, after.as_deref(), 1000).await?;
            for d in &page {
                match d.kind {
                    DecisionKind::Letting if d.outcome == "pending_municipal_approval" => {
                        pending.push(d.clone())
                    }
                    DecisionKind::Approval | DecisionKind::MunicipalRejection => {
                        if let Some(s) = &d.subject {
                            settled.insert(s.clone());
                        }
                    }
                    _ => {}
                }
            }
            match page.last() {
                Some(last) if page.len() == 1000 => after = Some(last.id.clone()),
                _ => break,
            }
        }
        pending.retain(|d| d.subject.as_ref().is_none_or(|s| !settled.contains(s)));
        Ok(pending)
    }

    /// Inserts or replaces a case's current state.
    async fn put_case(&mut self, case: &CaseRow) -> Result<(), StoreError>;
    /// A case, locked until the transaction ends (in a read transaction: a plain read).
    async fn case_for_update(
        &mut self,
        kind: CaseKind,
        id: &str,
    ) -> Result<Option<CaseRow>, StoreError>;
    /// Cases of a kind and status in a municipality, ordered by id, after `after`.
    async fn cases(
        &mut self,
        kind: CaseKind,
        status: Option<&str>,
        municipality: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRow>, StoreError>;

    /// A municipality's grant pool for a year, locked until the transaction ends (in a read
    /// transaction: a plain read); zero if nothing is committed yet.
    async fn pool_for_update(
        &mut self,
        municipality: &str,
        year: i32,
    ) -> Result<PoolUse, StoreError>;
    async fn put_pool(
        &mut self,
        municipality: &str,
        year: i32,
        pool: &PoolUse,
    ) -> Result<(), StoreError>;

    /// The stored record of `key`, if a request under it has committed.
    async fn idempotency(
        &mut self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Claims `key` for this transaction, before the request's job reads any state. A key
    /// that a concurrent transaction has claimed is waited for until that transaction ends
    /// (on PostgreSQL; SQLite runs one job at a time), so that requests under one key run
    /// one after the other. Returns the record of the request that claimed the key first
    /// and committed, or `None` when this transaction now holds the claim: it must then
    /// store its response with [`Tx::put_idempotency`]. A claim ends with its transaction,
    /// so a job that fails leaves the key free.
    async fn claim_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        request_hash: &[u8],
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Stores the response of the request under `key`: fills this transaction's claim, or
    /// inserts the record. A key that already has a response keeps it (an error).
    async fn put_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError>;

    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<(), StoreError>;
    async fn api_key_by_hash(&mut self, secret_hash: &str)
    -> Result<Option<ApiKeyRow>, StoreError>;
    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError>;
    /// Marks a key revoked; false if no such key.
    async fn revoke_api_key(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;

    // ----- key management over gRPC (KeyService) ------------------------------------------
    // Defaults over `api_keys`: a municipality has tens of keys, so reading them all costs
    // less than a query of each backend's own to keep in step.

    /// The keys of `municipality`, oldest first.
    async fn api_keys_of(&mut self, municipality: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let mut keys = self.api_keys().await?;
        keys.retain(|k| k.municipality == municipality);
        Ok(keys)
    }

    /// One key by its id.
    async fn api_key(&mut self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        Ok(self.api_keys().await?.into_iter().find(|k| k.id == id))
    }
    // ----- end of key management ----------------------------------------------------------

    /// Adds a console user; false (and nothing written) if the username is taken.
    async fn insert_user(&mut self, user: &UserRow) -> Result<bool, StoreError>;
    /// A console user by username.
    async fn user(&mut self, username: &str) -> Result<Option<UserRow>, StoreError>;
}

mod encoding;
mod overlay;
mod postgres;
mod sqlite;

/// The names of the SQLite writer's metrics.
pub use overlay::Overlay;

pub mod metrics {
    pub use super::sqlite::{BATCH_JOBS, COMMIT_SECONDS, TRANSACTION_SECONDS};
}

/// A job run inside one transaction. It may be run more than once (PostgreSQL retries
/// serialisation failures), so it must not have effects outside the transaction.
pub trait Job<T, E>:
    for<'a> Fn(&'a mut dyn Tx) -> TxFuture<'a, T, E> + Send + Sync + 'static
{
}

impl<T, E, F> Job<T, E> for F where
    F: for<'a> Fn(&'a mut dyn Tx) -> TxFuture<'a, T, E> + Send + Sync + 'static
{
}

/// The database behind the service, chosen by its URL.
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens `url` (`sqlite://PATH`, `sqlite::memory:` or `postgres://...`) and applies the
    /// embedded migrations. A SQLite file's directory is created if missing.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::PgStore::open(url).await?))
        } else if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(sqlite::SqliteStore::open(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Runs `job` in a write transaction and commits it; on SQLite, concurrent jobs share
    /// one commit. Returns after the commit is durable.
    pub async fn write<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match self {
            Store::Sqlite(s) => s.write(job).await,
            Store::Postgres(s) => s.write(job).await,
        }
    }

    /// Runs `job` in a read-only transaction (a consistent snapshot).
    pub async fn read<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match self {
            Store::Sqlite(s) => s.read(job).await,
            Store::Postgres(s) => s.read(job).await,
        }
    }

    /// Runs a short `job` (a few lookups by key) in a read-only transaction, where it
    /// costs least: on SQLite on the calling thread, without the hop to a blocking thread
    /// that a long read needs; on PostgreSQL as [`Store::read`].
    pub async fn lookup<T, E>(&self, job: impl Job<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match self {
            Store::Sqlite(s) => s.lookup(job).await,
            Store::Postgres(s) => s.read(job).await,
        }
    }

    /// Finishes queued writes and closes every connection.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}
