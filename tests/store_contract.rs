//! The store contract: one suite of tests, each an `async fn(&Store)`, run against SQLite
//! (a fresh temporary file per test) always, and against PostgreSQL (a fresh schema per
//! test) when `LETTING_TEST_POSTGRES_URL` is set — start a server with
//! `eval "$(bash .ci/postgres.sh)"`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Once};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use letting_rules::engine::{GrantOutcome, LettingOutcome, QuotaCounters};
use letting_rules::model::{AreaFacts, Channel, Household, Money, RuleSource};
use letting_rules::service::{
    AnswerOffer, AreaStatisticsInput, DecideGrant, GrantAct, Ledger, LoadStatistics, MakeOffer,
    MunicipalAct, Principal, ProposeLetting, RecordMoveIn, RecordReferral, RegisterVacancy,
    ServiceError,
};
use letting_rules::store::{
    ApiKeyRow, Area, AreaStatistics, CaseKind, CaseRow, DecisionColumns, DecisionFilter,
    DecisionKind, DecisionRecord, Department, IdempotencyRecord, Organisation, PoolUse,
    RuleBookRecord, Store, StoreError, UserRow,
};
use rust_decimal::Decimal;
use serde_json::json;

// ----- running the suite on each backend ----------------------------------------------------

const PG_URL_VAR: &str = "LETTING_TEST_POSTGRES_URL";

async fn sqlite_store() -> (Arc<Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    (Arc::new(store), dir)
}

/// A fresh schema in the test database, so that tests and runs never see each other's rows.
struct PgSchema {
    base_url: String,
    schema: String,
}

impl PgSchema {
    async fn create() -> Option<PgSchema> {
        let Ok(base_url) = std::env::var(PG_URL_VAR) else {
            // Under CI nothing may pass by skipping.
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the store suite on PostgreSQL, but {PG_URL_VAR} is not set"
            );
            static SKIPPED: Once = Once::new();
            SKIPPED.call_once(|| {
                // Straight to stderr, past the test harness's capture, so the skip is seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "store_contract on_postgres: skipped: {PG_URL_VAR} not set \
                     (eval \"$(bash .ci/postgres.sh)\" starts a server)"
                );
            });
            return None;
        };
        let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
        let pg = PgSchema { base_url, schema };
        pg.execute(&format!("CREATE SCHEMA {}", pg.schema)).await;
        Some(pg)
    }

    async fn execute(&self, sql: &str) {
        let (client, connection) = tokio_postgres::connect(&self.base_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR}: {e}"));
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = driver.await;
    }

    /// The test database's URL with the schema first on the search path.
    fn url(&self) -> String {
        let separator = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.base_url, self.schema
        )
    }

    async fn open(&self) -> Arc<Store> {
        let store = Store::open(&self.url()).await.unwrap();
        assert_eq!(store.backend(), "postgres");
        Arc::new(store)
    }

    async fn drop_schema(self) {
        self.execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}

/// Runs every named contract test on both backends: `on_sqlite::NAME` and
/// `on_postgres::NAME`. A test takes `&Store`, or `&Arc<Store>` to run a `Ledger` over it.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }

        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(schema) = super::PgSchema::create().await else {
                        return;
                    };
                    let store = schema.open().await;
                    super::$name(&store).await;
                    store.close().await;
                    schema.drop_schema().await;
                }
            )*
        }
    };
}

contract! {
    registry_upsert_read_and_page,
    registry_refuses_dangling_references,
    registry_records_belong_to_one_municipality,
    statistics_latest_year_not_after,
    counters_start_at_zero_and_persist,
    decisions_read_back_exactly,
    decisions_filter_order_and_page,
    report_counts_and_pending_lettings,
    decisions_are_unique,
    rule_books_are_kept_once_with_every_activation,
    decision_inputs_are_kept_read_and_removed,
    cases_put_get_and_list,
    grant_pool_use,
    idempotency_records,
    api_keys,
    console_users,
    read_transactions_do_not_write,
    failed_job_leaves_nothing,
    concurrent_counter_increments,
    concurrent_grants_respect_the_pool,
    crossed_locks_do_not_fail_jobs,
    concurrent_idempotent_requests_agree,
    a_claimed_key_waits_for_its_first_claimant,
    retried_at_once_register_vacancy,
    retried_at_once_propose_letting,
    retried_at_once_approve_letting,
    retried_at_once_reject_letting,
    retried_at_once_record_move_in,
    retried_at_once_make_replacement_offer,
    retried_at_once_record_replacement_offer_answer,
    retried_at_once_record_municipal_referral,
    retried_at_once_decide_relocation_grant,
    retried_at_once_pay_relocation_grant,
    retried_at_once_cancel_relocation_grant,
    retried_at_once_load_area_statistics,
    retried_at_once_upsert_organisation,
    retried_at_once_upsert_area,
    retried_at_once_upsert_department,
}

// ----- helpers --------------------------------------------------------------------------------

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn instant(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
        + chrono::Duration::microseconds(i64::from(micros))
}

fn organisation(id: &str) -> Organisation {
    Organisation {
        id: id.to_owned(),
        name: format!("Boligorganisation {id}"),
    }
}

fn area(id: &str, municipality: &str) -> Area {
    Area {
        id: id.to_owned(),
        municipality: municipality.to_owned(),
        name: format!("Område {id}"),
    }
}

fn department(id: &str, organisation: &str, area: &str) -> Department {
    Department {
        id: id.to_owned(),
        organisation: organisation.to_owned(),
        area: area.to_owned(),
        name: format!("Afdeling {id}"),
        dwellings: 120,
    }
}

fn decision(
    id: &str,
    kind: DecisionKind,
    municipality: &str,
    event_date: NaiveDate,
) -> DecisionRecord {
    DecisionRecord {
        id: id.to_owned(),
        kind,
        municipality: municipality.to_owned(),
        organisation: Some("org-1".to_owned()),
        department: Some("dep-1".to_owned()),
        area: Some("area-1".to_owned()),
        subject: Some(format!("subject-{id}")),
        event_date,
        recorded_at: instant(2024, 5, 1, 10, 30, 0, 123_456),
        outcome: "approved".to_owned(),
        channel: Some("flexible".to_owned()),
        area_class: Some("preventive".to_owned()),
        amount_ore: Some(1_500_000),
        rule_set_id: Some("dk-national-2024".to_owned()),
        rule_set_hash: Some("c0ffee".to_owned()),
        principal: "municipality".to_owned(),
        body: json!({"id": id, "explanation": ["§ 51 b", "stk. 1"]}),
        schema_version: 1,
    }
}

fn case(kind: CaseKind, id: &str, municipality: &str, status: &str) -> CaseRow {
    CaseRow {
        kind,
        id: id.to_owned(),
        municipality: municipality.to_owned(),
        organisation: Some("org-1".to_owned()),
        department: None,
        status: status.to_owned(),
        updated_at: instant(2024, 6, 1, 8, 0, 0, 500),
        body: json!({"id": id, "status": status, "rent_ore": 612_350}),
    }
}

fn api_key(id: &str, secret_hash: &str, created_second: u32) -> ApiKeyRow {
    ApiKeyRow {
        id: id.to_owned(),
        principal: "organisation:org-1".to_owned(),
        municipality: "0101".to_owned(),
        secret_hash: secret_hash.to_owned(),
        created_at: instant(2024, 1, 1, 0, 0, created_second, 0),
        revoked_at: None,
        label: format!("key {id}"),
    }
}

/// Runs a write job that cannot fail by its own logic.
/// `[a, b]` names values the job uses: each run of the job gets its own clone.
macro_rules! in_write {
    ($store:expr, |$tx:ident| $body:expr) => {
        in_write!($store, [], |$tx| $body)
    };
    ($store:expr, [$($var:ident),*], |$tx:ident| $body:expr) => {
        $store
            .write(move |$tx| {
                $(let $var = $var.clone();)*
                Box::pin(async move { Ok::<_, StoreError>($body) })
            })
            .await
            .unwrap()
    };
}

/// Runs a read job.
macro_rules! in_read {
    ($store:expr, |$tx:ident| $body:expr) => {
        in_read!($store, [], |$tx| $body)
    };
    ($store:expr, [$($var:ident),*], |$tx:ident| $body:expr) => {
        $store
            .read(move |$tx| {
                $(let $var = $var.clone();)*
                Box::pin(async move { Ok::<_, StoreError>($body) })
            })
            .await
            .unwrap()
    };
}

async fn seed_registry(store: &Store) {
    in_write!(store, |tx| {
        tx.upsert_organisation("0101", &organisation("org-1"))
            .await?;
        tx.upsert_organisation("0101", &organisation("org-2"))
            .await?;
        tx.upsert_organisation("0147", &organisation("org-1"))
            .await?;
        tx.upsert_area(&area("area-1", "0101")).await?;
        tx.upsert_area(&area("area-2", "0101")).await?;
        tx.upsert_area(&area("area-3", "0147")).await?;
    });
}

// ----- the contract ---------------------------------------------------------------------------

async fn registry_upsert_read_and_page(store: &Store) {
    seed_registry(store).await;
    in_write!(store, |tx| {
        for i in 0..25 {
            let org = if i % 2 == 0 { "org-1" } else { "org-2" };
            tx.upsert_department("0101", &department(&format!("dep-{i:02}"), org, "area-1"))
                .await?;
        }
        // An upsert replaces.
        tx.upsert_organisation(
            "0101",
            &Organisation {
                id: "org-2".to_owned(),
                name: "Renamed".to_owned(),
            },
        )
        .await?;
        tx.upsert_department(
            "0101",
            &Department {
                dwellings: 7,
                area: "area-2".to_owned(),
                ..department("dep-03", "org-2", "area-1")
            },
        )
        .await?;
    });

    let (org, missing, area2, dep3, municipality_areas) = in_read!(store, |tx| (
        tx.organisation("0101", "org-2").await?,
        tx.organisation("0101", "org-9").await?,
        tx.area("area-2").await?,
        tx.department("dep-03").await?,
        tx.areas("0101").await?,
    ));
    assert_eq!(org.unwrap().name, "Renamed");
    assert_eq!(missing, None);
    assert_eq!(area2, Some(area("area-2", "0101")));
    let dep3 = dep3.unwrap();
    assert_eq!((dep3.dwellings, dep3.area.as_str()), (7, "area-2"));
    assert_eq!(
        municipality_areas,
        vec![area("area-1", "0101"), area("area-2", "0101")]
    );

    // Paging through all departments, 10 at a time.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.clone();
        let page = in_read!(store, [cursor], |tx| tx
            .departments("0101", None, cursor.as_deref(), 10)
            .await?);
        assert!(page.len() <= 10);
        if page.is_empty() {
            break;
        }
        after = page.last().map(|d| d.id.clone());
        seen.extend(page.into_iter().map(|d| d.id));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("dep-{i:02}")).collect();
    assert_eq!(seen, expected);

    // One organisation's, after a cursor.
    let page = in_read!(store, |tx| tx
        .departments("0101", Some("org-2"), Some("dep-05"), 3)
        .await?);
    let ids: Vec<&str> = page.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["dep-07", "dep-09", "dep-11"]);
    assert!(page.iter().all(|d| d.organisation == "org-2"));
}

