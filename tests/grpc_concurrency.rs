//! Calls racing each other: quota counters and the grant pool stay exact. Each scenario
//! runs on SQLite, and on PostgreSQL (a fresh database each) when
//! `LETTING_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestServer, standard_grant, vacancy};
use letting_rules::grpc::pb;
use letting_rules::model::Channel;
use letting_rules::store::DecisionKind;

const VACANCIES: usize = 40;
const GRANTS: usize = 100;
const CLIENTS: usize = 4;

/// 40 vacancies at once in high-risk Bispeparken, from several clients.
async fn racing_vacancies(server: &TestServer) {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(server.housing(Some(&server.keys.kab)).await);
    }
    let mut tasks = Vec::new();
    for i in 0..VACANCIES {
        let mut client = clients[i % CLIENTS].clone();
        tasks.push(tokio::spawn(async move {
            client
                .register_vacancy(vacancy(
                    &format!("race-{i}"),
                    "akb-bispeparken",
                    "2007-03-01",
                ))
                .await
                .expect("register")
                .into_inner()
        }));
    }
    let mut responses = Vec::new();
    for t in tasks {
        responses.push(t.await.expect("task"));
    }

    // The counters read back equal the number of calls.
    let dept = server.department_counters("akb-bispeparken", "2007").await;
    let muni = server.municipality_counters("2007").await;
    assert_eq!(dept.vacancies, VACANCIES as u64);
    assert_eq!(muni, dept);
    assert_eq!(dept.by_channel.iter().sum::<u64>(), VACANCIES as u64);
    assert_eq!(
        server
            .decisions(&[DecisionKind::ChannelAssignment])
            .await
            .len(),
        VACANCIES
    );

    // Every call read different counters: the vacancy counts are 1..=40, once each.
    let mut h = server.housing(Some(&server.keys.kab)).await;
    let mut by_count: Vec<(u64, Channel)> = Vec::new();
    for r in &responses {
        assert_eq!(r.area_class, "high_risk");
        let d = h
            .get_decision(pb::GetDecisionRequest {
                decision_id: r.decision_id.clone(),
            })
            .await
            .expect("decision")
            .into_inner();
        let body: serde_json::Value = serde_json::from_str(&d.body_json).expect("json");
        let count = body["decision"]["counters_after"]["department"]["vacancies"]
            .as_u64()
            .expect("the count after this vacancy");
        by_count.push((count, common::channel_of(r.channel())));
        assert_eq!(d.channel, common::channel_of(r.channel()).as_str());
    }
    by_count.sort_by_key(|(count, _)| *count);
    let counts: Vec<u64> = by_count.iter().map(|(c, _)| *c).collect();
    assert_eq!(counts, (1..=VACANCIES as u64).collect::<Vec<_>>());

    // In the order the counters saw them, the channels are those of a sequential run.
    let raced: Vec<Channel> = by_count.iter().map(|(_, ch)| *ch).collect();
    let sequential = common::sequential_channels(
        &server.store,
        "akb-bispeparken",
        "bispeparken",
        "2007-03-01",
        VACANCIES,
    )
    .await;
    assert_eq!(raced, sequential);
    assert!(
        !raced.contains(&Channel::MunicipalReferral),
        "referral is barred in high-risk areas"
    );
    // The department's agreed share (30 %, reference/flexible-shares-0101-2007.toml): at
    // no point is the flexible count behind it. (The 44 % of high-risk areas is a goal,
    // monitored in the report, not forced.)
    let mut flexible = 0u64;
    for (i, ch) in raced.iter().enumerate() {
        if *ch == Channel::Flexible {
            flexible += 1;
        }
        let n = i as u64 + 1;
        assert!(flexible * 100 >= 30 * n, "{flexible} flexible of {n}");
    }
    // 30 % of 40 is 12: 12 flexible, the rest to the waiting lists.
    assert_eq!(flexible, 12);
    assert_eq!(dept.by_channel[Channel::Flexible.index()], 12);
    assert_eq!(dept.by_channel[Channel::InternalList.index()], 28);
}

/// 100 standard grants of DKK 15,000 at once against the DKK 1,000,000 pool.
async fn racing_grants(server: &TestServer) {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(server.municipality(Some(&server.keys.municipality)).await);
    }
    let mut tasks = Vec::new();
    for i in 0..GRANTS {
        let mut client = clients[i % CLIENTS].clone();
        tasks.push(tokio::spawn(async move {
            client
                .decide_relocation_grant(standard_grant(&format!("grant-{i}"), "2007-05-01"))
                .await
                .expect("grant")
                .into_inner()
        }));
    }
    let mut responses = Vec::new();
    for t in tasks {
        responses.push(t.await.expect("task"));
    }
    let (approved, refused): (Vec<_>, Vec<_>) = responses
        .iter()
        .partition(|r| r.outcome() == pb::GrantOutcome::Approved);
    assert_eq!(approved.len(), 66);
    assert_eq!(refused.len(), 34);
    assert!(approved.iter().all(|r| r.amount_ore == 1_500_000));

    let pool = server
        .municipality(Some(&server.keys.municipality))
        .await
        .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
        .await
        .expect("pool")
        .into_inner();
    assert_eq!(pool.pool_ore, 100_000_000);
    assert_eq!(pool.committed_ore, 66 * 1_500_000);
    assert_eq!(pool.remaining_ore, 1_000_000);
    assert_eq!(server.pool_use(2007).await.committed_ore, 99_000_000);

    // Every refusal names the pool rule and says how much is left: DKK 10,000.
    for r in &refused {
        assert_eq!(r.pool_remaining_ore, 1_000_000);
        let explanation = r.explanation.as_ref().expect("explanation");
        let rule = explanation
            .fired_rules
            .iter()
            .find(|f| f.rule_id == "cph2007.grant.pool")
            .expect("the pool rule fired");
        assert!(
            rule.message_en.contains("DKK 10,000.00"),
            "{}",
            rule.message_en
        );
        assert!(
            rule.message_da.contains("10.000,00 kr."),
            "{}",
            rule.message_da
        );
    }
    // The approvals' remaining amounts are distinct: no two saw the same pool.
    let mut remaining: Vec<i64> = approved.iter().map(|r| r.pool_remaining_ore).collect();
    remaining.sort_unstable();
    remaining.dedup();
    assert_eq!(remaining.len(), 66);
    assert_eq!(remaining[0], 1_000_000);
    let decided = server.decisions(&[DecisionKind::Grant]).await;
    assert_eq!(decided.len(), GRANTS);
    assert_eq!(
        decided.iter().filter(|d| d.outcome == "approved").count(),
        66
    );
}

async fn on_sqlite(scenario: impl AsyncFnOnce(&TestServer)) {
    let server = TestServer::start().await;
    server.seed().await;
    scenario(&server).await;
    server.stop().await;
}

async fn on_postgres(test: &str, scenario: impl AsyncFnOnce(&TestServer)) {
    let Some((server, db)) = TestServer::start_postgres(test).await else {
        return;
    };
    server.seed().await;
    scenario(&server).await;
    server.stop().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_vacancies_keep_exact_counters_on_sqlite() {
    on_sqlite(racing_vacancies).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_vacancies_keep_exact_counters_on_postgres() {
    on_postgres(
        "racing_vacancies_keep_exact_counters_on_postgres",
        racing_vacancies,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_grants_never_overspend_the_pool_on_sqlite() {
    on_sqlite(racing_grants).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_grants_never_overspend_the_pool_on_postgres() {
    on_postgres(
        "racing_grants_never_overspend_the_pool_on_postgres",
        racing_grants,
    )
    .await;
}
