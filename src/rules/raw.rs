//! The serde shape of rule files, exactly as written. Nothing here is checked beyond
//! TOML types; `validate` turns these into the model the engine runs on.
//!
//! No `#[serde(flatten)]` anywhere: flattening hides unknown keys from the unknown-key check.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A calendar date as written: a TOML local date (`2007-01-01`) or a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDate {
    Toml(toml::value::Datetime),
    Text(String),
}

/// A decimal as written. Floats and integers are accepted by the parser only so that
/// validation can reject them with a precise message instead of a serde type error.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDecimal {
    Text(String),
    Integer(i64),
    Float(f64),
}

/// A value compared against a fact: its type is checked against the fact at validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawValue {
    Bool(bool),
    Integer(i64),
    Float(f64),
    Text(String),
    List(Vec<String>),
}

/// One rule file: a rule set or reference data (or both, though the shipped files keep
/// them apart).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawFile {
    pub rule_set: Option<RawRuleSetHeader>,
    pub vocabulary: Option<RawVocabulary>,
    pub classification: Option<RawClassification>,
    #[serde(default)]
    pub letting_rules: Vec<RawLettingRule>,
    #[serde(default)]
    pub flexible_priority: Vec<RawPriorityRule>,
    #[serde(default)]
    pub referral_rules: Vec<RawReferralRule>,
    pub channel_assignment: Option<RawChannelAssignment>,
    pub relocation_grants: Option<RawGrants>,
    #[serde(default)]
    pub municipal_acts: Vec<RawActRule>,
    #[serde(default)]
    pub adoptions: Vec<RawAdoption>,
    #[serde(default)]
    pub complaints: Vec<RawComplaint>,
    #[serde(default)]
    pub designations: Vec<RawDesignation>,
    #[serde(default)]
    pub flexible_shares: Vec<RawFlexibleShares>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawRuleSetHeader {
    pub id: Option<String>,
    pub title: Option<String>,
    pub jurisdiction: Option<String>,
    /// `national`, `municipal` or `agreement`.
    pub layer: Option<String>,
    pub effective_from: Option<RawDate>,
    pub effective_to: Option<RawDate>,
    pub notes: Option<String>,
    #[serde(default)]
    pub sources: Vec<RawSourceDef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawSourceDef {
    pub id: String,
    pub document: String,
    pub section: Option<String>,
    pub title: String,
}

/// A rule's legal source: one of the set's sources, with the section it cites.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSourceRef {
    #[serde(rename = "ref")]
    pub reference: String,
    pub section: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawMessage {
    pub da: String,
    pub en: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawVocabulary {
    #[serde(default)]
    pub classes: Vec<RawTerm>,
    #[serde(default)]
    pub benefits: Vec<RawTerm>,
    #[serde(default)]
    pub referral_conditions: Vec<RawTerm>,
    #[serde(default)]
    pub grant_purposes: Vec<RawTerm>,
    #[serde(default)]
    pub priority_groups: Vec<RawTerm>,
    #[serde(default)]
    pub obligations: Vec<RawTerm>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawTerm {
    pub id: String,
    pub da: String,
    pub en: String,
}

/// Declares a rule struct: the fields every rule carries, then its own.
macro_rules! rule_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize)]
        pub struct $name {
            pub id: Option<String>,
            pub source: Option<RawSourceRef>,
            pub message: Option<RawMessage>,
            pub effective_from: Option<RawDate>,
            pub effective_to: Option<RawDate>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            pub fn common(&self) -> RawRuleCommon<'_> {
                RawRuleCommon {
                    id: self.id.as_deref(),
                    source: self.source.as_ref(),
                    message: self.message.as_ref(),
                    effective_from: self.effective_from.as_ref(),
                    effective_to: self.effective_to.as_ref(),
                }
            }
        }
    };
}

/// Fields every rule carries, borrowed. They are optional in the serde shape so that a
/// missing one is reported with the file's other errors rather than alone.
#[derive(Debug, Clone, Copy)]
pub struct RawRuleCommon<'a> {
    pub id: Option<&'a str>,
    pub source: Option<&'a RawSourceRef>,
    pub message: Option<&'a RawMessage>,
    pub effective_from: Option<&'a RawDate>,
    pub effective_to: Option<&'a RawDate>,
}

