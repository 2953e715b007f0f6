//! Idempotency keys: a retry returns the first response and writes nothing more; the same
//! key with other content is ALREADY_EXISTS; an errored request is not remembered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestServer, household, in_work, on_cash_benefit, standard_grant, vacancy};
use letting_rules::grpc::pb;
use letting_rules::store::DecisionKind;
use tonic::Code;

#[tokio::test]
async fn a_retried_vacancy_returns_the_first_response_and_writes_nothing_more() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let request = vacancy("v-1", "akb-bispeparken", "2007-03-01");
    let first = kab
        .register_vacancy(request.clone())
        .await
        .expect("first")
        .into_inner();
    let decisions = server.decisions(&[]).await.len();
    let counters = server.department_counters("akb-bispeparken", "2007").await;
    assert_eq!(counters.vacancies, 1);

    // Retries, also over another connection.
    for _ in 0..3 {
        let again = server
            .housing(Some(&server.keys.kab))
            .await
            .register_vacancy(request.clone())
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(again, first, "the identical response, same ids");
    }
    assert_eq!(server.decisions(&[]).await.len(), decisions);
    assert_eq!(
        server
            .decisions(&[DecisionKind::ChannelAssignment])
            .await
            .len(),
        1
    );
    assert_eq!(
        server.department_counters("akb-bispeparken", "2007").await,
        counters
    );
    assert_eq!(server.municipality_counters("2007").await, counters);

    // A new key is a new vacancy.
    let second = kab
        .register_vacancy(vacancy("v-2", "akb-bispeparken", "2007-03-01"))
        .await
        .expect("second")
        .into_inner();
    assert_ne!(second.vacancy_id, first.vacancy_id);
    assert_eq!(
        server
            .department_counters("akb-bispeparken", "2007")
            .await
            .vacancies,
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn a_retried_grant_commits_the_pool_once() {
    let server = TestServer::start().await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    let first = m
        .decide_relocation_grant(standard_grant("g-1", "2007-05-01"))
        .await
        .expect("grant")
        .into_inner();
    assert_eq!(first.outcome(), pb::GrantOutcome::Approved);
    let again = m
        .decide_relocation_grant(standard_grant("g-1", "2007-05-01"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again, first);
    assert_eq!(server.pool_use(2007).await.committed_ore, 1_500_000);
    assert_eq!(server.decisions(&[DecisionKind::Grant]).await.len(), 1);
    let pool = m
        .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
        .await
        .expect("pool")
        .into_inner();
    assert_eq!(pool.remaining_ore, 100_000_000 - 1_500_000);
    server.stop().await;
}

#[tokio::test]
async fn a_rule_based_refusal_is_remembered_like_any_response() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let v = fsb
        .register_vacancy(vacancy("v-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let proposal = pb::ProposeLettingRequest {
        idempotency_key: "p-1".into(),
        vacancy_id: v.vacancy_id.clone(),
        household: Some(household("fsb-hh-1", on_cash_benefit("2006-06-01"))),
        proposal_date: "2007-03-05".into(),
        ..Default::default()
    };
    let first = fsb
        .propose_letting(proposal.clone())
        .await
        .expect("propose")
        .into_inner();
    assert_eq!(first.outcome(), pb::LettingOutcome::Rejected);
    let again = fsb
        .propose_letting(proposal)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again, first);
    assert_eq!(server.decisions(&[DecisionKind::Letting]).await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_same_key_with_other_content_is_already_exists() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let first = kab
        .register_vacancy(vacancy("v-1", "akb-bispeparken", "2007-03-01"))
        .await
        .expect("first")
        .into_inner();
    let decisions = server.decisions(&[]).await.len();
    let counters = server.department_counters("akb-bispeparken", "2007").await;

    for other in [
        vacancy("v-1", "akb-bispeparken", "2007-03-02"),
        vacancy("v-1", "kab-nordvest-3", "2007-03-01"),
        pb::RegisterVacancyRequest {
            vacancy_ref: "another flat".into(),
            ..vacancy("v-1", "akb-bispeparken", "2007-03-01")
        },
    ] {
        let refused = kab
            .register_vacancy(other.clone())
            .await
            .expect_err("same key, other content");
        assert_eq!(
            refused.code(),
            Code::AlreadyExists,
            "{other:?}: {refused:?}"
        );
    }
    // Another kind of call under the same key is other content too.
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    m.decide_relocation_grant(standard_grant("shared", "2007-05-01"))
        .await
        .expect("grant");
    let refused = m
        .decide_relocation_grant(pb::DecideRelocationGrantRequest {
            amount_ore: 1_000_000,
            ..standard_grant("shared", "2007-05-01")
        })
        .await
        .expect_err("other amount");
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert_eq!(server.pool_use(2007).await.committed_ore, 1_500_000);

    assert_eq!(server.decisions(&[]).await.len(), decisions + 1);
    assert_eq!(
        server.department_counters("akb-bispeparken", "2007").await,
        counters
    );
    assert_eq!(
        server
            .department_counters("kab-nordvest-3", "2007")
            .await
            .vacancies,
        0
    );
    // The first response is still what the key returns.
    let again = kab
        .register_vacancy(vacancy("v-1", "akb-bispeparken", "2007-03-01"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again, first);
    server.stop().await;
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    let server = TestServer::start().await;
    server.seed().await;
    let a = server
        .housing(Some(&server.keys.kab))
        .await
        .register_vacancy(vacancy("same-key", "akb-bispeparken", "2007-03-01"))
        .await
        .expect("KAB")
        .into_inner();
    let b = server
        .housing(Some(&server.keys.fsb))
        .await
        .register_vacancy(vacancy("same-key", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("FSB, the same key for its own request")
        .into_inner();
    assert_ne!(a.vacancy_id, b.vacancy_id);
    assert_eq!(
        server
            .decisions(&[DecisionKind::ChannelAssignment])
            .await
            .len(),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn an_errored_request_is_not_remembered() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;

    // NOT_FOUND, then the cause is fixed, then the same key and request succeed.
    let early = vacancy("v-new", "fsb-new-dept", "2007-03-01");
    let refused = fsb
        .register_vacancy(early.clone())
        .await
        .expect_err("no such department yet");
    assert_eq!(refused.code(), Code::NotFound);
    server
        .registry(Some(&server.keys.municipality))
        .await
        .upsert_department(pb::UpsertDepartmentRequest {
            idempotency_key: "dept-new".into(),
            department: Some(pb::Department {
                id: "fsb-new-dept".into(),
                organisation_id: "fsb".into(),
                area_id: "hulgaard".into(),
                name: "New".into(),
                dwellings: 10,
            }),
        })
        .await
        .expect("department");
    let registered = fsb
        .register_vacancy(early)
        .await
        .expect("the same key after the fix")
        .into_inner();
    assert_eq!(registered.area_class, "risk");

    // FAILED_PRECONDITION (a move-in before approval), then approval, then the same key.
    let v = fsb
        .register_vacancy(vacancy("v-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let letting = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p-1".into(),
            vacancy_id: v.vacancy_id,
            household: Some(household("fsb-hh-1", in_work("37"))),
            proposal_date: "2007-03-05".into(),
            ..Default::default()
        })
        .await
        .expect("propose")
        .into_inner();
    let move_in = pb::RecordMoveInRequest {
        idempotency_key: "m-1".into(),
        letting_id: letting.letting_id.clone(),
        move_in_date: "2007-04-01".into(),
    };
    let early = fsb
        .record_move_in(move_in.clone())
        .await
        .expect_err("move-in before approval");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(server.decisions(&[DecisionKind::MoveIn]).await.is_empty());
    m.approve_letting(pb::ApproveLettingRequest {
        idempotency_key: "a-1".into(),
        letting_id: letting.letting_id.clone(),
        decision_date: "2007-03-10".into(),
        reason: "Ansøger er i arbejde.".into(),
        caseworker_ref: "cw-1".into(),
    })
    .await
    .expect("approve");
    let moved = fsb
        .record_move_in(move_in.clone())
        .await
        .expect("the same key once approved")
        .into_inner();
    assert!(moved.counts_combined_indicator);
    let again = fsb
        .record_move_in(move_in)
        .await
        .expect("and now it is remembered")
        .into_inner();
    assert_eq!(again, moved);
    assert_eq!(server.decisions(&[DecisionKind::MoveIn]).await.len(), 1);
    server.stop().await;
}
