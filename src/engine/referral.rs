//! Municipal referral: the bars on referring households into some areas, and, for an
//! accepted referral, the bars weighed and why none applied.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::eval::{FactContext, Trace};
use super::{EngineError, Explanation, SlotValues, class_names, class_words, judged_in, missing};
use crate::model::{
    AreaFacts, ComplaintKind, Household, ReferralRule, RuleBook, RuleSet, Slot, Vocabulary,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralCase {
    pub date: NaiveDate,
    pub municipality: String,
    pub department: String,
    /// The name the department is registered under, for messages (the id when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    pub area: AreaFacts,
    pub household: Household,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralOutcome {
    Accepted,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralDecision {
    pub outcome: ReferralOutcome,
    pub area_class: Arc<str>,
    pub explanation: Explanation,
}

/// Judges a municipal referral of a household to a vacancy.
pub fn evaluate_referral(
    book: &RuleBook,
    case: &ReferralCase,
) -> Result<ReferralDecision, EngineError> {
    let (set, mut explanation, class) = judged_in(book, &case.municipality, &case.area, case.date)?;
    explanation.fact("department", &case.department);
    if let Some(unknown) = case
        .household
        .referral_conditions
        .iter()
        .find(|c| Vocabulary::term(&set.vocabulary.referral_conditions, c).is_none())
    {
        return Err(EngineError::UnknownTerm {
            what: "referral condition",
            value: unknown.clone(),
            rule_set: set.id.clone(),
        });
    }
    let ctx = FactContext::household_case(case.date, set, &case.area, &case.household);
    let mut refused = false;
    let mut weighed: Vec<(&ReferralRule, Option<Vec<super::Comparison>>)> = Vec::new();
    for rule in set
        .referral_rules
        .iter()
        .filter(|r| r.meta.in_force(case.date))
    {
        if !rule.applies_to(&case.area.id, &class) {
            weighed.push((rule, None));
            continue;
        }
        let mut trace = Trace::default();
        if !ctx
            .eval(&rule.when, &mut trace)
            .map_err(missing(&rule.meta.id))?
        {
            weighed.push((rule, Some(trace.comparisons)));
            continue;
        }
        {
            let mut slots = SlotValues::default();
            slots.same(Slot::Area, case.area.display_name());
            slots.same(
                Slot::Department,
                case.department_name.as_deref().unwrap_or(&case.department),
            );
            slots.same(Slot::Date, case.date.to_string());
            class_words(&mut slots, set, &class);
            let (da, en): (Vec<&str>, Vec<&str>) = case
                .household
                .referral_conditions
                .iter()
                .map(
                    |c| match Vocabulary::term(&set.vocabulary.referral_conditions, c) {
                        Some(t) => (&*t.da, &*t.en),
                        None => (c.as_str(), c.as_str()),
                    },
                )
                .unzip();
            slots.set(Slot::Conditions, da.join("; "), en.join("; "));
            explanation.fire(&rule.meta, trace.comparisons, &slots);
            if let Some(adoption) = &rule.adoption {
                explanation.fire(&adoption.meta, Vec::new(), &slots);
            }
            refused = true;
        }
    }
    let outcome = if refused {
        explanation.complaint_from(set, ComplaintKind::ReferralDecision);
        ReferralOutcome::Refused
    } else {
        // Accepted: say which bars were weighed and why none applied.
        for (rule, comparisons) in weighed {
            let (da, en) = why_not(set, rule, &case.area, &class, comparisons.is_some());
            explanation.considered(&rule.meta, comparisons.unwrap_or_default(), da, en);
        }
        ReferralOutcome::Accepted
    };
    Ok(ReferralDecision {
        outcome,
        area_class: class,
        explanation,
    })
}

/// Why a bar did not stop an accepted referral, in Danish and English: it covers other
/// classes, or the household meets none of its conditions.
fn why_not(
    set: &RuleSet,
    rule: &ReferralRule,
    area: &AreaFacts,
    class: &str,
    covers_area: bool,
) -> (String, String) {
    let source = &rule.meta.source;
    let name = format!(
        "{} ({})",
        source.title,
        source.section.as_deref().unwrap_or(&source.document)
    );
    let area = area.display_name();
    if covers_area {
        return (
            format!("{name} gælder i {area}, men husstanden opfylder ingen af dens betingelser."),
            format!("{name} covers {area}, but the household meets none of its conditions."),
        );
    }
    let (class_da, class_en) = class_names(set, class);
    let (da, en): (Vec<&str>, Vec<&str>) = rule
        .applies_to_classes
        .iter()
        .map(|c| class_names(set, c))
        .unzip();
    (
        format!(
            "{name} gælder ikke: den gælder {}, og {area} er {class_da}.",
            da.join(", ")
        ),
        format!(
            "{name} does not apply: it covers {}, and {area} is {class_en}.",
            en.join(", ")
        ),
    )
}
