//! The service: what housing organisations and the municipality can do, independent of
//! how they call (gRPC, CLI, demo). It checks who may do what, runs the engine on the rules
//! in force, and records every act in the decision log in the same transaction as the
//! state it changes. It knows neither protobuf nor SQL.

pub(crate) mod audit;
mod clock;
mod console;
mod grants;
mod keys;
mod letting;
mod offers;
mod proposal;
pub mod purge;
mod referrals;
mod registry;
mod screen;
mod users;
pub mod workflow;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::engine::EngineError;
use crate::log::{Body, Entry, Inputs, Placement};
use crate::model::RuleBook;
use crate::store::{
    DecisionRecord, IdempotencyRecord, RuleBookRecord, Store, StoreError, Tx, TxFuture,
};

pub use crate::log::{
    AnswerOffer, AreaStatisticsInput, GrantAct, LoadStatistics, MakeOffer, MoveInRecorded,
    MunicipalAct, RecordMoveIn, RegisterVacancy,
};
pub use audit::ProposedFile;
pub use clock::Clock;
pub use console::*;
pub use grants::*;
pub use keys::*;
pub use letting::*;
pub use offers::*;
pub use referrals::*;
pub use registry::*;
pub use screen::*;
pub use users::*;

/// Who is calling, as established from their API key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// The municipality: approves lettings, makes offers, decides grants, loads statistics.
    Municipality { municipality: String },
    /// One housing organisation: sees and acts on its own departments only.
    Organisation {
        organisation: String,
        municipality: String,
    },
    /// Reads everything of the municipality, changes nothing.
    Auditor { municipality: String },
}

impl Principal {
    /// The text stored with decisions and keys: `municipality`, `organisation:<id>`, `auditor`.
    pub fn label(&self) -> String {
        match self {
            Principal::Municipality { .. } => "municipality".into(),
            Principal::Organisation { organisation, .. } => format!("organisation:{organisation}"),
            Principal::Auditor { .. } => "auditor".into(),
        }
    }

    pub fn municipality(&self) -> &str {
        match self {
            Principal::Municipality { municipality }
            | Principal::Organisation { municipality, .. }
            | Principal::Auditor { municipality } => municipality,
        }
    }

    pub fn parse(label: &str, municipality: &str) -> Option<Principal> {
        let municipality = municipality.to_owned();
        match label {
            "municipality" => Some(Principal::Municipality { municipality }),
            "auditor" => Some(Principal::Auditor { municipality }),
            other => other
                .strip_prefix("organisation:")
                .filter(|o| !o.is_empty())
                .map(|o| Principal::Organisation {
                    organisation: o.to_owned(),
                    municipality,
                }),
        }
    }
}

/// Why a call was refused. Each variant maps to one gRPC status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid `{field}`: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("{what} `{id}` was not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(
        "idempotency key `{0}` was already used for a different request; use a new key for a new request"
    )]
    IdempotencyConflict(String),
    #[error("the rules cannot decide this case: {0}")]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored response could not be read: {0}")]
    Corrupt(String),
}

impl From<workflow::WorkflowError> for ServiceError {
    fn from(e: workflow::WorkflowError) -> Self {
        match e {
            // The rules chose a state the workflow does not list: a defect, not the caller's.
            workflow::WorkflowError::Unlisted { .. } => ServiceError::Corrupt(e.to_string()),
            _ => ServiceError::FailedPrecondition(e.to_string()),
        }
    }
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The service state: the store and the rules in force. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<Store>,
    rules: Arc<ArcSwap<InForce>>,
    clock: Clock,
}

/// The rule book in force, its version, and when this process put it in force: every
/// judged decision names the version, and the store keeps the book (once) with the first
/// decision it judges, so that a decision can be derived again years later.
pub(crate) struct InForce {
    pub(crate) book: Arc<RuleBook>,
    /// [`RuleBook::content_hash`], computed once.
    pub(crate) hash: String,
    activated_at: DateTime<Utc>,
    /// Set once a transaction that kept the book has committed.
    kept: AtomicBool,
}

