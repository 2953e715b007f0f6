//! The decision engine: pure functions of a [`RuleBook`], a date and the facts of a case.
//! No I/O, no clock: everything a decision depends on is an argument, so a decision can
//! be replayed years later from what was stored.

mod acts;
pub mod counterfactual;
pub mod eval;
pub mod explain;
mod quota;
mod referral;
pub mod screen;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{
    AreaFacts, Channel, ComplaintKind, CountedOver, Evidence, Household, LettingEffect, Money,
    RuleBook, RuleSet, ShareSource, Slot, Vocabulary,
};
pub use acts::{MunicipalActCase, MunicipalActDecision, complaint_guidance, municipal_act};
pub use counterfactual::{Counterfactual, letting_counterfactuals};
use eval::{FactContext, Missing, Streak, Trace, role_name};
pub use explain::{
    Comparison, ComplaintText, Explanation, FiredRule, Lang, ReferenceUsed, SlotValues,
};
pub use quota::{QuotaCounters, QuotaState, period_key};
pub use referral::{ReferralCase, ReferralDecision, ReferralOutcome, evaluate_referral};

/// Why the engine could not decide. The caller's input was incomplete or the rule book has
/// no rules for the case; the rules themselves were checked when loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("no rule set is in force for municipality `{municipality}` on {date}")]
    NoRuleSet {
        municipality: String,
        date: NaiveDate,
    },
    #[error("fact `{fact}` is needed by rule `{rule}` and was not given")]
    MissingFact { fact: &'static str, rule: Arc<str> },
    #[error("the household has no person with role `applicant`")]
    NoApplicant,
    #[error("`{value}` is not a {what} of rule set `{rule_set}`")]
    UnknownTerm {
        what: &'static str,
        value: String,
        rule_set: Arc<str>,
    },
    #[error(
        "no class of rule set `{rule_set}` applies to area `{area}` on {date}: load its statistics or designate it"
    )]
    Unclassified {
        area: String,
        rule_set: Arc<str>,
        date: NaiveDate,
    },
    #[error("rule set `{0}` has no relocation-grant rules")]
    NoGrantRules(Arc<str>),
    #[error("rule set `{rule_set}` gives the municipality no {act} of lettings in {class} areas")]
    NoActRule {
        act: &'static str,
        class: Arc<str>,
        rule_set: Arc<str>,
    },
    #[error(
        "rule set `{0}` has no letting channels: its national layer must give the order and the fallback"
    )]
    NoChannels(Arc<str>),
    #[error("the {scope}'s vacancy counters are at their largest and cannot count another")]
    CounterOverflow { scope: &'static str },
    #[error(
        "rule `{rule}` cannot be evaluated exactly on these counts ({count} of {total}): its share's arithmetic overflows"
    )]
    Arithmetic {
        rule: Arc<str>,
        count: u64,
        total: u64,
    },
}

fn rule_set<'b>(
    book: &'b RuleBook,
    municipality: &str,
    date: NaiveDate,
) -> Result<&'b Arc<RuleSet>, EngineError> {
    book.in_force(municipality, date)
        .ok_or_else(|| EngineError::NoRuleSet {
            municipality: municipality.to_owned(),
            date,
        })
}

/// The rules in force for a case in `area`, its explanation begun, and the area's class.
fn judged_in<'b>(
    book: &'b RuleBook,
    municipality: &str,
    area: &AreaFacts,
    date: NaiveDate,
) -> Result<(&'b Arc<RuleSet>, Explanation, Arc<str>), EngineError> {
    let set = rule_set(book, municipality, date)?;
    let mut explanation = Explanation::new(set, date);
    let class = classify_with(book, set, municipality, area, date, &mut explanation)?;
    Ok((set, explanation, class))
}

fn missing(rule: &Arc<str>) -> impl Fn(Missing) -> EngineError + '_ {
    move |Missing(fact)| EngineError::MissingFact {
        fact: fact.name(),
        rule: rule.clone(),
    }
}

