//! The decision log's contract: one typed body per kind of decision, its schema version,
//! and the indexed columns derived from it.
//!
//! Every act the service judges or records is appended to the log as a [`Entry`]. The
//! store keeps the body as JSON beside the indexed columns the reports filter on; this
//! module is the only place that turns one into the other. Writers build an [`Entry`] and
//! call [`Entry::into_record`], which derives the outcome, the rule set and, where the body
//! holds them, the channel, the area's class and the amount; readers call [`decode`] and
//! work with [`Body`], never with JSON paths.
//!
//! The JSON field names are the ones the log has always had, so existing databases decode
//! unchanged. A change of layout is a new [`SCHEMA_VERSION`] with an upgrade from the one
//! before ([`upgrade`]); a body of a version newer than this program is refused.

mod inputs;
mod records;
mod upgrade;

pub use inputs::{ClassificationCase, Inputs, Judged};
pub use records::*;
pub use upgrade::{Step, upgrade, upgrade_with};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{
    AreaClassification, ChannelDecision, Explanation, GrantDecision, GrantOutcome, LettingDecision,
    LettingOutcome, MunicipalActDecision, ReferralDecision, ReferralOutcome,
};
use crate::model::Channel;
use crate::store::{Area, DecisionKind, DecisionRecord, Department, Organisation};

/// The layout of the bodies this program writes: 1, the layout before bodies were
/// versioned; 2, judged decisions name the rule book that judged them (`rule_book`).
pub const SCHEMA_VERSION: u32 = 2;

/// The kinds of decision the engine judges (they keep their facts and name their rule
/// book); the other kinds record acts.
pub const JUDGED_KINDS: [DecisionKind; 7] = [
    DecisionKind::ChannelAssignment,
    DecisionKind::Letting,
    DecisionKind::Approval,
    DecisionKind::MunicipalRejection,
    DecisionKind::ReplacementOffer,
    DecisionKind::Referral,
    DecisionKind::Grant,
];

/// A decision could not be read or written under the log's contract.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(
        "decision `{id}` was written with body schema version {version}, newer than this \
         program reads ({SCHEMA_VERSION}): run a version of letting-rules that knows it"
    )]
    NewerSchema { id: String, version: u32 },
    #[error(
        "decision `{id}` ({kind}, schema version {version}) does not match the log's contract \
         at `{path}`: {message}"
    )]
    Body {
        id: String,
        kind: &'static str,
        version: u32,
        path: String,
        message: String,
    },
    #[error(
        "registry decision `{id}` records `{outcome}`; a registry decision records an \
         `organisation`, an `area` or a `department`"
    )]
    RegistryOutcome { id: String, outcome: String },
    #[error("a {kind} body cannot be encoded as JSON: {message}")]
    Encode { kind: &'static str, message: String },
}

// ----- the bodies ----------------------------------------------------------------------------

/// A vacancy given its letting channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAssignment {
    pub request: RegisterVacancy,
    pub decision: ChannelDecision,
    /// The content hash of the rule book that judged it (schema version 2 on; the book is
    /// kept in the store), none for a decision made before books were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_book: Option<String>,
}

/// A proposed letting and the rules' decision on it. The household's facts are not kept:
/// the explanation keeps what the reasons rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LettingProposal {
    pub vacancy_id: String,
    pub applicant_ref: String,
    pub decision: LettingDecision,
    /// The municipal referral the letting lets the vacancy to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_id: Option<String>,
    /// The content hash of the rule book that judged it (schema version 2 on; the book is
    /// kept in the store), none for a decision made before books were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_book: Option<String>,
}

/// The municipality's approval or rejection of a letting, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MunicipalActRecord {
    #[serde(flatten)]
    pub act: MunicipalAct,
    /// The engine's reasons for the act (rule, class, considerations, complaint guidance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<MunicipalActDecision>,
    /// The content hash of the rule book that judged it (schema version 2 on; the book is
    /// kept in the store), none for a decision made before books were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_book: Option<String>,
}

/// A recorded move-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveIn {
    pub request: RecordMoveIn,
    pub outcome: MoveInRecorded,
}

/// A replacement dwelling offered, with the class of its area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementOffer {
    pub request: MakeOffer,
    pub classification: AreaClassification,
    /// The content hash of the rule book that judged it (schema version 2 on; the book is
    /// kept in the store), none for a decision made before books were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_book: Option<String>,
}

