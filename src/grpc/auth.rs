//! Bearer-token authentication. Keys are stored as SHA-256 hashes, each bound to one
//! principal; the secret itself is shown once, when the key is made.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;
use tonic::{Request, Status};

use crate::service::{Principal, ServiceError, new_id, require_municipality, require_writer};
use crate::store::{ApiKeyRow, Store, StoreError};

/// How long a checked key is trusted before the store is asked again (a revoked key stops
/// working within this time, also when revoked by another process).
const CACHE_FOR: Duration = Duration::from_secs(5);

/// Prefix of every secret, so a leaked one is easy to recognise.
pub const SECRET_PREFIX: &str = "lr_";

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret.
pub fn new_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Database(format!("no randomness for a key: {e}")))?;
    Ok(format!("{SECRET_PREFIX}{}", hex::encode(bytes)))
}

/// Makes a key for `principal` and stores its hash; returns the row and the secret.
pub async fn create_key(
    store: &Store,
    principal: &Principal,
    label: &str,
) -> Result<(ApiKeyRow, String), ServiceError> {
    let secret = new_secret()?;
    let row = ApiKeyRow {
        id: new_id(),
        principal: principal.label(),
        municipality: principal.municipality().to_owned(),
        secret_hash: hash_secret(&secret),
        created_at: Utc::now(),
        revoked_at: None,
        label: label.to_owned(),
    };
    let stored = row.clone();
    store
        .write(move |tx| {
            let row = stored.clone();
            Box::pin(async move { Ok::<_, ServiceError>(tx.insert_api_key(&row).await?) })
        })
        .await?;
    Ok((row, secret))
}

/// What a call asks of its caller's kind of key (a read takes any key: `principal`). It
/// is checked from the key alone, before the request is read: a key that may not make the
/// call is refused without any work on a body it may have filled with anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// An organisation's or the municipality's key: not an auditor's.
    Writer,
    /// The municipality's key, to do what is named ("approve lettings").
    Municipality(&'static str),
}

/// Checks bearer tokens against the stored key hashes.
#[derive(Clone)]
pub struct Authenticator {
    store: Arc<Store>,
    cache: Arc<RwLock<HashMap<String, (Principal, Instant)>>>,
}

impl Authenticator {
    pub fn new(store: Arc<Store>) -> Self {
        Authenticator {
            store,
            cache: Arc::default(),
        }
    }

    /// The caller of `request` if its key may make a call that `needs` this, or
    /// UNAUTHENTICATED or PERMISSION_DENIED. The service checks again, record by record.
    pub async fn caller<T>(&self, request: &Request<T>, needs: Needs) -> Result<Principal, Status> {
        let principal = self.principal(request).await?;
        match needs {
            Needs::Writer => require_writer(&principal),
            Needs::Municipality(what) => require_municipality(&principal, what),
        }
        .map_err(super::status)?;
        Ok(principal)
    }

    /// The caller of `request`, or UNAUTHENTICATED.
    pub async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            Status::unauthenticated("no API key: send `authorization: Bearer <key>`")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Status::unauthenticated("malformed authorization header: send `Bearer <key>`")
            })?;
        let hash = hash_secret(token);
        if let Some((principal, at)) = self.cache.read().await.get(&hash)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(principal.clone());
        }
        let lookup = hash.clone();
        let row = self
            .store
            .read(move |tx| {
                let hash = lookup.clone();
                Box::pin(async move { Ok::<_, ServiceError>(tx.api_key_by_hash(&hash).await?) })
            })
            .await
            .map_err(super::status)?;
        let row = row
            .filter(|r| r.revoked_at.is_none())
            .ok_or_else(|| Status::unauthenticated("unknown or revoked API key"))?;
        let principal = Principal::parse(&row.principal, &row.municipality)
            .ok_or_else(|| Status::unauthenticated("the key's principal is not recognised"))?;
        self.cache
            .write()
            .await
            .insert(hash, (principal.clone(), Instant::now()));
        Ok(principal)
    }

    /// Forgets every checked key, so that a key just revoked here is refused at once.
    pub async fn forget_cached(&self) {
        self.cache.write().await.clear();
    }
}
