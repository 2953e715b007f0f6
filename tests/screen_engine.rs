//! The screener against the full letting evaluation: over every letting case of
//! rules/tests, and every household of a table judged for every vacancy of that table (its
//! area, date and municipality) on a flexible and an internal-list vacancy, the screener's
//! answer (or error) is the one `evaluate_letting` gives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use letting_rules::cases::{self, CaseKind};
use letting_rules::engine::LettingCase;
use letting_rules::engine::screen::{Screener, screen_letting};
use letting_rules::model::Channel;
use letting_rules::rules;

#[test]
fn the_screener_agrees_with_evaluate_letting_on_every_rule_table() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let base = rules::load_dir(&dir).expect("rules load").book;
    let tables = cases::read_tables(&dir.join("tests")).expect("case tables");
    let (mut compared, mut rejected, mut priority, mut errors) = (0, 0, 0, 0);
    for (file, table) in &tables {
        let book = if table.fixtures.is_empty() {
            base.clone()
        } else {
            rules::extend(&base, &table.fixtures).expect("fixtures")
        };
        let lettings: Vec<LettingCase> = table
            .cases
            .iter()
            .filter(|c| c.kind == CaseKind::Letting)
            .filter_map(|c| cases::letting_case(c).ok())
            .collect();
        for vacancy in &lettings {
            for channel in [Some(Channel::Flexible), Some(Channel::InternalList)] {
                let screener = Screener::new(
                    &book,
                    &vacancy.municipality,
                    vacancy.area.clone(),
                    vacancy.date,
                    channel,
                );
                for applicant in &lettings {
                    let case = LettingCase {
                        household: applicant.household.clone(),
                        channel,
                        ..vacancy.clone()
                    };
                    let want = screen_letting(&book, &case);
                    let at = format!(
                        "{file}: {} for the vacancy of {} ({channel:?}, {})",
                        applicant.household.applicant_ref,
                        vacancy.household.applicant_ref,
                        vacancy.date
                    );
                    match (&screener, &want) {
                        (Ok(s), _) => {
                            let got = s.screen(&case.household);
                            match (&got, &want) {
                                (Ok(g), Ok(w)) => assert_eq!(g, w, "{at}"),
                                (Err(_), Err(_)) => errors += 1,
                                _ => panic!("{at}: screened {got:?}, evaluated {want:?}"),
                            }
                        }
                        (Err(_), Err(_)) => errors += 1,
                        (Err(e), Ok(w)) => {
                            panic!("{at}: the screener failed ({e}), evaluated {w:?}")
                        }
                    }
                    if let Ok(w) = &want {
                        compared += 1;
                        rejected += usize::from(w.rejected());
                        priority += usize::from(!w.priority_rules.is_empty());
                    }
                }
            }
        }
    }
    // The tables hold both kinds, and most cases can be judged.
    assert!(compared > 1_000, "{compared} compared");
    assert!(
        rejected > 100 && priority > 100,
        "{rejected} rejected, {priority} with priority"
    );
    assert!(errors < compared, "{errors} errors, {compared} compared");
}
