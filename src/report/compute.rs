//! Computing the report: one read transaction gathers what the period needs from the
//! decision log (and the registry's lists of areas and departments); the rest is pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, TimeZone};
use rust_decimal::Decimal;

use super::model::*;
use super::{Period, ReportError, quarter_of};
use crate::engine;
use crate::engine::{GrantOutcome, LettingOutcome, ReferralOutcome};
use crate::log::{self, AreaStatisticsInput, Body, Outcome};
use crate::model::{
    Channel, Completeness, Condition, CountedOver, LettingEffect, NATIONAL, QuotaModality,
    RuleBook, Share, ShareSource,
};
use crate::store::{
    Area, DecisionColumns, DecisionFilter, DecisionKind, DecisionRecord, Department, Store, Tx,
};

/// Decisions read per page.
const PAGE: u32 = 1000;
/// Indicators 5 and 6 count from this date (the agreement's start).
fn indicators_since() -> NaiveDate {
    NaiveDate::from_ymd_opt(2007, 1, 1).unwrap_or(NaiveDate::MIN)
}
/// Quarters of indicator history shown, the period's own included.
const HISTORY_QUARTERS: i64 = 8;
/// Classes that are exposed areas (the 2007 agreement's and the national law's words).
const EXPOSED: [&str; 2] = ["exposed", "hard_exposed"];
const HIGH_RISK: [&str; 1] = ["high_risk"];
/// How lettings are bucketed, in report order.
const LETTING_BUCKETS: [&str; 6] = [
    "municipal_referral",
    "flexible",
    "internal_list",
    "external_list",
    "not_let_flexibly",
    "replacement_offer",
];

// ----- what is read --------------------------------------------------------------------------

/// A decision as the report needs it: the indexed columns and a few facts of the body.
#[derive(Debug, Clone)]
struct Event {
    id: String,
    kind: DecisionKind,
    date: NaiveDate,
    department: Option<String>,
    area: Option<String>,
    subject: Option<String>,
    outcome: Outcome,
    channel: Option<String>,
    area_class: Option<String>,
    amount_ore: Option<i64>,
    rule_set_id: Option<String>,
    rule_set_hash: Option<String>,
    /// The rules that fired (letting, referral, grant), with their legal source.
    fired: Vec<(String, Option<String>)>,
    /// A letting whose decision owes the applicant a replacement offer.
    obligations: bool,
    /// A municipal rejection that owes the applicant a replacement offer.
    replacement_owed: bool,
}

impl Event {
    fn from_record(d: DecisionRecord) -> Result<Event, ReportError> {
        let body = log::decode(&d).map_err(|e| ReportError::Corrupt(e.to_string()))?;
        Ok(Event::of(d, &body))
    }

    /// From a record whose body is still its stored text.
    fn from_text((d, text): (DecisionRecord, String)) -> Result<Event, ReportError> {
        let body = log::decode_text(&d, &text).map_err(|e| ReportError::Corrupt(e.to_string()))?;
        Ok(Event::of(d, &body))
    }

