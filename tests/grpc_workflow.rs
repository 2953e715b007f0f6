//! The case workflow over gRPC: every act in its order and on its date. Each test is one
//! out-of-order step that used to be accepted; each refusal is FAILED_PRECONDITION naming
//! the state or the dates, and writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Housing, Municipality, TestServer, household, in_work, on_cash_benefit, vacancy};
use letting_rules::grpc::pb;
use letting_rules::store::DecisionKind;
use tonic::{Code, Status};

/// A seeded 2007 Copenhagen with scenario verbs for the workflow.
struct City {
    server: TestServer,
    fsb: Housing,
    kab: Housing,
    m: Municipality,
    keys: AtomicUsize,
}

impl City {
    async fn new() -> City {
        let server = TestServer::start().await;
        server.seed().await;
        City {
            fsb: server.housing(Some(&server.keys.fsb)).await,
            kab: server.housing(Some(&server.keys.kab)).await,
            m: server.municipality(Some(&server.keys.municipality)).await,
            server,
            keys: AtomicUsize::new(0),
        }
    }

    fn key(&self) -> String {
        format!("wf-{}", self.keys.fetch_add(1, Ordering::Relaxed))
    }

    fn org(&mut self, department: &str) -> &mut Housing {
        if department.starts_with("fsb") {
            &mut self.fsb
        } else {
            &mut self.kab
        }
    }

    /// Registers vacancies in `department` until one goes to `want` (or to any channel but
    /// municipal referral when `want` is None).
    async fn vacancy(
        &mut self,
        department: &str,
        date: &str,
        want: Option<pb::LettingChannel>,
    ) -> String {
        loop {
            let key = self.key();
            let v = self
                .org(department)
                .register_vacancy(vacancy(&key, department, date))
                .await
                .expect("register")
                .into_inner();
            let fits = match want {
                Some(channel) => v.channel() == channel,
                None => v.channel() != pb::LettingChannel::MunicipalReferral,
            };
            if fits {
                return v.vacancy_id;
            }
        }
    }

    async fn propose(
        &mut self,
        department: &str,
        vacancy_id: &str,
        household: pb::ApplicantHousehold,
        date: &str,
        referral_id: &str,
    ) -> Result<pb::ProposeLettingResponse, Status> {
        let key = self.key();
        self.org(department)
            .propose_letting(pb::ProposeLettingRequest {
                idempotency_key: key,
                vacancy_id: vacancy_id.into(),
                household: Some(household),
                proposal_date: date.into(),
                referral_id: referral_id.into(),
            })
            .await
            .map(|r| r.into_inner())
    }

    /// A letting in exposed Tingbjerg proposed on `date`, awaiting the municipality.
    async fn pending_letting(&mut self, date: &str) -> String {
        let v = self.vacancy("fsb-tingbjerg-1", "2007-03-01", None).await;
        let p = self
            .propose(
                "fsb-tingbjerg-1",
                &v,
                household("fsb-hh-1", in_work("37")),
                date,
                "",
            )
            .await
            .expect("propose");
        assert_eq!(p.outcome(), pb::LettingOutcome::PendingMunicipalApproval);
        p.letting_id
    }

    /// A letting in Tingbjerg rejected on `date` under combined letting: a replacement
    /// dwelling is owed.
    async fn rejected_letting(&mut self, date: &str) -> String {
        let v = self.vacancy("fsb-tingbjerg-1", "2007-03-01", None).await;
        let p = self
            .propose(
                "fsb-tingbjerg-1",
                &v,
                household("fsb-hh-2", on_cash_benefit("2006-06-01")),
                date,
                "",
            )
            .await
            .expect("propose");
        assert_eq!(p.outcome(), pb::LettingOutcome::Rejected);
        p.letting_id
    }

    async fn approve(&mut self, letting_id: &str, date: &str) -> Result<(), Status> {
        let key = self.key();
        self.m
            .approve_letting(pb::ApproveLettingRequest {
                idempotency_key: key,
                letting_id: letting_id.into(),
                decision_date: date.into(),
                reason: "Ansøgeren er i arbejde.".into(),
                caseworker_ref: "cw-1".into(),
            })
            .await
            .map(|_| ())
    }

    async fn reject(&mut self, letting_id: &str, date: &str) -> Result<(), Status> {
        let key = self.key();
        self.m
            .reject_letting(pb::RejectLettingRequest {
                idempotency_key: key,
                letting_id: letting_id.into(),
                decision_date: date.into(),
                reason: "Boligen passer ikke til husstanden.".into(),
                caseworker_ref: "cw-1".into(),
                replacement_owed: false,
            })
            .await
            .map(|_| ())
    }

    async fn move_in(
        &mut self,
        department: &str,
        letting_id: &str,
        date: &str,
    ) -> Result<(), Status> {
        let key = self.key();
        self.org(department)
            .record_move_in(pb::RecordMoveInRequest {
                idempotency_key: key,
                letting_id: letting_id.into(),
                move_in_date: date.into(),
            })
            .await
            .map(|_| ())
    }

