//! Every rule's message as a citizen reads it, in Danish and English, rendered with the
//! same sample values and kept as a snapshot: a change of wording, a lost placeholder or a
//! doubled full stop shows in review.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use letting_rules::engine::{Lang, SlotValues};
use letting_rules::model::{Money, Slot};
use letting_rules::rules;
use rust_decimal::Decimal;

/// One value for every placeholder, in both languages where they differ.
fn sample() -> SlotValues {
    let mut s = SlotValues::default();
    for slot in Slot::ALL {
        match slot {
            Slot::Area => s.same(*slot, "Mjølnerparken"),
            Slot::AreaClass => s.set(*slot, "udsat boligområde", "exposed area"),
            Slot::Share => s.percent(*slot, Decimal::new(412, 3)),
            Slot::Date => s.same(*slot, "2019-03-01"),
            Slot::Department => s.same(*slot, "Lundtoftegade"),
            Slot::Designation => s.set(*slot, "ghettolisten 2018", "the 2018 ghetto list"),
            Slot::Criteria => s.same(*slot, "2"),
            Slot::Residents => s.same(*slot, "1850"),
            Slot::Person => s.set(*slot, "ansøgeren", "the applicant"),
            Slot::Benefit => s.set(*slot, "kontanthjælp", "cash benefit"),
            Slot::Months => s.same(*slot, "7"),
            Slot::RequiredMonths => s.same(*slot, "6"),
            Slot::Group => s.set(*slot, "beskæftigede", "in work"),
            Slot::Channel => s.set(*slot, "fleksibel udlejning", "flexible letting"),
            Slot::QuotaShare => s.percent(*slot, Decimal::new(25, 2)),
            Slot::Vacancies => s.same(*slot, "36"),
            Slot::ChannelCount => s.same(*slot, "4"),
            Slot::Conditions => s.set(*slot, "misbrug", "substance abuse"),
            Slot::Amount => s.money(*slot, Money::from_ore(1_500_000)),
            Slot::Remaining => s.money(*slot, Money::from_ore(98_500_000)),
            Slot::Pool => s.money(*slot, Money::from_ore(100_000_000)),
            Slot::Maximum => s.money(*slot, Money::from_ore(2_000_000)),
            Slot::Purpose => s.set(
                *slot,
                "flytning ud af et udsat boligområde",
                "moving out of an exposed area",
            ),
            Slot::Considerations => s.same(*slot, "Ansøgeren er i arbejde."),
            Slot::ListsInSuccession => s.same(
                *slot,
                "parallel-society-dk-2021, ghetto-dk-2020, ghetto-dk-2019, ghetto-dk-2018, ghetto-dk-2017",
            ),
        }
    }
    s
}

#[test]
fn every_rule_message_in_both_languages() {
    let rules_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let book = rules::load_dir(&rules_dir).expect("the rules load").book;
    let slots = sample();
    // By layer, then rule id: the order of the files does not move the snapshot.
    let mut messages: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for set in &book.sets {
        for meta in set.rule_metas() {
            let da = meta.message.da.render(|s| slots.get(s, Lang::Da));
            let en = meta.message.en.render(|s| slots.get(s, Lang::En));
            for (lang, text) in [("da", &da), ("en", &en)] {
                assert!(!text.trim().is_empty(), "{} has no {lang} message", meta.id);
                assert!(
                    !text.contains(".."),
                    "{} ({lang}): a doubled full stop: {text}",
                    meta.id
                );
                assert!(
                    !text.contains('{'),
                    "{} ({lang}): a placeholder left: {text}",
                    meta.id
                );
            }
            messages.insert((set.id.to_string(), meta.id.to_string()), (da, en));
        }
    }
    let mut out = String::new();
    for ((layer, id), (da, en)) in &messages {
        writeln!(out, "{layer} / {id}\n  da: {da}\n  en: {en}\n").expect("write");
    }
    insta::assert_snapshot!(out);
}
