//! The declarative rule tests in rules/tests/, run as part of `cargo test`: every case
//! passes, every rule of every set is asserted by a case, every date edge has its pair.
#![allow(clippy::expect_used)]

use std::path::PathBuf;

use letting_rules::{cases, rules};

#[test]
fn every_case_in_rules_tests_passes_and_covers_every_rule() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let book = rules::load_dir(&dir).expect("rules load").book;
    let tables = cases::read_tables(&dir.join("tests")).expect("case tables");
    let run = cases::run_tables(&book, &tables);
    let failures: Vec<String> = run
        .cases
        .iter()
        .filter(|c| !c.failures.is_empty())
        .map(|c| format!("{} :: {}: {}", c.file, c.name, c.failures.join("; ")))
        .chain(run.coverage.iter().cloned())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(run.passed() > 100, "only {} cases ran", run.passed());
}
