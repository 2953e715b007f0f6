//! Decisions carry their reasons: the rule set and the hash of its file, each rule that
//! fired with its legal source, the comparisons it made, and a message in Danish and
//! English that a caseworker can hand to the citizen.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{
    ComplaintGuidance, Completeness, LayerRef, LegalSource, RuleMeta, RuleSet, Slot,
};

/// One comparison a rule made: `fact op threshold`, with the case's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub fact: Cow<'static, str>,
    pub op: Cow<'static, str>,
    pub threshold: String,
    pub actual: String,
    pub holds: bool,
}

/// A legal source as written into a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    pub document: Arc<str>,
    pub section: Option<Arc<str>>,
    pub title: Arc<str>,
}

impl From<&LegalSource> for SourceText {
    fn from(s: &LegalSource) -> Self {
        SourceText {
            document: s.document.clone(),
            section: s.section.clone(),
            title: s.title.clone(),
        }
    }
}

/// A rule that fired, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    pub rule_id: Arc<str>,
    /// The layer (rule file) the rule is written in.
    #[serde(default)]
    pub layer: Arc<str>,
    pub source: SourceText,
    pub comparisons: Vec<Comparison>,
    pub message_da: String,
    pub message_en: String,
    /// Whether the rule decided the outcome, so that its message goes to the citizen; a
    /// rule that only adds to the technical trace (a flexible-letting priority on a letting
    /// rejected anyway) does not.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub to_citizen: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A piece of reference data a decision relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceUsed {
    pub id: Arc<str>,
    pub content_hash: Arc<str>,
    /// How much of its source the list holds; a decision on an extract or illustrative
    /// data says so.
    #[serde(default = "complete")]
    pub completeness: Completeness,
}

fn complete() -> Completeness {
    Completeness::Complete
}

/// Klagevejledning as written into a decision (forvaltningsloven § 25).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintText {
    pub guidance_id: Arc<str>,
    pub source: SourceText,
    pub body_da: Arc<str>,
    pub body_en: Arc<str>,
    pub how_da: Arc<str>,
    pub how_en: Arc<str>,
    pub deadline_da: Arc<str>,
    pub deadline_en: Arc<str>,
}

impl From<&ComplaintGuidance> for ComplaintText {
    fn from(c: &ComplaintGuidance) -> Self {
        ComplaintText {
            guidance_id: c.id.clone(),
            source: (&c.source).into(),
            body_da: c.body.da.clone(),
            body_en: c.body.en.clone(),
            how_da: c.how.da.clone(),
            how_en: c.how.en.clone(),
            deadline_da: c.deadline.da.clone(),
            deadline_en: c.deadline.en.clone(),
        }
    }
}

/// The reasons for a decision, complete enough to explain it years later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub rule_set_id: Arc<str>,
    pub rule_set_hash: Arc<str>,
    /// Every layer that judged the decision: national law, the municipality's decisions,
    /// agreements; each with its version hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerRef>,
    pub decided_on: NaiveDate,
    pub fired: Vec<FiredRule>,
    /// The facts the decision used, by name.
    pub facts: BTreeMap<Cow<'static, str>, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_data: Vec<ReferenceUsed>,
    /// The caseworker's main considerations for a discretionary act (forvaltningsloven
    /// § 24, stk. 1, 2. pkt.).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub considerations: Option<String>,
    /// Where, how and by when the decision can be complained about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<ComplaintText>,
    /// Rules in force that were weighed and did not apply, each saying why: what an
    /// accepted referral rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub considered: Vec<FiredRule>,
}

impl Explanation {
    pub fn new(set: &RuleSet, date: NaiveDate) -> Self {
        Explanation {
            rule_set_id: set.id.clone(),
            rule_set_hash: set.content_hash.clone(),
            layers: set.layers.clone(),
            decided_on: date,
            fired: Vec::new(),
            facts: BTreeMap::new(),
            reference_data: Vec::new(),
            considerations: None,
            complaint: None,
            considered: Vec::new(),
        }
    }

    /// Attaches the complaint guidance the rule set gives for this kind of decision.
    pub fn complaint_from(&mut self, set: &RuleSet, kind: crate::model::ComplaintKind) {
        self.complaint = set.complaint(kind).map(Into::into);
    }

    /// Records a list the decision relied on, once.
    pub fn used(&mut self, id: &Arc<str>, content_hash: &Arc<str>, completeness: Completeness) {
        if !self.reference_data.iter().any(|r| r.id == *id) {
            self.reference_data.push(ReferenceUsed {
                id: id.clone(),
                content_hash: content_hash.clone(),
                completeness,
            });
        }
    }

