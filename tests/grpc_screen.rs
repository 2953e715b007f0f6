//! ScreenWaitingList: a waiting list screened against one vacancy, over a stream. Every
//! household's result equals what EvaluateLetting says of it alone, in the order sent;
//! malformed streams are refused with INVALID_ARGUMENT, and nothing is ever written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    Housing, TestServer, household, in_work, on_cash_benefit, screen, screen_batch, screen_vacancy,
};
use letting_rules::grpc::pb;
use letting_rules::store::DecisionKind;
use tonic::Code;

const DATE: &str = "2007-03-05";

/// A waiting list of `n` households of every kind the rules tell apart: on cash benefit
/// (long and short), in work (priority hours and not), a spouse alone on benefit, one who
/// lives in the department, a student.
fn waiting_list(n: usize) -> Vec<pb::ApplicantHousehold> {
    (0..n)
        .map(|i| {
            let reference = format!("wl-{i}");
            match i % 7 {
                0 => household(&reference, on_cash_benefit("2006-06-01")),
                1 => household(&reference, on_cash_benefit("2007-01-15")),
                2 => household(&reference, in_work("37")),
                3 => household(&reference, in_work("20")),
                4 => {
                    let mut h = household(&reference, in_work("37"));
                    h.persons.push(pb::Person {
                        role: pb::PersonRole::Spouse.into(),
                        ..on_cash_benefit("2006-01-01")
                    });
                    h
                }
                5 => pb::ApplicantHousehold {
                    lives_in_department: true,
                    ..household(&reference, on_cash_benefit("2006-06-01"))
                },
                _ => household(
                    &reference,
                    pb::Person {
                        student: true,
                        ..Default::default()
                    },
                ),
            }
        })
        .collect()
}

/// Registers vacancies in Tingbjerg (exposed) until it has one of each channel wanted:
/// a flexible one and one for the internal list. Their ids.
async fn vacancies(fsb: &mut Housing) -> (String, String) {
    let (mut flexible, mut internal) = (None, None);
    for i in 0..40 {
        let v = fsb
            .register_vacancy(common::vacancy(
                &format!("v{i}"),
                "fsb-tingbjerg-1",
                "2007-03-01",
            ))
            .await
            .expect("register")
            .into_inner();
        match v.channel() {
            pb::LettingChannel::Flexible if flexible.is_none() => flexible = Some(v.vacancy_id),
            pb::LettingChannel::InternalList if internal.is_none() => internal = Some(v.vacancy_id),
            _ => {}
        }
        if let (Some(f), Some(i)) = (&flexible, &internal) {
            return (f.clone(), i.clone());
        }
    }
    panic!("no flexible and internal-list vacancies among 40: {flexible:?} {internal:?}");
}

/// What EvaluateLetting says of one household, in the screening's terms.
async fn evaluated_alone(
    fsb: &mut Housing,
    vacancy_id: &str,
    h: &pb::ApplicantHousehold,
) -> pb::ScreenedHousehold {
    let e = fsb
        .evaluate_letting(pb::EvaluateLettingRequest {
            vacancy_id: vacancy_id.into(),
            household: Some(h.clone()),
            proposal_date: DATE.into(),
            ..Default::default()
        })
        .await
        .expect("EvaluateLetting")
        .into_inner();
    let fired: Vec<String> = e
        .explanation
        .as_ref()
        .expect("explanation")
        .fired_rules
        .iter()
        .map(|f| f.rule_id.clone())
        .collect();
    let rejection_rule_ids: Vec<String> = fired
        .iter()
        .filter(|id| id.contains(".combined.") && id.ends_with("_rejection"))
        .cloned()
        .collect();
    let priority_rule_ids: Vec<String> = fired
        .iter()
        .filter(|id| id.contains(".flexible."))
        .cloned()
        .collect();
    pb::ScreenedHousehold {
        applicant_ref: h.applicant_ref.clone(),
        rejected: e.outcome() == pb::LettingOutcome::Rejected,
        outcome: e.outcome,
        flexible_eligibility: e.flexible_eligibility,
        flexible_groups: e.flexible_groups,
        rejection_rule_ids,
        priority_rule_ids,
        error: String::new(),
    }
}