    async fn refer(
        &mut self,
        vacancy_id: &str,
        applicant: &str,
        date: &str,
    ) -> Result<pb::RecordMunicipalReferralResponse, Status> {
        let key = self.key();
        self.m
            .record_municipal_referral(pb::RecordMunicipalReferralRequest {
                idempotency_key: key,
                vacancy_id: vacancy_id.into(),
                household: Some(household(applicant, in_work("37"))),
                referral_date: date.into(),
            })
            .await
            .map(|r| r.into_inner())
    }

    async fn offer(
        &mut self,
        letting_id: &str,
        vacancy_id: &str,
        date: &str,
    ) -> Result<String, Status> {
        let key = self.key();
        self.m
            .make_replacement_offer(pb::MakeReplacementOfferRequest {
                idempotency_key: key,
                letting_id: letting_id.into(),
                vacancy_id: vacancy_id.into(),
                offer_date: date.into(),
            })
            .await
            .map(|r| r.into_inner().offer_id)
    }

    async fn logged(&self) -> usize {
        self.server.decisions(&[]).await.len()
    }

    /// The call was refused as an illegal step saying `why`, and nothing was written.
    async fn refused<T: std::fmt::Debug>(
        &self,
        result: Result<T, Status>,
        why: &[&str],
        before: usize,
    ) {
        let status = result.expect_err("an illegal step");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        for words in why {
            assert!(
                status.message().contains(words),
                "`{words}` not in: {}",
                status.message()
            );
        }
        assert_eq!(self.logged().await, before, "nothing written");
    }
}

#[tokio::test]
async fn an_approval_or_rejection_dated_before_its_proposal_is_refused() {
    let mut city = City::new().await;
    let letting = city.pending_letting("2007-03-05").await;
    let before = city.logged().await;
    let early = city.approve(&letting, "2007-03-04").await;
    city.refused(
        early,
        &["dated 2007-03-04", "before the proposal (2007-03-05)"],
        before,
    )
    .await;
    // Before any rule set: refused for its order, and judged by no rules.
    let ancient = city.reject(&letting, "2004-06-01").await;
    city.refused(ancient, &["before the proposal"], before)
        .await;
    city.approve(&letting, "2007-03-05")
        .await
        .expect("on the day of the proposal");
    let twice = city.approve(&letting, "2007-03-06").await;
    city.refused(twice, &["is approved", "RecordMoveIn"], before + 1)
        .await;
    city.server.stop().await;
}

#[tokio::test]
async fn a_move_in_before_the_municipalitys_approval_is_refused() {
    let mut city = City::new().await;
    let letting = city.pending_letting("2007-03-05").await;
    let before = city.logged().await;
    let pending = city
        .move_in("fsb-tingbjerg-1", &letting, "2007-03-20")
        .await;
    city.refused(pending, &["is pending_municipal_approval"], before)
        .await;
    city.approve(&letting, "2007-03-10").await.expect("approve");
    let before = city.logged().await;
    let early = city
        .move_in("fsb-tingbjerg-1", &letting, "2007-03-09")
        .await;
    city.refused(early, &["before its approval (2007-03-10)"], before)
        .await;
    city.move_in("fsb-tingbjerg-1", &letting, "2007-03-10")
        .await
        .expect("move in");
    city.server.stop().await;
}

#[tokio::test]
async fn a_referral_takes_an_open_referral_vacancy_once() {
    let mut city = City::new().await;
    let referral_vacancy = city
        .vacancy(
            "kab-nordvest-3",
            "2007-03-01",
            Some(pb::LettingChannel::MunicipalReferral),
        )
        .await;
    let before = city.logged().await;
    let early = city.refer(&referral_vacancy, "kk-1", "2007-02-28").await;
    city.refused(early, &["before the vacancy (2007-03-01)"], before)
        .await;
    let first = city
        .refer(&referral_vacancy, "kk-1", "2007-03-05")
        .await
        .expect("refer");
    assert_eq!(first.outcome(), pb::ReferralOutcome::Accepted);
    let before = city.logged().await;
    for applicant in ["kk-2", "kk-3", "kk-4"] {
        let again = city.refer(&referral_vacancy, applicant, "2007-03-06").await;
        city.refused(again, &["is referred"], before).await;
    }
    // A vacancy the organisation lets itself takes no accepted referral.
    let own = city.vacancy("kab-nordvest-3", "2007-03-01", None).await;
    let before = city.logged().await;
    let not_referral = city.refer(&own, "kk-5", "2007-03-05").await;
    city.refused(not_referral, &["assigned to municipal referral"], before)
        .await;
    // Nor does one already moved into.
    let let_vacancy = city.vacancy("kab-nordvest-3", "2007-03-01", None).await;
    let letting = city
        .propose(
            "kab-nordvest-3",
            &let_vacancy,
            household("kab-hh-1", in_work("37")),
            "2007-03-02",
            "",
        )
        .await
        .expect("propose")
        .letting_id;
    city.move_in("kab-nordvest-3", &letting, "2007-03-03")
        .await
        .expect("move in");
    let before = city.logged().await;
    let moved_in = city.refer(&let_vacancy, "kk-6", "2007-03-05").await;
    city.refused(moved_in, &["is moved_in"], before).await;
    let referrals = city.server.decisions(&[DecisionKind::Referral]).await;
    assert_eq!(
        referrals.len(),
        1,
        "one referral recorded, into one vacancy"
    );
    city.server.stop().await;
}

