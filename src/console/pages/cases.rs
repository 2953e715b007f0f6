//! Municipal referrals (record one to an open vacancy assigned to referral) and relocation
//! grants (decide one, with the year's pool shown). Both are the municipality's acts; an
//! auditor sees the page without its form.

use axum::extract::{Form, State};
use chrono::Datelike;
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Failure, OrPage, Page, csrf, form_date, html, nonempty, see_other};
use crate::console::error::ConsoleError;
use crate::console::i18n::Lang;
use crate::console::layout::{self, Nav, form_tokens};
use crate::console::session::Caseworker;
use crate::console::state::AppState;
use crate::model::{BenefitSpell, Channel, Evidence, Household, Money, Person, PersonRole};
use crate::service::{DecideGrant, Principal, RecordReferral};

const BENEFITS: &[(&str, &str, &str)] = &[
    ("cash_benefit", "kontanthjælp", "cash benefit"),
    (
        "introduction_allowance",
        "introduktionsydelse",
        "introduction allowance",
    ),
    ("start_aid", "starthjælp", "start aid"),
];

fn read_only(lang: Lang) -> Markup {
    layout::info(lang.t(
        "Du kan se siden, men kun kommunen kan handle her.",
        "You can read this page, but only the municipality can act here.",
    ))
}

fn bad(lang: Lang, text: String) -> Failure {
    Failure(lang, ConsoleError::BadRequest(text))
}

/// The household a form describes: the applicant, by reference, age and any benefit.
fn household(
    lang: Lang,
    applicant_ref: &str,
    age: &str,
    benefit: &str,
    benefit_since: &str,
) -> Result<Household, Failure> {
    let applicant_ref = nonempty(applicant_ref).ok_or_else(|| {
        bad(
            lang,
            lang.t(
                "Skriv ansøgerens reference.",
                "Give the applicant's reference.",
            )
            .into(),
        )
    })?;
    let age = match nonempty(age) {
        None => None,
        Some(a) => Some(a.parse::<u32>().ok().filter(|a| *a <= 130).ok_or_else(|| {
            bad(
                lang,
                lang.t(
                    "Alder skal være et helt tal.",
                    "Age must be a whole number.",
                )
                .into(),
            )
        })?),
    };
    let mut benefits = Vec::new();
    if let Some(since) = nonempty(benefit_since) {
        let from = form_date(lang, lang.t("Modtaget siden", "Received since"), &since)?;
        let kind = BENEFITS
            .iter()
            .find(|(k, _, _)| *k == benefit)
            .map_or("cash_benefit", |(k, _, _)| k);
        benefits.push(BenefitSpell {
            kind: kind.to_owned(),
            from,
            to: None,
        });
    }
    Ok(Household {
        applicant_ref,
        lives_in_department: false,
        persons: vec![Person {
            role: PersonRole::Applicant,
            cohabiting_since: None,
            benefits,
            weekly_work_hours: None,
            student: false,
            age,
            gives_up_larger_dwelling_in_municipality: false,
            separated_on: None,
            shared_address_from: None,
            evidence: Evidence::SelfDeclared,
        }],
        referral_conditions: Vec::new(),
        resource_weak: None,
        current_area_class: None,
        waiting_list_registered_on: None,
        municipal_dispensation: false,
        moves_within_municipality: None,
    })
}

/// The date of the act, today unless the caseworker says otherwise.
fn date_field(lang: Lang, today: chrono::NaiveDate) -> Markup {
    html! {
        div class="form-group" {
            label class="form-label" for="date" { (lang.t("Dato", "Date")) }
            input class="form-input" type="date" id="date" name="date" value=(today) required;
        }
    }
}

fn applicant_fields(lang: Lang) -> Markup {
    html! {
        div class="form-group" {
            label class="form-label" for="applicant_ref" { (lang.t("Ansøgerens reference (ikke CPR-nummer)", "The applicant's reference (not a CPR number)")) }
            input class="form-input" type="text" id="applicant_ref" name="applicant_ref" required spellcheck="false";
        }
        div class="form-group" {
            label class="form-label" for="age" { (lang.t("Ansøgerens alder", "The applicant's age")) }
            input class="form-input" type="number" id="age" name="age" min="0" max="130" inputmode="numeric";
        }
        div class="form-group" {
            label class="form-label" for="benefit" { (lang.t("Offentlig forsørgelse", "Public benefit")) }
            select class="form-select" id="benefit" name="benefit" {
                @for (k, da, en) in BENEFITS { option value=(k) { (lang.t(da, en)) } }
            }
        }
        div class="form-group" {
            label class="form-label" for="benefit_since" { (lang.t("Modtaget siden (tom: modtager ingen)", "Received since (empty: receives none)")) }
            input class="form-input" type="date" id="benefit_since" name="benefit_since";
        }
    }
}