/// A municipal referral and the rules' decision on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub vacancy_id: String,
    pub applicant_ref: String,
    pub decision: ReferralDecision,
    /// The caseworker who made the act (the console records its signed-in user); none
    /// when the caller did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker: Option<String>,
    /// The content hash of the rule book that judged it (schema version 2 on; the book is
    /// kept in the store), none for a decision made before books were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_book: Option<String>,
}

/// A relocation grant decided against the year's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub applicant_ref: String,
    pub purpose: String,
    pub decision: GrantDecision,
    /// The caseworker who made the act (the console records its signed-in user); none
    /// when the caller did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseworker: Option<String>,
    /// The content hash of the rule book that judged it (schema version 2 on; the book is
    /// kept in the store), none for a decision made before books were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_book: Option<String>,
}

/// A registry record as the municipality wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryRecord {
    Organisation(Organisation),
    Area(Area),
    Department(Department),
}

impl RegistryRecord {
    fn outcome(&self) -> Outcome {
        Outcome::Registered(match self {
            RegistryRecord::Organisation(_) => "organisation",
            RegistryRecord::Area(_) => "area",
            RegistryRecord::Department(_) => "department",
        })
    }
}

/// The body of a decision, by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    ChannelAssignment(ChannelAssignment),
    Letting(LettingProposal),
    Approval(MunicipalActRecord),
    MunicipalRejection(MunicipalActRecord),
    MoveIn(MoveIn),
    ReplacementOffer(ReplacementOffer),
    OfferAnswer(AnswerOffer),
    Referral(Referral),
    Grant(Grant),
    GrantPayment(GrantAct),
    GrantCancellation(GrantAct),
    Statistics(LoadStatistics),
    Registry(RegistryRecord),
}

/// What a decision decided: the `outcome` column, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A vacancy's channel.
    Channel(Channel),
    /// The rules' decision on a proposed letting.
    Letting(LettingOutcome),
    /// The municipality approved a letting.
    Approved,
    /// The municipality rejected a letting.
    RejectedByMunicipality,
    MovedIn,
    Offered,
    /// The answer to a replacement offer: accepted or declined.
    OfferAnswered {
        accepted: bool,
    },
    Referral(ReferralOutcome),
    Grant(GrantOutcome),
    Paid,
    Cancelled,
    Loaded,
    /// A registry record of the kind named.
    Registered(&'static str),
}

impl Outcome {
    /// The text of the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Channel(channel) => channel.as_str(),
            Outcome::Letting(LettingOutcome::Approved) => "approved",
            Outcome::Letting(LettingOutcome::Rejected) => "rejected",
            Outcome::Letting(LettingOutcome::PendingMunicipalApproval) => {
                "pending_municipal_approval"
            }
            Outcome::Approved => "approved",
            Outcome::RejectedByMunicipality => "rejected_by_municipality",
            Outcome::MovedIn => "moved_in",
            Outcome::Offered => "offered",
            Outcome::OfferAnswered { accepted: true } => "accepted",
            Outcome::OfferAnswered { accepted: false } => "declined",
            Outcome::Referral(ReferralOutcome::Accepted) => "accepted",
            Outcome::Referral(ReferralOutcome::Refused) => "refused",
            Outcome::Grant(GrantOutcome::Approved) => "approved",
            Outcome::Grant(GrantOutcome::Refused) => "refused",
            Outcome::Paid => "paid",
            Outcome::Cancelled => "cancelled",
            Outcome::Loaded => "loaded",
            Outcome::Registered(what) => what,
        }
    }
}

/// The channel a move-in counts under when a flexible vacancy went to a tenant without
/// flexible priority (the shortfall carries to the next vacancy).
pub const NOT_LET_FLEXIBLY: &str = "not_let_flexibly";

impl Body {
    pub fn kind(&self) -> DecisionKind {
        match self {
            Body::ChannelAssignment(_) => DecisionKind::ChannelAssignment,
            Body::Letting(_) => DecisionKind::Letting,
            Body::Approval(_) => DecisionKind::Approval,
            Body::MunicipalRejection(_) => DecisionKind::MunicipalRejection,
            Body::MoveIn(_) => DecisionKind::MoveIn,
            Body::ReplacementOffer(_) => DecisionKind::ReplacementOffer,
            Body::OfferAnswer(_) => DecisionKind::OfferAnswer,
            Body::Referral(_) => DecisionKind::Referral,
            Body::Grant(_) => DecisionKind::Grant,
            Body::GrantPayment(_) => DecisionKind::GrantPayment,
            Body::GrantCancellation(_) => DecisionKind::GrantCancellation,
            Body::Statistics(_) => DecisionKind::Statistics,
            Body::Registry(_) => DecisionKind::Registry,
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            Body::ChannelAssignment(b) => Outcome::Channel(b.decision.channel),
            Body::Letting(b) => Outcome::Letting(b.decision.outcome),
            Body::Approval(_) => Outcome::Approved,
            Body::MunicipalRejection(_) => Outcome::RejectedByMunicipality,
            Body::MoveIn(_) => Outcome::MovedIn,
            Body::ReplacementOffer(_) => Outcome::Offered,
            Body::OfferAnswer(b) => Outcome::OfferAnswered {
                accepted: b.accepted,
            },
            Body::Referral(b) => Outcome::Referral(b.decision.outcome),
            Body::Grant(b) => Outcome::Grant(b.decision.outcome),
            Body::GrantPayment(_) => Outcome::Paid,
            Body::GrantCancellation(_) => Outcome::Cancelled,
            Body::Statistics(_) => Outcome::Loaded,
            Body::Registry(r) => r.outcome(),
        }
    }

