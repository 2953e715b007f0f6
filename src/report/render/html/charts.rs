//! The inline SVG charts: flexible shares against targets, area classes, indicators by quarter.

use std::fmt::Write;

use rust_decimal::Decimal;

use super::pieces::{class_colour, esc, f, short_date};
use crate::report::model::{CheckKind, CheckStatus, DepartmentReport, Indicator, Report};
use crate::report::render::{
    check_kind_words, class_words, indicator_value, percent, target_words, thousands,
};

/// Flexible share of each department against its targets: a bar per department, with a
/// tick for each target. Drawn in percentages of the page's width, so that the text keeps
/// its size on a phone and on a wide screen.
pub(super) fn flexible_chart(departments: &[&DepartmentReport]) -> String {
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
pub(super) fn class_chart(report: &Report) -> String {
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
pub(super) fn indicator_chart(i: &Indicator) -> String {
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
