//! API keys the municipality manages for its own municipality: keys for its housing
//! organisations and read-only auditor keys, listed and revoked. A municipality key is
//! made only with `letting keys add` against the database, so that a leaked key cannot
//! mint keys of its own rank.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::{Ledger, Principal, ServiceError, require_municipality};
use crate::store::ApiKeyRow;

/// Whose key a municipality may make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyHolder {
    /// A housing organisation of the registry.
    Organisation { organisation: String },
    /// A read-only auditor.
    Auditor,
}

/// A key made by the caller: its id and the hash of its secret. The caller makes the secret
/// (and shows it once); the service never sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub id: String,
    pub secret_hash: String,
}

/// A key as listed: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub id: String,
    pub principal: Principal,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyInfo {
    /// The listing of a stored key; None for a row whose principal is not recognised.
    pub fn of(row: &ApiKeyRow) -> Option<KeyInfo> {
        Some(KeyInfo {
            id: row.id.clone(),
            principal: Principal::parse(&row.principal, &row.municipality)?,
            label: row.label.clone(),
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// What CreateKey came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCreated {
    pub key: KeyInfo,
    /// True when this call made the key (`NewKey` was stored); false for a retry with the
    /// same idempotency key, which returns the key made first (its secret is gone).
    pub made_now: bool,
}

#[derive(Serialize)]
struct CreateRequest<'a> {
    holder: &'a KeyHolder,
    label: &'a str,
}

impl Ledger {
    /// Makes a key for one of the caller's organisations, or an auditor key, in the caller's
    /// municipality.
    pub async fn create_key(
        &self,
        principal: &Principal,
        idempotency_key: &str,
        holder: KeyHolder,
        label: String,
        new: NewKey,
    ) -> Result<KeyCreated, ServiceError> {
        require_municipality(principal, "manage API keys")?;
        let municipality = principal.municipality().to_owned();
        let hash = super::request_hash(&CreateRequest {
            holder: &holder,
            label: &label,
        })?;
        let key = new.clone();
        let info = self
            .idempotent(principal, idempotency_key, hash, move |tx| {
                let (holder, label, key, municipality) = (
                    holder.clone(),
                    label.clone(),
                    key.clone(),
                    municipality.clone(),
                );
                Box::pin(async move {
                    let principal = match holder {
                        KeyHolder::Organisation { organisation } => {
                            // The key is bound to the caller's municipality, so it reaches
                            // only the organisation's departments there.
                            if tx
                                .organisation(&municipality, &organisation)
                                .await?
                                .is_none()
                            {
                                return Err(ServiceError::NotFound {
                                    what: "organisation",
                                    id: organisation,
                                });
                            }
                            Principal::Organisation {
                                organisation,
                                municipality,
                            }
                        }
                        KeyHolder::Auditor => Principal::Auditor { municipality },
                    };
                    let row = ApiKeyRow {
                        id: key.id.clone(),
                        principal: principal.label(),
                        municipality: principal.municipality().to_owned(),
                        secret_hash: key.secret_hash.clone(),
                        // To the microsecond, as both stores keep it: the answer and a later
                        // listing agree.
                        created_at: Utc::now().trunc_subsecs(6),
                        revoked_at: None,
                        label,
                    };
                    tx.insert_api_key(&row).await?;
                    Ok(KeyInfo {
                        id: row.id,
                        principal,
                        label: row.label,
                        created_at: row.created_at,
                        revoked_at: None,
                    })
                })
            })
            .await?;
        Ok(KeyCreated {
            made_now: info.id == new.id,
            key: info,
        })
    }

    /// The keys of the caller's municipality, oldest first.
    pub async fn list_keys(&self, principal: &Principal) -> Result<Vec<KeyInfo>, ServiceError> {
        require_municipality(principal, "manage API keys")?;
        let municipality = principal.municipality().to_owned();
        let rows = self
            .store()
            .read(move |tx| {
                let municipality = municipality.clone();
                Box::pin(async move { tx.api_keys_of(&municipality).await })
            })
            .await?;
        Ok(rows.iter().filter_map(KeyInfo::of).collect())
    }

    /// Revokes a key of the caller's municipality; a key of another municipality is not
    /// found. Revoking a revoked key returns it as it is.
    pub async fn revoke_key(
        &self,
        principal: &Principal,
        idempotency_key: &str,
        key_id: String,
    ) -> Result<KeyInfo, ServiceError> {
        require_municipality(principal, "manage API keys")?;
        let municipality = principal.municipality().to_owned();
        let hash = super::request_hash(&key_id)?;
        self.idempotent(principal, idempotency_key, hash, move |tx| {
            let (key_id, municipality) = (key_id.clone(), municipality.clone());
            Box::pin(async move {
                let not_found = || ServiceError::NotFound {
                    what: "API key",
                    id: key_id.clone(),
                };
                let row = tx
                    .api_key(&key_id)
                    .await?
                    .filter(|k| k.municipality == municipality)
                    .ok_or_else(not_found)?;
                if row.revoked_at.is_none() {
                    tx.revoke_api_key(&key_id, Utc::now()).await?;
                }
                let row = tx.api_key(&key_id).await?.ok_or_else(not_found)?;
                KeyInfo::of(&row).ok_or_else(|| {
                    ServiceError::Corrupt(format!("key `{key_id}` has an unknown principal"))
                })
            })
        })
        .await
    }
}
