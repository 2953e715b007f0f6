//! Small histories for the report tests, made through the service (`Ledger`) exactly as
//! the gRPC handlers make them, over a fresh SQLite file and the repository's rules.
#![allow(dead_code)]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use letting_rules::model::{AreaFacts, Channel, Household, RuleBook};
use letting_rules::report::{self, Period, Report};
use letting_rules::rules;
use letting_rules::service::{
    AreaStatisticsInput, DecideGrant, GrantAct, Ledger, LoadStatistics, MunicipalAct, Principal,
    ProposeLetting, RecordMoveIn, RecordReferral, RegisterVacancy,
};
use letting_rules::store::{
    Area, DecisionFilter, DecisionKind, DecisionRecord, Department, Organisation, Store,
};

pub const MUNICIPALITY: &str = "0101";

pub fn d(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

pub fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

pub fn book() -> RuleBook {
    rules::load_dir(&rules_dir()).expect("the rules load").book
}

pub fn municipality() -> Principal {
    Principal::Municipality {
        municipality: MUNICIPALITY.into(),
    }
}

pub fn organisation(id: &str) -> Principal {
    Principal::Organisation {
        organisation: id.into(),
        municipality: MUNICIPALITY.into(),
    }
}

/// A household of one applicant, described in JSON (the fields of `Person`).
pub fn household(reference: &str, person: serde_json::Value) -> Household {
    let mut person = person;
    person["role"] = "applicant".into();
    serde_json::from_value(serde_json::json!({
        "applicant_ref": reference,
        "persons": [person],
    }))
    .expect("a household")
}

/// In work 37 hours a week, documented: flexible-letting priority in every rule set.
pub fn worker(reference: &str) -> Household {
    household(
        reference,
        serde_json::json!({ "weekly_work_hours": "37", "evidence": "documented" }),
    )
}

/// No priority group and no benefits.
pub fn ordinary(reference: &str) -> Household {
    household(reference, serde_json::json!({}))
}

/// On cash benefit since `from`.
pub fn on_cash_benefit(reference: &str, from: &str) -> Household {
    household(
        reference,
        serde_json::json!({ "benefits": [{ "kind": "cash_benefit", "from": from }] }),
    )
}

/// One area's statistics: (area, working-age residents, of them without attachment,
/// residents, transfer-income share, self-supporting weeks).
pub type Stats<'a> = (&'a str, u64, u64, u64, &'a str, &'a str);

/// A dwelling let from start to finish.
#[derive(Debug, Clone)]
pub struct Let {
    pub vacancy_id: String,
    pub channel: Channel,
    pub letting_id: String,
    pub move_in_decision: Option<String>,
    pub flexible: bool,
}

pub struct City {
    pub ledger: Ledger,
    pub store: Arc<Store>,
    pub book: RuleBook,
    keys: AtomicU64,
    _dir: tempfile::TempDir,
}

