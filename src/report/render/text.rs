//! The report as plain text, for a terminal or an e-mail.

use std::fmt::Write;

use super::{
    assessment_word, check_kind_words, class_words, dkk, evidence, indicator_value, local_time,
    percent, status_word, target_words, thousands,
};
use crate::report::model::{Check, Detail, Report};

/// A table with a header, right-aligning the columns marked numeric.
fn table(out: &mut String, header: &[&str], numeric: &[bool], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(cell.chars().count());
            if i > 0 {
                text.push_str("  ");
            }
            if numeric.get(i).copied().unwrap_or(false) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(
        out,
        &header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
    );
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(out, &rule);
    for row in rows {
        line(out, row);
    }
}

fn heading(out: &mut String, text: &str) {
    let _ = writeln!(out, "\n{text}\n{}", "=".repeat(text.chars().count()));
}

fn check_line(c: &Check) -> String {
    format!(
        "{} {}: {} of {} flexible ({}) against {} (required {}) from {} to {}, rule {}: {}",
        check_kind_words(c.kind),
        c.scope,
        c.flexible,
        c.lettings,
        c.share.map_or_else(|| "-".to_owned(), percent),
        target_words(&c.target, c.target_share),
        c.required,
        c.from,
        c.to,
        c.rule_id,
        status_word(c.status)
    )
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let title = format!(
        "Compliance report {} — municipality {}",
        r.period.label, r.municipality
    );
    let _ = writeln!(out, "{title}\n{}", "#".repeat(title.chars().count()));
    let _ = writeln!(
        out,
        "Period: {} to {} inclusive ({} up to {}).",
        r.period.from, r.period.to, r.period.starts_at, r.period.ends_before
    );
    let _ = writeln!(
        out,
        "Events fall in the period by their own date in Danish local time ({}).",
        r.period.time_zone
    );
    for s in &r.rule_sets {
        let _ = writeln!(
            out,
            "Rules: {} \"{}\" from {} to {} (file sha256 {}).",
            s.rule_set_id,
            s.title,
            s.from,
            s.to,
            s.content_hash.get(..12).unwrap_or(&s.content_hash)
        );
    }
    let _ = writeln!(
        out,
        "Decisions dated in the period: {}.",
        thousands(r.decisions_in_period)
    );
    for u in &r.decisions_by_rule_set {
        let _ = writeln!(
            out,
            "  {} judged by {} (file {}{})",
            thousands(u.decisions),
            u.rule_set_id,
            u.rule_set_hash.get(..12).unwrap_or(&u.rule_set_hash),
            if u.current_version {
                ""
            } else {
                ", an earlier version of the file"
            }
        );
    }
    if let Some(at) = r.generated_at {
        let _ = writeln!(out, "Generated {}.", local_time(at));
    }

    heading(&mut out, "Summary");
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} checks of flexible letting: {} passed, {} failed, {} with nothing let. {} violation(s).",
        s.checks, s.passed, s.failed, s.no_lettings, s.violations
    );
    let m = &r.municipality_flexible;
    let _ = writeln!(
        out,
        "Municipality-wide: {} vacancies registered, {} dwellings let, {} of them flexibly ({}).",
        thousands(m.vacancies.count),
        thousands(m.lettings.count),
        thousands(m.flexible.count),
        m.flexible_share.map_or_else(|| "-".to_owned(), percent)
    );
    for c in &m.checks {
        let _ = writeln!(out, "  {}", check_line(c));
    }

    heading(&mut out, "Flexible letting by department");
    let rows: Vec<Vec<String>> = r
        .departments
        .iter()
        .map(|d| {
            let target = |kind| {
                d.checks
                    .iter()
                    .find(|c| c.kind == kind)
                    .map_or_else(|| "-".to_owned(), |c| percent(c.target_share))
            };
            vec![
                d.id.clone(),
                d.area.clone().unwrap_or_else(|| "-".into()),
                format!(
                    "{}{}",
                    class_words(d.class_at_end.as_deref()),
                    if d.class_changed { " *" } else { "" }
                ),
                d.vacancies.count.to_string(),
                d.lettings.count.to_string(),
                d.flexible.count.to_string(),
                d.flexible_share.map_or_else(|| "-".to_owned(), percent),
                target(crate::report::CheckKind::AgreedShare),
                target(crate::report::CheckKind::ClassFloor),
                status_word(d.status).to_owned(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "department",
            "area",
            "class",
            "vacancies",
            "let",
            "flexible",
            "share",
            "agreed",
            "floor",
            "status",
        ],
        &[
            false, false, false, true, true, true, true, true, true, false,
        ],
        &rows,
    );
    if r.departments.iter().any(|d| d.class_changed) {
        let _ = writeln!(out, "  * the class changed during the period (see Areas).");
    }
    let _ = writeln!(out, "\nLettings by channel:");
    let channels: Vec<&str> = m
        .lettings_by_channel
        .iter()
        .map(|n| n.key.as_str())
        .collect();
    let mut header = vec!["department"];
    header.extend(channels.iter().copied());
    let rows: Vec<Vec<String>> = r
        .departments
        .iter()
        .map(|d| {
            let mut row = vec![d.id.clone()];
            for ch in &channels {
                row.push(
                    d.lettings_by_channel
                        .iter()
                        .find(|n| n.key == *ch)
                        .map_or(0, |n| n.count.count)
                        .to_string(),
                );
            }
            row
        })
        .collect();
    let mut numeric = vec![false];
    numeric.extend(channels.iter().map(|_| true));
    table(&mut out, &header, &numeric, &rows);
    let failed: Vec<&Check> = r
        .departments
        .iter()
        .flat_map(|d| d.checks.iter())
        .filter(|c| c.status == crate::report::CheckStatus::Fail)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nFailed checks:");
        for c in failed {
            let _ = writeln!(out, "  {}", check_line(c));
        }
    }

    heading(&mut out, "Areas and their classes");
    for a in &r.areas {
        let _ = writeln!(
            out,
            "{}{}: {} (departments: {})",
            a.id,
            a.name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            class_words(a.class_at_end.as_deref()),
            if a.departments.is_empty() {
                "-".to_owned()
            } else {
                a.departments.join(", ")
            }
        );
        for s in &a.classes {
            let _ = writeln!(
                out,
                "  {} to {}: {} by {}{}",
                s.from,
                s.to,
                class_words(s.class.as_deref()),
                s.rule_id.as_deref().unwrap_or("-"),
                s.error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
        }
        for c in &a.changes {
            let _ = writeln!(
                out,
                "  changed on {} from {} to {} by rule {}",
                c.date,
                class_words(c.from_class.as_deref()),
                class_words(c.to_class.as_deref()),
                c.rule_id.as_deref().unwrap_or("-")
            );
        }
        let _ = writeln!(
            out,
            "  {} vacancies, {} let, {} flexibly ({}); {}",
            a.vacancies.count,
            a.lettings.count,
            a.flexible.count,
            a.flexible_share.map_or_else(|| "-".to_owned(), percent),
            status_word(a.status)
        );
        for c in &a.checks {
            let _ = writeln!(out, "  {}", check_line(c));
        }
    }

    heading(&mut out, "Combined letting (exposed areas)");
    let c = &r.combined_letting;
    let _ = writeln!(
        out,
        "{} proposed: {} sent for the municipality's approval, {} rejected by the rules.",
        c.proposals.count, c.sent_for_approval.count, c.rejected_by_rules.count
    );
    let _ = writeln!(
        out,
        "The municipality approved {} and rejected {}. Pending at the period's end: {}{}.",
        c.approvals.count,
        c.municipal_rejections.count,
        c.pending_at_end.count,
        c.oldest_pending
            .map(|d| format!(" (the oldest proposed {d})"))
            .unwrap_or_default()
    );
    for reason in &c.rejections_by_reason {
        let _ = writeln!(
            out,
            "  rejected by {}: {}{}",
            reason.reason,
            reason.count.count,
            reason
                .source
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
    }
    let o = &r.replacement_offers;
    let _ = writeln!(
        out,
        "Replacement offers: {} owed, {} made, {} accepted, {} declined.",
        o.owed.count, o.made.count, o.accepted.count, o.declined.count
    );

    heading(&mut out, "Municipal referrals");
    let f = &r.referrals;
    let _ = writeln!(
        out,
        "{} referrals: {} accepted, {} refused. {} into exposed or high-risk areas (violations). {} compensating referrals elsewhere.",
        f.total.count,
        f.accepted.count,
        f.refused.count,
        f.into_barred_areas.len(),
        f.compensating.count
    );
    for b in &f.into_barred_areas {
        let _ = writeln!(
            out,
            "  {} {} into {} ({}), {}: decision {}",
            b.date,
            b.department.as_deref().unwrap_or("-"),
            b.area.as_deref().unwrap_or("-"),
            class_words(b.area_class.as_deref()),
            b.outcome,
            b.decision_id
        );
    }
    for n in &f.compensating_by_department {
        let _ = writeln!(out, "  compensation in {}: {}", n.key, n.count.count);
    }

    heading(&mut out, "Relocation grants");
    let g = &r.grants;
    let _ = writeln!(
        out,
        "{} applications: {} approved ({}), {} refused.",
        g.applications.count,
        g.approvals.count,
        dkk(g.approvals.amount_ore),
        g.refusals.count
    );
    for reason in &g.refusals_by_reason {
        let _ = writeln!(
            out,
            "  refused by {}: {}",
            reason.reason, reason.count.count
        );
    }
    let _ = writeln!(
        out,
        "Paid in the period: {} ({}). Cancelled in the period: {} ({}).",
        g.payments.count,
        dkk(g.payments.amount_ore),
        g.cancellations.count,
        dkk(g.cancellations.amount_ore)
    );
    let p = &g.pool;
    match (p.pool_ore, p.remaining_ore) {
        (Some(pool), Some(left)) => {
            let _ = writeln!(
                out,
                "The {} pool of {} at the period's end: {} approved, {} cancelled, {} paid, {} committed; {} left.",
                p.year,
                dkk(pool),
                dkk(p.approved.amount_ore),
                dkk(p.cancelled.amount_ore),
                dkk(p.paid.amount_ore),
                dkk(p.committed_ore),
                dkk(left)
            );
        }
        _ => {
            let _ = writeln!(out, "No grant pool is set for {}.", p.year);
        }
    }

    heading(&mut out, "Indicators");
    for i in &r.indicators {
        let _ = writeln!(out, "{}. {}", i.number, i.name_en);
        let _ = writeln!(out, "   ({})", i.name_da);
        let _ = writeln!(
            out,
            "   {}{} — baseline {}; target: {}; {}",
            indicator_value(&i.unit, i.value),
            i.in_period
                .as_ref()
                .map(|c| format!(" ({} in the period)", c.count))
                .unwrap_or_default(),
            i.baseline_text,
            i.target_text,
            assessment_word(i.assessment)
        );
        let history: Vec<String> = i
            .history
            .iter()
            .map(|h| format!("{} {}", h.label, indicator_value(&i.unit, h.value)))
            .collect();
        let _ = writeln!(out, "   history: {}", history.join(" | "));
        if !i.evidence.designation_lists.is_empty() {
            let lists: Vec<String> = i
                .evidence
                .designation_lists
                .iter()
                .map(|l| {
                    format!(
                        "{} (sha256 {})",
                        l.id,
                        l.content_hash.get(..12).unwrap_or(&l.content_hash)
                    )
                })
                .collect();
            let _ = writeln!(out, "   lists: {}", lists.join(", "));
        }
        if !i.evidence.statistics_decisions.is_empty() {
            let _ = writeln!(
                out,
                "   statistics decisions: {}",
                i.evidence.statistics_decisions.join(", ")
            );
        }
        if let Some(filter) = &i.evidence.filter {
            let _ = writeln!(out, "   counted: {filter}");
        }
        for n in &i.notes {
            let _ = writeln!(out, "   note: {n}");
        }
    }

    heading(&mut out, "Violations");
    if r.violations.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for v in &r.violations {
        let _ = writeln!(out, "- {} {}: {}", v.kind, v.scope, v.description);
        if !v.decision_ids.is_empty() {
            let _ = writeln!(out, "  decisions: {}", v.decision_ids.join(" "));
        }
    }

    heading(&mut out, "How the figures are counted");
    for n in &r.notes {
        let _ = writeln!(out, "- {n}");
    }

    if r.detail == Detail::Full {
        heading(&mut out, "Evidence: the decisions behind each count");
        for (label, count) in evidence(r) {
            if count.count > 0 {
                let _ = writeln!(
                    out,
                    "{label} ({}): {}",
                    count.count,
                    count.decision_ids.join(" ")
                );
            }
        }
    }
    out
}