/// `GET /referrals`.
pub async fn referral_form(State(state): State<AppState>, cw: Caseworker) -> Page {
    let lang = cw.lang;
    let today = state.ledger.today();
    let vacancies = state
        .ledger
        .open_vacancies(
            &cw.signed.principal,
            today,
            false,
            Some(Channel::MunicipalReferral),
        )
        .await
        .or_page(lang)?;
    let municipality = matches!(cw.signed.principal, Principal::Municipality { .. });
    let title = lang.t("Kommunal anvisning", "Municipal referral");
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Anvis en husstand til en ledig bolig, som reglerne har givet til kommunal anvisning. Reglerne afgør, om anvisningen kan ske (anvisningsstop i udsatte områder).",
            "Refer a household to an open vacancy the rules assigned to municipal referral. The rules decide whether it may be made (the referral stop in exposed areas).",
        )) }
        @if !municipality {
            (read_only(lang))
        } @else if vacancies.is_empty() {
            (layout::info(lang.t("Ingen ledige boliger afventer kommunal anvisning.", "No open vacancy awaits municipal referral.")))
        } @else {
            form method="post" action="/referrals" {
                (form_tokens(&cw))
                div class="form-group" {
                    label class="form-label" for="vacancy_id" { (lang.t("Ledig bolig", "Open vacancy")) }
                    select class="form-select" id="vacancy_id" name="vacancy_id" required {
                        @for v in &vacancies {
                            option value=(v.vacancy_id) {
                                (v.state.vacancy_ref) ", " (v.state.department_name.as_deref().unwrap_or(&v.state.department))
                                " (" (v.state.area) ", " (lang.class(&v.class)) ")"
                            }
                        }
                    }
                }
                (applicant_fields(lang))
                (date_field(lang, today))
                button type="submit" class="button button-primary" { (lang.t("Anvis husstanden", "Refer the household")) }
            }
        }
    };
    Ok(html(layout::page(&cw, Nav::Referrals, title, body)))
}

#[derive(Debug, Deserialize)]
pub struct ReferralForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    vacancy_id: String,
    #[serde(default)]
    applicant_ref: String,
    #[serde(default)]
    age: String,
    #[serde(default)]
    benefit: String,
    #[serde(default)]
    benefit_since: String,
    #[serde(default)]
    date: String,
}

/// `POST /referrals`.
pub async fn referral_submit(
    State(state): State<AppState>,
    cw: Caseworker,
    Form(f): Form<ReferralForm>,
) -> Page {
    csrf(&cw, &f.csrf)?;
    let lang = cw.lang;
    let command = RecordReferral {
        vacancy_id: f.vacancy_id.trim().to_owned(),
        household: household(lang, &f.applicant_ref, &f.age, &f.benefit, &f.benefit_since)?,
        date: form_date(lang, lang.t("Dato", "Date"), &f.date)?,
        caseworker: Some(cw.signed.caseworker.clone()),
    };
    let done = state
        .ledger
        .record_referral(&cw.signed.principal, &f.key, command)
        .await
        .or_page(lang)?;
    Ok(see_other(&format!("/decisions/{}", done.decision_id)))
}

/// An amount in DKK as written in a form ("15000", "15000,50" or "15000.50").
fn dkk(lang: Lang, text: &str) -> Result<Option<Money>, Failure> {
    let Some(t) = nonempty(text) else {
        return Ok(None);
    };
    let value: Decimal = t
        .replace(['.', ' '], "")
        .replace(',', ".")
        .parse()
        .ok()
        .filter(|d: &Decimal| d.scale() <= 2 && !d.is_sign_negative())
        .ok_or_else(|| {
            bad(
                lang,
                lang.t(
                    "Beløbet skal være kroner, fx 15000 eller 15000,50.",
                    "The amount must be kroner, such as 15000 or 15000.50.",
                )
                .into(),
            )
        })?;
    let ore = (value * Decimal::from(100))
        .trunc()
        .to_string()
        .parse::<i64>()
        .map_err(|_| {
            bad(
                lang,
                lang.t("Beløbet er for stort.", "The amount is too large.")
                    .into(),
            )
        })?;
    Ok(Some(Money::from_ore(ore)))
}