    fn of(d: DecisionRecord, body: &Body) -> Event {
        let fired = body
            .explanation()
            .map(|explanation| {
                explanation
                    .fired
                    .iter()
                    .map(|f| {
                        let source = match &f.source.section {
                            Some(section) => format!("{}, {section}", f.source.document),
                            None => f.source.document.to_string(),
                        };
                        (
                            f.rule_id.to_string(),
                            Some(source).filter(|s| !s.is_empty()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let obligations = matches!(body, Body::Letting(l) if !l.decision.obligations.is_empty());
        let replacement_owed =
            matches!(body, Body::MunicipalRejection(r) if r.act.replacement_owed);
        Event {
            id: d.id,
            kind: d.kind,
            date: d.event_date,
            department: d.department,
            area: d.area,
            subject: d.subject,
            outcome: body.outcome(),
            channel: d.channel,
            area_class: d.area_class,
            amount_ore: d.amount_ore,
            rule_set_id: d.rule_set_id,
            rule_set_hash: d.rule_set_hash,
            fired,
            obligations,
            replacement_owed,
        }
    }

    fn class_in(&self, classes: &[&str]) -> bool {
        self.area_class
            .as_deref()
            .is_some_and(|c| classes.contains(&c))
    }
}

/// One load of area statistics, from its decision.
#[derive(Debug, Clone)]
struct StatLoad {
    decision_id: String,
    date: NaiveDate,
    year: i32,
    areas: HashMap<String, AreaStatisticsInput>,
}

/// Everything the report reads, in one snapshot.
#[derive(Debug, Clone)]
struct Gathered {
    areas: Vec<Area>,
    departments: Vec<Department>,
    events: Vec<Event>,
    statistics: Vec<StatLoad>,
    /// Grant decisions, payments and cancellations from 1 January of the period's last
    /// year to its end.
    year_grants: Vec<Event>,
    pending: Vec<Event>,
    /// The indicator history's points: (label, date).
    points: Vec<(String, NaiveDate)>,
    /// Per point, the decisions of indicators 5 and 6 dated after the previous point.
    flexible_segments: Vec<u64>,
    approval_segments: Vec<u64>,
}

fn flexible_indicator_columns() -> DecisionColumns {
    DecisionColumns {
        channels: vec![Channel::Flexible.as_str().to_owned()],
        area_classes: EXPOSED
            .iter()
            .chain(HIGH_RISK.iter())
            .map(|c| (*c).to_owned())
            .collect(),
        ..DecisionColumns::default()
    }
}

fn approval_indicator_columns() -> DecisionColumns {
    DecisionColumns {
        area_classes: EXPOSED.iter().map(|c| (*c).to_owned()).collect(),
        ..DecisionColumns::default()
    }
}

/// Reads the decisions of `filter` page by page, each with its body as stored text.
async fn read_all(
    tx: &mut dyn Tx,
    filter: &DecisionFilter,
    mut each: impl FnMut((DecisionRecord, String)) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut after: Option<String> = None;
    loop {
        let page = tx.decision_texts(filter, after.as_deref(), PAGE).await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|(d, _)| d.id.clone());
        for d in page {
            each(d)?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// The history's points: the end of each quarter before the period's last quarter (at
/// most [`HISTORY_QUARTERS`] in all, none before 2007), then the period's end.
fn history_points(period: &Period) -> Vec<(String, NaiveDate)> {
    let (year, q) = quarter_of(period.to);
    let last = i64::from(year) * 4 + i64::from(q) - 1;
    let first = (last - HISTORY_QUARTERS + 1).max(2007 * 4);
    let mut points = Vec::new();
    for index in first..last {
        let (y, q) = (index.div_euclid(4), index.rem_euclid(4) + 1);
        if let (Ok(y), Ok(q)) = (i32::try_from(y), u32::try_from(q))
            && let Ok(quarter) = Period::quarter(y, q)
            && quarter.to < period.to
        {
            points.push((quarter.label, quarter.to));
        }
    }
    points.push((period.label.clone(), period.to));
    points
}

async fn gather(
    tx: &mut dyn Tx,
    municipality: &str,
    period: &Period,
) -> Result<Gathered, ReportError> {
    let areas = tx.areas(municipality).await?;
    let area_ids: HashSet<&str> = areas.iter().map(|a| a.id.as_str()).collect();
    let mut departments = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = tx
            .departments(municipality, None, after.as_deref(), PAGE)
            .await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|d| d.id.clone());
        departments.extend(
            page.into_iter()
                .filter(|d| area_ids.contains(d.area.as_str())),
        );
        if !full {
            break;
        }
    }

    // The period's own decisions, through the (municipality, event date) index.
    let mut events = Vec::new();
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        from: Some(period.from),
        to: Some(period.to),
        ..DecisionFilter::default()
    };
    read_all(tx, &filter, |d| {
        events.push(Event::from_text(d)?);
        Ok(())
    })
    .await?;

    let mut statistics = Vec::new();
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        kinds: vec![DecisionKind::Statistics],
        to: Some(period.to),
        ..DecisionFilter::default()
    };
    read_all(tx, &filter, |(d, text)| {
        let Body::Statistics(load) =
            log::decode_text(&d, &text).map_err(|e| ReportError::Corrupt(e.to_string()))?
        else {
            return Err(ReportError::Corrupt(format!(
                "decision `{}` was read as a statistics load but is a {}",
                d.id,
                d.kind.as_str()
            )));
        };
        statistics.push(StatLoad {
            decision_id: d.id,
            date: d.event_date,
            year: load.year,
            areas: load
                .areas
                .into_iter()
                .map(|a| (a.area.clone(), a))
                .collect(),
        });
        Ok(())
    })
    .await?;

    let mut year_grants = Vec::new();
    let filter = DecisionFilter {
        municipality: Some(municipality.to_owned()),
        kinds: vec![
            DecisionKind::Grant,
            DecisionKind::GrantPayment,
            DecisionKind::GrantCancellation,
        ],
        from: NaiveDate::from_ymd_opt(period.to.year(), 1, 1),
        to: Some(period.to),
        subject: None,
    };
    read_all(tx, &filter, |d| {
        year_grants.push(Event::from_text(d)?);
        Ok(())
    })
    .await?;

    let pending = tx
        .pending_lettings_as_of(municipality, period.to)
        .await?
        .into_iter()
        .map(Event::from_record)
        .collect::<Result<_, _>>()?;

    // Cumulative indicators: counts from the log, segment by segment.
    let points = history_points(period);
    let since = indicators_since();
    let mut flexible_segments = Vec::with_capacity(points.len());
    let mut approval_segments = Vec::with_capacity(points.len());
    let mut previous: Option<NaiveDate> = None;
    for (_, date) in &points {
        let from = previous
            .and_then(|p| p.succ_opt())
            .map_or(since, |p| p.max(since));
        previous = Some(*date);
        if *date < from {
            flexible_segments.push(0);
            approval_segments.push(0);
            continue;
        }
        let filter = |kind| DecisionFilter {
            municipality: Some(municipality.to_owned()),
            kinds: vec![kind],
            from: Some(from),
            to: Some(*date),
            subject: None,
        };
        flexible_segments.push(
            tx.count_decisions(&filter(DecisionKind::MoveIn), &flexible_indicator_columns())
                .await?,
        );
        approval_segments.push(
            tx.count_decisions(
                &filter(DecisionKind::Approval),
                &approval_indicator_columns(),
            )
            .await?,
        );
    }

    Ok(Gathered {
        areas,
        departments,
        events,
        statistics,
        year_grants,
        pending,
        points,
        flexible_segments,
        approval_segments,
    })
}

/// The compliance report of `municipality` for `period`, with every decision id
/// ([`Detail::Full`]; see [`Report::with_detail`]). Reads in one read transaction.
pub async fn compute(
    store: &Store,
    book: &RuleBook,
    municipality: &str,
    period: Period,
) -> Result<Report, ReportError> {
    let (m, p) = (municipality.to_owned(), period.clone());
    let gathered = store
        .read(move |tx| {
            let (m, p) = (m.clone(), p.clone());
            Box::pin(async move { gather(tx, &m, &p).await })
        })
        .await?;
    Ok(build(book, municipality, &period, gathered))
}

/// [`compute`] inside a transaction the caller holds.
pub async fn compute_in(
    tx: &mut dyn Tx,
    book: &RuleBook,
    municipality: &str,
    period: &Period,
) -> Result<Report, ReportError> {
    let gathered = gather(tx, municipality, period).await?;
    Ok(build(book, municipality, period, gathered))
}

impl Report {
    /// The report at `detail`: at [`Detail::Summary`] every list of decision ids is
    /// emptied (the counts stay).
    pub fn with_detail(mut self, detail: Detail) -> Report {
        self.detail = detail;
        if detail == Detail::Full {
            return self;
        }
        let strip = |ids: &mut Vec<String>| ids.clear();
        let strip_count = |c: &mut Count| c.decision_ids.clear();
        let strip_named =
            |list: &mut Vec<NamedCount>| list.iter_mut().for_each(|n| n.count.decision_ids.clear());
        let strip_checks = |checks: &mut Vec<Check>| {
            for c in checks {
                c.letting_ids.clear();
                c.flexible_ids.clear();
            }
        };
        for a in &mut self.areas {
            strip_count(&mut a.vacancies);
            strip_count(&mut a.lettings);
            strip_count(&mut a.flexible);
            strip_checks(&mut a.checks);
        }
        for d in &mut self.departments {
            strip_count(&mut d.vacancies);
            strip_named(&mut d.vacancies_by_channel);
            strip_count(&mut d.lettings);
            strip_named(&mut d.lettings_by_channel);
            strip_count(&mut d.flexible);
            strip_checks(&mut d.checks);
        }
        let m = &mut self.municipality_flexible;
        strip_count(&mut m.vacancies);
        strip_named(&mut m.vacancies_by_channel);
        strip_count(&mut m.lettings);
        strip_named(&mut m.lettings_by_channel);
        strip_count(&mut m.flexible);
        strip_checks(&mut m.checks);
        let c = &mut self.combined_letting;
        for count in [
            &mut c.proposals,
            &mut c.sent_for_approval,
            &mut c.rejected_by_rules,
            &mut c.approvals,
            &mut c.municipal_rejections,
            &mut c.pending_at_end,
        ] {
            strip_count(count);
        }
        c.rejections_by_reason
            .iter_mut()
            .for_each(|r| r.count.decision_ids.clear());
        let o = &mut self.replacement_offers;
        for count in [&mut o.owed, &mut o.made, &mut o.accepted, &mut o.declined] {
            strip_count(count);
        }
        let r = &mut self.referrals;
        for count in [
            &mut r.total,
            &mut r.accepted,
            &mut r.refused,
            &mut r.compensating,
        ] {
            strip_count(count);
        }
        strip_named(&mut r.compensating_by_department);
        let g = &mut self.grants;
        for a in [
            &mut g.applications,
            &mut g.approvals,
            &mut g.refusals,
            &mut g.payments,
            &mut g.cancellations,
            &mut g.pool.approved,
            &mut g.pool.cancelled,
            &mut g.pool.paid,
        ] {
            strip(&mut a.decision_ids);
        }
        g.refusals_by_reason
            .iter_mut()
            .for_each(|r| r.count.decision_ids.clear());
        for i in &mut self.indicators {
            if let Some(c) = &mut i.in_period {
                strip_count(c);
            }
        }
        for v in &mut self.violations {
            strip(&mut v.decision_ids);
        }
        self
    }
}

// ----- classification over the period -----------------------------------------------------

/// An area's class on one date, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClassAt {
    class: Option<String>,
    class_en: Option<String>,
    class_da: Option<String>,
    rule_set_id: Option<String>,
    rule_id: Option<String>,
    reason_en: Option<String>,
    reason_da: Option<String>,
    statistics_decision: Option<String>,
    lists: Vec<ListRef>,
    error: Option<String>,
}

/// The statistics of `area` in force on `date`: of the loads dated on or before it, for
/// a year not after its year, the latest year (then the latest load).
fn statistics_at<'s>(
    stats: &'s [StatLoad],
    area: &str,
    date: NaiveDate,
) -> Option<(&'s StatLoad, &'s AreaStatisticsInput)> {
    stats
        .iter()
        .filter(|s| s.date <= date && s.year <= date.year())
        .filter_map(|s| s.areas.get(area).map(|a| (s, a)))
        .max_by(|(a, _), (b, _)| {
            (a.year, a.date, &a.decision_id).cmp(&(b.year, b.date, &b.decision_id))
        })
}

fn classify_at(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    area: &str,
    date: NaiveDate,
) -> ClassAt {
    let found = statistics_at(stats, area, date);
    let facts = crate::model::AreaFacts {
        id: area.to_owned(),
        ..found.map(|(_, a)| a.facts.clone()).unwrap_or_default()
    };
    let statistics_decision = found.map(|(s, _)| s.decision_id.clone());
    match engine::classify(book, municipality, &facts, date) {
        Ok(c) => {
            let set = book.set(&c.explanation.rule_set_id);
            let term = set.and_then(|s| s.class_term(&c.class));
            let fired = c.explanation.fired.last();
            ClassAt {
                class: Some(c.class.to_string()),
                class_en: term.map(|t| t.en.to_string()),
                class_da: term.map(|t| t.da.to_string()),
                rule_set_id: Some(c.explanation.rule_set_id.to_string()),
                rule_id: fired.map(|f| f.rule_id.to_string()),
                reason_en: fired.map(|f| f.message_en.clone()),
                reason_da: fired.map(|f| f.message_da.clone()),
                statistics_decision,
                lists: c
                    .explanation
                    .reference_data
                    .iter()
                    .map(|r| ListRef {
                        id: r.id.to_string(),
                        content_hash: r.content_hash.to_string(),
                        completeness: r.completeness,
                    })
                    .collect(),
                error: None,
            }
        }
        Err(e) => ClassAt {
            class: None,
            class_en: None,
            class_da: None,
            rule_set_id: book.in_force(municipality, date).map(|s| s.id.to_string()),
            rule_id: None,
            reason_en: None,
            reason_da: None,
            statistics_decision,
            lists: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

fn applies_to(jurisdiction: &str, municipality: &str) -> bool {
    jurisdiction == municipality || jurisdiction == NATIONAL
}

/// The dates inside the period (after its first day) on which an area's class may
/// change: designation lists naming it start or end, rule sets (and their classification
/// rules) start or end, its statistics take effect, a new year begins.
fn change_dates(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    area: &str,
    period: &Period,
) -> Vec<NaiveDate> {
    let mut dates = BTreeSet::new();
    let mut add = |d: Option<NaiveDate>| {
        if let Some(d) = d
            && period.from < d
            && d <= period.to
        {
            dates.insert(d);
        }
    };
    for d in &book.reference.designations {
        if applies_to(&d.jurisdiction, municipality) && d.areas.contains_key(area) {
            add(Some(d.valid_from));
            add(d.valid_to.succ_opt());
        }
    }
    for s in &book.sets {
        if applies_to(&s.jurisdiction, municipality) {
            add(Some(s.effective_from));
            add(s.effective_to.and_then(|d| d.succ_opt()));
            for rule in &s.classification {
                add(rule.meta.effective_from);
                add(rule.meta.effective_to.and_then(|d| d.succ_opt()));
            }
        }
    }
    for s in stats.iter().filter(|s| s.areas.contains_key(area)) {
        add(NaiveDate::from_ymd_opt(s.year, 1, 1).map(|jan1| jan1.max(s.date)));
    }
    for year in period.from.year() + 1..=period.to.year() {
        add(NaiveDate::from_ymd_opt(year, 1, 1));
    }
    dates.into_iter().collect()
}

fn class_spans(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    area: &str,
    period: &Period,
) -> Vec<ClassSpan> {
    let mut spans: Vec<ClassSpan> = Vec::new();
    let starts =
        std::iter::once(period.from).chain(change_dates(book, municipality, stats, area, period));
    for start in starts {
        let at = classify_at(book, municipality, stats, area, start);
        if let Some(last) = spans.last_mut() {
            let same = last.class == at.class
                && last.rule_set_id == at.rule_set_id
                && last.rule_id == at.rule_id
                && last.statistics_decision == at.statistics_decision
                && last.designation_lists == at.lists
                && last.error == at.error;
            if same {
                continue;
            }
            last.to = start.pred_opt().unwrap_or(start);
        }
        spans.push(ClassSpan {
            from: start,
            to: period.to,
            class: at.class,
            class_en: at.class_en,
            class_da: at.class_da,
            rule_set_id: at.rule_set_id,
            rule_id: at.rule_id,
            reason_en: at.reason_en,
            reason_da: at.reason_da,
            statistics_decision: at.statistics_decision,
            designation_lists: at.lists,
            error: at.error,
        });
    }
    spans
}

fn class_changes(spans: &[ClassSpan]) -> Vec<ClassChange> {
    spans
        .windows(2)
        .filter(|w| w[0].class != w[1].class)
        .map(|w| ClassChange {
            date: w[1].from,
            from_class: w[0].class.clone(),
            to_class: w[1].class.clone(),
            rule_id: w[1].rule_id.clone(),
            rule_set_id: w[1].rule_set_id.clone(),
            reason_en: w[1].reason_en.clone().or_else(|| w[1].error.clone()),
        })
        .collect()
}

/// A part of the period with one class under one rule set: what a check covers.
#[derive(Debug, Clone)]
struct Segment {
    from: NaiveDate,
    to: NaiveDate,
    class: Option<String>,
    rule_set_id: Option<String>,
}

fn segments(spans: &[ClassSpan]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for s in spans {
        if let Some(last) = out.last_mut()
            && last.class == s.class
            && last.rule_set_id == s.rule_set_id
        {
            last.to = s.to;
            continue;
        }
        out.push(Segment {
            from: s.from,
            to: s.to,
            class: s.class.clone(),
            rule_set_id: s.rule_set_id.clone(),
        });
    }
    out
}

fn rule_set_spans(book: &RuleBook, municipality: &str, period: &Period) -> Vec<RuleSetSpan> {
    let mut starts = BTreeSet::from([period.from]);
    for s in book
        .sets
        .iter()
        .filter(|s| applies_to(&s.jurisdiction, municipality))
    {
        for d in [
            Some(s.effective_from),
            s.effective_to.and_then(|d| d.succ_opt()),
        ]
        .into_iter()
        .flatten()
        {
            if period.from < d && d <= period.to {
                starts.insert(d);
            }
        }
    }
    let starts: Vec<NaiveDate> = starts.into_iter().collect();
    let mut spans: Vec<RuleSetSpan> = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .and_then(|d| d.pred_opt())
            .unwrap_or(period.to);
        let Some(set) = book.in_force(municipality, *start) else {
            continue;
        };
        if let Some(last) = spans.last_mut()
            && last.rule_set_id == *set.id
            && last.to.succ_opt() == Some(*start)
        {
            last.to = end;
            continue;
        }
        spans.push(RuleSetSpan {
            rule_set_id: set.id.to_string(),
            title: set.title.to_string(),
            content_hash: set.content_hash.to_string(),
            from: *start,
            to: end,
        });
    }
    spans
}

// ----- counting ------------------------------------------------------------------------------

fn count(ids: Vec<String>) -> Count {
    Count {
        count: ids.len() as u64,
        decision_ids: ids,
    }
}

fn count_of<'e>(events: impl IntoIterator<Item = &'e Event>) -> Count {
    count(events.into_iter().map(|e| e.id.clone()).collect())
}

fn amount_of<'e>(events: impl IntoIterator<Item = &'e Event>) -> AmountCount {
    let mut out = AmountCount::default();
    for e in events {
        out.count += 1;
        out.amount_ore += e.amount_ore.unwrap_or(0);
        out.decision_ids.push(e.id.clone());
    }
    out
}

/// Counts by key, in the order of `known` and then the others sorted.
fn named(known: &[&str], items: &[(String, String)]) -> Vec<NamedCount> {
    let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, id) in items {
        by_key.entry(key.as_str()).or_default().push(id.clone());
    }
    let mut out: Vec<NamedCount> = known
        .iter()
        .map(|k| NamedCount {
            key: (*k).to_owned(),
            count: count(by_key.remove(k).unwrap_or_default()),
        })
        .collect();
    out.extend(by_key.into_iter().map(|(k, ids)| NamedCount {
        key: k.to_owned(),
        count: count(ids),
    }));
    out
}

fn ratio(part: u64, whole: u64) -> Option<Decimal> {
    (whole > 0).then(|| (Decimal::from(part) / Decimal::from(whole)).round_dp(4))
}

/// A dwelling let in the period.
#[derive(Debug, Clone)]
struct Letting {
    id: String,
    date: NaiveDate,
    department: Option<String>,
    area: Option<String>,
    bucket: String,
}

impl Letting {
    fn flexible(&self) -> bool {
        self.bucket == Channel::Flexible.as_str()
    }
}

/// A target for flexible lettings over a segment.
struct Target {
    kind: CheckKind,
    modality: QuotaModality,
    rule_id: String,
    share: Share,
    op: crate::model::CompareOp,
    list: Option<ListRef>,
    /// The channels that come before flexible letting in the rule set's order.
    before: Vec<String>,
}

/// The channels a rule set lets a vacancy go to before flexible letting.
fn channels_before_flexible(set: &crate::model::RuleSet) -> Vec<String> {
    set.channels
        .order
        .iter()
        .take_while(|c| **c != Channel::Flexible)
        .map(|c| c.as_str().to_owned())
        .collect()
}

/// The department-level targets of a segment's rule set for its class.
fn department_targets(
    book: &RuleBook,
    municipality: &str,
    department: &str,
    segment: &Segment,
    class_floor_only: bool,
) -> Vec<Target> {
    let (Some(set_id), Some(class)) = (&segment.rule_set_id, &segment.class) else {
        return Vec::new();
    };
    let Some(set) = book.set(set_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for q in set.channels.quotas.iter().filter(|q| {
        q.channel == Channel::Flexible
            && q.modality != QuotaModality::Cap
            && q.counted_over == CountedOver::Department
            && q.meta.in_force(segment.to)
            && q.applies_to_class(class)
    }) {
        let (kind, share, list) = match &q.share {
            ShareSource::Fixed(s) => (CheckKind::ClassFloor, *s, None),
            ShareSource::DepartmentAgreement { default } => {
                if class_floor_only {
                    continue;
                }
                match book
                    .reference
                    .flexible_share(municipality, department, segment.to)
                {
                    Some((list, s)) => (
                        CheckKind::AgreedShare,
                        s,
                        Some(ListRef {
                            id: list.id.to_string(),
                            content_hash: list.content_hash.to_string(),
                            completeness: list.provenance.completeness,
                        }),
                    ),
                    None => (CheckKind::AgreedShare, *default, None),
                }
            }
        };
        if share.is_zero() {
            continue;
        }
        out.push(Target {
            kind,
            modality: q.modality,
            rule_id: q.meta.id.to_string(),
            share,
            op: q.op,
            list,
            before: channels_before_flexible(set),
        });
    }
    out
}

fn check(
    target: &Target,
    scope: String,
    rule_set_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    area_class: Option<String>,
    lettings: &[&Letting],
) -> Check {
    // A share of 1 makes flexible letting mandatory for every vacancy that a channel
    // before it (municipal referral) does not take: those lettings are not in its base.
    let lettings: Vec<&Letting> = if target.share.as_decimal() == Decimal::ONE {
        lettings
            .iter()
            .filter(|l| !target.before.contains(&l.bucket))
            .copied()
            .collect()
    } else {
        lettings.to_vec()
    };
    let letting_ids: Vec<String> = lettings.iter().map(|l| l.id.clone()).collect();
    let flexible_ids: Vec<String> = lettings
        .iter()
        .filter(|l| l.flexible())
        .map(|l| l.id.clone())
        .collect();
    let (n, f) = (letting_ids.len() as u64, flexible_ids.len() as u64);
    let status = if n == 0 {
        CheckStatus::NoLettings
    } else if target.share.is_due(target.op, f, n) {
        CheckStatus::Fail
    } else {
        CheckStatus::Pass
    };
    Check {
        kind: target.kind,
        modality: target.modality,
        scope,
        rule_id: target.rule_id.clone(),
        rule_set_id: rule_set_id.to_owned(),
        from,
        to,
        area_class,
        target: target.share.to_string(),
        target_share: target.share.as_decimal().round_dp(4),
        list: target.list.clone(),
        lettings: n,
        flexible: f,
        required: target.share.of(n).round_dp(4).normalize(),
        share: ratio(f, n),
        status,
        letting_ids,
        flexible_ids,
    }
}

fn status_of(checks: &[Check]) -> CheckStatus {
    let has = |s| checks.iter().any(|c| c.status == s);
    if has(CheckStatus::Fail) {
        CheckStatus::Fail
    } else if has(CheckStatus::Pass) {
        CheckStatus::Pass
    } else if has(CheckStatus::NoLettings) {
        CheckStatus::NoLettings
    } else {
        CheckStatus::NoTarget
    }
}

fn in_segment<'l>(lettings: &[&'l Letting], from: NaiveDate, to: NaiveDate) -> Vec<&'l Letting> {
    lettings
        .iter()
        .filter(|l| from <= l.date && l.date <= to)
        .copied()
        .collect()
}

