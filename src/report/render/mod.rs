//! Writing a [`Report`] for people and spreadsheets: plain text, CSV (one figure a row,
//! documented in `docs/report-format.md`) and a self-contained HTML page with SVG charts.
//! The JSON is the report itself, serialised.

mod csv;
pub(crate) use csv::text_cell;
pub use csv::{Figure, figures};
pub(crate) use html::esc;
mod html;
mod text;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::ReportError;
use super::model::{Assessment, CheckKind, CheckStatus, Count, Report};

/// The ways a report can be written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    #[default]
    Text,
    Json,
    Csv,
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Text, Format::Json, Format::Csv, Format::Html];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }

    /// The media type of the written report.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; charset=utf-8",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

impl FromStr for Format {
    type Err = ReportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or_else(|| {
                ReportError::Render(format!(
                    "`{text}` is not a report format: use text, json, csv or html"
                ))
            })
    }
}

/// Writes `report` in `format`.
pub fn render(report: &Report, format: Format) -> Result<String, ReportError> {
    match format {
        Format::Text => Ok(text::render(report)),
        Format::Json => serde_json::to_string_pretty(report)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| ReportError::Render(e.to_string())),
        Format::Csv => csv::render(report),
        Format::Html => Ok(html::render(report)),
    }
}

/// A share as a percentage to two places at most: "44.44 %", "11.11 %", "50 %".
pub fn percent(share: Decimal) -> String {
    format!(
        "{} %",
        (share * Decimal::ONE_HUNDRED).round_dp(2).normalize()
    )
}

/// A target as written and as a percentage: "1/9 (11.11 %)", "0.44 (44 %)".
pub(crate) fn target_words(target: &str, share: Decimal) -> String {
    if target.contains('/') {
        format!("{target} ({})", percent(share))
    } else {
        percent(share)
    }
}

/// An amount in øre as "DKK 15,000.00".
pub fn dkk(ore: i64) -> String {
    crate::engine::explain::money_words(crate::model::Money::from_ore(ore)).1
}

/// A whole number with thousands separators: "4,627".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn status_word(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Fail => "FAIL",
        CheckStatus::NoLettings => "no lettings",
        CheckStatus::NoTarget => "no target",
    }
}

pub(crate) fn assessment_word(a: Assessment) -> &'static str {
    match a {
        Assessment::Met => "met",
        Assessment::Improving => "improving",
        Assessment::NotMet => "not met",
        Assessment::NoData => "no data",
    }
}

pub(crate) fn check_kind_words(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::AgreedShare => "agreed share",
        CheckKind::ClassFloor => "class floor",
        CheckKind::MunicipalShare => "municipal share",
    }
}

/// A class id in words: "high_risk" → "high-risk".
pub(crate) fn class_words(class: Option<&str>) -> String {
    match class {
        Some(c) => c.replace('_', "-"),
        None => "unclassified".to_owned(),
    }
}

/// An indicator's value in its unit.
pub(crate) fn indicator_value(unit: &str, value: Option<Decimal>) -> String {
    match value {
        None => "no data".to_owned(),
        Some(v) => match unit {
            "share" => percent(v),
            "weeks" => format!("{} weeks", v.normalize()),
            "dwellings" => v.to_u64().map_or_else(|| v.to_string(), thousands),
            _ => v.normalize().to_string(),
        },
    }
}

/// The time a report was made, in Copenhagen time.
pub(crate) fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Copenhagen)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Every count of the report with a label, for the evidence appendices.
pub(crate) fn evidence(report: &Report) -> Vec<(String, &Count)> {
    let mut out: Vec<(String, &Count)> = Vec::new();
    for d in &report.departments {
        let scope = format!("department {}", d.id);
        out.push((format!("{scope}: vacancies"), &d.vacancies));
        for n in &d.vacancies_by_channel {
            out.push((format!("{scope}: vacancies to {}", n.key), &n.count));
        }
        out.push((format!("{scope}: lettings"), &d.lettings));
        for n in &d.lettings_by_channel {
            out.push((format!("{scope}: lettings by {}", n.key), &n.count));
        }
        out.push((format!("{scope}: flexible lettings"), &d.flexible));
    }
    for a in &report.areas {
        let scope = format!("area {}", a.id);
        out.push((format!("{scope}: vacancies"), &a.vacancies));
        out.push((format!("{scope}: lettings"), &a.lettings));
        out.push((format!("{scope}: flexible lettings"), &a.flexible));
    }
    let m = &report.municipality_flexible;
    out.push(("municipality: vacancies".into(), &m.vacancies));
    out.push(("municipality: lettings".into(), &m.lettings));
    out.push(("municipality: flexible lettings".into(), &m.flexible));
    let c = &report.combined_letting;
    for (label, count) in [
        ("proposals", &c.proposals),
        ("sent for approval", &c.sent_for_approval),
        ("rejected by the rules", &c.rejected_by_rules),
        ("approvals", &c.approvals),
        ("municipal rejections", &c.municipal_rejections),
        ("pending at the period's end", &c.pending_at_end),
    ] {
        out.push((format!("combined letting: {label}"), count));
    }
    for r in &c.rejections_by_reason {
        out.push((
            format!("combined letting: rejected by {}", r.reason),
            &r.count,
        ));
    }
    let o = &report.replacement_offers;
    for (label, count) in [
        ("owed", &o.owed),
        ("made", &o.made),
        ("accepted", &o.accepted),
        ("declined", &o.declined),
    ] {
        out.push((format!("replacement offers: {label}"), count));
    }
    let r = &report.referrals;
    for (label, count) in [
        ("all", &r.total),
        ("accepted", &r.accepted),
        ("refused", &r.refused),
        ("compensating", &r.compensating),
    ] {
        out.push((format!("municipal referrals: {label}"), count));
    }
    for i in &report.indicators {
        if let Some(c) = &i.in_period {
            out.push((format!("indicator {}: in the period", i.number), c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(percent("0.4444".parse().unwrap()), "44.44 %");
        assert_eq!(percent("0.5".parse().unwrap()), "50 %");
        assert_eq!(thousands(4627), "4,627");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(12), "12");
        assert_eq!(dkk(1_500_000), "DKK 15,000.00");
        assert_eq!(
            target_words("1/9", "0.1111".parse().unwrap()),
            "1/9 (11.11 %)"
        );
        assert_eq!(indicator_value("dwellings", Some(4627.into())), "4,627");
    }
}
