//! The facts of a case as the caller states them, and the catalogue of facts that rule
//! conditions may name. Adding a fact to the catalogue is one of the few changes a new
//! law needs Rust for.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Money;

/// Statistics of an area, as loaded by the municipality for a year.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaFacts {
    pub id: String,
    /// The name the area is registered under, for messages (the id when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Residents aged 18–64.
    pub working_age_residents: Option<u64>,
    /// Of those, residents without labour-market attachment.
    pub without_labour_market_attachment: Option<u64>,
    /// The share without attachment, if stated directly rather than as counts.
    pub share_without_attachment: Option<Decimal>,
    /// All residents (the national 1,000-resident gate).
    pub residents: Option<u64>,
    /// Share of 18–64 neither working nor in education (2-year average).
    pub share_without_work_or_education: Option<Decimal>,
    /// Convictions per resident as a multiple of the national rate.
    pub conviction_rate_ratio: Option<Decimal>,
    /// Share of 30–59 with only basic schooling.
    pub share_basic_schooling_only: Option<Decimal>,
    /// Mean gross income as a share of the region's.
    pub income_ratio_to_region: Option<Decimal>,
    /// Share of residents who are immigrants or descendants from non-Western countries.
    #[serde(default)]
    pub share_non_western: Option<Decimal>,
    /// Residents aged 18 and over convicted under the criminal code, the weapons act or the
    /// drugs act, as a share of those residents (2-year average; 270 per 10,000 is 0.027).
    #[serde(default)]
    pub share_convicted: Option<Decimal>,
}

impl AreaFacts {
    /// What a message calls the area: its registered name, or its id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// The share without attachment: stated, or computed exactly from the counts.
    pub fn share_without_attachment(&self) -> Option<Decimal> {
        if let Some(share) = self.share_without_attachment {
            return Some(share);
        }
        match (
            self.without_labour_market_attachment,
            self.working_age_residents,
        ) {
            (Some(without), Some(all)) if all > 0 => {
                Some(Decimal::from(without) / Decimal::from(all))
            }
            _ => None,
        }
    }
}

/// How a fact about a person is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Stated by the applicant on signing up.
    #[default]
    SelfDeclared,
    /// Checked against documents when the contract is signed.
    Documented,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    Applicant,
    Spouse,
    Cohabitant,
}

/// A period of receiving one benefit; `to` is empty while it is still received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitSpell {
    pub kind: String,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

/// An adult of the applicant household. No CPR number: the household is known by the
/// organisation's pseudonymous reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub role: PersonRole,
    /// For a cohabitant: since when the two have shared an address.
    pub cohabiting_since: Option<NaiveDate>,
    #[serde(default)]
    pub benefits: Vec<BenefitSpell>,
    pub weekly_work_hours: Option<Decimal>,
    #[serde(default)]
    pub student: bool,
    pub age: Option<u32>,
    #[serde(default)]
    pub gives_up_larger_dwelling_in_municipality: bool,
    pub separated_on: Option<NaiveDate>,
    pub shared_address_from: Option<NaiveDate>,
    #[serde(default)]
    pub evidence: Evidence,
}

/// The applicant household of a letting, referral or grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Household {
    pub applicant_ref: String,
    /// The applicant already lives in the department of the vacancy.
    #[serde(default)]
    pub lives_in_department: bool,
    pub persons: Vec<Person>,
    /// Conditions named by the referral bar (national § 59 stk. 6), as the municipality
    /// has established them.
    #[serde(default)]
    pub referral_conditions: Vec<String>,
    /// The municipality's assessment that the household is resource-weak (grants).
    pub resource_weak: Option<bool>,
    /// The class of the area the household lives in now (grants for moving out).
    pub current_area_class: Option<String>,
    /// When the applicant was put on the waiting list: a § 51 b replacement dwelling is
    /// owed to applicants registered before the municipality's decision took effect.
    #[serde(default)]
    pub waiting_list_registered_on: Option<NaiveDate>,
    /// The municipality has granted a dispensation from mandatory rejection
    /// (§ 51 c, stk. 4: "i helt særlige tilfælde").
    #[serde(default)]
    pub municipal_dispensation: bool,
    /// The household moves to another dwelling in the same municipality (§ 63 c, stk. 2).
    #[serde(default)]
    pub moves_within_municipality: Option<bool>,
}

