//! Two `letting serve` processes sharing one PostgreSQL database: racing calls split
//! across them keep the quota counters and the grant pool exact, and a retry through the
//! other server while the first call runs gets the first response. Runs only when
//! `LETTING_TEST_POSTGRES_URL` is set (a fresh database per run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    PgDatabase, ServeProcess, household, in_work, seed_at, standard_grant, vacancy, write_key_file,
};
use letting_rules::grpc::pb;
use letting_rules::store::{DecisionKind, Store};

const VACANCIES: usize = 60;
const GRANTS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_database_keep_counters_and_pool_exact() {
    let Some(db) =
        PgDatabase::create("two_servers_on_one_database_keep_counters_and_pool_exact").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("keys.toml");
    let keys = write_key_file(&key_file);
    let servers = [
        ServeProcess::spawn(&db.url, &key_file),
        ServeProcess::spawn(&db.url, &key_file),
    ];
    assert_ne!(servers[0].addr, servers[1].addr);
    seed_at(servers[0].addr, &keys.municipality).await;

    let mut housing = Vec::new();
    let mut municipality = Vec::new();
    for s in &servers {
        housing.push(s.housing(&keys.kab).await);
        municipality.push(s.municipality(&keys.municipality).await);
    }
    let mut vacancy_tasks = Vec::new();
    for i in 0..VACANCIES {
        let mut client = housing[i % 2].clone();
        vacancy_tasks.push(tokio::spawn(async move {
            client
                .register_vacancy(vacancy(&format!("mp-{i}"), "akb-bispeparken", "2007-03-01"))
                .await
                .expect("register")
                .into_inner()
        }));
    }
    let mut grant_tasks = Vec::new();
    for i in 0..GRANTS {
        let mut client = municipality[i % 2].clone();
        grant_tasks.push(tokio::spawn(async move {
            client
                .decide_relocation_grant(standard_grant(&format!("mp-g-{i}"), "2007-05-01"))
                .await
                .expect("grant")
                .into_inner()
        }));
    }
    let mut vacancies = Vec::new();
    for t in vacancy_tasks {
        vacancies.push(t.await.expect("task"));
    }
    let mut grants = Vec::new();
    for t in grant_tasks {
        grants.push(t.await.expect("task"));
    }

    let store = Store::open(&db.url)
        .await
        .expect("open the shared database");
    let counters = common::counters_in(&store, "department:akb-bispeparken", "2007").await;
    assert_eq!(counters.vacancies, VACANCIES as u64);
    assert_eq!(counters.by_channel.iter().sum::<u64>(), VACANCIES as u64);
    assert_eq!(
        common::counters_in(&store, "municipality:0101", "2007").await,
        counters
    );

    // Consecutive per-vacancy counts, and the channels of a sequential run in that order.
    let logged = common::decisions_in(&store, &[DecisionKind::ChannelAssignment]).await;
    assert_eq!(logged.len(), VACANCIES);
    let mut by_count: Vec<(u64, String, String)> = logged
        .iter()
        .map(|d| {
            let count = match letting_rules::log::decode(d).expect("a channel assignment") {
                letting_rules::log::Body::ChannelAssignment(b) => {
                    b.decision.counters_after.department.vacancies
                }
                other => panic!("not a channel assignment: {other:?}"),
            };
            (
                count,
                d.channel.clone().unwrap_or_default(),
                d.subject.clone().unwrap_or_default(),
            )
        })
        .collect();
    by_count.sort();
    let counts: Vec<u64> = by_count.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(counts, (1..=VACANCIES as u64).collect::<Vec<_>>());
    let sequential = common::sequential_channels(
        &store,
        "akb-bispeparken",
        "bispeparken",
        "2007-03-01",
        VACANCIES,
    )
    .await;
    let raced: Vec<&str> = by_count.iter().map(|(_, ch, _)| ch.as_str()).collect();
    let expected: Vec<&str> = sequential.iter().map(|c| c.as_str()).collect();
    assert_eq!(raced, expected);
    // Every acknowledged vacancy is one of those decisions.
    for v in &vacancies {
        assert!(by_count.iter().any(|(_, _, s)| *s == v.vacancy_id));
    }

    let approved = grants
        .iter()
        .filter(|g| g.outcome() == pb::GrantOutcome::Approved)
        .count();
    assert_eq!(approved, 66);
    assert_eq!(GRANTS - approved, 34);
    assert_eq!(
        common::pool_in(&store, "0101", 2007).await.committed_ore,
        99_000_000
    );
    for m in &mut municipality {
        let pool = m
            .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
            .await
            .expect("pool")
            .into_inner();
        assert_eq!(pool.remaining_ore, 1_000_000);
    }
    store.close().await;
    drop((housing, municipality));
    for s in servers {
        s.kill();
    }
    db.drop_database().await;
}