#[tokio::test]
async fn a_letting_of_a_referral_vacancy_names_its_referral() {
    let mut city = City::new().await;
    let v = city
        .vacancy(
            "kab-nordvest-3",
            "2007-03-01",
            Some(pb::LettingChannel::MunicipalReferral),
        )
        .await;
    let before = city.logged().await;
    let own_applicant = city
        .propose(
            "kab-nordvest-3",
            &v,
            household("kab-own", in_work("37")),
            "2007-03-05",
            "",
        )
        .await;
    city.refused(
        own_applicant,
        &["is for municipal referral", "referral_id"],
        before,
    )
    .await;
    let referral = city
        .refer(&v, "kk-1", "2007-03-05")
        .await
        .expect("refer")
        .referral_id;
    let before = city.logged().await;
    let other_household = city
        .propose(
            "kab-nordvest-3",
            &v,
            household("kab-own", in_work("37")),
            "2007-03-06",
            &referral,
        )
        .await;
    city.refused(other_household, &["refers another household"], before)
        .await;
    let before_referral = city
        .propose(
            "kab-nordvest-3",
            &v,
            household("kk-1", in_work("37")),
            "2007-03-04",
            &referral,
        )
        .await;
    city.refused(
        before_referral,
        &["before the referral (2007-03-05)"],
        before,
    )
    .await;
    let let_to_referred = city
        .propose(
            "kab-nordvest-3",
            &v,
            household("kk-1", in_work("37")),
            "2007-03-06",
            &referral,
        )
        .await
        .expect("the referred household");
    assert_eq!(let_to_referred.outcome(), pb::LettingOutcome::Approved);
    // A vacancy the organisation lets itself names no referral.
    let own = city.vacancy("kab-nordvest-3", "2007-03-01", None).await;
    let before = city.logged().await;
    let named = city
        .propose(
            "kab-nordvest-3",
            &own,
            household("kk-1", in_work("37")),
            "2007-03-06",
            &referral,
        )
        .await;
    city.refused(named, &["names no referral"], before).await;
    city.server.stop().await;
}

#[tokio::test]
async fn a_replacement_offer_follows_its_rejection_and_is_made_once() {
    let mut city = City::new().await;
    let rejected = city.rejected_letting("2007-03-05").await;
    let first = city.vacancy("kab-nordvest-3", "2007-03-01", None).await;
    let second = city.vacancy("kab-nordvest-3", "2007-03-01", None).await;
    let before = city.logged().await;
    let early = city.offer(&rejected, &first, "2007-03-04").await;
    city.refused(early, &["before the rejection (2007-03-05)"], before)
        .await;
    city.offer(&rejected, &first, "2007-03-10")
        .await
        .expect("offer");
    let before = city.logged().await;
    let again = city.offer(&rejected, &second, "2007-03-11").await;
    city.refused(again, &["already has replacement offer"], before)
        .await;
    city.server.stop().await;
}

#[tokio::test]
async fn an_act_is_not_dated_in_the_future() {
    let mut city = City::new().await;
    let letting = city.pending_letting("2007-03-05").await;
    city.approve(&letting, "2007-03-10").await.expect("approve");
    let tomorrow_but_one = (chrono::Utc::now().date_naive() + chrono::Days::new(2)).to_string();
    let before = city.logged().await;
    let ahead = city
        .move_in("fsb-tingbjerg-1", &letting, &tomorrow_but_one)
        .await;
    city.refused(ahead, &["after today"], before).await;
    let far = (chrono::Utc::now().date_naive() + chrono::Days::new(200)).to_string();
    let key = city.key();
    let vacancy_ahead = city
        .fsb
        .register_vacancy(vacancy(&key, "fsb-tingbjerg-1", &far))
        .await;
    city.refused(vacancy_ahead, &["more than 92 days after today"], before)
        .await;
    city.server.stop().await;
}

#[tokio::test]
async fn messages_name_the_area_as_it_is_registered() {
    let mut city = City::new().await;
    let v = city.vacancy("fsb-hulgaard", "2007-03-01", None).await;
    let p = city
        .propose(
            "fsb-hulgaard",
            &v,
            household("fsb-hh-3", in_work("37")),
            "2007-03-05",
            "",
        )
        .await
        .expect("propose");
    let explanation = p.explanation.expect("explanation");
    let messages: Vec<&str> = explanation
        .fired_rules
        .iter()
        .flat_map(|r| [r.message_da.as_str(), r.message_en.as_str()])
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("Hulgård")),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| !m.contains("hulgaard")),
        "{messages:?}"
    );
    city.server.stop().await;
}