impl City {
    pub async fn new() -> City {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("letting.db").display());
        let store = Arc::new(Store::open(&url).await.expect("open store"));
        let book = book();
        City {
            ledger: Ledger::new(
                store.clone(),
                book.clone(),
                letting_rules::service::Clock::system(),
            ),
            store,
            book,
            keys: AtomicU64::new(0),
            _dir: dir,
        }
    }

    fn key(&self) -> String {
        format!("k-{}", self.keys.fetch_add(1, Ordering::Relaxed))
    }

    /// Organisations, areas and departments (id, organisation, area, dwellings).
    pub async fn registry(
        &self,
        organisations: &[&str],
        areas: &[&str],
        departments: &[(&str, &str, &str, u32)],
    ) {
        let m = municipality();
        for id in organisations {
            self.ledger
                .upsert_organisation(
                    &m,
                    &self.key(),
                    Organisation {
                        id: (*id).into(),
                        name: id.to_uppercase(),
                    },
                )
                .await
                .expect("organisation");
        }
        for id in areas {
            self.ledger
                .upsert_area(
                    &m,
                    &self.key(),
                    Area {
                        id: (*id).into(),
                        municipality: MUNICIPALITY.into(),
                        name: format!("Area {id}"),
                    },
                )
                .await
                .expect("area");
        }
        for (id, org, area, dwellings) in departments {
            self.ledger
                .upsert_department(
                    &m,
                    &self.key(),
                    Department {
                        id: (*id).into(),
                        organisation: (*org).into(),
                        area: (*area).into(),
                        name: format!("Department {id}"),
                        dwellings: *dwellings,
                    },
                )
                .await
                .expect("department");
        }
    }

    /// Loads statistics for `year`, dated `date`; returns the decision id.
    pub async fn statistics(&self, year: i32, date: &str, areas: &[Stats<'_>]) -> String {
        self.statistics_with(
            year,
            date,
            areas
                .iter()
                .map(
                    |(area, working, without, residents, transfer, weeks)| AreaStatisticsInput {
                        area: (*area).into(),
                        facts: AreaFacts {
                            id: (*area).into(),
                            working_age_residents: Some(*working),
                            without_labour_market_attachment: Some(*without),
                            residents: Some(*residents),
                            ..AreaFacts::default()
                        },
                        transfer_income_share: Some(dec(transfer)),
                        self_supporting_weeks: Some(dec(weeks)),
                    },
                )
                .collect(),
        )
        .await
    }

    pub async fn statistics_with(
        &self,
        year: i32,
        date: &str,
        areas: Vec<AreaStatisticsInput>,
    ) -> String {
        self.ledger
            .load_statistics(
                &municipality(),
                &self.key(),
                LoadStatistics {
                    year,
                    date: d(date),
                    areas,
                },
            )
            .await
            .expect("statistics")
            .decision_id
    }

    pub async fn vacancy(&self, org: &str, department: &str, date: &str) -> (String, Channel) {
        let done = self
            .ledger
            .register_vacancy(
                &organisation(org),
                &self.key(),
                RegisterVacancy {
                    department: department.into(),
                    vacancy_ref: self.key(),
                    date: d(date),
                },
            )
            .await
            .expect("vacancy");
        (done.vacancy_id, done.decision.channel)
    }

    /// Registers a vacancy and lets it on `date` to `household`, approving it if the
    /// municipality must; the tenant moves in the same day.
    pub async fn let_to(
        &self,
        org: &str,
        department: &str,
        date: &str,
        household: Household,
    ) -> Let {
        let (vacancy_id, channel) = self.vacancy(org, department, date).await;
        // A vacancy for municipal referral is let to the household the municipality refers.
        let referral_id = if channel == Channel::MunicipalReferral {
            let referred = self
                .ledger
                .record_referral(
                    &municipality(),
                    &self.key(),
                    letting_rules::service::RecordReferral {
                        vacancy_id: vacancy_id.clone(),
                        household: household.clone(),
                        date: d(date),
                        caseworker: None,
                    },
                )
                .await
                .expect("referral");
            Some(referred.referral_id)
        } else {
            None
        };
        let proposed = self
            .ledger
            .propose_letting(
                &organisation(org),
                &self.key(),
                ProposeLetting {
                    vacancy_id: vacancy_id.clone(),
                    household,
                    date: d(date),
                    referral_id,
                },
            )
            .await
            .expect("letting");
        let letting_id = proposed.letting_id;
        use letting_rules::engine::LettingOutcome;
        if proposed.decision.outcome == LettingOutcome::Rejected {
            return Let {
                vacancy_id,
                channel,
                letting_id,
                move_in_decision: None,
                flexible: false,
            };
        }
        if proposed.decision.outcome == LettingOutcome::PendingMunicipalApproval {
            self.approve(&letting_id, date).await;
        }
        let moved = self
            .ledger
            .record_move_in(
                &organisation(org),
                &self.key(),
                RecordMoveIn {
                    letting_id: letting_id.clone(),
                    date: d(date),
                },
            )
            .await
            .expect("move-in");
        Let {
            vacancy_id,
            channel,
            letting_id,
            move_in_decision: Some(moved.decision_id),
            flexible: channel == Channel::Flexible && !moved.flexible_shortfall,
        }
    }

    /// Lets a dwelling to a worker (priority when the vacancy is flexible).
    pub async fn let_flat(&self, org: &str, department: &str, date: &str) -> Let {
        let reference = format!("hh-{}", self.key());
        self.let_to(org, department, date, worker(&reference)).await
    }

    pub async fn approve(&self, letting_id: &str, date: &str) -> String {
        self.ledger
            .decide_letting(
                &municipality(),
                &self.key(),
                MunicipalAct {
                    letting_id: letting_id.into(),
                    date: d(date),
                    reason: "approved".into(),
                    caseworker: "cw".into(),
                    replacement_owed: false,
                },
                true,
            )
            .await
            .expect("approve")
            .decision_id
    }

    pub async fn referral(&self, vacancy_id: &str, date: &str) -> (String, String) {
        let done = self
            .ledger
            .record_referral(
                &municipality(),
                &self.key(),
                RecordReferral {
                    vacancy_id: vacancy_id.into(),
                    household: ordinary(&format!("ref-{}", self.key())),
                    date: d(date),
                    caseworker: None,
                },
            )
            .await
            .expect("referral");
        (done.decision_id, format!("{:?}", done.decision.outcome))
    }

    /// A standard special-housing grant; returns (grant id, decision id).
    pub async fn grant(&self, date: &str) -> (String, String) {
        let done = self
            .ledger
            .decide_grant(
                &municipality(),
                &self.key(),
                DecideGrant {
                    household: ordinary(&format!("g-{}", self.key())),
                    purpose: "special_housing".into(),
                    amount: None,
                    date: d(date),
                    caseworker: None,
                },
            )
            .await
            .expect("grant");
        (done.grant_id, done.decision_id)
    }

    pub async fn settle(&self, grant_id: &str, date: &str, pay: bool) {
        self.ledger
            .settle_grant(
                &municipality(),
                &self.key(),
                GrantAct {
                    grant_id: grant_id.into(),
                    date: d(date),
                    reason: "settled".into(),
                },
                pay,
            )
            .await
            .expect("settle grant");
    }

    pub async fn report(&self, period: Period) -> Report {
        report::compute(&self.store, &self.book, MUNICIPALITY, period)
            .await
            .expect("report")
    }

    pub async fn quarter(&self, quarter: &str) -> Report {
        self.report(Period::parse_quarter(quarter).expect("quarter"))
            .await
    }

    pub async fn decisions(&self) -> Vec<DecisionRecord> {
        all_decisions(&self.store).await
    }
}

