//! The console's pages, one file per area. Each handler takes the signed-in
//! [`Caseworker`], reads or acts through the [`crate::service::Ledger`], and renders HTML;
//! a refusal becomes an error page in the caseworker's language.

pub mod cases;
pub mod decision;
pub mod letting;
pub mod queue;
pub mod report;
pub mod signin;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;

use super::error::ConsoleError;
use super::i18n::Lang;
use super::session::{Caseworker, Visitor};

/// An error page in the language of the request.
pub struct Failure(pub Lang, pub ConsoleError);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        self.1.page(self.0)
    }
}

pub type Page = Result<Response, Failure>;

/// Attaches the page language to an error.
pub trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, Failure>;
}

impl<T, E: Into<ConsoleError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, Failure> {
        self.map_err(|e| Failure(lang, e.into()))
    }
}

pub fn html(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

/// 303 to `location`: the answer to every successful form.
pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// `GET /`: the work a caseworker starts from.
pub async fn start(visitor: Visitor) -> Response {
    match visitor.data.and_then(|s| s.signed) {
        Some(_) => see_other("/queue"),
        None => see_other("/signin"),
    }
}

/// Refuses (403) a form whose CSRF token is not this session's, before anything in it is
/// used.
pub fn csrf(cw: &Caseworker, sent: &str) -> Result<(), Failure> {
    cw.check_csrf(sent).or_page(cw.lang)
}

/// A form's optional text: empty is none.
pub fn nonempty(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A date from a form field (`YYYY-MM-DD`), or 400 naming the field.
pub fn form_date(lang: Lang, field: &str, text: &str) -> Result<chrono::NaiveDate, Failure> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Failure(
            lang,
            ConsoleError::BadRequest(format!(
                "{}: `{}` {}",
                field,
                text.chars().take(40).collect::<String>(),
                lang.t("er ikke en dato (ÅÅÅÅ-MM-DD)", "is not a date (YYYY-MM-DD)")
            )),
        )
    })
}
