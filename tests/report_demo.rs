//! The compliance report of the demo city's second quarter of 2007: a golden snapshot
//! (ids and file hashes redacted), every figure derived again here from the raw decisions
//! of the log, and `letting report` itself on the same database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod report_support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use letting_rules::demo::{self, DemoOptions};
use letting_rules::log::{self, Body};
use letting_rules::model::Share;
use letting_rules::report::{self, CheckStatus, Detail, Period, Report};
use letting_rules::service::{Ledger, LoadStatistics};
use letting_rules::store::{DecisionKind, DecisionRecord, Store};
use report_support::{all_decisions, book, d, renders_everywhere};

/// The demo city, seeded once for this test binary into a file the tests open.
fn demo_db() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("demo.db");
        let url = format!("sqlite://{}", path.display());
        // Seeded on a thread of its own: the caller is inside a test's runtime.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async {
                let store = Arc::new(Store::open(&url).await.expect("open store"));
                let ledger = Ledger::new(
                    store.clone(),
                    book(),
                    letting_rules::service::Clock::system(),
                );
                demo::seed(&ledger, &DemoOptions::default())
                    .await
                    .expect("the demo seeds");
                store.close().await;
            });
        })
        .join()
        .expect("the demo seeds");
        (dir, path)
    });
    path
}

async fn open_demo() -> Store {
    Store::open(&format!("sqlite://{}", demo_db().display()))
        .await
        .expect("open the demo")
}

async fn demo_report(quarter: &str) -> (Report, Vec<DecisionRecord>) {
    let store = open_demo().await;
    let report = report::compute(
        &store,
        &book(),
        "0101",
        Period::parse_quarter(quarter).expect("quarter"),
    )
    .await
    .expect("report");
    let all = all_decisions(&store).await;
    store.close().await;
    (report, all)
}