/// A client that times out on one server retries on the other while the first call is
/// still running: both calls get the first response, and the act is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_through_the_other_server_gets_the_first_response() {
    let Some(db) =
        PgDatabase::create("a_retry_through_the_other_server_gets_the_first_response").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("keys.toml");
    let keys = write_key_file(&key_file);
    let servers = [
        ServeProcess::spawn(&db.url, &key_file),
        ServeProcess::spawn(&db.url, &key_file),
    ];
    seed_at(servers[0].addr, &keys.municipality).await;
    let mut fsb = servers[0].housing(&keys.fsb).await;
    let mut municipality = Vec::new();
    for s in &servers {
        municipality.push(s.municipality(&keys.municipality).await);
    }

    for round in 0..3 {
        let registered = fsb
            .register_vacancy(vacancy(
                &format!("v-{round}"),
                "fsb-tingbjerg-1",
                "2007-03-01",
            ))
            .await
            .expect("register")
            .into_inner();
        let proposed = fsb
            .propose_letting(pb::ProposeLettingRequest {
                idempotency_key: format!("p-{round}"),
                vacancy_id: registered.vacancy_id,
                household: Some(household(&format!("hh-{round}"), in_work("37"))),
                proposal_date: "2007-03-05".into(),
                ..Default::default()
            })
            .await
            .expect("propose")
            .into_inner();
        assert_eq!(
            proposed.outcome(),
            pb::LettingOutcome::PendingMunicipalApproval
        );
        let approval = pb::ApproveLettingRequest {
            idempotency_key: format!("a-{round}"),
            letting_id: proposed.letting_id.clone(),
            decision_date: "2007-03-10".into(),
            reason: "Ansøger er i arbejde.".into(),
            caseworker_ref: "cw-1".into(),
        };
        let (mut one, mut two) = (municipality[0].clone(), municipality[1].clone());
        let (a, b) = (approval.clone(), approval);
        let (first, retry) = tokio::join!(
            tokio::spawn(async move { one.approve_letting(a).await }),
            tokio::spawn(async move { two.approve_letting(b).await })
        );
        let first = first.expect("task").expect("approve").into_inner();
        let retry = retry.expect("task").expect("the retry").into_inner();
        assert_eq!(
            first, retry,
            "round {round}: the retry gets the first response"
        );

        let grant = municipality[0]
            .decide_relocation_grant(standard_grant(&format!("g-{round}"), "2007-05-01"))
            .await
            .expect("grant")
            .into_inner();
        let payment = pb::SettleRelocationGrantRequest {
            idempotency_key: format!("pay-{round}"),
            grant_id: grant.grant_id,
            date: "2007-06-01".into(),
            reason: "Udbetalt.".into(),
        };
        let (mut one, mut two) = (municipality[0].clone(), municipality[1].clone());
        let (a, b) = (payment.clone(), payment);
        let (first, retry) = tokio::join!(
            tokio::spawn(async move { one.pay_relocation_grant(a).await }),
            tokio::spawn(async move { two.pay_relocation_grant(b).await })
        );
        let first = first.expect("task").expect("pay").into_inner();
        let retry = retry
            .expect("task")
            .expect("the retry of a payment")
            .into_inner();
        assert_eq!(
            first, retry,
            "round {round}: the retry gets the first response"
        );
    }

    let store = Store::open(&db.url)
        .await
        .expect("open the shared database");
    assert_eq!(
        common::decisions_in(&store, &[DecisionKind::Approval])
            .await
            .len(),
        3
    );
    assert_eq!(
        common::decisions_in(&store, &[DecisionKind::GrantPayment])
            .await
            .len(),
        3
    );
    assert_eq!(
        common::pool_in(&store, "0101", 2007).await.paid_ore,
        3 * 1_500_000
    );
    store.close().await;
    drop((fsb, municipality));
    for s in servers {
        s.kill();
    }
    db.drop_database().await;
}
