//! Building the report from what was read: registry, checks, violations, rule sets used, notes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone};

use super::checks::{
    Letting, Target, channels_before_flexible, check, department_targets, in_segment, status_of,
};
use super::classes::{class_changes, class_spans, rule_set_spans, segments};
use super::combined::combined;
use super::counts::{count, count_of, named, ratio};
use super::events::Event;
use super::gather::Gathered;
use super::grants::grants;
use super::indicators::indicators;
use super::referrals::referrals;
use crate::log::Outcome;
use crate::model::{Channel, Completeness, CountedOver, QuotaModality, RuleBook, ShareSource};
use crate::report::Period;
use crate::report::model::*;
use crate::store::{DecisionKind, Department};

/// How lettings are bucketed, in report order.
const LETTING_BUCKETS: [&str; 6] = [
    "municipal_referral",
    "flexible",
    "internal_list",
    "external_list",
    "not_let_flexibly",
    "replacement_offer",
];

pub(super) fn build(book: &RuleBook, municipality: &str, period: &Period, g: Gathered) -> Report {
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
                        .map(crate::report::render::percent)
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
