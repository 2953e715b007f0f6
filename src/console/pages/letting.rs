//! A letting: its state, every decision of its case with the full explanation, and the
//! municipality's acts on it: approve or reject with the main considerations (required),
//! and offer a replacement dwelling from the open vacancies outside exposed areas.

use axum::extract::{Form, Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Failure, OrPage, Page, csrf, form_date, html, see_other};
use crate::console::error::ConsoleError;
use crate::console::explain::explanation;
use crate::console::i18n::Lang;
use crate::console::layout::{self, Nav, form_tokens};
use crate::console::pages::decision::kind_label;
use crate::console::session::Caseworker;
use crate::console::state::AppState;
use crate::service::{LettingView, MakeOffer, MunicipalAct, Principal};

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
    #[serde(default)]
    decision: String,
}

fn done_text(lang: Lang, done: &str) -> Option<&'static str> {
    match done {
        "approved" => Some(lang.t("Udlejningen er godkendt.", "The letting was approved.")),
        "rejected" => Some(lang.t("Udlejningen er afvist.", "The letting was rejected.")),
        "offered" => Some(lang.t(
            "Erstatningsboligen er tilbudt.",
            "The replacement dwelling was offered.",
        )),
        _ => None,
    }
}

fn acts(cw: &Caseworker, view: &LettingView, today: chrono::NaiveDate) -> Markup {
    let lang = cw.lang;
    let id = &view.letting_id;
    html! {
        h2 { (lang.t("Kommunens afgørelse", "The municipality's decision")) }
        p { (lang.t(
            "Skriv de hovedhensyn, der er lagt vægt på. De står i afgørelsen til ansøgeren.",
            "Write the main considerations the decision rests on. They go into the decision to the applicant.",
        )) }
        form method="post" action={ "/lettings/" (id) "/approve" } id="approve-form" {
            (form_tokens(cw))
            fieldset {
                legend class="h3" { (lang.t("Godkend", "Approve")) }
                div class="form-group" {
                    label class="form-label" for="approve-reason" { (lang.t("Hovedhensyn (skal udfyldes)", "Main considerations (required)")) }
                    textarea class="form-input" id="approve-reason" name="reason" rows="4" required {}
                }
                div class="form-group" {
                    label class="form-label" for="approve-date" { (lang.t("Afgørelsesdato", "Date of decision")) }
                    input class="form-input" type="date" id="approve-date" name="date" value=(today) required;
                }
                button type="submit" class="button button-primary" { (lang.t("Godkend udlejningen", "Approve the letting")) }
            }
        }
        form method="post" action={ "/lettings/" (id) "/reject" } id="reject-form" {
            (form_tokens(cw))
            fieldset {
                legend class="h3" { (lang.t("Afvis", "Reject")) }
                div class="form-group" {
                    label class="form-label" for="reject-reason" { (lang.t("Hovedhensyn (skal udfyldes)", "Main considerations (required)")) }
                    textarea class="form-input" id="reject-reason" name="reason" rows="4" required {}
                }
                div class="form-group" {
                    label class="form-label" for="reject-date" { (lang.t("Afgørelsesdato", "Date of decision")) }
                    input class="form-input" type="date" id="reject-date" name="date" value=(today) required;
                }
                div class="form-group-checkbox" {
                    input class="form-checkbox" type="checkbox" id="replacement_owed" name="replacement_owed" value="true" checked;
                    label class="form-label" for="replacement_owed" { (lang.t(
                        "Ansøgeren har krav på en erstatningsbolig (almenboliglovens § 51 b)",
                        "The applicant is owed a replacement dwelling (almenboligloven § 51 b)",
                    )) }
                }
                button type="submit" class="button button-secondary" { (lang.t("Afvis udlejningen", "Reject the letting")) }
            }
        }
    }
}

