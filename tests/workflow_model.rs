//! The case workflow as a model: random sequences of calls, legal and illegal, driven
//! against the service over gRPC, and after every call the invariants the report rests on:
//!
//! - nothing is written when a call fails;
//! - a letting is approved or rejected by the municipality at most once, only when it was
//!   sent for approval, and on or after its proposal (approvals ≤ proposals sent);
//! - a move-in follows an approval, once per letting and vacancy;
//! - a letting of a referral vacancy names an accepted referral of that vacancy, and each
//!   accepted referral is let at most once (referral lettings = accepted referrals let);
//! - at most one replacement offer per owed replacement (offers ≤ owed);
//! - the grant pool equals its grants (committed = approved − paid − cancelled).
//!
//! Runs on SQLite, and on PostgreSQL when `LETTING_TEST_POSTGRES_URL` is set (under CI it
//! must be). `PROPTEST_CASES` sets the number of sequences (default 16 per backend), and
//! `PROPTEST_RNG_SEED` a seed other than the fixed one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use common::{PgDatabase, TestServer, household, in_work, on_cash_benefit, vacancy};
use letting_rules::grpc::pb;
use letting_rules::log::{self, Body};
use letting_rules::report::{self, Period, Report};
use letting_rules::rules;
use letting_rules::store::{DecisionKind, DecisionRecord};
use proptest::prelude::*;
use tonic::Status;

const DEPARTMENTS: [&str; 3] = ["fsb-tingbjerg-1", "kab-nordvest-3", "akb-bispeparken"];

/// One call, with indices into what earlier calls made (taken modulo their number).
#[derive(Debug, Clone)]
enum Op {
    Register {
        department: usize,
        day: u64,
    },
    Propose {
        vacancy: usize,
        on_benefit: bool,
        day: u64,
        referral: Option<usize>,
    },
    Approve {
        letting: usize,
        day: u64,
    },
    Reject {
        letting: usize,
        day: u64,
        owed: bool,
    },
    MoveIn {
        letting: usize,
        day: u64,
    },
    Offer {
        letting: usize,
        vacancy: usize,
        day: u64,
    },
    Answer {
        offer: usize,
        accepted: bool,
        day: u64,
    },
    Refer {
        vacancy: usize,
        applicant: usize,
        day: u64,
    },
    Grant {
        day: u64,
        amount_kr: i64,
    },
    Settle {
        grant: usize,
        pay: bool,
        day: u64,
    },
}

/// How a call is dated against the sequence's clock, which starts on 2007-03-01: 0 to 4
/// moves it on by that many days; 5 dates the call three days back (often before what it
/// answers); 6 dates it 55 years ahead.
fn day() -> impl Strategy<Value = u64> {
    prop_oneof![12 => 0u64..5, 2 => Just(5u64), 1 => Just(6u64)]
}

/// Which earlier case a call aims at, counted from the newest.
fn ix() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..2, 1 => 0usize..8]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, day()).prop_map(|(department, day)| Op::Register { department, day }),
        3 => (ix(), any::<bool>(), day(), proptest::option::of(ix()))
            .prop_map(|(vacancy, on_benefit, day, referral)| Op::Propose { vacancy, on_benefit, day, referral }),
        2 => (ix(), day()).prop_map(|(letting, day)| Op::Approve { letting, day }),
        1 => (ix(), day(), any::<bool>()).prop_map(|(letting, day, owed)| Op::Reject { letting, day, owed }),
        2 => (ix(), day()).prop_map(|(letting, day)| Op::MoveIn { letting, day }),
        3 => (ix(), ix(), day()).prop_map(|(letting, vacancy, day)| Op::Offer { letting, vacancy, day }),
        3 => (ix(), any::<bool>(), day()).prop_map(|(offer, accepted, day)| Op::Answer { offer, accepted, day }),
        2 => (ix(), 0usize..3, day()).prop_map(|(vacancy, applicant, day)| Op::Refer { vacancy, applicant, day }),
        1 => (day(), prop_oneof![Just(0i64), 1i64..400_000]).prop_map(|(day, amount_kr)| Op::Grant { day, amount_kr }),
        1 => (ix(), any::<bool>(), day()).prop_map(|(grant, pay, day)| Op::Settle { grant, pay, day }),
    ]
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Register { .. } => "register",
            Op::Propose { .. } => "propose",
            Op::Approve { .. } => "approve",
            Op::Reject { .. } => "reject",
            Op::MoveIn { .. } => "move-in",
            Op::Offer { .. } => "offer",
            Op::Answer { .. } => "answer",
            Op::Refer { .. } => "refer",
            Op::Grant { .. } => "grant",
            Op::Settle { .. } => "settle",
        }
    }
}

