//! Engine benchmarks: one letting evaluation with its full explanation, one channel
//! assignment, and loading and validating all of rules/.
//!
//!     cargo bench --bench engine

use std::hint::black_box;
use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};

use letting_rules::engine::{
    LettingCase, QuotaState, VacancyCase, assign_channel, evaluate_letting,
};
use letting_rules::model::{
    AreaFacts, BenefitSpell, Channel, Evidence, Household, Person, PersonRole,
};
use letting_rules::rules;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn person(role: PersonRole) -> Person {
    Person {
        role,
        cohabiting_since: None,
        benefits: Vec::new(),
        weekly_work_hours: None,
        student: false,
        age: None,
        gives_up_larger_dwelling_in_municipality: false,
        separated_on: None,
        shared_address_from: None,
        evidence: Evidence::SelfDeclared,
    }
}

fn benches(c: &mut Criterion) {
    let Ok(loaded) = rules::load_dir(&rules_dir()) else {
        eprintln!("the rules do not load: run `letting rules check rules`");
        return;
    };
    let book = loaded.book;

    // Tingbjerg (exposed), an applicant couple: the applicant on cash benefit for 9 months,
    // the cohabitant of 3 years in work; the vacancy is flexible. Every letting rule runs,
    // the benefit test counts both adults, priority groups are judged, messages rendered.
    let mut applicant = person(PersonRole::Applicant);
    applicant.benefits.push(BenefitSpell {
        kind: "cash_benefit".into(),
        from: date(2006, 6, 1),
        to: None,
    });
    let mut partner = person(PersonRole::Cohabitant);
    partner.cohabiting_since = Some(date(2004, 1, 1));
    partner.weekly_work_hours = Some("37".parse().unwrap_or_default());
    let letting = LettingCase {
        date: date(2007, 3, 5),
        municipality: "0101".into(),
        department: "fsb-tingbjerg-1".into(),
        department_name: None,
        area: AreaFacts {
            id: "tingbjerg".into(),
            working_age_residents: Some(4000),
            without_labour_market_attachment: Some(2100),
            ..AreaFacts::default()
        },
        channel: Some(Channel::Flexible),
        household: Household {
            applicant_ref: "hh-1".into(),
            lives_in_department: false,
            persons: vec![applicant, partner],
            referral_conditions: Vec::new(),
            resource_weak: None,
            current_area_class: None,
            waiting_list_registered_on: None,
            municipal_dispensation: false,
            moves_within_municipality: None,
        },
    };
    c.bench_function("evaluate_letting with explanation", |b| {
        b.iter(|| evaluate_letting(black_box(&book), black_box(&letting)))
    });

    // A high-risk department mid-year: referral barred, its agreed share checked (the 44 %
    // and 1-in-9 goals are monitored in the report, not assigned).
    let vacancy = VacancyCase {
        date: date(2007, 6, 1),
        municipality: "0101".into(),
        department: "akb-bispeparken".into(),
        department_name: None,
        area: AreaFacts {
            id: "bispeparken".into(),
            working_age_residents: Some(1000),
            without_labour_market_attachment: Some(412),
            ..AreaFacts::default()
        },
    };
    let mut counters = QuotaState::default();
    counters.department.vacancies = 17;
    counters.department.by_channel = [0, 8, 9, 0];
    counters.municipality.vacancies = 2400;
    counters.municipality.by_channel = [500, 300, 1600, 0];
    c.bench_function("assign_channel", |b| {
        b.iter(|| assign_channel(black_box(&book), black_box(&vacancy), black_box(&counters)))
    });

    c.bench_function("load and validate rules/", |b| {
        b.iter(|| rules::load_dir(black_box(&rules_dir())).map(|l| l.book.sets.len()))
    });
}

criterion_group!(engine, benches);
criterion_main!(engine);
