//! What was acknowledged survives: a clean stop and restart, and a SIGKILL of the real
//! `letting serve` right after an acknowledged call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    ServeProcess, TestServer, household, in_work, on_cash_benefit, seed_at, standard_grant,
    vacancy, write_key_file,
};
use letting_rules::grpc::pb;
use letting_rules::store::Store;

#[tokio::test]
async fn everything_reads_back_after_a_restart() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;

    let v = fsb
        .register_vacancy(vacancy("v-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let rejected = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p-1".into(),
            vacancy_id: v.vacancy_id.clone(),
            household: Some(household("fsb-hh-1", on_cash_benefit("2006-06-01"))),
            proposal_date: "2007-03-05".into(),
            ..Default::default()
        })
        .await
        .expect("propose")
        .into_inner();
    let pending = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p-2".into(),
            vacancy_id: v.vacancy_id.clone(),
            household: Some(household("fsb-hh-2", in_work("37"))),
            proposal_date: "2007-03-06".into(),
            ..Default::default()
        })
        .await
        .expect("propose")
        .into_inner();
    let grant = m
        .decide_relocation_grant(standard_grant("g-1", "2007-05-01"))
        .await
        .expect("grant")
        .into_inner();
    let ids = [
        v.decision_id.clone(),
        rejected.decision_id.clone(),
        pending.decision_id.clone(),
        grant.decision_id.clone(),
    ];
    let mut before = Vec::new();
    for id in &ids {
        before.push(
            m_decision(&server, id)
                .await
                .expect("the municipality reads every decision"),
        );
    }
    let pending_before = m
        .list_pending_approvals(pb::ListPendingApprovalsRequest::default())
        .await
        .expect("pending")
        .into_inner();
    assert_eq!(pending_before.lettings.len(), 1);
    let pool_before = m
        .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
        .await
        .expect("pool")
        .into_inner();
    let all_before = server.decisions(&[]).await;
    drop((fsb, m));

    let (url, keys, dir) = server.stop().await;
    let server = TestServer::start_on(&url, Some(keys)).await;
    let _dir = dir;

    for (id, was) in ids.iter().zip(&before) {
        let now = m_decision(&server, id).await.expect("after the restart");
        assert_eq!(&now, was, "decision {id}");
    }
    assert_eq!(server.decisions(&[]).await, all_before);
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    let pending_after = m
        .list_pending_approvals(pb::ListPendingApprovalsRequest::default())
        .await
        .expect("pending")
        .into_inner();
    assert_eq!(pending_after, pending_before);
    let pool_after = m
        .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
        .await
        .expect("pool")
        .into_inner();
    assert_eq!(pool_after, pool_before);
    assert_eq!(pool_after.committed_ore, 1_500_000);

    // Idempotency records survive: a retry returns the first response.
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let again = fsb
        .register_vacancy(vacancy("v-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again, v);
    // Counters carry on from where they were; the pending letting can be approved.
    let next = fsb
        .register_vacancy(vacancy("v-2", "fsb-tingbjerg-1", "2007-03-02"))
        .await
        .expect("register")
        .into_inner();
    let body = m_decision(&server, &next.decision_id)
        .await
        .expect("decision");
    let body: serde_json::Value = serde_json::from_str(&body.body_json).expect("json");
    assert_eq!(
        body["decision"]["counters_after"]["department"]["vacancies"],
        2
    );
    m.approve_letting(pb::ApproveLettingRequest {
        idempotency_key: "a-1".into(),
        letting_id: pending.letting_id.clone(),
        decision_date: "2007-03-10".into(),
        reason: "Ansøger er i arbejde.".into(),
        caseworker_ref: "cw-1".into(),
    })
    .await
    .expect("approve after restart");
    server.stop().await;
}

async fn m_decision(server: &TestServer, id: &str) -> Result<pb::Decision, tonic::Status> {
    server
        .housing(Some(&server.keys.municipality))
        .await
        .get_decision(pb::GetDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_acknowledged_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("keys.toml");
    let keys = write_key_file(&key_file);
    let url = format!("sqlite://{}", dir.path().join("x.db").display());

    let serve = ServeProcess::spawn(&url, &key_file);
    seed_at(serve.addr, &keys.municipality).await;
    let mut kab = serve.housing(&keys.kab).await;
    let mut m = serve.municipality(&keys.municipality).await;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let v = kab
            .register_vacancy(vacancy(&format!("v-{i}"), "akb-bispeparken", "2007-03-01"))
            .await
            .expect("register")
            .into_inner();
        acknowledged.push((v.decision_id.clone(), v.vacancy_id.clone()));
    }
    let mut grants = Vec::new();
    for i in 0..3 {
        let g = m
            .decide_relocation_grant(standard_grant(&format!("g-{i}"), "2007-05-01"))
            .await
            .expect("grant")
            .into_inner();
        grants.push(g.decision_id);
    }
    // The last acknowledged call, then SIGKILL at once.
    let last = kab
        .register_vacancy(vacancy("v-last", "kab-nordvest-3", "2007-03-02"))
        .await
        .expect("register")
        .into_inner();
    serve.kill();
    drop((kab, m));

    // Nothing is lost: the database file alone has it all ...
    let store = Store::open(&url)
        .await
        .expect("open the killed server's database");
    let logged: Vec<String> = common::decisions_in(&store, &[])
        .await
        .into_iter()
        .map(|d| d.id)
        .collect();
    for id in acknowledged
        .iter()
        .map(|(d, _)| d)
        .chain(&grants)
        .chain([&last.decision_id])
    {
        assert!(logged.contains(id), "acknowledged decision {id} was lost");
    }
    assert_eq!(
        common::counters_in(&store, "department:akb-bispeparken", "2007")
            .await
            .vacancies,
        5
    );
    assert_eq!(
        common::pool_in(&store, "0101", 2007).await.committed_ore,
        3 * 1_500_000
    );
    store.close().await;

    // ... and a restarted server serves it.
    let serve = ServeProcess::spawn(&url, &key_file);
    let mut kab = serve.housing(&keys.kab).await;
    for (decision, vacancy_id) in &acknowledged {
        let d = kab
            .get_decision(pb::GetDecisionRequest {
                decision_id: decision.clone(),
            })
            .await
            .expect("the acknowledged decision")
            .into_inner();
        assert_eq!(&d.subject_id, vacancy_id);
        assert_eq!(d.kind, "channel_assignment");
    }
    let again = kab
        .register_vacancy(vacancy("v-last", "kab-nordvest-3", "2007-03-02"))
        .await
        .expect("retry of the last call")
        .into_inner();
    assert_eq!(
        again, last,
        "the last call's idempotency record survived too"
    );
    let pool = serve
        .municipality(&keys.municipality)
        .await
        .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
        .await
        .expect("pool")
        .into_inner();
    assert_eq!(pool.committed_ore, 3 * 1_500_000);
    serve.kill();
}
