//! The report as CSV: one figure a row, the same columns on every row, so that it opens
//! cleanly in a spreadsheet and filters by section and scope. The layout is documented in
//! `docs/report-format.md`. UTF-8 with a byte-order mark (so spreadsheets read ø and å),
//! comma-separated, RFC 4180 quoting, `.` as the decimal point, shares as fractions
//! (0.4444), money in DKK with two decimals.

use rust_decimal::Decimal;

use super::{assessment_word, check_kind_words};
use crate::report::ReportError;
use crate::report::model::{AmountCount, Check, CheckStatus, Count, NamedCount, Report};

/// The columns, in order.
pub const COLUMNS: [&str; 11] = [
    "section",
    "scope",
    "measure",
    "value",
    "unit",
    "target",
    "status",
    "from",
    "to",
    "note",
    "decision_ids",
];

#[derive(Default)]
struct Row {
    section: &'static str,
    scope: String,
    measure: String,
    value: String,
    unit: &'static str,
    target: String,
    status: String,
    from: String,
    to: String,
    note: String,
    ids: String,
}

struct Rows(Vec<Row>);

fn status_key(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "pass",
        CheckStatus::Fail => "fail",
        CheckStatus::NoLettings => "no_lettings",
        CheckStatus::NoTarget => "no_target",
    }
}

fn money(ore: i64) -> String {
    (Decimal::new(ore, 2)).to_string()
}

impl Rows {
    fn push(&mut self, row: Row) {
        self.0.push(row);
    }

    fn count(&mut self, section: &'static str, scope: &str, measure: &str, c: &Count) {
        self.push(Row {
            section,
            scope: scope.to_owned(),
            measure: measure.to_owned(),
            value: c.count.to_string(),
            unit: "count",
            ids: c.decision_ids.join(" "),
            ..Row::default()
        });
    }

    fn named(&mut self, section: &'static str, scope: &str, prefix: &str, list: &[NamedCount]) {
        for n in list {
            self.count(section, scope, &format!("{prefix}.{}", n.key), &n.count);
        }
    }

    fn amount(&mut self, section: &'static str, scope: &str, measure: &str, a: &AmountCount) {
        self.push(Row {
            section,
            scope: scope.to_owned(),
            measure: measure.to_owned(),
            value: a.count.to_string(),
            unit: "count",
            ids: a.decision_ids.join(" "),
            ..Row::default()
        });
        self.push(Row {
            section,
            scope: scope.to_owned(),
            measure: format!("{measure}.amount"),
            value: money(a.amount_ore),
            unit: "DKK",
            ids: a.decision_ids.join(" "),
            ..Row::default()
        });
    }

    fn share(&mut self, section: &'static str, scope: &str, measure: &str, s: Option<Decimal>) {
        self.push(Row {
            section,
            scope: scope.to_owned(),
            measure: measure.to_owned(),
            value: s.map(|d| d.to_string()).unwrap_or_default(),
            unit: "share",
            ..Row::default()
        });
    }

    fn text(&mut self, section: &'static str, scope: &str, measure: &str, value: String) {
        self.push(Row {
            section,
            scope: scope.to_owned(),
            measure: measure.to_owned(),
            value,
            unit: "text",
            ..Row::default()
        });
    }

    fn check(&mut self, c: &Check) {
        self.push(Row {
            section: "check",
            scope: c.scope.clone(),
            measure: check_kind_words(c.kind).replace(' ', "_"),
            value: c.share.map(|d| d.to_string()).unwrap_or_default(),
            unit: "share",
            target: c.target_share.to_string(),
            status: status_key(c.status).to_owned(),
            from: c.from.to_string(),
            to: c.to.to_string(),
            note: format!(
                "{} of {} lettings flexible; target {} requires {}; rule {} ({}){}",
                c.flexible,
                c.lettings,
                c.target,
                c.required,
                c.rule_id,
                c.rule_set_id,
                c.area_class
                    .as_ref()
                    .map(|k| format!("; class {k}"))
                    .unwrap_or_default()
            ),
            ids: c.letting_ids.join(" "),
        });
    }
}