async fn registry_refuses_dangling_references(store: &Store) {
    seed_registry(store).await;
    let dangling = store
        .write(|tx| {
            Box::pin(async move {
                tx.upsert_department("0101", &department("dep-x", "org-1", "no-such-area"))
                    .await
            })
        })
        .await;
    assert!(
        matches!(dangling, Err(StoreError::Database(_))),
        "{dangling:?}"
    );
    assert_eq!(in_read!(store, |tx| tx.department("dep-x").await?), None);
}

/// A municipality's registry is its own: its record of an organisation, its areas, its
/// departments. Writing another's is refused and changes nothing.
async fn registry_records_belong_to_one_municipality(store: &Store) {
    seed_registry(store).await;
    in_write!(store, |tx| {
        tx.upsert_department("0101", &department("dep-1", "org-1", "area-1"))
            .await?;
        tx.upsert_department("0147", &department("dep-9", "org-1", "area-3"))
            .await?;
        // 0147's own name for org-1.
        tx.upsert_organisation(
            "0147",
            &Organisation {
                id: "org-1".to_owned(),
                name: "Renamed in 0147".to_owned(),
            },
        )
        .await?;
    });
    let (in_0101, in_0147, not_in_0147) = in_read!(store, |tx| (
        tx.organisation("0101", "org-1").await?,
        tx.organisation("0147", "org-1").await?,
        tx.organisation("0147", "org-2").await?,
    ));
    assert_eq!(in_0101, Some(organisation("org-1")));
    assert_eq!(in_0147.map(|o| o.name).as_deref(), Some("Renamed in 0147"));
    assert_eq!(not_in_0147, None);
    let ids = |page: Vec<Department>| page.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let (of_0101, of_0147, of_org_1_in_0147) = in_read!(store, |tx| (
        tx.departments("0101", None, None, 10).await?,
        tx.departments("0147", None, None, 10).await?,
        tx.departments("0147", Some("org-1"), None, 10).await?,
    ));
    assert_eq!(ids(of_0101), ["dep-1"]);
    assert_eq!(ids(of_0147), ["dep-9"]);
    assert_eq!(ids(of_org_1_in_0147), ["dep-9"]);

    // 0101's area re-homed in 0147, 0101's department moved into 0147, a department of
    // 0101 in 0147's area, one of an organisation 0147 has not registered.
    let refused = [
        store
            .write(|tx| Box::pin(async move { tx.upsert_area(&area("area-1", "0147")).await }))
            .await,
        store
            .write(|tx| {
                Box::pin(async move {
                    tx.upsert_department("0147", &department("dep-1", "org-1", "area-3"))
                        .await
                })
            })
            .await,
        store
            .write(|tx| {
                Box::pin(async move {
                    tx.upsert_department("0101", &department("dep-2", "org-1", "area-3"))
                        .await
                })
            })
            .await,
        store
            .write(|tx| {
                Box::pin(async move {
                    tx.upsert_department("0147", &department("dep-3", "org-2", "area-3"))
                        .await
                })
            })
            .await,
    ];
    assert!(
        matches!(
            &refused[0],
            Err(StoreError::OtherMunicipality { what: "area", id }) if id == "area-1"
        ),
        "{:?}",
        refused[0]
    );
    assert!(
        matches!(
            &refused[1],
            Err(StoreError::OtherMunicipality { what: "department", id }) if id == "dep-1"
        ),
        "{:?}",
        refused[1]
    );
    assert!(
        matches!(refused[2], Err(StoreError::Database(_))),
        "{:?}",
        refused[2]
    );
    assert!(
        matches!(refused[3], Err(StoreError::Database(_))),
        "{:?}",
        refused[3]
    );
    let (area_1, dep_1, dep_2, dep_3) = in_read!(store, |tx| (
        tx.area("area-1").await?,
        tx.department("dep-1").await?,
        tx.department("dep-2").await?,
        tx.department("dep-3").await?,
    ));
    assert_eq!(area_1, Some(area("area-1", "0101")));
    assert_eq!(dep_1, Some(department("dep-1", "org-1", "area-1")));
    assert_eq!((dep_2, dep_3), (None, None));
}

async fn statistics_latest_year_not_after(store: &Store) {
    seed_registry(store).await;
    let stats = |year: i32, share: &str| AreaStatistics {
        area: "area-1".to_owned(),
        year,
        facts: AreaFacts {
            id: "area-1".to_owned(),
            working_age_residents: Some(1000 + year as u64),
            without_labour_market_attachment: Some(410),
            share_without_attachment: None,
            residents: Some(2400),
            share_without_work_or_education: Some(share.parse().unwrap()),
            conviction_rate_ratio: Some(Decimal::new(21, 1)),
            share_basic_schooling_only: None,
            income_ratio_to_region: Some("0.5500".parse().unwrap()),
            ..AreaFacts::default()
        },
        transfer_income_share: Some("0.40".parse().unwrap()),
        self_supporting_weeks: if year == 2021 {
            None
        } else {
            Some("38.5".parse().unwrap())
        },
        loaded_by_decision: format!("decision-{year}"),
    };
    let (s2019, s2021, s2023) = (
        stats(2019, "0.10"),
        stats(2021, "0.21"),
        stats(2023, "0.30"),
    );
    let (a, b, c) = (s2019.clone(), s2021.clone(), s2023.clone());
    in_write!(store, [a, b, c], |tx| {
        tx.put_area_statistics(&a).await?;
        tx.put_area_statistics(&b).await?;
        tx.put_area_statistics(&c).await?;
    });

    let found = in_read!(store, |tx| [
        tx.area_statistics("area-1", 2018).await?,
        tx.area_statistics("area-1", 2019).await?,
        tx.area_statistics("area-1", 2022).await?,
        tx.area_statistics("area-1", 2030).await?,
        tx.area_statistics("area-2", 2030).await?,
    ]);
    assert_eq!(found[0], None);
    assert_eq!(found[1].as_ref(), Some(&s2019));
    assert_eq!(found[2].as_ref(), Some(&s2021));
    assert_eq!(found[3].as_ref(), Some(&s2023));
    assert_eq!(found[4], None);
    // Decimals keep their written scale.
    let s = found[1].as_ref().unwrap();
    assert_eq!(s.transfer_income_share.unwrap().to_string(), "0.40");
    assert_eq!(
        s.facts.income_ratio_to_region.unwrap().to_string(),
        "0.5500"
    );

    // A second load of a year replaces it.
    let replacement = AreaStatistics {
        loaded_by_decision: "decision-2021-corrected".to_owned(),
        ..stats(2021, "0.25")
    };
    let r = replacement.clone();
    in_write!(store, [r], |tx| tx.put_area_statistics(&r).await?);
    let found = in_read!(store, |tx| tx.area_statistics("area-1", 2022).await?);
    assert_eq!(found, Some(replacement));
}

async fn counters_start_at_zero_and_persist(store: &Store) {
    let fresh = in_write!(store, |tx| tx
        .counters_for_update("department:dep-1", "2024Q1")
        .await?);
    assert_eq!(fresh, QuotaCounters::default());
    let read_fresh = in_read!(store, |tx| tx
        .counters_for_update("municipality:0101", "2024")
        .await?);
    assert_eq!(read_fresh, QuotaCounters::default());

    let counters = QuotaCounters {
        vacancies: 17,
        by_channel: [3, 5, 7, 2],
    };
    let c = counters.clone();
    in_write!(store, [c], |tx| {
        let mut now = tx.counters_for_update("department:dep-1", "2024Q1").await?;
        assert_eq!(now, QuotaCounters::default());
        now = c.clone();
        tx.put_counters("department:dep-1", "2024Q1", &now).await?;
    });
    let (same, other_period, other_scope) = in_read!(store, |tx| (
        tx.counters_for_update("department:dep-1", "2024Q1").await?,
        tx.counters_for_update("department:dep-1", "2024Q2").await?,
        tx.counters_for_update("department:dep-2", "2024Q1").await?,
    ));
    assert_eq!(same, counters);
    assert_eq!(other_period, QuotaCounters::default());
    assert_eq!(other_scope, QuotaCounters::default());
}

async fn rule_books_are_kept_once_with_every_activation(store: &Store) {
    let sources = vec![
        RuleSource {
            name: "rules/sets/dk-2005.toml".into(),
            text: "[rule_set]\nid = \"dk-2005\"\n# Ærø, “quoted” — § 51 b\n".into(),
        },
        RuleSource {
            name: "rules/reference/list.toml".into(),
            text: String::new().into(),
        },
    ];
    let first = RuleBookRecord {
        hash: "ab".repeat(32),
        loaded_at: instant(2024, 1, 2, 3, 4, 5, 678_901),
        activated_at: instant(2024, 1, 2, 3, 4, 5, 678_901),
        sources: sources.clone(),
    };
    // A second server (or a reload) puts the same book in force later: the book is kept
    // once, with its first load time, and both activations.
    let second = RuleBookRecord {
        loaded_at: instant(2024, 3, 1, 0, 0, 0, 0),
        activated_at: instant(2024, 3, 1, 0, 0, 0, 0),
        sources: Vec::new(),
        ..first.clone()
    };
    let (a, b) = (first.clone(), second.clone());
    in_write!(store, [a, b], |tx| {
        tx.put_rule_book(&a).await?;
        tx.put_rule_book(&a).await?;
        tx.put_rule_book(&b).await?;
    });
    let hash = first.hash.clone();
    let (kept, missing) = in_read!(store, [hash], |tx| (
        tx.rule_book(&hash).await?,
        tx.rule_book("cd").await?,
    ));
    let kept = kept.unwrap();
    assert_eq!(kept.hash, first.hash);
    assert_eq!(kept.loaded_at, first.loaded_at);
    assert_eq!(kept.sources, sources);
    assert_eq!(kept.activations, [first.activated_at, second.activated_at]);
    assert_eq!(missing, None);
}