// ----- building the report -------------------------------------------------------------------

fn build(book: &RuleBook, municipality: &str, period: &Period, g: Gathered) -> Report {
    let events = &g.events;

    // Registry: areas and departments, and any that only the decisions name.
    let mut area_names: BTreeMap<String, Option<String>> = g
        .areas
        .iter()
        .map(|a| (a.id.clone(), Some(a.name.clone())))
        .collect();
    let mut departments: BTreeMap<String, (Option<&Department>, Option<String>)> = g
        .departments
        .iter()
        .map(|d| (d.id.clone(), (Some(d), Some(d.area.clone()))))
        .collect();
    for e in events {
        if let Some(dept) = &e.department {
            let entry = departments
                .entry(dept.clone())
                .or_insert((None, e.area.clone()));
            if entry.1.is_none() {
                entry.1 = e.area.clone();
            }
        }
        if let Some(area) = &e.area {
            area_names.entry(area.clone()).or_insert(None);
        }
    }
    for (_, area) in departments.values() {
        if let Some(area) = area {
            area_names.entry(area.clone()).or_insert(None);
        }
    }
    let area_of = |dept: &str| departments.get(dept).and_then(|(_, a)| a.clone());

    // Classes over the period.
    let spans: BTreeMap<&str, Vec<ClassSpan>> = area_names
        .keys()
        .map(|a| {
            (
                a.as_str(),
                class_spans(book, municipality, &g.statistics, a, period),
            )
        })
        .collect();

    // Vacancies and lettings.
    let vacancies: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::ChannelAssignment)
        .collect();
    let lettings: Vec<Letting> = events
        .iter()
        .filter_map(|e| {
            let bucket = match e.kind {
                DecisionKind::MoveIn => e.channel.clone().unwrap_or_else(|| "unknown".into()),
                DecisionKind::OfferAnswer
                    if e.outcome == Outcome::OfferAnswered { accepted: true } =>
                {
                    "replacement_offer".to_owned()
                }
                _ => return None,
            };
            let area = e
                .area
                .clone()
                .or_else(|| e.department.as_deref().and_then(area_of));
            Some(Letting {
                id: e.id.clone(),
                date: e.date,
                department: e.department.clone(),
                area,
                bucket,
            })
        })
        .collect();
    let vacancy_channels: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();

    // Departments.
    let mut department_reports = Vec::new();
    for (id, (registry, area)) in &departments {
        let own_vacancies: Vec<&Event> = vacancies
            .iter()
            .filter(|e| e.department.as_deref() == Some(id.as_str()))
            .copied()
            .collect();
        let own_lettings: Vec<&Letting> = lettings
            .iter()
            .filter(|l| l.department.as_deref() == Some(id.as_str()))
            .collect();
        let area_spans = area.as_deref().and_then(|a| spans.get(a));
        let mut checks = Vec::new();
        if let Some(area_spans) = area_spans {
            for seg in segments(area_spans) {
                let Some(set_id) = &seg.rule_set_id else {
                    continue;
                };
                let part = in_segment(&own_lettings, seg.from, seg.to);
                for t in department_targets(book, municipality, id, &seg, false) {
                    checks.push(check(
                        &t,
                        format!("department:{id}"),
                        set_id,
                        seg.from,
                        seg.to,
                        seg.class.clone(),
                        &part,
                    ));
                }
            }
        }
        let agreed = book.reference.flexible_share(municipality, id, period.to);
        let flexible: Vec<String> = own_lettings
            .iter()
            .filter(|l| l.flexible())
            .map(|l| l.id.clone())
            .collect();
        let n = own_lettings.len() as u64;
        department_reports.push(DepartmentReport {
            id: id.clone(),
            name: registry.map(|d| d.name.clone()),
            organisation: registry.map(|d| d.organisation.clone()),
            area: area.clone(),
            dwellings: registry.map(|d| d.dwellings),
            class_at_end: area_spans
                .and_then(|s| s.last())
                .and_then(|s| s.class.clone()),
            class_changed: area_spans.is_some_and(|s| !class_changes(s).is_empty()),
            vacancies: count_of(own_vacancies.iter().copied()),
            vacancies_by_channel: named(
                &vacancy_channels,
                &own_vacancies
                    .iter()
                    .map(|e| (e.outcome.as_str().to_owned(), e.id.clone()))
                    .collect::<Vec<_>>(),
            ),
            lettings: count(own_lettings.iter().map(|l| l.id.clone()).collect()),
            lettings_by_channel: named(
                &LETTING_BUCKETS,
                &own_lettings
                    .iter()
                    .map(|l| (l.bucket.clone(), l.id.clone()))
                    .collect::<Vec<_>>(),
            ),
            flexible_share: ratio(flexible.len() as u64, n),
            flexible: count(flexible),
            agreed_share: agreed.map(|(_, s)| s.to_string()),
            agreed_share_list: agreed.map(|(l, _)| ListRef {
                id: l.id.to_string(),
                content_hash: l.content_hash.to_string(),
                completeness: l.provenance.completeness,
            }),
            status: status_of(&checks),
            checks,
        });
    }

    // Areas.
    let mut area_reports = Vec::new();
    for (id, name) in &area_names {
        let area_spans = spans.get(id.as_str()).cloned().unwrap_or_default();
        let own_lettings: Vec<&Letting> = lettings
            .iter()
            .filter(|l| l.area.as_deref() == Some(id.as_str()))
            .collect();
        let own_vacancies: Vec<&Event> = vacancies
            .iter()
            .filter(|e| e.area.as_deref() == Some(id.as_str()))
            .copied()
            .collect();
        let mut checks = Vec::new();
        for seg in segments(&area_spans) {
            let Some(set_id) = &seg.rule_set_id else {
                continue;
            };
            let part = in_segment(&own_lettings, seg.from, seg.to);
            for t in department_targets(book, municipality, "", &seg, true) {
                checks.push(check(
                    &t,
                    format!("area:{id}"),
                    set_id,
                    seg.from,
                    seg.to,
                    seg.class.clone(),
                    &part,
                ));
            }
        }
        let flexible: Vec<String> = own_lettings
            .iter()
            .filter(|l| l.flexible())
            .map(|l| l.id.clone())
            .collect();
        area_reports.push(AreaReport {
            id: id.clone(),
            name: name.clone(),
            departments: departments
                .iter()
                .filter(|(_, (_, a))| a.as_deref() == Some(id.as_str()))
                .map(|(d, _)| d.clone())
                .collect(),
            class_at_start: area_spans.first().and_then(|s| s.class.clone()),
            class_at_end: area_spans.last().and_then(|s| s.class.clone()),
            changes: class_changes(&area_spans),
            classes: area_spans,
            vacancies: count_of(own_vacancies.iter().copied()),
            flexible_share: ratio(flexible.len() as u64, own_lettings.len() as u64),
            lettings: count(own_lettings.iter().map(|l| l.id.clone()).collect()),
            flexible: count(flexible),
            status: status_of(&checks),
            checks,
        });
    }

    // The municipality.
    let rule_sets = rule_set_spans(book, municipality, period);
    let all_lettings: Vec<&Letting> = lettings.iter().collect();
    let mut municipal_checks = Vec::new();
    for span in &rule_sets {
        let Some(set) = book.set(&span.rule_set_id) else {
            continue;
        };
        let part = in_segment(&all_lettings, span.from, span.to);
        for q in set.channels.quotas.iter().filter(|q| {
            q.channel == Channel::Flexible
                && q.modality != QuotaModality::Cap
                && q.counted_over == CountedOver::Municipality
                && q.meta.in_force(span.to)
        }) {
            let ShareSource::Fixed(share) = q.share else {
                continue;
            };
            let target = Target {
                kind: CheckKind::MunicipalShare,
                modality: q.modality,
                rule_id: q.meta.id.to_string(),
                share,
                op: q.op,
                list: None,
                before: channels_before_flexible(set),
            };
            municipal_checks.push(check(
                &target,
                format!("municipality:{municipality}"),
                &span.rule_set_id,
                span.from,
                span.to,
                None,
                &part,
            ));
        }
    }
    let all_flexible: Vec<String> = lettings
        .iter()
        .filter(|l| l.flexible())
        .map(|l| l.id.clone())
        .collect();
    let municipality_flexible = MunicipalityFlexible {
        vacancies: count_of(vacancies.iter().copied()),
        vacancies_by_channel: named(
            &vacancy_channels,
            &vacancies
                .iter()
                .map(|e| (e.outcome.as_str().to_owned(), e.id.clone()))
                .collect::<Vec<_>>(),
        ),
        lettings: count(lettings.iter().map(|l| l.id.clone()).collect()),
        lettings_by_channel: named(
            &LETTING_BUCKETS,
            &lettings
                .iter()
                .map(|l| (l.bucket.clone(), l.id.clone()))
                .collect::<Vec<_>>(),
        ),
        flexible_share: ratio(all_flexible.len() as u64, lettings.len() as u64),
        flexible: count(all_flexible),
        status: status_of(&municipal_checks),
        checks: municipal_checks,
    };

    let combined_letting = combined(book, events, &g.pending);
    let replacement_offers = ReplacementOffers {
        owed: count_of(events.iter().filter(|e| {
            (e.kind == DecisionKind::Letting && e.obligations)
                || (e.kind == DecisionKind::MunicipalRejection && e.replacement_owed)
        })),
        made: count_of(
            events
                .iter()
                .filter(|e| e.kind == DecisionKind::ReplacementOffer),
        ),
        accepted: count_of(events.iter().filter(|e| {
            e.kind == DecisionKind::OfferAnswer
                && e.outcome == Outcome::OfferAnswered { accepted: true }
        })),
        declined: count_of(events.iter().filter(|e| {
            e.kind == DecisionKind::OfferAnswer
                && e.outcome == Outcome::OfferAnswered { accepted: false }
        })),
    };
    let referrals = referrals(book, municipality, events);
    let grants = grants(book, municipality, period, events, &g.year_grants);
    let indicators = indicators(book, municipality, period, &g, &area_names);

    // Violations: every failed check and every barred referral.
    let mut violations = Vec::new();
    let all_checks = department_reports
        .iter()
        .flat_map(|d| d.checks.iter())
        .chain(area_reports.iter().flat_map(|a| a.checks.iter()))
        .chain(municipality_flexible.checks.iter());
    let mut summary = Summary::default();
    for c in all_checks {
        summary.checks += 1;
        match c.status {
            CheckStatus::Pass => summary.passed += 1,
            CheckStatus::Fail => summary.failed += 1,
            CheckStatus::NoLettings => summary.no_lettings += 1,
            CheckStatus::NoTarget => {}
        }
        if c.status == CheckStatus::Fail {
            violations.push(Violation {
                kind: "flexible_share".into(),
                scope: c.scope.clone(),
                rule_id: Some(c.rule_id.clone()),
                date: Some(c.to),
                description: format!(
                    "{} of {} lettings flexible ({}) from {} to {}; the target {} requires {}",
                    c.flexible,
                    c.lettings,
                    c.share
                        .map(super::render::percent)
                        .unwrap_or_else(|| "-".into()),
                    c.from,
                    c.to,
                    c.target,
                    c.required
                ),
                decision_ids: c.letting_ids.clone(),
            });
        }
    }
    for r in &referrals.into_barred_areas {
        violations.push(Violation {
            kind: "barred_referral".into(),
            scope: r
                .department
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |d| format!("department:{d}")),
            rule_id: None,
            date: Some(r.date),
            description: format!(
                "municipal referral into {} ({}) on {}: {}",
                r.area.as_deref().unwrap_or("an unknown area"),
                r.area_class.as_deref().unwrap_or("unclassified"),
                r.date,
                r.outcome.as_str()
            ),
            decision_ids: vec![r.decision_id.clone()],
        });
    }
    summary.violations = violations.len() as u64;

    // Decisions by the rule set that judged them.
    let mut uses: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in events {
        if let Some(id) = &e.rule_set_id {
            *uses
                .entry((id.clone(), e.rule_set_hash.clone().unwrap_or_default()))
                .or_default() += 1;
        }
    }
    let decisions_by_rule_set = uses
        .into_iter()
        .map(|((id, hash), n)| RuleSetUse {
            current_version: book.set(&id).is_some_and(|s| *s.content_hash == *hash),
            rule_set_id: id,
            rule_set_hash: hash,
            decisions: n,
        })
        .collect();

    let tz = chrono_tz::Europe::Copenhagen;
    let local_midnight = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map_or_else(|| format!("{d}T00:00:00"), |t| t.to_rfc3339())
    };
    let mut notes = vec![
        "Events fall in the period by their own date (the vacancy, letting, move-in, decision \
         or payment date), a calendar date in Danish local time (Europe/Copenhagen)."
            .to_owned(),
        "Lettings are dwellings let in the period: move-ins, and replacement offers accepted. \
         A letting is flexible when the tenant moved in through the flexible channel with \
         priority; a flexible vacancy let to an applicant without priority counts as \
         not_let_flexibly."
            .to_owned(),
        "Shares are checked against the targets of the rule set in force, for the class the \
         area had, over each part of the period; a check passes when flexible lettings meet \
         the target times the lettings exactly (the target's operator as the rule file \
         states it). A target of 1 (flexible letting mandatory) is checked over the \
         lettings that a channel before it, municipal referral, did not take."
            .to_owned(),
        "Classes are computed by the rules from the designation lists and the statistics \
         decisions in force on each date; a class change inside the period splits the checks."
            .to_owned(),
    ];
    if rule_sets.is_empty() {
        notes.push(format!(
            "No rule set is in force for municipality {municipality} in the period."
        ));
    }
    notes.push(
        "A check whose modality is `goal` (the 2007 agreement's \"målet\": every 9th vacancy in \
         the municipality, at least 44 % in high-risk areas) is monitored here and never \
         forced on a vacancy; a `floor` (a department's agreed share) is forced by the \
         channel assignment."
            .to_owned(),
    );
    notes.extend(incomplete_lists(book, &area_reports, &department_reports));

    Report {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        municipality: municipality.to_owned(),
        period: PeriodInfo {
            label: period.label.clone(),
            from: period.from,
            to: period.to,
            time_zone: TIME_ZONE.to_owned(),
            starts_at: local_midnight(period.from),
            ends_before: local_midnight(period.to.succ_opt().unwrap_or(period.to)),
            dating_rule: "an event falls in the period when its own date, in Danish local time \
                          (Europe/Copenhagen), lies from the first to the last day inclusive"
                .to_owned(),
        },
        detail: Detail::Full,
        generated_at: None,
        rule_sets,
        decisions_by_rule_set,
        decisions_in_period: events.len() as u64,
        summary,
        areas: area_reports,
        departments: department_reports,
        municipality_flexible,
        combined_letting,
        replacement_offers,
        referrals,
        grants,
        indicators,
        violations,
        notes,
    }
}

