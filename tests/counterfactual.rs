//! Counterfactual answers for letting decisions beyond the case table
//! (rules/tests/counterfactuals.toml): over gRPC (EvaluateLetting and ProposeLetting, and a
//! retry), from `letting decide` in text and JSON, and every letting case of the rule tests
//! checked again from outside the engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{TestServer, household, in_work, on_cash_benefit, vacancy};
use letting_rules::cases::{self, CaseDecision, CaseKind};
use letting_rules::engine::{self, Eligibility, LettingOutcome};
use letting_rules::grpc::pb;
use letting_rules::rules;

#[tokio::test]
async fn a_letting_returns_its_counterfactuals_over_grpc() {
    let server = TestServer::start().await;
    server.seed().await;
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;

    // Tingbjerg, exposed: on cash benefit since 2006-06-01, 9 whole months on 2007-03-05.
    let exposed = fsb
        .register_vacancy(vacancy("v-1", "fsb-tingbjerg-1", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    let request = pb::EvaluateLettingRequest {
        vacancy_id: exposed.vacancy_id.clone(),
        household: Some(household("hh-1", on_cash_benefit("2006-06-01"))),
        proposal_date: "2007-03-05".into(),
        ..Default::default()
    };
    let evaluated = fsb
        .evaluate_letting(request)
        .await
        .expect("evaluate")
        .into_inner();
    assert_eq!(evaluated.outcome(), pb::LettingOutcome::Rejected);
    let got: Vec<(&str, &str, &str, &str)> = evaluated
        .counterfactuals
        .iter()
        .map(|c| {
            (
                c.rule_id.as_str(),
                c.fact.as_str(),
                c.from.as_str(),
                c.to.as_str(),
            )
        })
        .collect();
    let rule = "dk2005.combined.benefit_rejection";
    assert_eq!(
        got,
        [
            (rule, "applicant.benefit_months", "9", "5"),
            (rule, "applicant.benefit_still_received", "true", "false"),
            (rule, "applicant.lives_in_department", "false", "true"),
        ]
    );
    let months = &evaluated.counterfactuals[0];
    assert_eq!(
        months.message_da,
        "Ikke afvist, hvis ansøgeren havde modtaget kontanthjælp i 5 hele kalendermåneder i stedet for 9."
    );
    assert_eq!(
        months.message_en,
        "Not rejected if the applicant had received cash benefit for 5 whole calendar months instead of 9."
    );

    // ProposeLetting returns the same, and so does a retry under the same key.
    let propose = pb::ProposeLettingRequest {
        idempotency_key: "p-1".into(),
        vacancy_id: exposed.vacancy_id.clone(),
        household: Some(household("hh-1", on_cash_benefit("2006-06-01"))),
        proposal_date: "2007-03-05".into(),
        ..Default::default()
    };
    let proposed = fsb
        .propose_letting(propose.clone())
        .await
        .expect("propose")
        .into_inner();
    assert_eq!(proposed.outcome(), pb::LettingOutcome::Rejected);
    assert_eq!(proposed.counterfactuals, evaluated.counterfactuals);
    let retried = fsb
        .propose_letting(propose)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried.counterfactuals, evaluated.counterfactuals);
    assert_eq!(retried.decision_id, proposed.decision_id);

    // The recorded decision does not carry them: they are not part of the log.
    let record = fsb
        .get_decision(pb::GetDecisionRequest {
            decision_id: proposed.decision_id.clone(),
        })
        .await
        .expect("decision")
        .into_inner();
    assert!(
        !format!("{record:?}").contains("benefit_still_received"),
        "{record:?}"
    );

    // Bispeparken's first vacancy of 2007 is let flexibly: 20 hours a week gives no
    // priority, 25 would.
    let flexible = kab
        .register_vacancy(vacancy("v-2", "akb-bispeparken", "2007-03-01"))
        .await
        .expect("register")
        .into_inner();
    assert_eq!(flexible.channel(), pb::LettingChannel::Flexible);
    let worker = kab
        .evaluate_letting(pb::EvaluateLettingRequest {
            vacancy_id: flexible.vacancy_id.clone(),
            household: Some(household("hh-2", in_work("20"))),
            proposal_date: "2007-03-05".into(),
            ..Default::default()
        })
        .await
        .expect("evaluate")
        .into_inner();
    assert_eq!(
        worker.flexible_eligibility(),
        pb::FlexibleEligibility::NotEligible
    );
    assert_eq!(worker.counterfactuals.len(), 1, "{worker:?}");
    let hours = &worker.counterfactuals[0];
    assert_eq!(
        (
            hours.rule_id.as_str(),
            hours.fact.as_str(),
            hours.from.as_str(),
            hours.to.as_str()
        ),
        (
            "cph2007.flexible.work",
            "applicant.weekly_work_hours",
            "20",
            "25"
        )
    );
    assert_eq!(
        hours.message_en,
        "Flexible-letting priority among persons in work if the applicant had worked 25 hours a week instead of 20."
    );

    // Tingbjerg again (its first vacancy of 2007 is flexible too), an applicant in work
    // 37 hours: pending the municipality, with priority that 24 hours would not give.
    let pending = fsb
        .evaluate_letting(pb::EvaluateLettingRequest {
            vacancy_id: exposed.vacancy_id.clone(),
            household: Some(household("hh-3", in_work("37"))),
            proposal_date: "2007-03-06".into(),
            ..Default::default()
        })
        .await
        .expect("evaluate")
        .into_inner();
    assert_eq!(
        pending.outcome(),
        pb::LettingOutcome::PendingMunicipalApproval
    );
    let got: Vec<(&str, &str, &str)> = pending
        .counterfactuals
        .iter()
        .map(|c| (c.fact.as_str(), c.from.as_str(), c.to.as_str()))
        .collect();
    assert_eq!(got, [("applicant.weekly_work_hours", "37", "24")]);
    server.stop().await;
}

fn decide(case: &str, json: bool) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("case.toml");
    std::fs::write(&file, case).expect("case file");
    let rules_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut command = Command::new(env!("CARGO_BIN_EXE_letting"));
    command
        .arg("decide")
        .arg(&file)
        .arg("--rules")
        .arg(&rules_dir);
    if json {
        command.args(["--format", "json"]);
    }
    let out = command.output().expect("letting decide runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

const REJECTED: &str = r#"
kind = "letting"
date = 2007-06-15
municipality = "0101"
department = "fsb-tingbjerg-1"
area = { id = "tingbjerg" }
household = { applicant_ref = "D-1", persons = [
  { role = "applicant", benefits = [{ kind = "cash_benefit", from = 2006-11-01 }] },
] }
"#;

const NOTHING_TO_CHANGE: &str = r#"
kind = "letting"
date = 2007-06-15
municipality = "0101"
department = "kab-nordvest-3"
area = { id = "nordvest", share_without_attachment = "0.20" }
channel = "external_list"
household = { applicant_ref = "D-2", persons = [{ role = "applicant" }] }
"#;

#[test]
fn letting_decide_shows_the_counterfactuals_after_the_reasons() {
    let text = decide(REJECTED, false);
    let reasons = text
        .find("- dk2005.combined.benefit_rejection")
        .expect("the reasons");
    let after = text
        .find("counterfactuals (the smallest change of one fact that flips the decision):")
        .expect("the counterfactuals");
    let complaint = text.find("complaint (").expect("the complaint guidance");
    assert!(reasons < after && after < complaint, "{text}");
    assert!(
        text.contains("- applicant.benefit_months: 7 → 5 (dk2005.combined.benefit_rejection)"),
        "{text}"
    );
    assert!(
        text.contains(
            "    da: Ikke afvist, hvis ansøgeren havde modtaget kontanthjælp i 5 hele kalendermåneder i stedet for 7."
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "    en: Not rejected if the applicant no longer received cash benefit on 2007-06-15."
        ),
        "{text}"
    );

    // None: said so.
    let text = decide(NOTHING_TO_CHANGE, false);
    assert!(
        text.contains(
            "counterfactuals: none (no change of one fact of the household flips this decision)"
        ),
        "{text}"
    );

    // JSON: beside the decision's own fields.
    let json: serde_json::Value =
        serde_json::from_str(&decide(REJECTED, true)).expect("one JSON document");
    assert_eq!(json["kind"], "letting");
    assert_eq!(json["outcome"], "rejected");
    let first = &json["counterfactuals"][0];
    assert_eq!(first["rule_id"], "dk2005.combined.benefit_rejection");
    assert_eq!(first["fact"], "applicant.benefit_months");
    assert_eq!((&first["from"], &first["to"]), (&"7".into(), &"5".into()));
    assert_eq!(json["counterfactuals"].as_array().map(Vec::len), Some(3));
    let json: serde_json::Value =
        serde_json::from_str(&decide(NOTHING_TO_CHANGE, true)).expect("one JSON document");
    assert_eq!(json["counterfactuals"], serde_json::json!([]));
}

/// Every letting case of rules/tests: each counterfactual reads as a sentence in both
/// languages, names a change, and, where it changes a fact of the catalogue, changing that
/// fact here (outside the engine's own check) really flips the decision.
#[test]
fn every_counterfactual_of_the_rule_tests_flips_its_decision() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let base = rules::load_dir(&dir).expect("rules load").book;
    let tables = cases::read_tables(&dir.join("tests")).expect("case tables");
    let (mut lettings, mut found, mut rechecked) = (0, 0, 0);
    for (file, table) in &tables {
        let book = if table.fixtures.is_empty() {
            base.clone()
        } else {
            rules::extend(&base, &table.fixtures).expect("fixtures")
        };
        for case in table.cases.iter().filter(|c| c.kind == CaseKind::Letting) {
            let Ok(CaseDecision::Letting(decision)) = cases::run(&book, case) else {
                continue;
            };
            lettings += 1;
            let letting = cases::letting_case(case).expect("a letting");
            let all = engine::letting_counterfactuals(&book, &letting, &decision);
            for c in &all {
                found += 1;
                let at = format!("{file} :: {:?}: {c:?}", case.name);
                assert_ne!(c.from, c.to, "{at}");
                // A yes/no change is said in words; a number or a date is named.
                let named = c.to == "true" || c.to == "false";
                assert!(
                    [
                        "Ikke afvist, hvis ",
                        "Afvist, hvis ",
                        "Ingen fortrinsret ",
                        "Fortrinsret "
                    ]
                    .iter()
                    .any(|p| c.message_da.starts_with(p))
                        && c.message_da.ends_with('.')
                        && (named || c.message_da.contains(&c.to.replace('.', ","))),
                    "{at}"
                );
                assert!(
                    [
                        "Not rejected if ",
                        "Rejected if ",
                        "No flexible-letting priority ",
                        "Flexible-letting priority "
                    ]
                    .iter()
                    .any(|p| c.message_en.starts_with(p))
                        && c.message_en.ends_with('.')
                        && (named || c.message_en.contains(&c.to)),
                    "{at}"
                );
                let mut changed = letting.clone();
                let applicant = changed
                    .household
                    .persons
                    .iter_mut()
                    .find(|p| p.role == letting_rules::model::PersonRole::Applicant)
                    .expect("an applicant");
                match c.fact.as_str() {
                    "applicant.weekly_work_hours" => {
                        applicant.weekly_work_hours = Some(c.to.parse().expect("hours"));
                    }
                    "applicant.age" => applicant.age = Some(c.to.parse().expect("age")),
                    "applicant.student" => applicant.student = c.to == "true",
                    "applicant.separated_on" => {
                        applicant.separated_on = Some(c.to.parse().expect("date"));
                    }
                    "applicant.shared_address_from" => {
                        applicant.shared_address_from = Some(c.to.parse().expect("date"));
                    }
                    "applicant.lives_in_department" => {
                        changed.household.lives_in_department = c.to == "true";
                    }
                    "household.municipal_dispensation" => {
                        changed.household.municipal_dispensation = c.to == "true";
                    }
                    // A person's benefit receipt: rebuilt from spells by the engine only.
                    _ => continue,
                }
                let again = engine::evaluate_letting(&book, &changed).expect("judged again");
                let eligible =
                    |s: Eligibility| matches!(s, Eligibility::Provisional | Eligibility::Verified);
                let flipped = (again.outcome == LettingOutcome::Rejected)
                    != (decision.outcome == LettingOutcome::Rejected)
                    || eligible(again.flexible.status) != eligible(decision.flexible.status);
                assert!(flipped, "{at}: the changed case is judged the same");
                rechecked += 1;
            }
        }
    }
    // The tables hold well over a hundred lettings; most have something to change.
    assert!(lettings > 100, "only {lettings} letting cases");
    assert!(
        found > 50 && rechecked > 20,
        "{found} found, {rechecked} rechecked"
    );
    println!("{lettings} letting cases, {found} counterfactuals, {rechecked} rechecked here");
}
