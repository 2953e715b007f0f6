//! The layers of the law: national law sets the frame, the municipality decides within it,
//! agreements with the housing organisations add department shares and goals. Each layer
//! is its own file with its own dates, sources and content hash; a case is judged by every
//! layer in force on its date, composed into one [`super::RuleSet`] (see `compose`).

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{LegalSource, RuleMeta};

/// Which level of the law a rule file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// An act of parliament (almenboligloven and its amendments): jurisdiction `DK`.
    National,
    /// The municipal council's decisions within the national frame.
    Municipal,
    /// An agreement between the municipality and its housing organisations.
    Agreement,
}

impl LayerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::National => "national",
            LayerKind::Municipal => "municipal",
            LayerKind::Agreement => "agreement",
        }
    }

    pub fn parse(text: &str) -> Option<LayerKind> {
        [
            LayerKind::National,
            LayerKind::Municipal,
            LayerKind::Agreement,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// What a letting or referral rule of the law is: a duty that applies by itself, or an
/// option that applies only where a municipal layer has adopted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleModality {
    /// "skal": applies wherever its conditions hold.
    #[default]
    Required,
    /// "kan": the municipality may decide to use it (an `[[adoptions]]` entry).
    Option,
}

/// What a share on a letting channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaModality {
    /// The channel takes vacancies until the share is reached: forced.
    #[default]
    Floor,
    /// "op til": the most a lower layer may claim on the channel; assigns nothing.
    Cap,
    /// "målet": monitored in the report, never forced on a vacancy.
    Goal,
}

impl QuotaModality {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaModality::Floor => "floor",
            QuotaModality::Cap => "cap",
            QuotaModality::Goal => "goal",
        }
    }
}

/// A municipal decision to use an option of the national frame, in named areas.
#[derive(Debug, Clone)]
pub struct Adoption {
    /// The decision's own id, dates, source and message (named in every decision it shapes).
    pub meta: RuleMeta,
    /// The national option adopted: the `option` name its rules carry.
    pub option: Arc<str>,
    /// The areas the decision names; empty means every area the option may apply to.
    pub areas: Vec<Arc<str>>,
    /// The benefits the decision uses, a subset of the option's; empty means all of them.
    pub benefits: Vec<Arc<str>>,
    /// When the decision was announced (offentliggjort).
    pub announced: NaiveDate,
    /// The decision owes the option's obligations to every rejected applicant, not only to
    /// those the national rule names (a municipality may give more than the law requires).
    pub owed_to_all: bool,
    /// Where `option` and `benefits` are written, for frame diagnostics.
    pub option_at: (usize, usize),
    pub benefits_at: (usize, usize),
    pub areas_at: (usize, usize),
}

impl Adoption {
    pub fn covers_area(&self, area: &str) -> bool {
        self.areas.is_empty() || self.areas.iter().any(|a| &**a == area)
    }
}

/// The kinds of decision a citizen can complain about, each with its own guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintKind {
    /// A housing organisation rejects an applicant (§ 51 b, § 51 c).
    LettingRejection,
    /// The municipality approves or rejects a letting.
    MunicipalLettingDecision,
    /// The municipality makes a replacement offer.
    ReplacementOffer,
    /// A municipal referral is refused or accepted.
    ReferralDecision,
    /// The municipality decides a relocation grant.
    GrantDecision,
}

impl ComplaintKind {
    pub const ALL: [ComplaintKind; 5] = [
        ComplaintKind::LettingRejection,
        ComplaintKind::MunicipalLettingDecision,
        ComplaintKind::ReplacementOffer,
        ComplaintKind::ReferralDecision,
        ComplaintKind::GrantDecision,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintKind::LettingRejection => "letting_rejection",
            ComplaintKind::MunicipalLettingDecision => "municipal_letting_decision",
            ComplaintKind::ReplacementOffer => "replacement_offer",
            ComplaintKind::ReferralDecision => "referral_decision",
            ComplaintKind::GrantDecision => "grant_decision",
        }
    }

    pub fn parse(text: &str) -> Option<ComplaintKind> {
        ComplaintKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Text in Danish and English, with no placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Words {
    pub da: Arc<str>,
    pub en: Arc<str>,
}

/// Klagevejledning (forvaltningsloven § 25): where, how and by when to complain.
#[derive(Debug, Clone)]
pub struct ComplaintGuidance {
    pub id: Arc<str>,
    pub decisions: Vec<ComplaintKind>,
    pub source: LegalSource,
    /// The body that hears the complaint.
    pub body: Words,
    pub how: Words,
    pub deadline: Words,
}

/// One layer that judged a decision, as the explanation names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub id: Arc<str>,
    pub kind: LayerKind,
    pub title: Arc<str>,
    pub content_hash: Arc<str>,
    pub effective_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<NaiveDate>,
}
