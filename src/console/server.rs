//! The console's router and its plain-HTTP listener, on an address of its own (the gRPC
//! port stays gRPC; `tls.rs` serves the same router over TLS). With `secure_cookies` the
//! session cookie is marked Secure: under TLS, or behind a TLS-terminating proxy.

use std::future::Future;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use super::session::{self, LANG_COOKIE, query_lang};
use super::state::AppState;
use super::{assets, layout, pages};
use crate::service::Ledger;

/// How the console is served.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// Mark the session cookie Secure (the console is reached over TLS).
    pub secure_cookies: bool,
}

/// The policy of the console's own pages: nothing but this origin, no script at all.
const CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; \
                   img-src 'self' data:; style-src 'self'; font-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console over `ledger`.
pub fn router(ledger: Ledger, options: ConsoleOptions) -> Router {
    let sessions = session::layer(options.secure_cookies);
    let state = AppState { ledger };
    Router::new()
        .route("/", get(pages::start))
        .route(
            "/signin",
            get(pages::signin::form).post(pages::signin::submit),
        )
        .route("/signout", post(pages::signin::signout))
        .route("/queue", get(pages::queue::show))
        .route("/lettings/{id}", get(pages::letting::show))
        .route("/lettings/{id}/approve", post(pages::letting::approve))
        .route("/lettings/{id}/reject", post(pages::letting::reject))
        .route("/lettings/{id}/offer", post(pages::letting::offer))
        .route("/decisions", get(pages::decision::lookup))
        .route("/decisions/{id}", get(pages::decision::show))
        .route(
            "/referrals",
            get(pages::cases::referral_form).post(pages::cases::referral_submit),
        )
        .route(
            "/grants",
            get(pages::cases::grant_form).post(pages::cases::grant_submit),
        )
        .route("/report", get(pages::report::show))
        .route("/report/full", get(pages::report::full))
        .route("/areas", get(pages::report::areas))
        .route("/assets/console.css", get(console_css))
        .route("/assets/dkfds/{*path}", get(assets::dkfds))
        .layer(sessions)
        .layer(middleware::from_fn(headers))
        .with_state(state)
}

async fn console_css() -> Response {
    use axum::response::IntoResponse;
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        layout::LOCAL_CSS,
    )
        .into_response()
}

/// Remembers `?lang=` in a cookie, and sets the security headers every response carries.
async fn headers(request: Request, next: Next) -> Response {
    let lang = query_lang(request.uri().query());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if let Some(lang) = lang
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
            lang.code()
        ))
    {
        h.append(header::SET_COOKIE, v);
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Serves the console on `listener` until `shutdown` completes; requests already taken
/// are answered.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
