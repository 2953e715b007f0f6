//! The quarterly compliance report (its key figures, each linked to the decisions behind
//! it, a period picker, and the full report in the existing HTML rendering) and the area
//! overview (every area's class over a year, with the rule, the statistics decision or
//! the designation list that gave it).

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Failure, OrPage, Page, html, nonempty};
use crate::console::error::ConsoleError;
use crate::console::i18n::Lang;
use crate::console::layout::{self, Nav};
use crate::console::session::Caseworker;
use crate::console::state::AppState;
use crate::report::model::Count;
use crate::report::render::{Format, render};
use crate::report::{Period, quarter_of};

/// Decision ids listed under a figure, at most.
const IDS_SHOWN: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    quarter: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl PeriodQuery {
    fn period(&self, lang: Lang, today: NaiveDate) -> Result<Period, Failure> {
        let bad =
            |e: crate::report::ReportError| Failure(lang, ConsoleError::BadRequest(e.to_string()));
        match (nonempty(&self.from), nonempty(&self.to)) {
            (Some(from), Some(to)) => {
                let from = super::form_date(lang, lang.t("Fra", "From"), &from)?;
                let to = super::form_date(lang, lang.t("Til", "To"), &to)?;
                Period::range(from, to).map_err(bad)
            }
            _ => match nonempty(&self.quarter) {
                Some(q) => Period::parse_quarter(&q).map_err(bad),
                None => {
                    let (y, q) = quarter_of(today);
                    Period::quarter(y, q).map_err(bad)
                }
            },
        }
    }

    /// The query string that asks for the same period.
    fn query(&self, period: &Period) -> String {
        if nonempty(&self.from).is_some() && nonempty(&self.to).is_some() {
            format!("from={}&to={}", period.from, period.to)
        } else {
            format!("quarter={}", period.label)
        }
    }
}

