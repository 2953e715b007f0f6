//! The quarterly report over a synthetic history at national volume: 1,000,000 decisions
//! over ten years (2007–2016, ~100,000 a year in one municipality, the worst case), and
//! the same last year alone (~100,000), so that one quarter (2016Q2, the same events in
//! both) is timed against ten times as much history.
//!
//!     cargo bench --bench report
//!     LETTING_BENCH_DECISIONS=200000 cargo bench --bench report   # a smaller history
//!     LETTING_BENCH_STORE_ONLY=1 cargo bench --bench report        # without the paging baseline
//!
//! Prints, per history: the quarter's own events, the p50/min/max of several runs of
//! `report::compute`, and the peak resident memory of the run (VmHWM, in a process of its
//! own). Each history is timed twice: with the store as it is (on SQLite its
//! `count_decisions` and `pending_lettings_as_of` are answered from the indexes of
//! migration V2), and with the two replaced by the trait's paging defaults (what a
//! backend without them does: a scan of all history). The databases are kept under
//! target/report-bench/ and reused.

use std::collections::HashMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Days, NaiveDate, Utc};
use rust_decimal::Decimal;

use letting_rules::engine::explain::SourceText;
use letting_rules::engine::{
    ChannelDecision, Comparison, Eligibility, Explanation, FiredRule, FlexibleEligibility,
    GrantDecision, GrantOutcome, LettingDecision, LettingOutcome, MunicipalActDecision, QuotaState,
    ReferralDecision, ReferralOutcome,
};
use letting_rules::log::{
    self, AreaStatisticsInput, Body, Entry, GrantAct, LoadStatistics, MoveInRecorded, MunicipalAct,
    Placement, RecordMoveIn, RegisterVacancy,
};
use letting_rules::model::{AreaFacts, Channel, Money, RuleBook};
use letting_rules::report::{self, Period, Report};
use letting_rules::rules;
use letting_rules::store::{
    Area, DecisionKind, DecisionRecord, Department, Organisation, Overlay, Store, StoreError,
};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const MUNICIPALITY: &str = "0101";
const AREAS: usize = 40;
const DEPARTMENTS: usize = 160;
const RUNS: usize = 5;

// ----- a small deterministic generator -------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn class_of(area: usize) -> &'static str {
    match area {
        0..=4 => "exposed",
        5..=12 => "high_risk",
        13..=22 => "risk",
        _ => "neutral",
    }
}

fn area_id(area: usize) -> String {
    format!("area-{area:02}")
}

fn department_id(department: usize) -> String {
    format!("dept-{department:03}")
}

/// An explanation like the engine's: the class rule and the deciding rule, with facts.
fn explanation(kind: &str, area: &str, class: &str, outcome: &str, date: NaiveDate) -> Explanation {
    let mut explanation = Explanation {
        rule_set_id: "dk-2005+kk-2007+kk-aftale-2007".into(),
        rule_set_hash: "0".repeat(64).into(),
        layers: Vec::new(),
        decided_on: date,
        fired: vec![
            FiredRule {
                rule_id: format!("cph2007.class.{class}").into(),
                layer: "kk-2007".into(),
                source: SourceText {
                    document:
                        "Københavns Kommune: Statusrapport for integrationspolitikken 2007, bilag 1"
                            .into(),
                    section: Some("Definitioner".into()),
                    title: "Statusrapportens definitioner".into(),
                },
                comparisons: vec![Comparison {
                    fact: "area.share_without_attachment".into(),
                    op: ">=".into(),
                    threshold: "0.40".into(),
                    actual: "0.412".into(),
                    holds: true,
                }],
                message_da: format!(
                    "41,2 % af beboerne i den erhvervsaktive alder i {area} er uden tilknytning til arbejdsmarkedet."
                ),
                message_en: format!(
                    "41.2 % of working-age residents of {area} are without labour-market attachment."
                ),
                to_citizen: true,
            },
            FiredRule {
                rule_id: format!("cph2007.{kind}").into(),
                layer: "kk-aftale-2007".into(),
                source: SourceText {
                    document: "Boligaftale mellem BL og Københavns Kommune, BR 711/06".into(),
                    section: None,
                    title: "Aftale om kombineret og fleksibel udlejning".into(),
                },
                comparisons: Vec::new(),
                message_da: "Boligen går til den interne venteliste.".into(),
                message_en: "The dwelling goes to the internal waiting list.".into(),
                to_citizen: true,
            },
        ],
        facts: Default::default(),
        reference_data: Vec::new(),
        considerations: None,
        complaint: None,
        considered: Vec::new(),
    };
    for (fact, value) in [
        ("area.id", area),
        ("area.class", class),
        ("department", area),
        ("outcome", outcome),
    ] {
        explanation.fact(fact, value);
    }
    explanation
}

