//! Sessions: a random token in a cookie (HttpOnly, SameSite=Strict, Secure under TLS),
//! the session itself on the server, in this process's memory (a restart signs everyone
//! out; several processes behind a balancer each keep their own). A session expires after
//! an idle time and, at the latest, a fixed time after sign-in. Each session has its CSRF
//! token (a synchronizer token): every form carries it and a POST without it is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::error::ConsoleError;
use super::i18n::Lang;
use super::server::AppState;
use crate::service::SignedIn;

pub const SESSION_COOKIE: &str = "letting_session";
pub const LANG_COOKIE: &str = "letting_lang";
/// A session not used for this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after it began, used or not.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

#[derive(Debug, Clone)]
pub struct Session {
    /// None until the visitor signs in: the sign-in form has a token too.
    pub signed: Option<SignedIn>,
    pub csrf: String,
    began: Instant,
    seen: Instant,
}

/// The sessions of this process.
#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
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

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A poisoned map still holds valid sessions: a panic elsewhere changes none halfway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session (anonymous, or signed in); returns its token.
    pub fn start(&self, signed: Option<SignedIn>) -> Result<(String, Session), ConsoleError> {
        let now = Instant::now();
        let session = Session {
            signed,
            csrf: token()?,
            began: now,
            seen: now,
        };
        let id = token()?;
        let mut map = self.lock();
        map.retain(|_, s| live(s, now));
        map.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session of `id`, touched.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.lock();
        match map.get_mut(id) {
            Some(s) if live(s, now) => {
                s.seen = now;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.seen) < IDLE && now.duration_since(s.began) < LIFETIME
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

/// The Set-Cookie value of a session cookie.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The Set-Cookie value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
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
    pub session: Option<(String, Session)>,
    pub lang: Lang,
    /// The path and query asked for (without `lang=`), for the language switch.
    pub path: String,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|id| state.sessions.get(id).map(|s| (id.to_owned(), s)));
        Ok(Visitor {
            session,
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
        match visitor.session {
            Some((
                _,
                Session {
                    signed: Some(signed),
                    csrf,
                    ..
                },
            )) => Ok(Caseworker {
                signed,
                csrf,
                lang: visitor.lang,
                path: visitor.path,
            }),
            _ => Err(ConsoleError::SignInRequired),
        }
    }
}

/// Checks a sign-in form's token against the anonymous session it was served in.
pub fn check_anonymous_csrf(visitor: &Visitor, sent: &str) -> Result<(), ConsoleError> {
    match &visitor.session {
        Some((_, s)) if !sent.is_empty() && same(sent, &s.csrf) => Ok(()),
        _ => Err(ConsoleError::Csrf),
    }
}
