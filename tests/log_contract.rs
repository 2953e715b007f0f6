//! The decision log's contract (`src/log`): every decision the service writes decodes into
//! its typed body, the indexed columns follow from the body, bodies written before the
//! schema was versioned still decode (and a database of that time opens and reads), and a
//! body of a newer or unknown layout is refused with where and why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use letting_rules::demo::{self, DemoOptions};
use letting_rules::engine::LettingOutcome;
use letting_rules::log::{self, Body, Entry, LogError, RegistryRecord, SCHEMA_VERSION};
use letting_rules::service::{Clock, Ledger};
use letting_rules::store::{DecisionFilter, DecisionKind, DecisionRecord, Store};
use report_support::{all_decisions, book};

mod report_support;

/// The record `body` gives when written again where `stored` belongs: what the log derives
/// must be what was stored.
fn written_again(stored: &DecisionRecord, body: Body) -> DecisionRecord {
    Entry::replacing(stored, body)
        .into_record()
        .expect("a decoded body encodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_of_the_demo_decodes_and_its_columns_follow_from_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = Arc::new(Store::open(&url).await.unwrap());
    let ledger = Ledger::new(store.clone(), book(), Clock::system());
    demo::seed(&ledger, &DemoOptions::default()).await.unwrap();

    let decisions = all_decisions(&store).await;
    assert!(decisions.len() > 3000, "{} decisions", decisions.len());
    // The same decisions with their bodies as stored text decode to the same bodies.
    let texts = store
        .read(|tx| {
            Box::pin(async move {
                tx.decision_texts(&DecisionFilter::default(), None, 100_000)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(texts.len(), decisions.len());
    for ((record, text), stored) in texts.iter().zip(&decisions) {
        assert_eq!(record.id, stored.id);
        assert_eq!(
            log::decode_text(record, text).unwrap_or_else(|e| panic!("{e}")),
            log::decode(stored).unwrap_or_else(|e| panic!("{e}")),
            "{}",
            stored.id
        );
    }
    let mut by_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    for stored in &decisions {
        assert_eq!(stored.schema_version, SCHEMA_VERSION, "{}", stored.id);
        let body = log::decode(stored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.kind(), stored.kind);
        assert_eq!(body.outcome().as_str(), stored.outcome, "{}", stored.id);
        *by_kind.entry(stored.kind.as_str()).or_default() += 1;
        let again = written_again(stored, body);
        assert_eq!(&again, stored, "decision {} written again", stored.id);
    }
    // The demo makes every kind of decision the service can log.
    let kinds: Vec<&str> = by_kind.keys().copied().collect();
    assert_eq!(
        kinds,
        [
            "approval",
            "channel_assignment",
            "grant",
            "grant_cancellation",
            "grant_payment",
            "letting",
            "move_in",
            "municipal_rejection",
            "offer_answer",
            "referral",
            "registry",
            "replacement_offer",
            "statistics",
        ]
    );
    store.close().await;
}

/// Decisions the service wrote before the body had a schema version: one of each kind and
/// outcome of a `letting demo` database, with a letting that names its referral, a move-in
/// with a flexible shortfall and a rejection that owes a replacement dwelling.
fn fixture() -> Vec<DecisionRecord> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/log-v1-demo-2007.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let mut row: serde_json::Value = serde_json::from_str(line).unwrap();
            row["schema_version"] = 1.into();
            serde_json::from_value(row).unwrap()
        })
        .collect()
}

#[test]
fn bodies_written_before_the_schema_was_versioned_decode() {
    let records = fixture();
    assert_eq!(records.len(), 24);
    let mut referral_named = false;
    let mut shortfall = false;
    let mut owed = false;
    let mut registry = Vec::new();
    for stored in &records {
        let body = log::decode(stored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.outcome().as_str(), stored.outcome, "{}", stored.id);
        // Read from its stored text, an old body is upgraded the same way.
        let bare = DecisionRecord {
            body: serde_json::Value::Null,
            ..stored.clone()
        };
        let from_text = log::decode_text(&bare, &stored.body.to_string());
        assert_eq!(from_text.unwrap_or_else(|e| panic!("{e}")), body);
        // What the log derives from the old body is what the old code stored by hand.
        let again = written_again(stored, body.clone());
        assert_eq!(again.outcome, stored.outcome);
        assert_eq!(again.channel, stored.channel, "{}", stored.id);
        assert_eq!(again.area_class, stored.area_class, "{}", stored.id);
        assert_eq!(again.amount_ore, stored.amount_ore, "{}", stored.id);
        assert_eq!(again.rule_set_id, stored.rule_set_id, "{}", stored.id);
        assert_eq!(again.rule_set_hash, stored.rule_set_hash, "{}", stored.id);
        assert_eq!(again.body, stored.body, "{}", stored.id);
        match &body {
            Body::Letting(l) if l.referral_id.is_some() => referral_named = true,
            Body::MoveIn(m) if m.outcome.flexible_shortfall => {
                assert_eq!(stored.channel.as_deref(), Some(log::NOT_LET_FLEXIBLY));
                shortfall = true;
            }
            Body::MunicipalRejection(r) if r.act.replacement_owed => owed = true,
            Body::Registry(r) => registry.push(match r {
                RegistryRecord::Organisation(_) => "organisation",
                RegistryRecord::Area(_) => "area",
                RegistryRecord::Department(_) => "department",
            }),
            Body::Letting(l) if l.decision.outcome == LettingOutcome::Rejected => {
                assert!(
                    !l.decision.obligations.is_empty(),
                    "a rejection owes an offer"
                );
            }
            _ => {}
        }
    }
    assert!(referral_named && shortfall && owed);
    registry.sort_unstable();
    assert_eq!(registry, ["area", "department", "organisation"]);
}

#[tokio::test]
async fn a_database_from_before_the_schema_version_opens_and_its_decisions_decode() {
    mod before_v4 {
        refinery::embed_migrations!("migrations/sqlite");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let records = fixture();
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        before_v4::migrations::runner()
            .set_target(refinery::Target::Version(3))
            .run(&mut conn)
            .unwrap();
        for r in &records {
            conn.execute(
                "INSERT INTO decisions (id, kind, municipality, organisation, department, area, \
                 subject, event_date, recorded_at, outcome, channel, area_class, amount_ore, \
                 rule_set_id, rule_set_hash, principal, body) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                rusqlite::params![
                    r.id,
                    r.kind.as_str(),
                    r.municipality,
                    r.organisation,
                    r.department,
                    r.area,
                    r.subject,
                    r.event_date.to_string(),
                    r.recorded_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    r.outcome,
                    r.channel,
                    r.area_class,
                    r.amount_ore,
                    r.rule_set_id,
                    r.rule_set_hash,
                    r.principal,
                    r.body.to_string(),
                ],
            )
            .unwrap();
        }
    }
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let read = all_decisions(&store).await;
    assert_eq!(read.len(), records.len());
    for stored in &read {
        assert_eq!(stored.schema_version, 1);
        let logged = log::read(stored.clone()).unwrap_or_else(|e| panic!("{e}"));
        let original = records.iter().find(|r| r.id == stored.id).unwrap();
        assert_eq!(&logged.record.body, &original.body);
    }
    store.close().await;
}

#[test]
fn a_body_of_a_newer_schema_is_refused_and_says_what_to_run() {
    let mut record = fixture().remove(0);
    record.schema_version = SCHEMA_VERSION + 1;
    let err = log::decode(&record).unwrap_err();
    assert!(matches!(err, LogError::NewerSchema { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{err}"
    );
}

#[test]
fn a_body_that_breaks_the_contract_is_refused_with_its_path() {
    let mut letting = fixture()
        .into_iter()
        .find(|r| r.kind == DecisionKind::Letting)
        .unwrap();
    letting.body["decision"]["outcome"] = "maybe".into();
    let err = log::decode(&letting).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LogError::Body { .. }), "{text}");
    assert!(text.contains("decision.outcome"), "{text}");
    assert!(text.contains(&letting.id), "{text}");

    let mut registry = fixture()
        .into_iter()
        .find(|r| r.kind == DecisionKind::Registry)
        .unwrap();
    registry.outcome = "street".into();
    let err = log::decode(&registry).unwrap_err();
    assert!(matches!(err, LogError::RegistryOutcome { .. }), "{err}");
}

#[test]
fn a_later_layout_is_reached_step_by_step_and_a_missing_step_is_an_error() {
    // A future version 3 that renames `applicant_ref` to `applicant`, as a change of the
    // body would be written: one step from 2, applied to a body of version 2.
    fn renamed(_: DecisionKind, mut body: serde_json::Value) -> serde_json::Value {
        if let Some(fields) = body.as_object_mut()
            && let Some(value) = fields.remove("applicant_ref")
        {
            fields.insert("applicant".into(), value);
        }
        body
    }
    let steps: &[(u32, log::Step)] = &[(2, renamed)];
    let mut letting = fixture()
        .into_iter()
        .find(|r| r.kind == DecisionKind::Letting)
        .unwrap();
    letting.schema_version = 2;
    let upgraded = log::upgrade_with(&letting, steps, 3).unwrap();
    assert_eq!(upgraded["applicant"], letting.body["applicant_ref"]);
    assert!(upgraded.get("applicant_ref").is_none());
    // The current layout needs no step at all.
    assert_eq!(log::upgrade_with(&letting, steps, 2).unwrap(), letting.body);
    // A body of version 1 has no way to 3 through these steps.
    letting.schema_version = 1;
    let err = log::upgrade_with(&letting, steps, 3).unwrap_err();
    assert!(
        err.to_string().contains("no upgrade from schema version 1"),
        "{err}"
    );
    // And one newer than the program is refused.
    letting.schema_version = 4;
    let err = log::upgrade_with(&letting, steps, 3).unwrap_err();
    assert!(
        matches!(err, LogError::NewerSchema { version: 4, .. }),
        "{err}"
    );
}