#[tokio::test]
async fn screening_equals_evaluate_letting_one_by_one_in_order() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let (flexible, internal) = vacancies(&mut fsb).await;
    let decisions_before = server.decisions(&[]).await.len();
    let list = waiting_list(300);

    for vacancy_id in [&flexible, &internal] {
        // Batches of uneven sizes: one household, a large batch split between the cores,
        // and the rest.
        let messages = vec![
            screen_vacancy(vacancy_id, DATE),
            screen_batch(list[..1].to_vec()),
            screen_batch(list[1..257].to_vec()),
            screen_batch(list[257..].to_vec()),
        ];
        let (answers, error) = screen(&mut fsb, messages).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            answers
                .iter()
                .map(|a| a.households.len())
                .collect::<Vec<_>>(),
            [1, 256, 43]
        );
        let screened: Vec<pb::ScreenedHousehold> =
            answers.into_iter().flat_map(|a| a.households).collect();
        // One of each kind is enough to compare with EvaluateLetting; the order is checked
        // for every household.
        for (i, (s, h)) in screened.iter().zip(&list).enumerate() {
            assert_eq!(s.applicant_ref, h.applicant_ref, "order at {i}");
            if i < 14 {
                assert_eq!(
                    s,
                    &evaluated_alone(&mut fsb, vacancy_id, h).await,
                    "household {i}"
                );
            } else {
                let same_kind = &screened[i % 7];
                assert_eq!(
                    (s.rejected, s.outcome, s.flexible_eligibility),
                    (
                        same_kind.rejected,
                        same_kind.outcome,
                        same_kind.flexible_eligibility
                    ),
                    "household {i}"
                );
            }
        }
        // The list holds both kinds: rejected by combined letting, and not.
        assert!(screened.iter().any(|s| s.rejected));
        assert!(screened.iter().any(|s| !s.rejected));
        assert!(
            screened
                .iter()
                .filter(|s| s.rejected)
                .all(|s| s.rejection_rule_ids == ["dk2005.combined.benefit_rejection"])
        );
        if vacancy_id == &flexible {
            assert!(screened.iter().any(|s| !s.priority_rule_ids.is_empty()));
        } else {
            assert!(screened.iter().all(|s| s.flexible_eligibility
                == pb::FlexibleEligibility::NotApplicable as i32
                && s.priority_rule_ids.is_empty()));
        }
    }
    // Read-only: not a decision more.
    assert_eq!(server.decisions(&[]).await.len(), decisions_before);
}