// ----- classification -------------------------------------------------------------------

/// The class of an area on a date, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaClassification {
    pub area_id: String,
    pub class: Arc<str>,
    pub explanation: Explanation,
}

/// Classifies an area by the rule set in force for `municipality` on `date`.
pub fn classify(
    book: &RuleBook,
    municipality: &str,
    area: &AreaFacts,
    date: NaiveDate,
) -> Result<AreaClassification, EngineError> {
    let (_, explanation, class) = judged_in(book, municipality, area, date)?;
    Ok(AreaClassification {
        area_id: area.id.clone(),
        class,
        explanation,
    })
}

/// The class of the area of a dwelling offered as a replacement, with the guidance on how
/// to complain about the offer.
pub fn classify_offered_dwelling(
    book: &RuleBook,
    municipality: &str,
    area: &AreaFacts,
    date: NaiveDate,
) -> Result<AreaClassification, EngineError> {
    let mut class = classify(book, municipality, area, date)?;
    class.explanation.complaint = complaint_guidance(
        book,
        municipality,
        date,
        crate::model::ComplaintKind::ReplacementOffer,
    );
    Ok(class)
}

fn classify_with(
    book: &RuleBook,
    set: &RuleSet,
    municipality: &str,
    area: &AreaFacts,
    date: NaiveDate,
    explanation: &mut Explanation,
) -> Result<Arc<str>, EngineError> {
    // The classes the rule set reads lists of: only those lists are consulted.
    let read = set.listed_classes();
    let mut designated: Vec<Arc<str>> = Vec::new();
    let mut designation_names = Vec::new();
    let mut consulted = Vec::new();
    for d in book
        .reference
        .designations_on(municipality, date)
        .filter(|d| read.contains(&&d.class))
    {
        // "Not on the list" rests on the list as much as "on it" does.
        consulted.push((
            d.id.clone(),
            d.content_hash.clone(),
            d.provenance.completeness,
        ));
        if d.areas.contains_key(area.id.as_str()) {
            designated.push(d.class.clone());
            designation_names.push((
                d.class.clone(),
                d.id.clone(),
                d.content_hash.clone(),
                d.provenance.completeness,
            ));
        }
    }
    // List history is read only for the classes a `listed_in_succession` condition names.
    let mut histories: Vec<&Arc<[Arc<str>]>> = Vec::new();
    for r in &set.classification {
        r.when.visit(&mut |c| {
            if let crate::model::Condition::ListedInSuccession { classes, .. } = c
                && !histories.contains(&classes)
            {
                histories.push(classes);
            }
        });
    }
    let streaks: Vec<Streak> = histories
        .into_iter()
        .map(|classes| {
            let run = book
                .reference
                .succession(municipality, &area.id, classes, date);
            (classes.clone(), run)
        })
        .collect();
    let ctx = FactContext {
        date,
        set,
        area: Some(area),
        streaks: &streaks,
        designated_classes: &designated,
        household: None,
        grant: None,
    };
    explanation.fact("area.id", &area.id);
    if let Some(share) = area.share_without_attachment() {
        explanation.fact("area.share_without_attachment", share.normalize());
    }
    for rule in set.classification.iter().filter(|r| r.meta.in_force(date)) {
        let mut trace = Trace::default();
        if ctx
            .eval(&rule.when, &mut trace)
            .map_err(missing(&rule.meta.id))?
        {
            let mut slots = SlotValues::default();
            slots.same(Slot::Area, area.display_name());
            slots.same(Slot::Date, date.to_string());
            class_words(&mut slots, set, &rule.class);
            if let Some(share) = area.share_without_attachment() {
                slots.percent(Slot::Share, share);
            }
            if let Some(r) = area.residents {
                slots.same(Slot::Residents, r.to_string());
            }
            if let Some(c) = trace
                .comparisons
                .iter()
                .rev()
                .find(|c| c.fact == "criteria_met")
            {
                slots.same(Slot::Criteria, c.actual.clone());
            }
            // The list of the class the rule reads, else the first naming the area.
            let named = match &rule.when {
                crate::model::Condition::DesignatedAs(c) => {
                    designation_names.iter().find(|d| d.0 == *c)
                }
                crate::model::Condition::ListedInSuccession { classes, .. } => {
                    designation_names.iter().find(|d| classes.contains(&d.0))
                }
                _ => None,
            }
            .or(designation_names.first());
            let mut history: Option<&Arc<[Arc<str>]>> = None;
            rule.when.visit(&mut |c| {
                if let crate::model::Condition::ListedInSuccession { classes, .. } = c {
                    history.get_or_insert(classes);
                }
            });
            if let Some((_, run)) = history.and_then(|h| streaks.iter().find(|(c, _)| c == h)) {
                let ids: Vec<&str> = run.iter().map(|d| &*d.id).collect();
                slots.same(Slot::ListsInSuccession, ids.join(", "));
                // A status from a list's history rests on every list of the run.
                for d in run {
                    explanation.used(&d.id, &d.content_hash, d.provenance.completeness);
                }
            }
            if let Some((_, id, _, _)) = named {
                slots.same(Slot::Designation, id.to_string());
            }
            // The lists naming the area first, then every other list in force the
            // classification consulted.
            for (_, id, hash, completeness) in &designation_names {
                explanation.used(id, hash, *completeness);
            }
            for (id, hash, completeness) in &consulted {
                explanation.used(id, hash, *completeness);
            }
            explanation.fact("area.class", &rule.class);
            explanation.fire(&rule.meta, trace.comparisons, &slots);
            return Ok(rule.class.clone());
        }
    }
    Err(EngineError::Unclassified {
        area: area.id.clone(),
        rule_set: set.id.clone(),
        date,
    })
}