/// The typed body the service writes for a decision of `kind` with `outcome`.
fn body(
    kind: DecisionKind,
    date: NaiveDate,
    area: &str,
    class: &str,
    subject: &str,
    outcome: &str,
    channel: Option<&str>,
) -> Body {
    let explained = || explanation(kind.as_str(), area, class, outcome, date);
    let channel_of = |c: Option<&str>| c.and_then(Channel::parse).unwrap_or(Channel::InternalList);
    match kind {
        DecisionKind::ChannelAssignment => Body::ChannelAssignment(log::ChannelAssignment {
            request: RegisterVacancy {
                department: area.into(),
                vacancy_ref: "Synthetic 1, st. tv.".into(),
                date,
            },
            decision: ChannelDecision {
                channel: channel_of(channel),
                area_class: class.into(),
                period: date.year().to_string(),
                counters_after: QuotaState::default(),
                explanation: explained(),
            },
            rule_book: None,
        }),
        DecisionKind::Letting => {
            let outcome = match outcome {
                "rejected" => LettingOutcome::Rejected,
                "pending_municipal_approval" => LettingOutcome::PendingMunicipalApproval,
                _ => LettingOutcome::Approved,
            };
            Body::Letting(log::LettingProposal {
                vacancy_id: subject.into(),
                applicant_ref: "applicant-1".into(),
                decision: LettingDecision {
                    outcome,
                    area_class: class.into(),
                    obligations: if outcome == LettingOutcome::Rejected {
                        vec!["replacement_dwelling_offer".into()]
                    } else {
                        Vec::new()
                    },
                    flexible: FlexibleEligibility {
                        status: Eligibility::NotApplicable,
                        groups: Vec::new(),
                    },
                    explanation: explained(),
                },
                referral_id: None,
                rule_book: None,
            })
        }
        DecisionKind::Approval => Body::Approval(log::MunicipalActRecord {
            act: MunicipalAct {
                letting_id: subject.into(),
                date,
                reason: "Synthetic approval".into(),
                caseworker: "cw-1".into(),
                replacement_owed: false,
            },
            decision: Some(MunicipalActDecision {
                area_class: class.into(),
                explanation: explained(),
            }),
            rule_book: None,
        }),
        DecisionKind::MoveIn => Body::MoveIn(log::MoveIn {
            request: RecordMoveIn {
                letting_id: subject.into(),
                date,
            },
            outcome: MoveInRecorded {
                decision_id: String::new(),
                flexible_shortfall: channel == Some(log::NOT_LET_FLEXIBLY),
                counts_flexible_indicator: false,
                counts_combined_indicator: false,
            },
        }),
        DecisionKind::Referral => Body::Referral(log::Referral {
            vacancy_id: subject.into(),
            applicant_ref: "applicant-1".into(),
            decision: ReferralDecision {
                outcome: if outcome == "accepted" {
                    ReferralOutcome::Accepted
                } else {
                    ReferralOutcome::Refused
                },
                area_class: class.into(),
                explanation: explained(),
            },
            rule_book: None,
            caseworker: None,
        }),
        DecisionKind::Grant => Body::Grant(log::Grant {
            applicant_ref: "applicant-1".into(),
            purpose: "moving_out".into(),
            decision: GrantDecision {
                outcome: GrantOutcome::Approved,
                amount: Money::from_ore(GRANT_ORE),
                pool: Money::from_ore(100_000_000),
                remaining: Money::from_ore(100_000_000 - GRANT_ORE),
                explanation: explained(),
            },
            rule_book: None,
            caseworker: None,
        }),
        _ => Body::GrantPayment(GrantAct {
            grant_id: subject.into(),
            date,
            reason: "Synthetic payment".into(),
        }),
    }
}

/// A relocation grant of DKK 15,000.
const GRANT_ORE: i64 = 1_500_000;

