//! The demo city: its counts are as designed, everything it did is in the decision log,
//! the same seed gives the same decisions, and the municipality approves exactly 33
//! lettings in exposed areas by 2007-05-01. Also `letting demo` itself, which refuses a
//! database that already holds decisions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use letting_rules::demo::{self, DemoOptions, DemoSummary};
use letting_rules::model::RuleBook;
use letting_rules::rules;
use letting_rules::service::Ledger;
use letting_rules::store::{DecisionFilter, DecisionKind, DecisionRecord, Store};

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

fn book() -> RuleBook {
    rules::load_dir(&rules_dir()).expect("rules load").book
}

async fn seed_into(dir: &Path, name: &str) -> (Arc<Store>, DemoSummary) {
    let url = format!("sqlite://{}", dir.join(name).display());
    let store = Arc::new(Store::open(&url).await.expect("open store"));
    let ledger = Ledger::new(
        store.clone(),
        book(),
        letting_rules::service::Clock::system(),
    );
    let summary = demo::seed(&ledger, &DemoOptions::default())
        .await
        .expect("the demo seeds");
    (store, summary)
}

async fn all_decisions(store: &Store) -> Vec<DecisionRecord> {
    let mut all: Vec<DecisionRecord> = Vec::new();
    loop {
        let after = all.last().map(|d| d.id.clone());
        let page = store
            .read(move |tx| {
                let after = after.clone();
                Box::pin(async move {
                    tx.decisions(&DecisionFilter::default(), after.as_deref(), 1000)
                        .await
                })
            })
            .await
            .expect("read decisions");
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return all;
        }
    }
}

