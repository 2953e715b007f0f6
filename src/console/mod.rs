//! The caseworker console: server-rendered HTML in the look of Det Fælles Designsystem,
//! served by `letting serve` on its own address. It is one more boundary, like
//! `src/grpc`: it signs caseworkers in, turns forms into the service's commands and
//! calls the same [`Ledger`] methods, which decide who may do what. Every act works
//! without JavaScript; every form carries a CSRF token tied to the session.
//!
//! - `server.rs` — the router, the listener, the language cookie;
//! - `session.rs` — sessions (`tower-sessions`, in memory), sign-in and lifetime, CSRF;
//! - `error.rs` — refusals as pages with their HTTP status;
//! - `i18n.rs` — Danish and English;
//! - `layout.rs` — the page frame (header, navigation, skip link) and shared parts;
//! - `explain.rs` — a decision's explanation as HTML;
//! - `pages/` — one file per area: sign-in, queue, letting, decisions, referrals and
//!   grants, report and areas;
//! - `assets.rs` — the vendored DKFDS stylesheet, fonts and icons, embedded;
//! - `tls.rs` — the console over TLS, with the gRPC server's certificate.

mod assets;
mod error;
mod explain;
mod i18n;
mod layout;
mod pages;
mod server;
mod session;
mod state;
mod tls;

pub use error::ConsoleError;
pub use server::{ConsoleOptions, router, serve};
pub use tls::{ConsoleTlsError, serve_tls};