async fn decision_inputs_are_kept_read_and_removed(store: &Store) {
    let inputs = json!({"case": "letting", "household": {"applicant_ref": "h-1", "persons": []}, "n": 9_007_199_254_740_993_u64});
    let (one, two) = (
        decision("d-1", DecisionKind::Letting, "0101", date(2024, 2, 1)),
        decision("d-2", DecisionKind::Letting, "0101", date(2024, 2, 2)),
    );
    let kept = inputs.clone();
    in_write!(store, [one, two, kept], |tx| {
        tx.append_decision(&one).await?;
        tx.append_decision(&two).await?;
        tx.put_decision_inputs("d-1", &kept).await?;
    });
    let ids = vec!["d-1".to_owned(), "d-2".to_owned(), "d-9".to_owned()];
    let read = in_read!(store, [ids], |tx| tx.decision_inputs(&ids).await?);
    assert_eq!(read, [("d-1".to_owned(), inputs)]);
    // Facts for a decision that is not in the log are refused.
    let refused = store
        .write(|tx| Box::pin(async move { tx.put_decision_inputs("d-9", &json!({})).await }))
        .await;
    assert!(refused.is_err());
    let ids = vec!["d-1".to_owned(), "d-2".to_owned()];
    let removed = in_write!(store, [ids], |tx| tx.delete_decision_inputs(&ids).await?);
    assert_eq!(removed, 1);
    let ids = vec!["d-1".to_owned()];
    let read = in_read!(store, [ids], |tx| tx.decision_inputs(&ids).await?);
    assert!(read.is_empty());
    // The decisions themselves stay.
    let (a, b) = in_read!(store, |tx| (
        tx.decision("d-1").await?,
        tx.decision("d-2").await?
    ));
    assert!(a.is_some() && b.is_some());
}

async fn decisions_read_back_exactly(store: &Store) {
    let mut full = decision("d-1", DecisionKind::Grant, "0101", date(2024, 2, 29));
    full.body = json!({
        "facts": {"area.share_without_attachment": "0.405", "applicant.age": 67},
        "explanation": [{"rule": "§ 51 b", "text": "Ærø, Øster Ulslev — “quoted”"}],
        "amount": 15000.25,
        "big": 9_007_199_254_740_993_u64,
        "nothing": null,
        "flags": [true, false],
        "nested": {"z": 1, "a": {"empty": {}, "list": []}}
    });
    let mut sparse = decision("d-2", DecisionKind::Statistics, "0101", date(2024, 3, 1));
    sparse.organisation = None;
    sparse.department = None;
    sparse.area = None;
    sparse.subject = None;
    sparse.channel = None;
    sparse.area_class = None;
    sparse.amount_ore = None;
    sparse.rule_set_id = None;
    sparse.rule_set_hash = None;
    sparse.amount_ore = Some(-42);
    // The store keeps the body's schema version as it is given; the log reads it.
    sparse.schema_version = 7;
    // Instants are kept to the microsecond on both backends.
    sparse.recorded_at = Utc.with_ymd_and_hms(2024, 3, 1, 23, 59, 59).unwrap()
        + chrono::Duration::nanoseconds(123_456_789);

    let (a, b) = (full.clone(), sparse.clone());
    in_write!(store, [a, b], |tx| {
        tx.append_decision(&a).await?;
        tx.append_decision(&b).await?;
    });
    let (got_full, got_sparse, missing) = in_read!(store, |tx| (
        tx.decision("d-1").await?,
        tx.decision("d-2").await?,
        tx.decision("d-3").await?,
    ));
    let got_full = got_full.unwrap();
    assert_eq!(got_full, full);
    assert_eq!(
        serde_json::to_string(&got_full.body).unwrap(),
        serde_json::to_string(&full.body).unwrap()
    );
    let got_sparse = got_sparse.unwrap();
    assert_eq!(
        got_sparse.recorded_at,
        Utc.with_ymd_and_hms(2024, 3, 1, 23, 59, 59).unwrap()
            + chrono::Duration::microseconds(123_456)
    );
    assert_eq!(
        got_sparse,
        DecisionRecord {
            recorded_at: got_sparse.recorded_at,
            ..sparse
        }
    );
    assert_eq!(missing, None);

    // The same decisions with each body as its stored text, for readers that decode it.
    let texts = in_read!(store, |tx| tx
        .decision_texts(&DecisionFilter::default(), None, 10)
        .await?);
    let full_text = texts
        .iter()
        .find(|(d, _)| d.id == full.id)
        .expect("the full decision");
    assert_eq!(
        full_text.0,
        DecisionRecord {
            body: serde_json::Value::Null,
            ..full.clone()
        }
    );
    let body: serde_json::Value = serde_json::from_str(&full_text.1).unwrap();
    assert_eq!(body, full.body);
}

async fn decisions_filter_order_and_page(store: &Store) {
    // Ids are not in event-date order, so the (event_date, id) order is seen.
    let entries = [
        ("d-09", DecisionKind::Letting, "0101", date(2024, 1, 15)),
        ("d-01", DecisionKind::Letting, "0101", date(2024, 3, 31)),
        ("d-05", DecisionKind::Grant, "0101", date(2024, 2, 1)),
        ("d-03", DecisionKind::Approval, "0101", date(2024, 2, 1)),
        ("d-07", DecisionKind::Letting, "0101", date(2024, 2, 1)),
        ("d-02", DecisionKind::Letting, "0101", date(2023, 12, 31)),
        ("d-04", DecisionKind::Letting, "0101", date(2024, 4, 1)),
        ("d-06", DecisionKind::Letting, "0147", date(2024, 2, 1)),
        ("d-08", DecisionKind::MoveIn, "0101", date(2024, 1, 1)),
    ];
    let records: Vec<DecisionRecord> = entries
        .iter()
        .map(|(id, kind, municipality, day)| decision(id, *kind, municipality, *day))
        .collect();
    let all = records.clone();
    in_write!(store, [all], |tx| {
        for d in &all {
            tx.append_decision(d).await?;
        }
    });

    let quarter = DecisionFilter {
        municipality: Some("0101".to_owned()),
        kinds: Vec::new(),
        from: Some(date(2024, 1, 1)),
        to: Some(date(2024, 3, 31)),
        subject: None,
    };
    let ids = |v: &[DecisionRecord]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();

    let f = quarter.clone();
    let q1 = in_read!(store, [f], |tx| tx.decisions(&f, None, 100).await?);
    assert_eq!(ids(&q1), ["d-08", "d-09", "d-03", "d-05", "d-07", "d-01"]);
    assert_eq!(q1[0], records[8]);

    let lettings = DecisionFilter {
        kinds: vec![DecisionKind::Letting],
        ..quarter.clone()
    };
    let f = lettings.clone();
    let got = in_read!(store, [f], |tx| tx.decisions(&f, None, 100).await?);
    assert_eq!(ids(&got), ["d-09", "d-07", "d-01"]);

    let two_kinds = DecisionFilter {
        kinds: vec![DecisionKind::Grant, DecisionKind::MoveIn],
        ..quarter.clone()
    };
    let f = two_kinds.clone();
    let got = in_read!(store, [f], |tx| tx.decisions(&f, None, 100).await?);
    assert_eq!(ids(&got), ["d-08", "d-05"]);

    // Paging in (event_date, id) order, two at a time, across a day with three.
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (f, cursor) = (quarter.clone(), after.clone());
        let page = in_read!(store, [f, cursor], |tx| tx
            .decisions(&f, cursor.as_deref(), 2)
            .await?);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|d| d.id.clone());
        pages.push(ids(&page));
    }
    assert_eq!(
        pages,
        vec![
            vec!["d-08", "d-09"],
            vec!["d-03", "d-05"],
            vec!["d-07", "d-01"]
        ]
    );

    // No filter: every municipality and date.
    let got = in_read!(store, |tx| tx
        .decisions(&DecisionFilter::default(), None, 100)
        .await?);
    assert_eq!(
        ids(&got),
        [
            "d-02", "d-08", "d-09", "d-03", "d-05", "d-06", "d-07", "d-01", "d-04"
        ]
    );

    // By subject.
    let by_subject = DecisionFilter {
        subject: Some("subject-d-06".to_owned()),
        ..DecisionFilter::default()
    };
    let got = in_read!(store, [by_subject], |tx| tx
        .decisions(&by_subject, None, 100)
        .await?);
    assert_eq!(ids(&got), ["d-06"]);
}

/// What the report asks of the log: counts by indexed column, and the lettings pending
/// approval on a date (each backend answers with SQL; the paging defaults agree).
async fn report_counts_and_pending_lettings(store: &Store) {
    let letting =
        |id: &str, municipality: &str, day, outcome: &str, channel: &str| DecisionRecord {
            outcome: outcome.to_owned(),
            channel: Some(channel.to_owned()),
            ..decision(id, DecisionKind::Letting, municipality, day)
        };
    let settles = |id: &str, kind, subject: &str, day| DecisionRecord {
        subject: Some(format!("subject-{subject}")),
        ..decision(id, kind, "0101", day)
    };
    let pending = "pending_municipal_approval";
    let all = vec![
        letting("l1", "0101", date(2024, 1, 10), pending, "flexible"),
        letting("l2", "0101", date(2024, 1, 20), pending, "flexible"),
        settles("a2", DecisionKind::Approval, "l2", date(2024, 2, 1)),
        letting("l3", "0101", date(2024, 2, 10), pending, "internal_list"),
        settles(
            "r3",
            DecisionKind::MunicipalRejection,
            "l3",
            date(2024, 3, 15),
        ),
        letting("l4", "0101", date(2024, 1, 5), "approved", "flexible"),
        letting("l5", "0147", date(2024, 1, 10), pending, "flexible"),
        letting("l6", "0101", date(2024, 4, 2), pending, "flexible"),
    ];
    in_write!(store, [all], |tx| {
        for d in &all {
            tx.append_decision(d).await?;
        }
    });
    let ids = |v: &[DecisionRecord]| v.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    let on_1_march = in_read!(store, |tx| tx
        .pending_lettings_as_of("0101", date(2024, 3, 1))
        .await?);
    assert_eq!(
        ids(&on_1_march),
        ["l1", "l3"],
        "l2 was approved, l3 not yet rejected"
    );
    let at_quarter_end = in_read!(store, |tx| tx
        .pending_lettings_as_of("0101", date(2024, 3, 31))
        .await?);
    assert_eq!(ids(&at_quarter_end), ["l1"]);
    assert_eq!(
        at_quarter_end[0],
        letting("l1", "0101", date(2024, 1, 10), pending, "flexible")
    );

    let quarter = DecisionFilter {
        municipality: Some("0101".to_owned()),
        kinds: vec![DecisionKind::Letting],
        from: Some(date(2024, 1, 1)),
        to: Some(date(2024, 3, 31)),
        subject: None,
    };
    let count = |only: DecisionColumns| {
        let f = quarter.clone();
        async move { in_read!(store, [f, only], |tx| tx.count_decisions(&f, &only).await?) }
    };
    assert_eq!(count(DecisionColumns::default()).await, 4);
    let pending_only = DecisionColumns {
        outcomes: vec![pending.to_owned()],
        ..DecisionColumns::default()
    };
    assert_eq!(count(pending_only.clone()).await, 3);
    let flexible_pending = DecisionColumns {
        channels: vec!["flexible".to_owned(), "external_list".to_owned()],
        ..pending_only
    };
    assert_eq!(count(flexible_pending).await, 2);
    let no_such_class = DecisionColumns {
        area_classes: vec!["exposed".to_owned()],
        ..DecisionColumns::default()
    };
    assert_eq!(count(no_such_class).await, 0);
}

