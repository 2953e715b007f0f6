//! Small pieces of the page: escaping, colours, pills, linked counts, amounts and dates.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::report::model::{Assessment, CheckStatus, Count, Detail, Report};
use crate::report::render::{assessment_word, dkk, evidence, thousands};

pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

pub(super) fn class_colour(class: Option<&str>) -> &'static str {
    match class {
        Some("hard_exposed") => "#7f1d1d",
        Some("exposed") => "#b3261e",
        Some("high_risk") => "#e8710a",
        Some("risk") => "#e3b505",
        Some("neutral" | "not_exposed") => "#4c9a2a",
        _ => "#9aa0a6",
    }
}

pub(super) fn pill(status: CheckStatus) -> String {
    let (class, word) = match status {
        CheckStatus::Pass => ("pass", "pass"),
        CheckStatus::Fail => ("fail", "fail"),
        CheckStatus::NoLettings => ("none", "nothing let"),
        CheckStatus::NoTarget => ("none", "no target"),
    };
    format!("<span class=\"pill {class}\">{word}</span>")
}

pub(super) fn assessment_pill(a: Assessment) -> String {
    let class = match a {
        Assessment::Met => "pass",
        Assessment::NotMet => "fail",
        Assessment::Improving | Assessment::NoData => "none",
    };
    format!("<span class=\"pill {class}\">{}</span>", assessment_word(a))
}

/// Links counts to their evidence at full detail.
pub(super) struct Links {
    full: bool,
    anchors: HashMap<usize, usize>,
}

impl Links {
    pub(super) fn new(report: &Report) -> Links {
        let anchors = evidence(report)
            .iter()
            .enumerate()
            .map(|(i, (_, c))| (std::ptr::from_ref::<Count>(c) as usize, i))
            .collect();
        Links {
            full: report.detail == Detail::Full,
            anchors,
        }
    }

    /// A count, linked to the decisions behind it.
    pub(super) fn count(&self, c: &Count) -> String {
        let n = thousands(c.count);
        match self.anchors.get(&(std::ptr::from_ref::<Count>(c) as usize)) {
            Some(i) if self.full && c.count > 0 => format!(
                "<a class=\"ev\" href=\"#ev-{i}\" title=\"the {} decision(s) behind this figure\">{n}</a>",
                c.count
            ),
            _ => n,
        }
    }
}

/// Whole kroner when there are no øre: "DKK 715,000".
pub(super) fn dkk_whole(ore: i64) -> String {
    if ore % 100 == 0 {
        dkk(ore).trim_end_matches(".00").to_owned()
    } else {
        dkk(ore)
    }
}

pub(super) fn short_date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}