async fn offer_form(
    state: &AppState,
    cw: &Caseworker,
    view: &LettingView,
) -> Result<Markup, Failure> {
    let lang = cw.lang;
    let today = state.ledger.today();
    let vacancies = state
        .ledger
        .open_vacancies(&cw.signed.principal, today, true, None)
        .await
        .or_page(lang)?;
    Ok(html! {
        h2 { (lang.t("Tilbyd en erstatningsbolig", "Offer a replacement dwelling")) }
        @if vacancies.is_empty() {
            (layout::info(lang.t(
                "Der er ingen ledige boliger uden for udsatte boligområder i dag.",
                "There are no open vacancies outside exposed areas today.",
            )))
        } @else {
            form method="post" action={ "/lettings/" (view.letting_id) "/offer" } id="offer-form" {
                (form_tokens(cw))
                fieldset {
                    legend class="h3" { (lang.t("Ledige boliger uden for udsatte boligområder", "Open vacancies outside exposed areas")) }
                    div class="form-group" {
                        label class="form-label" for="vacancy_id" { (lang.t("Bolig", "Dwelling")) }
                        select class="form-select" id="vacancy_id" name="vacancy_id" required {
                            @for v in &vacancies {
                                option value=(v.vacancy_id) {
                                    (v.state.vacancy_ref) ", " (v.state.department_name.as_deref().unwrap_or(&v.state.department))
                                    " (" (v.state.area) ", " (lang.class(&v.class)) ")"
                                }
                            }
                        }
                    }
                    div class="form-group" {
                        label class="form-label" for="offer-date" { (lang.t("Dato for tilbuddet", "Date of the offer")) }
                        input class="form-input" type="date" id="offer-date" name="date" value=(today) required;
                    }
                    button type="submit" class="button button-primary" { (lang.t("Tilbyd boligen", "Offer the dwelling")) }
                }
            }
        }
    })
}