    /// The reasons the decision was given, where the rules gave it any.
    pub fn explanation(&self) -> Option<&Explanation> {
        match self {
            Body::ChannelAssignment(b) => Some(&b.decision.explanation),
            Body::Letting(b) => Some(&b.decision.explanation),
            Body::Approval(b) | Body::MunicipalRejection(b) => {
                b.decision.as_ref().map(|d| &d.explanation)
            }
            Body::ReplacementOffer(b) => Some(&b.classification.explanation),
            Body::Referral(b) => Some(&b.decision.explanation),
            Body::Grant(b) => Some(&b.decision.explanation),
            Body::MoveIn(_)
            | Body::OfferAnswer(_)
            | Body::GrantPayment(_)
            | Body::GrantCancellation(_)
            | Body::Statistics(_)
            | Body::Registry(_) => None,
        }
    }

    /// The content hash of the rule book that judged the decision, if it was kept.
    pub fn rule_book(&self) -> Option<&str> {
        match self {
            Body::ChannelAssignment(b) => b.rule_book.as_deref(),
            Body::Letting(b) => b.rule_book.as_deref(),
            Body::Approval(b) | Body::MunicipalRejection(b) => b.rule_book.as_deref(),
            Body::ReplacementOffer(b) => b.rule_book.as_deref(),
            Body::Referral(b) => b.rule_book.as_deref(),
            Body::Grant(b) => b.rule_book.as_deref(),
            _ => None,
        }
    }

    /// The engine's decision the body records, for a judged kind of decision.
    pub fn judged(&self) -> Option<Judged> {
        match self {
            Body::ChannelAssignment(b) => Some(Judged::Channel(b.decision.clone())),
            Body::Letting(b) => Some(Judged::Letting(b.decision.clone())),
            Body::Approval(b) | Body::MunicipalRejection(b) => {
                b.decision.clone().map(Judged::MunicipalAct)
            }
            Body::ReplacementOffer(b) => Some(Judged::Classification(b.classification.clone())),
            Body::Referral(b) => Some(Judged::Referral(b.decision.clone())),
            Body::Grant(b) => Some(Judged::Grant(b.decision.clone())),
            _ => None,
        }
    }

    /// The same body with the engine's decision replaced by `judged` (of the same kind),
    /// judged under the rule book `rule_book`; none when the kinds differ.
    pub fn with_judged(&self, judged: Judged, rule_book: Option<String>) -> Option<Body> {
        Some(match (self, judged) {
            (Body::ChannelAssignment(b), Judged::Channel(decision)) => {
                Body::ChannelAssignment(ChannelAssignment {
                    decision,
                    rule_book,
                    ..b.clone()
                })
            }
            (Body::Letting(b), Judged::Letting(decision)) => Body::Letting(LettingProposal {
                decision,
                rule_book,
                ..b.clone()
            }),
            (Body::Approval(b), Judged::MunicipalAct(decision)) => {
                Body::Approval(MunicipalActRecord {
                    decision: Some(decision),
                    rule_book,
                    ..b.clone()
                })
            }
            (Body::MunicipalRejection(b), Judged::MunicipalAct(decision)) => {
                Body::MunicipalRejection(MunicipalActRecord {
                    decision: Some(decision),
                    rule_book,
                    ..b.clone()
                })
            }
            (Body::ReplacementOffer(b), Judged::Classification(classification)) => {
                Body::ReplacementOffer(ReplacementOffer {
                    classification,
                    rule_book,
                    ..b.clone()
                })
            }
            (Body::Referral(b), Judged::Referral(decision)) => Body::Referral(Referral {
                decision,
                rule_book,
                ..b.clone()
            }),
            (Body::Grant(b), Judged::Grant(decision)) => Body::Grant(Grant {
                decision,
                rule_book,
                ..b.clone()
            }),
            _ => return None,
        })
    }