thread_local! {
    /// How often each kind of call succeeded and failed over one test's sequences (a test
    /// runs its cases on its own thread): the test fails if some kind never did either,
    /// since its invariants would then go untested.
    static TALLY: RefCell<BTreeMap<&'static str, (usize, usize)>> = const { RefCell::new(BTreeMap::new()) };
}

fn tally(op: &Op, ok: bool) {
    TALLY.with_borrow_mut(|t| {
        let e = t.entry(op.name()).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    });
}

fn assert_every_kind_both_succeeded_and_failed() {
    let t = TALLY.with_borrow(|t| t.clone());
    for kind in [
        "register", "propose", "approve", "reject", "move-in", "offer", "answer", "refer", "grant",
        "settle",
    ] {
        let (ok, failed) = t.get(kind).copied().unwrap_or_default();
        assert!(
            ok > 0 && failed > 0,
            "{kind}: {ok} succeeded, {failed} failed: {t:?}"
        );
    }
}

/// The sequence's clock, in days after 2007-03-01.
struct Clock(u64);

impl Clock {
    fn date(&mut self, step: u64) -> String {
        let day = match step {
            0..5 => {
                self.0 += step;
                self.0
            }
            5 => self.0.saturating_sub(3),
            _ => 20_000,
        };
        let start = NaiveDate::from_ymd_opt(2007, 3, 1).expect("date");
        start
            .checked_add_days(Days::new(day))
            .unwrap_or(start)
            .to_string()
    }
}

fn pick(ids: &[(String, String)], i: usize) -> Option<&(String, String)> {
    (!ids.is_empty()).then(|| &ids[ids.len() - 1 - i % ids.len()])
}

/// What the calls made, to aim later calls at: (id, department or applicant).
#[derive(Default)]
struct Made {
    vacancies: Vec<(String, String)>,
    /// Those outside exposed areas, where a replacement offer may go.
    neutral_vacancies: Vec<(String, String)>,
    lettings: Vec<(String, String)>,
    /// Lettings sent for the municipality's approval.
    pending: Vec<(String, String)>,
    /// Lettings rejected with a replacement owed.
    owed: Vec<(String, String)>,
    offers: Vec<(String, String)>,
    referrals: Vec<(String, String)>,
    grants: Vec<(String, String)>,
}

impl Made {
    /// An even index aims at the cases a call suits (`apt`, when there are any), an odd one
    /// at any case: a fair share of calls is legal, and the rest probe the refusals.
    fn aim<'a>(
        &self,
        apt: &'a [(String, String)],
        any: &'a [(String, String)],
        i: usize,
    ) -> Option<&'a (String, String)> {
        if i % 2 == 0 && !apt.is_empty() {
            pick(apt, i / 2)
        } else {
            pick(any, i / 2)
        }
    }
}

