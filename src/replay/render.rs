//! A what-if as text, CSV or one self-contained HTML page with a chart (JSON is its serde
//! form). Pure: the caller writes the result where it wants it.

use std::fmt::Write;

use super::WhatIf;
use crate::report::render::{esc, text_cell};

/// The CSV columns: one row a flipped decision (`flip`), a group (`by_rule`, `by_area`,
/// …) or a changed report figure (`figure`).
pub const CSV_COLUMNS: [&str; 8] = [
    "row",
    "key",
    "kind",
    "date",
    "before",
    "after",
    "detail",
    "decision_ids",
];

pub fn text(w: &WhatIf) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "what-if from {} to {}: rules {} → proposed {}",
        w.from,
        w.to,
        short(&w.rules_before),
        short(&w.rules_after)
    );
    let _ = writeln!(
        out,
        "  judged decisions {}, judged again {}, would flip {}, fail under the proposal {}",
        w.decisions,
        w.judged_again,
        w.flips.len(),
        w.failing.len()
    );
    for (title, groups) in groups(w) {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for g in groups {
            let _ = writeln!(out, "  {:>6}  {}", g.count, g.key);
        }
    }
    if !w.flips.is_empty() {
        let _ = writeln!(out, "\nflips");
        for f in &w.flips {
            let _ = writeln!(
                out,
                "  {} {} {} {}: {} → {}",
                f.event_date,
                f.kind,
                f.decision_id,
                f.area.as_deref().unwrap_or("-"),
                f.outcome_before,
                f.outcome_after
            );
        }
    }
    let _ = writeln!(
        out,
        "\nreport of {} for the period: {} figure(s) change",
        w.report_municipality,
        w.figures.len()
    );
    for c in &w.figures {
        let _ = writeln!(
            out,
            "  {} {} {}: {} → {}{}",
            c.section,
            c.scope,
            c.measure,
            c.before,
            c.after,
            if c.status_before != c.status_after {
                format!(" ({} → {})", c.status_before, c.status_after)
            } else {
                String::new()
            }
        );
    }
    for (id, error) in &w.failing {
        let _ = writeln!(out, "FAILS {id}: {error}");
    }
    out
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn groups(w: &WhatIf) -> [(&'static str, &Vec<super::Group>); 5] {
    [
        ("by rule", &w.by_rule),
        ("by outcome", &w.by_outcome),
        ("by area", &w.by_area),
        ("by department", &w.by_department),
        ("by organisation", &w.by_organisation),
    ]
}

pub fn csv(w: &WhatIf) -> Result<String, ::csv::Error> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS)?;
    for f in &w.flips {
        writer.write_record([
            "flip",
            &text_cell(&f.decision_id),
            f.kind,
            &f.event_date.to_string(),
            &text_cell(&f.outcome_before),
            &text_cell(&f.outcome_after),
            &text_cell(&format!(
                "area {}; rules no longer firing: {}; rules now firing: {}",
                f.area.as_deref().unwrap_or("-"),
                f.rules_dropped.join(" "),
                f.rules_added.join(" ")
            )),
            &f.decision_id,
        ])?;
    }
    for (title, gs) in groups(w) {
        let row = format!("by_{}", title.trim_start_matches("by "));
        for g in gs {
            writer.write_record([
                row.as_str(),
                &text_cell(&g.key),
                "",
                "",
                "",
                &g.count.to_string(),
                "",
                &g.decision_ids.join(" "),
            ])?;
        }
    }
    for c in &w.figures {
        writer.write_record([
            "figure",
            &text_cell(&format!("{} {} {}", c.section, c.scope, c.measure)),
            "",
            &format!("{}..{}", c.from, c.to),
            &text_cell(&c.before),
            &text_cell(&c.after),
            &text_cell(&format!("status {} → {}", c.status_before, c.status_after)),
            "",
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}

/// One page: the counts, a bar chart of the flips by rule, the groups and the figures.
pub fn html(w: &WhatIf) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>What-if {} to {}</title>\n<style>body{{font:15px/1.5 system-ui,sans-serif;margin:24px;color:#1a1a1a}}table{{border-collapse:collapse;margin:8px 0 20px}}th,td{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}.bar{{fill:#1f5f99}}svg text{{font:12px system-ui,sans-serif}}</style>\n</head>\n<body>\n<main>\n<h1>What-if: {} to {}</h1>\n",
        w.from, w.to, w.from, w.to
    );
    let _ = writeln!(
        h,
        "<p>Rules in force <code>{}</code>, proposed <code>{}</code>. Judged decisions {}, judged again on their kept facts {}, would flip <strong>{}</strong>, fail under the proposal {}. Nothing was written.</p>",
        esc(short(&w.rules_before)),
        esc(short(&w.rules_after)),
        w.decisions,
        w.judged_again,
        w.flips.len(),
        w.failing.len()
    );
    h.push_str(&chart(&w.by_rule));
    for (title, gs) in groups(w) {
        if gs.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<h2>Flips {}</h2>\n<table><thead><tr><th>{}</th><th>Decisions</th></tr></thead><tbody>",
            esc(title),
            esc(title.trim_start_matches("by "))
        );
        for g in gs {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\" title=\"{}\">{}</td></tr>",
                esc(&g.key),
                esc(&g.decision_ids.join(" ")),
                g.count
            );
        }
        h.push_str("</tbody></table>\n");
    }
    let _ = write!(
        h,
        "<h2>The compliance report of {}: figures that change</h2>\n<table><thead><tr><th>Section</th><th>Scope</th><th>Measure</th><th>Before</th><th>After</th><th>Status</th></tr></thead><tbody>",
        esc(&w.report_municipality)
    );
    for c in &w.figures {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{} → {}</td></tr>",
            esc(c.section),
            esc(&c.scope),
            esc(&c.measure),
            esc(&c.before),
            esc(&c.after),
            esc(&c.status_before),
            esc(&c.status_after)
        );
    }
    h.push_str("</tbody></table>\n</main>\n</body>\n</html>\n");
    h
}

/// A horizontal bar chart (inline SVG) of the largest groups.
fn chart(groups: &[super::Group]) -> String {
    const SHOWN: usize = 12;
    let shown = &groups[..groups.len().min(SHOWN)];
    let Some(max) = shown.iter().map(|g| g.count).max().filter(|m| *m > 0) else {
        return "<p>No decision flips.</p>\n".to_owned();
    };
    let (label_w, bar_w, row_h) = (420u64, 360u64, 22u64);
    let height = row_h * shown.len() as u64 + 10;
    let mut s = format!(
        "<figure><figcaption>Flips by rule</figcaption><svg role=\"img\" aria-label=\"Flips by rule\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">",
        label_w + bar_w + 60,
        label_w + bar_w + 60
    );
    for (i, g) in shown.iter().enumerate() {
        let y = row_h * i as u64 + 4;
        let w = bar_w * g.count / max;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{}\" y=\"{y}\" width=\"{w}\" height=\"{}\"></rect><text x=\"{}\" y=\"{}\">{}</text>",
            label_w - 6,
            y + 14,
            esc(&g.key),
            label_w,
            row_h - 6,
            label_w + w + 6,
            y + 14,
            g.count
        );
    }
    s.push_str("</svg></figure>\n");
    s
}
