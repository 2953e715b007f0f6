//! AuditService over gRPC: replay streams its progress and ends with the result; what-if
//! takes proposed rule files and names the decisions they flip; organisations are refused
//! before their request is read, and bad periods and broken rules are INVALID_ARGUMENT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestServer, household, on_cash_benefit, vacancy};
use letting_rules::grpc::pb;
use tokio_stream::StreamExt;
use tonic::Code;

/// Registers a vacancy in exposed Tingbjerg and proposes an applicant on cash benefit
/// since `since`: rejected under § 51 b when the months reach the rule's limit.
async fn proposal(server: &TestServer, key: &str, since: &str) -> pb::ProposeLettingResponse {
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let v = fsb
        .register_vacancy(vacancy(
            &format!("v-{key}"),
            "fsb-tingbjerg-1",
            "2007-03-01",
        ))
        .await
        .unwrap()
        .into_inner();
    fsb.propose_letting(pb::ProposeLettingRequest {
        idempotency_key: format!("p-{key}"),
        vacancy_id: v.vacancy_id,
        household: Some(household(&format!("hh-{key}"), on_cash_benefit(since))),
        proposal_date: "2007-03-05".into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

/// Every message a replay of 2007 streams, the last one the result.
async fn replay_2007(audit: &mut common::Audit) -> Vec<pb::ReplayProgress> {
    let mut stream = audit
        .replay(pb::ReplayRequest {
            from_date: "2007-01-01".into(),
            to_date: "2007-12-31".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut messages = Vec::new();
    while let Some(m) = stream.next().await {
        messages.push(m.unwrap());
    }
    messages
}

#[tokio::test]
async fn replay_streams_progress_and_what_if_names_the_flips() {
    let server = TestServer::start().await;
    server.seed().await;
    // Seven and eleven whole months of cash benefit: both rejected under the 6 months.
    let seven = proposal(&server, "7", "2006-08-01").await;
    let eleven = proposal(&server, "11", "2006-04-01").await;
    assert_eq!(seven.outcome(), pb::LettingOutcome::Rejected);
    assert_eq!(eleven.outcome(), pb::LettingOutcome::Rejected);

    let mut audit = server.audit(Some(&server.keys.auditor)).await;
    let messages = replay_2007(&mut audit).await;
    let last = messages.last().unwrap();
    assert!(last.done);
    // Two channel assignments and two lettings, all derived again exactly.
    assert_eq!((last.identical, last.differing, last.failing), (4, 0, 0));
    assert_eq!(last.decisions_done, 4);
    assert!(messages[..messages.len() - 1].iter().all(|m| !m.done));
    let result: serde_json::Value = serde_json::from_str(&last.result_json).unwrap();
    assert_eq!(result["identical"], 4);

    // The proposal: § 51 b's limit at 9 months. Only the seven-month rejection flips.
    let layer = std::fs::read_to_string(common::rules_dir().join("sets/dk-2005.toml")).unwrap();
    let proposed = layer.replace(
        "consecutive_calendar_months = 6,",
        "consecutive_calendar_months = 9,",
    );
    assert_ne!(layer, proposed);
    let mut municipality = server.audit(Some(&server.keys.municipality)).await;
    let answer = municipality
        .what_if(pb::WhatIfRequest {
            from_date: "2007-01-01".into(),
            to_date: "2007-12-31".into(),
            rule_files: vec![pb::RuleFile {
                path: "sets/dk-2005.toml".into(),
                text: proposed,
            }],
            format: pb::WhatIfFormat::Html.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((answer.decisions, answer.flips), (4, 1));
    let w: serde_json::Value = serde_json::from_str(&answer.what_if_json).unwrap();
    assert_eq!(w["flips"][0]["decision_id"], seven.decision_id.as_str());
    assert_eq!(w["flips"][0]["outcome_after"], "pending_municipal_approval");
    assert!(answer.rendered.contains("<svg"), "{}", answer.rendered);
    assert!(answer.figures_changed > 0);

    // Replay is unchanged by a what-if: nothing was written.
    let messages = replay_2007(&mut audit).await;
    assert_eq!(messages.last().unwrap().identical, 4);
    server.stop().await;
}

#[tokio::test]
async fn organisations_bad_periods_and_broken_rules_are_refused() {
    let server = TestServer::start().await;
    server.seed().await;
    // An organisation's key is refused before its request is read (the dates are bad).
    let mut kab = server.audit(Some(&server.keys.kab)).await;
    let refused = kab
        .replay(pb::ReplayRequest {
            from_date: "yesterday".into(),
            to_date: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = kab.what_if(pb::WhatIfRequest::default()).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    let mut audit = server.audit(Some(&server.keys.municipality)).await;
    let bad = audit
        .replay(pb::ReplayRequest {
            from_date: "2007-12-31".into(),
            to_date: "2007-01-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    assert!(bad.message().contains("to_date"), "{}", bad.message());

    let broken = audit
        .what_if(pb::WhatIfRequest {
            from_date: "2007-01-01".into(),
            to_date: "2007-12-31".into(),
            rule_files: vec![pb::RuleFile {
                path: "sets/dk-2005.toml".into(),
                text: "[rule_set]\nid = \"dk-2005\"\nefective_from = 2005-06-01\n".into(),
            }],
            format: pb::WhatIfFormat::Unspecified.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(broken.code(), Code::InvalidArgument, "{broken:?}");
    assert!(
        broken.message().contains("rule_files"),
        "{}",
        broken.message()
    );
    assert!(
        broken.message().contains("dk-2005.toml:"),
        "{}",
        broken.message()
    );

    let outside = audit
        .what_if(pb::WhatIfRequest {
            from_date: "2007-01-01".into(),
            to_date: "2007-12-31".into(),
            rule_files: vec![pb::RuleFile {
                path: "../etc/passwd".into(),
                text: String::new(),
            }],
            format: pb::WhatIfFormat::Unspecified.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(outside.code(), Code::InvalidArgument, "{outside:?}");
    server.stop().await;
}