async fn decisions_are_unique(store: &Store) {
    let d = decision("d-1", DecisionKind::Letting, "0101", date(2024, 1, 1));
    let first = d.clone();
    in_write!(store, [first], |tx| tx.append_decision(&first).await?);
    let mut again = d.clone();
    again.outcome = "rejected".to_owned();
    let result = store
        .write(move |tx| {
            let again = again.clone();
            Box::pin(async move { tx.append_decision(&again).await })
        })
        .await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(in_read!(store, |tx| tx.decision("d-1").await?), Some(d));
}

async fn cases_put_get_and_list(store: &Store) {
    let pending = "pending_municipal_approval";
    in_write!(store, |tx| {
        for i in 0..12 {
            let status = if i % 3 == 0 { "approved" } else { pending };
            tx.put_case(&case(
                CaseKind::Letting,
                &format!("l-{i:02}"),
                "0101",
                status,
            ))
            .await?;
        }
        tx.put_case(&case(CaseKind::Letting, "l-99", "0147", pending))
            .await?;
        tx.put_case(&case(CaseKind::Grant, "l-50", "0101", pending))
            .await?;
        // Replacing the state of a case.
        tx.put_case(&CaseRow {
            department: Some("dep-4".to_owned()),
            body: json!({"moved_in": "2024-06-02"}),
            ..case(CaseKind::Letting, "l-04", "0101", "moved_in")
        })
        .await?;
    });

    let (l04, grant, missing, in_read) = in_read!(store, |tx| (
        tx.case_for_update(CaseKind::Letting, "l-04").await?,
        tx.case_for_update(CaseKind::Grant, "l-50").await?,
        tx.case_for_update(CaseKind::Offer, "l-04").await?,
        tx.case_for_update(CaseKind::Letting, "l-01").await?,
    ));
    let l04 = l04.unwrap();
    assert_eq!(l04.status, "moved_in");
    assert_eq!(l04.department.as_deref(), Some("dep-4"));
    assert_eq!(l04.body, json!({"moved_in": "2024-06-02"}));
    assert_eq!(grant, Some(case(CaseKind::Grant, "l-50", "0101", pending)));
    assert_eq!(missing, None);
    assert_eq!(
        in_read,
        Some(case(CaseKind::Letting, "l-01", "0101", pending))
    );

    let locked = in_write!(store, |tx| tx
        .case_for_update(CaseKind::Letting, "l-01")
        .await?);
    assert_eq!(locked, in_read);

    // Pending lettings in 0101, three at a time.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.clone();
        let page = in_read!(store, [cursor], |tx| tx
            .cases(
                CaseKind::Letting,
                Some(pending),
                "0101",
                cursor.as_deref(),
                3
            )
            .await?);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        assert!(
            page.iter()
                .all(|c| c.status == pending && c.kind == CaseKind::Letting)
        );
        after = page.last().map(|c| c.id.clone());
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(
        seen,
        ["l-01", "l-02", "l-05", "l-07", "l-08", "l-10", "l-11"]
    );

    let all = in_read!(store, |tx| tx
        .cases(CaseKind::Letting, None, "0101", None, 100)
        .await?);
    assert_eq!(all.len(), 12);
    let approved = in_read!(store, |tx| tx
        .cases(CaseKind::Letting, Some("approved"), "0101", None, 100)
        .await?);
    let ids: Vec<&str> = approved.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["l-00", "l-03", "l-06", "l-09"]);
}

async fn grant_pool_use(store: &Store) {
    let fresh = in_write!(store, |tx| tx.pool_for_update("0101", 2024).await?);
    assert_eq!(fresh, PoolUse::default());
    in_write!(store, |tx| {
        let mut pool = tx.pool_for_update("0101", 2024).await?;
        pool.committed_ore += 3_000_000;
        pool.paid_ore += 1_500_000;
        tx.put_pool("0101", 2024, &pool).await?;
    });
    let (this_year, next_year, other) = in_read!(store, |tx| (
        tx.pool_for_update("0101", 2024).await?,
        tx.pool_for_update("0101", 2025).await?,
        tx.pool_for_update("0147", 2024).await?,
    ));
    assert_eq!(
        this_year,
        PoolUse {
            committed_ore: 3_000_000,
            paid_ore: 1_500_000
        }
    );
    assert_eq!(next_year, PoolUse::default());
    assert_eq!(other, PoolUse::default());
}

async fn idempotency_records(store: &Store) {
    let record = IdempotencyRecord {
        request_hash: vec![0, 1, 2, 254, 255],
        response: b"{\"decision_id\":\"d-1\"}\x00\xff".to_vec(),
    };
    let none = in_read!(store, |tx| tx.idempotency("municipality", "key-1").await?);
    assert_eq!(none, None);
    let r = record.clone();
    in_write!(store, [r], |tx| tx
        .put_idempotency("municipality", "key-1", &r)
        .await?);
    let (found, other_principal) = in_read!(store, |tx| (
        tx.idempotency("municipality", "key-1").await?,
        tx.idempotency("organisation:org-1", "key-1").await?,
    ));
    assert_eq!(found, Some(record.clone()));
    assert_eq!(other_principal, None);

    // The first response stays.
    let second = IdempotencyRecord {
        request_hash: vec![9],
        response: vec![9],
    };
    let result = store
        .write(move |tx| {
            let second = second.clone();
            Box::pin(async move { tx.put_idempotency("municipality", "key-1", &second).await })
        })
        .await;
    assert!(result.is_err());
    let found = in_read!(store, |tx| tx.idempotency("municipality", "key-1").await?);
    assert_eq!(found, Some(record));
}

async fn api_keys(store: &Store) {
    let (k1, k2) = (api_key("key-b", "hash-1", 1), api_key("key-a", "hash-2", 2));
    let (a, b) = (k1.clone(), k2.clone());
    in_write!(store, [a, b], |tx| {
        tx.insert_api_key(&a).await?;
        tx.insert_api_key(&b).await?;
    });
    let (found, missing, all) = in_read!(store, |tx| (
        tx.api_key_by_hash("hash-2").await?,
        tx.api_key_by_hash("hash-3").await?,
        tx.api_keys().await?,
    ));
    assert_eq!(found, Some(k2.clone()));
    assert_eq!(missing, None);
    assert_eq!(all, vec![k1.clone(), k2.clone()]);

    // A secret hash is unique.
    let clash = api_key("key-c", "hash-1", 3);
    let result = store
        .write(move |tx| {
            let clash = clash.clone();
            Box::pin(async move { tx.insert_api_key(&clash).await })
        })
        .await;
    assert!(result.is_err());

    let at = instant(2024, 9, 1, 12, 0, 0, 250);
    let later = instant(2024, 9, 2, 12, 0, 0, 0);
    let (revoked, again, unknown) = in_write!(store, |tx| (
        tx.revoke_api_key("key-b", at).await?,
        tx.revoke_api_key("key-b", later).await?,
        tx.revoke_api_key("key-z", at).await?,
    ));
    assert!(revoked);
    assert!(again);
    assert!(!unknown);
    let key = in_read!(store, |tx| tx.api_key_by_hash("hash-1").await?).unwrap();
    assert_eq!(key.revoked_at, Some(at), "the first revocation stands");
    let all = in_read!(store, |tx| tx.api_keys().await?);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].revoked_at, None);
}

async fn console_users(store: &Store) {
    let user = UserRow {
        username: "kirsten".into(),
        principal: "organisation:kab".into(),
        municipality: "0101".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: instant(2024, 9, 1, 12, 0, 0, 250),
    };
    let taken = UserRow {
        principal: "municipality".into(),
        password_hash: "another".into(),
        ..user.clone()
    };
    let (u, t) = (user.clone(), taken.clone());
    let (added, again) = in_write!(store, [u, t], |tx| (
        tx.insert_user(&u).await?,
        tx.insert_user(&t).await?,
    ));
    assert!(added);
    assert!(!again, "a username is taken once");
    let (found, missing) = in_read!(store, |tx| (
        tx.user("kirsten").await?,
        tx.user("Kirsten").await?,
    ));
    assert_eq!(
        found,
        Some(user),
        "the first user stands, exactly as written"
    );
    assert_eq!(missing, None, "usernames are compared exactly");
    // A read transaction does not write.
    let refused = store
        .read(|tx| {
            Box::pin(async move {
                let row = UserRow {
                    username: "other".into(),
                    principal: "auditor".into(),
                    municipality: "0101".into(),
                    password_hash: "h".into(),
                    created_at: Utc::now(),
                };
                Ok::<_, StoreError>(tx.insert_user(&row).await.is_err())
            })
        })
        .await
        .unwrap();
    assert!(refused);
}