impl InForce {
    fn new(book: Arc<RuleBook>) -> Self {
        InForce {
            hash: book.content_hash(),
            book,
            activated_at: Utc::now(),
            kept: AtomicBool::new(false),
        }
    }

    /// Appends a judged decision with the facts it used, keeping the book that judged it
    /// unless a committed transaction already has.
    pub(crate) async fn append(
        &self,
        tx: &mut dyn Tx,
        decision: &DecisionRecord,
        inputs: &Inputs,
    ) -> Result<(), ServiceError> {
        if !self.kept.load(Ordering::Acquire) {
            tx.put_rule_book(&RuleBookRecord {
                hash: self.hash.clone(),
                loaded_at: self.activated_at,
                activated_at: self.activated_at,
                sources: self.book.sources.to_vec(),
            })
            .await?;
        }
        tx.append_decision(decision).await?;
        tx.put_decision_inputs(&decision.id, &to_json(inputs)?)
            .await?;
        Ok(())
    }
}

impl Ledger {
    pub fn new(store: Arc<Store>, rules: RuleBook, clock: Clock) -> Self {
        record_book_in_force(&rules, None);
        Ledger {
            store,
            rules: Arc::new(ArcSwap::from_pointee(InForce::new(Arc::new(rules)))),
            clock,
        }
    }

    /// Today in Copenhagen, by the clock the service was given.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The rule book as it is now; a call keeps the snapshot it started with.
    pub fn rules(&self) -> Arc<RuleBook> {
        self.rules.load().book.clone()
    }

    /// The rule book in force with its version, for a call that judges.
    pub(crate) fn in_force(&self) -> Arc<InForce> {
        self.rules.load_full()
    }

    /// Replaces the rules. Only a book that loaded without errors ever gets here.
    pub fn replace_rules(&self, book: RuleBook) {
        let new = Arc::new(InForce::new(Arc::new(book)));
        let old = self.rules.swap(new.clone());
        record_book_in_force(&new.book, Some(&old.book));
    }

    /// [`Ledger::idempotent`] for a call that judges with `in_force`: once it has committed,
    /// the book is known to be kept.
    async fn judged<R, F>(
        &self,
        in_force: &InForce,
        principal: &Principal,
        key: &str,
        request_hash: Vec<u8>,
        job: F,
    ) -> Result<R, ServiceError>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: for<'a> Fn(&'a mut dyn Tx) -> TxFuture<'a, R, ServiceError> + Send + Sync + 'static,
    {
        let done = self.idempotent(principal, key, request_hash, job).await;
        if done.is_ok() {
            in_force.kept.store(true, Ordering::Release);
        }
        done
    }

    /// Runs a mutating job once per idempotency key: a retry with the same key and the same
    /// request returns the first response; the same key with another request is refused.
    async fn idempotent<R, F>(
        &self,
        principal: &Principal,
        key: &str,
        request_hash: Vec<u8>,
        job: F,
    ) -> Result<R, ServiceError>
    where
        R: Serialize + DeserializeOwned + Send + 'static,
        F: for<'a> Fn(&'a mut dyn Tx) -> TxFuture<'a, R, ServiceError> + Send + Sync + 'static,
    {
        if key.is_empty() || key.len() > 200 {
            return Err(ServiceError::invalid(
                "idempotency_key",
                "give every mutating call a unique key of 1 to 200 characters (a UUID, say)",
            ));
        }
        // Keys are per caller: two callers may use the same key for different requests.
        let principal = format!("{}@{}", principal.label(), principal.municipality());
        let key = key.to_owned();
        let job = Arc::new(job);
        self.store
            .write(move |tx| {
                let (principal, key, request_hash, job) = (
                    principal.clone(),
                    key.clone(),
                    request_hash.clone(),
                    job.clone(),
                );
                Box::pin(async move {
                    // The key is claimed before the job reads any state: a concurrent request
                    // under it (a client's retry after a timeout) waits here until the first
                    // commits, and then gets its response, not the state it left behind.
                    if let Some(found) = tx
                        .claim_idempotency(&principal, &key, &request_hash)
                        .await?
                    {
                        if found.request_hash != request_hash {
                            return Err(ServiceError::IdempotencyConflict(key));
                        }
                        return serde_json::from_slice(&found.response)
                            .map_err(|e| ServiceError::Corrupt(e.to_string()));
                    }
                    let response = job(tx).await?;
                    let bytes = serde_json::to_vec(&response)
                        .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
                    tx.put_idempotency(
                        &principal,
                        &key,
                        &IdempotencyRecord {
                            request_hash,
                            response: bytes,
                        },
                    )
                    .await?;
                    Ok(response)
                })
            })
            .await
    }
}

