//! Sign-in (username and password, or an API key) and sign-out. The sign-in form is served
//! in an anonymous session with its own CSRF token; signing in cycles the session id and
//! gives it a new token (a session id seen before sign-in is never a signed-in one).

use axum::extract::{Form, State};
use axum::http::StatusCode;
use maud::html;
use serde::Deserialize;

use super::{Failure, OrPage, Page, html, see_other};
use crate::console::i18n::Lang;
use crate::console::layout;
use crate::console::session::{self, Caseworker, Visitor, check_anonymous_csrf};
use crate::console::state::AppState;

fn form_page(lang: Lang, csrf: &str, failed: bool) -> maud::Markup {
    let title = lang.t("Log ind", "Sign in");
    layout::bare(
        lang,
        title,
        html! {
            h1 { (title) }
            p { (lang.t(
                "Log ind med dit brugernavn og din adgangskode, eller med en API-nøgle.",
                "Sign in with your username and password, or with an API key.",
            )) }
            @if failed {
                div class="alert alert-error" role="alert" {
                    div class="alert-body" {
                        p class="alert-text" { (lang.t(
                            "Ukendt bruger, forkert adgangskode eller ugyldig nøgle.",
                            "Unknown user, wrong password or invalid key.",
                        )) }
                    }
                }
            }
            form method="post" action="/signin" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend class="h2" { (lang.t("Brugernavn og adgangskode", "Username and password")) }
                    div class="form-group" {
                        label class="form-label" for="username" { (lang.t("Brugernavn", "Username")) }
                        input class="form-input" type="text" id="username" name="username" autocomplete="username" spellcheck="false";
                    }
                    div class="form-group" {
                        label class="form-label" for="password" { (lang.t("Adgangskode", "Password")) }
                        input class="form-input" type="password" id="password" name="password" autocomplete="current-password";
                    }
                }
                fieldset {
                    legend class="h2" { (lang.t("Eller: API-nøgle", "Or: API key")) }
                    div class="form-group" {
                        label class="form-label" for="api_key" { (lang.t("API-nøgle", "API key")) }
                        span class="form-hint" id="api_key-hint" { (lang.t("Nøglen begynder med lr_.", "The key begins with lr_.")) }
                        input class="form-input" type="password" id="api_key" name="api_key" autocomplete="off" aria-describedby="api_key-hint";
                    }
                }
                button type="submit" class="button button-primary" { (lang.t("Log ind", "Sign in")) }
            }
        },
    )
}

/// `GET /signin`.
pub async fn form(visitor: Visitor) -> Page {
    let lang = visitor.lang;
    if let Some(s) = &visitor.data {
        if s.signed.is_some() {
            return Ok(see_other("/"));
        }
        return Ok(html(form_page(lang, &s.csrf, false)));
    }
    let csrf = session::start_anonymous(&visitor.session)
        .await
        .or_page(lang)?;
    Ok(html(form_page(lang, &csrf, false)))
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    api_key: String,
}

/// `POST /signin`.
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Page {
    let lang = visitor.lang;
    check_anonymous_csrf(&visitor, &form.csrf).or_page(lang)?;
    let signed = if !form.api_key.trim().is_empty() {
        state.ledger.sign_in_key(&form.api_key).await
    } else {
        state
            .ledger
            .sign_in_password(form.username.trim(), &form.password)
            .await
    };
    let signed = match signed {
        Ok(signed) => signed,
        Err(crate::service::ServiceError::PermissionDenied(_)) => {
            let csrf = visitor
                .data
                .as_ref()
                .map(|s| s.csrf.clone())
                .unwrap_or_default();
            let mut response = html(form_page(lang, &csrf, true));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return Ok(response);
        }
        Err(e) => return Err(Failure(lang, e.into())),
    };
    tracing::info!(caseworker = %signed.caseworker, principal = %signed.principal.label(), "console sign-in");
    session::sign_in(&visitor.session, &signed)
        .await
        .or_page(lang)?;
    Ok(see_other("/"))
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /signout`.
pub async fn signout(visitor: Visitor, cw: Caseworker, Form(form): Form<SignOutForm>) -> Page {
    super::csrf(&cw, &form.csrf)?;
    session::end(&visitor.session).await.or_page(cw.lang)?;
    Ok(see_other("/signin"))
}