/// Decision ids and file hashes differ from run to run and file to file: replaced.
fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let is_uuid = s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4;
            let is_hash = s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit());
            if is_uuid {
                *s = "[decision id]".into();
            } else if is_hash {
                *s = "[sha256]".into();
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_report_of_the_demo_city_2007q2() {
    let (report, _) = demo_report("2007Q2").await;
    let mut value =
        serde_json::to_value(report.with_detail(Detail::Summary)).expect("the report as JSON");
    redact(&mut value);
    insta::assert_json_snapshot!("demo_2007q2", value);
}

fn in_period(d: &DecisionRecord, p: &Period) -> bool {
    p.contains(d.event_date)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn sorted_ids<'a>(ds: impl IntoIterator<Item = &'a DecisionRecord>) -> Vec<String> {
    sorted(ds.into_iter().map(|d| d.id.clone()).collect())
}

/// A dwelling let: a move-in, or a replacement offer accepted.
fn letting_bucket(d: &DecisionRecord) -> Option<String> {
    match d.kind {
        DecisionKind::MoveIn => d.channel.clone(),
        DecisionKind::OfferAnswer if d.outcome == "accepted" => Some("replacement_offer".into()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_figure_of_the_demo_report_derives_from_the_raw_decisions() {
    let (report, all) = demo_report("2007Q2").await;
    let period = Period::parse_quarter("2007Q2").expect("quarter");
    let q: Vec<&DecisionRecord> = all.iter().filter(|d| in_period(d, &period)).collect();
    assert_eq!(report.decisions_in_period, q.len() as u64);
    assert!(
        report.decisions_in_period > 500,
        "the demo's quarter is busy"
    );

    // The department of every decision, and the area of every department.
    let dept_area: BTreeMap<String, String> = all
        .iter()
        .filter_map(|d| Some((d.department.clone()?, d.area.clone()?)))
        .collect();
    let area_of = |d: &DecisionRecord| {
        d.area.clone().or_else(|| {
            d.department
                .as_ref()
                .and_then(|x| dept_area.get(x).cloned())
        })
    };

    // Departments: vacancies, lettings by channel, flexible lettings.
    let mut lettings_total = 0;
    for dept in &report.departments {
        let own = |d: &&&DecisionRecord| d.department.as_deref() == Some(dept.id.as_str());
        let vacancies: Vec<&DecisionRecord> = q
            .iter()
            .filter(own)
            .filter(|d| d.kind == DecisionKind::ChannelAssignment)
            .copied()
            .collect();
        assert_eq!(
            sorted(dept.vacancies.decision_ids.clone()),
            sorted_ids(vacancies.iter().copied()),
            "{}",
            dept.id
        );
        for n in &dept.vacancies_by_channel {
            let expected = sorted_ids(vacancies.iter().copied().filter(|d| d.outcome == n.key));
            assert_eq!(
                sorted(n.count.decision_ids.clone()),
                expected,
                "{} {}",
                dept.id,
                n.key
            );
            assert_eq!(n.count.count as usize, expected.len());
        }
        let lettings: Vec<&DecisionRecord> = q
            .iter()
            .filter(own)
            .filter(|d| letting_bucket(d).is_some())
            .copied()
            .collect();
        lettings_total += lettings.len();
        assert_eq!(dept.lettings.count as usize, lettings.len());
        assert_eq!(
            sorted(dept.lettings.decision_ids.clone()),
            sorted_ids(lettings.iter().copied())
        );
        for n in &dept.lettings_by_channel {
            let expected = sorted_ids(
                lettings
                    .iter()
                    .copied()
                    .filter(|d| letting_bucket(d).as_deref() == Some(n.key.as_str())),
            );
            assert_eq!(
                sorted(n.count.decision_ids.clone()),
                expected,
                "{} {}",
                dept.id,
                n.key
            );
        }
        let flexible = sorted_ids(lettings.iter().copied().filter(|d| {
            d.kind == DecisionKind::MoveIn && d.channel.as_deref() == Some("flexible")
        }));
        assert_eq!(sorted(dept.flexible.decision_ids.clone()), flexible);
        if !lettings.is_empty() {
            assert_eq!(
                dept.flexible_share,
                Some((Decimal::from(flexible.len()) / Decimal::from(lettings.len())).round_dp(4))
            );
        }
        // Every check: its lettings are the department's in its days; its verdict holds.
        for c in &dept.checks {
            let mut base: Vec<&DecisionRecord> = lettings
                .iter()
                .copied()
                .filter(|d| c.from <= d.event_date && d.event_date <= c.to)
                .collect();
            if c.target == "1" {
                base.retain(|d| letting_bucket(d).as_deref() != Some("municipal_referral"));
            }
            assert_eq!(
                sorted(c.letting_ids.clone()),
                sorted_ids(base.iter().copied())
            );
            let f = base
                .iter()
                .filter(|d| {
                    d.kind == DecisionKind::MoveIn && d.channel.as_deref() == Some("flexible")
                })
                .count() as u64;
            assert_eq!(c.flexible, f);
            assert_eq!(c.lettings, base.len() as u64);
            let share = Share::from_str(&c.target).expect("a share");
            let pass = !share.is_due(letting_rules::model::CompareOp::Ge, f, c.lettings);
            let expected = if c.lettings == 0 {
                CheckStatus::NoLettings
            } else if pass {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            };
            assert_eq!(c.status, expected, "{c:?}");
            // The class checked is the class the service recorded on each move-in.
            for d in base.iter().filter(|d| d.kind == DecisionKind::MoveIn) {
                assert_eq!(d.area_class, c.area_class, "{}", d.id);
            }
        }
    }

    // Areas: the class at the end is the class the service recorded in the period.
    for a in &report.areas {
        let recorded: BTreeSet<Option<String>> = q
            .iter()
            .filter(|d| d.area.as_deref() == Some(a.id.as_str()) && d.area_class.is_some())
            .map(|d| d.area_class.clone())
            .collect();
        if !recorded.is_empty() {
            assert_eq!(
                recorded,
                BTreeSet::from([a.class_at_end.clone()]),
                "area {}",
                a.id
            );
        }
        let lettings = sorted_ids(q.iter().copied().filter(|d| {
            letting_bucket(d).is_some() && area_of(d).as_deref() == Some(a.id.as_str())
        }));
        assert_eq!(
            sorted(a.lettings.decision_ids.clone()),
            lettings,
            "area {}",
            a.id
        );
    }

    // The municipality.
    let m = &report.municipality_flexible;
    assert_eq!(m.lettings.count as usize, lettings_total);
    let all_lettings: Vec<&DecisionRecord> = q
        .iter()
        .copied()
        .filter(|d| letting_bucket(d).is_some())
        .collect();
    assert_eq!(m.lettings.count as usize, all_lettings.len());
    let flexible = all_lettings
        .iter()
        .filter(|d| d.kind == DecisionKind::MoveIn && d.channel.as_deref() == Some("flexible"))
        .count() as u64;
    assert_eq!(m.flexible.count, flexible);
    assert_eq!(
        m.vacancies.count as usize,
        q.iter()
            .filter(|d| d.kind == DecisionKind::ChannelAssignment)
            .count()
    );
    let check = &m.checks[0];
    assert_eq!(check.target, "1/9");
    assert_eq!(
        check.status == CheckStatus::Pass,
        flexible * 9 >= all_lettings.len() as u64
    );

    // Combined letting.
    let exposed =
        |d: &DecisionRecord| matches!(d.area_class.as_deref(), Some("exposed" | "hard_exposed"));
    let c = &report.combined_letting;
    let proposals: Vec<&DecisionRecord> = q
        .iter()
        .copied()
        .filter(|d| d.kind == DecisionKind::Letting && exposed(d))
        .collect();
    assert_eq!(
        sorted(c.proposals.decision_ids.clone()),
        sorted_ids(proposals.iter().copied())
    );
    assert_eq!(
        sorted(c.rejected_by_rules.decision_ids.clone()),
        sorted_ids(
            proposals
                .iter()
                .copied()
                .filter(|d| d.outcome == "rejected")
        )
    );
    assert_eq!(
        sorted(c.sent_for_approval.decision_ids.clone()),
        sorted_ids(
            proposals
                .iter()
                .copied()
                .filter(|d| d.outcome == "pending_municipal_approval")
        )
    );
    assert_eq!(
        sorted(c.approvals.decision_ids.clone()),
        sorted_ids(
            q.iter()
                .copied()
                .filter(|d| d.kind == DecisionKind::Approval)
        )
    );
    assert_eq!(
        sorted(c.municipal_rejections.decision_ids.clone()),
        sorted_ids(
            q.iter()
                .copied()
                .filter(|d| d.kind == DecisionKind::MunicipalRejection)
        )
    );
    let reasons: u64 = c.rejections_by_reason.iter().map(|r| r.count.count).sum();
    assert_eq!(
        reasons,
        c.rejected_by_rules.count + c.municipal_rejections.count
    );
    // Pending at the end: proposed by then, neither approved nor rejected by then.
    let settled: HashSet<&str> = all
        .iter()
        .filter(|d| {
            matches!(
                d.kind,
                DecisionKind::Approval | DecisionKind::MunicipalRejection
            ) && d.event_date <= period.to
        })
        .filter_map(|d| d.subject.as_deref())
        .collect();
    let pending = sorted_ids(all.iter().filter(|d| {
        d.kind == DecisionKind::Letting
            && d.outcome == "pending_municipal_approval"
            && d.event_date <= period.to
            && d.subject.as_deref().is_some_and(|s| !settled.contains(s))
    }));
    assert_eq!(sorted(c.pending_at_end.decision_ids.clone()), pending);

    // Replacement offers.
    let o = &report.replacement_offers;
    let owed = sorted_ids(q.iter().copied().filter(|d| {
        match log::decode(d).expect("the demo's decisions decode") {
            Body::Letting(l) => !l.decision.obligations.is_empty(),
            Body::MunicipalRejection(r) => r.act.replacement_owed,
            _ => false,
        }
    }));
    assert_eq!(sorted(o.owed.decision_ids.clone()), owed);
    let answers = |outcome: &str| {
        sorted_ids(
            q.iter()
                .copied()
                .filter(|d| d.kind == DecisionKind::OfferAnswer && d.outcome == outcome),
        )
    };
    assert_eq!(sorted(o.accepted.decision_ids.clone()), answers("accepted"));
    assert_eq!(sorted(o.declined.decision_ids.clone()), answers("declined"));
    assert_eq!(
        sorted(o.made.decision_ids.clone()),
        sorted_ids(
            q.iter()
                .copied()
                .filter(|d| d.kind == DecisionKind::ReplacementOffer)
        )
    );

    // Referrals: every referral into an exposed or high-risk area is listed.
    let r = &report.referrals;
    let referrals: Vec<&DecisionRecord> = q
        .iter()
        .copied()
        .filter(|d| d.kind == DecisionKind::Referral)
        .collect();
    assert_eq!(
        sorted(r.total.decision_ids.clone()),
        sorted_ids(referrals.iter().copied())
    );
    let barred = sorted_ids(referrals.iter().copied().filter(|d| {
        matches!(d.area_class.as_deref(), Some("exposed" | "high_risk")) || d.outcome == "refused"
    }));
    assert_eq!(
        sorted(
            r.into_barred_areas
                .iter()
                .map(|b| b.decision_id.clone())
                .collect()
        ),
        barred
    );
    assert!(!barred.is_empty(), "the demo refers into barred areas");
    let compensating = sorted_ids(
        referrals
            .iter()
            .copied()
            .filter(|d| d.outcome == "accepted" && !barred.contains(&d.id)),
    );
    assert_eq!(sorted(r.compensating.decision_ids.clone()), compensating);

    // Grants, and the year's pool at the end of June.
    let g = &report.grants;
    let grants: Vec<&DecisionRecord> = q
        .iter()
        .copied()
        .filter(|d| d.kind == DecisionKind::Grant)
        .collect();
    let sum = |ds: &[&DecisionRecord]| ds.iter().map(|d| d.amount_ore.unwrap_or(0)).sum::<i64>();
    let approved: Vec<&DecisionRecord> = grants
        .iter()
        .copied()
        .filter(|d| d.outcome == "approved")
        .collect();
    assert_eq!(
        (g.approvals.count as usize, g.approvals.amount_ore),
        (approved.len(), sum(&approved))
    );
    assert_eq!(g.applications.count as usize, grants.len());
    let payments: Vec<&DecisionRecord> = q
        .iter()
        .copied()
        .filter(|d| d.kind == DecisionKind::GrantPayment)
        .collect();
    assert_eq!(g.payments.amount_ore, sum(&payments));
    let year_start = NaiveDate::from_ymd_opt(2007, 1, 1).expect("date");
    let to_date = |d: &&DecisionRecord| d.event_date >= year_start && d.event_date <= period.to;
    let year_approved: Vec<&DecisionRecord> = all
        .iter()
        .filter(to_date)
        .filter(|d| d.kind == DecisionKind::Grant && d.outcome == "approved")
        .collect();
    let year_ids: HashSet<&str> = year_approved
        .iter()
        .filter_map(|d| d.subject.as_deref())
        .collect();
    let year_cancelled: Vec<&DecisionRecord> = all
        .iter()
        .filter(to_date)
        .filter(|d| {
            d.kind == DecisionKind::GrantCancellation
                && d.subject.as_deref().is_some_and(|s| year_ids.contains(s))
        })
        .collect();
    assert_eq!(
        g.pool.remaining_ore,
        Some(100_000_000 - sum(&year_approved) + sum(&year_cancelled))
    );

    // Indicators 5 and 6: counted over every decision since 1 January 2007.
    let since = NaiveDate::from_ymd_opt(2007, 1, 1).expect("date");
    let cumulative = |until: NaiveDate, keep: &dyn Fn(&DecisionRecord) -> bool| {
        all.iter()
            .filter(|d| d.event_date >= since && d.event_date <= until && keep(d))
            .count()
    };
    let flexible_in = |d: &DecisionRecord| {
        d.kind == DecisionKind::MoveIn
            && d.channel.as_deref() == Some("flexible")
            && matches!(
                d.area_class.as_deref(),
                Some("exposed" | "high_risk" | "hard_exposed")
            )
    };
    let approval_in = |d: &DecisionRecord| d.kind == DecisionKind::Approval && exposed(d);
    for (number, keep) in [
        (5u8, &flexible_in as &dyn Fn(&DecisionRecord) -> bool),
        (6, &approval_in),
    ] {
        let i = &report.indicators[usize::from(number) - 1];
        assert_eq!(
            i.value,
            Some(Decimal::from(cumulative(period.to, keep))),
            "indicator {number}"
        );
        for h in &i.history {
            assert_eq!(
                h.value,
                Some(Decimal::from(cumulative(h.date, keep))),
                "indicator {number} at {}",
                h.label
            );
        }
        let own = sorted_ids(q.iter().copied().filter(|d| keep(d)));
        assert_eq!(
            sorted(i.in_period.clone().expect("in period").decision_ids),
            own
        );
    }
    // The status report's 33 approvals by 1 May 2007.
    assert_eq!(
        cumulative(
            NaiveDate::from_ymd_opt(2007, 5, 1).expect("date"),
            &approval_in
        ),
        33
    );

    // Indicator 1: the designation list of 2007.
    assert_eq!(report.indicators[0].value, Some(Decimal::from(4627)));
    // Indicators 2 to 4: resident-weighted over the areas of the class at the end, from
    // the statistics decisions themselves.
    let loads: Vec<(&DecisionRecord, LoadStatistics)> = all
        .iter()
        .filter(|d| d.kind == DecisionKind::Statistics && d.event_date <= period.to)
        .map(|d| {
            (
                d,
                match log::decode(d).expect("statistics body") {
                    Body::Statistics(load) => load,
                    other => panic!("not a statistics load: {other:?}"),
                },
            )
        })
        .collect();
    let classes: BTreeMap<&str, Option<&str>> = report
        .areas
        .iter()
        .map(|a| (a.id.as_str(), a.class_at_end.as_deref()))
        .collect();
    let weighted =
        |wanted: &[&str],
         field: &dyn Fn(&letting_rules::service::AreaStatisticsInput) -> Option<Decimal>| {
            let (mut sum, mut weight) = (Decimal::ZERO, Decimal::ZERO);
            for (area, class) in &classes {
                if !class.is_some_and(|c| wanted.contains(&c)) {
                    continue;
                }
                let latest = loads
                    .iter()
                    .filter(|(_, l)| l.year <= period.to.year())
                    .filter_map(|(d, l)| {
                        l.areas
                            .iter()
                            .find(|a| a.area == *area)
                            .map(|a| (l.year, d.event_date, a))
                    })
                    .max_by_key(|(year, date, _)| (*year, *date))
                    .map(|(_, _, a)| a)
                    .expect("statistics for the area");
                let residents = Decimal::from(latest.facts.residents.expect("residents"));
                sum += field(latest).expect("a figure") * residents;
                weight += residents;
            }
            (sum / weight).round_dp(4)
        };
    assert_eq!(
        report.indicators[1].value,
        Some(weighted(&["exposed"], &|a| a.transfer_income_share))
    );
    assert_eq!(
        report.indicators[2].value,
        Some(weighted(&["high_risk"], &|a| a.transfer_income_share))
    );
    assert_eq!(
        report.indicators[3].value.map(|v| v.round_dp(2)),
        Some(weighted(&["exposed"], &|a| a.self_supporting_weeks).round_dp(2))
    );
    assert_eq!(
        report.indicators[1].value,
        Some(report_support::dec("0.5047"))
    );
    assert_eq!(report.indicators[3].value, Some(report_support::dec("21")));

    // The summary and the violations agree with the checks.
    let checks: Vec<&letting_rules::report::Check> = report
        .departments
        .iter()
        .flat_map(|d| d.checks.iter())
        .chain(report.areas.iter().flat_map(|a| a.checks.iter()))
        .chain(m.checks.iter())
        .collect();
    assert_eq!(report.summary.checks as usize, checks.len());
    let failed = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    assert_eq!(report.summary.failed as usize, failed);
    assert_eq!(report.violations.len(), failed + r.into_barred_areas.len());
    renders_everywhere(&report);
}

#[tokio::test(flavor = "multi_thread")]
async fn letting_report_writes_every_format_from_the_same_database() {
    let db = demo_db();
    let out = tempfile::tempdir().expect("temp dir");
    let (library, _) = demo_report("2007Q2").await;
    for format in ["text", "json", "csv", "html"] {
        let file = out.path().join(format!("report.{format}"));
        let result = Command::new(env!("CARGO_BIN_EXE_letting"))
            .args(["report", "--quarter", "2007Q2", "--format", format, "--out"])
            .arg(&file)
            .arg("--database-url")
            .arg(format!("sqlite://{}", db.display()))
            .arg("--rules")
            .arg(report_support::rules_dir())
            .env_remove("LETTING_MUNICIPALITY")
            .output()
            .expect("run letting report");
        assert!(
            result.status.success(),
            "letting report --format {format}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let said = String::from_utf8_lossy(&result.stdout);
        assert!(said.contains("2007Q2"), "{said}");
        let written = std::fs::read_to_string(&file).expect("the report file");
        match format {
            "json" => {
                let mut report: Report = serde_json::from_str(&written).expect("the JSON reads");
                assert!(report.generated_at.is_some());
                report.generated_at = None;
                assert_eq!(
                    report, library,
                    "the command line writes what the library computes"
                );
            }
            "html" => assert!(written.contains("<svg class=\"chart\"")),
            "csv" => assert!(written.starts_with("\u{feff}section,scope,measure")),
            _ => assert!(written.contains("Compliance report 2007Q2")),
        }
    }
    // To standard output, at summary detail.
    let result = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args([
            "report",
            "--quarter",
            "2007q2",
            "--format",
            "json",
            "--detail",
            "summary",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .expect("run letting report");
    assert!(result.status.success());
    let report: Report = serde_json::from_slice(&result.stdout).expect("JSON on stdout");
    assert_eq!(report.detail, Detail::Summary);
    assert_eq!(report.summary, library.summary);
    // A database that is not there is an error, not an empty report.
    let result = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["report", "--quarter", "2007Q2", "--database-url"])
        .arg(format!(
            "sqlite://{}",
            out.path().join("missing.db").display()
        ))
        .output()
        .expect("run letting report");
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("no database"));
    let result = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["report", "--quarter", "2007Q9", "--database-url"])
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .expect("run letting report");
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("quarter"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_quarter_of_the_demo_year_adds_up() {
    let store = open_demo().await;
    let book = book();
    let mut lettings = 0;
    for q in 1..=4 {
        let report = report::compute(&store, &book, "0101", Period::quarter(2007, q).expect("q"))
            .await
            .expect("report");
        lettings += report.municipality_flexible.lettings.count;
        renders_everywhere(&report);
    }
    let year = report::compute(
        &store,
        &book,
        "0101",
        Period::range(d("2007-01-01"), d("2007-12-31")).expect("year"),
    )
    .await
    .expect("report");
    assert_eq!(year.municipality_flexible.lettings.count, lettings);
    assert_eq!(year.period.from.year(), 2007);
    store.close().await;
}
