//! The facts a judged decision used, kept so that the decision can be derived again
//! (`letting replay`) or judged under other rules (`letting what-if`).
//!
//! They are the engine's own case, as the engine read it, with the least personal data
//! that still re-derives it: the household is known by its pseudonymous reference only (a
//! value shaped like a CPR number never gets this far: the gRPC boundary refuses it), and
//! its benefit spells are cut at the decision's date (a spell that starts later is
//! dropped; one that ends on or after the date is kept as still received, which is all the
//! rules read of it). They are personal facts all the same, so the store keeps them apart
//! from the append-only log, and `letting purge` removes them once a case is closed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::engine::{
    self, AreaClassification, ChannelDecision, EngineError, GrantCase, GrantDecision, LettingCase,
    LettingDecision, MunicipalActCase, MunicipalActDecision, QuotaState, ReferralCase,
    ReferralDecision, VacancyCase,
};
use crate::model::{AreaFacts, Household, RuleBook};

/// The area, municipality and date a replacement offer's area was classified by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationCase {
    pub date: NaiveDate,
    pub municipality: String,
    pub area: AreaFacts,
}

/// What the engine was given, by the kind of judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "case", rename_all = "snake_case")]
pub enum Inputs {
    ChannelAssignment {
        vacancy: VacancyCase,
        /// The department's and the municipality's counters before the vacancy.
        counters: QuotaState,
    },
    Letting(LettingCase),
    MunicipalAct(MunicipalActCase),
    /// The area of a dwelling offered as a replacement.
    ReplacementOffer(ClassificationCase),
    Referral(ReferralCase),
    Grant(GrantCase),
}

/// A decision as the engine made it, of any kind that is judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Judged {
    Channel(ChannelDecision),
    Letting(LettingDecision),
    MunicipalAct(MunicipalActDecision),
    Classification(AreaClassification),
    Referral(ReferralDecision),
    Grant(GrantDecision),
}

impl Judged {
    /// What was decided, as the log's `outcome` column says it for this kind (a municipal
    /// act decides no outcome of its own: the area's class stands for it).
    pub fn outcome(&self) -> String {
        match self {
            Judged::Channel(d) => d.channel.as_str().to_owned(),
            Judged::Letting(d) => super::Outcome::Letting(d.outcome).as_str().to_owned(),
            Judged::MunicipalAct(d) => d.area_class.to_string(),
            Judged::Classification(d) => d.class.to_string(),
            Judged::Referral(d) => super::Outcome::Referral(d.outcome).as_str().to_owned(),
            Judged::Grant(d) => super::Outcome::Grant(d.outcome).as_str().to_owned(),
        }
    }

    pub fn explanation(&self) -> &crate::engine::Explanation {
        match self {
            Judged::Channel(d) => &d.explanation,
            Judged::Letting(d) => &d.explanation,
            Judged::MunicipalAct(d) => &d.explanation,
            Judged::Classification(d) => &d.explanation,
            Judged::Referral(d) => &d.explanation,
            Judged::Grant(d) => &d.explanation,
        }
    }
}

impl Inputs {
    /// The inputs of a letting, with the household's facts cut at the letting's date.
    pub fn letting(case: &LettingCase) -> Inputs {
        Inputs::Letting(LettingCase {
            household: least(&case.household, case.date),
            ..case.clone()
        })
    }

    pub fn referral(case: &ReferralCase) -> Inputs {
        Inputs::Referral(ReferralCase {
            household: least(&case.household, case.date),
            ..case.clone()
        })
    }

    pub fn grant(case: &GrantCase) -> Inputs {
        Inputs::Grant(GrantCase {
            household: least(&case.household, case.date),
            ..case.clone()
        })
    }

    /// The date the case was judged on.
    pub fn date(&self) -> NaiveDate {
        match self {
            Inputs::ChannelAssignment { vacancy, .. } => vacancy.date,
            Inputs::Letting(c) => c.date,
            Inputs::MunicipalAct(c) => c.date,
            Inputs::ReplacementOffer(c) => c.date,
            Inputs::Referral(c) => c.date,
            Inputs::Grant(c) => c.date,
        }
    }

    /// Judges the case again under `book`.
    pub fn judge(&self, book: &RuleBook) -> Result<Judged, EngineError> {
        Ok(match self {
            Inputs::ChannelAssignment { vacancy, counters } => {
                Judged::Channel(engine::assign_channel(book, vacancy, counters)?)
            }
            Inputs::Letting(c) => Judged::Letting(engine::evaluate_letting(book, c)?),
            Inputs::MunicipalAct(c) => Judged::MunicipalAct(engine::municipal_act(book, c)?),
            Inputs::ReplacementOffer(c) => Judged::Classification(
                engine::classify_offered_dwelling(book, &c.municipality, &c.area, c.date)?,
            ),
            Inputs::Referral(c) => Judged::Referral(engine::evaluate_referral(book, c)?),
            Inputs::Grant(c) => Judged::Grant(engine::evaluate_grant(book, c)?),
        })
    }
}

/// The household as the rules read it on `date`: benefit spells after the date dropped,
/// an end on or after it kept as "still received".
fn least(household: &Household, date: NaiveDate) -> Household {
    let mut kept = household.clone();
    for person in &mut kept.persons {
        person.benefits.retain(|spell| spell.from <= date);
        for spell in &mut person.benefits {
            if spell.to.is_some_and(|to| to >= date) {
                spell.to = None;
            }
        }
    }
    kept
}