/// A figure with the decisions behind it.
fn figure(lang: Lang, id: &str, label: &str, count: &Count) -> Markup {
    html! {
        tr id=(id) data-count=(count.count) {
            th scope="row" { (label) }
            td { (count.count) }
            td {
                @if count.decision_ids.is_empty() {
                    "–"
                } @else {
                    details class="details" {
                        summary class="details-summary" {
                            (lang.t("Afgørelserne", "The decisions")) " (" (count.decision_ids.len()) ")"
                        }
                        div class="details-text" {
                            ul class="no-max-width" {
                                @for d in count.decision_ids.iter().take(IDS_SHOWN) {
                                    li { a href={ "/decisions/" (d) } { code { (d) } } }
                                }
                            }
                            @if count.decision_ids.len() > IDS_SHOWN {
                                p { (count.decision_ids.len() - IDS_SHOWN) " " (lang.t("flere i den fulde rapport", "more in the full report")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn picker(lang: Lang, action: &str, q: &PeriodQuery, period: &Period) -> Markup {
    html! {
        form method="get" action=(action) class="d-print-none" {
            fieldset {
                legend class="h3" { (lang.t("Periode", "Period")) }
                div class="form-group" {
                    label class="form-label" for="quarter" { (lang.t("Kvartal", "Quarter")) }
                    span class="form-hint" id="quarter-hint" { (lang.t("Fx 2007Q2.", "Such as 2007Q2.")) }
                    input class="form-input" type="text" id="quarter" name="quarter" value=(if nonempty(&q.from).is_some() { String::new() } else { period.label.clone() }) aria-describedby="quarter-hint" pattern="[0-9]{4}Q[1-4]";
                }
                p { (lang.t("Eller en vilkårlig periode:", "Or any range of days:")) }
                div class="form-group" {
                    label class="form-label" for="from" { (lang.t("Fra", "From")) }
                    input class="form-input" type="date" id="from" name="from" value=(q.from);
                }
                div class="form-group" {
                    label class="form-label" for="to" { (lang.t("Til og med", "To, inclusive")) }
                    input class="form-input" type="date" id="to" name="to" value=(q.to);
                }
                button type="submit" class="button button-secondary" { (lang.t("Vis", "Show")) }
            }
        }
    }
}

/// `GET /report`.
pub async fn show(
    State(state): State<AppState>,
    cw: Caseworker,
    Query(q): Query<PeriodQuery>,
) -> Page {
    let lang = cw.lang;
    let period = q.period(lang, state.ledger.today())?;
    let report = state
        .ledger
        .compliance_report(&cw.signed.principal, period.clone())
        .await
        .or_page(lang)?;
    let c = &report.combined_letting;
    let o = &report.replacement_offers;
    let title = format!(
        "{} {}",
        lang.t("Kvartalsrapport", "Quarterly report"),
        report.period.label
    );
    let body = html! {
        h1 { (title) }
        p { (report.period.from) " – " (report.period.to) ". " (report.decisions_in_period) " " (lang.t("afgørelser i perioden.", "decisions in the period.")) }
        (picker(lang, "/report", &q, &period))
        p { a href={ "/report/full?" (q.query(&period)) } { (lang.t("Den fulde rapport med diagrammer (engelsk)", "The full report with charts")) } }
        h2 { (lang.t("Kombineret udlejning", "Combined letting")) }
        (figures_table(lang, "combined", html! {
            (figure(lang, "fig-proposals", lang.t("Forslag i udsatte områder", "Proposals in exposed areas"), &c.proposals))
            (figure(lang, "fig-sent", lang.t("Sendt til kommunens godkendelse", "Sent for the municipality's approval"), &c.sent_for_approval))
            (figure(lang, "fig-rejected-rules", lang.t("Afvist efter reglerne", "Rejected by the rules"), &c.rejected_by_rules))
            (figure(lang, "fig-approvals", lang.t("Godkendt af kommunen", "Approved by the municipality"), &c.approvals))
            (figure(lang, "fig-rejections", lang.t("Afvist af kommunen", "Rejected by the municipality"), &c.municipal_rejections))
            (figure(lang, "fig-pending", lang.t("Afventer ved periodens slutning", "Pending at the end of the period"), &c.pending_at_end))
        }))
        h2 { (lang.t("Erstatningsboliger", "Replacement dwellings")) }
        (figures_table(lang, "offers", html! {
            (figure(lang, "fig-owed", lang.t("Skyldes", "Owed"), &o.owed))
            (figure(lang, "fig-made", lang.t("Tilbudt", "Offered"), &o.made))
            (figure(lang, "fig-accepted", lang.t("Accepteret", "Accepted"), &o.accepted))
            (figure(lang, "fig-declined", lang.t("Afslået", "Declined"), &o.declined))
        }))
        h2 { (lang.t("Anvisninger og flyttetilskud", "Referrals and relocation grants")) }
        (figures_table(lang, "referrals-grants", html! {
            (figure(lang, "fig-referrals", lang.t("Kommunale anvisninger", "Municipal referrals"), &report.referrals.total))
            (figure(lang, "fig-referrals-refused", lang.t("Heraf afvist", "Of which refused"), &report.referrals.refused))
            (figure(lang, "fig-grants", lang.t("Ansøgninger om flyttetilskud", "Grant applications"), &Count { count: report.grants.applications.count, decision_ids: report.grants.applications.decision_ids.clone() }))
        }))
        @if !report.violations.is_empty() {
            h2 { (lang.t("Overtrædelser", "Violations")) }
            ul { @for v in &report.violations { li { (format!("{v:?}").chars().take(200).collect::<String>()) } } }
        }
    };
    Ok(html(layout::page(&cw, Nav::Report, &title, body)))
}

/// `GET /report/full`: the report in its own HTML rendering (inline charts and styles).
pub async fn full(
    State(state): State<AppState>,
    cw: Caseworker,
    Query(q): Query<PeriodQuery>,
) -> Page {
    let lang = cw.lang;
    let period = q.period(lang, state.ledger.today())?;
    let mut report = state
        .ledger
        .compliance_report(&cw.signed.principal, period)
        .await
        .or_page(lang)?;
    report.generated_at = Some(chrono::Utc::now());
    let page = render(&report, Format::Html)
        .map_err(|e| Failure(lang, ConsoleError::Internal(e.to_string())))?;
    let mut response = axum::response::Html(link_evidence(&page)).into_response();
    // Its own inline styles and its page check's script; nothing from elsewhere.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
        ),
    );
    Ok(response)
}

/// The rendering lists the decisions behind each figure as ids (`<p class="ids">`); in
/// the console each id links to its decision page.
fn link_evidence(page: &str) -> String {
    const OPEN: &str = "<p class=\"ids\">";
    let mut out = String::with_capacity(page.len() * 2);
    let mut rest = page;
    while let Some(at) = rest.find(OPEN) {
        let (before, after) = rest.split_at(at + OPEN.len());
        out.push_str(before);
        let end = after.find("</p>").unwrap_or(after.len());
        let links: Vec<String> = after[..end]
            .split_whitespace()
            .map(|id| {
                if id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    format!("<a href=\"/decisions/{id}\">{id}</a>")
                } else {
                    id.to_owned()
                }
            })
            .collect();
        out.push_str(&links.join(" "));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Default, Deserialize)]
pub struct YearQuery {
    #[serde(default)]
    year: String,
}

/// `GET /areas`: every area's class over a year.
pub async fn areas(
    State(state): State<AppState>,
    cw: Caseworker,
    Query(q): Query<YearQuery>,
) -> Page {
    let lang = cw.lang;
    let year = match nonempty(&q.year) {
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (1990..=2100).contains(y))
            .ok_or_else(|| {
                Failure(
                    lang,
                    ConsoleError::BadRequest(
                        lang.t("Året skal være et årstal.", "The year must be a year.")
                            .into(),
                    ),
                )
            })?,
        None => state.ledger.today().year(),
    };
    let (from, to) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    );
    let (Some(from), Some(to)) = (from, to) else {
        return Err(Failure(lang, ConsoleError::BadRequest(year.to_string())));
    };
    let period = Period::range(from, to)
        .map_err(|e| Failure(lang, ConsoleError::BadRequest(e.to_string())))?;
    let report = state
        .ledger
        .compliance_report(&cw.signed.principal, period)
        .await
        .or_page(lang)?;
    let title = format!("{} {year}", lang.t("Boligområder", "Areas"));
    let body = html! {
        h1 { (title) }
        form method="get" action="/areas" class="d-print-none" {
            div class="form-group" {
                label class="form-label" for="year" { (lang.t("År", "Year")) }
                input class="form-input" type="number" id="year" name="year" value=(year) min="1990" max="2100";
            }
            button type="submit" class="button button-secondary" { (lang.t("Vis", "Show")) }
        }
        @if report.areas.is_empty() {
            (layout::info(lang.t("Kommunen har ingen registrerede boligområder.", "The municipality has no registered areas.")))
        }
        @for a in &report.areas {
            section aria-labelledby={ "area-" (a.id) } {
                h2 id={ "area-" (a.id) } { (a.name.as_deref().unwrap_or(&a.id)) " " small { "(" (a.id) ")" } }
                table class="table table--compact" {
                    caption class="sr-only" { (lang.t("Kategorier over året", "Classes over the year")) }
                    thead { tr {
                        th scope="col" { (lang.t("Fra", "From")) }
                        th scope="col" { (lang.t("Til", "To")) }
                        th scope="col" { (lang.t("Kategori", "Class")) }
                        th scope="col" { (lang.t("Begrundelse", "Reason")) }
                        th scope="col" { (lang.t("Grundlag", "Basis")) }
                    } }
                    tbody {
                        @for s in &a.classes {
                            tr {
                                td { (s.from) }
                                td { (s.to) }
                                td { (s.class.as_deref().map(|c| lang.class(c)).unwrap_or_else(|| "–".into())) }
                                td {
                                    @match lang {
                                        Lang::Da => { (s.reason_da.as_deref().or(s.error.as_deref()).unwrap_or("")) }
                                        Lang::En => { (s.reason_en.as_deref().or(s.error.as_deref()).unwrap_or("")) }
                                    }
                                    @if let Some(r) = &s.rule_id { br; small { code { (r) } } }
                                }
                                td {
                                    @if let Some(d) = &s.statistics_decision {
                                        a href={ "/decisions/" (d) } { (lang.t("Statistikken", "The statistics")) }
                                        br;
                                    }
                                    @for l in &s.designation_lists {
                                        (lang.t("Liste", "List")) " " code { (l.id) } br;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(layout::page(&cw, Nav::Areas, &title, body)))
}

/// A table of figures, each with its count and the decisions behind it.
fn figures_table(lang: Lang, id: &str, rows: Markup) -> Markup {
    html! {
        table class="table" id=(id) {
            thead { tr {
                th scope="col" { (lang.t("Tal", "Figure")) }
                th scope="col" { (lang.t("Antal", "Count")) }
                th scope="col" { (lang.t("Afgørelser bag tallet", "Decisions behind it")) }
            } }
            tbody { (rows) }
        }
    }
}
