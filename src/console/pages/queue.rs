//! The approval queue: lettings awaiting the municipality, oldest proposal first, with
//! area, class, applicant reference and the rules' reasons; filtered by area and
//! organisation.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use maud::html;
use serde::Deserialize;

use super::{OrPage, Page, html, nonempty};
use crate::console::layout::{self, Nav};
use crate::console::session::Caseworker;
use crate::console::state::AppState;
use crate::service::{Principal, QueueFilter};

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    area: String,
    #[serde(default)]
    organisation: String,
}

/// `GET /queue`.
pub async fn show(
    State(state): State<AppState>,
    cw: Caseworker,
    Query(q): Query<QueueQuery>,
) -> Page {
    let lang = cw.lang;
    let filter = QueueFilter {
        area: nonempty(&q.area),
        organisation: nonempty(&q.organisation),
    };
    let filtered = filter != QueueFilter::default();
    let items = state
        .ledger
        .approval_queue(&cw.signed.principal, filter.clone())
        .await
        .or_page(lang)?;
    // The choices of the filter: every area and organisation with a pending letting.
    let all = if filtered {
        state
            .ledger
            .approval_queue(&cw.signed.principal, QueueFilter::default())
            .await
            .or_page(lang)?
    } else {
        items.clone()
    };
    let areas: BTreeSet<&str> = all.iter().map(|i| i.state.area.as_str()).collect();
    let organisations: BTreeSet<&str> = all
        .iter()
        .filter_map(|i| i.organisation.as_deref())
        .collect();
    let title = lang.t("Lejemål til godkendelse", "Lettings awaiting approval");
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Udlejninger i udsatte boligområder, som reglerne har sendt til kommunens godkendelse. Ældste forslag først.",
            "Lettings in exposed areas that the rules sent for the municipality's approval. Oldest proposal first.",
        )) }
        @if let Principal::Organisation { organisation, .. } = &cw.signed.principal {
            (layout::info(&format!("{} {organisation}.", lang.t(
                "Du ser kun udlejninger fra din egen boligorganisation:",
                "You see only the lettings of your own housing organisation:",
            ))))
        }
        form method="get" action="/queue" class="d-print-none" {
            fieldset {
                legend class="h3" { (lang.t("Afgræns", "Filter")) }
                div class="form-group" {
                    label class="form-label" for="area" { (lang.t("Boligområde", "Area")) }
                    select class="form-select" id="area" name="area" {
                        option value="" { (lang.t("Alle", "All")) }
                        @for a in &areas {
                            option value=(a) selected[filter.area.as_deref() == Some(*a)] { (a) }
                        }
                    }
                }
                div class="form-group" {
                    label class="form-label" for="organisation" { (lang.t("Boligorganisation", "Housing organisation")) }
                    select class="form-select" id="organisation" name="organisation" {
                        option value="" { (lang.t("Alle", "All")) }
                        @for o in &organisations {
                            option value=(o) selected[filter.organisation.as_deref() == Some(*o)] { (o) }
                        }
                    }
                }
                button type="submit" class="button button-secondary" { (lang.t("Vis", "Show")) }
            }
        }
        p role="status" id="queue-count" data-count=(items.len()) {
            (items.len()) " " (lang.t("udlejninger afventer godkendelse", "lettings await approval"))
        }
        @if items.is_empty() {
            (layout::info(lang.t("Ingen udlejninger afventer godkendelse.", "No lettings await approval.")))
        } @else {
            div class="table--responsive-scroll" {
                table class="table" id="queue" {
                    caption class="sr-only" { (title) }
                    thead { tr {
                        th scope="col" { (lang.t("Foreslået", "Proposed")) }
                        th scope="col" { (lang.t("Boligområde", "Area")) }
                        th scope="col" { (lang.t("Kategori", "Class")) }
                        th scope="col" { (lang.t("Afdeling", "Department")) }
                        th scope="col" { (lang.t("Ansøger (reference)", "Applicant (reference)")) }
                        th scope="col" { (lang.t("Begrundelse", "Reasons")) }
                    } }
                    tbody {
                        @for i in &items {
                            tr {
                                td { (i.state.date) }
                                td { (i.state.area) }
                                td { (lang.class(&i.state.area_class)) }
                                td {
                                    (i.state.department_name.as_deref().unwrap_or(&i.state.department))
                                    @if let Some(o) = &i.organisation { br; small { (o) } }
                                }
                                td {
                                    a href={ "/lettings/" (i.letting_id) } {
                                        (i.state.applicant_ref)
                                        span class="sr-only" { ", " (lang.t("åbn udlejningen", "open the letting")) }
                                    }
                                }
                                td {
                                    @for (da, en) in &i.reasons { p class="console-reason" { (lang.pick(da, en)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(layout::page(&cw, Nav::Queue, title, body)))
}
