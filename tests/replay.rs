//! Replay and purge over a `letting demo` database: every judged decision of 2007 is
//! derived again exactly with the rule book version that made it; a decision whose kept
//! facts were altered is found, with the field where it parts, and `letting replay` exits
//! 1; `letting purge` removes the facts of closed cases only, the report's figures stay the
//! same, and replay says which decisions it can no longer derive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::NaiveDate;

use letting_rules::demo::{self, DemoOptions};
use letting_rules::log::{self, Body, Inputs};
use letting_rules::model::RuleBook;
use letting_rules::replay::{self, NotReplayable, Verdict};
use letting_rules::report::{self, Period};
use letting_rules::rules;
use letting_rules::service::{Clock, Ledger, purge};
use letting_rules::store::{DecisionKind, DecisionRecord, Store};
use report_support::{all_decisions, book};

mod report_support;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn seeded(path: &Path) -> (Arc<Store>, RuleBook) {
    let url = format!("sqlite://{}", path.display());
    let store = Arc::new(Store::open(&url).await.unwrap());
    let book = book();
    let ledger = Ledger::new(store.clone(), book.clone(), Clock::system());
    demo::seed(&ledger, &DemoOptions::default()).await.unwrap();
    (store, book)
}

async fn judged(store: &Store) -> Vec<DecisionRecord> {
    let mut all = all_decisions(store).await;
    all.retain(|d| log::JUDGED_KINDS.contains(&d.kind));
    all
}

fn replay_cli(db: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["replay", "--from", "2007-01-01", "--to", "2007-12-31"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_replays_exactly_an_altered_fact_is_found_and_purge_keeps_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (store, book) = seeded(&db).await;
    let judged_decisions = judged(&store).await;

    // Every judged decision of the year, identical, under the one book that judged them.
    let summary = replay::replay(&store, "0101", d("2007-01-01"), d("2007-12-31"), |_| {})
        .await
        .unwrap();
    assert_eq!(summary.decisions as usize, judged_decisions.len());
    assert_eq!(
        summary.identical, summary.decisions,
        "{:?}",
        summary.problems
    );
    assert!(summary.all_identical());
    assert_eq!(summary.rule_books, [book.content_hash()]);
    let hash = book.content_hash();
    let kept = store
        .read(move |tx| {
            let hash = hash.clone();
            Box::pin(async move { tx.rule_book(&hash).await })
        })
        .await
        .unwrap()
        .expect("the book that judged is kept");
    assert_eq!(kept.activations.len(), 1);
    assert_eq!(kept.sources.len(), book.sources.len());

    // Alter the kept facts of one rejected letting: the applicant never had a benefit.
    let rejected = judged_decisions
        .iter()
        .find(|r| r.kind == DecisionKind::Letting && r.outcome == "rejected")
        .expect("the demo rejects lettings")
        .clone();
    let id = rejected.id.clone();
    let inputs = store
        .read(move |tx| {
            let ids = vec![id.clone()];
            Box::pin(async move { tx.decision_inputs(&ids).await })
        })
        .await
        .unwrap();
    let mut facts: Inputs = serde_json::from_value(inputs[0].1.clone()).unwrap();
    let Inputs::Letting(case) = &mut facts else {
        panic!("a letting keeps a letting case: {facts:?}");
    };
    for person in &mut case.household.persons {
        person.benefits.clear();
    }
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let changed = conn
            .execute(
                "UPDATE decision_inputs SET inputs = ?1 WHERE decision_id = ?2",
                rusqlite::params![serde_json::to_string(&facts).unwrap(), rejected.id],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let summary = replay::replay(&store, "0101", d("2007-01-01"), d("2007-12-31"), |_| {})
        .await
        .unwrap();
    assert_eq!(summary.differing, 1, "{:?}", summary.problems);
    assert_eq!(summary.problems[0].decision_id, rejected.id);
    let Verdict::Differs { field, .. } = &summary.problems[0].verdict else {
        panic!("{:?}", summary.problems[0]);
    };
    assert!(
        field.starts_with("explanation.") || field == "outcome",
        "{field}"
    );
    store.close().await;
    let (code, out) = replay_cli(&db);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("DIFFERS {}", rejected.id)), "{out}");

    // Purge the first half year: only closed cases lose their facts; the report of the
    // second quarter computes to the same figures, and replay names what it cannot derive.
    let store = Arc::new(
        Store::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap(),
    );
    let period = Period::quarter(2007, 2).unwrap();
    let before = report::compute(&store, &book, "0101", period.clone())
        .await
        .unwrap();
    let purged = purge::purge_personal_facts(&store, d("2007-07-01"))
        .await
        .unwrap();
    assert!(purged.purged > 0 && purged.kept_open > 0, "{purged:?}");
    assert_eq!(purged.with_facts, purged.purged + purged.kept_open);
    let after = report::compute(&store, &book, "0101", period)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&before).unwrap(),
        serde_json::to_value(&after).unwrap()
    );
    let summary = replay::replay(&store, "0101", d("2007-01-01"), d("2007-12-31"), |_| {})
        .await
        .unwrap();
    assert_eq!(summary.not_replayable, purged.purged);
    assert_eq!(
        summary.not_replayable_by_reason,
        [(NotReplayable::NoInputs, purged.purged)]
    );
    // Purging again removes nothing more: what is left belongs to open cases or is later.
    let again = purge::purge_personal_facts(&store, d("2007-07-01"))
        .await
        .unwrap();
    assert_eq!(again.purged, 0);
    assert_eq!(again.kept_open, purged.kept_open);
    // A kept open case is one an act may still follow: a pending letting, say.
    let open_ids: Vec<String> = judged(&store)
        .await
        .into_iter()
        .filter(|r| r.event_date < d("2007-07-01"))
        .map(|r| r.id)
        .collect();
    let still_kept = store
        .read(move |tx| {
            let ids = open_ids.clone();
            Box::pin(async move { tx.decision_inputs(&ids).await })
        })
        .await
        .unwrap();
    assert_eq!(still_kept.len() as u64, purged.kept_open);
    store.close().await;
}