impl Household {
    pub fn applicant(&self) -> Option<&Person> {
        self.persons
            .iter()
            .find(|p| p.role == PersonRole::Applicant)
    }
}

/// The type of a fact, checked against the values a rule compares it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    Bool,
    Integer,
    Decimal,
    Date,
    /// One term of the rule set's vocabulary.
    Term,
    /// A set of terms.
    TermSet,
    Money,
}

impl FactType {
    pub fn describe(self) -> &'static str {
        match self {
            FactType::Bool => "true or false",
            FactType::Integer => "an integer",
            FactType::Decimal => "a decimal written as a string, such as \"0.40\"",
            FactType::Date => "a date",
            FactType::Term => "a term",
            FactType::TermSet => "a list of terms",
            FactType::Money => "an amount in DKK written as a string, such as \"15000.00\"",
        }
    }
}

/// A fact's value in a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FactValue {
    Bool(bool),
    Integer(i64),
    Decimal(Decimal),
    Date(NaiveDate),
    Term(Arc<str>),
    Money(Money),
}

impl std::fmt::Display for FactValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactValue::Bool(b) => write!(f, "{b}"),
            FactValue::Integer(i) => write!(f, "{i}"),
            FactValue::Decimal(d) => write!(f, "{}", d.normalize()),
            FactValue::Date(d) => write!(f, "{d}"),
            FactValue::Term(t) => f.write_str(t),
            FactValue::Money(m) => write!(f, "{m}"),
        }
    }
}

/// Where a fact may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactScope {
    Area,
    Applicant,
    Household,
    Grant,
}

macro_rules! fact_catalogue {
    ($($variant:ident => $name:literal, $ty:ident, $scope:ident;)*) => {
        /// Every fact a condition can name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fact { $($variant,)* }

        impl Fact {
            pub const ALL: &'static [Fact] = &[$(Fact::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Fact::$variant => $name,)* }
            }

            pub fn fact_type(self) -> FactType {
                match self { $(Fact::$variant => FactType::$ty,)* }
            }

            pub fn scope(self) -> FactScope {
                match self { $(Fact::$variant => FactScope::$scope,)* }
            }

            pub fn parse(name: &str) -> Option<Fact> {
                match name { $($name => Some(Fact::$variant),)* _ => None }
            }
        }
    };
}

fact_catalogue! {
    AreaShareWithoutAttachment => "area.share_without_attachment", Decimal, Area;
    AreaResidents => "area.residents", Integer, Area;
    AreaWorkingAgeResidents => "area.working_age_residents", Integer, Area;
    AreaShareWithoutWorkOrEducation => "area.share_without_work_or_education", Decimal, Area;
    AreaConvictionRateRatio => "area.conviction_rate_ratio", Decimal, Area;
    AreaShareBasicSchoolingOnly => "area.share_basic_schooling_only", Decimal, Area;
    AreaIncomeRatioToRegion => "area.income_ratio_to_region", Decimal, Area;
    AreaShareNonWestern => "area.share_non_western", Decimal, Area;
    AreaShareConvicted => "area.share_convicted", Decimal, Area;
    ApplicantLivesInDepartment => "applicant.lives_in_department", Bool, Applicant;
    ApplicantWeeklyWorkHours => "applicant.weekly_work_hours", Decimal, Applicant;
    ApplicantStudent => "applicant.student", Bool, Applicant;
    ApplicantAge => "applicant.age", Integer, Applicant;
    ApplicantGivesUpLargerDwelling => "applicant.gives_up_larger_dwelling_in_municipality", Bool, Applicant;
    ApplicantSeparatedOn => "applicant.separated_on", Date, Applicant;
    ApplicantSharedAddressFrom => "applicant.shared_address_from", Date, Applicant;
    HouseholdReferralConditions => "household.referral_conditions", TermSet, Household;
    HouseholdResourceWeak => "household.resource_weak", Bool, Household;
    HouseholdCurrentAreaClass => "household.current_area_class", Term, Household;
    HouseholdMunicipalDispensation => "household.municipal_dispensation", Bool, Household;
    HouseholdMovesWithinMunicipality => "household.moves_within_municipality", Bool, Household;
    GrantPurpose => "grant.purpose", Term, Grant;
    GrantAmount => "grant.amount", Money, Grant;
}
