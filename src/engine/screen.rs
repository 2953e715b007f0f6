//! Screening a waiting list: for one household and one vacancy, only what an offer round
//! needs (the outcome, the rejection rules and the flexible-letting priority), from the
//! same evaluation a proposed letting gets, so that a screened household is judged exactly
//! as EvaluateLetting judges it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    EngineError, FlexibleEligibility, LettingCase, LettingOutcome, evaluate_letting, rule_set,
};
use crate::model::{LettingEffect, RuleBook};

/// One household screened for a vacancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screened {
    pub outcome: LettingOutcome,
    pub flexible: FlexibleEligibility,
    /// The rejection rules that fired, in the order they were weighed.
    pub rejection_rules: Vec<Arc<str>>,
    /// The flexible-letting priority rules that fired, in the order they were weighed.
    pub priority_rules: Vec<Arc<str>>,
}

impl Screened {
    pub fn rejected(&self) -> bool {
        self.outcome == LettingOutcome::Rejected
    }
}

/// Screens the household of `case` for its vacancy: the letting evaluation, reduced to the
/// outcome, the priority and the ids of the rules that decided them.
pub fn screen_letting(book: &RuleBook, case: &LettingCase) -> Result<Screened, EngineError> {
    let decision = evaluate_letting(book, case)?;
    let set = rule_set(book, &case.municipality, case.date)?;
    let mut rejection_rules = Vec::new();
    let mut priority_rules = Vec::new();
    for fired in &decision.explanation.fired {
        let id = &fired.rule_id;
        if set
            .letting_rules
            .iter()
            .any(|r| r.effect == LettingEffect::Reject && &r.meta.id == id)
        {
            rejection_rules.push(id.clone());
        } else if set.flexible_priority.iter().any(|r| &r.meta.id == id) {
            priority_rules.push(id.clone());
        }
    }
    Ok(Screened {
        outcome: decision.outcome,
        flexible: decision.flexible,
        rejection_rules,
        priority_rules,
    })
}