/// One figure of the report, as a CSV row names it (without its note and decision ids).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Figure {
    pub section: &'static str,
    pub scope: String,
    pub measure: String,
    pub value: String,
    pub unit: &'static str,
    pub target: String,
    pub status: String,
    pub from: String,
    pub to: String,
}

/// Every figure of the report, in the CSV's order.
pub fn figures(r: &Report) -> Vec<Figure> {
    rows(r)
        .0
        .into_iter()
        .map(|row| Figure {
            section: row.section,
            scope: row.scope,
            measure: row.measure,
            value: row.value,
            unit: row.unit,
            target: row.target,
            status: row.status,
            from: row.from,
            to: row.to,
        })
        .collect()
}

pub fn render(r: &Report) -> Result<String, ReportError> {
    let rows = rows(r);
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| ReportError::Render(e.to_string());
    writer.write_record(COLUMNS).map_err(fail)?;
    for row in rows.0 {
        writer
            .write_record([
                row.section,
                &text_cell(&row.scope),
                &text_cell(&row.measure),
                &row.value,
                row.unit,
                &text_cell(&row.target),
                &text_cell(&row.status),
                &row.from,
                &row.to,
                &text_cell(&row.note),
                &row.ids,
            ])
            .map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ReportError::Render(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| ReportError::Render(e.to_string()))?;
    Ok(format!("\u{feff}{text}"))
}

fn rows(r: &Report) -> Rows {
    let mut rows = Rows(Vec::new());
    let muni = format!("municipality:{}", r.municipality);
    rows.push(Row {
        section: "report",
        scope: muni.clone(),
        measure: "period".into(),
        value: r.period.label.clone(),
        unit: "text",
        from: r.period.from.to_string(),
        to: r.period.to.to_string(),
        note: format!(
            "events fall in the period by their own date in Danish local time ({})",
            r.period.time_zone
        ),
        ..Row::default()
    });
    rows.push(Row {
        section: "report",
        scope: muni.clone(),
        measure: "decisions_in_period".into(),
        value: r.decisions_in_period.to_string(),
        unit: "count",
        ..Row::default()
    });
    for s in &r.rule_sets {
        rows.push(Row {
            section: "rule_set",
            scope: format!("rule_set:{}", s.rule_set_id),
            measure: "in_force".into(),
            value: s.content_hash.clone(),
            unit: "sha256",
            from: s.from.to_string(),
            to: s.to.to_string(),
            note: s.title.clone(),
            ..Row::default()
        });
    }
    let s = &r.summary;
    for (measure, n) in [
        ("checks", s.checks),
        ("passed", s.passed),
        ("failed", s.failed),
        ("no_lettings", s.no_lettings),
        ("violations", s.violations),
    ] {
        rows.push(Row {
            section: "summary",
            scope: muni.clone(),
            measure: measure.into(),
            value: n.to_string(),
            unit: "count",
            ..Row::default()
        });
    }

    let m = &r.municipality_flexible;
    rows.count("municipality", &muni, "vacancies", &m.vacancies);
    rows.named("municipality", &muni, "vacancies", &m.vacancies_by_channel);
    rows.count("municipality", &muni, "lettings", &m.lettings);
    rows.named("municipality", &muni, "lettings", &m.lettings_by_channel);
    rows.count("municipality", &muni, "flexible", &m.flexible);
    rows.share("municipality", &muni, "flexible_share", m.flexible_share);
    for c in &m.checks {
        rows.check(c);
    }

    for d in &r.departments {
        let scope = format!("department:{}", d.id);
        rows.text(
            "department",
            &scope,
            "name",
            d.name.clone().unwrap_or_default(),
        );
        rows.text(
            "department",
            &scope,
            "organisation",
            d.organisation.clone().unwrap_or_default(),
        );
        rows.text(
            "department",
            &scope,
            "area",
            d.area.clone().unwrap_or_default(),
        );
        rows.text(
            "department",
            &scope,
            "class_at_end",
            d.class_at_end.clone().unwrap_or_default(),
        );
        rows.count("department", &scope, "vacancies", &d.vacancies);
        rows.named("department", &scope, "vacancies", &d.vacancies_by_channel);
        rows.count("department", &scope, "lettings", &d.lettings);
        rows.named("department", &scope, "lettings", &d.lettings_by_channel);
        rows.count("department", &scope, "flexible", &d.flexible);
        rows.share("department", &scope, "flexible_share", d.flexible_share);
        if let Some(agreed) = &d.agreed_share {
            rows.push(Row {
                section: "department",
                scope: scope.clone(),
                measure: "agreed_share".into(),
                value: agreed.clone(),
                unit: "share",
                note: d
                    .agreed_share_list
                    .as_ref()
                    .map(|l| format!("list {} sha256 {}", l.id, l.content_hash))
                    .unwrap_or_default(),
                ..Row::default()
            });
        }
        rows.push(Row {
            section: "department",
            scope: scope.clone(),
            measure: "status".into(),
            value: status_key(d.status).into(),
            unit: "text",
            status: status_key(d.status).into(),
            ..Row::default()
        });
        for c in &d.checks {
            rows.check(c);
        }
    }

    for a in &r.areas {
        let scope = format!("area:{}", a.id);
        rows.text("area", &scope, "name", a.name.clone().unwrap_or_default());
        for span in &a.classes {
            rows.push(Row {
                section: "class",
                scope: scope.clone(),
                measure: "class".into(),
                value: span.class.clone().unwrap_or_default(),
                unit: "text",
                from: span.from.to_string(),
                to: span.to.to_string(),
                note: match (&span.rule_id, &span.error) {
                    (Some(rule), _) => format!(
                        "rule {} ({}){}",
                        rule,
                        span.rule_set_id.as_deref().unwrap_or("-"),
                        span.statistics_decision
                            .as_ref()
                            .map(|s| format!("; statistics {s}"))
                            .unwrap_or_default()
                    ),
                    (None, Some(e)) => e.clone(),
                    (None, None) => String::new(),
                },
                ids: span.statistics_decision.clone().unwrap_or_default(),
                ..Row::default()
            });
        }
        for c in &a.changes {
            rows.push(Row {
                section: "class_change",
                scope: scope.clone(),
                measure: "class".into(),
                value: c.to_class.clone().unwrap_or_default(),
                unit: "text",
                from: c.date.to_string(),
                note: format!(
                    "from {} by rule {}",
                    c.from_class.as_deref().unwrap_or("unclassified"),
                    c.rule_id.as_deref().unwrap_or("-")
                ),
                ..Row::default()
            });
        }
        rows.count("area", &scope, "vacancies", &a.vacancies);
        rows.count("area", &scope, "lettings", &a.lettings);
        rows.count("area", &scope, "flexible", &a.flexible);
        rows.share("area", &scope, "flexible_share", a.flexible_share);
        for c in &a.checks {
            rows.check(c);
        }
    }

    let c = &r.combined_letting;
    for (measure, count) in [
        ("proposals", &c.proposals),
        ("sent_for_approval", &c.sent_for_approval),
        ("rejected_by_rules", &c.rejected_by_rules),
        ("approvals", &c.approvals),
        ("municipal_rejections", &c.municipal_rejections),
        ("pending_at_end", &c.pending_at_end),
    ] {
        rows.count("combined_letting", &muni, measure, count);
    }
    for reason in &c.rejections_by_reason {
        rows.push(Row {
            section: "combined_letting",
            scope: muni.clone(),
            measure: format!("rejected_by.{}", reason.reason),
            value: reason.count.count.to_string(),
            unit: "count",
            note: reason.source.clone().unwrap_or_default(),
            ids: reason.count.decision_ids.join(" "),
            ..Row::default()
        });
    }
    let o = &r.replacement_offers;
    for (measure, count) in [
        ("owed", &o.owed),
        ("made", &o.made),
        ("accepted", &o.accepted),
        ("declined", &o.declined),
    ] {
        rows.count("replacement_offers", &muni, measure, count);
    }
    let f = &r.referrals;
    for (measure, count) in [
        ("total", &f.total),
        ("accepted", &f.accepted),
        ("refused", &f.refused),
        ("compensating", &f.compensating),
    ] {
        rows.count("referrals", &muni, measure, count);
    }
    rows.named(
        "referrals",
        &muni,
        "compensating",
        &f.compensating_by_department,
    );
    let g = &r.grants;
    rows.amount("grants", &muni, "applications", &g.applications);
    rows.amount("grants", &muni, "approvals", &g.approvals);
    rows.amount("grants", &muni, "refusals", &g.refusals);
    for reason in &g.refusals_by_reason {
        rows.count(
            "grants",
            &muni,
            &format!("refused_by.{}", reason.reason),
            &reason.count,
        );
    }
    rows.amount("grants", &muni, "payments", &g.payments);
    rows.amount("grants", &muni, "cancellations", &g.cancellations);
    let pool_scope = format!("pool:{}", g.pool.year);
    if let Some(pool) = g.pool.pool_ore {
        rows.push(Row {
            section: "grant_pool",
            scope: pool_scope.clone(),
            measure: "pool".into(),
            value: money(pool),
            unit: "DKK",
            note: g.pool.rule_set_id.clone().unwrap_or_default(),
            ..Row::default()
        });
    }
    rows.amount("grant_pool", &pool_scope, "approved", &g.pool.approved);
    rows.amount("grant_pool", &pool_scope, "cancelled", &g.pool.cancelled);
    rows.amount("grant_pool", &pool_scope, "paid", &g.pool.paid);
    for (measure, ore) in [
        ("committed", Some(g.pool.committed_ore)),
        ("remaining", g.pool.remaining_ore),
    ] {
        rows.push(Row {
            section: "grant_pool",
            scope: pool_scope.clone(),
            measure: measure.into(),
            value: ore.map(money).unwrap_or_default(),
            unit: "DKK",
            to: r.period.to.to_string(),
            ..Row::default()
        });
    }

    for i in &r.indicators {
        let scope = format!("indicator:{}", i.number);
        let unit = match i.unit.as_str() {
            "share" => "share",
            "weeks" => "weeks",
            "dwellings" => "dwellings",
            _ => "count",
        };
        rows.push(Row {
            section: "indicator",
            scope: scope.clone(),
            measure: i.key.clone(),
            value: i.value.map(|v| v.to_string()).unwrap_or_default(),
            unit,
            target: i.target.map(|t| t.to_string()).unwrap_or_default(),
            status: assessment_word(i.assessment).replace(' ', "_"),
            from: i.since.map(|d| d.to_string()).unwrap_or_default(),
            to: r.period.to.to_string(),
            note: format!(
                "{}; baseline {}; target {}",
                i.name_en, i.baseline_text, i.target_text
            ),
            ids: [
                i.in_period
                    .as_ref()
                    .map(|c| c.decision_ids.join(" "))
                    .unwrap_or_default(),
                i.evidence.statistics_decisions.join(" "),
            ]
            .join(" ")
            .trim()
            .to_owned(),
        });
        if let Some(c) = &i.in_period {
            rows.count("indicator", &scope, &format!("{}.in_period", i.key), c);
        }
        for h in &i.history {
            rows.push(Row {
                section: "indicator_history",
                scope: scope.clone(),
                measure: i.key.clone(),
                value: h.value.map(|v| v.to_string()).unwrap_or_default(),
                unit,
                to: h.date.to_string(),
                note: h.label.clone(),
                ..Row::default()
            });
        }
    }

    for v in &r.violations {
        rows.push(Row {
            section: "violation",
            scope: v.scope.clone(),
            measure: v.kind.clone(),
            value: "1".into(),
            unit: "count",
            status: "fail".into(),
            to: v.date.map(|d| d.to_string()).unwrap_or_default(),
            note: format!(
                "{}{}",
                v.description,
                v.rule_id
                    .as_ref()
                    .map(|r| format!("; rule {r}"))
                    .unwrap_or_default()
            ),
            ids: v.decision_ids.join(" "),
            ..Row::default()
        });
    }

    rows
}

/// A text cell a spreadsheet will not run as a formula: one that begins with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading apostrophe. Number cells are written as
/// they are.
pub(crate) fn text_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod formula_tests {
    use super::text_cell;

    #[test]
    fn formula_prefixes_are_neutralised_in_text_cells() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            text_cell("department:kab-nordvest-3"),
            "department:kab-nordvest-3"
        );
    }
}
