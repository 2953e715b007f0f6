//! Sessions, with `tower-sessions`: a random id in a cookie (HttpOnly, SameSite=Strict,
//! Secure under TLS), the session itself in this process's memory (`MemoryStore`: a restart
//! signs everyone out; several processes behind a balancer each keep their own). A session
//! expires after an idle time (a signed-in caseworker's every request restarts it) and, at
//! the latest, a fixed time after sign-in (the sign-in time is kept in the session). Each
//! session has its CSRF token (a synchronizer token, kept in the session): every form
//! carries it and a POST without it is refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer};

use super::error::ConsoleError;
use super::i18n::Lang;
use super::state::AppState;
use crate::service::SignedIn;

pub const SESSION_COOKIE: &str = "letting_session";
pub const LANG_COOKIE: &str = "letting_lang";
/// A session not used for this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after it began, used or not.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// The session's keys: its CSRF token, whom it is signed in as, and when (Unix seconds).
const CSRF: &str = "csrf";
const SIGNED: &str = "signed";
const BEGAN: &str = "began";

/// The session layer: sessions in memory behind the `letting_session` cookie.
pub fn layer(secure: bool) -> SessionManagerLayer<MemoryStore> {
    SessionManagerLayer::new(MemoryStore::default())
        .with_name(SESSION_COOKIE)
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure)
        .with_expiry(idle())
}

fn idle() -> Expiry {
    Expiry::OnInactivity(tower_sessions::cookie::time::Duration::seconds(
        i64::try_from(IDLE.as_secs()).unwrap_or(i64::MAX),
    ))
}

fn internal(e: tower_sessions::session::Error) -> ConsoleError {
    ConsoleError::Internal(format!("session: {e}"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A random token of 32 bytes, hex.
pub fn token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ConsoleError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Compares two tokens in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What a live session holds.
#[derive(Debug, Clone)]
pub struct SessionData {
    /// None until the visitor signs in: the sign-in form has a token too.
    pub signed: Option<SignedIn>,
    pub csrf: String,
}

/// The session's data, if it has any; a signed-in session past its lifetime is ended.
async fn read(session: &Session) -> Result<Option<SessionData>, ConsoleError> {
    let Some(csrf) = session.get::<String>(CSRF).await.map_err(internal)? else {
        return Ok(None);
    };
    let signed = session.get::<SignedIn>(SIGNED).await.map_err(internal)?;
    if signed.is_some() {
        let began = session.get::<u64>(BEGAN).await.map_err(internal)?;
        let over = began.is_none_or(|b| unix_now().saturating_sub(b) >= LIFETIME.as_secs());
        if over {
            session.flush().await.map_err(internal)?;
            return Ok(None);
        }
    }
    Ok(Some(SessionData { signed, csrf }))
}

/// Starts an anonymous session (for the sign-in form); its CSRF token.
pub async fn start_anonymous(session: &Session) -> Result<String, ConsoleError> {
    let csrf = token()?;
    session.insert(CSRF, &csrf).await.map_err(internal)?;
    Ok(csrf)
}

/// Signs the session in: a new session id (one seen before sign-in is never a signed-in
/// one), a new CSRF token, and the time its lifetime counts from.
pub async fn sign_in(session: &Session, signed: &SignedIn) -> Result<(), ConsoleError> {
    session.cycle_id().await.map_err(internal)?;
    session.insert(SIGNED, signed).await.map_err(internal)?;
    session.insert(CSRF, token()?).await.map_err(internal)?;
    session.insert(BEGAN, unix_now()).await.map_err(internal)?;
    Ok(())
}

/// Ends the session on the server; its cookie is removed.
pub async fn end(session: &Session) -> Result<(), ConsoleError> {
    session.flush().await.map_err(internal)
}

/// A cookie's value from the request's Cookie headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a request: `?lang=` first, then the cookie, else Danish.
pub fn lang_of(parts: &Parts) -> Lang {
    query_lang(parts.uri.query())
        .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or_default()
}

/// `lang=` in a query string.
pub fn query_lang(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

/// The path and query asked for, without any `lang=`: where the language switch leads.
fn path_without_lang(parts: &Parts) -> String {
    let kept: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    if kept.is_empty() {
        parts.uri.path().to_owned()
    } else {
        format!("{}?{}", parts.uri.path(), kept.join("&"))
    }
}

/// Anyone: signed in or not, with a session or not.
pub struct Visitor {
    /// The request's session (empty until something is kept in it).
    pub session: Session,
    /// What the session holds, if it is live.
    pub data: Option<SessionData>,
    pub lang: Lang,
    /// The path and query asked for (without `lang=`), for the language switch.
    pub path: String,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| ConsoleError::Internal("no session layer".into()))?;
        let data = read(&session).await?;
        Ok(Visitor {
            session,
            data,
            lang: lang_of(parts),
            path: path_without_lang(parts),
        })
    }
}

/// A signed-in caseworker; anyone else is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Caseworker {
    pub signed: SignedIn,
    pub csrf: String,
    pub lang: Lang,
    pub path: String,
}

impl Caseworker {
    /// Refuses (403) a form whose token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ConsoleError> {
        if !sent.is_empty() && same(sent, &self.csrf) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for Caseworker {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.data {
            Some(SessionData {
                signed: Some(signed),
                csrf,
            }) => {
                // Used: its idle time starts again.
                visitor.session.set_expiry(Some(idle()));
                Ok(Caseworker {
                    signed,
                    csrf,
                    lang: visitor.lang,
                    path: visitor.path,
                })
            }
            _ => Err(ConsoleError::SignInRequired),
        }
    }
}

/// Checks a sign-in form's token against the anonymous session it was served in.
pub fn check_anonymous_csrf(visitor: &Visitor, sent: &str) -> Result<(), ConsoleError> {
    match &visitor.data {
        Some(s) if !sent.is_empty() && same(sent, &s.csrf) => Ok(()),
        _ => Err(ConsoleError::Csrf),
    }
}
