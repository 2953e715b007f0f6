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
    // Judged by national law and Copenhagen's decisions and agreement, each named.
    assert_eq!(explanation.rule_set_id, "dk-2005+kk-2007+kk-aftale-2007");
    assert_eq!(explanation.rule_set_content_hash.len(), 64);
    let layers: Vec<(&str, &str)> = explanation
        .layers
        .iter()
        .map(|l| (l.id.as_str(), l.kind.as_str()))
        .collect();
    assert_eq!(
        layers,
        [
            ("dk-2005", "national"),
            ("kk-2007", "municipal"),
            ("kk-aftale-2007", "agreement")
        ]
    );
    assert!(
        explanation
            .layers
            .iter()
            .all(|l| l.content_hash.len() == 64)
    );

    // An applicant on kontanthjælp since 2006-06-01: rejected, replacement owed.
    let rejected = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p1".into(),
            vacancy_id: vacancy.vacancy_id.clone(),
            household: Some(household("fsb-hh-1", on_cash_benefit("2006-06-01"))),
            proposal_date: "2007-03-05".into(),
            ..Default::default()
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
        .find(|f| f.rule_id == "dk2005.combined.benefit_rejection")
        .expect("benefit rule fired");
    assert_eq!(rule.layer_id, "dk-2005");
    // § 51 b is the council's option: its decision is named beside the national rule.
    let adoption = fired
        .iter()
        .find(|f| f.rule_id == "cph2007.adopt.combined_letting")
        .expect("the municipal decision fired");
    assert_eq!(adoption.layer_id, "kk-2007");
    let complaint = rejected
        .explanation
        .as_ref()
        .and_then(|e| e.complaint.as_ref())
        .expect("a rejection carries complaint guidance");
    // Every letting there needs the municipality's approval, so the complaint goes to the
    // municipality, not the beboerklagenævn (almenlejeloven § 101, stk. 1, nr. 2).
    assert_eq!(complaint.guidance_id, "cph2007.complaint.letting_rejection");
    assert!(
        complaint.body_da.contains("Københavns Kommune"),
        "{complaint:?}"
    );
    assert!(
        complaint.body_en.contains("City of Copenhagen"),
        "{complaint:?}"
    );
    assert!(!complaint.how_da.is_empty() && !complaint.how_en.is_empty());
    assert!(!complaint.deadline_da.is_empty() && !complaint.deadline_en.is_empty());
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
        "§ 51 b, stk. 1 og 2"
    );

    // The same vacancy, an applicant in work: pending the municipality.
    let pending = fsb
        .propose_letting(pb::ProposeLettingRequest {
            idempotency_key: "p2".into(),
            vacancy_id: vacancy.vacancy_id.clone(),
            household: Some(household("fsb-hh-2", in_work("37"))),
            proposal_date: "2007-03-06".into(),
            ..Default::default()
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
    // The approval names its basis, the caseworker's main considerations and the way to
    // complain.
    let act = approved.explanation.expect("the act's explanation");
    assert!(
        act.fired_rules
            .iter()
            .any(|f| f.rule_id == "cph2007.act.approval"
                && f.message_da.contains("Ansøger er i beskæftigelse")),
        "{act:?}"
    );
    assert!(
        act.main_considerations
            .starts_with("Ansøger er i beskæftigelse")
    );
    let guidance = act.complaint.expect("an act carries complaint guidance");
    assert!(guidance.body_da.contains("Ombudsmand"), "{guidance:?}");
    assert!(
        guidance.deadline_en.contains("within one year"),
        "{guidance:?}"
    );
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
