//! The report as one self-contained HTML page: inline CSS, inline SVG charts (the flexible
//! share of every department against its targets, each area's class over the period,
//! each indicator across quarters), no external assets, readable on a phone and printable.
//! At full detail every count links to the ids of the decisions behind it.
//!
//! A short inline script checks, once the page has loaded, that every chart has drawn,
//! and records the result on the root element (`data-render-check="ok"`), for the
//! headless-browser test; the page needs no script to be read.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{
    assessment_word, check_kind_words, class_words, dkk, evidence, indicator_value, local_time,
    percent, target_words, thousands,
};
use crate::report::model::{
    Assessment, Check, CheckKind, CheckStatus, Count, DepartmentReport, Detail, Indicator, Report,
};

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

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

const CSS: &str = r#"
:root{--ink:#1d2433;--muted:#5b6475;--line:#d9dde5;--bg:#f5f6f8;--card:#fff;--pass:#17663a;--pass-bg:#e3f3e9;--fail:#b3261e;--fail-bg:#fbe4e2;--none:#4b5563;--none-bg:#eceef2;--accent:#1f4e99}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
.wrap{max-width:980px;margin:0 auto;padding:0 16px}
header.masthead{background:#14294d;color:#fff;padding:28px 0 22px}
header .eyebrow{margin:0;font-size:13px;letter-spacing:.06em;text-transform:uppercase;opacity:.8}
header h1{margin:4px 0 6px;font-size:30px;line-height:1.15}
header h1 small{display:block;font-size:16px;font-weight:400;opacity:.85}
header .meta{margin:0;font-size:13px;opacity:.85}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;padding:10px 0;font-size:14px}
nav.toc a{color:var(--accent);text-decoration:none}
section.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 18px 14px;margin:16px 0}
h2{margin:0 0 10px;font-size:20px}
h3{margin:18px 0 6px;font-size:16px}
p.lead{margin:0 0 12px;color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:16px 0}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.kpi .v{font-size:24px;font-weight:650;line-height:1.2}
.kpi .l{font-size:13px;color:var(--muted)}
.kpi.fail{border-color:var(--fail);background:var(--fail-bg)}
.kpi.pass{border-color:var(--pass);background:var(--pass-bg)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:14em}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;white-space:normal;vertical-align:bottom}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:hover{background:#fafbfc}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600}
.pill.pass{color:var(--pass);background:var(--pass-bg)}
.pill.fail{color:var(--fail);background:var(--fail-bg)}
.pill.none{color:var(--none);background:var(--none-bg)}
.mark{font-weight:700;padding:0 2px}.mark.ok{color:var(--pass)}.mark.bad{color:var(--fail)}.mark.na{color:var(--none)}
.cls{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
a.ev{color:inherit;text-decoration:underline dotted;text-underline-offset:2px}
svg.chart{display:block;width:100%;margin:6px 0 4px;overflow:visible}
.ind svg.chart{height:auto}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:var(--muted);margin:4px 0 8px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;border-radius:2px}
.ind{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
.ind article{border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.ind h3{margin:0 0 2px;font-size:15px}
.ind .da{margin:0 0 8px;font-size:12px;color:var(--muted);font-style:italic}
.ind .big{font-size:24px;font-weight:650}
.ind dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:8px 0 0;font-size:13px}
.ind dt{color:var(--muted)}
.ind dd{margin:0}
ul.plain{margin:6px 0;padding-left:18px}
.violation{border-left:4px solid var(--fail);padding:6px 10px;margin:8px 0;background:var(--fail-bg);border-radius:0 6px 6px 0}
.violation p{margin:0}
.ids{font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted);word-break:break-all;margin:2px 0 0}
details summary{cursor:pointer;color:var(--accent);font-size:13px}
.evidence .item{padding:6px 0;border-bottom:1px solid var(--line)}
.evidence .item:target{background:#fff7d6}
.evidence h4{margin:0;font-size:13px;font-weight:600}
.note{font-size:13px;color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding:10px 0 30px}
@media (max-width:600px){body{font-size:14px}header h1{font-size:24px}section.card{padding:14px 12px;border-radius:8px}th,td{padding:5px 6px}}
@media print{body{background:#fff;font-size:11pt}header.masthead{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 8px}nav.toc{display:none}section.card,.kpi,.ind article{border-color:#999;break-inside:avoid}section.card{border:none;padding:0;margin:14px 0}a.ev{text-decoration:none}.evidence{font-size:9pt}tbody tr:hover{background:none}@page{margin:15mm}}
"#;

const SCRIPT: &str = r#"(function(){var r=document.documentElement;function fail(m){r.setAttribute('data-render-check','error: '+m)}window.addEventListener('error',function(e){fail(e.message||'script error')});try{var charts=document.querySelectorAll('svg.chart');var empty=[];for(var i=0;i<charts.length;i++){var b=charts[i].getBBox();if(!(b.width>0&&b.height>0)){empty.push(charts[i].id||String(i))}}r.setAttribute('data-charts',String(charts.length));if(empty.length){fail('empty charts: '+empty.join(' '))}else{r.setAttribute('data-render-check','ok')}}catch(e){fail(e.message)}})();"#;

fn class_colour(class: Option<&str>) -> &'static str {
    match class {
        Some("hard_exposed") => "#7f1d1d",
        Some("exposed") => "#b3261e",
        Some("high_risk") => "#e8710a",
        Some("risk") => "#e3b505",
        Some("neutral" | "not_exposed") => "#4c9a2a",
        _ => "#9aa0a6",
    }
}

fn pill(status: CheckStatus) -> String {
    let (class, word) = match status {
        CheckStatus::Pass => ("pass", "pass"),
        CheckStatus::Fail => ("fail", "fail"),
        CheckStatus::NoLettings => ("none", "nothing let"),
        CheckStatus::NoTarget => ("none", "no target"),
    };
    format!("<span class=\"pill {class}\">{word}</span>")
}

fn assessment_pill(a: Assessment) -> String {
    let class = match a {
        Assessment::Met => "pass",
        Assessment::NotMet => "fail",
        Assessment::Improving | Assessment::NoData => "none",
    };
    format!("<span class=\"pill {class}\">{}</span>", assessment_word(a))
}

/// Links counts to their evidence at full detail.
struct Links {
    full: bool,
    anchors: HashMap<usize, usize>,
}

impl Links {
    fn new(report: &Report) -> Links {
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
    fn count(&self, c: &Count) -> String {
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
fn dkk_whole(ore: i64) -> String {
    if ore % 100 == 0 {
        dkk(ore).trim_end_matches(".00").to_owned()
    } else {
        dkk(ore)
    }
}

fn short_date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

// ----- charts ------------------------------------------------------------------------------

/// Flexible share of each department against its targets: a bar per department, with a
/// tick for each target. Drawn in percentages of the page's width, so that the text keeps
/// its size on a phone and on a wide screen.
fn flexible_chart(departments: &[&DepartmentReport]) -> String {
    let row = 40.0_f64;
    let top = 22.0;
    let height = top + row * departments.len() as f64 + 4.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" id=\"chart-flexible\" width=\"100%\" height=\"{height}\" role=\"img\" aria-labelledby=\"chart-flexible-title\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-flexible-title\">Flexible share of lettings per department against its targets</title>"
    );
    for pct in [0, 25, 50, 75, 100] {
        let anchor = match pct {
            0 => "start",
            100 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<line x1=\"{pct}%\" y1=\"{y1}\" x2=\"{pct}%\" y2=\"{height}\" stroke=\"#e6e8ee\" stroke-width=\"1\"/><text x=\"{pct}%\" y=\"12\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"{anchor}\">{pct} %</text>",
            y1 = top - 4.0
        );
    }
    for (i, d) in departments.iter().enumerate() {
        let y = top + row * i as f64;
        let share = d.flexible_share.map_or(0.0, f);
        let colour = match d.status {
            CheckStatus::Pass => "#2e8b57",
            CheckStatus::Fail => "#c0392b",
            _ => "#9aa0a6",
        };
        let label = format!("{} · {}", d.id, class_words(d.class_at_end.as_deref()));
        let value = match d.flexible_share {
            Some(s) => format!("{}/{} · {}", d.flexible.count, d.lettings.count, percent(s)),
            None => "nothing let".to_owned(),
        };
        let _ = write!(
            svg,
            "<g><title>{}: {}</title><text x=\"0\" y=\"{ty:.1}\" font-size=\"13\" fill=\"#1d2433\">{}</text><text x=\"100%\" y=\"{ty:.1}\" font-size=\"13\" fill=\"#1d2433\" text-anchor=\"end\" font-weight=\"600\">{}</text><rect x=\"0\" y=\"{by:.1}\" width=\"100%\" height=\"12\" rx=\"3\" fill=\"#eef0f4\"/>",
            esc(&d.id),
            esc(&value),
            esc(&label),
            esc(&value),
            ty = y + 13.0,
            by = y + 19.0,
        );
        if d.flexible.count > 0 {
            let _ = write!(
                svg,
                "<rect x=\"0\" y=\"{:.1}\" width=\"{:.2}%\" height=\"12\" rx=\"3\" fill=\"{colour}\"/>",
                y + 19.0,
                (share * 100.0).clamp(0.5, 100.0)
            );
        }
        for c in &d.checks {
            let x = (f(c.target_share) * 100.0).clamp(0.0, 100.0);
            let stroke = match c.kind {
                CheckKind::ClassFloor => "#7f1d1d",
                _ => "#14294d",
            };
            let _ = write!(
                svg,
                "<line x1=\"{x:.2}%\" y1=\"{y1:.1}\" x2=\"{x:.2}%\" y2=\"{y2:.1}\" stroke=\"{stroke}\" stroke-width=\"3\"{dash}><title>{}: {}</title></line>",
                check_kind_words(c.kind),
                esc(&target_words(&c.target, c.target_share)),
                y1 = y + 16.0,
                y2 = y + 34.0,
                dash = if c.kind == CheckKind::ClassFloor {
                    " stroke-dasharray=\"3 2\""
                } else {
                    ""
                },
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// Each area's class across the period, as a strip of coloured spans under its name.
fn class_chart(report: &Report) -> String {
    let (from, to) = (report.period.from, report.period.to);
    let days = (to - from).num_days() as f64 + 1.0;
    let row = 34.0_f64;
    let top = 18.0;
    let height = top + row * report.areas.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" id=\"chart-classes\" width=\"100%\" height=\"{height}\" role=\"img\" aria-labelledby=\"chart-classes-title\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-classes-title\">The class of each area from {from} to {to}</title><text x=\"0\" y=\"11\" font-size=\"11\" fill=\"#5b6475\">{}</text><text x=\"100%\" y=\"11\" font-size=\"11\" fill=\"#5b6475\" text-anchor=\"end\">{}</text>",
        short_date(from),
        short_date(to),
    );
    for (i, a) in report.areas.iter().enumerate() {
        let y = top + row * i as f64;
        let classes: Vec<String> = a
            .classes
            .iter()
            .map(|s| class_words(s.class.as_deref()))
            .collect();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2433\">{} <tspan fill=\"#5b6475\">· {}</tspan></text>",
            y + 12.0,
            esc(&a.id),
            esc(&classes.join(" → "))
        );
        for s in &a.classes {
            let x = 100.0 * ((s.from - from).num_days() as f64) / days;
            let w = 100.0 * (((s.to - s.from).num_days() + 1) as f64) / days;
            let _ = write!(
                svg,
                "<rect x=\"{x:.2}%\" y=\"{:.1}\" width=\"{:.2}%\" height=\"10\" fill=\"{}\"><title>{}: {} from {} to {}</title></rect>",
                y + 17.0,
                w.max(0.3),
                class_colour(s.class.as_deref()),
                esc(&a.id),
                class_words(s.class.as_deref()),
                s.from,
                s.to
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A round step for an axis from 0 to about `max` in `ticks` steps: 1, 2, 2.5 or 5 × 10ⁿ.
fn nice_step(max: f64, ticks: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / ticks;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// An indicator across quarters, with its baseline and target.
fn indicator_chart(i: &Indicator) -> String {
    let (width, height) = (320.0_f64, 170.0_f64);
    let (left, right, top, bottom) = (46.0, 12.0, 14.0, 28.0);
    let mut values: Vec<f64> = i.history.iter().filter_map(|h| h.value.map(f)).collect();
    values.extend(i.baseline.map(f));
    values.extend(i.target.map(f));
    let highest = values.iter().copied().fold(0.0_f64, f64::max);
    let step = nice_step(highest * 1.05, 4.0);
    let ticks = (highest * 1.05 / step).ceil().max(1.0);
    let max = step * ticks;
    let x_of = |k: usize| {
        let n = i.history.len().max(2) - 1;
        left + (width - left - right) * k as f64 / n as f64
    };
    let y_of = |v: f64| top + (height - top - bottom) * (1.0 - v / max);
    let fmt = |v: f64| match i.unit.as_str() {
        "share" => format!("{} %", (v * 100.0 * 10.0).round() / 10.0),
        _ => {
            if v >= 1000.0 {
                thousands(v.round() as u64)
            } else if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        }
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" id=\"chart-indicator-{n}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"chart-indicator-{n}-title\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-indicator-{n}-title\">Indicator {n} at the end of each quarter</title>",
        n = i.number
    );
    let mut k = 0.0;
    while k <= ticks {
        let v = step * k;
        let y = y_of(v);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{x2}\" y2=\"{y:.1}\" stroke=\"#eceef2\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"#5b6475\" text-anchor=\"end\">{}</text>",
            fmt(v),
            x2 = width - right,
            tx = left - 5.0,
            ty = y + 3.5
        );
        k += 1.0;
    }
    let mut guide = |value: Option<Decimal>, colour: &str, label: &str| {
        if let Some(v) = value {
            let y = y_of(f(v));
            let _ = write!(
                svg,
                "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{x2}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/><text x=\"{x2}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"{colour}\" text-anchor=\"end\">{label} {}</text>",
                fmt(f(v)),
                x2 = width - right,
                ty = y - 4.0
            );
        }
    };
    guide(i.baseline, "#6b7280", "baseline");
    guide(i.target, "#1e7d46", "target");
    let points: Vec<(f64, f64)> = i
        .history
        .iter()
        .enumerate()
        .filter_map(|(k, h)| h.value.map(|v| (x_of(k), y_of(f(v)))))
        .collect();
    if points.len() > 1 {
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f4e99\" stroke-width=\"2.4\" stroke-linejoin=\"round\"/>",
            path.join(" ")
        );
    }
    let every = i.history.len().div_ceil(5).max(1);
    for (k, h) in i.history.iter().enumerate() {
        let x = x_of(k);
        let last = k + 1 == i.history.len();
        if k % every == 0 || last {
            let label = if h.label.len() <= 7 {
                h.label.clone()
            } else {
                h.date.format("%Y-%m-%d").to_string()
            };
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{ty}\" font-size=\"10\" fill=\"#5b6475\" text-anchor=\"{anchor}\"{weight}>{}</text>",
                esc(&label),
                ty = height - 9.0,
                anchor = if last && i.history.len() > 1 {
                    "end"
                } else if k == 0 && i.history.len() > 1 {
                    "start"
                } else {
                    "middle"
                },
                weight = if last { " font-weight=\"700\"" } else { "" }
            );
        }
        if let Some(v) = h.value {
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"#1f4e99\"><title>{}: {}</title></circle>",
                y_of(f(v)),
                if last { 4.5 } else { 3.2 },
                esc(&h.label),
                esc(&indicator_value(&i.unit, Some(v)))
            );
        }
    }
    if points.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#6b7280\" text-anchor=\"middle\">no data</text>",
            (width + left) / 2.0,
            height / 2.0
        );
    }
    svg.push_str("</svg>");
    svg
}

// ----- the page ----------------------------------------------------------------------------

fn check_cell(c: Option<&Check>) -> String {
    match c {
        Some(c) => {
            let (class, mark, word) = match c.status {
                CheckStatus::Pass => ("ok", "✓", "met"),
                CheckStatus::Fail => ("bad", "✗", "missed"),
                CheckStatus::NoLettings | CheckStatus::NoTarget => ("na", "–", "nothing let"),
            };
            format!(
                "{} <span class=\"mark {class}\" title=\"{word}: {} of {} let flexibly, {} required\">{mark}</span>",
                esc(&target_words(&c.target, c.target_share)),
                c.flexible,
                c.lettings,
                c.required
            )
        }
        None => "<span class=\"note\">—</span>".to_owned(),
    }
}

#[allow(clippy::too_many_lines)]
pub fn render(r: &Report) -> String {
    let links = Links::new(r);
    let mut h = String::with_capacity(64 * 1024);
    let title = format!(
        "Compliance report {} — municipality {}",
        r.period.label, r.municipality
    );
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\" data-render-check=\"pending\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let rules: Vec<String> = r
        .rule_sets
        .iter()
        .map(|s| format!("{} ({} to {})", s.rule_set_id, s.from, s.to))
        .collect();
    let _ = writeln!(
        h,
        "<header class=\"masthead\"><div class=\"wrap\"><p class=\"eyebrow\">Social housing letting · compliance report</p><h1>{label}<small>Municipality {m} · {from} – {to}</small></h1><p class=\"meta\">Events fall in the period by their own date in Danish local time ({tz}). Rules: {rules}.{gen}</p></div></header>",
        label = esc(&r.period.label),
        m = esc(&r.municipality),
        from = short_date(r.period.from),
        to = short_date(r.period.to),
        tz = esc(&r.period.time_zone),
        rules = if rules.is_empty() {
            "none in force".to_owned()
        } else {
            esc(&rules.join("; "))
        },
        gen = r
            .generated_at
            .map(|t| format!(" Generated {}.", esc(&local_time(t))))
            .unwrap_or_default()
    );
    h.push_str("<div class=\"wrap\">\n<nav class=\"toc\"><a href=\"#flexible\">Flexible letting</a><a href=\"#areas\">Areas</a><a href=\"#combined\">Combined letting</a><a href=\"#referrals\">Referrals</a><a href=\"#grants\">Grants</a><a href=\"#indicators\">Indicators</a><a href=\"#violations\">Violations</a><a href=\"#method\">Method</a></nav>\n");

    // Key figures.
    let m = &r.municipality_flexible;
    let s = &r.summary;
    let muni_target = m.checks.first();
    let _ = writeln!(
        h,
        "<div class=\"kpis\"><div class=\"kpi {}\"><div class=\"v\">{} / {}</div><div class=\"l\">checks passed ({} with nothing let)</div></div><div class=\"kpi {}\"><div class=\"v\">{}</div><div class=\"l\">violations</div></div><div class=\"kpi {}\"><div class=\"v\">{}</div><div class=\"l\">let flexibly municipality-wide{}</div></div><div class=\"kpi\"><div class=\"v\">{}</div><div class=\"l\">dwellings let · {} vacancies</div></div><div class=\"kpi\"><div class=\"v\">{}</div><div class=\"l\">lettings awaiting approval at the end</div></div><div class=\"kpi\"><div class=\"v\">{}</div><div class=\"l\">left in the {} grant pool</div></div></div>",
        if s.failed > 0 { "fail" } else { "pass" },
        s.passed,
        s.passed + s.failed,
        s.no_lettings,
        if s.violations > 0 { "fail" } else { "pass" },
        s.violations,
        match m.status {
            CheckStatus::Fail => "fail",
            CheckStatus::Pass => "pass",
            _ => "",
        },
        m.flexible_share.map_or_else(|| "—".to_owned(), percent),
        muni_target
            .map(|c| format!(
                " (target {})",
                esc(&target_words(&c.target, c.target_share))
            ))
            .unwrap_or_default(),
        links.count(&m.lettings),
        links.count(&m.vacancies),
        links.count(&r.combined_letting.pending_at_end),
        r.grants
            .pool
            .remaining_ore
            .map_or_else(|| "—".to_owned(), dkk_whole),
        r.grants.pool.year
    );

    // Flexible letting.
    let _ = write!(
        h,
        "<section class=\"card\" id=\"flexible\"><h2>Flexible letting</h2><p class=\"lead\">Municipality-wide {} of {} dwellings let in the period were let flexibly ({}){}</p><p class=\"lead\">Each department's flexible share is checked against the share it agreed with the municipality and against its class's floor.</p>",
        links.count(&m.flexible),
        links.count(&m.lettings),
        m.flexible_share.map_or_else(|| "—".to_owned(), percent),
        muni_target
            .map(|c| format!(
                "; the target of {} requires {}: {}",
                esc(&target_words(&c.target, c.target_share)),
                c.required.round_dp(2).normalize(),
                pill(c.status)
            ))
            .unwrap_or_else(|| ".".to_owned())
    );
    let charted: Vec<&DepartmentReport> = r
        .departments
        .iter()
        .filter(|d| d.lettings.count > 0 || !d.checks.is_empty())
        .collect();
    if charted.is_empty() {
        h.push_str(
            "<p class=\"note\">No department let a dwelling or has a target in the period.</p>",
        );
    } else {
        h.push_str("<div class=\"legend\"><span><i style=\"background:#2e8b57\"></i>share, target met</span><span><i style=\"background:#c0392b\"></i>share, target missed</span><span><i style=\"background:#14294d;height:3px\"></i>agreed share</span><span><i style=\"background:repeating-linear-gradient(90deg,#7f1d1d 0 3px,transparent 3px 5px);height:3px\"></i>class floor</span></div>");
        h.push_str(&flexible_chart(&charted));
    }
    h.push_str("<div class=\"scroll\"><table><thead><tr><th>Department</th><th>Class</th><th class=\"n\">Vacancies</th><th class=\"n\">Let</th><th class=\"n\">Flexibly</th><th class=\"n\">Share</th><th>Agreed</th><th>Floor</th><th>Status</th></tr></thead><tbody>");
    for d in &r.departments {
        let find = |kind| d.checks.iter().find(|c| c.kind == kind);
        let _ = write!(
            h,
            "<tr><td><b>{}</b><br><span class=\"note\">{}</span></td><td><span class=\"cls\" style=\"background:{}\"></span>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.id),
            esc(&[d.area.as_deref(), d.organisation.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")),
            class_colour(d.class_at_end.as_deref()),
            class_words(d.class_at_end.as_deref()),
            if d.class_changed {
                " <span class=\"note\">(changed)</span>"
            } else {
                ""
            },
            links.count(&d.vacancies),
            links.count(&d.lettings),
            links.count(&d.flexible),
            d.flexible_share.map_or_else(|| "—".to_owned(), percent),
            check_cell(find(CheckKind::AgreedShare)),
            check_cell(find(CheckKind::ClassFloor)),
            pill(d.status)
        );
    }
    h.push_str("</tbody></table></div>");
    h.push_str(
        "<h3>Lettings by channel</h3><div class=\"scroll\"><table><thead><tr><th>Department</th>",
    );
    for n in &m.lettings_by_channel {
        let _ = write!(h, "<th class=\"n\">{}</th>", esc(&n.key.replace('_', " ")));
    }
    h.push_str("</tr></thead><tbody>");
    for d in &r.departments {
        let _ = write!(h, "<tr><td>{}</td>", esc(&d.id));
        for n in &m.lettings_by_channel {
            let cell = d
                .lettings_by_channel
                .iter()
                .find(|x| x.key == n.key)
                .map_or_else(|| "0".to_owned(), |x| links.count(&x.count));
            let _ = write!(h, "<td class=\"n\">{cell}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("<tr><td><b>Municipality</b></td>");
    for n in &m.lettings_by_channel {
        let _ = write!(h, "<td class=\"n\"><b>{}</b></td>", links.count(&n.count));
    }
    h.push_str("</tr></tbody></table></div></section>\n");

    // Areas.
    h.push_str("<section class=\"card\" id=\"areas\"><h2>Areas and their classes</h2><p class=\"lead\">The class the rules give each area on every day of the period, from the designation lists and the area statistics in force.</p>");
    if !r.areas.is_empty() {
        h.push_str("<div class=\"legend\">");
        for (class, words) in [
            ("exposed", "exposed"),
            ("high_risk", "high-risk"),
            ("risk", "risk"),
            ("neutral", "neutral"),
            ("", "unclassified"),
        ] {
            let _ = write!(
                h,
                "<span><i style=\"background:{}\"></i>{words}</span>",
                class_colour((!class.is_empty()).then_some(class))
            );
        }
        h.push_str("</div>");
        h.push_str(&class_chart(r));
    }
    h.push_str("<div class=\"scroll\"><table><thead><tr><th>Area</th><th>Class</th><th class=\"wrap\">Why</th><th class=\"n\">Let</th><th class=\"n\">Flexibly</th><th>Class floor</th></tr></thead><tbody>");
    for a in &r.areas {
        let why: Vec<String> = a
            .classes
            .iter()
            .map(|s| {
                format!(
                    "{}{} <span class=\"note\">[{}]</span>",
                    if a.classes.len() > 1 {
                        format!("{} – {}: ", s.from, s.to)
                    } else {
                        String::new()
                    },
                    esc(s.reason_en.as_deref().or(s.error.as_deref()).unwrap_or("")),
                    esc(s.rule_id.as_deref().unwrap_or("no rule"))
                )
            })
            .collect();
        let class = if a.changes.is_empty() {
            class_words(a.class_at_end.as_deref())
        } else {
            let changes: Vec<String> = a
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{} → {} on {}",
                        class_words(c.from_class.as_deref()),
                        class_words(c.to_class.as_deref()),
                        c.date
                    )
                })
                .collect();
            changes.join("<br>")
        };
        let _ = write!(
            h,
            "<tr><td><b>{}</b>{}</td><td><span class=\"cls\" style=\"background:{}\"></span>{}</td><td class=\"wrap\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&a.id),
            a.name
                .as_ref()
                .map(|n| format!("<br><span class=\"note\">{}</span>", esc(n)))
                .unwrap_or_default(),
            class_colour(a.class_at_end.as_deref()),
            class,
            why.join("<br>"),
            links.count(&a.lettings),
            links.count(&a.flexible),
            check_cell(a.checks.first())
        );
    }
    h.push_str("</tbody></table></div></section>\n");

    // Combined letting.
    let c = &r.combined_letting;
    let o = &r.replacement_offers;
    let _ = write!(
        h,
        "<section class=\"card\" id=\"combined\"><h2>Combined letting</h2><p class=\"lead\">Every letting in an exposed area needs the municipality's approval; applicants on the listed benefits are rejected and owed a replacement dwelling elsewhere.</p><div class=\"scroll\"><table><tbody><tr><td>Lettings proposed in exposed areas</td><td class=\"n\">{}</td></tr><tr><td>· sent for the municipality's approval</td><td class=\"n\">{}</td></tr><tr><td>· rejected by the rules</td><td class=\"n\">{}</td></tr><tr><td>Approved by the municipality</td><td class=\"n\">{}</td></tr><tr><td>Rejected by the municipality</td><td class=\"n\">{}</td></tr><tr><td>Awaiting approval at the period's end{}</td><td class=\"n\">{}</td></tr></tbody></table></div>",
        links.count(&c.proposals),
        links.count(&c.sent_for_approval),
        links.count(&c.rejected_by_rules),
        links.count(&c.approvals),
        links.count(&c.municipal_rejections),
        c.oldest_pending
            .map(|d| format!(" <span class=\"note\">(oldest proposed {d})</span>"))
            .unwrap_or_default(),
        links.count(&c.pending_at_end)
    );
    if !c.rejections_by_reason.is_empty() {
        h.push_str("<h3>Rejections by reason</h3><div class=\"scroll\"><table><thead><tr><th>Rule</th><th class=\"wrap\">Source</th><th class=\"n\">Rejections</th></tr></thead><tbody>");
        for reason in &c.rejections_by_reason {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"wrap\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&reason.reason),
                esc(reason.source.as_deref().unwrap_or("")),
                links.count(&reason.count)
            );
        }
        h.push_str("</tbody></table></div>");
    }
    let _ = writeln!(
        h,
        "<h3>Replacement offers</h3><div class=\"scroll\"><table><tbody><tr><td>Owed (rejections in the period)</td><td class=\"n\">{}</td></tr><tr><td>Made</td><td class=\"n\">{}</td></tr><tr><td>Accepted</td><td class=\"n\">{}</td></tr><tr><td>Declined</td><td class=\"n\">{}</td></tr></tbody></table></div></section>",
        links.count(&o.owed),
        links.count(&o.made),
        links.count(&o.accepted),
        links.count(&o.declined)
    );

    // Referrals.
    let f = &r.referrals;
    let _ = write!(
        h,
        "<section class=\"card\" id=\"referrals\"><h2>Municipal referrals</h2><p class=\"lead\">The municipality no longer refers households to exposed or high-risk areas, and is compensated with referral rights elsewhere.</p><div class=\"scroll\"><table><tbody><tr><td>Referrals</td><td class=\"n\">{}</td></tr><tr><td>· accepted</td><td class=\"n\">{}</td></tr><tr><td>· refused</td><td class=\"n\">{}</td></tr><tr><td>Into exposed or high-risk areas (violations)</td><td class=\"n\">{}</td></tr><tr><td>Compensating referrals elsewhere</td><td class=\"n\">{}</td></tr></tbody></table></div>",
        links.count(&f.total),
        links.count(&f.accepted),
        links.count(&f.refused),
        f.into_barred_areas.len(),
        links.count(&f.compensating)
    );
    if !f.compensating_by_department.is_empty() {
        let parts: Vec<String> = f
            .compensating_by_department
            .iter()
            .map(|n| format!("{} {}", esc(&n.key), links.count(&n.count)))
            .collect();
        let _ = write!(
            h,
            "<p class=\"note\">Compensation by department: {}.</p>",
            parts.join(", ")
        );
    }
    h.push_str("</section>\n");

    // Grants.
    let g = &r.grants;
    let p = &g.pool;
    let _ = write!(
        h,
        "<section class=\"card\" id=\"grants\"><h2>Relocation grants</h2><div class=\"scroll\"><table><thead><tr><th></th><th class=\"n\">Decisions</th><th class=\"n\">Amount</th></tr></thead><tbody><tr><td>Applications decided</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr><tr><td>· approved</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr><tr><td>· refused</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr><tr><td>Paid in the period</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr><tr><td>Cancelled in the period</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></tbody></table></div>",
        g.applications.count,
        dkk_whole(g.applications.amount_ore),
        g.approvals.count,
        dkk_whole(g.approvals.amount_ore),
        g.refusals.count,
        dkk_whole(g.refusals.amount_ore),
        g.payments.count,
        dkk_whole(g.payments.amount_ore),
        g.cancellations.count,
        dkk_whole(g.cancellations.amount_ore)
    );
    if !g.refusals_by_reason.is_empty() {
        let parts: Vec<String> = g
            .refusals_by_reason
            .iter()
            .map(|x| format!("{} ({})", esc(&x.reason), links.count(&x.count)))
            .collect();
        let _ = write!(h, "<p class=\"note\">Refused by: {}.</p>", parts.join(", "));
    }
    match (p.pool_ore, p.remaining_ore) {
        (Some(pool), Some(left)) => {
            let used = (pool - left).max(0);
            let pct = if pool > 0 {
                used as f64 / pool as f64
            } else {
                0.0
            };
            let _ = write!(
                h,
                "<h3>The {} pool at the period's end</h3><svg class=\"chart\" id=\"chart-pool\" width=\"100%\" height=\"36\" role=\"img\" aria-labelledby=\"chart-pool-title\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-pool-title\">Grant pool used: {} of {}</title><rect x=\"0\" y=\"2\" width=\"100%\" height=\"16\" rx=\"4\" fill=\"#e3f3e9\"/><rect x=\"0\" y=\"2\" width=\"{:.2}%\" height=\"16\" rx=\"4\" fill=\"#1f4e99\"/><text x=\"0\" y=\"32\" font-size=\"12\" fill=\"#5b6475\">used {}</text><text x=\"100%\" y=\"32\" font-size=\"12\" fill=\"#5b6475\" text-anchor=\"end\">left {}</text></svg><p class=\"note\">Pool {} ({}): {} approved, {} cancelled, {} paid, {} committed, <b>{} left</b>.</p>",
                p.year,
                dkk(used),
                dkk(pool),
                100.0 * pct.clamp(0.0, 1.0),
                dkk(used),
                dkk(left),
                dkk(pool),
                esc(p.rule_set_id.as_deref().unwrap_or("")),
                dkk(p.approved.amount_ore),
                dkk(p.cancelled.amount_ore),
                dkk(p.paid.amount_ore),
                dkk(p.committed_ore),
                dkk(left)
            );
        }
        _ => {
            let _ = write!(
                h,
                "<p class=\"note\">No grant pool is set for {}.</p>",
                p.year
            );
        }
    }
    h.push_str("</section>\n");

    // Indicators.
    h.push_str("<section class=\"card\" id=\"indicators\"><h2>The six indicators</h2><p class=\"lead\">As measured in the City of Copenhagen's 2007 status report (section 5.1), with their spring-2007 baselines and success criteria.</p><div class=\"ind\">");
    for i in &r.indicators {
        let _ = write!(
            h,
            "<article><h3>{n}. {name}</h3><p class=\"da\">{da}</p><div><span class=\"big\">{value}</span> {pill}{inp}</div>{chart}<dl><dt>Baseline</dt><dd>{base}</dd><dt>Criterion</dt><dd>{target}</dd>",
            n = i.number,
            name = esc(&i.name_en),
            da = esc(&i.name_da),
            value = esc(&indicator_value(&i.unit, i.value)),
            pill = assessment_pill(i.assessment),
            inp = i
                .in_period
                .as_ref()
                .map(|c| format!(
                    " <span class=\"note\">{} in the period</span>",
                    links.count(c)
                ))
                .unwrap_or_default(),
            chart = indicator_chart(i),
            base = esc(&i.baseline_text),
            target = esc(&i.target_text)
        );
        if !i.evidence.designation_lists.is_empty() {
            let lists: Vec<String> = i
                .evidence
                .designation_lists
                .iter()
                .map(|l| {
                    format!(
                        "{} <span class=\"note\">sha256 {}</span>",
                        esc(&l.id),
                        esc(l.content_hash.get(..12).unwrap_or(&l.content_hash))
                    )
                })
                .collect();
            let _ = write!(h, "<dt>Lists</dt><dd>{}</dd>", lists.join("<br>"));
        }
        if !i.evidence.areas.is_empty() {
            let areas: Vec<String> = i
                .evidence
                .areas
                .iter()
                .map(|a| {
                    format!(
                        "{} {}{}",
                        esc(&a.area),
                        esc(&indicator_value(&i.unit, a.value)),
                        a.residents
                            .map(|n| format!(" × {} residents", thousands(n)))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let _ = write!(h, "<dt>Areas</dt><dd>{}</dd>", areas.join("<br>"));
        }
        if !i.evidence.statistics_decisions.is_empty() {
            let _ = write!(
                h,
                "<dt>Statistics</dt><dd class=\"ids\">{}</dd>",
                esc(&i.evidence.statistics_decisions.join(" "))
            );
        }
        if let Some(filter) = &i.evidence.filter {
            let _ = write!(h, "<dt>Counted</dt><dd class=\"note\">{}</dd>", esc(filter));
        }
        for n in &i.notes {
            let _ = write!(h, "<dt>Note</dt><dd class=\"note\">{}</dd>", esc(n));
        }
        h.push_str("</dl></article>");
    }
    h.push_str("</div></section>\n");

    // Violations.
    h.push_str("<section class=\"card\" id=\"violations\"><h2>Violations</h2>");
    if r.violations.is_empty() {
        h.push_str("<p class=\"lead\">None: every check passed and no household was referred to an exposed or high-risk area.</p>");
    }
    for v in &r.violations {
        let _ = write!(
            h,
            "<div class=\"violation\"><p><b>{}</b> · {}{}</p><p>{}</p>",
            esc(&v.kind.replace('_', " ")),
            esc(&v.scope),
            v.rule_id
                .as_ref()
                .map(|x| format!(" · rule {}", esc(x)))
                .unwrap_or_default(),
            esc(&v.description)
        );
        if !v.decision_ids.is_empty() {
            let _ = write!(
                h,
                "<details><summary>{} decision(s)</summary><p class=\"ids\">{}</p></details>",
                v.decision_ids.len(),
                esc(&v.decision_ids.join(" "))
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</section>\n");

    // Method and evidence.
    h.push_str("<section class=\"card\" id=\"method\"><h2>How the figures are counted</h2><ul class=\"plain\">");
    for n in &r.notes {
        let _ = write!(h, "<li>{}</li>", esc(n));
    }
    h.push_str("</ul>");
    if !r.decisions_by_rule_set.is_empty() {
        let uses: Vec<String> = r
            .decisions_by_rule_set
            .iter()
            .map(|u| {
                format!(
                    "{} by {} <span class=\"note\">(file sha256 {}{})</span>",
                    thousands(u.decisions),
                    esc(&u.rule_set_id),
                    esc(u.rule_set_hash.get(..12).unwrap_or(&u.rule_set_hash)),
                    if u.current_version {
                        ""
                    } else {
                        ", an earlier version"
                    }
                )
            })
            .collect();
        let _ = write!(
            h,
            "<p class=\"note\">{} decisions are dated in the period; judged {}.</p>",
            thousands(r.decisions_in_period),
            uses.join("; ")
        );
    }
    if r.detail == Detail::Full {
        h.push_str("<h3>Evidence</h3><p class=\"note\">The ids of the decisions behind each figure; every underlined number above links here.</p><div class=\"evidence\">");
        for (k, (label, count)) in evidence(r).iter().enumerate() {
            if count.count == 0 {
                continue;
            }
            let _ = write!(
                h,
                "<div class=\"item\" id=\"ev-{k}\"><h4>{} ({})</h4><p class=\"ids\">{}</p></div>",
                esc(label),
                count.count,
                esc(&count.decision_ids.join(" "))
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</section>\n");
    let _ = write!(
        h,
        "<footer>{} version {} · municipality {} · {} to {} · detail: {}</footer>\n</div>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&r.format),
        r.format_version,
        esc(&r.municipality),
        r.period.from,
        r.period.to,
        match r.detail {
            Detail::Full => "full",
            Detail::Summary => "summary",
        }
    );
    h
}
