//! Properties of the shipped rule book as a whole, over every composition of its layers:
//! each kind of decision a citizen can complain about carries complaint guidance in Danish
//! and English, and every reference list states how complete it is.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use letting_rules::model::{ComplaintKind, Completeness, LayerKind};
use letting_rules::rules;

fn book() -> letting_rules::model::RuleBook {
    rules::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .expect("rules")
        .book
}

#[test]
fn every_composition_gives_complaint_guidance_for_every_kind_of_decision() {
    let book = book();
    assert!(
        book.composed.len() >= 4,
        "{} compositions",
        book.composed.len()
    );
    for set in &book.composed {
        assert_eq!(set.layers[0].kind, LayerKind::National, "{}", set.id);
        for kind in ComplaintKind::ALL {
            let c = set
                .complaint(kind)
                .unwrap_or_else(|| panic!("`{}` gives no guidance for {}", set.id, kind.as_str()));
            for (what, text) in [
                ("body.da", &c.body.da),
                ("body.en", &c.body.en),
                ("how.da", &c.how.da),
                ("how.en", &c.how.en),
                ("deadline.da", &c.deadline.da),
                ("deadline.en", &c.deadline.en),
            ] {
                assert!(
                    !text.trim().is_empty(),
                    "`{}` {}: empty {what}",
                    set.id,
                    c.id
                );
            }
        }
    }
}

#[test]
fn every_reference_list_states_its_completeness_and_explains_any_gap() {
    let book = book();
    let provenances = book
        .reference
        .designations
        .iter()
        .map(|d| (&d.id, &d.provenance))
        .chain(
            book.reference
                .flexible_shares
                .iter()
                .map(|s| (&s.id, &s.provenance)),
        );
    let mut seen = 0;
    for (id, p) in provenances {
        seen += 1;
        assert!(!p.publisher.is_empty(), "{id}: no publisher");
        let partial = p.completeness != Completeness::Complete
            || p.dwellings_completeness
                .is_some_and(|c| c != Completeness::Complete);
        assert!(
            !partial || p.note.is_some(),
            "{id}: incomplete without a note"
        );
    }
    assert!(seen >= 4, "{seen} lists");
}