/// A note for every reference list behind the report's classes and checks that is not
/// complete: the figures resting on it say so.
fn incomplete_lists(
    book: &RuleBook,
    areas: &[AreaReport],
    departments: &[DepartmentReport],
) -> Vec<String> {
    let mut used: BTreeSet<&str> = BTreeSet::new();
    for a in areas {
        for c in &a.classes {
            used.extend(c.designation_lists.iter().map(|l| l.id.as_str()));
        }
    }
    for d in departments {
        used.extend(d.agreed_share_list.iter().map(|l| l.id.as_str()));
        for c in &d.checks {
            used.extend(c.list.iter().map(|l| l.id.as_str()));
        }
    }
    let provenance = |id: &str| {
        book.reference
            .designations
            .iter()
            .find(|d| &*d.id == id)
            .map(|d| &d.provenance)
            .or_else(|| {
                book.reference
                    .flexible_shares
                    .iter()
                    .find(|s| &*s.id == id)
                    .map(|s| &s.provenance)
            })
    };
    used.into_iter()
        .filter_map(|id| {
            let p = provenance(id)?;
            (p.completeness != Completeness::Complete).then(|| {
                format!(
                    "Reference list `{id}` is {}: {} Figures resting on it are not facts of the source.",
                    p.completeness.as_str(),
                    p.note.as_deref().unwrap_or("no note")
                )
            })
        })
        .collect()
}

