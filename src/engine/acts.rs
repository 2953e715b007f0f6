//! Municipal acts in a letting case: the approval or rejection of a letting, with the
//! caseworker's main considerations, and the complaint guidance of any decision.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::explain::{ComplaintText, Explanation, SlotValues};
use super::{EngineError, class_words, judged_in};
use crate::model::{ActKind, AreaFacts, ComplaintKind, RuleBook, Slot};

/// A caseworker's approval or rejection of a pending letting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MunicipalActCase {
    pub date: NaiveDate,
    pub municipality: String,
    pub department: String,
    /// The name the department is registered under, for messages (the id when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    pub area: AreaFacts,
    pub act: ActKind,
    /// The main considerations behind the act (forvaltningsloven § 24, stk. 1).
    pub considerations: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MunicipalActDecision {
    pub area_class: Arc<str>,
    pub explanation: Explanation,
}

/// The reasons of a municipal act: the rule that gives the municipality the act, the
/// area's class, the caseworker's considerations and the complaint guidance.
pub fn municipal_act(
    book: &RuleBook,
    case: &MunicipalActCase,
) -> Result<MunicipalActDecision, EngineError> {
    let (set, mut explanation, class) = judged_in(book, &case.municipality, &case.area, case.date)?;
    explanation.fact("department", &case.department);
    explanation.fact("act", case.act.as_str());
    let mut slots = SlotValues::default();
    slots.same(Slot::Area, case.area.display_name());
    slots.same(
        Slot::Department,
        case.department_name.as_deref().unwrap_or(&case.department),
    );
    slots.same(Slot::Date, case.date.to_string());
    slots.same(Slot::Considerations, case.considerations.trim());
    class_words(&mut slots, set, &class);
    let mut fired = false;
    for rule in set.municipal_acts.iter().filter(|r| {
        r.act == case.act && r.meta.in_force(case.date) && r.applies_to_classes.contains(&class)
    }) {
        explanation.fire(&rule.meta, Vec::new(), &slots);
        fired = true;
    }
    if !fired {
        return Err(EngineError::NoActRule {
            act: case.act.as_str(),
            class: class.clone(),
            rule_set: set.id.clone(),
        });
    }
    explanation.considerations = Some(case.considerations.trim().to_owned());
    explanation.complaint_from(set, ComplaintKind::MunicipalLettingDecision);
    Ok(MunicipalActDecision {
        area_class: class,
        explanation,
    })
}

/// The complaint guidance the rules in force give for a kind of decision.
pub fn complaint_guidance(
    book: &RuleBook,
    municipality: &str,
    date: NaiveDate,
    kind: ComplaintKind,
) -> Option<ComplaintText> {
    book.in_force(municipality, date)
        .and_then(|set| set.complaint(kind))
        .map(Into::into)
}
