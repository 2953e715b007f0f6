//! The compliance report over small histories made through the service: an empty
//! quarter, the edges of a quarter, a class change inside a quarter, a rule-set change
//! inside a quarter, a grant cancelled in a later quarter, combined letting and referrals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod report_support;

use letting_rules::model::{Channel, QuotaModality};
use letting_rules::report::{Assessment, CheckKind, CheckStatus, Detail, Period, Report};
use letting_rules::store::DecisionKind;
use report_support::*;

/// Three departments of 2007: Tingbjerg (exposed), Bispeparken (statistics decide),
/// Nordvest (neutral).
async fn city_2007(bispeparken_without: u64) -> City {
    let city = City::new().await;
    city.registry(
        &["fsb", "akb", "kab"],
        &["tingbjerg", "bispeparken", "nordvest"],
        &[
            ("fsb-tingbjerg-1", "fsb", "tingbjerg", 2120),
            ("akb-bispeparken", "akb", "bispeparken", 900),
            ("kab-nordvest-3", "kab", "nordvest", 400),
        ],
    )
    .await;
    city.statistics(
        2007,
        "2007-01-01",
        &[
            ("tingbjerg", 4000, 2100, 8000, "0.5047", "21"),
            ("bispeparken", 1000, bispeparken_without, 2000, "0.45", "25"),
            ("nordvest", 2000, 300, 4000, "0.20", "40"),
        ],
    )
    .await;
    city
}

fn department<'r>(report: &'r Report, id: &str) -> &'r letting_rules::report::DepartmentReport {
    report
        .departments
        .iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("department {id} in the report"))
}

fn area<'r>(report: &'r Report, id: &str) -> &'r letting_rules::report::AreaReport {
    report
        .areas
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("area {id} in the report"))
}