    /// The channel the body itself decides or implies, if any.
    fn channel(&self) -> Option<&'static str> {
        match self {
            Body::ChannelAssignment(b) => Some(b.decision.channel.as_str()),
            Body::Referral(_) => Some(Channel::MunicipalReferral.as_str()),
            Body::MoveIn(b) if b.outcome.flexible_shortfall => Some(NOT_LET_FLEXIBLY),
            _ => None,
        }
    }

    /// The area's class the body's own decision found, if any.
    fn area_class(&self) -> Option<&str> {
        match self {
            Body::ChannelAssignment(b) => Some(&b.decision.area_class),
            Body::Letting(b) => Some(&b.decision.area_class),
            Body::ReplacementOffer(b) => Some(&b.classification.class),
            Body::Referral(b) => Some(&b.decision.area_class),
            _ => None,
        }
    }

    /// The amount the body itself decides, in øre.
    fn amount_ore(&self) -> Option<i64> {
        match self {
            Body::Grant(b) => Some(b.decision.amount.ore()),
            _ => None,
        }
    }

    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Body::ChannelAssignment(b) => serde_json::to_value(b),
            Body::Letting(b) => serde_json::to_value(b),
            Body::Approval(b) | Body::MunicipalRejection(b) => serde_json::to_value(b),
            Body::MoveIn(b) => serde_json::to_value(b),
            Body::ReplacementOffer(b) => serde_json::to_value(b),
            Body::OfferAnswer(b) => serde_json::to_value(b),
            Body::Referral(b) => serde_json::to_value(b),
            Body::Grant(b) => serde_json::to_value(b),
            Body::GrantPayment(b) | Body::GrantCancellation(b) => serde_json::to_value(b),
            Body::Statistics(b) => serde_json::to_value(b),
            Body::Registry(RegistryRecord::Organisation(b)) => serde_json::to_value(b),
            Body::Registry(RegistryRecord::Area(b)) => serde_json::to_value(b),
            Body::Registry(RegistryRecord::Department(b)) => serde_json::to_value(b),
        }
    }
}

// ----- writing -------------------------------------------------------------------------------

/// Where a decision belongs, as the operation knows it from the case: the columns its
/// body does not hold. The channel and the class given here are used only for kinds whose
/// body decides none of its own (an approval inherits its letting's, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub organisation: Option<String>,
    pub department: Option<String>,
    pub area: Option<String>,
    /// The vacancy, letting, offer, referral or grant the decision concerns.
    pub subject: Option<String>,
    pub channel: Option<String>,
    pub area_class: Option<String>,
    /// The amount a payment or cancellation settles (a grant's own decision holds its).
    pub amount_ore: Option<i64>,
}

/// A decision about to be appended to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub municipality: String,
    /// Who asked: `municipality`, `organisation:<id>` or `auditor`.
    pub principal: String,
    pub event_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub placement: Placement,
    pub body: Body,
}

impl Entry {
    /// The entry of a stored decision with another body: the same id, dates, principal
    /// and placement (a decision judged again, say).
    pub fn replacing(stored: &DecisionRecord, body: Body) -> Entry {
        Entry {
            id: stored.id.clone(),
            municipality: stored.municipality.clone(),
            principal: stored.principal.clone(),
            event_date: stored.event_date,
            recorded_at: stored.recorded_at,
            placement: Placement {
                organisation: stored.organisation.clone(),
                department: stored.department.clone(),
                area: stored.area.clone(),
                subject: stored.subject.clone(),
                channel: stored.channel.clone(),
                area_class: stored.area_class.clone(),
                amount_ore: stored.amount_ore,
            },
            body,
        }
    }

    /// The stored record: the body at [`SCHEMA_VERSION`], and the indexed columns derived
    /// from it (and from the placement where the body holds no such fact).
    pub fn into_record(self) -> Result<DecisionRecord, LogError> {
        let kind = self.body.kind();
        let json = self.body.to_json().map_err(|e| LogError::Encode {
            kind: kind.as_str(),
            message: e.to_string(),
        })?;
        let explanation = self.body.explanation();
        let placement = self.placement;
        Ok(DecisionRecord {
            id: self.id,
            kind,
            municipality: self.municipality,
            organisation: placement.organisation,
            department: placement.department,
            area: placement.area,
            subject: placement.subject,
            event_date: self.event_date,
            recorded_at: self.recorded_at,
            outcome: self.body.outcome().as_str().to_owned(),
            channel: self.body.channel().map(str::to_owned).or(placement.channel),
            area_class: self
                .body
                .area_class()
                .map(str::to_owned)
                .or(placement.area_class),
            amount_ore: self.body.amount_ore().or(placement.amount_ore),
            rule_set_id: explanation.map(|e| e.rule_set_id.to_string()),
            rule_set_hash: explanation.map(|e| e.rule_set_hash.to_string()),
            principal: self.principal,
            body: json,
            schema_version: SCHEMA_VERSION,
        })
    }
}

