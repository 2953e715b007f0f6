//! KeyService over the service layer: the municipality's API keys. The secret of a new key
//! is made here, returned once and never passed on; the service stores its hash.

use tonic::{Request, Response, Status};

use super::auth::{Authenticator, hash_secret, new_secret};
use super::convert::{Reader, looks_like_cpr};
use super::pb::{self, key_service_server::KeyService};
use super::{invalid, status};
use crate::service::{KeyHolder, KeyInfo, Ledger, NewKey, Principal, new_id};

/// The longest label a key may have.
const LABEL_MAX: usize = 200;

#[derive(Clone)]
pub struct KeyApi {
    pub ledger: Ledger,
    pub auth: Authenticator,
}

impl KeyApi {
    /// The caller, who must hold a municipality key: checked before the request is read,
    /// so another key learns nothing from validation.
    async fn municipality<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let principal = self.auth.principal(request).await?;
        match principal {
            Principal::Municipality { .. } => Ok(principal),
            _ => Err(Status::permission_denied(
                "only a municipality key may manage API keys",
            )),
        }
    }
}

fn key(info: &KeyInfo) -> pb::ApiKey {
    let (principal, organisation) = match &info.principal {
        Principal::Municipality { .. } => (pb::KeyPrincipal::Municipality, String::new()),
        Principal::Organisation { organisation, .. } => {
            (pb::KeyPrincipal::Organisation, organisation.clone())
        }
        Principal::Auditor { .. } => (pb::KeyPrincipal::Auditor, String::new()),
    };
    pb::ApiKey {
        key_id: info.id.clone(),
        principal: principal.into(),
        organisation_id: organisation,
        municipality_code: info.principal.municipality().to_owned(),
        label: info.label.clone(),
        created_at: info.created_at.to_rfc3339(),
        revoked_at: info.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl KeyService for KeyApi {
    async fn create_key(
        &self,
        request: Request<pb::CreateKeyRequest>,
    ) -> Result<Response<pb::CreateKeyResponse>, Status> {
        let principal = self.municipality(&request).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let idempotency_key = v.key(&r.idempotency_key);
        let holder = match pb::KeyPrincipal::try_from(r.principal) {
            Ok(pb::KeyPrincipal::Organisation) => Some(KeyHolder::Organisation {
                organisation: v.id("organisation_id", &r.organisation_id),
            }),
            Ok(pb::KeyPrincipal::Auditor) => {
                if !r.organisation_id.is_empty() {
                    v.errors
                        .push("organisation_id", "must be empty for an auditor key");
                }
                Some(KeyHolder::Auditor)
            }
            Ok(pb::KeyPrincipal::Municipality) => {
                return Err(Status::permission_denied(
                    "a municipality key is made only with `letting keys add --municipality-key` against the database",
                ));
            }
            Ok(pb::KeyPrincipal::Unspecified) | Err(_) => {
                v.errors.push(
                    "principal",
                    "give KEY_PRINCIPAL_ORGANISATION or KEY_PRINCIPAL_AUDITOR",
                );
                None
            }
        };
        if r.label.chars().count() > LABEL_MAX || r.label.chars().any(char::is_control) {
            v.errors.push(
                "label",
                format!("at most {LABEL_MAX} characters, without control characters"),
            );
        } else if looks_like_cpr(&r.label) {
            // Not echoed: it may be a real CPR number.
            v.errors.push("label", "looks like a CPR number");
        }
        let holder = v
            .errors
            .finish(|| holder)
            .map_err(invalid)?
            .ok_or_else(|| Status::invalid_argument("no principal"))?;
        let secret = new_secret().map_err(|e| status(e.into()))?;
        let new = NewKey {
            id: new_id(),
            secret_hash: hash_secret(&secret),
        };
        let created = self
            .ledger
            .create_key(&principal, &idempotency_key, holder, r.label, new)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreateKeyResponse {
            key: Some(key(&created.key)),
            // A retry gets the key made first, whose secret this call never had.
            secret: if created.made_now {
                secret
            } else {
                String::new()
            },
        }))
    }

    async fn list_keys(
        &self,
        request: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::ListKeysResponse>, Status> {
        let principal = self.municipality(&request).await?;
        let keys = self.ledger.list_keys(&principal).await.map_err(status)?;
        Ok(Response::new(pb::ListKeysResponse {
            keys: keys.iter().map(key).collect(),
        }))
    }

    async fn revoke_key(
        &self,
        request: Request<pb::RevokeKeyRequest>,
    ) -> Result<Response<pb::RevokeKeyResponse>, Status> {
        let principal = self.municipality(&request).await?;
        let r = request.into_inner();
        let mut v = Reader::new();
        let idempotency_key = v.key(&r.idempotency_key);
        let key_id = v.server_id("key_id", &r.key_id);
        let key_id = v.errors.finish(|| key_id).map_err(invalid)?;
        let revoked = self
            .ledger
            .revoke_key(&principal, &idempotency_key, key_id)
            .await
            .map_err(status)?;
        // This server refuses the key at once; others within the cache's 5 seconds.
        self.auth.forget_cached().await;
        Ok(Response::new(pb::RevokeKeyResponse {
            key: Some(key(&revoked)),
        }))
    }
}