async fn read_transactions_do_not_write(store: &Store) {
    let results = store
        .read(|tx| {
            Box::pin(async move {
                Ok::<_, StoreError>(vec![
                    tx.upsert_organisation("0101", &organisation("org-1")).await,
                    tx.put_counters("s", "p", &QuotaCounters::default()).await,
                    tx.put_pool("0101", 2024, &PoolUse::default()).await,
                    tx.append_decision(&decision(
                        "d",
                        DecisionKind::Letting,
                        "0101",
                        date(2024, 1, 1),
                    ))
                    .await,
                    tx.put_case(&case(CaseKind::Offer, "o", "0101", "open"))
                        .await,
                    tx.revoke_api_key("k", Utc::now()).await.map(|_| ()),
                ])
            })
        })
        .await
        .unwrap();
    for result in results {
        match result {
            Err(StoreError::Database(message)) => assert_eq!(message, "read-only transaction"),
            other => panic!("a write in a read transaction gave {other:?}"),
        }
    }
    let (org, decision) = in_read!(store, |tx| (
        tx.organisation("0101", "org-1").await?,
        tx.decision("d").await?
    ));
    assert_eq!((org, decision), (None, None));
}

/// A job that writes and then fails leaves nothing, while the jobs committed with it (on
/// SQLite: in the same batch, queued behind a slow job) keep their writes.
async fn failed_job_leaves_nothing(store: &Store) {
    let slow = store.write(|tx| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tx.put_counters(
                "slow",
                "2024",
                &QuotaCounters {
                    vacancies: 1,
                    by_channel: [0; 4],
                },
            )
            .await?;
            Ok::<_, StoreError>(())
        })
    });
    let job = |i: usize| {
        store.write(move |tx| {
            Box::pin(async move {
                let id = format!("job-{i:02}");
                tx.append_decision(&decision(
                    &id,
                    DecisionKind::Letting,
                    "0101",
                    date(2024, 1, 1),
                ))
                .await?;
                tx.put_case(&case(CaseKind::Vacancy, &id, "0101", "open"))
                    .await?;
                let scope = format!("department:{id}");
                let mut counters = tx.counters_for_update(&scope, "2024").await?;
                counters.vacancies += 1;
                tx.put_counters(&scope, "2024", &counters).await?;
                let mut pool = tx.pool_for_update(&id, 2024).await?;
                pool.committed_ore += 100;
                tx.put_pool(&id, 2024, &pool).await?;
                tx.put_idempotency(
                    "municipality",
                    &id,
                    &IdempotencyRecord {
                        request_hash: vec![1],
                        response: vec![2],
                    },
                )
                .await?;
                if i % 2 == 1 {
                    return Err(StoreError::Database(format!("job {i} fails on purpose")));
                }
                Ok(i)
            })
        })
    };
    let (slow_result, results) = tokio::join!(slow, futures::future::join_all((0..10).map(job)));
    slow_result.unwrap();
    for (i, result) in results.into_iter().enumerate() {
        if i % 2 == 1 {
            assert!(
                matches!(&result, Err(StoreError::Database(m)) if m.contains("on purpose")),
                "{result:?}"
            );
        } else {
            assert_eq!(result.unwrap(), i);
        }
    }

    for i in 0..10 {
        let id = format!("job-{i:02}");
        let job_id = id.clone();
        let (decision, case, counters, pool, idempotency) = in_read!(store, [job_id], |tx| (
            tx.decision(&job_id).await?,
            tx.case_for_update(CaseKind::Vacancy, &job_id).await?,
            tx.counters_for_update(&format!("department:{job_id}"), "2024")
                .await?,
            tx.pool_for_update(&job_id, 2024).await?,
            tx.idempotency("municipality", &job_id).await?,
        ));
        let kept = i % 2 == 0;
        assert_eq!(decision.is_some(), kept, "decision of {id}");
        assert_eq!(case.is_some(), kept, "case of {id}");
        assert_eq!(counters.vacancies, u64::from(kept), "counters of {id}");
        assert_eq!(
            pool.committed_ore,
            if kept { 100 } else { 0 },
            "pool of {id}"
        );
        assert_eq!(idempotency.is_some(), kept, "idempotency of {id}");
    }
    let slow_counters = in_read!(store, |tx| tx.counters_for_update("slow", "2024").await?);
    assert_eq!(slow_counters.vacancies, 1);
}

async fn concurrent_counter_increments(store: &Store) {
    let increments = (0..50).map(|_| {
        store.write(|tx| {
            Box::pin(async move {
                let mut counters = tx.counters_for_update("municipality:0101", "2024").await?;
                counters.vacancies += 1;
                counters.by_channel[1] += 1;
                tx.put_counters("municipality:0101", "2024", &counters)
                    .await?;
                Ok::<_, StoreError>(())
            })
        })
    });
    for result in futures::future::join_all(increments).await {
        result.unwrap();
    }
    let counters = in_read!(store, |tx| tx
        .counters_for_update("municipality:0101", "2024")
        .await?);
    assert_eq!(
        counters,
        QuotaCounters {
            vacancies: 50,
            by_channel: [0, 50, 0, 0]
        }
    );
}

async fn concurrent_grants_respect_the_pool(store: &Store) {
    const POOL_ORE: i64 = 100_000_000; // 1,000,000.00 kr
    const GRANT_ORE: i64 = 1_500_000; // 15,000.00 kr
    let grants = (0..100).map(|_| {
        store.write(|tx| {
            Box::pin(async move {
                let mut pool = tx.pool_for_update("0101", 2024).await?;
                if pool.committed_ore + GRANT_ORE > POOL_ORE {
                    return Ok::<_, StoreError>(false);
                }
                pool.committed_ore += GRANT_ORE;
                tx.put_pool("0101", 2024, &pool).await?;
                Ok(true)
            })
        })
    });
    let granted = futures::future::join_all(grants)
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter(|granted| *granted)
        .count();
    assert_eq!(granted, 66);
    let pool = in_read!(store, |tx| tx.pool_for_update("0101", 2024).await?);
    assert_eq!(
        pool,
        PoolUse {
            committed_ore: 99_000_000,
            paid_ore: 0
        }
    );
}

/// Two jobs that lock two counter rows in opposite orders: on PostgreSQL one of them is
/// chosen as a deadlock victim and run again; both succeed.
async fn crossed_locks_do_not_fail_jobs(store: &Store) {
    let job = |first: &'static str, second: &'static str| {
        store.write(move |tx| {
            Box::pin(async move {
                let mut a = tx.counters_for_update(first, "2024").await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let mut b = tx.counters_for_update(second, "2024").await?;
                a.vacancies += 1;
                b.vacancies += 1;
                tx.put_counters(first, "2024", &a).await?;
                tx.put_counters(second, "2024", &b).await?;
                Ok::<_, StoreError>(())
            })
        })
    };
    let (one, two) = tokio::join!(
        job("department:dep-a", "department:dep-b"),
        job("department:dep-b", "department:dep-a")
    );
    one.unwrap();
    two.unwrap();
    let (a, b) = in_read!(store, |tx| (
        tx.counters_for_update("department:dep-a", "2024").await?,
        tx.counters_for_update("department:dep-b", "2024").await?,
    ));
    assert_eq!((a.vacancies, b.vacancies), (2, 2));
}

/// Two requests with the same idempotency key at once: both get the first response (on
/// PostgreSQL the loser of the insert is run again and finds it).
async fn concurrent_idempotent_requests_agree(store: &Store) {
    let request = |caller: u8| {
        store.write(move |tx| {
            Box::pin(async move {
                if let Some(found) = tx.idempotency("municipality", "same-key").await? {
                    return Ok::<_, StoreError>(found.response);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                let record = IdempotencyRecord {
                    request_hash: vec![0],
                    response: vec![caller],
                };
                tx.put_idempotency("municipality", "same-key", &record)
                    .await?;
                Ok(record.response)
            })
        })
    };
    let (one, two) = tokio::join!(request(1), request(2));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one, two);
    let stored = in_read!(store, |tx| tx
        .idempotency("municipality", "same-key")
        .await?);
    assert_eq!(stored.map(|r| r.response), Some(one));
}

/// A key claimed by a transaction that has not ended: a second claimant of the key waits
/// (on PostgreSQL; SQLite has one writer) and then finds the first one's record; a claim
/// whose transaction fails leaves the key free for the next.
async fn a_claimed_key_waits_for_its_first_claimant(store: &Store) {
    let claimant = |key: &'static str, hash: u8, delay_ms: u64, hold_ms: u64, fail: bool| {
        store.write(move |tx| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                let found = tx.claim_idempotency("municipality", key, &[hash]).await?;
                if found.is_some() {
                    return Ok::<_, StoreError>(found.map(|r| r.response));
                }
                tokio::time::sleep(Duration::from_millis(hold_ms)).await;
                if fail {
                    return Err(StoreError::Database("the claimant fails on purpose".into()));
                }
                let record = IdempotencyRecord {
                    request_hash: vec![hash],
                    response: vec![hash, hash],
                };
                tx.put_idempotency("municipality", key, &record).await?;
                Ok(None)
            })
        })
    };
    let (first, second) = tokio::join!(
        claimant("held", 1, 0, 300, false),
        claimant("held", 2, 50, 0, false)
    );
    assert_eq!(first.unwrap(), None, "the first claimant ran its job");
    assert_eq!(
        second.unwrap(),
        Some(vec![1, 1]),
        "the second waited and found the first response"
    );

    let (failed, next) = tokio::join!(
        claimant("released", 3, 0, 300, true),
        claimant("released", 4, 50, 0, false)
    );
    assert!(failed.is_err());
    assert_eq!(next.unwrap(), None, "a failed claim leaves the key free");
    let stored = in_read!(store, |tx| (
        tx.idempotency("municipality", "held").await?,
        tx.idempotency("municipality", "released").await?,
    ));
    assert_eq!(
        stored,
        (
            Some(IdempotencyRecord {
                request_hash: vec![1],
                response: vec![1, 1]
            }),
            Some(IdempotencyRecord {
                request_hash: vec![4],
                response: vec![4, 4]
            })
        )
    );
}

// ----- the service's mutating calls, retried at once --------------------------------------
//
// A client that times out retries with the same idempotency key while its first call is
// still running. Every mutating call of the Ledger is made twice at the same moment: with
// the same request, both callers get the first response and the act is recorded once; with
// another request under the key, one caller gets its response and the other
// `IdempotencyConflict` (ALREADY_EXISTS), never the error of a step already taken.