fn record(
    kind: DecisionKind,
    date: NaiveDate,
    department: usize,
    subject: &str,
    outcome: &str,
    channel: Option<&str>,
) -> DecisionRecord {
    let area = department % AREAS;
    let class = class_of(area);
    let entry = Entry {
        id: uuid::Uuid::now_v7().to_string(),
        municipality: MUNICIPALITY.into(),
        principal: format!("organisation:org-{}", department % 8),
        event_date: date,
        recorded_at: Utc::now(),
        placement: Placement {
            organisation: Some(format!("org-{}", department % 8)),
            department: Some(department_id(department)),
            area: Some(area_id(area)),
            subject: Some(subject.to_owned()),
            channel: channel.map(str::to_owned),
            area_class: Some(class.to_owned()),
            amount_ore: (kind == DecisionKind::GrantPayment).then_some(GRANT_ORE),
        },
        body: body(kind, date, &area_id(area), class, subject, outcome, channel),
    };
    match entry.into_record() {
        Ok(record) => record,
        Err(e) => unreachable!("a synthetic body always encodes: {e}"),
    }
}

/// One year of decisions, about `per_year` of them, the same for the same year.
fn year_of_decisions(year: i32, per_year: usize) -> Vec<DecisionRecord> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (year as u64));
    let mut out = Vec::with_capacity(per_year + 64);
    let Some(jan1) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return out;
    };
    // Statistics for the year, dated 1 January.
    let load = LoadStatistics {
        year,
        date: jan1,
        areas: (0..AREAS)
            .map(|a| {
                let without: u32 = match class_of(a) {
                    "exposed" => 520,
                    "high_risk" => 430,
                    "risk" => 340,
                    _ => 180,
                };
                AreaStatisticsInput {
                    area: area_id(a),
                    facts: AreaFacts {
                        id: area_id(a),
                        working_age_residents: Some(1000),
                        without_labour_market_attachment: Some(u64::from(without)),
                        residents: Some(2000 + 37 * a as u64),
                        ..AreaFacts::default()
                    },
                    transfer_income_share: Some(Decimal::new(i64::from(without) - 15, 3)),
                    self_supporting_weeks: Some(Decimal::from(52 - without / 20)),
                }
            })
            .collect(),
    };
    let statistics = Entry {
        id: uuid::Uuid::now_v7().to_string(),
        municipality: MUNICIPALITY.into(),
        principal: "municipality".into(),
        event_date: jan1,
        recorded_at: Utc::now(),
        placement: Placement {
            subject: Some(format!("statistics:{year}")),
            ..Placement::default()
        },
        body: Body::Statistics(load),
    };
    match statistics.into_record() {
        Ok(record) => out.push(record),
        Err(e) => unreachable!("a statistics load always encodes: {e}"),
    }
    let days = if NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|d| d.ordinal() == 366) {
        366
    } else {
        365
    };
    while out.len() < per_year {
        let date = jan1 + Days::new(rng.below(days));
        let department = rng.below(DEPARTMENTS as u64) as usize;
        let class = class_of(department % AREAS);
        let vacancy = uuid::Uuid::now_v7().to_string();
        let letting = uuid::Uuid::now_v7().to_string();
        let channel = match (class, rng.below(9)) {
            ("exposed" | "high_risk", 0..=3) => "flexible",
            (_, 0) => "flexible",
            ("neutral" | "risk", 1..=2) => "municipal_referral",
            _ => "internal_list",
        };
        out.push(record(
            DecisionKind::ChannelAssignment,
            date,
            department,
            &vacancy,
            channel,
            Some(channel),
        ));
        let later = |n: u64| date + Days::new(n);
        if class == "exposed" {
            let rejected = rng.below(12) == 0;
            let outcome = if rejected {
                "rejected"
            } else {
                "pending_municipal_approval"
            };
            out.push(record(
                DecisionKind::Letting,
                later(3),
                department,
                &letting,
                outcome,
                Some(channel),
            ));
            if rejected {
                continue;
            }
            if rng.below(40) == 0 {
                continue; // never decided: pending for ever
            }
            out.push(record(
                DecisionKind::Approval,
                later(10),
                department,
                &letting,
                "approved",
                Some(channel),
            ));
        } else {
            out.push(record(
                DecisionKind::Letting,
                later(3),
                department,
                &letting,
                "approved",
                Some(channel),
            ));
        }
        let moved = if channel == "flexible" && rng.below(10) == 0 {
            "not_let_flexibly"
        } else {
            channel
        };
        out.push(record(
            DecisionKind::MoveIn,
            later(20),
            department,
            &letting,
            "moved_in",
            Some(moved),
        ));
        if rng.below(25) == 0 {
            let outcome = if class == "neutral" || class == "risk" {
                "accepted"
            } else {
                "refused"
            };
            out.push(record(
                DecisionKind::Referral,
                date,
                department,
                &uuid::Uuid::now_v7().to_string(),
                outcome,
                Some("municipal_referral"),
            ));
        }
        if rng.below(400) == 0 {
            let grant = uuid::Uuid::now_v7().to_string();
            let g = record(
                DecisionKind::Grant,
                date,
                department,
                &grant,
                "approved",
                None,
            );
            out.push(g);
            let p = record(
                DecisionKind::GrantPayment,
                later(30),
                department,
                &grant,
                "paid",
                None,
            );
            out.push(p);
        }
    }
    out
}

