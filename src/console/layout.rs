//! The page frame in Det Fælles Designsystem's markup: skip link, header with the
//! solution's name, the caseworker and sign-out, the main menu, `main`, and the language
//! switch. Every page has `lang`, one `h1` and a visible focus (the design system's own).

use maud::{DOCTYPE, Markup, html};

use super::i18n::Lang;
use super::session::Caseworker;
use crate::service::Principal;

/// The menu entries; `Some` marks the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Queue,
    Decisions,
    Referrals,
    Grants,
    Report,
    Areas,
}

/// Small additions to the design system: print layout and wide tables (served as
/// `/assets/console.css`, so that the pages need no inline style).
pub const LOCAL_CSS: &str = "\
.console-main{padding-top:2rem;padding-bottom:4rem}\
.console-lang{margin-left:auto}\
.console-facts td,.console-facts th{vertical-align:top}\
.console-reason{margin:0 0 .5rem 0}\
.console-inline{display:inline}\
.console-main form .button{margin-top:1.5rem}\
.console-main fieldset{margin-bottom:2rem}\
@media print{.header,.navigation-menu,.footer,.d-print-none{display:none!important}}";

fn switch_href(path: &str, lang: Lang) -> String {
    let join = if path.contains('?') { '&' } else { '?' };
    format!("{path}{join}lang={}", lang.other().code())
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " – " (lang.t("Sagsbehandlerkonsol, almene boliger", "Caseworker console, social housing")) }
            link rel="stylesheet" href="/assets/dkfds/css/dkfds.min.css";
            link rel="stylesheet" href="/assets/console.css";
        }
    }
}

/// Who is signed in, as the header shows it.
fn who(lang: Lang, cw: &Caseworker) -> String {
    let role = match &cw.signed.principal {
        Principal::Municipality { municipality } => {
            format!("{} {municipality}", lang.t("Kommune", "Municipality"))
        }
        Principal::Organisation { organisation, .. } => {
            format!(
                "{} {organisation}",
                lang.t("Boligorganisation", "Housing organisation")
            )
        }
        Principal::Auditor { municipality } => format!(
            "{} {municipality}",
            lang.t(
                "Revisor (kun læse), kommune",
                "Auditor (read only), municipality"
            )
        ),
    };
    format!("{}, {role}", cw.signed.caseworker)
}

/// A page for a signed-in caseworker.
pub fn page(cw: &Caseworker, nav: Nav, title: &str, body: Markup) -> Markup {
    let lang = cw.lang;
    let organisation = matches!(cw.signed.principal, Principal::Organisation { .. });
    let entries: Vec<(Nav, &str, &str)> = [
        (Nav::Queue, "/queue", lang.t("Godkendelser", "Approvals")),
        (
            Nav::Decisions,
            "/decisions",
            lang.t("Afgørelser", "Decisions"),
        ),
        (
            Nav::Referrals,
            "/referrals",
            lang.t("Anvisninger", "Referrals"),
        ),
        (
            Nav::Grants,
            "/grants",
            lang.t("Flyttetilskud", "Relocation grants"),
        ),
        (
            Nav::Report,
            "/report",
            lang.t("Kvartalsrapport", "Quarterly report"),
        ),
        (Nav::Areas, "/areas", lang.t("Boligområder", "Areas")),
    ]
    .into_iter()
    .filter(|(n, _, _)| !organisation || matches!(n, Nav::Queue | Nav::Decisions))
    .collect();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body {
                a class="skipnav" href="#main-content" { (lang.t("Gå til sidens indhold", "Skip to content")) }
                header class="header" {
                    div class="portal-info" {
                        div class="portal-info-inner container" {
                            a href="/" class="logo" aria-label=(lang.t("Til forsiden", "To the start page")) {
                                span { (lang.t("Sagsbehandlerkonsol", "Caseworker console")) }
                            }
                            div class="portal-user" {
                                p class="user" { (who(lang, cw)) }
                                form method="post" action="/signout" class="console-inline" {
                                    input type="hidden" name="csrf" value=(cw.csrf);
                                    button type="submit" class="function-link d-print-none" { (lang.t("Log af", "Sign out")) }
                                }
                            }
                        }
                    }
                    div class="solution-info" {
                        div class="solution-info-inner container" {
                            div class="solution-heading" {
                                a href="/" { (lang.t("Udlejning af almene boliger", "Letting of social housing")) }
                            }
                            div class="additional-info" {
                                p {
                                    a class="console-lang" href=(switch_href(&cw.path, lang)) lang=(lang.other().code()) hreflang=(lang.other().code()) {
                                        (lang.t("English", "Dansk"))
                                    }
                                }
                            }
                        }
                    }
                    div class="navigation-menu" {
                        div class="navigation-menu-inner container" {
                            nav class="nav" aria-label=(lang.t("Hovedmenu", "Main menu")) {
                                ul class="mainmenu" {
                                    @for (n, href, text) in &entries {
                                        @if *n == nav {
                                            li class="active current" {
                                                a href=(href) class="nav-link" aria-current="page" { span { (text) } }
                                            }
                                        } @else {
                                            li { a href=(href) class="nav-link" { span { (text) } } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main-content" class="container console-main" tabindex="-1" {
                    (body)
                }
                (footer(lang))
            }
        }
    }
}

fn footer(lang: Lang) -> Markup {
    html! {
        footer class="footer d-print-none" {
            div class="container" {
                p { (lang.t(
                    "Afgørelser træffes efter de regler, der gjaldt på afgørelsens dato, og gemmes med deres begrundelse.",
                    "Decisions are made under the rules in force on their date and kept with their reasons.",
                )) }
            }
        }
    }
}

/// A page without the menu: sign-in and errors.
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body {
                a class="skipnav" href="#main-content" { (lang.t("Gå til sidens indhold", "Skip to content")) }
                header class="header" {
                    div class="solution-info" {
                        div class="solution-info-inner container" {
                            div class="solution-heading" {
                                a href="/" { (lang.t("Udlejning af almene boliger", "Letting of social housing")) }
                            }
                            div class="additional-info" {
                                p {
                                    a href={ "?lang=" (lang.other().code()) } lang=(lang.other().code()) hreflang=(lang.other().code()) {
                                        (lang.t("English", "Dansk"))
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main-content" class="container console-main" tabindex="-1" {
                    (body)
                }
                (footer(lang))
            }
        }
    }
}

/// A success message after an act.
pub fn success(text: &str) -> Markup {
    html! {
        div class="alert alert-success" role="status" {
            div class="alert-body" { p class="alert-text" { (text) } }
        }
    }
}

/// An informational note.
pub fn info(text: &str) -> Markup {
    html! {
        div class="alert alert-info" {
            div class="alert-body" { p class="alert-text" { (text) } }
        }
    }
}

/// The hidden fields every form carries: the CSRF token and a fresh idempotency key (a
/// form sent twice is one act).
pub fn form_tokens(cw: &Caseworker) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(cw.csrf);
        input type="hidden" name="key" value=(crate::service::new_id());
    }
}