/// `GET /lettings/{id}`.
pub async fn show(
    State(state): State<AppState>,
    cw: Caseworker,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Page {
    let lang = cw.lang;
    let view = state
        .ledger
        .letting(&cw.signed.principal, &id)
        .await
        .or_page(lang)?;
    let s = &view.state;
    let municipality = matches!(cw.signed.principal, Principal::Municipality { .. });
    let pending = view.status == "pending_municipal_approval";
    let offer_open = s.replacement_owed && s.replacement_offer.is_none();
    let offer = if municipality && offer_open && !pending {
        Some(offer_form(&state, &cw, &view).await?)
    } else {
        None
    };
    let title = format!(
        "{} {}",
        lang.t("Udlejning til", "Letting to"),
        s.applicant_ref
    );
    let body = html! {
        @if let Some(text) = done_text(lang, &done.done) {
            (layout::success(text))
            @if !done.decision.is_empty() {
                p { a href={ "/decisions/" (done.decision) } { (lang.t("Se afgørelsen", "See the decision")) } }
            }
        }
        h1 { (title) }
        dl {
            dt { (lang.t("Status", "Status")) } dd id="letting-status" data-status=(view.status) { (lang.status(&view.status)) }
            dt { (lang.t("Boligområde", "Area")) } dd { (s.area) " (" (lang.class(&s.area_class)) ")" }
            dt { (lang.t("Afdeling", "Department")) } dd { (s.department_name.as_deref().unwrap_or(&s.department)) " (" (s.department) ")" }
            @if let Some(o) = &view.organisation { dt { (lang.t("Boligorganisation", "Housing organisation")) } dd { (o) } }
            dt { (lang.t("Ansøger (reference)", "Applicant (reference)")) } dd { (s.applicant_ref) }
            dt { (lang.t("Foreslået", "Proposed")) } dd { (s.date) }
            dt { (lang.t("Udlejningsvej", "Letting channel")) } dd { (s.channel.as_str()) }
            @if let Some(d) = s.decided_on { dt { (lang.t("Afgjort", "Decided")) } dd { (d) } }
        }
        @if s.replacement_owed {
            div class="alert alert-warning" id="replacement-obligation" {
                div class="alert-body" {
                    p class="alert-heading" { (lang.t("Erstatningsbolig skyldes", "A replacement dwelling is owed")) }
                    p class="alert-text" {
                        @match &s.replacement_offer {
                            Some(offer) => { (lang.t("Tilbudt ved tilbud", "Offered by offer")) " " code { (offer) } "." }
                            None => { (lang.t(
                                "Kommunen skal tilbyde ansøgeren en anden passende bolig uden for de udsatte boligområder.",
                                "The municipality must offer the applicant another suitable dwelling outside the exposed areas.",
                            )) }
                        }
                    }
                }
            }
        }
        @if pending && municipality {
            (acts(&cw, &view, state.ledger.today()))
        } @else if pending {
            (layout::info(lang.t(
                "Kun kommunen kan godkende eller afvise udlejningen.",
                "Only the municipality can approve or reject the letting.",
            )))
        }
        @if let Some(offer) = offer { (offer) }
        h2 { (lang.t("Sagens afgørelser", "The decisions of the case")) }
        @for (i, d) in view.decisions.iter().enumerate() {
            section class="mt-6" aria-labelledby={ "decision-" (i) } {
                h3 id={ "decision-" (i) } {
                    (kind_label(lang, d.record.kind.as_str())) ", " (d.record.event_date)
                }
                p {
                    (lang.t("Udfald", "Outcome")) ": " code { (d.record.outcome) } ". "
                    a href={ "/decisions/" (d.record.id) } { (lang.t("Afgørelsen til udskrift", "The decision for printing")) }
                }
                @if let Some(e) = d.body.explanation() {
                    details class="details" open[i == 0] {
                        summary class="details-summary" { (lang.t("Begrundelse og grundlag", "Reasons and basis")) }
                        div class="details-text" { (explanation(lang, e, 4)) }
                    }
                }
            }
        }
    };
    Ok(html(layout::page(&cw, Nav::Queue, &title, body)))
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    replacement_owed: Option<String>,
}

async fn decide(state: AppState, cw: Caseworker, id: String, form: ActForm, approve: bool) -> Page {
    csrf(&cw, &form.csrf)?;
    let lang = cw.lang;
    if form.reason.trim().is_empty() {
        return Err(Failure(
            lang,
            ConsoleError::BadRequest(
                lang.t(
                    "Skriv kommunens hovedhensyn: de står i afgørelsen til ansøgeren.",
                    "Write the municipality's main considerations: they go into the decision to the applicant.",
                )
                .to_owned(),
            ),
        ));
    }
    let date = form_date(
        lang,
        lang.t("Afgørelsesdato", "Date of decision"),
        &form.date,
    )?;
    let act = MunicipalAct {
        letting_id: id.clone(),
        date,
        reason: form.reason.trim().to_owned(),
        caseworker: cw.signed.caseworker.clone(),
        replacement_owed: !approve && form.replacement_owed.is_some(),
    };
    let done = state
        .ledger
        .decide_letting(&cw.signed.principal, &form.key, act, approve)
        .await
        .or_page(lang)?;
    Ok(see_other(&format!(
        "/lettings/{id}?done={}&decision={}",
        if approve { "approved" } else { "rejected" },
        done.decision_id
    )))
}

/// `POST /lettings/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    cw: Caseworker,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Page {
    decide(state, cw, id, form, true).await
}

/// `POST /lettings/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    cw: Caseworker,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Page {
    decide(state, cw, id, form, false).await
}

#[derive(Debug, Deserialize)]
pub struct OfferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    vacancy_id: String,
    #[serde(default)]
    date: String,
}

/// `POST /lettings/{id}/offer`.
pub async fn offer(
    State(state): State<AppState>,
    cw: Caseworker,
    Path(id): Path<String>,
    Form(form): Form<OfferForm>,
) -> Page {
    csrf(&cw, &form.csrf)?;
    let lang = cw.lang;
    let date = form_date(
        lang,
        lang.t("Dato for tilbuddet", "Date of the offer"),
        &form.date,
    )?;
    let made = state
        .ledger
        .make_replacement_offer(
            &cw.signed.principal,
            &form.key,
            MakeOffer {
                letting_id: id.clone(),
                vacancy_id: form.vacancy_id.trim().to_owned(),
                date,
                caseworker: Some(cw.signed.caseworker.clone()),
            },
        )
        .await
        .or_page(lang)?;
    Ok(see_other(&format!(
        "/lettings/{id}?done=offered&decision={}",
        made.decision_id
    )))
}
