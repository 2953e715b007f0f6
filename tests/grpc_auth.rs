//! Who may call what: missing and revoked keys, organisations outside their own
//! departments, organisations at the municipality's calls, the auditor's read-only key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Housing, Municipality, Registry, TestServer, code_of, household, in_work, vacancy};
use letting_rules::grpc::pb;
use letting_rules::service::Principal;
use letting_rules::store::DecisionKind;
use tonic::Code;

/// Every RPC of the three letting.v1 services, called with well-formed requests; the codes
/// in call order.
async fn every_call(h: &mut Housing, m: &mut Municipality, r: &mut Registry) -> Vec<Code> {
    vec![
        code_of(
            h.register_vacancy(vacancy("k1", "kab-nordvest-3", "2007-03-01"))
                .await,
        ),
        code_of(
            h.propose_letting(pb::ProposeLettingRequest {
                idempotency_key: "k2".into(),
                vacancy_id: "v".into(),
                household: Some(household("hh-1", in_work("37"))),
                proposal_date: "2007-03-02".into(),
                ..Default::default()
            })
            .await,
        ),
        code_of(
            h.evaluate_letting(pb::EvaluateLettingRequest {
                vacancy_id: "v".into(),
                household: Some(household("hh-1", in_work("37"))),
                proposal_date: "2007-03-02".into(),
                ..Default::default()
            })
            .await,
        ),
        code_of(
            h.record_move_in(pb::RecordMoveInRequest {
                idempotency_key: "k3".into(),
                letting_id: "l".into(),
                move_in_date: "2007-04-01".into(),
            })
            .await,
        ),
        code_of(
            h.record_replacement_offer_answer(pb::RecordReplacementOfferAnswerRequest {
                idempotency_key: "k4".into(),
                offer_id: "o".into(),
                accepted: true,
                answer_date: "2007-04-01".into(),
            })
            .await,
        ),
        code_of(
            h.get_decision(pb::GetDecisionRequest {
                decision_id: "d".into(),
            })
            .await,
        ),
        code_of(h.ping(pb::PingRequest {}).await),
        code_of(
            m.list_pending_approvals(pb::ListPendingApprovalsRequest::default())
                .await,
        ),
        code_of(m.approve_letting(approval("k5")).await),
        code_of(
            m.reject_letting(pb::RejectLettingRequest {
                idempotency_key: "k6".into(),
                letting_id: "l".into(),
                decision_date: "2007-03-10".into(),
                reason: "r".into(),
                caseworker_ref: "cw".into(),
                replacement_owed: false,
            })
            .await,
        ),
        code_of(m.make_replacement_offer(offer("k7")).await),
        code_of(
            m.record_municipal_referral(pb::RecordMunicipalReferralRequest {
                idempotency_key: "k8".into(),
                vacancy_id: "v".into(),
                household: Some(household("hh-2", in_work("37"))),
                referral_date: "2007-03-02".into(),
            })
            .await,
        ),
        code_of(m.load_area_statistics(statistics("k9")).await),
        code_of(
            m.get_classifications(pb::GetClassificationsRequest {
                as_of: "2007-06-01".into(),
            })
            .await,
        ),
        code_of(
            m.decide_relocation_grant(common::standard_grant("k10", "2007-05-01"))
                .await,
        ),
        code_of(m.pay_relocation_grant(settle("k11")).await),
        code_of(m.cancel_relocation_grant(settle("k12")).await),
        code_of(
            m.get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
                .await,
        ),
        code_of(r.upsert_organisation(organisation("k13")).await),
        code_of(r.upsert_area(area("k14")).await),
        code_of(r.upsert_department(department("k15")).await),
        code_of(
            r.list_departments(pb::ListDepartmentsRequest::default())
                .await,
        ),
    ]
}

fn approval(key: &str) -> pb::ApproveLettingRequest {
    pb::ApproveLettingRequest {
        idempotency_key: key.into(),
        letting_id: "l".into(),
        decision_date: "2007-03-10".into(),
        reason: "Ansøger er i arbejde.".into(),
        caseworker_ref: "cw-1".into(),
    }
}

fn offer(key: &str) -> pb::MakeReplacementOfferRequest {
    pb::MakeReplacementOfferRequest {
        idempotency_key: key.into(),
        letting_id: "l".into(),
        vacancy_id: "v".into(),
        offer_date: "2007-03-10".into(),
    }
}

