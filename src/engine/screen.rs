//! Screening a waiting list: many households judged for one vacancy, with only what an
//! offer round needs (the outcome, the rejection rules that fired and the flexible-letting
//! priority). [`Screener`] settles once what does not depend on the household (the rule
//! set, the area's class, the rules that apply there) and then weighs each household by
//! the same conditions, in the same order, as [`evaluate_letting`], without building the
//! explanation's texts. [`screen_letting`] is the same answer taken from a full
//! evaluation: the reference the screener is tested against.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::eval::{FactContext, Trace};
use super::{
    Eligibility, EngineError, FlexibleEligibility, LettingCase, LettingOutcome, evaluate_letting,
    judged_in, missing, rule_set,
};
use crate::model::{
    AreaFacts, Channel, Condition, Evidence, Household, LettingEffect, LettingRule, RuleBook,
    RuleSet,
};

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

/// A vacancy settled for screening: the rule set in force on the date, the area's class,
/// and the rules that can apply there, in the order `evaluate_letting` weighs them.
#[derive(Debug, Clone)]
pub struct Screener {
    set: Arc<RuleSet>,
    date: NaiveDate,
    area: AreaFacts,
    class: Arc<str>,
    /// Indexes into `set.letting_rules`: the rejections, then those needing approval.
    rejections: Vec<usize>,
    approvals: Vec<usize>,
    /// Whether priority is judged: the vacancy is flexible.
    flexible: bool,
    /// Indexes into `set.flexible_priority` in force; empty unless the vacancy is flexible.
    priorities: Vec<usize>,
}

impl Screener {
    /// Settles a vacancy of `channel` in `area` of `municipality` for households judged on
    /// `date`; the errors are those `evaluate_letting` gives for any household there.
    pub fn new(
        book: &RuleBook,
        municipality: &str,
        area: AreaFacts,
        date: NaiveDate,
        channel: Option<Channel>,
    ) -> Result<Screener, EngineError> {
        let (set, _, class) = judged_in(book, municipality, &area, date)?;
        let applicable = |effect: LettingEffect| -> Vec<usize> {
            set.letting_rules
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.effect == effect && r.meta.in_force(date) && r.applies_to(&area.id, &class)
                })
                .map(|(i, _)| i)
                .collect()
        };
        let rejections = applicable(LettingEffect::Reject);
        let approvals = applicable(LettingEffect::RequireMunicipalApproval);
        let flexible = channel == Some(Channel::Flexible);
        let priorities = if flexible {
            set.flexible_priority
                .iter()
                .enumerate()
                .filter(|(_, r)| r.meta.in_force(date))
                .map(|(i, _)| i)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Screener {
            set: set.clone(),
            date,
            area,
            class,
            rejections,
            approvals,
            flexible,
            priorities,
        })
    }

    /// The area's class on the date.
    pub fn class(&self) -> &Arc<str> {
        &self.class
    }

    /// Screens one household, as `evaluate_letting` would judge it for this vacancy.
    pub fn screen(&self, household: &Household) -> Result<Screened, EngineError> {
        let applicant = household.applicant().ok_or(EngineError::NoApplicant)?;
        let ctx = FactContext::household_case(self.date, &self.set, &self.area, household);
        let mut rejection_rules = Vec::new();
        for &i in &self.rejections {
            let rule = &self.set.letting_rules[i];
            if fires(&ctx, rule)? {
                rejection_rules.push(rule.meta.id.clone());
            }
        }
        let rejected = !rejection_rules.is_empty();
        let mut needs_approval = false;
        if !rejected {
            // A rejected letting does not also await the municipality: these are weighed
            // only when no rejection fired, and every one is weighed (a missing fact is an
            // error wherever it is met).
            for &i in &self.approvals {
                needs_approval |= fires(&ctx, &self.set.letting_rules[i])?;
            }
        }
        let outcome = if rejected {
            LettingOutcome::Rejected
        } else if needs_approval {
            LettingOutcome::PendingMunicipalApproval
        } else {
            LettingOutcome::Approved
        };
        let mut groups = Vec::new();
        let mut priority_rules = Vec::new();
        for &i in &self.priorities {
            let rule = &self.set.flexible_priority[i];
            // An unstated fact means the applicant has not shown the criterion.
            if holds(&ctx, &rule.when).unwrap_or(false) {
                groups.push(rule.group.clone());
                priority_rules.push(rule.meta.id.clone());
            }
        }
        let status = if !self.flexible {
            Eligibility::NotApplicable
        } else {
            match (groups.is_empty(), applicant.evidence) {
                (true, _) => Eligibility::NotEligible,
                (false, Evidence::Documented) => Eligibility::Verified,
                (false, Evidence::SelfDeclared) => Eligibility::Provisional,
            }
        };
        Ok(Screened {
            outcome,
            flexible: FlexibleEligibility { status, groups },
            rejection_rules,
            priority_rules,
        })
    }
}

/// Whether a letting rule fires: its condition holds and its exemption does not. A fact
/// it needs and the household lacks is an error, as in `evaluate_letting`.
fn fires(ctx: &FactContext<'_>, rule: &LettingRule) -> Result<bool, EngineError> {
    if !holds(ctx, &rule.when).map_err(missing(&rule.meta.id))? {
        return Ok(false);
    }
    match &rule.unless {
        Some(unless) => Ok(!holds(ctx, unless).map_err(missing(&rule.meta.id))?),
        None => Ok(true),
    }
}

fn holds(ctx: &FactContext<'_>, condition: &Condition) -> Result<bool, super::eval::Missing> {
    ctx.eval(condition, &mut Trace::default())
}

/// Screens the household of `case` from a full letting evaluation: the reference
/// [`Screener::screen`] must agree with.
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
