//! The agreement's six indicators: values at the period's end, history and evidence.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::classes::{classify_at, statistics_at};
use super::counts::count_of;
use super::events::{EXPOSED, HIGH_RISK, StatLoad};
use super::gather::Gathered;
use super::history::indicators_since;
use crate::log::AreaStatisticsInput;
use crate::model::{Channel, Completeness, RuleBook};
use crate::report::Period;
use crate::report::model::*;
use crate::store::{DecisionKind, Department};

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
pub(super) fn indicators(
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
