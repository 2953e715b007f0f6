//! Any decision by its id, as a printable page to hand to the citizen: what was decided,
//! when, by whom, on what reasons and rules, and how to complain.

use axum::extract::{Path, Query, State};
use maud::html;
use serde::Deserialize;

use super::{OrPage, Page, html, see_other};
use crate::console::explain::explanation;
use crate::console::i18n::Lang;
use crate::console::layout::{self, Nav};
use crate::console::session::Caseworker;
use crate::console::state::AppState;
use crate::service::caseworker_of;

/// A decision's kind as a caseworker reads it.
pub fn kind_label(lang: Lang, kind: &str) -> String {
    let (da, en) = match kind {
        "channel_assignment" => (
            "Udlejningsvej for ledig bolig",
            "Letting channel of a vacancy",
        ),
        "letting" => ("Forslag om udlejning", "Proposed letting"),
        "approval" => ("Kommunens godkendelse", "The municipality's approval"),
        "municipal_rejection" => ("Kommunens afvisning", "The municipality's rejection"),
        "move_in" => ("Indflytning", "Move-in"),
        "replacement_offer" => ("Tilbud om erstatningsbolig", "Replacement offer"),
        "offer_answer" => ("Svar på tilbud", "Answer to an offer"),
        "referral" => ("Kommunal anvisning", "Municipal referral"),
        "grant" => ("Flyttetilskud", "Relocation grant"),
        "grant_payment" => ("Udbetaling af flyttetilskud", "Grant payment"),
        "grant_cancellation" => ("Annullering af flyttetilskud", "Grant cancellation"),
        "statistics" => ("Områdestatistik", "Area statistics"),
        "registry" => ("Register", "Registry"),
        other => (other, other),
    };
    lang.t(da, en).to_owned()
}

#[derive(Debug, Default, Deserialize)]
pub struct Lookup {
    #[serde(default)]
    id: String,
}

/// `GET /decisions`: find a decision by its id.
pub async fn lookup(cw: Caseworker, Query(q): Query<Lookup>) -> Page {
    let lang = cw.lang;
    let id = q.id.trim();
    if !id.is_empty() {
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        return Ok(see_other(&format!("/decisions/{safe}")));
    }
    let title = lang.t("Find en afgørelse", "Find a decision");
    let body = html! {
        h1 { (title) }
        form method="get" action="/decisions" {
            div class="form-group" {
                label class="form-label" for="id" { (lang.t("Afgørelsens id", "The decision's id")) }
                input class="form-input" type="text" id="id" name="id" spellcheck="false" required;
            }
            button type="submit" class="button button-primary" { (lang.t("Vis afgørelsen", "Show the decision")) }
        }
    };
    Ok(html(layout::page(&cw, Nav::Decisions, title, body)))
}

/// `GET /decisions/{id}`.
pub async fn show(State(state): State<AppState>, cw: Caseworker, Path(id): Path<String>) -> Page {
    let lang = cw.lang;
    let logged = state
        .ledger
        .get_decision(&cw.signed.principal, &id)
        .await
        .or_page(lang)?;
    let r = &logged.record;
    let caseworker = caseworker_of(&logged.body);
    let title = format!("{}, {}", kind_label(lang, r.kind.as_str()), r.event_date);
    let body = html! {
        h1 { (title) }
        p class="d-print-none" { (lang.t(
            "Siden kan udskrives og gives til borgeren (brug browserens udskriftsfunktion).",
            "The page can be printed and handed to the citizen (use the browser's print function).",
        )) }
        dl {
            dt { (lang.t("Afgørelse nr.", "Decision no.")) } dd { code { (r.id) } }
            dt { (lang.t("Kommune", "Municipality")) } dd { (r.municipality) }
            dt { (lang.t("Dato", "Date")) } dd { (r.event_date) }
            dt { (lang.t("Udfald", "Outcome")) } dd id="decision-outcome" { code { (r.outcome) } }
            @if let Some(o) = &r.organisation { dt { (lang.t("Boligorganisation", "Housing organisation")) } dd { (o) } }
            @if let Some(d) = &r.department { dt { (lang.t("Afdeling", "Department")) } dd { (d) } }
            @if let Some(a) = &r.area { dt { (lang.t("Boligområde", "Area")) } dd { (a) @if let Some(c) = &r.area_class { " (" (lang.class(c)) ")" } } }
            @if let Some(s) = &r.subject { dt { (lang.t("Sag", "Case")) } dd { code { (s) } } }
            dt { (lang.t("Truffet af", "Made by")) } dd {
                (r.principal)
                @if let Some(c) = &caseworker { ", " (lang.t("sagsbehandler", "caseworker")) " " span id="decision-caseworker" { (c) } }
            }
        }
        @match logged.body.explanation() {
            Some(e) => { (explanation(lang, e, 2)) }
            None => { p { (lang.t("Afgørelsen har ingen begrundelse af reglerne (en registrering).", "The decision has no reasons from the rules (a record).")) } }
        }
    };
    Ok(html(layout::page(&cw, Nav::Decisions, &title, body)))
}