rule_struct! {
    /// A rule with no condition of its own: its meaning is fixed by where it stands.
    RawPlainRule {}
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawClassification {
    pub classes: Vec<RawClassRule>,
}

rule_struct! {
    RawClassRule {
        class: String,
        when: RawCondition,
    }
}

rule_struct! {
    RawLettingRule {
        /// `required` (default) or `option`.
        modality: Option<String>,
        /// For an option: the name municipal decisions adopt it by (versions of one
        /// provision over time share it).
        option: Option<String>,
        applies_to_classes: Vec<String>,
        when: RawCondition,
        unless: Option<RawCondition>,
        effect: String,
        #[serde(default)]
        obligations: Vec<RawObligation>,
    }
}

/// An obligation: a term, or a table that says to whom it is owed.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawObligation {
    Term(String),
    Conditional(RawConditionalObligation),
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawConditionalObligation {
    pub id: String,
    #[serde(default)]
    pub only_if_registered_before_adoption: bool,
}

rule_struct! {
    RawPriorityRule {
        group: String,
        when: RawCondition,
    }
}

rule_struct! {
    RawReferralRule {
        modality: Option<String>,
        option: Option<String>,
        applies_to_classes: Vec<String>,
        when: RawCondition,
        effect: String,
    }
}

/// National layers state the order, the period and the fallback; other layers may add
/// quotas only.
#[derive(Debug, Clone, Deserialize)]
pub struct RawChannelAssignment {
    pub order: Option<Vec<String>>,
    pub quota_period: Option<String>,
    #[serde(default)]
    pub quotas: Vec<RawQuota>,
    pub fallback: Option<RawPlainRule>,
}

rule_struct! {
    RawQuota {
        /// `floor` (default), `cap` or `goal`.
        modality: Option<String>,
        /// For a cap: an agreement layer may agree a larger share than the cap.
        #[serde(default)]
        agreement_may_exceed: bool,
        channel: String,
        /// A fixed share ("1/4", "0.44"), or `department_agreement` for the share agreed
        /// per department in the reference data.
        share: String,
        default_share: Option<String>,
        op: String,
        #[serde(default)]
        in_classes: Vec<String>,
        #[serde(default)]
        not_in_classes: Vec<String>,
        /// `department` (default) or `municipality`: whose vacancies the share counts.
        counted_over: Option<String>,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawGrants {
    pub pool_per_year: RawDecimal,
    pub standard_amount: RawDecimal,
    pub maximum_amount: Option<RawDecimal>,
    pub pool_rule: RawPlainRule,
    pub maximum_rule: Option<RawPlainRule>,
    pub approval_rule: RawPlainRule,
    #[serde(default)]
    pub eligibility: Vec<RawGrantRule>,
}

rule_struct! {
    RawGrantRule {
        purposes: Vec<String>,
        /// The grant is refused unless this holds.
        requires: RawCondition,
    }
}

/// A condition. Exactly one form must be used; validation enforces that.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawCondition {
    pub always: Option<bool>,
    pub fact: Option<String>,
    pub op: Option<String>,
    pub value: Option<RawValue>,
    pub all: Option<Vec<RawCondition>>,
    pub any: Option<Vec<RawCondition>>,
    pub at_least: Option<RawAtLeast>,
    pub not: Option<Box<RawCondition>>,
    pub designated_as: Option<String>,
    /// `{ listed_in_succession = { class = "ghetto", lists = 4 } }`, or `classes = [..]` for
    /// one history across renamed lists.
    pub listed_in_succession: Option<RawListedInSuccession>,
    pub benefit_receipt: Option<RawBenefitReceipt>,
    /// `{ date_within = "applicant.separated_on", period = "1 year" }`.
    pub date_within: Option<String>,
    pub period: Option<String>,
    /// `{ elapsed_from = "...", elapsed_to = "...", op = ">=", period = "1 year" }`.
    pub elapsed_from: Option<String>,
    pub elapsed_to: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawListedInSuccession {
    pub class: Option<String>,
    pub classes: Option<Vec<String>>,
    pub lists: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawAtLeast {
    pub n: u32,
    pub of: Vec<RawCondition>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawBenefitReceipt {
    pub kinds: Vec<String>,
    pub consecutive_calendar_months: u32,
    /// `whole_calendar_months` or `elapsed_months`: required when months are counted.
    pub month_counting: Option<String>,
    pub currently_receiving: bool,
    /// `applicant` or `applicant_and_partner`.
    pub persons: String,
    /// A cohabitant counts as a partner after this long together ("2 years").
    pub cohabitant_counts_after: Option<String>,
    /// `either` or `both`: whether one adult meeting the test suffices.
    pub household_rule: Option<String>,
}

rule_struct! {
    /// The basis and words of a municipal approval or rejection of a letting.
    RawActRule {
        act: String,
        applies_to_classes: Vec<String>,
    }
}

rule_struct! {
    /// A municipal decision to use an option of the national frame.
    RawAdoption {
        /// The national option adopted (the `option` name of its rules).
        option: String,
        #[serde(default)]
        areas: Vec<String>,
        #[serde(default)]
        benefits: Vec<String>,
        announced: RawDate,
        /// The decision owes its obligations to every rejected applicant, beyond the
        /// national rule's narrower duty.
        #[serde(default)]
        owed_to_all: bool,
    }
}

/// Klagevejledning for kinds of decision.
#[derive(Debug, Clone, Deserialize)]
pub struct RawComplaint {
    pub id: String,
    pub decisions: Vec<String>,
    pub source: RawSourceRef,
    pub body: RawMessage,
    pub how: RawMessage,
    pub deadline: RawMessage,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawProvenance {
    pub source: String,
    pub publisher: String,
    pub url: Option<String>,
    pub published: RawDate,
    pub reference: Option<String>,
    /// `complete`, `extract` or `illustrative`.
    pub completeness: String,
    /// For designations: how far the dwelling counts are from the source, when they
    /// differ from the list's completeness.
    pub dwellings_completeness: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawDesignation {
    pub id: String,
    pub jurisdiction: String,
    pub class: String,
    pub valid_from: RawDate,
    pub valid_to: RawDate,
    pub provenance: RawProvenance,
    pub areas: Vec<RawDesignatedArea>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawDesignatedArea {
    pub area: String,
    pub name: String,
    pub dwellings: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawFlexibleShares {
    pub id: String,
    pub jurisdiction: String,
    pub valid_from: RawDate,
    pub valid_to: Option<RawDate>,
    pub provenance: RawProvenance,
    pub departments: BTreeMap<String, String>,
}