type Key = (
    &'static str,
    NaiveDate,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The multiset of what was decided, without ids and recording times.
fn multiset(decisions: &[DecisionRecord]) -> BTreeMap<Key, usize> {
    let mut out = BTreeMap::new();
    for d in decisions {
        let key = (
            d.kind.as_str(),
            d.event_date,
            d.outcome.clone(),
            d.department.clone(),
            d.channel.clone(),
            d.area_class.clone(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn count(decisions: &[DecisionRecord], kind: DecisionKind) -> usize {
    decisions.iter().filter(|d| d.kind == kind).count()
}

fn count_outcome(decisions: &[DecisionRecord], kind: DecisionKind, outcome: &str) -> usize {
    decisions
        .iter()
        .filter(|d| d.kind == kind && d.outcome == outcome)
        .count()
}

fn assert_designed(s: &DemoSummary) {
    // The city.
    assert_eq!(s.municipality, "0101");
    assert_eq!((s.organisations, s.areas, s.departments), (5, 15, 19));
    assert_eq!(s.dwellings_in_exposed_areas, 4627, "indicator 1's baseline");
    // A year of vacancies, by department size.
    assert_eq!(s.vacancies, 1034);
    assert_eq!(s.vacancies_by_channel.values().sum::<usize>(), s.vacancies);
    for channel in ["flexible", "internal_list", "municipal_referral"] {
        assert!(
            s.vacancies_by_channel.get(channel).copied().unwrap_or(0) > 0,
            "no {channel} vacancy: {s:?}"
        );
    }
    let flexible = s.vacancies_by_channel["flexible"];
    assert!(flexible * 9 >= s.vacancies, "every 9th vacancy is flexible");
    // Lettings: every proposal has one outcome, every pending one is decided or waits.
    assert_eq!(
        s.proposals,
        s.proposals_rejected + s.proposals_pending_approval + s.proposals_approved
    );
    assert_eq!(
        s.proposals_pending_approval,
        s.approvals + s.municipal_rejections + s.pending_at_year_end
    );
    assert!(s.proposals_rejected >= 50, "{s:?}");
    assert!(s.municipal_rejections > 0 && s.municipal_rejections < s.approvals / 5);
    assert_eq!(s.approvals_in_exposed_areas_by_2007_05_01, 33);
    // Replacement offers: some accepted, some declined.
    assert!(s.replacement_offers > 0);
    assert!(s.offers_accepted > 0 && s.offers_declined > 0);
    assert!(s.offers_accepted + s.offers_declined <= s.replacement_offers);
    assert!(s.replacement_offers <= s.proposals_rejected + s.municipal_rejections);
    // Move-ins: only for approved lettings; a few flexible vacancies fall short.
    assert!(s.move_ins > 0);
    assert!(s.move_ins <= s.approvals + s.proposals_approved);
    assert!(s.move_ins_flexible_shortfall > 0 && s.move_ins_flexible_shortfall < 40);
    assert!(s.move_ins_flexible_indicator > 0);
    assert!(s.move_ins_combined_indicator > 0 && s.move_ins_combined_indicator <= s.approvals);
    // Referrals: most accepted, the violations refused.
    assert!(s.referrals_accepted >= s.vacancies_by_channel["municipal_referral"] * 9 / 10);
    assert_eq!(s.referrals_refused, 5);
    // Grants: 40 standard grants, two refused, one cancelled, most paid.
    assert_eq!((s.grants_approved, s.grants_refused), (40, 2));
    assert_eq!(s.grants_cancelled, 1);
    assert!(s.grants_paid >= 30 && s.grants_paid < s.grants_approved);
    assert_eq!(s.grants_paid_amount.ore(), s.grants_paid as i64 * 1_500_000);
}

/// Everything the summary counts is in the decision log, as the rules decided it.
fn assert_logged(s: &DemoSummary, log: &[DecisionRecord]) {
    use DecisionKind::*;
    assert_eq!(log.len(), s.decisions);
    assert_eq!(count(log, Registry), 5 + 15 + 19);
    assert_eq!(count(log, Statistics), 1);
    assert_eq!(count(log, ChannelAssignment), s.vacancies);
    for (channel, n) in &s.vacancies_by_channel {
        assert_eq!(count_outcome(log, ChannelAssignment, channel), *n);
    }
    assert_eq!(count(log, Letting), s.proposals);
    assert_eq!(
        count_outcome(log, Letting, "rejected"),
        s.proposals_rejected
    );
    assert_eq!(
        count_outcome(log, Letting, "pending_municipal_approval"),
        s.proposals_pending_approval
    );
    assert_eq!(
        count_outcome(log, Letting, "approved"),
        s.proposals_approved
    );
    assert_eq!(count(log, Approval), s.approvals);
    assert_eq!(count(log, MunicipalRejection), s.municipal_rejections);
    assert_eq!(count(log, ReplacementOffer), s.replacement_offers);
    assert_eq!(
        count_outcome(log, OfferAnswer, "accepted"),
        s.offers_accepted
    );
    assert_eq!(
        count_outcome(log, OfferAnswer, "declined"),
        s.offers_declined
    );
    assert_eq!(count(log, MoveIn), s.move_ins);
    assert_eq!(
        count_outcome(log, Referral, "accepted"),
        s.referrals_accepted
    );
    assert_eq!(count_outcome(log, Referral, "refused"), s.referrals_refused);
    assert_eq!(count_outcome(log, Grant, "approved"), s.grants_approved);
    assert_eq!(count_outcome(log, Grant, "refused"), s.grants_refused);
    assert_eq!(count(log, GrantPayment), s.grants_paid);
    assert_eq!(count(log, GrantCancellation), s.grants_cancelled);

    // Every act of the city happened in 2007 (the registry's own acts carry today's date).
    let (start, end) = (date("2007-01-01"), date("2007-12-31"));
    for d in log.iter().filter(|d| d.kind != Registry) {
        assert!(d.event_date >= start && d.event_date <= end, "{d:?}");
    }
    // Exactly 33 approvals in exposed areas on or before 2007-05-01.
    let early = log
        .iter()
        .filter(|d| {
            d.kind == Approval
                && d.area_class.as_deref() == Some("exposed")
                && d.event_date <= date("2007-05-01")
        })
        .count();
    assert_eq!(early, 33);
    // Lettings in exposed areas wait for approval or are rejected; nowhere else.
    for d in log.iter().filter(|d| d.kind == Letting) {
        let exposed = d.area_class.as_deref() == Some("exposed");
        assert_eq!(d.outcome != "approved", exposed, "{d:?}");
    }
    // Refused referrals went into barred areas; accepted ones elsewhere.
    for d in log.iter().filter(|d| d.kind == Referral) {
        let barred = matches!(d.area_class.as_deref(), Some("exposed" | "high_risk"));
        assert_eq!(d.outcome == "refused", barred, "{d:?}");
    }
    // Replacement dwellings lie outside exposed areas.
    for d in log.iter().filter(|d| d.kind == ReplacementOffer) {
        assert_ne!(d.area_class.as_deref(), Some("exposed"), "{d:?}");
    }
    // Events on both sides of the quarter edges.
    for edge in ["2007-03-31", "2007-04-01", "2007-06-30", "2007-07-01"] {
        let on = log.iter().filter(|d| d.event_date == date(edge)).count();
        assert!(on >= 3, "only {on} decisions on {edge}");
    }
    for kind in [ChannelAssignment, Approval, Grant] {
        assert!(
            log.iter()
                .any(|d| d.kind == kind && d.event_date == date("2007-03-31")),
            "no {} on 2007-03-31",
            kind.as_str()
        );
    }
    assert!(
        log.iter()
            .any(|d| d.kind == MoveIn && d.event_date == date("2007-07-01"))
    );
}

/// The registry and statistics behind indicators 1 to 4.
async fn assert_baselines(store: &Store, book: &RuleBook) {
    let (departments, stats) = store
        .read(|tx| {
            Box::pin(async move {
                let departments = tx.departments("0101", None, None, 1000).await?;
                let mut stats = Vec::new();
                for area in tx.areas("0101").await? {
                    stats.push(tx.area_statistics(&area.id, 2007).await?.expect("stats"));
                }
                Ok::<_, letting_rules::store::StoreError>((departments, stats))
            })
        })
        .await
        .expect("read registry");
    assert_eq!(departments.len(), 19);
    let designation = book
        .reference
        .designations_on("0101", date("2007-01-01"))
        .find(|d| &*d.class == "exposed")
        .expect("the 2007 designation");
    let mut exposed_total = 0;
    for (area, (_, dwellings)) in &designation.areas {
        let sum: u32 = departments
            .iter()
            .filter(|d| d.area == **area)
            .map(|d| d.dwellings)
            .sum();
        assert_eq!(Some(sum), *dwellings, "dwellings of {area}");
        exposed_total += sum;
    }
    assert_eq!(exposed_total, 4627);

    let in_class = |ids: &[&str]| {
        stats
            .iter()
            .filter(|s| ids.contains(&s.area.as_str()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let means = |group: &[letting_rules::store::AreaStatistics],
                 value: &dyn Fn(&letting_rules::store::AreaStatistics) -> Decimal| {
        let residents: Decimal = group
            .iter()
            .map(|s| Decimal::from(s.facts.residents.expect("residents")))
            .sum();
        let weighted: Decimal = group
            .iter()
            .map(|s| value(s) * Decimal::from(s.facts.residents.expect("residents")))
            .sum::<Decimal>()
            / residents;
        let simple = group.iter().map(value).sum::<Decimal>() / Decimal::from(group.len());
        (weighted, simple)
    };
    let exposed: Vec<&str> = designation.areas.keys().map(|a| &**a).collect();
    let exposed = in_class(&exposed);
    assert_eq!(exposed.len(), 5);
    let transfer = |s: &letting_rules::store::AreaStatistics| {
        s.transfer_income_share.expect("transfer-income share")
    };
    let weeks = |s: &letting_rules::store::AreaStatistics| {
        s.self_supporting_weeks.expect("self-supporting weeks")
    };
    let target = Decimal::new(5047, 4);
    assert_eq!(means(&exposed, &transfer), (target, target), "indicator 2");
    let target = Decimal::from(21);
    assert_eq!(means(&exposed, &weeks), (target, target), "indicator 4");
    // High-risk areas by their shares (41.2 %, 43.97 %, exactly 40 %).
    let high_risk = in_class(&["bispeparken", "urbanplanen", "gadelandet"]);
    for s in &high_risk {
        let share = s.facts.share_without_attachment().expect("share");
        assert!(share >= Decimal::new(40, 2) && share < Decimal::new(50, 2));
    }
    let target = Decimal::new(45, 2);
    assert_eq!(
        means(&high_risk, &transfer),
        (target, target),
        "indicator 3"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_city_is_as_designed_logged_and_deterministic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, summary) = seed_into(dir.path(), "first.db").await;
    let (second, again) = seed_into(dir.path(), "second.db").await;

    assert_designed(&summary);
    let log = all_decisions(&first).await;
    assert_logged(&summary, &log);
    assert_baselines(&first, &book()).await;

    // The same seed, the same decisions.
    assert_eq!(summary, again);
    let other = all_decisions(&second).await;
    assert_eq!(multiset(&log), multiset(&other));
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_seed_gives_another_year_of_the_same_design() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("other.db").display());
    let store = Arc::new(Store::open(&url).await.expect("open store"));
    let ledger = Ledger::new(
        store.clone(),
        book(),
        letting_rules::service::Clock::system(),
    );
    let summary = demo::seed(&ledger, &DemoOptions { seed: 42 })
        .await
        .expect("the demo seeds");
    assert_eq!(summary.approvals_in_exposed_areas_by_2007_05_01, 33);
    assert_eq!(summary.referrals_refused, 5);
    assert_eq!((summary.grants_approved, summary.grants_refused), (40, 2));
    assert_eq!(summary.vacancies, 1034);
    assert_logged(&summary, &all_decisions(&store).await);
    store.close().await;
}

/// PostgreSQL runs the same calls on several connections at once; the demo decides the
/// same there as on SQLite.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_decides_the_same_on_postgres() {
    let test = "the_demo_decides_the_same_on_postgres";
    let Some(db) = common::PgDatabase::create(test).await else {
        return;
    };
    let store = Arc::new(Store::open(&db.url).await.expect("open postgres"));
    let ledger = Ledger::new(
        store.clone(),
        book(),
        letting_rules::service::Clock::system(),
    );
    let on_postgres = demo::seed(&ledger, &DemoOptions::default())
        .await
        .expect("the demo seeds postgres");
    let pg_log = all_decisions(&store).await;
    store.close().await;
    db.drop_database().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let (sqlite, on_sqlite) = seed_into(dir.path(), "sqlite.db").await;
    assert_eq!(on_postgres, on_sqlite);
    assert_eq!(multiset(&pg_log), multiset(&all_decisions(&sqlite).await));
    sqlite.close().await;
}

#[test]
fn letting_demo_seeds_an_empty_database_and_refuses_a_used_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_letting"));
        for (name, _) in std::env::vars() {
            if name.starts_with("LETTING_") {
                command.env_remove(name);
            }
        }
        command
            .args(["demo", "--database-url", &url, "--rules"])
            .arg(rules_dir())
            .current_dir(dir.path())
            .output()
            .expect("run letting demo")
    };
    let first = run();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("vacancies registered"), "{stdout}");
    assert!(
        stdout.contains("(33 in exposed areas by 2007-05-01)"),
        "{stdout}"
    );
    assert!(stdout.contains("letting report --database-url"), "{stdout}");

    let second = run();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already holds decisions"), "{stderr}");
}
