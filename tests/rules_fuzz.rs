//! A fuzz target over mutated rule files: the real files of `rules/`, with numbers, shares,
//! amounts, dates and strings replaced by edge values and lines dropped or doubled. Loading
//! them (what `rules check` and a SIGHUP reload do) must never panic, and when a mutated
//! book loads, every engine entry point must decide or refuse on edge cases without
//! panicking, as must `rules test`.
//!
//! The default case count keeps a debug run at 10–20 s on two cores. For a longer hunt:
//!
//! ```sh
//! PROPTEST_CASES=5000 cargo test --release --test rules_fuzz
//! ```
//!
//! A failure prints the file and the mutations that broke it (proptest shrinks them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::{Days, Months, NaiveDate};
use proptest::prelude::*;
use proptest::sample::Index;
use rust_decimal::Decimal;

use letting_rules::cases;
use letting_rules::engine::{
    self, GrantCase, LettingCase, MunicipalActCase, QuotaCounters, QuotaState, ReferralCase,
    VacancyCase,
};
use letting_rules::model::{
    ActKind, AreaFacts, BenefitSpell, Channel, ComplaintKind, Evidence, Household, Money, Person,
    PersonRole, RuleBook, RuleSet,
};
use letting_rules::rules::{self, SourceFile};

/// Cases per run unless PROPTEST_CASES says otherwise.
const DEFAULT_CASES: u32 = 256;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The shipped rule files, read once.
static FILES: LazyLock<Vec<SourceFile>> =
    LazyLock::new(|| rules::read_dir(&rules_dir()).expect("read rules/"));

/// The declarative cases of `rules/tests`, read once.
static TABLES: LazyLock<Vec<(String, cases::CaseTable)>> =
    LazyLock::new(|| cases::read_tables(&rules_dir().join("tests")).expect("read rules/tests"));

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "255",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "79228162514264337593543950335",
    "1e308",
    "0.5",
    "nan",
    "inf",
    "-0",
];

const QUOTED: &[&str] = &[
    "79228162514264337593543950335/79228162514264337593543950335",
    "79228162514264337593543950335",
    "79228162514264337593543950335.00",
    "-79228162514264337593543950335",
    "92233720368547758.07",
    "92233720368547758.08",
    "9223372036854775807.00",
    "0.0000000000000000000000000001",
    "0",
    "1",
    "0/1",
    "1/1",
    "1/0",
    "0/0",
    "-1/9",
    "999999/1000000",
    "1000000/1000000",
    "1000001/1000001",
    "0.000001",
    "1e3",
    "-0.00",
    "",
    " ",
    "{",
    "}",
    "{{",
    "{share}",
    "{area} {share} {amount}",
    "ø",
    "Ærø 🏠 ",
    "DK",
    "0101",
    "exposed",
    "cash_benefit",
    "2007-01-01",
    "4294967295 years",
    "357913942 years",
    "4294967295 months",
    "4294967295 days",
    "0 days",
    ">=",
    "!=",
    "in",
    "not_in",
];

const DATES: &[&str] = &[
    "0001-01-01",
    "9999-12-31",
    "1970-01-01",
    "2007-02-29",
    "2008-02-29",
    "2007-13-01",
    "262143-12-31",
    "1900-01-01",
    "2100-12-31",
    "2005-06-01",
    "2021-11-30",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// The first bare number on the line.
    Number(Index, &'static str),
    /// The first quoted string on the line.
    Quoted(Index, &'static str),
    /// The first YYYY-MM-DD on the line.
    Date(Index, &'static str),
    Drop(Index),
    Duplicate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), prop::sample::select(NUMBERS)).prop_map(|(i, v)| Mutation::Number(i, v)),
        (any::<Index>(), prop::sample::select(QUOTED)).prop_map(|(i, v)| Mutation::Quoted(i, v)),
        (any::<Index>(), prop::sample::select(DATES)).prop_map(|(i, v)| Mutation::Date(i, v)),
        any::<Index>().prop_map(Mutation::Drop),
        any::<Index>().prop_map(Mutation::Duplicate),
    ]
}