fn municipality_0101() -> Principal {
    Principal::Municipality {
        municipality: "0101".into(),
    }
}

fn organisation_principal(organisation: &str) -> Principal {
    Principal::Organisation {
        organisation: organisation.into(),
        municipality: "0101".into(),
    }
}

fn in_work(reference: &str, hours: u32) -> Household {
    serde_json::from_value(json!({
        "applicant_ref": reference,
        "persons": [{"role": "applicant", "weekly_work_hours": hours.to_string()}],
    }))
    .unwrap()
}

fn applicant(reference: &str) -> Household {
    serde_json::from_value(json!({
        "applicant_ref": reference,
        "persons": [{"role": "applicant"}],
    }))
    .unwrap()
}

fn on_cash_benefit(reference: &str) -> Household {
    serde_json::from_value(json!({
        "applicant_ref": reference,
        "persons": [{
            "role": "applicant",
            "benefits": [{"kind": "cash_benefit", "from": "2006-06-01", "to": null}],
        }],
    }))
    .unwrap()
}

fn area_input(area: &str, working: u64, without: u64) -> AreaStatisticsInput {
    AreaStatisticsInput {
        area: area.into(),
        facts: AreaFacts {
            id: area.into(),
            working_age_residents: Some(working),
            without_labour_market_attachment: Some(without),
            residents: Some(working * 2),
            ..AreaFacts::default()
        },
        transfer_income_share: None,
        self_supporting_weeks: None,
    }
}

/// A Ledger over `store` with the repository's rules and a small Copenhagen of 2007: FSB's
/// Tingbjerg (exposed: every letting awaits the municipality) and KAB's Nordvest (neutral).
async fn ledger_over(store: &Arc<Store>) -> Ledger {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let book = letting_rules::rules::load_dir(&rules).unwrap().book;
    let ledger = Ledger::new(store.clone(), book, letting_rules::service::Clock::system());
    let m = municipality_0101();
    for (id, name) in [("fsb", "FSB"), ("kab", "KAB")] {
        let org = Organisation {
            id: id.into(),
            name: name.into(),
        };
        ledger
            .upsert_organisation(&m, &format!("seed-org-{id}"), org)
            .await
            .unwrap();
    }
    for (id, name) in [("tingbjerg", "Tingbjerg"), ("nordvest", "Nordvest")] {
        let area = Area {
            id: id.into(),
            municipality: "0101".into(),
            name: name.into(),
        };
        ledger
            .upsert_area(&m, &format!("seed-area-{id}"), area)
            .await
            .unwrap();
    }
    for (id, org, area) in [
        ("fsb-tingbjerg-1", "fsb", "tingbjerg"),
        ("kab-nordvest-3", "kab", "nordvest"),
    ] {
        let department = Department {
            id: id.into(),
            organisation: org.into(),
            area: area.into(),
            name: id.into(),
            dwellings: 400,
        };
        ledger
            .upsert_department(&m, &format!("seed-dept-{id}"), department)
            .await
            .unwrap();
    }
    let load = LoadStatistics {
        year: 2007,
        date: date(2007, 1, 1),
        areas: vec![
            area_input("tingbjerg", 4000, 2100),
            area_input("nordvest", 2000, 300),
        ],
    };
    ledger
        .load_statistics(&m, "seed-stats-2007", load)
        .await
        .unwrap();
    // Connections for both callers of a race (on PostgreSQL), as a busy server has them:
    // else the second caller spends its head start connecting.
    let warm = (0..4).map(|_| {
        store.read(|_| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, StoreError>(())
            })
        })
    });
    for result in futures::future::join_all(warm).await {
        result.unwrap();
    }
    ledger
}

/// An open vacancy in `department` that its organisation lets (vacancies for municipal
/// referral are registered and passed over).
async fn open_vacancy(ledger: &Ledger, key: &str, department: &str) -> String {
    let organisation = department.split('-').next().unwrap();
    for attempt in 0.. {
        let command = RegisterVacancy {
            department: department.into(),
            vacancy_ref: format!("ref-{key}-{attempt}"),
            date: date(2007, 3, 1),
        };
        let key = if attempt == 0 {
            key.to_owned()
        } else {
            format!("{key}-{attempt}")
        };
        let done = ledger
            .register_vacancy(&organisation_principal(organisation), &key, command)
            .await
            .unwrap();
        if done.decision.channel != Channel::MunicipalReferral {
            return done.vacancy_id;
        }
    }
    unreachable!("the channels repeat")
}

/// A letting of a new vacancy in `department` proposed by its organisation: in Tingbjerg it
/// awaits the municipality (or is rejected, for an applicant on cash benefit, with a
/// replacement dwelling owed), in Nordvest it is approved at once.
async fn proposed_letting(
    ledger: &Ledger,
    key: &str,
    department: &str,
    household: Household,
    expected: LettingOutcome,
) -> String {
    let vacancy_id = open_vacancy(ledger, &format!("{key}-vacancy"), department).await;
    let organisation = department.split('-').next().unwrap();
    let command = ProposeLetting {
        vacancy_id,
        household,
        date: date(2007, 3, 5),
        referral_id: None,
    };
    let proposed = ledger
        .propose_letting(&organisation_principal(organisation), key, command)
        .await
        .unwrap();
    assert_eq!(proposed.decision.outcome, expected);
    proposed.letting_id
}

async fn approved_grant(ledger: &Ledger, key: &str) -> String {
    let decided = ledger
        .decide_grant(&municipality_0101(), key, grant_request(key, None))
        .await
        .unwrap();
    assert_eq!(decided.decision.outcome, GrantOutcome::Approved);
    decided.grant_id
}

fn grant_request(reference: &str, amount: Option<Money>) -> DecideGrant {
    DecideGrant {
        household: applicant(&format!("hh-{reference}")),
        purpose: "special_housing".into(),
        amount,
        date: date(2007, 5, 1),
        caseworker: None,
    }
}

/// Makes the call `call` returns twice at the same moment, each on a task of its own.
async fn at_once<T, F, Fut>(call: F) -> [Result<T, ServiceError>; 2]
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ServiceError>> + Send + 'static,
    T: Send + 'static,
{
    let (one, two) = (tokio::spawn(call()), tokio::spawn(call()));
    [one.await.unwrap(), two.await.unwrap()]
}

/// Makes two calls at the same moment, each on a task of its own.
async fn both_at_once<T, A, B>(a: A, b: B) -> [Result<T, ServiceError>; 2]
where
    A: Future<Output = Result<T, ServiceError>> + Send + 'static,
    B: Future<Output = Result<T, ServiceError>> + Send + 'static,
    T: Send + 'static,
{
    let (one, two) = (tokio::spawn(a), tokio::spawn(b));
    [one.await.unwrap(), two.await.unwrap()]
}

/// Both callers got the same, successful response.
fn agree<T: PartialEq + std::fmt::Debug>(call: &str, answers: [Result<T, ServiceError>; 2]) -> T {
    match answers {
        [Ok(one), Ok(two)] => {
            assert_eq!(one, two, "{call}: a retry must get the first response");
            one
        }
        other => panic!("{call}, the same request twice at once under one key: {other:?}"),
    }
}

/// One caller got its response, the other was told that the key is taken.
fn one_conflicts<T: std::fmt::Debug>(call: &str, answers: [Result<T, ServiceError>; 2]) -> T {
    match answers {
        [Ok(done), Err(ServiceError::IdempotencyConflict(_))]
        | [Err(ServiceError::IdempotencyConflict(_)), Ok(done)] => done,
        other => panic!("{call}, two requests at once under one key: {other:?}"),
    }
}

/// How many decisions of `kind` are about `subject`.
async fn recorded(store: &Store, kind: DecisionKind, subject: &str) -> usize {
    let filter = DecisionFilter {
        kinds: vec![kind],
        subject: Some(subject.to_owned()),
        ..DecisionFilter::default()
    };
    in_read!(store, [filter], |tx| tx
        .decisions(&filter, None, 100)
        .await?)
    .len()
}

/// How many decisions of `kind` there are.
async fn recorded_of(store: &Store, kind: DecisionKind) -> usize {
    let filter = DecisionFilter {
        kinds: vec![kind],
        ..DecisionFilter::default()
    };
    in_read!(store, [filter], |tx| tx
        .decisions(&filter, None, 1000)
        .await?)
    .len()
}

async fn retried_at_once_register_vacancy(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let kab = organisation_principal("kab");
    let command = |vacancy_ref: &str| RegisterVacancy {
        department: "kab-nordvest-3".into(),
        vacancy_ref: vacancy_ref.into(),
        date: date(2007, 3, 1),
    };
    let call = |key: &'static str, c: RegisterVacancy| {
        let (l, p) = (ledger.clone(), kab.clone());
        async move { l.register_vacancy(&p, key, c).await }
    };
    let done = agree(
        "RegisterVacancy",
        at_once(|| call("v-same", command("Nordvestvej 1"))).await,
    );
    assert_eq!(
        recorded(store, DecisionKind::ChannelAssignment, &done.vacancy_id).await,
        1
    );
    let done = one_conflicts(
        "RegisterVacancy",
        both_at_once(
            call("v-other", command("Nordvestvej 2")),
            call("v-other", command("Nordvestvej 3")),
        )
        .await,
    );
    assert_eq!(
        recorded(store, DecisionKind::ChannelAssignment, &done.vacancy_id).await,
        1
    );
    assert_eq!(recorded_of(store, DecisionKind::ChannelAssignment).await, 2);
    let counters = in_read!(store, |tx| tx
        .counters_for_update("department:kab-nordvest-3", "2007")
        .await?);
    assert_eq!(counters.vacancies, 2, "two vacancies, each counted once");
}

async fn retried_at_once_propose_letting(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let fsb = organisation_principal("fsb");
    for (round, same) in [(1, true), (2, false)] {
        let vacancy_id = open_vacancy(&ledger, &format!("v-{round}"), "fsb-tingbjerg-1").await;
        let command = |reference: &str| ProposeLetting {
            vacancy_id: vacancy_id.clone(),
            household: in_work(reference, 37),
            date: date(2007, 3, 5),
            referral_id: None,
        };
        let key = format!("p-{round}");
        let call = |c: ProposeLetting| {
            let (l, p, key) = (ledger.clone(), fsb.clone(), key.clone());
            async move { l.propose_letting(&p, &key, c).await }
        };
        let done = if same {
            agree("ProposeLetting", at_once(|| call(command("hh-1"))).await)
        } else {
            one_conflicts(
                "ProposeLetting",
                both_at_once(call(command("hh-2")), call(command("hh-3"))).await,
            )
        };
        assert_eq!(
            done.decision.outcome,
            LettingOutcome::PendingMunicipalApproval
        );
        assert_eq!(
            recorded(store, DecisionKind::Letting, &done.letting_id).await,
            1
        );
    }
    assert_eq!(recorded_of(store, DecisionKind::Letting).await, 2);
}

