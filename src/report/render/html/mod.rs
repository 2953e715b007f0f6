//! The report as one self-contained HTML page: inline CSS, inline SVG charts (the flexible
//! share of every department against its targets, each area's class over the period,
//! each indicator across quarters), no external assets, readable on a phone and printable.
//! At full detail every count links to the ids of the decisions behind it.
//!
//! A short inline script checks, once the page has loaded, that every chart has drawn,
//! and records the result on the root element (`data-render-check="ok"`), for the
//! headless-browser test; the page needs no script to be read.

mod charts;
mod pieces;
mod style;

use std::fmt::Write;

use super::{
    class_words, dkk, evidence, indicator_value, local_time, percent, target_words, thousands,
};
use crate::report::model::{Check, CheckKind, CheckStatus, DepartmentReport, Detail, Report};
use charts::{class_chart, flexible_chart, indicator_chart};
pub(crate) use pieces::esc;
use pieces::{Links, assessment_pill, class_colour, dkk_whole, pill, short_date};
use style::{CSS, SCRIPT};

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
