//! Bounded inputs. A key that may not make a call is refused before its body is read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestServer, vacancy};
use letting_rules::grpc::pb;
use tonic::Code;

/// What must never appear in a message or the database after sending a CPR value.
const CPR_MARKERS: [&str; 3] = ["010170-1234", "0101701234", "010170"];

/// Far over any field's limit.
fn long_value() -> String {
    "q".repeat(100_000)
}

/// The most of a sent value a message may quote.
const QUOTE: usize = 40;

/// What is wrong with a message (or a detail's description) a client may be shown: it must
/// be short, quote no more than a short prefix of a long value and nothing of a CPR-shaped
/// one.
fn text_problem(text: &str) -> Option<String> {
    if text.len() > 2_000 {
        return Some(format!("a message of {} bytes", text.len()));
    }
    if text.contains(&"q".repeat(QUOTE + 1)) {
        return Some(format!("quotes more than {QUOTE} characters: {text}"));
    }
    CPR_MARKERS
        .iter()
        .any(|m| text.contains(m))
        .then(|| format!("echoes a CPR-shaped value: {text}"))
}

fn assert_safe_text(text: &str, context: &str) {
    if let Some(problem) = text_problem(text) {
        panic!("{context}: {problem}");
    }
}

/// `n` persons with nothing filled in: two bytes each on the wire.
fn empty_persons(n: usize) -> pb::EvaluateLettingRequest {
    pb::EvaluateLettingRequest {
        vacancy_id: "v".into(),
        household: Some(pb::ApplicantHousehold {
            applicant_ref: "hh-1".into(),
            persons: vec![pb::Person::default(); n],
            ..Default::default()
        }),
        proposal_date: "2007-03-05".into(),
    }
}

#[tokio::test]
async fn a_key_that_may_not_make_the_call_is_refused_before_its_body_is_read() {
    let server = TestServer::start().await;
    server.seed().await;
    let before = server.decisions(&[]).await.len();
    let auditor = Some(server.keys.auditor.as_str());
    // An auditor's dry run of a letting: 100,000 persons and no valid field at all.
    let bad = pb::EvaluateLettingRequest {
        vacancy_id: String::new(),
        proposal_date: "someday".into(),
        ..empty_persons(100_000)
    };
    let e = server
        .housing(auditor)
        .await
        .evaluate_letting(bad)
        .await
        .expect_err("an auditor's evaluation");
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    assert_safe_text(e.message(), "auditor");
    // The same for the municipality's acts: an auditor or an organisation sending a reason
    // of 100,000 characters is told it may not act, not that the reason is too long.
    let approval = pb::ApproveLettingRequest {
        idempotency_key: String::new(),
        letting_id: "0101701234".into(),
        decision_date: String::new(),
        reason: long_value(),
        caseworker_ref: "010170-1234".into(),
    };
    for key in [auditor, Some(server.keys.kab.as_str())] {
        let e = server
            .municipality(key)
            .await
            .approve_letting(approval.clone())
            .await
            .expect_err("not the municipality");
        assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
        assert_safe_text(e.message(), "approval");
        let e = server
            .registry(key)
            .await
            .upsert_organisation(pb::UpsertOrganisationRequest {
                idempotency_key: "010170-1234".into(),
                organisation: Some(pb::Organisation {
                    id: long_value(),
                    name: String::new(),
                }),
            })
            .await
            .expect_err("not the municipality");
        assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    }
    let e = server
        .housing(auditor)
        .await
        .register_vacancy(vacancy("010170-1234", "Not An Id", "never"))
        .await
        .expect_err("an auditor's vacancy");
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}