// ----- reading -------------------------------------------------------------------------------

/// A stored decision with its body read under the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// The record as stored: its columns, and its body as written.
    pub record: DecisionRecord,
    pub body: Body,
}

/// Reads a stored decision's body under the contract.
pub fn read(record: DecisionRecord) -> Result<Logged, LogError> {
    let body = decode(&record)?;
    Ok(Logged { record, body })
}

/// The typed body of a stored decision, upgraded to [`SCHEMA_VERSION`].
pub fn decode(record: &DecisionRecord) -> Result<Body, LogError> {
    let upgraded;
    let json = if record.schema_version == SCHEMA_VERSION {
        &record.body
    } else {
        upgraded = upgrade(record)?;
        &upgraded
    };
    decode_from(record, json)
}

/// [`decode`] for a record whose body is still its stored text (`Tx::decision_texts`): a
/// body of this version is read straight into its type, without a JSON tree between.
pub fn decode_text(record: &DecisionRecord, text: &str) -> Result<Body, LogError> {
    if record.schema_version == SCHEMA_VERSION {
        return decode_from(record, text);
    }
    let tree: serde_json::Value = serde_json::from_str(text).map_err(|e| LogError::Body {
        id: record.id.clone(),
        kind: record.kind.as_str(),
        version: record.schema_version,
        path: String::new(),
        message: e.to_string(),
    })?;
    decode(&DecisionRecord {
        body: tree,
        ..record.clone()
    })
}

/// Where a body is read from: its JSON tree or its JSON text.
trait BodySource {
    fn typed<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>>;
}

impl BodySource for &serde_json::Value {
    fn typed<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        // Tracking the path costs on every body; only a body that fails needs it, so it is
        // read again with the path for the error.
        T::deserialize(*self).or_else(|_| serde_path_to_error::deserialize(*self))
    }
}

impl BodySource for &str {
    fn typed<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        serde_json::from_str(self).or_else(|_| {
            let mut json = serde_json::Deserializer::from_str(self);
            serde_path_to_error::deserialize(&mut json)
        })
    }
}

fn decode_from(record: &DecisionRecord, json: impl BodySource) -> Result<Body, LogError> {
    let fail = |e: serde_path_to_error::Error<serde_json::Error>| LogError::Body {
        id: record.id.clone(),
        kind: record.kind.as_str(),
        version: record.schema_version,
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    };
    Ok(match record.kind {
        DecisionKind::ChannelAssignment => Body::ChannelAssignment(json.typed().map_err(fail)?),
        DecisionKind::Letting => Body::Letting(json.typed().map_err(fail)?),
        DecisionKind::Approval => Body::Approval(json.typed().map_err(fail)?),
        DecisionKind::MunicipalRejection => Body::MunicipalRejection(json.typed().map_err(fail)?),
        DecisionKind::MoveIn => Body::MoveIn(json.typed().map_err(fail)?),
        DecisionKind::ReplacementOffer => Body::ReplacementOffer(json.typed().map_err(fail)?),
        DecisionKind::OfferAnswer => Body::OfferAnswer(json.typed().map_err(fail)?),
        DecisionKind::Referral => Body::Referral(json.typed().map_err(fail)?),
        DecisionKind::Grant => Body::Grant(json.typed().map_err(fail)?),
        DecisionKind::GrantPayment => Body::GrantPayment(json.typed().map_err(fail)?),
        DecisionKind::GrantCancellation => Body::GrantCancellation(json.typed().map_err(fail)?),
        DecisionKind::Statistics => Body::Statistics(json.typed().map_err(fail)?),
        DecisionKind::Registry => Body::Registry(match record.outcome.as_str() {
            "organisation" => RegistryRecord::Organisation(json.typed().map_err(fail)?),
            "area" => RegistryRecord::Area(json.typed().map_err(fail)?),
            "department" => RegistryRecord::Department(json.typed().map_err(fail)?),
            other => {
                return Err(LogError::RegistryOutcome {
                    id: record.id.clone(),
                    outcome: other.to_owned(),
                });
            }
        }),
    })
}
