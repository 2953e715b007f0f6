//! Bad requests: INVALID_ARGUMENT naming each field in google.rpc.BadRequest details, with
//! nothing written; NOT_FOUND for unknown ids; FAILED_PRECONDITION for acts the recorded
//! state does not allow.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestServer, household, in_work, on_cash_benefit, standard_grant, vacancy};
use letting_rules::grpc::pb;
use letting_rules::store::DecisionKind;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The fields a BadRequest detail names, after checking the status is INVALID_ARGUMENT.
fn bad_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest details in {status:?}"));
    assert!(!details.field_violations.is_empty());
    for v in &details.field_violations {
        assert!(!v.description.is_empty(), "a violation without a reason");
    }
    details
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

fn proposal(key: &str, vacancy_id: &str, h: pb::ApplicantHousehold) -> pb::ProposeLettingRequest {
    pb::ProposeLettingRequest {
        idempotency_key: key.into(),
        vacancy_id: vacancy_id.into(),
        household: Some(h),
        proposal_date: "2007-03-05".into(),
        ..Default::default()
    }
}

/// A seeded server with one open vacancy in KAB's Nordvest that KAB lets itself (not one
/// for municipal referral); its id.
async fn with_vacancy() -> (TestServer, String) {
    let server = TestServer::start().await;
    server.seed().await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    for i in 0.. {
        let v = kab
            .register_vacancy(vacancy(
                &format!("setup-v-{i}"),
                "kab-nordvest-3",
                "2007-03-01",
            ))
            .await
            .expect("register")
            .into_inner();
        if v.channel() != pb::LettingChannel::MunicipalReferral {
            return (server, v.vacancy_id);
        }
    }
    unreachable!("the channels repeat")
}