#[tokio::test]
async fn malformed_streams_are_refused_and_nothing_is_written() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let (flexible, _) = vacancies(&mut fsb).await;
    // And KAB's vacancy for municipal referral, in neutral Nordvest.
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let mut referral = None;
    for i in 0..40 {
        let v = kab
            .register_vacancy(common::vacancy(
                &format!("kab-v{i}"),
                "kab-nordvest-3",
                "2007-03-01",
            ))
            .await
            .expect("register")
            .into_inner();
        if v.channel() == pb::LettingChannel::MunicipalReferral {
            referral = Some(v.vacancy_id);
            break;
        }
    }
    let referral = referral.expect("a vacancy for municipal referral among 40");
    let before = server
        .decisions(&[DecisionKind::Letting, DecisionKind::ChannelAssignment])
        .await
        .len();
    let list = waiting_list(3);

    // No vacancy first.
    let (answers, error) = screen(&mut fsb, vec![screen_batch(list.clone())]).await;
    assert!(answers.is_empty());
    assert_eq!(error.map(|s| s.code()), Some(Code::InvalidArgument));
    // An empty stream.
    let (_, error) = screen(&mut fsb, vec![]).await;
    assert_eq!(error.map(|s| s.code()), Some(Code::InvalidArgument));
    // A bad date in the first message.
    let (_, error) = screen(&mut fsb, vec![screen_vacancy(&flexible, "5 March 2007")]).await;
    assert_eq!(error.map(|s| s.code()), Some(Code::InvalidArgument));

    // A household without a reference: the batches before it are answered, then the
    // stream ends with INVALID_ARGUMENT naming the household.
    let mut bad = list.clone();
    bad[1].applicant_ref = String::new();
    let (answers, error) = screen(
        &mut fsb,
        vec![
            screen_vacancy(&flexible, DATE),
            screen_batch(list.clone()),
            screen_batch(bad),
            screen_batch(list.clone()),
        ],
    )
    .await;
    assert_eq!(answers.len(), 1);
    let status = error.expect("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("batch.households[1].applicant_ref"),
        "{}",
        status.message()
    );

    // A batch over the limit of 5,000 households.
    let (answers, error) = screen(
        &mut fsb,
        vec![
            screen_vacancy(&flexible, DATE),
            screen_batch(vec![pb::ApplicantHousehold::default(); 5_001]),
        ],
    )
    .await;
    assert!(answers.is_empty());
    let status = error.expect("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("at most 5000"),
        "{}",
        status.message()
    );

    // The vacancy named again, and an empty batch.
    for later in [screen_vacancy(&flexible, DATE), screen_batch(Vec::new())] {
        let (answers, error) = screen(&mut fsb, vec![screen_vacancy(&flexible, DATE), later]).await;
        assert!(answers.is_empty());
        assert_eq!(error.map(|s| s.code()), Some(Code::InvalidArgument));
    }

    // Another organisation's vacancy, and an auditor: refused as EvaluateLetting is.
    let (_, error) = screen(
        &mut kab,
        vec![screen_vacancy(&flexible, DATE), screen_batch(list.clone())],
    )
    .await;
    assert_eq!(error.map(|s| s.code()), Some(Code::PermissionDenied));
    let mut auditor = server.housing(Some(&server.keys.auditor)).await;
    let (_, error) = screen(
        &mut auditor,
        vec![screen_vacancy(&flexible, DATE), screen_batch(list.clone())],
    )
    .await;
    assert_eq!(error.map(|s| s.code()), Some(Code::PermissionDenied));
    // A vacancy for municipal referral goes to the referred household, not the list.
    let (_, error) = screen(
        &mut kab,
        vec![screen_vacancy(&referral, DATE), screen_batch(list.clone())],
    )
    .await;
    assert_eq!(error.map(|s| s.code()), Some(Code::FailedPrecondition));
    // The municipality may screen any vacancy of its own.
    let mut municipality = server.housing(Some(&server.keys.municipality)).await;
    let (answers, error) = screen(
        &mut municipality,
        vec![screen_vacancy(&flexible, DATE), screen_batch(list)],
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(answers[0].households.len(), 3);

    assert_eq!(
        server
            .decisions(&[DecisionKind::Letting, DecisionKind::ChannelAssignment])
            .await
            .len(),
        before
    );
}

/// A screening is counted in the metrics `letting serve --metrics-listen` exports: the
/// households screened, the batches' times, and the stream as one call answered OK. (The
/// recorder is this test binary's: the other tests' screenings count too, hence "at least".)
#[tokio::test]
async fn a_screening_is_counted_in_the_metrics() {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the recorder");
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let (flexible, _) = vacancies(&mut fsb).await;
    let (answers, error) = screen(
        &mut fsb,
        vec![
            screen_vacancy(&flexible, DATE),
            screen_batch(waiting_list(70)),
            screen_batch(waiting_list(30)),
        ],
    )
    .await;
    assert!(error.is_none() && answers.len() == 2, "{error:?}");
    let text = prometheus.render();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
    };
    assert!(value("letting_screen_households_total ") >= 100.0, "{text}");
    assert!(
        value("letting_screen_batch_seconds_count ") >= 2.0,
        "{text}"
    );
    assert!(
        value(
            "grpc_server_handled_total{grpc_service=\"letting.v1.HousingOrganisationService\",grpc_method=\"ScreenWaitingList\",grpc_code=\"OK\"}"
        ) >= 1.0,
        "{text}"
    );
}
