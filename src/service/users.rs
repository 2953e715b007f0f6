//! Who signs in to the caseworker console: users made by `letting users add`, each bound to
//! one principal as an API key is, with an Argon2 hash of their password; or an API key
//! itself. Either way the console acts as that principal, and the caseworker's name (the
//! username, or the key's id) goes on every act.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{Ledger, Principal, ServiceError};
use crate::store::UserRow;

/// The shortest password `letting users add` takes.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest username and password.
pub const MAX_USERNAME_CHARS: usize = 64;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Whom a console session acts for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedIn {
    pub principal: Principal,
    /// Recorded on every act: the username, or `key:<id>` for an API key.
    pub caseworker: String,
}

/// The one answer to a failed sign-in, whichever part was wrong.
fn refused() -> ServiceError {
    ServiceError::PermissionDenied("unknown user or wrong password".into())
}

/// A username: 1 to 64 of a-z, 0-9, `.`, `_`, `-`.
pub fn check_username(username: &str) -> Result<(), ServiceError> {
    let ok = !username.is_empty()
        && username.chars().count() <= MAX_USERNAME_CHARS
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "username",
            "use 1 to 64 of a-z, 0-9, `.`, `_` and `-`",
        ))
    }
}

fn hash_password(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| ServiceError::Corrupt(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Corrupt(format!("the password could not be hashed: {e}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

impl Ledger {
    /// Adds a console user for `principal`, with an Argon2 hash of `password`. An operator's
    /// act (the command line, against the database): no principal calls it.
    pub async fn add_user(
        &self,
        username: &str,
        principal: &Principal,
        password: &str,
    ) -> Result<(), ServiceError> {
        check_username(username)?;
        let chars = password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(ServiceError::invalid(
                "password",
                format!("use {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        let password = password.to_owned();
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| ServiceError::Corrupt(e.to_string()))??;
        let row = UserRow {
            username: username.to_owned(),
            principal: principal.label(),
            municipality: principal.municipality().to_owned(),
            password_hash,
            created_at: Utc::now(),
        };
        let added = self
            .store
            .write(move |tx| {
                let row = row.clone();
                Box::pin(async move { Ok::<_, ServiceError>(tx.insert_user(&row).await?) })
            })
            .await?;
        if added {
            Ok(())
        } else {
            Err(ServiceError::FailedPrecondition(format!(
                "the username `{username}` is taken"
            )))
        }
    }

    /// Signs a console user in by username and password.
    pub async fn sign_in_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<SignedIn, ServiceError> {
        if check_username(username).is_err() || password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(refused());
        }
        let name = username.to_owned();
        let row = self
            .store
            .read(move |tx| {
                let name = name.clone();
                Box::pin(async move { Ok::<_, ServiceError>(tx.user(&name).await?) })
            })
            .await?;
        let Some(row) = row else {
            return Err(refused());
        };
        let (password, stored) = (password.to_owned(), row.password_hash.clone());
        let matches = tokio::task::spawn_blocking(move || password_matches(&password, &stored))
            .await
            .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
        if !matches {
            return Err(refused());
        }
        let principal = Principal::parse(&row.principal, &row.municipality).ok_or_else(|| {
            ServiceError::Corrupt("the user's principal is not recognised".into())
        })?;
        Ok(SignedIn {
            principal,
            caseworker: row.username,
        })
    }

    /// Signs in with an API key (its secret), as the gRPC API accepts it.
    pub async fn sign_in_key(&self, secret: &str) -> Result<SignedIn, ServiceError> {
        let hash = hex::encode(Sha256::digest(secret.trim().as_bytes()));
        let row = self
            .store
            .read(move |tx| {
                let hash = hash.clone();
                Box::pin(async move { Ok::<_, ServiceError>(tx.api_key_by_hash(&hash).await?) })
            })
            .await?
            .filter(|r| r.revoked_at.is_none())
            .ok_or_else(|| ServiceError::PermissionDenied("unknown or revoked API key".into()))?;
        let principal = Principal::parse(&row.principal, &row.municipality)
            .ok_or_else(|| ServiceError::Corrupt("the key's principal is not recognised".into()))?;
        Ok(SignedIn {
            principal,
            caseworker: format!("key:{}", row.id),
        })
    }
}