/// A class's name in Danish and English (its id when the vocabulary lacks it).
fn class_names<'a>(set: &'a RuleSet, class: &'a str) -> (&'a str, &'a str) {
    match set.class_term(class) {
        Some(t) => (&*t.da, &*t.en),
        None => (class, class),
    }
}

fn class_words(slots: &mut SlotValues, set: &RuleSet, class: &str) {
    match set.class_term(class) {
        Some(t) => slots.set(Slot::AreaClass, &*t.da, &*t.en),
        None => slots.same(Slot::AreaClass, class),
    }
}

// ----- channel assignment -----------------------------------------------------------------

/// A new vacancy, to be given a letting channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VacancyCase {
    pub date: NaiveDate,
    pub municipality: String,
    pub department: String,
    /// The name the department is registered under, for messages (the id when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    pub area: AreaFacts,
}

/// The channel of a vacancy, the counters after it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDecision {
    pub channel: Channel,
    pub area_class: Arc<str>,
    pub period: String,
    pub counters_after: QuotaState,
    pub explanation: Explanation,
}

/// Assigns a channel to a vacancy. `counters` are the department's and municipality's
/// counts for the vacancy's quota period before this vacancy.
pub fn assign_channel(
    book: &RuleBook,
    case: &VacancyCase,
    counters: &QuotaState,
) -> Result<ChannelDecision, EngineError> {
    let (set, mut explanation, class) = judged_in(book, &case.municipality, &case.area, case.date)?;
    explanation.fact("department", &case.department);
    let mut after = counters.clone();
    for (counts, scope) in [
        (&mut after.department, "department"),
        (&mut after.municipality, "municipality"),
    ] {
        counts.vacancies = counts
            .vacancies
            .checked_add(1)
            .ok_or(EngineError::CounterOverflow { scope })?;
    }

    let assignment = &set.channels;
    let Some(fallback) = &assignment.fallback else {
        return Err(EngineError::NoChannels(set.id.clone()));
    };
    let mut checked = Vec::new();
    let mut chosen = None;
    'channels: for channel in &assignment.order[..assignment.order.len().saturating_sub(1)] {
        for quota in assignment.floors().filter(|q| {
            q.channel == *channel && q.meta.in_force(case.date) && q.applies_to_class(&class)
        }) {
            let share = match quota.share {
                ShareSource::Fixed(s) => s,
                ShareSource::DepartmentAgreement { default } => {
                    match book.reference.flexible_share(
                        &case.municipality,
                        &case.department,
                        case.date,
                    ) {
                        Some((list, s)) => {
                            explanation.used(
                                &list.id,
                                &list.content_hash,
                                list.provenance.completeness,
                            );
                            s
                        }
                        None => default,
                    }
                }
            };
            if share.is_zero() {
                continue;
            }
            let counts = match quota.counted_over {
                CountedOver::Department => &after.department,
                CountedOver::Municipality => &after.municipality,
            };
            let count = counts.by_channel[channel.index()];
            let arithmetic = || EngineError::Arithmetic {
                rule: quota.meta.id.clone(),
                count,
                total: counts.vacancies,
            };
            let due = share
                .checked_is_due(quota.op, count, counts.vacancies)
                .ok_or_else(arithmetic)?;
            let required = share.checked_of(counts.vacancies).ok_or_else(arithmetic)?;
            checked.push(Comparison {
                fact: format!(
                    "{}.{}_count",
                    match quota.counted_over {
                        CountedOver::Department => "department",
                        CountedOver::Municipality => "municipality",
                    },
                    channel.as_str()
                )
                .into(),
                op: quota.op.as_str().into(),
                threshold: format!(
                    "{share} × {} = {}",
                    counts.vacancies,
                    required.round_dp(2).normalize()
                ),
                actual: count.to_string(),
                holds: !due,
            });
            if due {
                chosen = Some((*channel, quota, share, count, counts.vacancies));
                break 'channels;
            }
        }
    }
    let mut slots = SlotValues::default();
    slots.same(
        Slot::Department,
        case.department_name.as_deref().unwrap_or(&case.department),
    );
    slots.same(Slot::Area, case.area.display_name());
    slots.same(Slot::Date, case.date.to_string());
    class_words(&mut slots, set, &class);
    let channel = match chosen {
        Some((channel, quota, share, count, vacancies)) => {
            let (da, en) = channel.words();
            slots.set(Slot::Channel, da, en);
            slots.percent(Slot::QuotaShare, share.as_decimal());
            slots.same(Slot::ChannelCount, count.to_string());
            slots.same(Slot::Vacancies, vacancies.to_string());
            explanation.fire(&quota.meta, checked, &slots);
            channel
        }
        None => {
            let channel = assignment
                .order
                .last()
                .copied()
                .unwrap_or(Channel::ExternalList);
            let (da, en) = channel.words();
            slots.set(Slot::Channel, da, en);
            slots.same(Slot::Vacancies, after.department.vacancies.to_string());
            explanation.fire(fallback, checked, &slots);
            channel
        }
    };
    for (counts, scope) in [
        (&mut after.department, "department"),
        (&mut after.municipality, "municipality"),
    ] {
        let n = &mut counts.by_channel[channel.index()];
        *n = n
            .checked_add(1)
            .ok_or(EngineError::CounterOverflow { scope })?;
    }
    explanation.fact("channel", channel.as_str());
    Ok(ChannelDecision {
        channel,
        area_class: class,
        period: period_key(assignment.period(), case.date),
        counters_after: after,
        explanation,
    })
}