#[tokio::test]
async fn malformed_dates_are_named() {
    let server = TestServer::start().await;
    server.seed().await;
    let before = server.decisions(&[]).await.len();
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    for date in [
        "2007-02-30",
        "01-03-2007",
        "2007-3-1",
        "2007-03-01T00:00:00",
        "",
    ] {
        let e = kab
            .register_vacancy(vacancy("v-1", "kab-nordvest-3", date))
            .await
            .expect_err(date);
        assert_eq!(bad_fields(&e), ["vacancy_date"], "{date}");
    }
    // Several bad fields are all named at once.
    let e = kab
        .register_vacancy(pb::RegisterVacancyRequest {
            idempotency_key: String::new(),
            department_id: "Not An Id".into(),
            vacancy_ref: String::new(),
            vacancy_date: "2007-13-01".into(),
        })
        .await
        .expect_err("everything wrong");
    let mut fields = bad_fields(&e);
    fields.sort();
    assert_eq!(
        fields,
        [
            "department_id",
            "idempotency_key",
            "vacancy_date",
            "vacancy_ref"
        ]
    );
    // A date inside a household: the benefit spell's.
    let e = kab
        .propose_letting(proposal(
            "p-1",
            "some-vacancy",
            household("hh-1", on_cash_benefit("2006-06-31")),
        ))
        .await
        .expect_err("bad from_date");
    assert_eq!(
        bad_fields(&e),
        ["household.persons[0].benefit_spells[0].from_date"]
    );
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert_eq!(
        server
            .department_counters("kab-nordvest-3", "2007")
            .await
            .vacancies,
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_missing_idempotency_key_is_named() {
    let (server, vacancy_id) = with_vacancy().await;
    let before = server.decisions(&[]).await.len();
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let e = kab
        .register_vacancy(vacancy("", "kab-nordvest-3", "2007-03-01"))
        .await
        .expect_err("no key");
    assert_eq!(bad_fields(&e), ["idempotency_key"]);
    let e = kab
        .propose_letting(proposal("", &vacancy_id, household("hh-1", in_work("37"))))
        .await
        .expect_err("no key");
    assert_eq!(bad_fields(&e), ["idempotency_key"]);
    let e = server
        .municipality(Some(&server.keys.municipality))
        .await
        .decide_relocation_grant(standard_grant("", "2007-05-01"))
        .await
        .expect_err("no key");
    assert_eq!(bad_fields(&e), ["idempotency_key"]);
    let long = pb::RegisterVacancyRequest {
        idempotency_key: "k".repeat(201),
        ..vacancy("k", "kab-nordvest-3", "2007-03-01")
    };
    let e = kab
        .register_vacancy(long)
        .await
        .expect_err("a key of 201 characters");
    assert_eq!(bad_fields(&e), ["idempotency_key"]);
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert_eq!(server.pool_use(2007).await.committed_ore, 0);
    server.stop().await;
}

#[tokio::test]
async fn a_cpr_shaped_reference_is_refused_and_never_echoed() {
    let (server, vacancy_id) = with_vacancy().await;
    let before = server.decisions(&[]).await.len();
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    for cpr in ["010170-1234", "0101701234", "hh-3112999999-x"] {
        let e = kab
            .propose_letting(proposal("p-1", &vacancy_id, household(cpr, in_work("37"))))
            .await
            .expect_err(cpr);
        assert_eq!(bad_fields(&e), ["household.applicant_ref"], "{cpr}");
        let digits: String = cpr.chars().filter(char::is_ascii_digit).collect();
        assert!(!e.message().contains(cpr), "{}", e.message());
        assert!(!e.message().contains(&digits[..6]), "{}", e.message());
        let details = e.get_details_bad_request().expect("details");
        for v in details.field_violations {
            assert!(!v.description.contains(&digits[..6]), "{}", v.description);
        }
    }
    // The same for a grant's household.
    let e = server
        .municipality(Some(&server.keys.municipality))
        .await
        .decide_relocation_grant(pb::DecideRelocationGrantRequest {
            household: Some(household("010170-1234", pb::Person::default())),
            ..standard_grant("g-1", "2007-05-01")
        })
        .await
        .expect_err("cpr");
    assert_eq!(bad_fields(&e), ["household.applicant_ref"]);
    assert!(!e.message().contains("010170"), "{}", e.message());
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    // Nothing anywhere in the log holds it.
    for d in server.decisions(&[]).await {
        assert!(!d.body.to_string().contains("010170"));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_household_needs_exactly_one_applicant() {
    let (server, vacancy_id) = with_vacancy().await;
    let before = server.decisions(&[]).await.len();
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let applicant = || pb::Person {
        role: pb::PersonRole::Applicant.into(),
        ..in_work("37")
    };
    let two = pb::ApplicantHousehold {
        applicant_ref: "hh-2".into(),
        persons: vec![applicant(), applicant()],
        ..Default::default()
    };
    let e = kab
        .propose_letting(proposal("p-1", &vacancy_id, two))
        .await
        .expect_err("two applicants");
    assert_eq!(bad_fields(&e), ["household.persons"]);
    let none = pb::ApplicantHousehold {
        applicant_ref: "hh-3".into(),
        persons: vec![pb::Person {
            role: pb::PersonRole::Spouse.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let e = kab
        .propose_letting(proposal("p-2", &vacancy_id, none))
        .await
        .expect_err("no applicant");
    assert_eq!(bad_fields(&e), ["household.persons"]);
    let unspecified = pb::ApplicantHousehold {
        applicant_ref: "hh-4".into(),
        persons: vec![applicant(), pb::Person::default()],
        ..Default::default()
    };
    let e = kab
        .propose_letting(proposal("p-3", &vacancy_id, unspecified))
        .await
        .expect_err("a person without a role");
    assert!(
        bad_fields(&e).contains(&"household.persons[1].role".to_owned()),
        "{e:?}"
    );
    let e = kab
        .propose_letting(pb::ProposeLettingRequest {
            household: None,
            ..proposal("p-4", &vacancy_id, household("x", in_work("1")))
        })
        .await
        .expect_err("no household");
    assert_eq!(bad_fields(&e), ["household"]);
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}

#[tokio::test]
async fn negative_and_garbage_decimals_are_named() {
    let (server, vacancy_id) = with_vacancy().await;
    let before = server.decisions(&[]).await.len();
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    for hours in [
        "-5",
        "-0",
        "+5",
        "12,5",
        "1_000",
        "abc",
        "1e2",
        "3.",
        ".5",
        "1.2.3",
        " 5",
        "1234567890123456789",
    ] {
        let e = kab
            .propose_letting(proposal(
                "p-1",
                &vacancy_id,
                household("hh-1", in_work(hours)),
            ))
            .await
            .expect_err(hours);
        assert_eq!(
            bad_fields(&e),
            ["household.persons[0].weekly_work_hours"],
            "{hours}"
        );
    }
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    for (field, value) in [
        ("share_without_work_or_education", "-0.1"),
        ("transfer_income_share", "0.4.1"),
        ("income_ratio_to_region", "1.5"),
        ("self_supporting_weeks", "twenty"),
    ] {
        let mut stats = pb::AreaStatistics {
            area_id: "nordvest".into(),
            working_age_residents: Some(1000),
            without_labour_market_attachment: Some(100),
            ..Default::default()
        };
        match field {
            "share_without_work_or_education" => {
                stats.share_without_work_or_education = value.into()
            }
            "transfer_income_share" => stats.transfer_income_share = value.into(),
            "income_ratio_to_region" => stats.income_ratio_to_region = value.into(),
            _ => stats.self_supporting_weeks = value.into(),
        }
        let e = m
            .load_area_statistics(pb::LoadAreaStatisticsRequest {
                idempotency_key: format!("s-{field}"),
                year: 2008,
                effective_date: "2008-01-01".into(),
                areas: vec![stats],
            })
            .await
            .expect_err(value);
        assert_eq!(bad_fields(&e), [format!("areas[0].{field}")], "{value}");
    }
    let e = m
        .decide_relocation_grant(pb::DecideRelocationGrantRequest {
            amount_ore: -100,
            ..standard_grant("g-1", "2007-05-01")
        })
        .await
        .expect_err("a negative amount");
    assert_eq!(bad_fields(&e), ["amount_ore"]);
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert_eq!(server.pool_use(2007).await.committed_ore, 0);
    // Well-formed decimals pass.
    let ok = kab
        .propose_letting(proposal(
            "p-ok",
            &vacancy_id,
            household("hh-1", in_work("025.50")),
        ))
        .await
        .expect("a well-formed decimal")
        .into_inner();
    assert_eq!(ok.outcome(), pb::LettingOutcome::Approved);
    server.stop().await;
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let (server, _) = with_vacancy().await;
    let before = server.decisions(&[]).await.len();
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    let unknown = "0190f0c4-0000-7000-8000-000000000000";
    let codes = [
        kab.propose_letting(proposal("p-1", unknown, household("hh-1", in_work("37"))))
            .await
            .map(|_| ()),
        kab.record_move_in(pb::RecordMoveInRequest {
            idempotency_key: "m-1".into(),
            letting_id: unknown.into(),
            move_in_date: "2007-04-01".into(),
        })
        .await
        .map(|_| ()),
        kab.get_decision(pb::GetDecisionRequest {
            decision_id: unknown.into(),
        })
        .await
        .map(|_| ()),
        kab.register_vacancy(vacancy("v-1", "no-such-department", "2007-03-01"))
            .await
            .map(|_| ()),
        kab.record_replacement_offer_answer(pb::RecordReplacementOfferAnswerRequest {
            idempotency_key: "o-1".into(),
            offer_id: unknown.into(),
            accepted: true,
            answer_date: "2007-04-01".into(),
        })
        .await
        .map(|_| ()),
        m.approve_letting(pb::ApproveLettingRequest {
            idempotency_key: "a-1".into(),
            letting_id: unknown.into(),
            decision_date: "2007-03-10".into(),
            reason: "r".into(),
            caseworker_ref: "cw".into(),
        })
        .await
        .map(|_| ()),
        m.pay_relocation_grant(pb::SettleRelocationGrantRequest {
            idempotency_key: "g-1".into(),
            grant_id: unknown.into(),
            date: "2007-06-01".into(),
            reason: String::new(),
        })
        .await
        .map(|_| ()),
        m.record_municipal_referral(pb::RecordMunicipalReferralRequest {
            idempotency_key: "r-1".into(),
            vacancy_id: unknown.into(),
            household: Some(household("hh-2", in_work("37"))),
            referral_date: "2007-03-05".into(),
        })
        .await
        .map(|_| ()),
    ]
    .map(|r| r.expect_err("an unknown id").code());
    assert!(codes.iter().all(|c| *c == Code::NotFound), "{codes:?}");
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    server.stop().await;
}

#[tokio::test]
async fn a_paid_grant_cannot_be_cancelled() {
    let server = TestServer::start().await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    let grant = m
        .decide_relocation_grant(standard_grant("g-1", "2007-05-01"))
        .await
        .expect("grant")
        .into_inner();
    let settle = |key: &str| pb::SettleRelocationGrantRequest {
        idempotency_key: key.into(),
        grant_id: grant.grant_id.clone(),
        date: "2007-06-01".into(),
        reason: "note".into(),
    };
    let paid = m
        .pay_relocation_grant(settle("pay-1"))
        .await
        .expect("pay")
        .into_inner();
    assert_eq!(paid.paid_ore, 1_500_000);
    let before = server.decisions(&[]).await.len();
    let e = m
        .cancel_relocation_grant(settle("cancel-1"))
        .await
        .expect_err("cancelling a paid grant");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let e = m
        .pay_relocation_grant(settle("pay-2"))
        .await
        .expect_err("paying twice");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    let pool = server.pool_use(2007).await;
    assert_eq!((pool.committed_ore, pool.paid_ore), (0, 1_500_000));
    server.stop().await;
}

#[tokio::test]
async fn a_replacement_offer_into_an_exposed_area_is_refused() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let first = fsb
        .register_vacancy(vacancy("v-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let other = fsb
        .register_vacancy(vacancy("v-2", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let rejected = fsb
        .propose_letting(proposal(
            "p-1",
            &first.vacancy_id,
            household("fsb-hh-1", on_cash_benefit("2006-06-01")),
        ))
        .await
        .expect("propose")
        .into_inner();
    assert_eq!(rejected.outcome(), pb::LettingOutcome::Rejected);
    let before = server.decisions(&[]).await.len();
    let e = server
        .municipality(Some(&server.keys.municipality))
        .await
        .make_replacement_offer(pb::MakeReplacementOfferRequest {
            idempotency_key: "o-1".into(),
            letting_id: rejected.letting_id.clone(),
            vacancy_id: other.vacancy_id.clone(),
            offer_date: "2007-03-10".into(),
        })
        .await
        .expect_err("a replacement in Tingbjerg");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("exposed"), "{}", e.message());
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert!(
        server
            .decisions(&[DecisionKind::ReplacementOffer])
            .await
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_date_without_a_rule_set_is_failed_precondition() {
    let server = TestServer::start().await;
    server.seed().await;
    let before = server.decisions(&[]).await.len();
    let e = server
        .housing(Some(&server.keys.kab))
        .await
        .register_vacancy(vacancy("v-1", "kab-nordvest-3", "2004-12-31"))
        .await
        .expect_err("the rule book judges nothing before 2005-01-01");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("2004-12-31"), "{}", e.message());
    let e = server
        .municipality(Some(&server.keys.municipality))
        .await
        .decide_relocation_grant(standard_grant("g-1", "2006-06-01"))
        .await
        .expect_err("national law alone in 2006 has no relocation-grant pool");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("relocation-grant"), "{}", e.message());
    assert_eq!(server.decisions(&[]).await.len(), before, "nothing written");
    assert_eq!(
        server
            .department_counters("kab-nordvest-3", "2004")
            .await
            .vacancies,
        0
    );
    server.stop().await;
}