fn statistics(key: &str) -> pb::LoadAreaStatisticsRequest {
    pb::LoadAreaStatisticsRequest {
        idempotency_key: key.into(),
        year: 2008,
        effective_date: "2008-01-01".into(),
        areas: vec![pb::AreaStatistics {
            area_id: "nordvest".into(),
            working_age_residents: Some(1000),
            without_labour_market_attachment: Some(100),
            ..Default::default()
        }],
    }
}

fn settle(key: &str) -> pb::SettleRelocationGrantRequest {
    pb::SettleRelocationGrantRequest {
        idempotency_key: key.into(),
        grant_id: "g".into(),
        date: "2007-06-01".into(),
        reason: "note".into(),
    }
}

fn organisation(key: &str) -> pb::UpsertOrganisationRequest {
    pb::UpsertOrganisationRequest {
        idempotency_key: key.into(),
        organisation: Some(pb::Organisation {
            id: "sab".into(),
            name: "SAB".into(),
        }),
    }
}

fn area(key: &str) -> pb::UpsertAreaRequest {
    pb::UpsertAreaRequest {
        idempotency_key: key.into(),
        area: Some(pb::Area {
            id: "oestergaard".into(),
            municipality_code: "0101".into(),
            name: "Østergård".into(),
        }),
    }
}

fn department(key: &str) -> pb::UpsertDepartmentRequest {
    pb::UpsertDepartmentRequest {
        idempotency_key: key.into(),
        department: Some(pb::Department {
            id: "kab-nordvest-4".into(),
            organisation_id: "kab".into(),
            area_id: "nordvest".into(),
            name: "Nordvest 4".into(),
            dwellings: 100,
        }),
    }
}

#[tokio::test]
async fn calls_without_a_usable_key_are_unauthenticated_on_every_service() {
    let server = TestServer::start().await;
    server.seed().await;
    let before = server.decisions(&[]).await.len();
    let unknown = "lr_0000000000000000000000000000000000000000000000000";
    for key in [None, Some(unknown), Some("")] {
        let mut h = server.housing(key).await;
        let mut m = server.municipality(key).await;
        let mut r = server.registry(key).await;
        let codes = every_call(&mut h, &mut m, &mut r).await;
        assert_eq!(codes.len(), 22);
        assert!(
            codes.iter().all(|c| *c == Code::Unauthenticated),
            "key {key:?}: {codes:?}"
        );
    }
    // A header that is not `Bearer <key>`.
    let channel = server.channel().await;
    let mut basic =
        pb::housing_organisation_service_client::HousingOrganisationServiceClient::with_interceptor(
            channel,
            |mut req: tonic::Request<()>| {
                req.metadata_mut()
                    .insert("authorization", "Basic a2FiOmth".parse().expect("ascii"));
                Ok(req)
            },
        );
    assert_eq!(
        code_of(basic.ping(pb::PingRequest {}).await),
        Code::Unauthenticated
    );
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}

#[tokio::test]
async fn health_and_reflection_answer_without_a_key() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in [
        "",
        "letting.v1.HousingOrganisationService",
        "letting.v1.MunicipalityService",
        "letting.v1.RegistryService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("health check of `{service}`: {e}"))
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "`{service}`");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "letting.v1.NoSuchService".into(),
        })
        .await
        .expect_err("an unknown service");
    assert_eq!(unknown.code(), Code::NotFound);

    let expected = [
        "letting.v1.HousingOrganisationService",
        "letting.v1.MunicipalityService",
        "letting.v1.RegistryService",
    ];
    let v1 = reflection_v1_services(&server).await;
    let v1alpha = reflection_v1alpha_services(&server).await;
    for name in expected {
        assert!(v1.iter().any(|s| s == name), "v1 lists {v1:?}");
        assert!(
            v1alpha.iter().any(|s| s == name),
            "v1alpha lists {v1alpha:?}"
        );
    }
    server.stop().await;
}