// ----- letting ----------------------------------------------------------------------------

/// A proposed letting: an applicant household for a vacancy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LettingCase {
    pub date: NaiveDate,
    pub municipality: String,
    pub department: String,
    /// The name the department is registered under, for messages (the id when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    pub area: AreaFacts,
    /// The channel the vacancy was given; flexible priority is judged only for `flexible`.
    pub channel: Option<Channel>,
    pub household: Household,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LettingOutcome {
    Approved,
    Rejected,
    PendingMunicipalApproval,
}

/// Whether the applicant has flexible-letting priority, and how well it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// The vacancy is not let flexibly.
    NotApplicable,
    NotEligible,
    /// Eligible on the applicant's own statement.
    Provisional,
    /// Eligible on documented facts.
    Verified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlexibleEligibility {
    pub status: Eligibility,
    pub groups: Vec<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LettingDecision {
    pub outcome: LettingOutcome,
    pub area_class: Arc<str>,
    pub obligations: Vec<Arc<str>>,
    pub flexible: FlexibleEligibility,
    pub explanation: Explanation,
}

/// Evaluates a proposed letting.
pub fn evaluate_letting(
    book: &RuleBook,
    case: &LettingCase,
) -> Result<LettingDecision, EngineError> {
    let applicant = case.household.applicant().ok_or(EngineError::NoApplicant)?;
    let (set, mut explanation, class) = judged_in(book, &case.municipality, &case.area, case.date)?;
    explanation.fact("department", &case.department);
    explanation.fact("applicant_ref", &case.household.applicant_ref);
    let ctx = FactContext::household_case(case.date, set, &case.area, &case.household);
    let mut rejected = false;
    let mut needs_approval = false;
    let mut obligations: Vec<Arc<str>> = Vec::new();
    // Rejections first: a rejected letting does not also await the municipality.
    let applicable: Vec<_> = set
        .letting_rules
        .iter()
        .filter(|r| r.meta.in_force(case.date) && r.applies_to(&case.area.id, &class))
        .collect();
    let rules = applicable
        .iter()
        .filter(|r| r.effect == LettingEffect::Reject)
        .chain(
            applicable
                .iter()
                .filter(|r| r.effect == LettingEffect::RequireMunicipalApproval),
        );
    for rule in rules {
        if rejected && rule.effect == LettingEffect::RequireMunicipalApproval {
            break;
        }
        let mut trace = Trace::default();
        if !ctx
            .eval(&rule.when, &mut trace)
            .map_err(missing(&rule.meta.id))?
        {
            continue;
        }
        if let Some(unless) = &rule.unless {
            let mut exempt = Trace::default();
            if ctx
                .eval(unless, &mut exempt)
                .map_err(missing(&rule.meta.id))?
            {
                continue;
            }
            trace.comparisons.extend(exempt.comparisons);
        }
        let mut slots = SlotValues::default();
        slots.same(Slot::Area, case.area.display_name());
        slots.same(
            Slot::Department,
            case.department_name.as_deref().unwrap_or(&case.department),
        );
        slots.same(Slot::Date, case.date.to_string());
        class_words(&mut slots, set, &class);
        if let Some(found) = &trace.benefit {
            // Under "both" every counted adult met the test: the message names them all.
            let (da, en): (Vec<&str>, Vec<&str>) =
                found.roles.iter().map(|r| person_words(*r)).unzip();
            slots.set(Slot::Person, da.join(" og "), en.join(" and "));
            match Vocabulary::term(&set.vocabulary.benefits, &found.kind) {
                Some(t) => slots.set(Slot::Benefit, &*t.da, &*t.en),
                None => slots.same(Slot::Benefit, &*found.kind),
            }
            slots.same(Slot::Months, found.months.to_string());
            slots.same(Slot::RequiredMonths, found.required_months.to_string());
            explanation.fact(
                format!("{}.benefit", role_name(found.role)),
                format!("{} for {} months", found.kind, found.months),
            );
        }
        match rule.effect {
            LettingEffect::Reject => rejected = true,
            LettingEffect::RequireMunicipalApproval => needs_approval = true,
        }
        for o in &rule.obligations {
            // Owed to applicants on the list when the council decided; the decision is
            // dated by its announcement (the rule file says so).
            let scheme_start = rule.adoption.as_ref().map(|a| a.announced);
            let registered = case.household.waiting_list_registered_on;
            let owed_to_all = rule.adoption.as_ref().is_some_and(|a| a.owed_to_all);
            if o.only_if_registered_before_adoption && !owed_to_all {
                if let (Some(start), Some(on)) = (scheme_start, registered) {
                    explanation.fact("household.waiting_list_registered_on", on);
                    if on >= start {
                        continue;
                    }
                }
            }
            if !obligations.contains(&o.id) {
                obligations.push(o.id.clone());
            }
        }
        explanation.fire(&rule.meta, trace.comparisons, &slots);
        if let Some(adoption) = &rule.adoption {
            explanation.fire(&adoption.meta, Vec::new(), &slots);
        }
    }
    let outcome = if rejected {
        LettingOutcome::Rejected
    } else if needs_approval {
        LettingOutcome::PendingMunicipalApproval
    } else {
        LettingOutcome::Approved
    };
    let priorities_from = explanation.fired.len();
    let flexible = if case.channel == Some(Channel::Flexible) {
        let mut groups = Vec::new();
        for rule in set
            .flexible_priority
            .iter()
            .filter(|r| r.meta.in_force(case.date))
        {
            let mut trace = Trace::default();
            // An unstated fact means the applicant has not shown the criterion.
            if ctx.eval(&rule.when, &mut trace).unwrap_or(false) {
                let mut slots = SlotValues::default();
                match Vocabulary::term(&set.vocabulary.priority_groups, &rule.group) {
                    Some(t) => slots.set(Slot::Group, &*t.da, &*t.en),
                    None => slots.same(Slot::Group, &*rule.group),
                }
                slots.same(Slot::Date, case.date.to_string());
                slots.same(Slot::Area, case.area.display_name());
                slots.same(
                    Slot::Department,
                    case.department_name.as_deref().unwrap_or(&case.department),
                );
                explanation.fire(&rule.meta, trace.comparisons, &slots);
                groups.push(rule.group.clone());
            }
        }
        let status = match (groups.is_empty(), applicant.evidence) {
            (true, _) => Eligibility::NotEligible,
            (false, Evidence::Documented) => Eligibility::Verified,
            (false, Evidence::SelfDeclared) => Eligibility::Provisional,
        };
        FlexibleEligibility { status, groups }
    } else {
        FlexibleEligibility {
            status: Eligibility::NotApplicable,
            groups: Vec::new(),
        }
    };
    explanation.fact("outcome", format!("{outcome:?}"));
    if outcome == LettingOutcome::Rejected {
        // A priority does not help a rejected applicant: it stays in the trace.
        explanation.not_to_citizen(priorities_from);
        explanation.complaint_from(set, ComplaintKind::LettingRejection);
    }
    Ok(LettingDecision {
        outcome,
        area_class: class,
        obligations,
        flexible,
        explanation,
    })
}

fn person_words(role: crate::model::PersonRole) -> (&'static str, &'static str) {
    match role {
        crate::model::PersonRole::Applicant => ("ansøgeren", "the applicant"),
        crate::model::PersonRole::Spouse => ("ansøgerens ægtefælle", "the applicant's spouse"),
        crate::model::PersonRole::Cohabitant => {
            ("ansøgerens samlever", "the applicant's cohabitant")
        }
    }
}

// ----- relocation grants ------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantCase {
    pub date: NaiveDate,
    pub municipality: String,
    pub purpose: String,
    /// The amount asked for; the rule set's standard amount when absent.
    pub amount: Option<Money>,
    pub household: Household,
    /// What the year's pool has already committed to other grants.
    pub pool_committed: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantOutcome {
    Approved,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantDecision {
    pub outcome: GrantOutcome,
    pub amount: Money,
    pub pool: Money,
    /// What is left in the pool after this decision.
    pub remaining: Money,
    pub explanation: Explanation,
}

/// Decides a relocation grant against the year's pool.
pub fn evaluate_grant(book: &RuleBook, case: &GrantCase) -> Result<GrantDecision, EngineError> {
    let set = rule_set(book, &case.municipality, case.date)?;
    let rules = set
        .grants
        .as_ref()
        .ok_or_else(|| EngineError::NoGrantRules(set.id.clone()))?;
    let purpose =
        Vocabulary::term(&set.vocabulary.grant_purposes, &case.purpose).ok_or_else(|| {
            EngineError::UnknownTerm {
                what: "grant purpose",
                value: case.purpose.clone(),
                rule_set: set.id.clone(),
            }
        })?;
    let amount = case.amount.unwrap_or(rules.standard_amount);
    let remaining = rules
        .pool_per_year
        .checked_sub(case.pool_committed)
        .filter(|m| m.ore() >= 0)
        .unwrap_or(Money::ZERO);
    let mut explanation = Explanation::new(set, case.date);
    explanation.complaint_from(set, ComplaintKind::GrantDecision);
    explanation.fact("grant.purpose", &case.purpose);
    explanation.fact("grant.amount", amount);
    explanation.fact("pool.committed", case.pool_committed);
    explanation.fact("pool.remaining", remaining);
    let ctx = FactContext {
        date: case.date,
        set,
        area: None,
        designated_classes: &[],
        streaks: &[],
        household: Some(&case.household),
        grant: Some((&purpose.id, amount)),
    };
    let mut slots = SlotValues::default();
    slots.money(Slot::Amount, amount);
    slots.money(Slot::Remaining, remaining);
    slots.money(Slot::Pool, rules.pool_per_year);
    if let Some((maximum, _)) = &rules.maximum {
        slots.money(Slot::Maximum, *maximum);
    }
    slots.set(Slot::Purpose, &*purpose.da, &*purpose.en);
    slots.same(Slot::Date, case.date.to_string());
    let refuse = |mut explanation: Explanation, meta, comparisons| {
        explanation.fire(meta, comparisons, &slots);
        Ok(GrantDecision {
            outcome: GrantOutcome::Refused,
            amount,
            pool: rules.pool_per_year,
            remaining,
            explanation,
        })
    };
    for rule in rules
        .eligibility
        .iter()
        .filter(|r| r.meta.in_force(case.date) && r.purposes.contains(&purpose.id))
    {
        let mut trace = Trace::default();
        // An unstated fact means eligibility is not shown.
        if !ctx.eval(&rule.requires, &mut trace).unwrap_or(false) {
            return refuse(explanation, &rule.meta, trace.comparisons);
        }
    }
    let money_cmp = |fact: &'static str, threshold: Money, holds: bool| Comparison {
        fact: fact.into(),
        op: "<=".into(),
        threshold: threshold.to_string(),
        actual: amount.to_string(),
        holds,
    };
    if let Some((maximum, rule)) = &rules.maximum
        && amount > *maximum
    {
        let c = money_cmp("grant.amount", *maximum, false);
        return refuse(explanation, rule, vec![c]);
    }
    if amount > remaining {
        let c = money_cmp("grant.amount", remaining, false);
        return refuse(explanation, &rules.pool_rule, vec![c]);
    }
    let left = remaining.checked_sub(amount).unwrap_or(Money::ZERO);
    let mut slots = slots.clone();
    slots.money(Slot::Remaining, left);
    explanation.fire(
        &rules.approval_rule,
        vec![money_cmp("grant.amount", remaining, true)],
        &slots,
    );
    Ok(GrantDecision {
        outcome: GrantOutcome::Approved,
        amount,
        pool: rules.pool_per_year,
        remaining: left,
        explanation,
    })
}