/// The byte range of the first run of ASCII digits (with a leading minus) on `line`
/// outside a quoted string.
fn number_span(line: &str) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => quoted = !quoted,
            b'#' if !quoted => return None,
            b if !quoted && (b.is_ascii_digit() || b == b'-') => {
                let start = i;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                if bytes[start..i].iter().any(u8::is_ascii_digit) {
                    return Some((start, i));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The byte range inside the first pair of double quotes on `line`.
fn quoted_span(line: &str) -> Option<(usize, usize)> {
    let start = line.find('"')? + 1;
    let len = line[start..].find('"')?;
    Some((start, start + len))
}

/// The byte range of the first YYYY-MM-DD on `line`.
fn date_span(line: &str) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = &b[i..i + 10];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && w[4] == b'-' && digits(5..7) && w[7] == b'-' && digits(8..10))
            .then_some((i, i + 10))
    })
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let replace = |lines: &mut Vec<String>, i: &Index, span: fn(&str) -> _, v: &str| {
            let count = lines.len();
            let n = i.index(count);
            // The first line at or after the chosen one that has such a token.
            for k in 0..count {
                let line = &mut lines[(n + k) % count];
                let found: Option<(usize, usize)> = span(line);
                if let Some((a, b)) = found {
                    line.replace_range(a..b, v);
                    return;
                }
            }
        };
        match m {
            Mutation::Number(i, v) => replace(&mut lines, i, number_span, v),
            Mutation::Quoted(i, v) => replace(&mut lines, i, quoted_span, v),
            Mutation::Date(i, v) => replace(&mut lines, i, date_span, v),
            Mutation::Drop(i) => {
                lines.remove(i.index(lines.len()));
            }
            Mutation::Duplicate(i) => {
                let n = i.index(lines.len());
                let line = lines[n].clone();
                lines.insert(n, line);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// The dates a composed set is tried on: its first and last day, and a day in between.
fn dates_of(set: &RuleSet) -> Vec<NaiveDate> {
    let mut dates = vec![set.effective_from];
    if let Some(next) = set.effective_from.checked_add_months(Months::new(7)) {
        dates.push(next);
    }
    if let Some(to) = set.effective_to {
        dates.push(to);
    }
    dates.retain(|d| set.in_force(*d));
    dates
}

/// Area facts at the edges: nothing known; all zero; every count at its largest and
/// every share at 1.
fn areas(book: &RuleBook, municipality: &str, on: NaiveDate) -> Vec<AreaFacts> {
    let designated = book
        .reference
        .designations_on(municipality, on)
        .find_map(|d| d.areas.keys().next().cloned())
        .map_or_else(|| "fuzz-area".to_owned(), |a| a.to_string());
    let one = Some(Decimal::ONE);
    vec![
        AreaFacts {
            id: designated.clone(),
            ..AreaFacts::default()
        },
        AreaFacts {
            id: "fuzz-zero".into(),
            name: None,
            working_age_residents: Some(0),
            without_labour_market_attachment: Some(0),
            share_without_attachment: None,
            residents: Some(0),
            share_without_work_or_education: Some(Decimal::ZERO),
            conviction_rate_ratio: Some(Decimal::ZERO),
            share_basic_schooling_only: Some(Decimal::ZERO),
            income_ratio_to_region: Some(Decimal::ZERO),
            share_non_western: Some(Decimal::ZERO),
            share_convicted: Some(Decimal::ZERO),
        },
        AreaFacts {
            id: designated,
            name: None,
            working_age_residents: Some(u64::MAX),
            without_labour_market_attachment: Some(u64::MAX),
            share_without_attachment: None,
            residents: Some(u64::MAX),
            share_without_work_or_education: one,
            conviction_rate_ratio: Some(Decimal::MAX),
            share_basic_schooling_only: one,
            income_ratio_to_region: Some(Decimal::ZERO),
            share_non_western: one,
            share_convicted: one,
        },
    ]
}

fn household(set: &RuleSet, on: NaiveDate) -> Household {
    let since = on.checked_sub_days(Days::new(400)).unwrap_or(on);
    let benefit = set
        .vocabulary
        .benefits
        .first()
        .map_or_else(|| "cash_benefit".to_owned(), |t| t.id.to_string());
    let person = |role| Person {
        role,
        cohabiting_since: Some(since),
        benefits: vec![BenefitSpell {
            kind: benefit.clone(),
            from: since,
            to: None,
        }],
        weekly_work_hours: Some(Decimal::ZERO),
        student: false,
        age: Some(u32::MAX),
        gives_up_larger_dwelling_in_municipality: true,
        separated_on: Some(since),
        shared_address_from: Some(since),
        evidence: Evidence::Documented,
    };
    Household {
        applicant_ref: "fuzz-hh".into(),
        lives_in_department: false,
        persons: vec![
            person(PersonRole::Applicant),
            person(PersonRole::Spouse),
            person(PersonRole::Cohabitant),
        ],
        referral_conditions: set
            .vocabulary
            .referral_conditions
            .iter()
            .take(1)
            .map(|t| t.id.to_string())
            .collect(),
        resource_weak: Some(true),
        current_area_class: set.vocabulary.classes.first().map(|t| t.id.to_string()),
        waiting_list_registered_on: Some(date(1970, 1, 1)),
        municipal_dispensation: false,
        moves_within_municipality: Some(true),
    }
}

fn counters(n: u64) -> QuotaState {
    let c = QuotaCounters {
        vacancies: n,
        by_channel: [n; 4],
    };
    QuotaState {
        department: c.clone(),
        municipality: c,
    }
}

/// Every engine entry point on edge cases of every composed set; results are ignored,
/// only a panic fails.
fn run_engine(book: &RuleBook) {
    for set in &book.composed {
        let municipality = if &*set.jurisdiction == "DK" {
            "0999".to_owned()
        } else {
            set.jurisdiction.to_string()
        };
        for on in dates_of(set) {
            let hh = household(set, on);
            let department = book
                .reference
                .flexible_shares
                .iter()
                .find_map(|s| s.departments.keys().next().map(|d| d.to_string()))
                .unwrap_or_else(|| "fuzz-dept".into());
            for area in areas(book, &municipality, on) {
                let _ = engine::classify(book, &municipality, &area, on);
                for n in [0, 1, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
                    let _ = engine::assign_channel(
                        book,
                        &VacancyCase {
                            date: on,
                            municipality: municipality.clone(),
                            department: department.clone(),
                            department_name: None,
                            area: area.clone(),
                        },
                        &counters(n),
                    );
                }
                for channel in [Some(Channel::Flexible), None] {
                    let _ = engine::evaluate_letting(
                        book,
                        &LettingCase {
                            date: on,
                            municipality: municipality.clone(),
                            department: department.clone(),
                            department_name: None,
                            area: area.clone(),
                            channel,
                            household: hh.clone(),
                        },
                    );
                }
                let _ = engine::evaluate_referral(
                    book,
                    &ReferralCase {
                        date: on,
                        municipality: municipality.clone(),
                        department: department.clone(),
                        department_name: None,
                        area: area.clone(),
                        household: hh.clone(),
                    },
                );
                for act in [ActKind::Approval, ActKind::Rejection] {
                    let _ = engine::municipal_act(
                        book,
                        &MunicipalActCase {
                            date: on,
                            municipality: municipality.clone(),
                            department: department.clone(),
                            department_name: None,
                            area: area.clone(),
                            act,
                            considerations: "{share} }{".into(),
                        },
                    );
                }
            }
            let purposes: Vec<String> = set
                .vocabulary
                .grant_purposes
                .iter()
                .map(|t| t.id.to_string())
                .chain(["unknown".to_owned()])
                .collect();
            for purpose in purposes {
                for amount in [None, Some(Money::ZERO), Some(Money::from_ore(i64::MAX))] {
                    for committed in [Money::ZERO, Money::from_ore(i64::MAX)] {
                        let _ = engine::evaluate_grant(
                            book,
                            &GrantCase {
                                date: on,
                                municipality: municipality.clone(),
                                purpose: purpose.clone(),
                                amount,
                                household: hh.clone(),
                                pool_committed: committed,
                            },
                        );
                    }
                }
            }
            let _ = engine::complaint_guidance(
                book,
                &municipality,
                on,
                ComplaintKind::LettingRejection,
            );
        }
    }
    let _ = rules::timeline::as_of(book, date(2026, 1, 1));
    let _ = cases::run_tables(book, &TABLES);
}

fn cases_from_env() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases_from_env(),
        // Shrinking reruns the whole book; a few hundred steps find the mutation that broke it.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_rule_files_never_panic(
        file in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut files = FILES.clone();
        let k = file.index(files.len());
        files[k].text = mutate(&files[k].text, &mutations);
        if let Ok(loaded) = rules::load_sources(&files) {
            run_engine(&loaded.book);
        }
    }
}

/// The shipped rules themselves go through the same entry points.
#[test]
fn the_shipped_rules_pass_the_engine_edges() {
    let loaded = rules::load_sources(&FILES).expect("the shipped rules load");
    run_engine(&loaded.book);
}

/// The defect of issue 9: a share of two 29-digit parts is refused by the loader, and so
/// is an amount too large for øre (it panicked `rules check` before).
#[test]
fn huge_shares_and_amounts_are_refused_not_panicked_on() {
    let find = |name: &str| {
        FILES
            .iter()
            .position(|f| f.name.ends_with(name))
            .expect("file")
    };
    let kk = find("kk-2007.toml");
    for (needle, huge) in [
        ("pool_per_year = \"", "79228162514264337593543950335"),
        ("standard_amount = \"", "79228162514264337593543950335.00"),
        ("pool_per_year = \"", "92233720368547758.08"),
    ] {
        let mut files = FILES.clone();
        let text = &files[kk].text;
        let at = text.find(needle).expect("the key") + needle.len();
        let end = at + text[at..].find('"').expect("closing quote");
        files[kk].text.replace_range(at..end, huge);
        let result = rules::load_sources(&files);
        assert!(result.is_err(), "{needle}{huge} was accepted");
    }
}
