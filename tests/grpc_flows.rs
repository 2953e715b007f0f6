//! Workflows end to end over gRPC, DOMAIN.md's worked examples among them.

mod common;

use common::{TestServer, household, in_work, on_cash_benefit};
use letting_rules::grpc::pb;

#[tokio::test]
async fn tingbjerg_combined_letting_end_to_end() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let mut municipality = server.municipality(Some(&server.keys.municipality)).await;

    let vacancy = fsb
        .register_vacancy(pb::RegisterVacancyRequest {
            idempotency_key: "v1".into(),
            department_id: "fsb-tingbjerg-1".into(),
            vacancy_ref: "Ruten 12, st. tv.".into(),
            vacancy_date: "2007-03-01".into(),
        })
        .await
        .expect("register")
        .into_inner();
    assert_eq!(vacancy.area_class, "exposed");
    let explanation = vacancy.explanation.expect("explanation");
    assert_eq!(explanation.rule_set_id, "copenhagen-2007");
    assert_eq!(explanation.rule_set_content_hash.len(), 64);

    // An applicant on kontanthjælp since 2006-06-01: rejected, replacement owed.
    let rejected = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p1".into(),
            vacancy_id: vacancy.vacancy_id.clone(),
            household: Some(household("fsb-hh-1", on_cash_benefit("2006-06-01"))),
            proposal_date: "2007-03-05".into(),
        })
        .await
        .expect("propose")
        .into_inner();
    assert_eq!(rejected.outcome(), pb::LettingOutcome::Rejected);
    assert_eq!(
        rejected.obligations,
        vec!["replacement_dwelling_offer".to_owned()]
    );
    let fired = &rejected
        .explanation
        .as_ref()
        .expect("explanation")
        .fired_rules;
    let rule = fired
        .iter()
        .find(|f| f.rule_id == "cph2007.combined.benefit_rejection")
        .expect("benefit rule fired");
    assert!(
        rule.message_da.contains("kontanthjælp"),
        "{}",
        rule.message_da
    );
    assert!(
        rule.message_en.contains("cash benefit"),
        "{}",
        rule.message_en
    );
    assert_eq!(
        rule.legal_source.as_ref().expect("source").section,
        "§ 51 b, stk. 1"
    );

    // The same vacancy, an applicant in work: pending the municipality.
    let pending = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p2".into(),
            vacancy_id: vacancy.vacancy_id.clone(),
            household: Some(household("fsb-hh-2", in_work("37"))),
            proposal_date: "2007-03-06".into(),
        })
        .await
        .expect("propose")
        .into_inner();
    assert_eq!(
        pending.outcome(),
        pb::LettingOutcome::PendingMunicipalApproval
    );

    // A move-in before approval is an illegal step.
    let early = fsb
        .record_move_in(pb::RecordMoveInRequest {
            idempotency_key: "m0".into(),
            letting_id: pending.letting_id.clone(),
            move_in_date: "2007-04-01".into(),
        })
        .await
        .expect_err("move-in before approval");
    assert_eq!(early.code(), tonic::Code::FailedPrecondition);

    let list = municipality
        .list_pending_approvals(pb::ListPendingApprovalsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.lettings.len(), 1);
    assert_eq!(list.lettings[0].letting_id, pending.letting_id);

    let approved = municipality
        .approve_letting(pb::ApproveLettingRequest {
            idempotency_key: "a1".into(),
            letting_id: pending.letting_id.clone(),
            decision_date: "2007-03-10".into(),
            reason:
                "Ansøger er i beskæftigelse; betingelserne for kombineret udlejning er opfyldt."
                    .into(),
            caseworker_ref: "cw-17".into(),
        })
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(approved.status, "approved");
    let twice = municipality
        .approve_letting(pb::ApproveLettingRequest {
            idempotency_key: "a2".into(),
            letting_id: pending.letting_id.clone(),
            decision_date: "2007-03-11".into(),
            reason: "again".into(),
            caseworker_ref: "cw-17".into(),
        })
        .await
        .expect_err("approving twice");
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);

    let moved = fsb
        .record_move_in(pb::RecordMoveInRequest {
            idempotency_key: "m1".into(),
            letting_id: pending.letting_id.clone(),
            move_in_date: "2007-04-01".into(),
        })
        .await
        .expect("move-in")
        .into_inner();
    assert!(
        moved.counts_combined_indicator,
        "an approved letting into an exposed area counts in indicator 6"
    );

    // The rejection's decision reads back exactly, with its explanation.
    let stored = fsb
        .get_decision(pb::GetDecisionRequest {
            decision_id: rejected.decision_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(stored.kind, "letting");
    assert_eq!(stored.outcome, "rejected");
    assert_eq!(stored.explanation, rejected.explanation);
    // The household's benefit spells are not kept: only the explanation's findings.
    assert!(
        !stored.body_json.contains("2006-06-01"),
        "{}",
        stored.body_json
    );
    server.stop().await;
}