fn indicator(report: &Report, number: u8) -> &letting_rules::report::Indicator {
    &report.indicators[usize::from(number) - 1]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_quarter_has_zeros_and_no_violations() {
    let city = city_2007(412).await;
    let report = city.quarter("2007Q3").await;
    assert_eq!(report.period.label, "2007Q3");
    assert_eq!(report.period.time_zone, "Europe/Copenhagen");
    assert_eq!(report.period.starts_at, "2007-07-01T00:00:00+02:00");
    assert_eq!(report.period.ends_before, "2007-10-01T00:00:00+02:00");
    assert_eq!(report.decisions_in_period, 0);
    assert_eq!(report.rule_sets.len(), 1);
    assert_eq!(
        report.rule_sets[0].rule_set_id,
        "dk-2005+kk-2007+kk-aftale-2007"
    );
    assert!(report.violations.is_empty());
    assert_eq!(report.summary.failed, 0);
    assert_eq!(report.summary.passed, 0);
    assert_eq!(report.summary.no_lettings, report.summary.checks);
    assert_eq!(report.municipality_flexible.lettings.count, 0);
    assert_eq!(report.municipality_flexible.flexible_share, None);
    for d in &report.departments {
        assert_eq!(d.vacancies.count + d.lettings.count + d.flexible.count, 0);
        assert!(
            d.checks.iter().all(|c| c.status == CheckStatus::NoLettings),
            "{d:?}"
        );
    }
    // Bispeparken is high-risk at 41.2 %: the agreed 30 % (forced) and the 44 % goal
    // (monitored) are checked.
    let b = department(&report, "akb-bispeparken");
    assert_eq!(b.class_at_end.as_deref(), Some("high_risk"));
    let kinds: Vec<(CheckKind, QuotaModality)> =
        b.checks.iter().map(|c| (c.kind, c.modality)).collect();
    assert_eq!(
        kinds,
        [
            (CheckKind::AgreedShare, QuotaModality::Floor),
            (CheckKind::ClassFloor, QuotaModality::Goal)
        ]
    );
    assert_eq!(b.agreed_share.as_deref(), Some("0.3"));

    // Indicators: the designation list and the statistics stand; nothing was counted.
    assert_eq!(indicator(&report, 1).value, Some(dec("4627")));
    assert_eq!(indicator(&report, 1).assessment, Assessment::Met);
    assert_eq!(
        indicator(&report, 1).evidence.designation_lists[0].id,
        "exposed-areas-0101-2007"
    );
    assert_eq!(indicator(&report, 2).value, Some(dec("0.5047")));
    assert_eq!(indicator(&report, 3).value, Some(dec("0.45")));
    assert_eq!(indicator(&report, 4).value, Some(dec("21")));
    for n in [5, 6] {
        let i = indicator(&report, n);
        assert_eq!(i.value, Some(dec("0")));
        assert_eq!(i.in_period.as_ref().map(|c| c.count), Some(0));
        assert_eq!(i.assessment, Assessment::NotMet, "nothing rose");
        assert_eq!(
            i.history
                .iter()
                .map(|h| h.label.as_str())
                .collect::<Vec<_>>(),
            ["2007Q1", "2007Q2", "2007Q3"]
        );
    }
    // The grant pool is untouched.
    assert_eq!(report.grants.pool.pool_ore, Some(100_000_000));
    assert_eq!(report.grants.pool.remaining_ore, Some(100_000_000));
    assert_eq!(report.grants.applications.count, 0);
    renders_everywhere(&report);
    renders_everywhere(&report.clone().with_detail(Detail::Summary));
}

#[tokio::test(flavor = "multi_thread")]
async fn events_fall_in_the_quarter_of_their_own_date() {
    let city = city_2007(412).await;
    let on_last_day = city.let_flat("kab", "kab-nordvest-3", "2007-06-30").await;
    // Vacant on the last day of June, let and moved into on the first of July.
    let (vacancy, _) = city.vacancy("kab", "kab-nordvest-3", "2007-06-30").await;
    let proposed = city
        .ledger
        .propose_letting(
            &organisation("kab"),
            "edge-letting",
            letting_rules::service::ProposeLetting {
                vacancy_id: vacancy.clone(),
                household: worker("edge-hh"),
                date: d("2007-07-01"),
                referral_id: None,
            },
        )
        .await
        .expect("letting");
    let moved = city
        .ledger
        .record_move_in(
            &organisation("kab"),
            "edge-move-in",
            letting_rules::service::RecordMoveIn {
                letting_id: proposed.letting_id.clone(),
                date: d("2007-07-01"),
            },
        )
        .await
        .expect("move-in");
    let on_first_day = city.let_flat("kab", "kab-nordvest-3", "2007-07-01").await;

    let all = city.decisions().await;
    let channel_decision_of = |vacancy_id: &str| {
        all.iter()
            .find(|d| {
                d.kind == DecisionKind::ChannelAssignment
                    && d.subject.as_deref() == Some(vacancy_id)
            })
            .map(|d| d.id.clone())
            .expect("the vacancy's decision")
    };

    let q2 = city.quarter("2007Q2").await;
    let n = department(&q2, "kab-nordvest-3");
    let mut expected = vec![
        channel_decision_of(&on_last_day.vacancy_id),
        channel_decision_of(&vacancy),
    ];
    expected.sort();
    let mut got = n.vacancies.decision_ids.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "both vacancies of 30 June are in the second quarter"
    );
    assert_eq!(
        n.lettings.decision_ids,
        [on_last_day.move_in_decision.clone().expect("moved in")]
    );

    let q3 = city.quarter("2007Q3").await;
    let n = department(&q3, "kab-nordvest-3");
    assert_eq!(
        n.vacancies.decision_ids,
        [channel_decision_of(&on_first_day.vacancy_id)]
    );
    let mut expected = vec![
        moved.decision_id.clone(),
        on_first_day.move_in_decision.clone().expect("moved in"),
    ];
    expected.sort();
    let mut got = n.lettings.decision_ids.clone();
    got.sort();
    assert_eq!(got, expected);

    // A range over both days has all of it, and says so in its label.
    let both = city
        .report(Period::range(d("2007-06-30"), d("2007-07-01")).expect("range"))
        .await;
    assert_eq!(both.period.label, "2007-06-30..2007-07-01");
    let n = department(&both, "kab-nordvest-3");
    assert_eq!((n.vacancies.count, n.lettings.count), (3, 3));
    assert_eq!(
        both.indicators[0].history.last().map(|h| h.label.as_str()),
        Some("2007-06-30..2007-07-01")
    );
    renders_everywhere(&both);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_class_change_inside_the_quarter_splits_the_checks() {
    // Bispeparken: 35 % without attachment (risk) from January...
    let city = city_2007(350).await;
    let mut before = Vec::new();
    for date in ["2007-04-10", "2007-04-20", "2007-05-01"] {
        before.push(city.let_flat("akb", "akb-bispeparken", date).await);
    }
    // ... then new figures for 2007, dated 15 May: 45 %, high-risk.
    let reload = city
        .statistics(
            2007,
            "2007-05-15",
            &[("bispeparken", 1000, 450, 2000, "0.47", "20")],
        )
        .await;
    let mut after = Vec::new();
    for date in ["2007-05-20", "2007-05-25", "2007-06-01", "2007-06-10"] {
        after.push(city.let_flat("akb", "akb-bispeparken", date).await);
    }
    let report = city.quarter("2007Q2").await;

    let a = area(&report, "bispeparken");
    assert_eq!(a.class_at_start.as_deref(), Some("risk"));
    assert_eq!(a.class_at_end.as_deref(), Some("high_risk"));
    assert_eq!(a.classes.len(), 2);
    assert_eq!(
        (a.classes[0].from, a.classes[0].to),
        (d("2007-04-01"), d("2007-05-14"))
    );
    assert_eq!(
        (a.classes[1].from, a.classes[1].to),
        (d("2007-05-15"), d("2007-06-30"))
    );
    assert_eq!(a.classes[0].rule_id.as_deref(), Some("cph2007.class.risk"));
    assert_eq!(
        a.classes[1].statistics_decision.as_deref(),
        Some(reload.as_str())
    );
    assert_ne!(
        a.classes[0].statistics_decision,
        a.classes[1].statistics_decision
    );
    assert_eq!(a.changes.len(), 1);
    let change = &a.changes[0];
    assert_eq!(change.date, d("2007-05-15"));
    assert_eq!(change.from_class.as_deref(), Some("risk"));
    assert_eq!(change.to_class.as_deref(), Some("high_risk"));
    assert_eq!(change.rule_id.as_deref(), Some("cph2007.class.high_risk"));
    assert_eq!(
        change.rule_set_id.as_deref(),
        Some("dk-2005+kk-2007+kk-aftale-2007")
    );

    let b = department(&report, "akb-bispeparken");
    assert!(b.class_changed);
    let agreed: Vec<_> = b
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::AgreedShare)
        .collect();
    let floor: Vec<_> = b
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::ClassFloor)
        .collect();
    assert_eq!(agreed.len(), 2, "the agreed share over each class's days");
    assert_eq!(floor.len(), 1, "the 44 % goal only while high-risk");
    assert_eq!(agreed[0].modality, QuotaModality::Floor);
    assert_eq!(
        floor[0].modality,
        QuotaModality::Goal,
        "monitored, never forced"
    );
    let ids = |lets: &[Let]| -> Vec<String> {
        lets.iter()
            .filter_map(|l| l.move_in_decision.clone())
            .collect()
    };
    assert_eq!(agreed[0].letting_ids, ids(&before));
    assert_eq!(agreed[0].area_class.as_deref(), Some("risk"));
    assert_eq!(agreed[1].letting_ids, ids(&after));
    assert_eq!(floor[0].from, d("2007-05-15"));
    assert_eq!(floor[0].letting_ids, ids(&after));
    assert_eq!(floor[0].rule_id, "cph2007.flexible.high_risk_goal");
    let flexible_after = after.iter().filter(|l| l.flexible).count() as u64;
    assert_eq!(floor[0].flexible, flexible_after);
    assert_eq!(
        floor[0].status == CheckStatus::Pass,
        flexible_after * 100 >= 44 * after.len() as u64
    );
    // Each letting's own recorded class is the class the report gives its day.
    let all = city.decisions().await;
    for l in before.iter().chain(after.iter()) {
        let id = l.move_in_decision.as_ref().expect("moved in");
        let recorded = all.iter().find(|d| &d.id == id).expect("decision");
        let span = a
            .classes
            .iter()
            .find(|s| s.from <= recorded.event_date && recorded.event_date <= s.to)
            .expect("a span");
        assert_eq!(recorded.area_class, span.class);
    }
    renders_everywhere(&report);
}