/// The municipality's approval (`approve`) or rejection of a letting awaiting it.
async fn retried_municipal_act(store: &Arc<Store>, approve: bool) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let (call_name, kind) = if approve {
        ("ApproveLetting", DecisionKind::Approval)
    } else {
        ("RejectLetting", DecisionKind::MunicipalRejection)
    };
    for (round, same) in [(1, true), (2, false)] {
        let letting_id = proposed_letting(
            &ledger,
            &format!("p-{round}"),
            "fsb-tingbjerg-1",
            in_work(&format!("hh-{round}"), 37),
            LettingOutcome::PendingMunicipalApproval,
        )
        .await;
        let act = |reason: &str| MunicipalAct {
            letting_id: letting_id.clone(),
            date: date(2007, 3, 10),
            reason: reason.into(),
            caseworker: "cw-1".into(),
            replacement_owed: false,
        };
        let key = format!("act-{round}");
        let call = |a: MunicipalAct| {
            let (l, p, key) = (ledger.clone(), m.clone(), key.clone());
            async move { l.decide_letting(&p, &key, a, approve).await }
        };
        let done = if same {
            agree(
                call_name,
                at_once(|| call(act("Ansøger er i arbejde."))).await,
            )
        } else {
            one_conflicts(
                call_name,
                both_at_once(
                    call(act("Første begrundelse.")),
                    call(act("Anden begrundelse.")),
                )
                .await,
            )
        };
        let status = if approve {
            "approved"
        } else {
            "rejected_by_municipality"
        };
        assert_eq!(done.status, status);
        assert_eq!(recorded(store, kind, &letting_id).await, 1);
    }
}

async fn retried_at_once_approve_letting(store: &Arc<Store>) {
    retried_municipal_act(store, true).await;
}

async fn retried_at_once_reject_letting(store: &Arc<Store>) {
    retried_municipal_act(store, false).await;
}

async fn retried_at_once_record_move_in(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let kab = organisation_principal("kab");
    for (round, same) in [(1, true), (2, false)] {
        let letting_id = proposed_letting(
            &ledger,
            &format!("p-{round}"),
            "kab-nordvest-3",
            in_work(&format!("hh-{round}"), 37),
            LettingOutcome::Approved,
        )
        .await;
        let command = |day: u32| RecordMoveIn {
            letting_id: letting_id.clone(),
            date: date(2007, 4, day),
        };
        let key = format!("move-{round}");
        let call = |c: RecordMoveIn| {
            let (l, p, key) = (ledger.clone(), kab.clone(), key.clone());
            async move { l.record_move_in(&p, &key, c).await }
        };
        if same {
            agree("RecordMoveIn", at_once(|| call(command(1))).await);
        } else {
            one_conflicts(
                "RecordMoveIn",
                both_at_once(call(command(1)), call(command(2))).await,
            );
        }
        assert_eq!(recorded(store, DecisionKind::MoveIn, &letting_id).await, 1);
    }
}

/// A letting rejected under combined letting (a replacement dwelling is owed) and an open
/// vacancy outside exposed areas to offer.
async fn owed_replacement(ledger: &Ledger, round: u32) -> (String, String) {
    let letting_id = proposed_letting(
        ledger,
        &format!("p-{round}"),
        "fsb-tingbjerg-1",
        on_cash_benefit(&format!("hh-{round}")),
        LettingOutcome::Rejected,
    )
    .await;
    let vacancy_id = open_vacancy(ledger, &format!("offer-v-{round}"), "kab-nordvest-3").await;
    (letting_id, vacancy_id)
}

async fn retried_at_once_make_replacement_offer(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    for (round, same) in [(1, true), (2, false)] {
        let (letting_id, vacancy_id) = owed_replacement(&ledger, round).await;
        let command = |day: u32| MakeOffer {
            letting_id: letting_id.clone(),
            vacancy_id: vacancy_id.clone(),
            date: date(2007, 3, day),
            caseworker: None,
        };
        let key = format!("offer-{round}");
        let call = |c: MakeOffer| {
            let (l, p, key) = (ledger.clone(), m.clone(), key.clone());
            async move { l.make_replacement_offer(&p, &key, c).await }
        };
        let done = if same {
            agree("MakeReplacementOffer", at_once(|| call(command(15))).await)
        } else {
            one_conflicts(
                "MakeReplacementOffer",
                both_at_once(call(command(15)), call(command(16))).await,
            )
        };
        assert_eq!(
            recorded(store, DecisionKind::ReplacementOffer, &done.offer_id).await,
            1
        );
    }
    assert_eq!(recorded_of(store, DecisionKind::ReplacementOffer).await, 2);
}

async fn retried_at_once_record_replacement_offer_answer(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let (m, kab) = (municipality_0101(), organisation_principal("kab"));
    for (round, same) in [(1, true), (2, false)] {
        let (letting_id, vacancy_id) = owed_replacement(&ledger, round).await;
        let offer = MakeOffer {
            letting_id,
            vacancy_id,
            date: date(2007, 3, 15),
            caseworker: None,
        };
        let offer_id = ledger
            .make_replacement_offer(&m, &format!("offer-{round}"), offer)
            .await
            .unwrap()
            .offer_id;
        let command = |accepted: bool| AnswerOffer {
            offer_id: offer_id.clone(),
            accepted,
            date: date(2007, 3, 20),
        };
        let key = format!("answer-{round}");
        let call = |c: AnswerOffer| {
            let (l, p, key) = (ledger.clone(), kab.clone(), key.clone());
            async move { l.answer_offer(&p, &key, c).await }
        };
        if same {
            agree(
                "RecordReplacementOfferAnswer",
                at_once(|| call(command(true))).await,
            );
        } else {
            one_conflicts(
                "RecordReplacementOfferAnswer",
                both_at_once(call(command(true)), call(command(false))).await,
            );
        }
        assert_eq!(
            recorded(store, DecisionKind::OfferAnswer, &offer_id).await,
            1
        );
    }
}

async fn retried_at_once_record_municipal_referral(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    // Vacancies in Nordvest until two are the municipality's to refer into.
    let kab = organisation_principal("kab");
    let mut referable = Vec::new();
    for i in 0..40 {
        let command = RegisterVacancy {
            department: "kab-nordvest-3".into(),
            vacancy_ref: format!("ref-{i}"),
            date: date(2007, 3, 1),
        };
        let registered = ledger
            .register_vacancy(&kab, &format!("v-{i}"), command)
            .await
            .unwrap();
        if registered.decision.channel == Channel::MunicipalReferral {
            referable.push(registered.vacancy_id);
        }
        if referable.len() == 2 {
            break;
        }
    }
    assert_eq!(referable.len(), 2, "two vacancies for municipal referral");
    for (round, (same, vacancy_id)) in [true, false].into_iter().zip(referable).enumerate() {
        let command = |reference: &str| RecordReferral {
            vacancy_id: vacancy_id.clone(),
            household: in_work(reference, 37),
            date: date(2007, 3, 2),
            caseworker: None,
        };
        let key = format!("referral-{round}");
        let call = |c: RecordReferral| {
            let (l, p, key) = (ledger.clone(), m.clone(), key.clone());
            async move { l.record_referral(&p, &key, c).await }
        };
        let done = if same {
            agree(
                "RecordMunicipalReferral",
                at_once(|| call(command("hh-1"))).await,
            )
        } else {
            one_conflicts(
                "RecordMunicipalReferral",
                both_at_once(call(command("hh-2")), call(command("hh-3"))).await,
            )
        };
        assert_eq!(
            recorded(store, DecisionKind::Referral, &done.referral_id).await,
            1
        );
    }
    assert_eq!(recorded_of(store, DecisionKind::Referral).await, 2);
}

async fn retried_at_once_decide_relocation_grant(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let call = |key: &'static str, c: DecideGrant| {
        let (l, p) = (ledger.clone(), m.clone());
        async move { l.decide_grant(&p, key, c).await }
    };
    let one = agree(
        "DecideRelocationGrant",
        at_once(|| call("g-same", grant_request("a", None))).await,
    );
    let other = one_conflicts(
        "DecideRelocationGrant",
        both_at_once(
            call("g-other", grant_request("b", None)),
            call("g-other", grant_request("c", None)),
        )
        .await,
    );
    assert_eq!(recorded_of(store, DecisionKind::Grant).await, 2);
    let pool = in_read!(store, |tx| tx.pool_for_update("0101", 2007).await?);
    assert_eq!(
        pool.committed_ore,
        one.decision.amount.ore() + other.decision.amount.ore(),
        "each grant committed once"
    );
}

/// Paying (`pay`) or cancelling an approved grant.
async fn retried_grant_settlement(store: &Arc<Store>, pay: bool) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let (call_name, kind) = if pay {
        ("PayRelocationGrant", DecisionKind::GrantPayment)
    } else {
        ("CancelRelocationGrant", DecisionKind::GrantCancellation)
    };
    for (round, same) in [(1, true), (2, false)] {
        let grant_id = approved_grant(&ledger, &format!("g-{round}")).await;
        let act = |reason: &str| GrantAct {
            grant_id: grant_id.clone(),
            date: date(2007, 6, 1),
            reason: reason.into(),
        };
        let key = format!("settle-{round}");
        let call = |a: GrantAct| {
            let (l, p, key) = (ledger.clone(), m.clone(), key.clone());
            async move { l.settle_grant(&p, &key, a, pay).await }
        };
        if same {
            agree(call_name, at_once(|| call(act("Bevilget."))).await);
        } else {
            one_conflicts(
                call_name,
                both_at_once(call(act("Første note.")), call(act("Anden note."))).await,
            );
        }
        assert_eq!(recorded(store, kind, &grant_id).await, 1);
    }
    let pool = in_read!(store, |tx| tx.pool_for_update("0101", 2007).await?);
    assert_eq!(pool.committed_ore, 0, "both grants settled, each once");
    // Two grants of the rule set's standard amount, 15,000.00 kr.
    assert_eq!(pool.paid_ore, if pay { 2 * 1_500_000 } else { 0 });
}

