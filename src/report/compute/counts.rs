//! Counting: decision ids into counts, amounts, counts by key and shares.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::events::Event;
use crate::report::model::{AmountCount, Count, NamedCount};

pub(super) fn count(ids: Vec<String>) -> Count {
    Count {
        count: ids.len() as u64,
        decision_ids: ids,
    }
}

pub(super) fn count_of<'e>(events: impl IntoIterator<Item = &'e Event>) -> Count {
    count(events.into_iter().map(|e| e.id.clone()).collect())
}

pub(super) fn amount_of<'e>(events: impl IntoIterator<Item = &'e Event>) -> AmountCount {
    let mut out = AmountCount::default();
    for e in events {
        out.count += 1;
        out.amount_ore += e.amount_ore.unwrap_or(0);
        out.decision_ids.push(e.id.clone());
    }
    out
}

/// Counts by key, in the order of `known` and then the others sorted.
pub(super) fn named(known: &[&str], items: &[(String, String)]) -> Vec<NamedCount> {
    let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, id) in items {
        by_key.entry(key.as_str()).or_default().push(id.clone());
    }
    let mut out: Vec<NamedCount> = known
        .iter()
        .map(|k| NamedCount {
            key: (*k).to_owned(),
            count: count(by_key.remove(k).unwrap_or_default()),
        })
        .collect();
    out.extend(by_key.into_iter().map(|(k, ids)| NamedCount {
        key: k.to_owned(),
        count: count(ids),
    }));
    out
}

pub(super) fn ratio(part: u64, whole: u64) -> Option<Decimal> {
    (whole > 0).then(|| (Decimal::from(part) / Decimal::from(whole)).round_dp(4))
}