fn combined(book: &RuleBook, events: &[Event], pending: &[Event]) -> CombinedLetting {
    let proposals: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::Letting && e.class_in(&EXPOSED))
        .collect();
    let rejected: Vec<&Event> = proposals
        .iter()
        .filter(|e| e.outcome == Outcome::Letting(LettingOutcome::Rejected))
        .copied()
        .collect();
    let municipal: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::MunicipalRejection)
        .collect();
    let mut reasons: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    for e in &rejected {
        let set = e.rule_set_id.as_deref().and_then(|id| book.set(id));
        let rejecting: Vec<&(String, Option<String>)> = e
            .fired
            .iter()
            .filter(|(id, _)| match set {
                Some(set) => set
                    .letting_rules
                    .iter()
                    .any(|r| *r.meta.id == **id && r.effect == LettingEffect::Reject),
                None => !id.contains(".class."),
            })
            .collect();
        if rejecting.is_empty() {
            reasons
                .entry("unknown".into())
                .or_default()
                .1
                .push(e.id.clone());
        }
        for (id, source) in rejecting {
            let entry = reasons.entry(id.clone()).or_default();
            if entry.0.is_none() {
                entry.0 = source.clone();
            }
            entry.1.push(e.id.clone());
        }
    }
    let mut rejections_by_reason: Vec<Reason> = reasons
        .into_iter()
        .map(|(reason, (source, ids))| Reason {
            reason,
            source,
            count: count(ids),
        })
        .collect();
    if !municipal.is_empty() {
        rejections_by_reason.push(Reason {
            reason: "municipal_rejection".into(),
            source: Some("the municipality's caseworker, with written reasons".into()),
            count: count_of(municipal.iter().copied()),
        });
    }
    CombinedLetting {
        sent_for_approval: count_of(
            proposals
                .iter()
                .filter(|e| e.outcome == Outcome::Letting(LettingOutcome::PendingMunicipalApproval))
                .copied(),
        ),
        rejected_by_rules: count_of(rejected.iter().copied()),
        proposals: count_of(proposals.iter().copied()),
        approvals: count_of(events.iter().filter(|e| e.kind == DecisionKind::Approval)),
        municipal_rejections: count_of(municipal.iter().copied()),
        rejections_by_reason,
        pending_at_end: count_of(pending),
        oldest_pending: pending.iter().map(|e| e.date).min(),
    }
}