async fn run(server: &TestServer, ops: &[Op]) {
    let mut fsb = server.housing(Some(&server.keys.fsb)).await;
    let mut kab = server.housing(Some(&server.keys.kab)).await;
    let mut m = server.municipality(Some(&server.keys.municipality)).await;
    let book = rules::load_dir(&common::rules_dir()).expect("rules").book;
    let mut made = Made::default();
    let mut clock = Clock(0);
    for (n, op) in ops.iter().enumerate() {
        let key = format!("model-{n}");
        let before = server.decisions(&[]).await.len();
        let pool_before = server.pool_use(2007).await;
        let org = |department: &str| department.starts_with("fsb");
        let result: Result<(), Status> = match op {
            Op::Register { department, day } => {
                let department = DEPARTMENTS[*department];
                let client = if org(department) { &mut fsb } else { &mut kab };
                client
                    .register_vacancy(vacancy(&key, department, &clock.date(*day)))
                    .await
                    .map(|r| {
                        let entry = (r.into_inner().vacancy_id, department.to_owned());
                        if department == "kab-nordvest-3" {
                            made.neutral_vacancies.push(entry.clone());
                        }
                        made.vacancies.push(entry);
                    })
            }
            Op::Propose {
                vacancy,
                on_benefit,
                day,
                referral,
            } => match pick(&made.vacancies, *vacancy) {
                None => continue,
                Some((vacancy_id, department)) => {
                    let (referral_id, applicant) =
                        match referral.and_then(|r| pick(&made.referrals, r)) {
                            Some((id, applicant)) => (id.clone(), applicant.clone()),
                            None => (String::new(), format!("own-{n}")),
                        };
                    let person = if *on_benefit {
                        on_cash_benefit("2006-06-01")
                    } else {
                        in_work("37")
                    };
                    let client = if org(department) { &mut fsb } else { &mut kab };
                    let department = department.clone();
                    client
                        .propose_letting(pb::ProposeLettingRequest {
                            idempotency_key: key.clone(),
                            vacancy_id: vacancy_id.clone(),
                            household: Some(household(&applicant, person)),
                            proposal_date: clock.date(*day),
                            referral_id,
                        })
                        .await
                        .map(|r| {
                            let r = r.into_inner();
                            let entry = (r.letting_id.clone(), department);
                            if r.outcome() == pb::LettingOutcome::PendingMunicipalApproval {
                                made.pending.push(entry.clone());
                            }
                            if !r.obligations.is_empty() {
                                made.owed.push(entry.clone());
                            }
                            made.lettings.push(entry);
                        })
                }
            },
            Op::Approve { letting, day } | Op::Reject { letting, day, .. } => {
                match made.aim(&made.pending, &made.lettings, *letting) {
                    None => continue,
                    Some((letting_id, department)) => {
                        let entry = (letting_id.clone(), department.clone());
                        let (letting_id, decision_date) = (letting_id.clone(), clock.date(*day));
                        let reason = "Ansøgerens forhold er vurderet.".to_owned();
                        match op {
                            Op::Reject { owed, .. } => m
                                .reject_letting(pb::RejectLettingRequest {
                                    idempotency_key: key.clone(),
                                    letting_id,
                                    decision_date,
                                    reason,
                                    caseworker_ref: "cw".into(),
                                    replacement_owed: *owed,
                                })
                                .await
                                .map(|_| {
                                    made.pending.retain(|(id, _)| *id != entry.0);
                                    if *owed {
                                        made.owed.push(entry);
                                    }
                                }),
                            _ => m
                                .approve_letting(pb::ApproveLettingRequest {
                                    idempotency_key: key.clone(),
                                    letting_id,
                                    decision_date,
                                    reason,
                                    caseworker_ref: "cw".into(),
                                })
                                .await
                                .map(|_| made.pending.retain(|(id, _)| *id != entry.0)),
                        }
                    }
                }
            }
            Op::MoveIn { letting, day } => match pick(&made.lettings, *letting) {
                None => continue,
                Some((letting_id, department)) => {
                    let client = if org(department) { &mut fsb } else { &mut kab };
                    client
                        .record_move_in(pb::RecordMoveInRequest {
                            idempotency_key: key.clone(),
                            letting_id: letting_id.clone(),
                            move_in_date: clock.date(*day),
                        })
                        .await
                        .map(|_| ())
                }
            },
            Op::Offer {
                letting,
                vacancy,
                day,
            } => {
                match (
                    made.aim(&made.owed, &made.lettings, *letting),
                    made.aim(&made.neutral_vacancies, &made.vacancies, *vacancy),
                ) {
                    (Some((letting_id, _)), Some((vacancy_id, department))) => {
                        let department = department.clone();
                        m.make_replacement_offer(pb::MakeReplacementOfferRequest {
                            idempotency_key: key.clone(),
                            letting_id: letting_id.clone(),
                            vacancy_id: vacancy_id.clone(),
                            offer_date: clock.date(*day),
                        })
                        .await
                        .map(|r| made.offers.push((r.into_inner().offer_id, department)))
                    }
                    _ => continue,
                }
            }
            Op::Answer {
                offer,
                accepted,
                day,
            } => match pick(&made.offers, *offer) {
                None => continue,
                Some((offer_id, department)) => {
                    let client = if org(department) { &mut fsb } else { &mut kab };
                    client
                        .record_replacement_offer_answer(pb::RecordReplacementOfferAnswerRequest {
                            idempotency_key: key.clone(),
                            offer_id: offer_id.clone(),
                            accepted: *accepted,
                            answer_date: clock.date(*day),
                        })
                        .await
                        .map(|_| ())
                }
            },
            Op::Refer {
                vacancy,
                applicant,
                day,
            } => match pick(&made.vacancies, *vacancy) {
                None => continue,
                Some((vacancy_id, _)) => {
                    let applicant = format!("kk-{applicant}");
                    m.record_municipal_referral(pb::RecordMunicipalReferralRequest {
                        idempotency_key: key.clone(),
                        vacancy_id: vacancy_id.clone(),
                        household: Some(household(&applicant, in_work("37"))),
                        referral_date: clock.date(*day),
                    })
                    .await
                    .map(|r| {
                        let r = r.into_inner();
                        if r.outcome() == pb::ReferralOutcome::Accepted {
                            made.referrals.push((r.referral_id, applicant));
                        }
                    })
                }
            },
            Op::Grant { day, amount_kr } => {
                let mut grant = common::standard_grant(&key, &clock.date(*day));
                grant.amount_ore = amount_kr * 100;
                m.decide_relocation_grant(grant)
                    .await
                    .map(|r| made.grants.push((r.into_inner().grant_id, String::new())))
            }
            Op::Settle { grant, pay, day } => match pick(&made.grants, *grant) {
                None => continue,
                Some((grant_id, _)) => {
                    let request = pb::SettleRelocationGrantRequest {
                        idempotency_key: key.clone(),
                        grant_id: grant_id.clone(),
                        date: clock.date(*day),
                        reason: String::new(),
                    };
                    if *pay {
                        m.pay_relocation_grant(request).await.map(|_| ())
                    } else {
                        m.cancel_relocation_grant(request).await.map(|_| ())
                    }
                }
            },
        };
        tally(op, result.is_ok());
        if std::env::var_os("MODEL_TRACE").is_some() {
            eprintln!(
                "{n} {op:?} -> {:?}",
                result.as_ref().map_err(|s| s.message().to_owned())
            );
        }
        let log = server.decisions(&[]).await;
        if let Err(status) = &result {
            assert_eq!(
                log.len(),
                before,
                "step {n} {op:?} failed ({status:?}) but wrote"
            );
            assert_eq!(
                server.pool_use(2007).await,
                pool_before,
                "step {n}: the pool moved"
            );
        }
        let year = Period {
            from: NaiveDate::from_ymd_opt(2005, 1, 1).expect("date"),
            to: NaiveDate::from_ymd_opt(2007, 12, 31).expect("date"),
            label: "model".into(),
        };
        let report = report::compute(&server.store, &book, "0101", year)
            .await
            .expect("report");
        invariants(
            server,
            &log,
            &report,
            &format!("after step {n} {op:?} -> {result:?}"),
        )
        .await;
    }
}

