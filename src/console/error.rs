//! Refusals and failures as pages, each with its HTTP status: the service's errors map as
//! the gRPC layer maps them to codes (PERMISSION_DENIED is 403, NOT_FOUND 404, ...).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::i18n::Lang;
use super::layout;
use crate::service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No signed-in session: to the sign-in page.
    #[error("sign in first")]
    SignInRequired,
    /// A form without its session's CSRF token.
    #[error("the form's security token is missing or does not belong to this session")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Internal(String),
}

impl ConsoleError {
    /// This error's page in `lang`.
    pub fn page(&self, lang: Lang) -> Response {
        let status = match self {
            ConsoleError::SignInRequired => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, "/signin")]).into_response();
            }
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Service(e) => match e {
                ServiceError::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
                ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
                ServiceError::PermissionDenied(_) => StatusCode::FORBIDDEN,
                ServiceError::FailedPrecondition(_) | ServiceError::IdempotencyConflict(_) => {
                    StatusCode::CONFLICT
                }
                ServiceError::Engine(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ServiceError::Store(_) | ServiceError::Corrupt(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "console request failed");
        }
        let heading = match status {
            StatusCode::FORBIDDEN => lang.t("Ikke tilladt", "Not allowed"),
            StatusCode::NOT_FOUND => lang.t("Ikke fundet", "Not found"),
            StatusCode::BAD_REQUEST => {
                lang.t("Formularen skal rettes", "The form needs correcting")
            }
            StatusCode::CONFLICT => {
                lang.t("Det kan ikke lade sig gøre nu", "This cannot be done now")
            }
            StatusCode::UNPROCESSABLE_ENTITY => lang.t(
                "Reglerne kan ikke afgøre sagen",
                "The rules cannot decide this case",
            ),
            _ => lang.t("Der opstod en fejl", "Something went wrong"),
        };
        let message = match self {
            ConsoleError::Csrf => lang
                .t(
                    "Formularens sikkerhedsnøgle mangler eller hører ikke til din session. Hent siden igen og prøv igen.",
                    "The form's security token is missing or does not belong to your session. Reload the page and try again.",
                )
                .to_owned(),
            ConsoleError::Service(ServiceError::Store(_) | ServiceError::Corrupt(_))
            | ConsoleError::Internal(_) => lang
                .t(
                    "Tjenesten kunne ikke gennemføre handlingen. Intet er ændret; prøv igen senere.",
                    "The service could not complete the act. Nothing was changed; try again later.",
                )
                .to_owned(),
            other => other.to_string(),
        };
        let body = layout::bare(
            lang,
            heading,
            html! {
                h1 { (heading) }
                div class="alert alert-error" role="alert" {
                    div class="alert-body" {
                        p class="alert-text" { (message) }
                    }
                }
                p { a href="/" { (lang.t("Til forsiden", "To the start page")) } }
            },
        );
        (status, axum::response::Html(body.into_string())).into_response()
    }
}

impl IntoResponse for ConsoleError {
    /// Without the request's language (an extractor's rejection): Danish.
    fn into_response(self) -> Response {
        self.page(Lang::Da)
    }
}