async fn setup_registry(store: &Store) -> Result<()> {
    store
        .write(|tx| {
            Box::pin(async move {
                for o in 0..8 {
                    tx.upsert_organisation(
                        MUNICIPALITY,
                        &Organisation {
                            id: format!("org-{o}"),
                            name: format!("Organisation {o}"),
                        },
                    )
                    .await?;
                }
                for a in 0..AREAS {
                    tx.upsert_area(&Area {
                        id: area_id(a),
                        municipality: MUNICIPALITY.into(),
                        name: format!("Area {a}"),
                    })
                    .await?;
                }
                for d in 0..DEPARTMENTS {
                    tx.upsert_department(
                        MUNICIPALITY,
                        &Department {
                            id: department_id(d),
                            organisation: format!("org-{}", d % 8),
                            area: area_id(d % AREAS),
                            name: format!("Department {d}"),
                            dwellings: 400,
                        },
                    )
                    .await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await?;
    Ok(())
}

/// A database with `years` of history, `per_year` decisions each; reused when present.
async fn history(dir: &Path, name: &str, years: &[i32], per_year: usize) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.db"));
    let done = dir.join(format!("{name}.done"));
    if done.exists() && path.exists() {
        return Ok(path);
    }
    for stale in [
        path.clone(),
        dir.join(format!("{name}.db-wal")),
        dir.join(format!("{name}.db-shm")),
    ] {
        let _ = std::fs::remove_file(stale);
    }
    let started = Instant::now();
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    setup_registry(&store).await?;
    let mut written = 0usize;
    for year in years {
        let decisions = year_of_decisions(*year, per_year);
        written += decisions.len();
        for chunk in decisions.chunks(5000) {
            let chunk = Arc::new(chunk.to_vec());
            store
                .write(move |tx| {
                    let chunk = chunk.clone();
                    Box::pin(async move {
                        for d in chunk.iter() {
                            tx.append_decision(d).await?;
                        }
                        Ok::<_, StoreError>(())
                    })
                })
                .await?;
        }
    }
    store.close().await;
    std::fs::write(&done, written.to_string())?;
    println!(
        "wrote {name}: {} decisions over {} year(s) in {:.1} s",
        thousands(written as u64),
        years.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(path)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ----- measuring ---------------------------------------------------------------------------

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak-memory mark (Linux: writing 5 to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Timing {
    p50_ms: f64,
    min_ms: f64,
    max_ms: f64,
    peak_mib: f64,
    report: Report,
}

async fn time_report(
    path: &Path,
    book: &Arc<RuleBook>,
    period: &Period,
    paging: bool,
) -> Result<Timing> {
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    let mut times = Vec::new();
    let mut report = None;
    let mut runs = RUNS;
    reset_peak();
    let mut run = 0;
    while run <= runs {
        let started = Instant::now();
        let r = if paging {
            let (book, period) = (book.clone(), period.clone());
            store
                .read(move |tx| {
                    let (book, period) = (book.clone(), period.clone());
                    Box::pin(async move {
                        // Nothing replaced: the trait's paging defaults, without the
                        // store's indexed counts and pending lettings.
                        let nothing = HashMap::new();
                        let mut tx = Overlay::new(tx, &nothing);
                        report::compute_in(&mut tx, &book, MUNICIPALITY, &period).await
                    })
                })
                .await?
        } else {
            report::compute(&store, book, MUNICIPALITY, period.clone()).await?
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if run > 0 {
            times.push(ms); // the first run warms the page cache
        } else if ms > 5000.0 {
            runs = 2; // slow: fewer runs
        }
        report = Some(r);
        run += 1;
    }
    let peak_mib = peak_rss_kib().map_or(0.0, |k| k as f64 / 1024.0);
    store.close().await;
    times.sort_by(f64::total_cmp);
    let report = report.ok_or("no run")?;
    Ok(Timing {
        p50_ms: times.get(times.len() / 2).copied().unwrap_or(0.0),
        min_ms: times.first().copied().unwrap_or(0.0),
        max_ms: times.last().copied().unwrap_or(0.0),
        peak_mib,
        report,
    })
}

async fn run() -> Result<()> {
    let total: usize = std::env::var("LETTING_BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let per_year = total / 10;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("report-bench");
    std::fs::create_dir_all(&dir)?;
    let large = history(
        &dir,
        &format!("ten-years-{total}"),
        &(2007..=2016).collect::<Vec<_>>(),
        per_year,
    )
    .await?;
    let small = history(&dir, &format!("one-year-{per_year}"), &[2016], per_year).await?;

    println!(
        "\nreport::compute for 2016Q2 of municipality {MUNICIPALITY}, SQLite, p50 of {RUNS} runs after a warm-up\n"
    );
    println!(
        "{:<22} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "history", "decisions", "in 2016Q2", "store", "p50 ms", "min ms", "max ms", "peak RSS"
    );
    for (label, path) in [
        ("one year (2016)", &small),
        ("ten years (2007-2016)", &large),
    ] {
        let decisions: u64 = std::fs::read_to_string(path.with_extension("done"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        // LETTING_BENCH_STORE_ONLY=1 leaves out the paging baseline (minutes at 10^6).
        let store_only = std::env::var_os("LETTING_BENCH_STORE_ONLY").is_some();
        let modes: &[bool] = if store_only { &[false] } else { &[false, true] };
        for &paging in modes {
            // Each measurement in a process of its own, so that its peak memory is its own.
            let output = std::process::Command::new(std::env::current_exe()?)
                .arg("--bench")
                .arg("--measure")
                .arg(path)
                .arg(if paging { "paging" } else { "store" })
                .output()?;
            if !output.status.success() {
                return Err(format!(
                    "the measurement failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
                .into());
            }
            let text = String::from_utf8_lossy(&output.stdout);
            let fields: Vec<&str> = text
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .ok_or("no result")?
                .split(' ')
                .collect();
            let get = |i: usize| fields.get(i).copied().unwrap_or("-");
            println!(
                "{:<22} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} MiB   ind. 5 = {}, ind. 6 = {}, pending = {}",
                label,
                thousands(decisions),
                get(0),
                if paging { "paging" } else { "store" },
                get(1),
                get(2),
                get(3),
                get(4),
                get(5),
                get(6),
                get(7)
            );
        }
    }
    println!(
        "\n\"store\": the store as it is (SQLite answers the report's counts and pending lettings from indexes);\n\
         \"paging\": those two replaced by the trait's defaults, which page through the log."
    );
    Ok(())
}

/// One measurement (in a child process): prints `RESULT events p50 min max peak-MiB
/// indicator-5 indicator-6 pending`.
async fn measure(path: &Path, paging: bool) -> Result<()> {
    let book =
        Arc::new(rules::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules"))?.book);
    let period = Period::parse_quarter("2016Q2")?;
    let t = time_report(path, &book, &period, paging).await?;
    let value = |n: usize| {
        t.report
            .indicators
            .get(n)
            .and_then(|i| i.value)
            .map_or("-".to_owned(), |v| v.to_string())
    };
    println!(
        "RESULT {} {:.0} {:.0} {:.0} {:.0} {} {} {}",
        thousands(t.report.decisions_in_period),
        t.p50_ms,
        t.min_ms,
        t.max_ms,
        t.peak_mib,
        value(4),
        value(5),
        t.report.combined_letting.pending_at_end.count
    );
    Ok(())
}

fn main() -> std::result::Result<(), Box<dyn Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs benches with --bench absent: do nothing then.
    if !args.iter().any(|a| a == "--bench") {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        let path = PathBuf::from(args.get(i + 1).ok_or("--measure PATH MODE")?);
        let paging = args.get(i + 2).is_some_and(|m| m == "paging");
        return runtime.block_on(measure(&path, paging));
    }
    runtime.block_on(run())
}