fn by_subject(
    log: &[DecisionRecord],
    kind: DecisionKind,
) -> BTreeMap<String, Vec<&DecisionRecord>> {
    let mut out: BTreeMap<String, Vec<&DecisionRecord>> = BTreeMap::new();
    for d in log.iter().filter(|d| d.kind == kind) {
        out.entry(d.subject.clone().unwrap_or_default())
            .or_default()
            .push(d);
    }
    out
}

async fn invariants(server: &TestServer, log: &[DecisionRecord], report: &Report, at: &str) {
    let proposals = by_subject(log, DecisionKind::Letting);
    let approvals = by_subject(log, DecisionKind::Approval);
    let rejections = by_subject(log, DecisionKind::MunicipalRejection);
    // Approvals ≤ proposals sent for approval, each on or after its proposal.
    for (letting, acts) in approvals.iter().chain(rejections.iter()) {
        let proposal = proposals
            .get(letting)
            .and_then(|p| p.first())
            .unwrap_or_else(|| panic!("{at}: an act on no proposal"));
        assert_eq!(
            proposal.outcome, "pending_municipal_approval",
            "{at}: an act on a letting not sent for approval"
        );
        assert!(
            acts.iter().all(|a| a.event_date >= proposal.event_date),
            "{at}: an act before its proposal"
        );
    }
    for letting in approvals.keys() {
        let both = approvals[letting].len() + rejections.get(letting).map_or(0, Vec::len);
        assert_eq!(both, 1, "{at}: letting {letting} decided {both} times");
    }
    let c = &report.combined_letting;
    assert!(
        c.approvals.count + c.municipal_rejections.count <= c.sent_for_approval.count,
        "{at}: report approvals exceed proposals"
    );
    // A move-in follows an approval, once per letting.
    for (letting, moves) in by_subject(log, DecisionKind::MoveIn) {
        assert_eq!(moves.len(), 1, "{at}: {letting} moved into twice");
        let proposal = proposals
            .get(&letting)
            .and_then(|p| p.first())
            .unwrap_or_else(|| panic!("{at}: a move-in without a letting"));
        let approved_on = match proposal.outcome.as_str() {
            "approved" => proposal.event_date,
            "pending_municipal_approval" => {
                approvals
                    .get(&letting)
                    .and_then(|a| a.first())
                    .unwrap_or_else(|| panic!("{at}: a move-in before approval"))
                    .event_date
            }
            other => panic!("{at}: a move-in into a letting that was {other}"),
        };
        assert!(
            moves[0].event_date >= approved_on,
            "{at}: a move-in before its approval"
        );
    }
    // Referral lettings = accepted referrals that were let.
    let referrals = by_subject(log, DecisionKind::Referral);
    let accepted: BTreeSet<&String> = referrals
        .iter()
        .filter(|(_, r)| r[0].outcome == "accepted")
        .map(|(id, _)| id)
        .collect();
    let mut per_vacancy: BTreeMap<String, usize> = BTreeMap::new();
    for r in referrals
        .values()
        .flatten()
        .filter(|r| r.outcome == "accepted")
    {
        *per_vacancy
            .entry(match log::decode(r).expect("a referral") {
                Body::Referral(b) => b.vacancy_id,
                other => panic!("not a referral: {other:?}"),
            })
            .or_default() += 1;
    }
    assert!(
        per_vacancy.values().all(|n| *n == 1),
        "{at}: two accepted referrals into one vacancy"
    );
    let mut named = BTreeSet::new();
    for p in proposals.values().flatten() {
        let on_referral_vacancy = p.channel.as_deref() == Some("municipal_referral");
        let named_referral = match log::decode(p).expect("a letting") {
            Body::Letting(b) => b.referral_id,
            other => panic!("not a letting: {other:?}"),
        };
        match named_referral.as_deref() {
            Some(referral) => {
                assert!(
                    on_referral_vacancy,
                    "{at}: a referral named on another channel's vacancy"
                );
                assert!(
                    accepted.contains(&referral.to_owned()),
                    "{at}: a letting names a referral that was not accepted"
                );
                if p.outcome != "rejected" {
                    assert!(
                        named.insert(referral.to_owned()),
                        "{at}: referral {referral} let twice"
                    );
                }
            }
            None => assert!(
                !on_referral_vacancy,
                "{at}: a referral vacancy let with no referral"
            ),
        }
    }
    assert!(named.len() <= accepted.len(), "{at}");
    assert_eq!(
        report.referrals.accepted.count as usize,
        accepted.len(),
        "{at}: the report's accepted referrals"
    );
    // Offers ≤ owed replacements, one per owed letting.
    for (_, offers) in by_subject(log, DecisionKind::ReplacementOffer) {
        assert_eq!(offers.len(), 1, "{at}");
    }
    let mut offered_lettings = BTreeSet::new();
    for o in log
        .iter()
        .filter(|d| d.kind == DecisionKind::ReplacementOffer)
    {
        let letting = match log::decode(o).expect("a replacement offer") {
            Body::ReplacementOffer(b) => b.request.letting_id,
            other => panic!("not a replacement offer: {other:?}"),
        };
        assert!(
            offered_lettings.insert(letting.clone()),
            "{at}: two offers for letting {letting}"
        );
    }
    let r = &report.replacement_offers;
    assert!(
        r.made.count <= r.owed.count,
        "{at}: offers {} > owed {}",
        r.made.count,
        r.owed.count
    );
    // The pool equals its grants.
    let g = &report.grants;
    let pool = server.pool_use(2007).await;
    assert_eq!(
        pool.committed_ore,
        g.approvals.amount_ore - g.payments.amount_ore - g.cancellations.amount_ore,
        "{at}: pool committed"
    );
    assert_eq!(pool.paid_ore, g.payments.amount_ore, "{at}: pool paid");
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(16)
}