/// `GET /grants`.
pub async fn grant_form(State(state): State<AppState>, cw: Caseworker) -> Page {
    let lang = cw.lang;
    let today = state.ledger.today();
    let pool = state
        .ledger
        .grant_pool(&cw.signed.principal, today.year())
        .await;
    let municipality = matches!(cw.signed.principal, Principal::Municipality { .. });
    // The purposes the rules in force name (their vocabulary), for the choice.
    let purposes: Vec<(String, String)> = state
        .ledger
        .rules()
        .in_force(cw.signed.principal.municipality(), today)
        .map(|set| {
            set.vocabulary
                .grant_purposes
                .iter()
                .map(|t| (t.id.to_string(), lang.pick(&t.da, &t.en).to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let title = lang.t("Flyttetilskud", "Relocation grants");
    let body = html! {
        h1 { (title) }
        h2 { (lang.t("Årets pulje", "The year's pool")) " " (today.year()) }
        @match &pool {
            Ok(p) => {
                table class="table table--compact" id="pool" {
                    tbody {
                        tr { th scope="row" { (lang.t("Pulje", "Pool")) } td { "DKK " (p.pool) } }
                        tr { th scope="row" { (lang.t("Bevilget, ikke udbetalt", "Granted, not paid")) } td { "DKK " (p.committed) } }
                        tr { th scope="row" { (lang.t("Udbetalt", "Paid")) } td { "DKK " (p.paid) } }
                        tr { th scope="row" { (lang.t("Tilbage", "Remaining")) } td id="pool-remaining" { "DKK " (p.remaining) } }
                    }
                }
                p { (lang.t("Regelsæt", "Rule set")) " " code { (p.rule_set_id) } }
            }
            Err(e) => { (layout::info(&e.to_string())) }
        }
        @if !municipality {
            (read_only(lang))
        } @else {
            h2 { (lang.t("Afgør en ansøgning", "Decide an application")) }
            form method="post" action="/grants" {
                (form_tokens(&cw))
                (applicant_fields(lang))
                div class="form-group" {
                    label class="form-label" for="purpose" { (lang.t("Formål", "Purpose")) }
                    @if purposes.is_empty() {
                        input class="form-input" type="text" id="purpose" name="purpose" required;
                    } @else {
                        select class="form-select" id="purpose" name="purpose" required {
                            @for (id, label) in &purposes { option value=(id) { (label) } }
                        }
                    }
                }
                div class="form-group" {
                    label class="form-label" for="amount" { (lang.t("Beløb i kroner (tom: regelsættets standardbeløb)", "Amount in kroner (empty: the rule set's standard amount)")) }
                    input class="form-input" type="text" id="amount" name="amount" inputmode="decimal";
                }
                div class="form-group" {
                    label class="form-label" for="current_area_class" { (lang.t("Kategori af området, husstanden flytter fra", "Class of the area the household moves from")) }
                    select class="form-select" id="current_area_class" name="current_area_class" {
                        option value="" { (lang.t("Ikke oplyst", "Not given")) }
                        @for c in ["exposed", "high_risk", "risk", "neutral"] { option value=(c) { (lang.class(c)) } }
                    }
                }
                div class="form-group-checkbox" {
                    input class="form-checkbox" type="checkbox" id="resource_weak" name="resource_weak" value="true";
                    label class="form-label" for="resource_weak" { (lang.t("Kommunen vurderer husstanden som ressourcesvag", "The municipality assesses the household as resource-weak")) }
                }
                (date_field(lang, today))
                button type="submit" class="button button-primary" { (lang.t("Afgør ansøgningen", "Decide the application")) }
            }
        }
    };
    Ok(html(layout::page(&cw, Nav::Grants, title, body)))
}

#[derive(Debug, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    applicant_ref: String,
    #[serde(default)]
    age: String,
    #[serde(default)]
    benefit: String,
    #[serde(default)]
    benefit_since: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    current_area_class: String,
    #[serde(default)]
    resource_weak: Option<String>,
    #[serde(default)]
    date: String,
}

/// `POST /grants`.
pub async fn grant_submit(
    State(state): State<AppState>,
    cw: Caseworker,
    Form(f): Form<GrantForm>,
) -> Page {
    csrf(&cw, &f.csrf)?;
    let lang = cw.lang;
    let mut household = household(lang, &f.applicant_ref, &f.age, &f.benefit, &f.benefit_since)?;
    household.resource_weak = Some(f.resource_weak.is_some());
    household.current_area_class = nonempty(&f.current_area_class);
    let command = DecideGrant {
        household,
        purpose: f.purpose.trim().to_owned(),
        amount: dkk(lang, &f.amount)?,
        date: form_date(lang, lang.t("Dato", "Date"), &f.date)?,
        caseworker: Some(cw.signed.caseworker.clone()),
    };
    let done = state
        .ledger
        .decide_grant(&cw.signed.principal, &f.key, command)
        .await
        .or_page(lang)?;
    Ok(see_other(&format!("/decisions/{}", done.decision_id)))
}