    /// Whether the decision rests on reference data that is not complete.
    pub fn rests_on_incomplete_data(&self) -> bool {
        self.reference_data
            .iter()
            .any(|r| r.completeness != Completeness::Complete)
    }

    pub fn fact(&mut self, name: impl Into<Cow<'static, str>>, value: impl ToString) {
        self.facts.insert(name.into(), value.to_string());
    }

    pub fn fire(&mut self, meta: &RuleMeta, comparisons: Vec<Comparison>, slots: &SlotValues) {
        self.fired.push(FiredRule {
            rule_id: meta.id.clone(),
            layer: meta.layer.clone(),
            source: (&meta.source).into(),
            comparisons,
            message_da: meta.message.da.render(|s| slots.get(s, Lang::Da)),
            message_en: meta.message.en.render(|s| slots.get(s, Lang::En)),
            to_citizen: true,
        });
    }

    /// Keeps the rules fired since `from` in the trace only: they did not decide.
    pub fn not_to_citizen(&mut self, from: usize) {
        for f in self.fired.iter_mut().skip(from) {
            f.to_citizen = false;
        }
    }

    /// Records a rule that was weighed and did not apply, with the reason in words.
    pub fn considered(
        &mut self,
        meta: &RuleMeta,
        comparisons: Vec<Comparison>,
        why_da: String,
        why_en: String,
    ) {
        self.considered.push(FiredRule {
            rule_id: meta.id.clone(),
            layer: meta.layer.clone(),
            source: (&meta.source).into(),
            comparisons,
            message_da: why_da,
            message_en: why_en,
            to_citizen: true,
        });
    }

    pub fn fired_ids(&self) -> impl Iterator<Item = &str> {
        self.fired.iter().map(|f| &*f.rule_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Da,
    En,
}

/// Values for message placeholders, in both languages. A value that reads the same in
/// both (a number, an id, a date) is kept once.
#[derive(Debug, Default, Clone)]
pub struct SlotValues {
    values: Vec<(Slot, String, Option<String>)>,
}

impl SlotValues {
    pub fn set(&mut self, slot: Slot, da: impl Into<String>, en: impl Into<String>) {
        self.put(slot, da.into(), Some(en.into()));
    }

    /// The same text in both languages (numbers, ids, dates).
    pub fn same(&mut self, slot: Slot, text: impl Into<String>) {
        self.put(slot, text.into(), None);
    }

    fn put(&mut self, slot: Slot, da: String, en: Option<String>) {
        match self.values.iter_mut().find(|v| v.0 == slot) {
            Some(v) => {
                v.1 = da;
                v.2 = en;
            }
            None => self.values.push((slot, da, en)),
        }
    }

    pub fn get(&self, slot: Slot, lang: Lang) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.0 == slot)
            .map(|v| match (lang, &v.2) {
                (Lang::En, Some(en)) => en.as_str(),
                _ => v.1.as_str(),
            })
    }

    /// A share as a percentage in each language's notation: "41,2 %" and "41.2 %".
    pub fn percent(&mut self, slot: Slot, share: Decimal) {
        // A stated share may be any decimal; one too large for a percentage is shown as is.
        let pct = share
            .checked_mul(Decimal::ONE_HUNDRED)
            .map_or(share, |p| p.round_dp(2).normalize());
        let en = format!("{pct} %");
        self.set(slot, en.replace('.', ","), en);
    }

    /// A DKK amount: "10.000,00 kr." and "DKK 10,000.00".
    pub fn money(&mut self, slot: Slot, amount: crate::model::Money) {
        let (da, en) = money_words(amount);
        self.set(slot, da, en);
    }
}

/// "10.000,00 kr." and "DKK 10,000.00".
pub fn money_words(amount: crate::model::Money) -> (String, String) {
    let ore = amount.ore();
    let (kroner, rest) = (ore / 100, (ore % 100).abs());
    let digits = kroner.abs().to_string();
    let mut grouped = Vec::new();
    for (i, c) in digits.chars().rev().enumerate() {
        if i > 0 && i % 3 == 0 {
            grouped.push('|');
        }
        grouped.push(c);
    }
    let grouped: String = grouped.into_iter().rev().collect();
    let sign = if ore < 0 { "-" } else { "" };
    (
        format!("{sign}{},{rest:02} kr.", grouped.replace('|', ".")),
        format!("DKK {sign}{}.{rest:02}", grouped.replace('|', ",")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Money;

    #[test]
    fn money_is_written_per_language() {
        let (da, en) = money_words(Money::from_ore(1_000_000));
        assert_eq!(da, "10.000,00 kr.");
        assert_eq!(en, "DKK 10,000.00");
        let (da, en) = money_words(Money::from_ore(99_050));
        assert_eq!((da.as_str(), en.as_str()), ("990,50 kr.", "DKK 990.50"));
    }
}