/// An area at 42 % without attachment that meets none of the national criteria and is on
/// no ministry list (Bispeparken itself is on the 2018 and 2019 exposed lists), over the
/// national change of 2018-12-01 and the end of Copenhagen's 2007 layers on 2019-06-30.
async fn bispeparken_2018_2019(dates: &[&str]) -> (City, Vec<Let>) {
    let city = City::new().await;
    city.registry(
        &["akb"],
        &["kk-unlisted"],
        &[("akb-bispeparken", "akb", "kk-unlisted", 900)],
    )
    .await;
    city.statistics_with(
        2018,
        "2018-01-01",
        vec![letting_rules::service::AreaStatisticsInput {
            area: "kk-unlisted".into(),
            facts: letting_rules::model::AreaFacts {
                id: "kk-unlisted".into(),
                working_age_residents: Some(1000),
                without_labour_market_attachment: Some(420),
                residents: Some(2000),
                share_without_work_or_education: Some(dec("0.30")),
                conviction_rate_ratio: Some(dec("1")),
                share_basic_schooling_only: Some(dec("0.40")),
                income_ratio_to_region: Some(dec("0.70")),
                // The ghetto criteria of 2014-2018 read these: none is met.
                share_non_western: Some(dec("0.30")),
                share_convicted: Some(dec("0.01")),
                ..Default::default()
            },
            transfer_income_share: Some(dec("0.44")),
            self_supporting_weeks: Some(dec("24")),
        }],
    )
    .await;
    let mut lets = Vec::new();
    for date in dates {
        lets.push(city.let_flat("akb", "akb-bispeparken", date).await);
    }
    (city, lets)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_set_change_inside_the_quarter_is_judged_part_by_part() {
    // National law changes on 2018-12-01; Copenhagen's decisions and agreement stay in
    // force within the new frame, so the area keeps its Copenhagen class.
    let (city, _) =
        bispeparken_2018_2019(&["2018-11-05", "2018-11-20", "2018-12-05", "2018-12-20"]).await;
    let report = city.quarter("2018Q4").await;
    let spans: Vec<(&str, _, _)> = report
        .rule_sets
        .iter()
        .map(|s| (s.rule_set_id.as_str(), s.from, s.to))
        .collect();
    assert_eq!(
        spans,
        [
            (
                "dk-2014+kk-2007+kk-aftale-2007",
                d("2018-10-01"),
                d("2018-11-30")
            ),
            (
                "dk-2018+kk-2007+kk-aftale-2007",
                d("2018-12-01"),
                d("2018-12-31")
            ),
        ]
    );
    let used: Vec<&str> = report
        .decisions_by_rule_set
        .iter()
        .map(|u| u.rule_set_id.as_str())
        .collect();
    assert_eq!(
        used,
        [
            "dk-2014+kk-2007+kk-aftale-2007",
            "dk-2018+kk-2007+kk-aftale-2007"
        ]
    );
    assert!(
        report
            .decisions_by_rule_set
            .iter()
            .all(|u| u.current_version)
    );
    let a = area(&report, "kk-unlisted");
    let classes: Vec<(Option<&str>, Option<&str>)> = a
        .classes
        .iter()
        .map(|s| (s.class.as_deref(), s.rule_set_id.as_deref()))
        .collect();
    assert_eq!(
        classes,
        [
            (Some("high_risk"), Some("dk-2014+kk-2007+kk-aftale-2007")),
            (Some("high_risk"), Some("dk-2018+kk-2007+kk-aftale-2007"))
        ]
    );
    assert!(a.changes.is_empty(), "{:?}", a.changes);
    let b = department(&report, "akb-bispeparken");
    let rules: Vec<(&str, _, _)> = b
        .checks
        .iter()
        .map(|c| (c.rule_id.as_str(), c.from, c.to))
        .collect();
    assert_eq!(
        rules,
        [
            (
                "cph2007.flexible.department_share",
                d("2018-10-01"),
                d("2018-11-30")
            ),
            (
                "cph2007.flexible.high_risk_goal",
                d("2018-10-01"),
                d("2018-11-30")
            ),
            (
                "cph2007.flexible.department_share",
                d("2018-12-01"),
                d("2018-12-31")
            ),
            (
                "cph2007.flexible.high_risk_goal",
                d("2018-12-01"),
                d("2018-12-31")
            ),
        ]
    );
    assert_eq!(b.checks[0].lettings, 2);
    assert_eq!(b.checks[2].lettings, 2);
    renders_everywhere(&report);

    // Copenhagen's 2007 layers end on 2019-06-30: from 2019-07-01 national law classifies
    // (the 2019 agreement has no classes or shares of its own), under which the area is not
    // exposed and no flexible share applies.
    let (city, _) =
        bispeparken_2018_2019(&["2019-06-05", "2019-06-20", "2019-07-05", "2019-07-20"]).await;
    let report = city
        .report(Period::range(d("2019-06-01"), d("2019-07-31")).expect("period"))
        .await;
    let a = area(&report, "kk-unlisted");
    let classes: Vec<(Option<&str>, Option<&str>)> = a
        .classes
        .iter()
        .map(|s| (s.class.as_deref(), s.rule_set_id.as_deref()))
        .collect();
    assert_eq!(
        classes,
        [
            (Some("high_risk"), Some("dk-2018+kk-2007+kk-aftale-2007")),
            (Some("not_exposed"), Some("dk-2018+kk-aftale-2019"))
        ]
    );
    assert_eq!(a.changes[0].date, d("2019-07-01"));
    assert_eq!(
        a.changes[0].rule_id.as_deref(),
        Some("dk2018.class.not_exposed")
    );
    let b = department(&report, "akb-bispeparken");
    let rules: Vec<(&str, _)> = b
        .checks
        .iter()
        .map(|c| (c.rule_id.as_str(), c.to))
        .collect();
    assert_eq!(
        rules,
        [
            ("cph2007.flexible.department_share", d("2019-06-30")),
            ("cph2007.flexible.high_risk_goal", d("2019-06-30")),
        ]
    );
    // The municipality-wide 1 in 9 belongs to the 2007 agreement only.
    let m: Vec<(&str, _)> = report
        .municipality_flexible
        .checks
        .iter()
        .map(|c| (c.rule_id.as_str(), c.to))
        .collect();
    assert_eq!(m, [("cph2007.flexible.municipal_target", d("2019-06-30"))]);
    assert_eq!(report.municipality_flexible.checks[0].lettings, 2);
    assert_eq!(
        report.municipality_flexible.checks[0].modality,
        QuotaModality::Goal
    );
    renders_everywhere(&report);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_cancelled_in_a_later_quarter_changes_only_that_quarter() {
    let city = city_2007(412).await;
    let (first, first_decision) = city.grant("2007-05-10").await;
    let (second, _) = city.grant("2007-05-11").await;
    city.settle(&second, "2007-06-01", true).await;
    let q2_before = city.quarter("2007Q2").await;
    city.settle(&first, "2007-08-01", false).await;
    let q2_after = city.quarter("2007Q2").await;
    assert_eq!(
        q2_before, q2_after,
        "a report of a past quarter does not change when later events are recorded"
    );

    let g = &q2_after.grants;
    assert_eq!(g.applications.count, 2);
    assert_eq!(g.approvals.count, 2);
    assert_eq!(g.approvals.amount_ore, 3_000_000);
    assert!(g.approvals.decision_ids.contains(&first_decision));
    assert_eq!((g.payments.count, g.payments.amount_ore), (1, 1_500_000));
    assert_eq!(g.cancellations.count, 0);
    assert_eq!(g.pool.committed_ore, 1_500_000);
    assert_eq!(g.pool.remaining_ore, Some(100_000_000 - 3_000_000));

    let q3 = city.quarter("2007Q3").await;
    let g = &q3.grants;
    assert_eq!(g.applications.count, 0);
    assert_eq!(
        (g.cancellations.count, g.cancellations.amount_ore),
        (1, 1_500_000)
    );
    assert_eq!(g.pool.approved.count, 2);
    assert_eq!(g.pool.cancelled.amount_ore, 1_500_000);
    assert_eq!(g.pool.paid.amount_ore, 1_500_000);
    assert_eq!(g.pool.committed_ore, 0);
    assert_eq!(g.pool.remaining_ore, Some(100_000_000 - 1_500_000));
    // The report's pool agrees with the service's own account of it.
    let pool = city
        .ledger
        .grant_pool(&municipality(), 2007)
        .await
        .expect("pool");
    assert_eq!(g.pool.remaining_ore, Some(pool.remaining.ore()));
    assert_eq!(g.pool.paid.amount_ore, pool.paid.ore());
    assert_eq!(g.pool.committed_ore, pool.committed.ore());
    renders_everywhere(&q3);
}

#[tokio::test(flavor = "multi_thread")]
async fn combined_letting_and_referrals_are_counted_with_their_reasons() {
    let city = city_2007(412).await;
    // Tingbjerg is exposed: a worker is approved, an applicant on cash benefit rejected,
    // and one proposal is still waiting at the end of June.
    let approved = city.let_flat("fsb", "fsb-tingbjerg-1", "2007-04-02").await;
    let rejected = city
        .let_to(
            "fsb",
            "fsb-tingbjerg-1",
            "2007-04-03",
            on_cash_benefit("hh-cash", "2006-01-01"),
        )
        .await;
    assert!(rejected.move_in_decision.is_none());
    let (waiting_vacancy, _) = city.vacancy("fsb", "fsb-tingbjerg-1", "2007-06-29").await;
    let waiting = city
        .ledger
        .propose_letting(
            &organisation("fsb"),
            "waiting",
            letting_rules::service::ProposeLetting {
                vacancy_id: waiting_vacancy,
                household: worker("hh-waiting"),
                date: d("2007-06-30"),
                referral_id: None,
            },
        )
        .await
        .expect("letting");
    // A referral into high-risk Bispeparken is refused; one into Nordvest is accepted.
    let (barred_vacancy, _) = city.vacancy("akb", "akb-bispeparken", "2007-05-02").await;
    let (barred, outcome) = city.referral(&barred_vacancy, "2007-05-02").await;
    assert_eq!(outcome, "Refused");
    let (open_vacancy, _) = city.vacancy("kab", "kab-nordvest-3", "2007-05-03").await;
    let (compensating, outcome) = city.referral(&open_vacancy, "2007-05-03").await;
    assert_eq!(outcome, "Accepted");

    let report = city.quarter("2007Q2").await;
    let c = &report.combined_letting;
    assert_eq!(c.proposals.count, 3);
    assert_eq!(c.sent_for_approval.count, 2);
    assert_eq!(c.rejected_by_rules.count, 1);
    assert_eq!(c.approvals.count, 1);
    assert_eq!(c.municipal_rejections.count, 0);
    assert_eq!(c.rejections_by_reason.len(), 1);
    assert_eq!(
        c.rejections_by_reason[0].reason,
        "dk2005.combined.benefit_rejection"
    );
    assert!(
        c.rejections_by_reason[0]
            .source
            .as_deref()
            .is_some_and(|s| s.contains("§ 51 b"))
    );
    assert_eq!(c.pending_at_end.count, 1);
    assert_eq!(c.oldest_pending, Some(d("2007-06-30")));
    let all = city.decisions().await;
    let letting_decision = |letting: &str| {
        all.iter()
            .find(|d| d.kind == DecisionKind::Letting && d.subject.as_deref() == Some(letting))
            .map(|d| d.id.clone())
            .expect("letting decision")
    };
    assert_eq!(
        c.pending_at_end.decision_ids,
        [letting_decision(&waiting.letting_id)]
    );
    assert_eq!(
        c.rejected_by_rules.decision_ids,
        [letting_decision(&rejected.letting_id)]
    );
    assert_eq!(report.replacement_offers.owed.count, 1);
    assert_eq!(
        indicator(&report, 6).in_period.as_ref().map(|c| c.count),
        Some(1)
    );
    assert_eq!(indicator(&report, 6).value, Some(dec("1")));
    assert!(approved.move_in_decision.is_some());
    assert_eq!(approved.channel == Channel::Flexible, approved.flexible);

    let r = &report.referrals;
    assert_eq!(
        (r.total.count, r.accepted.count, r.refused.count),
        (2, 1, 1)
    );
    assert_eq!(r.into_barred_areas.len(), 1);
    assert_eq!(r.into_barred_areas[0].decision_id, barred);
    assert_eq!(
        r.into_barred_areas[0].area_class.as_deref(),
        Some("high_risk")
    );
    assert_eq!(r.compensating.decision_ids, [compensating]);
    assert_eq!(r.compensating_by_department[0].key, "kab-nordvest-3");
    let violation = report
        .violations
        .iter()
        .find(|v| v.kind == "barred_referral")
        .expect("the barred referral is a violation");
    assert_eq!(violation.decision_ids, [barred]);

    // Approved in July: nothing is pending at the end of the third quarter.
    city.approve(&waiting.letting_id, "2007-07-02").await;
    let q3 = city.quarter("2007Q3").await;
    assert_eq!(q3.combined_letting.pending_at_end.count, 0);
    assert_eq!(q3.combined_letting.approvals.count, 1);
    assert_eq!(indicator(&q3, 6).value, Some(dec("2")));
    // ... and the second quarter's report still says one was pending then.
    assert_eq!(city.quarter("2007Q2").await, report);
}

#[tokio::test(flavor = "multi_thread")]
async fn summary_detail_keeps_every_figure_and_drops_the_ids() {
    let city = city_2007(412).await;
    for date in ["2007-04-02", "2007-04-03", "2007-04-04"] {
        city.let_flat("akb", "akb-bispeparken", date).await;
    }
    let full = city.quarter("2007Q2").await;
    let summary = full.clone().with_detail(Detail::Summary);
    assert_eq!(summary.detail, Detail::Summary);
    let b = department(&summary, "akb-bispeparken");
    assert_eq!(b.lettings.count, 3);
    assert!(b.lettings.decision_ids.is_empty());
    assert!(b.checks.iter().all(|c| c.letting_ids.is_empty()));
    let json = serde_json::to_value(&summary).expect("json");
    fn no_ids(v: &serde_json::Value, path: &str) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k.ends_with("_ids") {
                        assert_eq!(v, &serde_json::json!([]), "{path}.{k} is empty");
                    }
                    no_ids(v, &format!("{path}.{k}"));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    no_ids(v, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }
    no_ids(&json, "");
    assert_eq!(summary.summary, full.summary);
}