/// The rule book in force, by its content hash (1; the book it replaced 0).
pub const RULE_BOOK_INFO: &str = "letting_rule_book_info";
/// When the rule book in force was loaded, in seconds since the Unix epoch.
pub const RULE_BOOK_LOADED: &str = "letting_rule_book_loaded_timestamp_seconds";

/// Records which book is in force, through the `metrics` facade (a no-op unless the
/// process installed a recorder).
fn record_book_in_force(new: &RuleBook, old: Option<&RuleBook>) {
    let hash = new.content_hash();
    if let Some(old) = old {
        let old_hash = old.content_hash();
        // The same files reloaded: the series stays 1.
        if old_hash != hash {
            metrics::gauge!(RULE_BOOK_INFO, "hash" => old_hash).set(0.0);
        }
    }
    metrics::gauge!(RULE_BOOK_INFO, "hash" => hash).set(1.0);
    let now = Utc::now();
    let seconds = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
    metrics::gauge!(RULE_BOOK_LOADED).set(seconds);
}

/// The hash that tells a retry from a different request under the same key.
pub(crate) fn request_hash<C: Serialize>(command: &C) -> Result<Vec<u8>, ServiceError> {
    let bytes = serde_json::to_vec(command).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    Ok(Sha256::digest(bytes).to_vec())
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The log record of a decision the caller made on `event_date`: its columns derived from
/// `body` (see [`crate::log`]), where it belongs from `placement`. A decision an
/// organisation made belongs to that organisation unless the placement names another.
pub(crate) fn logged(
    principal: &Principal,
    event_date: NaiveDate,
    body: Body,
    mut placement: Placement,
) -> Result<DecisionRecord, ServiceError> {
    if placement.organisation.is_none()
        && let Principal::Organisation { organisation, .. } = principal
    {
        placement.organisation = Some(organisation.clone());
    }
    let entry = Entry {
        id: new_id(),
        municipality: principal.municipality().to_owned(),
        principal: principal.label(),
        event_date,
        recorded_at: Utc::now(),
        placement,
        body,
    };
    entry
        .into_record()
        .map_err(|e| ServiceError::Corrupt(e.to_string()))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(value).map_err(|e| ServiceError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ServiceError> {
    // Read from the borrowed tree: no copy of it first.
    T::deserialize(value).map_err(|e| ServiceError::Corrupt(e.to_string()))
}

/// Only the municipality may do this.
pub(crate) fn require_municipality(principal: &Principal, what: &str) -> Result<(), ServiceError> {
    match principal {
        Principal::Municipality { .. } => Ok(()),
        _ => Err(ServiceError::PermissionDenied(format!(
            "only the municipality may {what}"
        ))),
    }
}

/// Auditors read; they never write.
pub(crate) fn require_writer(principal: &Principal) -> Result<(), ServiceError> {
    match principal {
        Principal::Auditor { .. } => Err(ServiceError::PermissionDenied(
            "an auditor's key is read-only".into(),
        )),
        _ => Ok(()),
    }
}