async fn retried_at_once_pay_relocation_grant(store: &Arc<Store>) {
    retried_grant_settlement(store, true).await;
}

async fn retried_at_once_cancel_relocation_grant(store: &Arc<Store>) {
    retried_grant_settlement(store, false).await;
}

async fn retried_at_once_load_area_statistics(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let load = |without: u64| LoadStatistics {
        year: 2008,
        date: date(2008, 1, 1),
        areas: vec![area_input("nordvest", 2000, without)],
    };
    let call = |key: &'static str, c: LoadStatistics| {
        let (l, p) = (ledger.clone(), m.clone());
        async move { l.load_statistics(&p, key, c).await }
    };
    agree(
        "LoadAreaStatistics",
        at_once(|| call("s-same", load(310))).await,
    );
    one_conflicts(
        "LoadAreaStatistics",
        both_at_once(call("s-other", load(320)), call("s-other", load(330))).await,
    );
    // The seed's load and one for each key.
    assert_eq!(recorded_of(store, DecisionKind::Statistics).await, 3);
}

async fn retried_at_once_upsert_organisation(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let org = |name: &str| Organisation {
        id: "sab".into(),
        name: name.into(),
    };
    let call = |key: &'static str, o: Organisation| {
        let (l, p) = (ledger.clone(), m.clone());
        async move { l.upsert_organisation(&p, key, o).await }
    };
    let before = recorded_of(store, DecisionKind::Registry).await;
    agree(
        "UpsertOrganisation",
        at_once(|| call("o-same", org("SAB"))).await,
    );
    one_conflicts(
        "UpsertOrganisation",
        both_at_once(call("o-other", org("SAB 1")), call("o-other", org("SAB 2"))).await,
    );
    assert_eq!(recorded_of(store, DecisionKind::Registry).await, before + 2);
}

async fn retried_at_once_upsert_area(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let area = |name: &str| Area {
        id: "oestergaard".into(),
        municipality: "0101".into(),
        name: name.into(),
    };
    let call = |key: &'static str, a: Area| {
        let (l, p) = (ledger.clone(), m.clone());
        async move { l.upsert_area(&p, key, a).await }
    };
    let before = recorded_of(store, DecisionKind::Registry).await;
    agree(
        "UpsertArea",
        at_once(|| call("a-same", area("Østergård"))).await,
    );
    one_conflicts(
        "UpsertArea",
        both_at_once(
            call("a-other", area("Østergård 1")),
            call("a-other", area("Østergård 2")),
        )
        .await,
    );
    assert_eq!(recorded_of(store, DecisionKind::Registry).await, before + 2);
}

async fn retried_at_once_upsert_department(store: &Arc<Store>) {
    let ledger = ledger_over(store).await;
    let m = municipality_0101();
    let department = |dwellings: u32| Department {
        id: "kab-nordvest-4".into(),
        organisation: "kab".into(),
        area: "nordvest".into(),
        name: "Nordvest 4".into(),
        dwellings,
    };
    let call = |key: &'static str, d: Department| {
        let (l, p) = (ledger.clone(), m.clone());
        async move { l.upsert_department(&p, key, d).await }
    };
    let before = recorded_of(store, DecisionKind::Registry).await;
    agree(
        "UpsertDepartment",
        at_once(|| call("d-same", department(100))).await,
    );
    one_conflicts(
        "UpsertDepartment",
        both_at_once(
            call("d-other", department(101)),
            call("d-other", department(102)),
        )
        .await,
    );
    assert_eq!(recorded_of(store, DecisionKind::Registry).await, before + 2);
}

// ----- SQLite only ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // The parent directories are created.
    let path = dir
        .path()
        .join("nested")
        .join("deeper")
        .join("store.sqlite");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url).await.unwrap();
    seed_registry(&store).await;
    let d = decision("d-1", DecisionKind::Grant, "0101", date(2024, 2, 1));
    let record = d.clone();
    in_write!(store, [record], |tx| {
        tx.append_decision(&record).await?;
        tx.put_counters(
            "department:dep-1",
            "2024",
            &QuotaCounters {
                vacancies: 3,
                by_channel: [1, 1, 1, 0],
            },
        )
        .await?;
    });
    store.close().await;
    // Closed: no more jobs.
    let refused = store
        .write(|tx| {
            Box::pin(async move { tx.upsert_organisation("0101", &organisation("late")).await })
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Closed)), "{refused:?}");
    let refused = store
        .read(|tx| Box::pin(async move { tx.organisation("0101", "org-1").await }))
        .await;
    assert!(matches!(refused, Err(StoreError::Closed)), "{refused:?}");
    // The WAL was folded into the database at close.
    let wal = path.with_file_name("store.sqlite-wal");
    assert!(
        std::fs::metadata(&wal)
            .map(|m| m.len() == 0)
            .unwrap_or(true)
    );
    drop(store);

    let store = Store::open(&url).await.unwrap();
    let (org, got, counters) = in_read!(store, |tx| (
        tx.organisation("0101", "org-1").await?,
        tx.decision("d-1").await?,
        tx.counters_for_update("department:dep-1", "2024").await?,
    ));
    assert_eq!(org, Some(organisation("org-1")));
    assert_eq!(got, Some(d));
    assert_eq!(counters.vacancies, 3);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_url_works() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    seed_registry(&store).await;
    let areas = in_read!(store, |tx| tx.areas("0101").await?);
    assert_eq!(areas.len(), 2);
    store.close().await;
    // Another in-memory store is another database.
    let other = Store::open("sqlite::memory:").await.unwrap();
    assert_eq!(in_read!(other, |tx| tx.areas("0101").await?), Vec::new());
    other.close().await;
}

// ----- migrating a database made before V3 ------------------------------------------------

mod before_v3 {
    pub mod sqlite {
        refinery::embed_migrations!("migrations/sqlite");
    }
    pub mod postgres {
        refinery::embed_migrations!("migrations/postgres");
    }
}

/// A registry as V2 kept it (one record per organisation): KAB with departments in 0101
/// and 0147, FAB in 0147, "shared" registered by 0147 (its registry decision) without
/// departments, and "lonely" that no municipality registered.
const V2_REGISTRY: &str = "
    INSERT INTO organisations (id, name) VALUES
        ('kab', 'KAB'), ('fab', 'FAB'), ('shared', 'Shared'), ('lonely', 'Lonely');
    INSERT INTO areas (id, municipality, name) VALUES
        ('nordvest', '0101', 'Nordvest'), ('syd', '0147', 'Syd');
    INSERT INTO departments (id, organisation, area, name, dwellings) VALUES
        ('kab-1', 'kab', 'nordvest', 'KAB 1', 100),
        ('kab-2', 'kab', 'syd', 'KAB 2', 50),
        ('fab-1', 'fab', 'syd', 'FAB 1', 70);
    INSERT INTO decisions (id, kind, municipality, organisation, event_date, recorded_at,
                           outcome, principal, body) VALUES
        ('d-shared', 'registry', '0147', 'shared', '2024-01-01',
         '2024-01-01T00:00:00.000000Z', 'organisation', 'municipality',
         '{\"id\":\"shared\",\"name\":\"Shared\"}');
";

/// The V2 registry after migrating: each organisation in the municipalities that had it.
async fn v2_registry_moved_forward(store: &Store) {
    let (organisations, of_0101, of_0147, decision) = in_read!(store, |tx| {
        let mut organisations = Vec::new();
        for municipality in ["0101", "0147"] {
            for id in ["kab", "fab", "shared", "lonely"] {
                if let Some(o) = tx.organisation(municipality, id).await? {
                    organisations.push(format!("{municipality}:{}:{}", o.id, o.name));
                }
            }
        }
        (
            organisations,
            tx.departments("0101", None, None, 10).await?,
            tx.departments("0147", None, None, 10).await?,
            tx.decision("d-shared").await?,
        )
    });
    assert_eq!(
        organisations,
        [
            "0101:kab:KAB",
            "0101:lonely:Lonely",
            "0147:kab:KAB",
            "0147:fab:FAB",
            "0147:shared:Shared",
            "0147:lonely:Lonely"
        ]
    );
    assert_eq!(
        of_0101,
        [Department {
            id: "kab-1".into(),
            organisation: "kab".into(),
            area: "nordvest".into(),
            name: "KAB 1".into(),
            dwellings: 100
        }]
    );
    let ids: Vec<&str> = of_0147.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["fab-1", "kab-2"]);
    assert_eq!(decision.map(|d| d.outcome).as_deref(), Some("organisation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_database_of_v2_migrates_forward() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        before_v3::sqlite::migrations::runner()
            .set_target(refinery::Target::Version(2))
            .run(&mut conn)
            .unwrap();
        conn.execute_batch(V2_REGISTRY).unwrap();
    }
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    v2_registry_moved_forward(&store).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_database_of_v2_migrates_forward() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    {
        let (mut client, connection) =
            tokio_postgres::connect(&schema.url(), tokio_postgres::NoTls)
                .await
                .unwrap();
        let driver = tokio::spawn(connection);
        before_v3::postgres::migrations::runner()
            .set_target(refinery::Target::Version(2))
            .run_async(&mut client)
            .await
            .unwrap();
        client.batch_execute(V2_REGISTRY).await.unwrap();
        drop(client);
        let _ = driver.await;
    }
    let store = schema.open().await;
    v2_registry_moved_forward(&store).await;
    store.close().await;
    schema.drop_schema().await;
}

#[tokio::test]
async fn unknown_urls_are_refused() {
    let result = Store::open("mysql://localhost/x").await;
    assert!(matches!(result, Err(StoreError::UnsupportedUrl(_))));
    let result = Store::open("sqlite://").await;
    assert!(matches!(result, Err(StoreError::Open { .. })));
}

#[tokio::test]
async fn postgres_passwords_stay_out_of_errors() {
    // Nothing listens on port 1: the error names the URL without its password.
    let result = Store::open("postgres://user:sekret@127.0.0.1:1/none?connect_timeout=2").await;
    match result {
        Err(StoreError::Open { url, .. }) => {
            assert!(!url.contains("sekret"), "{url}");
            assert!(url.contains("user:***@127.0.0.1:1"), "{url}");
        }
        Err(other) => panic!("expected an open error, got {other}"),
        Ok(_) => panic!("nothing listens on port 1"),
    }
}