/// Every decision in the store, in (event date, id) order.
pub async fn all_decisions(store: &Store) -> Vec<DecisionRecord> {
    let mut all: Vec<DecisionRecord> = Vec::new();
    loop {
        let after = all.last().map(|d| d.id.clone());
        let page = store
            .read(move |tx| {
                let after = after.clone();
                Box::pin(async move {
                    tx.decisions(&DecisionFilter::default(), after.as_deref(), 1000)
                        .await
                })
            })
            .await
            .expect("read decisions");
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return all;
        }
    }
}

/// The ids of `decisions` of `kind` dated in `period` for which `keep` holds.
pub fn ids_of(
    decisions: &[DecisionRecord],
    period: &Period,
    kind: DecisionKind,
    keep: impl Fn(&DecisionRecord) -> bool,
) -> Vec<String> {
    decisions
        .iter()
        .filter(|d| d.kind == kind && period.contains(d.event_date) && keep(d))
        .map(|d| d.id.clone())
        .collect()
}

/// Everything in a report that the renderers must survive: each format renders, the JSON
/// reads back equal, the CSV has the same number of columns on every row.
pub fn renders_everywhere(report: &Report) {
    use letting_rules::report::render::{Format, render};
    let json = render(report, Format::Json).expect("json");
    let back: Report = serde_json::from_str(&json).expect("the JSON reads back");
    assert_eq!(&back, report, "the JSON round-trips");
    let text = render(report, Format::Text).expect("text");
    assert!(text.contains(&report.period.label));
    let csv = render(report, Format::Csv).expect("csv");
    assert!(
        csv.starts_with('\u{feff}'),
        "the CSV starts with a byte-order mark"
    );
    let mut reader =
        ::csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().expect("a header").clone();
    assert_eq!(header.len(), 11);
    assert_eq!(&header[0], "section");
    let mut rows = 0;
    for record in reader.records() {
        let record = record.expect("a CSV row");
        assert_eq!(record.len(), 11, "every row has every column: {record:?}");
        rows += 1;
    }
    assert!(rows > 10);
    let html = render(report, Format::Html).expect("html");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg class=\"chart\""));
    for forbidden in ["<link ", "src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(
            !html.contains(forbidden),
            "the page loads nothing from outside: {forbidden}"
        );
    }
}
