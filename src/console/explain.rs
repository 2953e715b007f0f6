//! A decision's explanation as HTML: the rules that fired (with their legal source and
//! the comparisons they made: fact, threshold, the case's value), the facts, the layers
//! with their versions, the reference data, the caseworker's considerations and the
//! complaint guidance.

use maud::{Markup, html};

use super::i18n::Lang;
use crate::engine::explain::SourceText;
use crate::engine::{Explanation, FiredRule};

fn source(s: &SourceText) -> String {
    match &s.section {
        Some(section) => format!("{} {section} – {}", s.document, s.title),
        None => format!("{} – {}", s.document, s.title),
    }
}

fn rule(lang: Lang, f: &FiredRule) -> Markup {
    html! {
        li {
            p class="console-reason" { strong { (lang.pick(&f.message_da, &f.message_en)) } }
            p class="console-reason" {
                (lang.t("Regel", "Rule")) " " code { (f.rule_id) }
                @if !f.layer.is_empty() { " (" (lang.t("lag", "layer")) " " code { (f.layer) } ")" }
                ". " (lang.t("Kilde", "Source")) ": " (source(&f.source))
            }
            @if !f.comparisons.is_empty() {
                table class="table table--compact console-facts" {
                    caption class="sr-only" { (lang.t("Sammenligninger", "Comparisons")) }
                    thead { tr {
                        th scope="col" { (lang.t("Faktum", "Fact")) }
                        th scope="col" { (lang.t("Betingelse", "Condition")) }
                        th scope="col" { (lang.t("Sagens værdi", "The case's value")) }
                        th scope="col" { (lang.t("Opfyldt", "Holds")) }
                    } }
                    tbody {
                        @for c in &f.comparisons {
                            tr {
                                td { code { (c.fact) } }
                                td { (c.op) " " (c.threshold) }
                                td { (c.actual) }
                                td { (if c.holds { lang.t("ja", "yes") } else { lang.t("nej", "no") }) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The explanation under headings of level `level` (2 to 4).
pub fn explanation(lang: Lang, e: &Explanation, level: u8) -> Markup {
    let heading = |text: &str| -> Markup {
        match level {
            0..=2 => html! { h2 { (text) } },
            3 => html! { h3 { (text) } },
            _ => html! { h4 { (text) } },
        }
    };
    html! {
        (heading(lang.t("Begrundelse", "Reasons")))
        @if e.fired.is_empty() {
            p { (lang.t("Ingen regel gav udslag.", "No rule fired.")) }
        } @else {
            ul { @for f in &e.fired { (rule(lang, f)) } }
        }
        @if let Some(c) = &e.considerations {
            (heading(lang.t("Kommunens hovedhensyn", "The municipality's main considerations")))
            p { (c) }
        }
        @if !e.considered.is_empty() {
            (heading(lang.t("Regler, der blev vejet og ikke fandt anvendelse", "Rules weighed that did not apply")))
            ul { @for f in &e.considered { (rule(lang, f)) } }
        }
        (heading(lang.t("Oplysninger, afgørelsen bygger på", "Facts the decision used")))
        table class="table table--compact console-facts" {
            thead { tr {
                th scope="col" { (lang.t("Faktum", "Fact")) }
                th scope="col" { (lang.t("Værdi", "Value")) }
            } }
            tbody {
                @for (k, v) in &e.facts {
                    tr { td { code { (k) } } td { (v) } }
                }
            }
        }
        (heading(lang.t("Regelgrundlag og versioner", "Rules and versions")))
        p {
            (lang.t("Regelsæt", "Rule set")) " " code { (e.rule_set_id) } ", "
            (lang.t("version", "version")) " " code { (short(&e.rule_set_hash)) } ", "
            (lang.t("afgjort", "decided on")) " " (e.decided_on)
        }
        @if !e.layers.is_empty() {
            table class="table table--compact" {
                thead { tr {
                    th scope="col" { (lang.t("Lag", "Layer")) }
                    th scope="col" { (lang.t("Titel", "Title")) }
                    th scope="col" { (lang.t("Gælder", "In force")) }
                    th scope="col" { (lang.t("Version", "Version")) }
                } }
                tbody {
                    @for l in &e.layers {
                        tr {
                            td { code { (l.id) } }
                            td { (l.title) }
                            td { (l.effective_from) " – " @if let Some(to) = l.effective_to { (to) } }
                            td { code { (short(&l.content_hash)) } }
                        }
                    }
                }
            }
        }
        @if !e.reference_data.is_empty() {
            (heading(lang.t("Referencedata", "Reference data")))
            ul {
                @for r in &e.reference_data {
                    li { code { (r.id) } " (" (lang.t("version", "version")) " " code { (short(&r.content_hash)) } ", " (format!("{:?}", r.completeness).to_lowercase()) ")" }
                }
            }
        }
        @if let Some(c) = &e.complaint {
            (heading(lang.t("Klagevejledning", "How to complain")))
            p { (lang.pick(&c.body_da, &c.body_en)) }
            p { strong { (lang.t("Sådan klager du: ", "How: ")) } (lang.pick(&c.how_da, &c.how_en)) }
            p { strong { (lang.t("Frist: ", "Deadline: ")) } (lang.pick(&c.deadline_da, &c.deadline_en)) }
            p { (lang.t("Kilde", "Source")) ": " (source(&c.source)) }
        }
    }
}

/// The first 12 hex digits of a version hash.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