/// The classes a rule set bars referrals to unconditionally.
fn barred_classes(book: &RuleBook, municipality: &str, date: NaiveDate) -> Vec<String> {
    match book.in_force(municipality, date) {
        Some(set) => set
            .referral_rules
            .iter()
            .filter(|r| r.meta.in_force(date) && matches!(r.when, Condition::Always))
            .flat_map(|r| r.applies_to_classes.iter().map(|c| c.to_string()))
            .collect(),
        None => EXPOSED
            .iter()
            .chain(HIGH_RISK.iter())
            .map(|c| (*c).to_owned())
            .collect(),
    }
}

fn referrals(book: &RuleBook, municipality: &str, events: &[Event]) -> Referrals {
    let all: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == DecisionKind::Referral)
        .collect();
    let mut barred = Vec::new();
    let mut compensating = Vec::new();
    for e in &all {
        let classes = barred_classes(book, municipality, e.date);
        let into_barred = e.outcome == Outcome::Referral(ReferralOutcome::Refused)
            || e.area_class
                .as_deref()
                .is_some_and(|c| classes.iter().any(|b| b == c));
        if into_barred {
            barred.push(BarredReferral {
                decision_id: e.id.clone(),
                date: e.date,
                department: e.department.clone(),
                area: e.area.clone(),
                area_class: e.area_class.clone(),
                outcome: e.outcome.as_str().to_owned(),
            });
        } else if e.outcome == Outcome::Referral(ReferralOutcome::Accepted) {
            compensating.push(*e);
        }
    }
    Referrals {
        total: count_of(all.iter().copied()),
        accepted: count_of(
            all.iter()
                .filter(|e| e.outcome == Outcome::Referral(ReferralOutcome::Accepted))
                .copied(),
        ),
        refused: count_of(
            all.iter()
                .filter(|e| e.outcome == Outcome::Referral(ReferralOutcome::Refused))
                .copied(),
        ),
        into_barred_areas: barred,
        compensating_by_department: named(
            &[],
            &compensating
                .iter()
                .map(|e| {
                    (
                        e.department.clone().unwrap_or_else(|| "unknown".into()),
                        e.id.clone(),
                    )
                })
                .collect::<Vec<_>>(),
        ),
        compensating: count_of(compensating.iter().copied()),
    }
}