fn check_on<F>(start: F)
where
    F: Fn() -> Option<(TestServer, Option<PgDatabase>)>,
{
    let mut config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // The same sequences on every run, so that a change of behaviour, not luck, moves the
    // tally; PROPTEST_RNG_SEED explores others.
    let fixed = std::env::var_os("PROPTEST_RNG_SEED").is_none();
    if fixed {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(2007);
    }
    proptest!(config, |(ops in proptest::collection::vec(op(), 20..60))| {
        let Some((server, db)) = start() else { return Ok(()) };
        let runtime = tokio::runtime::Handle::current();
        runtime.block_on(async {
            server.seed().await;
            run(&server, &ops).await;
            server.stop().await;
            if let Some(db) = db {
                db.drop_database().await;
            }
        });
    });
    // Another seed may by chance never make some call succeed; the fixed one must.
    if fixed {
        assert_every_kind_both_succeeded_and_failed();
    }
}

#[test]
fn the_workflow_keeps_its_invariants_on_sqlite() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    check_on(|| {
        let handle = tokio::runtime::Handle::current();
        Some((handle.block_on(TestServer::start()), None))
    });
}

#[test]
fn the_workflow_keeps_its_invariants_on_postgres() {
    const TEST: &str = "the_workflow_keeps_its_invariants_on_postgres";
    if std::env::var_os(common::PG_URL_VAR).is_none() {
        common::skip(TEST, &format!("{} not set", common::PG_URL_VAR));
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    check_on(|| {
        let handle = tokio::runtime::Handle::current();
        let db = handle.block_on(PgDatabase::create(TEST))?;
        let server = handle.block_on(TestServer::start_on(&db.url, None));
        Some((server, Some(db)))
    });
}