#[test]
fn a_decision_from_before_rule_books_were_kept_is_not_replayable_and_says_why() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/log-v1-demo-2007.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines() {
        let mut row: serde_json::Value = serde_json::from_str(line).unwrap();
        row["schema_version"] = 1.into();
        let record: DecisionRecord = serde_json::from_value(row).unwrap();
        let body = log::decode(&record).unwrap();
        // Upgraded to the current layout: a judged decision names no rule book.
        assert_eq!(body.rule_book(), None, "{}", record.id);
        if log::JUDGED_KINDS.contains(&record.kind) {
            assert!(
                body.judged().is_some()
                    || matches!(body, Body::Approval(_) | Body::MunicipalRejection(_))
            );
        }
    }
}

/// The rules directory with § 51 b's 6 months raised to `months` in the 2005 layer.
fn rules_with_months(dir: &Path, months: u32) {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.unwrap();
        let target = dir.join(entry.path().strip_prefix(&from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    let layer = dir.join("sets/dk-2005.toml");
    let text = std::fs::read_to_string(&layer).unwrap();
    let edited = text.replace(
        "consecutive_calendar_months = 6,",
        &format!("consecutive_calendar_months = {months},"),
    );
    assert_ne!(text, edited, "the threshold is in the file");
    std::fs::write(layer, edited).unwrap();
}

/// The months the stored explanation says each person had, from its comparisons.
fn benefit_months(record: &DecisionRecord) -> Vec<u32> {
    let Body::Letting(l) = log::decode(record).unwrap() else {
        return Vec::new();
    };
    l.decision
        .explanation
        .fired
        .iter()
        .filter(|f| f.rule_id.ends_with("combined.benefit_rejection"))
        .flat_map(|f| f.comparisons.iter())
        .filter(|c| c.fact.ends_with(".benefit_months"))
        .filter_map(|c| c.actual.split(' ').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_if_lists_exactly_the_decisions_a_raised_threshold_flips_and_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (store, book) = seeded(&db).await;
    let proposed_dir = dir.path().join("proposed");
    rules_with_months(&proposed_dir, 9);
    let proposed = rules::load_dir(&proposed_dir).unwrap().book;
    let before_count = judged(&store).await.len();

    // Independently of the engine: a 2007 rejection under § 51 b stands at 9 months only
    // if every adult it counted had 9 months or more.
    let expected: std::collections::BTreeSet<String> = judged(&store)
        .await
        .into_iter()
        .filter(|r| r.kind == DecisionKind::Letting && r.outcome == "rejected")
        .filter(|r| benefit_months(r).iter().any(|m| *m < 9))
        .map(|r| r.id)
        .collect();
    assert!(!expected.is_empty());

    let w = replay::what_if(
        &store,
        &book,
        Arc::new(proposed),
        "0101",
        d("2007-01-01"),
        d("2007-12-31"),
    )
    .await
    .unwrap();
    let flipped: std::collections::BTreeSet<String> =
        w.flips.iter().map(|f| f.decision_id.clone()).collect();
    assert_eq!(flipped, expected);
    assert!(w.failing.is_empty(), "{:?}", w.failing);
    assert_eq!(w.judged_again, w.decisions);
    assert!(
        w.flips
            .iter()
            .all(|f| f.outcome_before == "rejected"
                && f.outcome_after == "pending_municipal_approval")
    );
    assert_eq!(w.by_outcome.len(), 1);
    assert_eq!(w.by_outcome[0].count as usize, expected.len());
    assert!(w.by_rule.iter().any(|g| g.key
        == "dk2005.combined.benefit_rejection (no longer fires)"
        && g.count as usize == expected.len()));
    let area_total: u64 = w.by_area.iter().map(|g| g.count).sum();
    assert_eq!(area_total as usize, expected.len());
    // The report's combined-letting figures move by exactly the flips.
    let figure = |measure: &str| {
        w.figures
            .iter()
            .find(|c| c.section == "combined_letting" && c.measure == measure)
            .unwrap_or_else(|| panic!("{measure} changes: {:?}", w.figures))
    };
    let moved = |measure: &str| {
        let c = figure(measure);
        c.after.parse::<i64>().unwrap() - c.before.parse::<i64>().unwrap()
    };
    let n = expected.len() as i64;
    assert_eq!(moved("rejected_by_rules"), -n);
    assert_eq!(moved("sent_for_approval"), n);
    // Nothing was written.
    assert_eq!(judged(&store).await.len(), before_count);
    store.close().await;

    // The command line, in each format; the HTML page carries its chart.
    for (format, needle) in [
        ("text", "would flip"),
        ("json", "\"flips\""),
        ("csv", "flip,"),
        ("html", "<svg role=\"img\""),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_letting"))
            .args([
                "what-if",
                "--from",
                "2007-01-01",
                "--to",
                "2007-12-31",
                "--format",
                format,
            ])
            .arg("--rules")
            .arg(&proposed_dir)
            .arg("--current-rules")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .arg("--database-url")
            .arg(format!("sqlite://{}", db.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{format}: {text}");
        assert!(text.contains(needle), "{format}: {text}");
    }
    // Proposed rules with an error judge nothing.
    std::fs::write(
        proposed_dir.join("sets/broken.toml"),
        "[rule_set]\nid = 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_letting"))
        .args(["what-if", "--from", "2007-01-01", "--to", "2007-12-31"])
        .arg("--rules")
        .arg(&proposed_dir)
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("proposed rules"));
}