fn grants(
    book: &RuleBook,
    municipality: &str,
    period: &Period,
    events: &[Event],
    year_grants: &[Event],
) -> Grants {
    let of_kind = |kind| events.iter().filter(move |e| e.kind == kind);
    let decided: Vec<&Event> = of_kind(DecisionKind::Grant).collect();
    let refused: Vec<&Event> = decided
        .iter()
        .filter(|e| e.outcome == Outcome::Grant(GrantOutcome::Refused))
        .copied()
        .collect();
    let mut reasons: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    for e in &refused {
        let (id, source) = e
            .fired
            .last()
            .cloned()
            .unwrap_or_else(|| ("unknown".into(), None));
        let entry = reasons.entry(id).or_default();
        if entry.0.is_none() {
            entry.0 = source;
        }
        entry.1.push(e.id.clone());
    }

    // The pool of the period's last year, as it stood at the period's end.
    let year = period.to.year();
    let set = NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| book.in_force(municipality, d));
    let approved: Vec<&Event> = year_grants
        .iter()
        .filter(|e| e.outcome == Outcome::Grant(GrantOutcome::Approved) && e.date.year() == year)
        .collect();
    let approved_ids: HashSet<&str> = approved
        .iter()
        .filter_map(|e| e.subject.as_deref())
        .collect();
    let settled = |kind| {
        amount_of(year_grants.iter().filter(|e| {
            e.kind == kind
                && e.subject
                    .as_deref()
                    .is_some_and(|s| approved_ids.contains(s))
        }))
    };
    let cancelled = settled(DecisionKind::GrantCancellation);
    let paid = settled(DecisionKind::GrantPayment);
    let approved = amount_of(approved.iter().copied());
    let pool_ore = set.and_then(|s| s.grants.as_ref().map(|g| g.pool_per_year.ore()));
    let pool = PoolAtEnd {
        year,
        rule_set_id: set.map(|s| s.id.to_string()),
        pool_ore,
        committed_ore: approved.amount_ore - cancelled.amount_ore - paid.amount_ore,
        remaining_ore: pool_ore.map(|p| p - approved.amount_ore + cancelled.amount_ore),
        approved,
        cancelled,
        paid,
    };

    Grants {
        applications: amount_of(decided.iter().copied()),
        approvals: amount_of(
            decided
                .iter()
                .filter(|e| e.outcome == Outcome::Grant(GrantOutcome::Approved))
                .copied(),
        ),
        refusals: amount_of(refused.iter().copied()),
        refusals_by_reason: reasons
            .into_iter()
            .map(|(reason, (source, ids))| Reason {
                reason,
                source,
                count: count(ids),
            })
            .collect(),
        payments: amount_of(of_kind(DecisionKind::GrantPayment)),
        cancellations: amount_of(of_kind(DecisionKind::GrantCancellation)),
        pool,
    }
}

// ----- indicators ----------------------------------------------------------------------------

fn dec(text: &str) -> Option<Decimal> {
    text.parse().ok()
}

/// Indicator 1 on a date: the dwellings of the areas on the exposed-area lists in force.
fn dwellings_on(
    book: &RuleBook,
    municipality: &str,
    date: NaiveDate,
    own_areas: &BTreeMap<String, Option<String>>,
    registry: &[Department],
) -> (Option<Decimal>, IndicatorEvidence, Vec<String>) {
    let mut evidence = IndicatorEvidence::default();
    let mut notes = Vec::new();
    let mut seen: BTreeMap<String, (Option<u32>, String)> = BTreeMap::new();
    for d in book
        .reference
        .designations_on(municipality, date)
        .filter(|d| EXPOSED.contains(&&*d.class))
    {
        evidence.designation_lists.push(ListRef {
            id: d.id.to_string(),
            content_hash: d.content_hash.to_string(),
            completeness: d.provenance.completeness,
        });
        if let Some(c) = d
            .provenance
            .dwellings_completeness
            .filter(|c| *c != Completeness::Complete)
        {
            notes.push(format!(
                "the dwelling counts of `{}` are {}: {}",
                d.id,
                c.as_str(),
                d.provenance.note.as_deref().unwrap_or_default()
            ));
        }
        for (area, (_, dwellings)) in &d.areas {
            // A national list names areas of every municipality: only this one's count.
            if *d.jurisdiction == *municipality || own_areas.contains_key(&**area) {
                let entry = seen
                    .entry(area.to_string())
                    .or_insert((None, d.id.to_string()));
                if entry.0.is_none() && dwellings.is_some() {
                    *entry = (*dwellings, d.id.to_string());
                }
            }
        }
    }
    evidence.designation_lists.sort();
    evidence.designation_lists.dedup();
    let mut total: u64 = 0;
    for (area, (dwellings, list)) in seen {
        let (value, source) = match dwellings {
            Some(n) => (Some(u64::from(n)), Some(list)),
            None => {
                let registered: Vec<&Department> =
                    registry.iter().filter(|d| d.area == area).collect();
                if registered.is_empty() {
                    notes.push(format!(
                        "list `{list}` gives no dwellings for {area}, and the registry has no \
                         departments there: it is not counted"
                    ));
                    (None, None)
                } else {
                    notes.push(format!(
                        "list `{list}` gives no dwellings for {area}: the registry's departments \
                         there are counted"
                    ));
                    (
                        Some(registered.iter().map(|d| u64::from(d.dwellings)).sum()),
                        Some("registry".to_owned()),
                    )
                }
            }
        };
        total += value.unwrap_or(0);
        evidence.areas.push(IndicatorArea {
            area,
            class: Some("exposed".into()),
            value: value.map(Decimal::from),
            residents: None,
            source,
        });
    }
    (Some(Decimal::from(total)), evidence, notes)
}

/// What indicators 2 to 4 average, and over which classes.
#[derive(Clone, Copy)]
struct Weighted {
    classes: &'static [&'static str],
    field: fn(&AreaStatisticsInput) -> Option<Decimal>,
    places: u32,
}

/// Indicators 2 to 4 on a date: a resident-weighted average over the areas of a class.
fn weighted_on(
    book: &RuleBook,
    municipality: &str,
    stats: &[StatLoad],
    date: NaiveDate,
    areas: &BTreeMap<String, Option<String>>,
    spec: Weighted,
) -> (Option<Decimal>, IndicatorEvidence, Vec<String>) {
    let Weighted {
        classes,
        field,
        places,
    } = spec;
    let mut evidence = IndicatorEvidence::default();
    let mut notes = Vec::new();
    let (mut sum, mut weight) = (Decimal::ZERO, Decimal::ZERO);
    for area in areas.keys() {
        let at = classify_at(book, municipality, stats, area, date);
        if !at.class.as_deref().is_some_and(|c| classes.contains(&c)) {
            continue;
        }
        let found = statistics_at(stats, area, date);
        let value = found.and_then(|(_, a)| field(a));
        let residents = found.and_then(|(_, a)| a.facts.residents);
        if let Some(id) = found.map(|(s, _)| s.decision_id.clone())
            && !evidence.statistics_decisions.contains(&id)
        {
            evidence.statistics_decisions.push(id);
        }
        match (value, residents) {
            (Some(v), Some(r)) if r > 0 => {
                sum += v * Decimal::from(r);
                weight += Decimal::from(r);
            }
            (None, _) => notes.push(format!(
                "{area} ({}) has no figure in its statistics: it is left out",
                at.class.as_deref().unwrap_or("-")
            )),
            _ => notes.push(format!(
                "{area} ({}) has no residents in its statistics to weigh by: it is left out",
                at.class.as_deref().unwrap_or("-")
            )),
        }
        evidence.areas.push(IndicatorArea {
            area: area.clone(),
            class: at.class.clone(),
            value,
            residents,
            source: found.map(|(s, _)| s.decision_id.clone()),
        });
    }
    let value = (weight > Decimal::ZERO).then(|| (sum / weight).round_dp(places));
    if value.is_none() && notes.is_empty() {
        notes.push(format!(
            "no area was of class {} with statistics on {date}",
            classes.join(" or ")
        ));
    }
    (value, evidence, notes)
}