async fn reflection_v1_services(server: &TestServer) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection v1")
        .into_inner();
    match answers
        .message()
        .await
        .expect("answer")
        .expect("one answer")
        .message_response
    {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

async fn reflection_v1alpha_services(server: &TestServer) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    match answers
        .message()
        .await
        .expect("answer")
        .expect("one answer")
        .message_response
    {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test]
async fn a_revoked_key_is_unauthenticated() {
    let server = TestServer::start().await;
    server.seed().await;
    let kab = Principal::Organisation {
        organisation: "kab".into(),
        municipality: "0101".into(),
    };

    // A key revoked before its first use is refused at once (nothing is cached for it).
    let (id, secret) = server.new_key(kab.clone()).await;
    server.revoke_key(&id).await;
    let mut h = server.housing(Some(&secret)).await;
    assert_eq!(
        code_of(h.ping(pb::PingRequest {}).await),
        Code::Unauthenticated
    );
    let refused = h
        .register_vacancy(vacancy("revoked-1", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect_err("revoked key");
    assert_eq!(refused.code(), Code::Unauthenticated);

    // A key in use stops working within the 5-second authentication cache.
    let (id, secret) = server.new_key(kab).await;
    let mut h = server.housing(Some(&secret)).await;
    h.ping(pb::PingRequest {}).await.expect("the key works");
    server.revoke_key(&id).await;
    let revoked_at = Instant::now();
    loop {
        match h.ping(pb::PingRequest {}).await {
            Ok(_) => assert!(
                revoked_at.elapsed() < Duration::from_secs(8),
                "a revoked key still works after {:?}",
                revoked_at.elapsed()
            ),
            Err(e) => {
                assert_eq!(e.code(), Code::Unauthenticated);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        server
            .decisions(&[DecisionKind::ChannelAssignment])
            .await
            .is_empty(),
        "nothing was registered with a revoked key"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_organisation_cannot_touch_another_organisations_department() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let refused = kab
        .register_vacancy(vacancy("kab-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect_err("KAB in FSB's department");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        server
            .decisions(&[DecisionKind::ChannelAssignment])
            .await
            .is_empty(),
        "no channel decision was logged"
    );
    assert_eq!(
        server
            .department_counters("fsb-tingbjerg-1", "2007")
            .await
            .vacancies,
        0
    );
    assert_eq!(server.municipality_counters("2007").await.vacancies, 0);

    // FSB's own vacancy: KAB may neither propose for it nor read its decision.
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let own = fsb
        .register_vacancy(vacancy("fsb-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("FSB in its own department")
        .into_inner();
    let proposal = kab
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "kab-2".into(),
            vacancy_id: own.vacancy_id.clone(),
            household: Some(household("kab-hh-1", in_work("37"))),
            proposal_date: "2007-03-02".into(),
            ..Default::default()
        })
        .await
        .expect_err("KAB proposing for FSB's vacancy");
    assert_eq!(proposal.code(), Code::PermissionDenied);
    assert!(server.decisions(&[DecisionKind::Letting]).await.is_empty());

    let read = kab
        .get_decision(pb::GetDecisionRequest {
            decision_id: own.decision_id.clone(),
        })
        .await
        .expect_err("KAB reading FSB's decision");
    assert_eq!(read.code(), Code::NotFound, "{read:?}");
    // ... which FSB, the municipality and the auditor can read.
    for key in [
        &server.keys.fsb,
        &server.keys.municipality,
        &server.keys.auditor,
    ] {
        let d = server
            .housing(Some(key))
            .await
            .get_decision(pb::GetDecisionRequest {
                decision_id: own.decision_id.clone(),
            })
            .await
            .expect("read")
            .into_inner();
        assert_eq!(d.subject_id, own.vacancy_id);
    }
    // KAB sees only its own departments.
    let listed = server
        .registry(Some(&server.keys.kab))
        .await
        .list_departments(pb::ListDepartmentsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let mut ids: Vec<_> = listed.departments.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["akb-bispeparken", "kab-nordvest-3"]);
    server.stop().await;
}

#[tokio::test]
async fn another_municipality_sees_and_changes_nothing_of_ours() {
    let server = TestServer::start().await;
    server.seed().await;
    let own = server
        .housing(Some(&server.keys.kab))
        .await
        .register_vacancy(vacancy("kab-1", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let (_, frederiksberg) = server
        .new_key(Principal::Municipality {
            municipality: "0147".into(),
        })
        .await;
    let mut h = server.housing(Some(&frederiksberg)).await;
    let read = h
        .get_decision(pb::GetDecisionRequest {
            decision_id: own.decision_id.clone(),
        })
        .await
        .expect_err("another municipality's decision");
    assert_eq!(read.code(), Code::NotFound);
    let write = h
        .register_vacancy(vacancy("f-1", "kab-nordvest-3", "2007-03-02"))
        .await
        .expect_err("a vacancy in another municipality's department");
    assert_eq!(write.code(), Code::PermissionDenied);
    assert_eq!(
        server
            .department_counters("kab-nordvest-3", "2007")
            .await
            .vacancies,
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn organisations_may_not_make_the_municipalitys_calls() {
    let server = TestServer::start().await;
    server.seed().await;
    let before = server.decisions(&[]).await.len();
    let mut m = server.municipality(Some(&server.keys.kab)).await;
    let mut r = server.registry(Some(&server.keys.kab)).await;
    let codes = vec![
        code_of(m.approve_letting(approval("o1")).await),
        code_of(
            m.decide_relocation_grant(common::standard_grant("o2", "2007-05-01"))
                .await,
        ),
        code_of(m.load_area_statistics(statistics("o3")).await),
        code_of(m.make_replacement_offer(offer("o4")).await),
        code_of(m.pay_relocation_grant(settle("o5")).await),
        code_of(m.cancel_relocation_grant(settle("o6")).await),
        code_of(
            m.list_pending_approvals(pb::ListPendingApprovalsRequest::default())
                .await,
        ),
        code_of(
            m.get_classifications(pb::GetClassificationsRequest {
                as_of: "2007-06-01".into(),
            })
            .await,
        ),
        code_of(
            m.get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
                .await,
        ),
        code_of(r.upsert_organisation(organisation("o7")).await),
        code_of(r.upsert_area(area("o8")).await),
        code_of(r.upsert_department(department("o9")).await),
    ];
    assert!(
        codes.iter().all(|c| *c == Code::PermissionDenied),
        "{codes:?}"
    );
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert_eq!(server.pool_use(2007).await.committed_ore, 0);
    server.stop().await;
}

#[tokio::test]
async fn the_auditor_reads_but_never_writes() {
    let server = TestServer::start().await;
    server.seed().await;
    let registered = server
        .housing(Some(&server.keys.kab))
        .await
        .register_vacancy(vacancy("kab-1", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let before = server.decisions(&[]).await.len();

    let auditor = Some(server.keys.auditor.as_str());
    let mut h = server.housing(auditor).await;
    let mut m = server.municipality(auditor).await;
    let mut r = server.registry(auditor).await;

    // Reads.
    let d = h
        .get_decision(pb::GetDecisionRequest {
            decision_id: registered.decision_id.clone(),
        })
        .await
        .expect("GetDecision")
        .into_inner();
    assert_eq!(d.kind, "channel_assignment");
    m.list_pending_approvals(pb::ListPendingApprovalsRequest::default())
        .await
        .expect("ListPendingApprovals");
    let pool = m
        .get_grant_pool(pb::GetGrantPoolRequest { year: 2007 })
        .await
        .expect("GetGrantPool")
        .into_inner();
    assert_eq!(pool.pool_ore, 100_000_000);
    let classes = m
        .get_classifications(pb::GetClassificationsRequest {
            as_of: "2007-06-01".into(),
        })
        .await
        .expect("GetClassifications")
        .into_inner();
    assert_eq!(classes.classifications.len(), 4);
    let listed = r
        .list_departments(pb::ListDepartmentsRequest::default())
        .await
        .expect("ListDepartments")
        .into_inner();
    assert_eq!(listed.departments.len(), 4);
    h.ping(pb::PingRequest {}).await.expect("Ping");

    // Writes are refused, and so is the dry run of a letting (for those who may propose).
    let codes = vec![
        code_of(
            h.register_vacancy(vacancy("a1", "kab-nordvest-3", "2007-03-02"))
                .await,
        ),
        code_of(
            h.propose_letting(pb::ProposeLettingRequest {
                idempotency_key: "a2".into(),
                vacancy_id: registered.vacancy_id.clone(),
                household: Some(household("a-hh-1", in_work("37"))),
                proposal_date: "2007-03-02".into(),
                ..Default::default()
            })
            .await,
        ),
        code_of(
            h.evaluate_letting(pb::EvaluateLettingRequest {
                vacancy_id: registered.vacancy_id.clone(),
                household: Some(household("a-hh-1", in_work("37"))),
                proposal_date: "2007-03-02".into(),
                ..Default::default()
            })
            .await,
        ),
        code_of(
            h.record_move_in(pb::RecordMoveInRequest {
                idempotency_key: "a3".into(),
                letting_id: "l".into(),
                move_in_date: "2007-04-01".into(),
            })
            .await,
        ),
        code_of(
            h.record_replacement_offer_answer(pb::RecordReplacementOfferAnswerRequest {
                idempotency_key: "a4".into(),
                offer_id: "o".into(),
                accepted: true,
                answer_date: "2007-04-01".into(),
            })
            .await,
        ),
        code_of(m.approve_letting(approval("a5")).await),
        code_of(m.make_replacement_offer(offer("a6")).await),
        code_of(
            m.record_municipal_referral(pb::RecordMunicipalReferralRequest {
                idempotency_key: "a7".into(),
                vacancy_id: registered.vacancy_id.clone(),
                household: Some(household("a-hh-2", in_work("37"))),
                referral_date: "2007-03-02".into(),
            })
            .await,
        ),
        code_of(m.load_area_statistics(statistics("a8")).await),
        code_of(
            m.decide_relocation_grant(common::standard_grant("a9", "2007-05-01"))
                .await,
        ),
        code_of(m.pay_relocation_grant(settle("a10")).await),
        code_of(r.upsert_organisation(organisation("a11")).await),
        code_of(r.upsert_area(area("a12")).await),
        code_of(r.upsert_department(department("a13")).await),
    ];
    assert!(
        codes.iter().all(|c| *c == Code::PermissionDenied),
        "{codes:?}"
    );
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert_eq!(
        server
            .department_counters("kab-nordvest-3", "2007")
            .await
            .vacancies,
        1
    );
    server.stop().await;
}

/// The ids of the departments `key` lists, sorted.
async fn listed_departments(server: &TestServer, key: &str) -> Vec<String> {
    let listed = server
        .registry(Some(key))
        .await
        .list_departments(pb::ListDepartmentsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let mut ids: Vec<String> = listed.departments.into_iter().map(|d| d.id).collect();
    ids.sort_unstable();
    ids
}

/// 0101's record of an organisation, and an area and department, as the store has them.
async fn registry_record(
    server: &TestServer,
    organisation: &'static str,
    area: &'static str,
    department: &'static str,
) -> (
    Option<letting_rules::store::Organisation>,
    Option<letting_rules::store::Area>,
    Option<letting_rules::store::Department>,
) {
    server
        .store
        .read(move |tx| {
            Box::pin(async move {
                Ok::<_, letting_rules::store::StoreError>((
                    tx.organisation("0101", organisation).await?,
                    tx.area(area).await?,
                    tx.department(department).await?,
                ))
            })
        })
        .await
        .expect("read the registry")
}

#[tokio::test]
async fn a_municipality_cannot_rewrite_another_municipalitys_registry() {
    let server = TestServer::start().await;
    server.seed().await;
    let frederiksberg = common::seed_frederiksberg(&server).await;
    let before = registry_record(&server, "kab", "nordvest", "kab-nordvest-3").await;
    let decisions = server.decisions(&[DecisionKind::Registry]).await.len();
    let mut r = server.registry(Some(&frederiksberg)).await;

    // 0101's department moved into 0147's area.
    let moved = r
        .upsert_department(pb::UpsertDepartmentRequest {
            idempotency_key: "f-1".into(),
            department: Some(pb::Department {
                id: "kab-nordvest-3".into(),
                organisation_id: "kab".into(),
                area_id: "frederiksberg-syd".into(),
                name: "Nordvest 3".into(),
                dwellings: 1,
            }),
        })
        .await;
    // 0101's area re-homed in 0147.
    let rehomed = r
        .upsert_area(pb::UpsertAreaRequest {
            idempotency_key: "f-2".into(),
            area: Some(pb::Area {
                id: "nordvest".into(),
                municipality_code: "0147".into(),
                name: "Nordvest".into(),
            }),
        })
        .await;
    // 0101's department given to 0147's organisation, in 0101's own area.
    let taken = r
        .upsert_department(pb::UpsertDepartmentRequest {
            idempotency_key: "f-3".into(),
            department: Some(pb::Department {
                id: "kab-nordvest-3".into(),
                organisation_id: "fab".into(),
                area_id: "nordvest".into(),
                name: "Nordvest 3".into(),
                dwellings: 1,
            }),
        })
        .await;
    for (what, result) in [("move", moved), ("re-home", rehomed), ("take", taken)] {
        let code = result.map(|_| Code::Ok).unwrap_or_else(|s| s.code());
        assert!(
            matches!(code, Code::PermissionDenied | Code::NotFound),
            "0147's {what} of 0101's registry gave {code:?}"
        );
    }
    // 0147 registers KAB in its own registry under a name of its own: 0101's stays.
    r.upsert_organisation(pb::UpsertOrganisationRequest {
        idempotency_key: "f-4".into(),
        organisation: Some(pb::Organisation {
            id: "kab".into(),
            name: "KAB renamed by 0147".into(),
        }),
    })
    .await
    .expect("0147 registers KAB for itself");

    assert_eq!(
        registry_record(&server, "kab", "nordvest", "kab-nordvest-3").await,
        before,
        "0101's organisation, area and department are unchanged"
    );
    assert_eq!(
        before.0.map(|o| o.name).as_deref(),
        Some("KAB"),
        "0101's name of KAB"
    );
    assert_eq!(
        server.decisions(&[DecisionKind::Registry]).await.len(),
        decisions + 1,
        "only 0147's own registration was recorded"
    );
    // 0101's organisations still act on their own departments.
    server
        .housing(Some(&server.keys.kab))
        .await
        .register_vacancy(vacancy("kab-1", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect("KAB in its own department");

    // Each municipality lists its own departments, and its auditor too.
    assert_eq!(
        listed_departments(&server, &frederiksberg).await,
        ["fab-syd-1"]
    );
    let ours = [
        "akb-bispeparken",
        "fsb-hulgaard",
        "fsb-tingbjerg-1",
        "kab-nordvest-3",
    ];
    assert_eq!(
        listed_departments(&server, &server.keys.municipality).await,
        ours
    );
    assert_eq!(
        listed_departments(&server, &server.keys.auditor).await,
        ours
    );
    server.stop().await;
}

#[tokio::test]
async fn an_organisation_in_two_municipalities_is_registered_by_each() {
    let server = TestServer::start().await;
    server.seed().await;
    let frederiksberg = common::seed_frederiksberg(&server).await;
    let mut r = server.registry(Some(&frederiksberg)).await;
    let kab_department = |key: &str| pb::UpsertDepartmentRequest {
        idempotency_key: key.into(),
        department: Some(pb::Department {
            id: "kab-frb-1".into(),
            organisation_id: "kab".into(),
            area_id: "frederiksberg-syd".into(),
            name: "KAB Frederiksberg 1".into(),
            dwellings: 80,
        }),
    };
    // KAB is registered in 0101, not yet in 0147.
    let unregistered = r
        .upsert_department(kab_department("f-1"))
        .await
        .expect_err("a department of an organisation 0147 has not registered");
    assert_eq!(unregistered.code(), Code::NotFound, "{unregistered:?}");
    r.upsert_organisation(pb::UpsertOrganisationRequest {
        idempotency_key: "f-2".into(),
        organisation: Some(pb::Organisation {
            id: "kab".into(),
            name: "KAB".into(),
        }),
    })
    .await
    .expect("0147 registers KAB");
    r.upsert_department(kab_department("f-3"))
        .await
        .expect("KAB's department in 0147");

    // KAB's key for 0147 reaches KAB's departments there, its key for 0101 those in 0101.
    let (_, kab_0147) = server
        .new_key(Principal::Organisation {
            organisation: "kab".into(),
            municipality: "0147".into(),
        })
        .await;
    let mut in_0147 = server.housing(Some(&kab_0147)).await;
    in_0147
        .register_vacancy(vacancy("k-1", "kab-frb-1", "2007-03-01"))
        .await
        .expect("KAB's 0147 key in its 0147 department");
    let across = in_0147
        .register_vacancy(vacancy("k-2", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect_err("KAB's 0147 key in its 0101 department");
    assert_eq!(across.code(), Code::PermissionDenied);
    let across = server
        .housing(Some(&server.keys.kab))
        .await
        .register_vacancy(vacancy("k-3", "kab-frb-1", "2007-03-01"))
        .await
        .expect_err("KAB's 0101 key in its 0147 department");
    assert_eq!(across.code(), Code::PermissionDenied);
    assert_eq!(listed_departments(&server, &kab_0147).await, ["kab-frb-1"]);
    assert_eq!(
        listed_departments(&server, &server.keys.kab).await,
        ["akb-bispeparken", "kab-nordvest-3"]
    );
    server.stop().await;
}