#[allow(clippy::too_many_lines)]
fn indicators(
    book: &RuleBook,
    municipality: &str,
    period: &Period,
    g: &Gathered,
    areas: &BTreeMap<String, Option<String>>,
) -> Vec<Indicator> {
    let since = indicators_since();
    let spring_2007 = NaiveDate::from_ymd_opt(2007, 5, 1);
    let end_2010 = NaiveDate::from_ymd_opt(2010, 12, 31);
    let history = |f: &dyn Fn(NaiveDate) -> Option<Decimal>| -> Vec<HistoryPoint> {
        g.points
            .iter()
            .map(|(label, date)| HistoryPoint {
                label: label.clone(),
                date: *date,
                value: f(*date),
            })
            .collect()
    };
    let mut out = Vec::new();

    // 1. Dwellings in exposed areas.
    let (value, evidence, notes) =
        dwellings_on(book, municipality, period.to, areas, &g.departments);
    let baseline = Decimal::from(4627);
    out.push(Indicator {
        number: 1,
        key: "dwellings_in_exposed_areas".into(),
        name_en: "Dwellings in exposed areas".into(),
        name_da: "Antal boliger i de udsatte områder".into(),
        unit: "dwellings".into(),
        assessment: match value {
            Some(v) if v <= baseline => Assessment::Met,
            Some(_) => Assessment::NotMet,
            None => Assessment::NoData,
        },
        value,
        cumulative: false,
        since: None,
        in_period: None,
        baseline: Some(baseline),
        baseline_as_of: spring_2007,
        baseline_text: "4,627 dwellings (spring 2007)".into(),
        direction: Direction::NotIncrease,
        target: None,
        target_by: None,
        target_text: "stay flat or fall; no new exposed areas".into(),
        evidence,
        history: history(&|d| dwellings_on(book, municipality, d, areas, &g.departments).0),
        notes,
    });

    // 2-4. From the yearly area statistics.
    let transfer = |a: &AreaStatisticsInput| a.transfer_income_share;
    let weeks = |a: &AreaStatisticsInput| a.self_supporting_weeks;
    type Spec = (
        u8,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Weighted,
    );
    let specs: [Spec; 3] = [
        (
            2,
            "transfer_income_share_exposed",
            "Share of residents on transfer income in exposed areas",
            "Andel modtagere af overførselsindkomst i de udsatte boligområder",
            "share",
            Weighted {
                classes: &EXPOSED,
                field: transfer,
                places: 4,
            },
        ),
        (
            3,
            "transfer_income_share_high_risk",
            "Share of residents on transfer income in high-risk areas",
            "Andel modtagere af overførselsindkomst i højrisikoområderne",
            "share",
            Weighted {
                classes: &HIGH_RISK,
                field: transfer,
                places: 4,
            },
        ),
        (
            4,
            "self_supporting_weeks_exposed",
            "Weeks a year residents of exposed areas are self-supporting",
            "Antal uger pr. år, hvor borgere i de udsatte områder er selvforsørgende",
            "weeks",
            Weighted {
                classes: &EXPOSED,
                field: weeks,
                places: 2,
            },
        ),
    ];
    for (number, key, name_en, name_da, unit, spec) in specs {
        let (value, evidence, notes) =
            weighted_on(book, municipality, &g.statistics, period.to, areas, spec);
        let (baseline, baseline_text, direction, target, target_by, target_text) = match number {
            2 => (
                dec("0.5047"),
                "50.47 % (spring 2007)",
                Direction::Decrease,
                dec("0.4047"),
                end_2010,
                "fall by 10 points to 40.47 % in 2010",
            ),
            3 => (
                dec("0.45"),
                "45 % (spring 2007)",
                Direction::Decrease,
                None,
                None,
                "fall",
            ),
            _ => (
                dec("21"),
                "21 weeks (spring 2007)",
                Direction::Increase,
                None,
                None,
                "rise",
            ),
        };
        let assessment = match (value, baseline) {
            (None, _) | (_, None) => Assessment::NoData,
            (Some(v), Some(b)) => match (direction, target) {
                (Direction::Decrease, Some(t)) if v <= t => Assessment::Met,
                (Direction::Decrease, Some(_)) if v < b => Assessment::Improving,
                (Direction::Decrease, None) if v < b => Assessment::Met,
                (Direction::Increase, _) if v > b => Assessment::Met,
                _ => Assessment::NotMet,
            },
        };
        out.push(Indicator {
            number,
            key: key.into(),
            name_en: name_en.into(),
            name_da: name_da.into(),
            unit: unit.into(),
            value,
            cumulative: false,
            since: None,
            in_period: None,
            baseline,
            baseline_as_of: spring_2007,
            baseline_text: baseline_text.into(),
            direction,
            target,
            target_by,
            target_text: target_text.into(),
            assessment,
            evidence,
            history: history(&|d| weighted_on(book, municipality, &g.statistics, d, areas, spec).0),
            notes,
        });
    }

    // 5-6. Cumulative counts since 2007-01-01: counted by the store, segment by segment;
    // the period's own decisions listed.
    let cumulative = |segments: &[u64]| -> Vec<HistoryPoint> {
        let mut total = 0u64;
        g.points
            .iter()
            .zip(segments)
            .map(|((label, date), n)| {
                total += n;
                HistoryPoint {
                    label: label.clone(),
                    date: *date,
                    value: (*date >= since).then(|| Decimal::from(total)),
                }
            })
            .collect()
    };
    let counted = |segments: &[u64]| -> Option<u64> {
        (period.to >= since).then(|| segments.iter().sum::<u64>())
    };
    let in_period_from = period.from.max(since);
    let flexible_in_period = count_of(g.events.iter().filter(|e| {
        e.kind == DecisionKind::MoveIn
            && e.date >= in_period_from
            && e.channel.as_deref() == Some(Channel::Flexible.as_str())
            && (e.class_in(&EXPOSED) || e.class_in(&HIGH_RISK))
    }));
    let approvals_in_period = count_of(g.events.iter().filter(|e| {
        e.kind == DecisionKind::Approval && e.date >= in_period_from && e.class_in(&EXPOSED)
    }));
    let rising = |c: &Count| {
        if c.count > 0 {
            Assessment::Met
        } else {
            Assessment::NotMet
        }
    };
    let flexible_total = counted(&g.flexible_segments);
    out.push(Indicator {
        number: 5,
        key: "flexible_move_ins".into(),
        name_en: "Move-ins to exposed or high-risk areas through flexible letting since 1 January 2007".into(),
        name_da: "Antal tilflytninger til de udsatte boligområder eller højrisikoområder, der efter 1/1 2007 har fået en bolig gennem fleksibel udlejning".into(),
        unit: "decisions".into(),
        value: flexible_total.map(Decimal::from),
        cumulative: true,
        since: Some(since),
        assessment: if flexible_total.is_none() { Assessment::NoData } else { rising(&flexible_in_period) },
        in_period: Some(flexible_in_period),
        baseline: None,
        baseline_as_of: None,
        baseline_text: "no figures (spring 2007)".into(),
        direction: Direction::Increase,
        target: None,
        target_by: None,
        target_text: "rise".into(),
        evidence: IndicatorEvidence {
            filter: Some(format!(
                "kind = move_in, municipality = {municipality}, event_date {since} to {}, channel = flexible, area_class in (exposed, hard_exposed, high_risk)",
                period.to
            )),
            ..IndicatorEvidence::default()
        },
        history: cumulative(&g.flexible_segments),
        notes: Vec::new(),
    });
    let approvals_total = counted(&g.approval_segments);
    out.push(Indicator {
        number: 6,
        key: "combined_letting_approvals".into(),
        name_en: "Move-ins to exposed areas through combined letting since 1 January 2007 (the municipality's approvals)".into(),
        name_da: "Antal tilflytninger til de udsatte områder, der efter 1/1 2007 har fået en bolig gennem kombineret udlejning".into(),
        unit: "decisions".into(),
        value: approvals_total.map(Decimal::from),
        cumulative: true,
        since: Some(since),
        assessment: if approvals_total.is_none() { Assessment::NoData } else { rising(&approvals_in_period) },
        in_period: Some(approvals_in_period),
        baseline: Some(Decimal::from(33)),
        baseline_as_of: spring_2007,
        baseline_text: "33 move-ins approved by 1 May 2007".into(),
        direction: Direction::Increase,
        target: None,
        target_by: None,
        target_text: "rise".into(),
        evidence: IndicatorEvidence {
            filter: Some(format!(
                "kind = approval, municipality = {municipality}, event_date {since} to {}, area_class in (exposed, hard_exposed)",
                period.to
            )),
            ..IndicatorEvidence::default()
        },
        history: cumulative(&g.approval_segments),
        notes: Vec::new(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ends_at_the_period_and_starts_no_earlier_than_2007() {
        let p = Period::quarter(2007, 2).unwrap();
        let points = history_points(&p);
        assert_eq!(
            points.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            ["2007Q1", "2007Q2"]
        );
        let p = Period::quarter(2010, 3).unwrap();
        let points = history_points(&p);
        assert_eq!(points.len(), 8);
        assert_eq!(points[0].0, "2008Q4");
        assert_eq!(points[7].1, p.to);
        let p =
            Period::range("2007-05-01".parse().unwrap(), "2007-05-20".parse().unwrap()).unwrap();
        let points = history_points(&p);
        assert_eq!(points.last().unwrap().0, "2007-05-01..2007-05-20");
        assert_eq!(points.len(), 2);
    }
}
