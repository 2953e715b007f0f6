//! The compliance report as data: what [`super::compute`] returns and what every renderer
//! reads. Serialised with serde, this is the stable JSON format documented in
//! `docs/report-format.md`: fields are only ever added (with `format_version` unchanged);
//! a field that changes meaning or goes away raises `format_version`.
//!
//! Conventions of the JSON: dates are `YYYY-MM-DD` (Danish local dates); shares are exact
//! decimal strings between `"0"` and `"1"` (`"0.4444"`, never a percentage or a float);
//! money is integer øre in fields ending `_ore`; every count is a [`Count`] with the ids of
//! the decisions behind it (empty at [`Detail::Summary`]); lists are in a fixed order
//! (areas and departments by id, decisions by event date and id).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{Completeness, QuotaModality};

/// The name of the format, the first field of every report.
pub const FORMAT: &str = "letting-rules/compliance-report";
/// Raised only when a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;
/// Event dates are local dates in this zone.
pub const TIME_ZONE: &str = "Europe/Copenhagen";

/// How much evidence a report carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// Every figure, without the decision ids behind it.
    Summary,
    /// Every figure with the ids of the decisions behind it.
    #[default]
    Full,
}

/// The quarterly (or any period's) compliance report of one municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the code that wrote it.
    pub format_version: u32,
    /// The municipality's code, e.g. `0101` (Copenhagen).
    pub municipality: String,
    pub period: PeriodInfo,
    pub detail: Detail,
    /// When the report was made; set by the caller (the library reads no clock).
    pub generated_at: Option<DateTime<Utc>>,
    /// The rule sets in force during the period, in date order (more than one when the
    /// law changed inside it).
    pub rule_sets: Vec<RuleSetSpan>,
    /// The decisions dated in the period, by the rule set (and file version) that judged
    /// them.
    pub decisions_by_rule_set: Vec<RuleSetUse>,
    /// How many decisions of the municipality are dated in the period.
    pub decisions_in_period: u64,
    pub summary: Summary,
    pub areas: Vec<AreaReport>,
    pub departments: Vec<DepartmentReport>,
    pub municipality_flexible: MunicipalityFlexible,
    pub combined_letting: CombinedLetting,
    pub replacement_offers: ReplacementOffers,
    pub referrals: Referrals,
    pub grants: Grants,
    pub indicators: Vec<Indicator>,
    /// Every failed check and every referral into a barred area, in one list.
    pub violations: Vec<Violation>,
    /// How the figures are counted, in words.
    pub notes: Vec<String>,
}

/// The period and how events fall in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// `2007Q2` for a quarter, `2007-04-01..2007-05-15` for another range.
    pub label: String,
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Always [`TIME_ZONE`].
    pub time_zone: String,
    /// The first instant of the period, RFC 3339 with the local offset.
    pub starts_at: String,
    /// The first instant after the period, RFC 3339 with the local offset.
    pub ends_before: String,
    /// The rule that places an event in the period, in words.
    pub dating_rule: String,
}

/// A number and the decisions behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub count: u64,
    /// The ids of the decisions counted, in (event date, id) order; empty at summary
    /// detail.
    pub decision_ids: Vec<String>,
}

/// A number of money decisions, their sum and the decisions behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountCount {
    pub count: u64,
    pub amount_ore: i64,
    pub decision_ids: Vec<String>,
}

/// A count under a name (a channel, a reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCount {
    /// A channel (`flexible`, ...), a rule id, or another key the section documents.
    pub key: String,
    #[serde(flatten)]
    pub count: Count,
}

/// A rule set in force during part of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetSpan {
    pub rule_set_id: String,
    pub title: String,
    /// SHA-256 of the rule set's file as loaded now.
    pub content_hash: String,
    /// The part of the period it covers.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// How many decisions of the period a rule set (in one version of its file) judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetUse {
    pub rule_set_id: String,
    pub rule_set_hash: String,
    pub decisions: u64,
    /// Whether the hash is that of the file loaded now (false: an earlier version).
    pub current_version: bool,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Nothing was let in the part of the period checked, so there is nothing to judge.
    NoLettings,
    /// No target applies (no agreed share, no class floor).
    NoTarget,
}

/// The checks' outcomes, and how many violations the report lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub checks: u64,
    pub passed: u64,
    pub failed: u64,
    pub no_lettings: u64,
    pub violations: u64,
}

/// A designation or flexible-share list used as evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListRef {
    pub id: String,
    pub content_hash: String,
    /// How much of its source the list holds; a figure resting on an extract or on
    /// illustrative data says so here.
    #[serde(default = "complete")]
    pub completeness: Completeness,
}

fn complete() -> Completeness {
    Completeness::Complete
}

/// What a check compares with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The department's agreed flexible share.
    AgreedShare,
    /// The floor of the area's class (at least 44 % in high-risk areas under the 2007
    /// agreement).
    ClassFloor,
    /// The municipality-wide share (every 9th dwelling let flexibly).
    MunicipalShare,
}

/// Flexible lettings against one target, over one part of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    /// `floor` (the rules force it on vacancies) or `goal` (monitored here, never forced).
    #[serde(default)]
    pub modality: QuotaModality,
    /// `department:<id>`, `area:<id>` or `municipality:<code>`.
    pub scope: String,
    /// The quota rule that sets the target.
    pub rule_id: String,
    pub rule_set_id: String,
    /// The part of the period checked (the whole period unless the class or the rule
    /// set changed inside it).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The area's class over that part (none for the municipality-wide check).
    pub area_class: Option<String>,
    /// The target as the rule file writes it: `"0.44"`, `"1/9"`.
    pub target: String,
    /// The target as a decimal share, to 4 places.
    pub target_share: Decimal,
    /// The agreed-share list the target comes from, for an agreed share.
    pub list: Option<ListRef>,
    /// Dwellings let in that part of the period.
    pub lettings: u64,
    /// Of those, let flexibly.
    pub flexible: u64,
    /// Flexible lettings required: target × lettings, exact.
    pub required: Decimal,
    /// flexible ÷ lettings to 4 places; none when nothing was let.
    pub share: Option<Decimal>,
    pub status: CheckStatus,
    /// The lettings counted (the flexible ones are in `flexible_ids`).
    pub letting_ids: Vec<String>,
    pub flexible_ids: Vec<String>,
}

/// The class of an area over part of the period, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSpan {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// None when the rules could not classify the area (see `error`).
    pub class: Option<String>,
    /// The class in the rule set's words.
    pub class_en: Option<String>,
    pub class_da: Option<String>,
    pub rule_set_id: Option<String>,
    /// The classification rule that fired.
    pub rule_id: Option<String>,
    pub reason_en: Option<String>,
    pub reason_da: Option<String>,
    /// The statistics decision whose figures were used.
    pub statistics_decision: Option<String>,
    /// Designation lists naming the area.
    pub designation_lists: Vec<ListRef>,
    pub error: Option<String>,
}

/// A change of class inside the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassChange {
    /// The first day of the new class.
    pub date: NaiveDate,
    pub from_class: Option<String>,
    pub to_class: Option<String>,
    /// The rule that gives the new class.
    pub rule_id: Option<String>,
    pub rule_set_id: Option<String>,
    pub reason_en: Option<String>,
}

/// One area: its class, its departments' totals and the class floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaReport {
    pub id: String,
    pub name: Option<String>,
    pub departments: Vec<String>,
    /// The class on the period's first and last day.
    pub class_at_start: Option<String>,
    pub class_at_end: Option<String>,
    pub classes: Vec<ClassSpan>,
    pub changes: Vec<ClassChange>,
    pub vacancies: Count,
    pub lettings: Count,
    pub flexible: Count,
    pub flexible_share: Option<Decimal>,
    /// The class floor over the area's lettings.
    pub checks: Vec<Check>,
    pub status: CheckStatus,
}

/// One department: vacancies, lettings by channel, flexible lettings and their checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentReport {
    pub id: String,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub area: Option<String>,
    pub dwellings: Option<u32>,
    pub class_at_end: Option<String>,
    pub class_changed: bool,
    /// Vacancies registered in the period (channel assignments).
    pub vacancies: Count,
    /// By the channel each was given: `municipal_referral`, `flexible`, `internal_list`,
    /// `external_list`.
    pub vacancies_by_channel: Vec<NamedCount>,
    /// Dwellings let in the period: move-ins and accepted replacement offers.
    pub lettings: Count,
    /// By how they were let: the four channels, `not_let_flexibly` (a flexible vacancy
    /// let to an applicant without priority) and `replacement_offer`.
    pub lettings_by_channel: Vec<NamedCount>,
    /// Lettings let flexibly (move-ins through the flexible channel).
    pub flexible: Count,
    pub flexible_share: Option<Decimal>,
    /// The agreed share on the period's last day (`"0.50"`), with its list.
    pub agreed_share: Option<String>,
    pub agreed_share_list: Option<ListRef>,
    pub checks: Vec<Check>,
    pub status: CheckStatus,
}

/// The municipality-wide flexible share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MunicipalityFlexible {
    pub vacancies: Count,
    pub vacancies_by_channel: Vec<NamedCount>,
    pub lettings: Count,
    pub lettings_by_channel: Vec<NamedCount>,
    pub flexible: Count,
    pub flexible_share: Option<Decimal>,
    pub checks: Vec<Check>,
    pub status: CheckStatus,
}

/// Combined letting in exposed areas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinedLetting {
    /// Lettings proposed in the period in exposed areas.
    pub proposals: Count,
    /// Of those, sent to the municipality for approval.
    pub sent_for_approval: Count,
    /// Of those, rejected by the rules on the spot.
    pub rejected_by_rules: Count,
    /// The municipality's approvals dated in the period.
    pub approvals: Count,
    /// The municipality's rejections dated in the period.
    pub municipal_rejections: Count,
    /// Rejections by the rule that rejected (its id), or `municipal_rejection` for the
    /// municipality's own.
    pub rejections_by_reason: Vec<Reason>,
    /// Lettings still waiting for the municipality at the end of the period.
    pub pending_at_end: Count,
    /// The proposal date of the oldest of those.
    pub oldest_pending: Option<NaiveDate>,
}

/// Decisions grouped by the rule behind them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// A rule id, or `municipal_rejection`.
    pub reason: String,
    /// The legal source the rule names.
    pub source: Option<String>,
    #[serde(flatten)]
    pub count: Count,
}

/// Replacement dwellings for applicants rejected under combined letting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementOffers {
    /// Rejections in the period that owe the applicant an offer.
    pub owed: Count,
    /// Offers made in the period.
    pub made: Count,
    /// Answers in the period.
    pub accepted: Count,
    pub declined: Count,
}

/// A municipal referral into an area the rules bar referrals to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarredReferral {
    pub decision_id: String,
    pub date: NaiveDate,
    pub department: Option<String>,
    pub area: Option<String>,
    pub area_class: Option<String>,
    /// `refused` (the service refused it) or `accepted`.
    pub outcome: String,
}

/// Municipal referrals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referrals {
    pub total: Count,
    pub accepted: Count,
    pub refused: Count,
    /// Every referral into an exposed or high-risk area (a class the rule set bars),
    /// each a violation.
    pub into_barred_areas: Vec<BarredReferral>,
    /// Accepted referrals elsewhere: the compensation.
    pub compensating: Count,
    pub compensating_by_department: Vec<NamedCount>,
}

/// The year's relocation-grant pool at the end of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAtEnd {
    pub year: i32,
    pub rule_set_id: Option<String>,
    /// The pool the rule set in force on 1 January sets; none if no set is in force.
    pub pool_ore: Option<i64>,
    /// Grants of the year approved by the period's end.
    pub approved: AmountCount,
    /// Of those, cancelled by the period's end (their amount returns to the pool).
    pub cancelled: AmountCount,
    /// Of those, paid by the period's end.
    pub paid: AmountCount,
    /// Approved, neither paid nor cancelled.
    pub committed_ore: i64,
    /// pool − approved + cancelled; none without a pool.
    pub remaining_ore: Option<i64>,
}

/// Relocation grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// Grant decisions dated in the period, approved or refused.
    pub applications: AmountCount,
    pub approvals: AmountCount,
    pub refusals: AmountCount,
    /// Refusals by the rule that refused.
    pub refusals_by_reason: Vec<Reason>,
    /// Payments dated in the period (of grants of any year).
    pub payments: AmountCount,
    /// Cancellations dated in the period (of grants of any year).
    pub cancellations: AmountCount,
    pub pool: PoolAtEnd,
}

/// How an indicator stands against its success criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// The success criterion holds.
    Met,
    /// Better than the baseline, the target not yet reached.
    Improving,
    NotMet,
    /// No figures to judge.
    NoData,
}

/// The direction an indicator must move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Stay flat or fall.
    NotIncrease,
    Decrease,
    Increase,
}

/// One of the six indicators of the 2007 status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// 1 to 6, as numbered in the status report.
    pub number: u8,
    /// A stable key: `dwellings_in_exposed_areas`, `transfer_income_share_exposed`,
    /// `transfer_income_share_high_risk`, `self_supporting_weeks_exposed`,
    /// `flexible_move_ins`, `combined_letting_approvals`.
    pub key: String,
    pub name_en: String,
    pub name_da: String,
    /// `dwellings`, `share`, `weeks` or `decisions`.
    pub unit: String,
    /// On the period's last day; none without data.
    pub value: Option<Decimal>,
    /// Counted from `since` to the period's end (indicators 5 and 6).
    pub cumulative: bool,
    pub since: Option<NaiveDate>,
    /// For a cumulative indicator: what the period itself added.
    pub in_period: Option<Count>,
    pub baseline: Option<Decimal>,
    /// The date the baseline was measured.
    pub baseline_as_of: Option<NaiveDate>,
    pub baseline_text: String,
    pub direction: Direction,
    /// A numeric target and its date, where the status report sets one.
    pub target: Option<Decimal>,
    pub target_by: Option<NaiveDate>,
    pub target_text: String,
    pub assessment: Assessment,
    pub evidence: IndicatorEvidence,
    /// The value at the end of each quarter up to the period's end (the last point is
    /// the period's end).
    pub history: Vec<HistoryPoint>,
    pub notes: Vec<String>,
}

/// What an indicator's value rests on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorEvidence {
    /// Designation lists (indicator 1).
    pub designation_lists: Vec<ListRef>,
    /// Statistics decisions (indicators 2 to 4).
    pub statistics_decisions: Vec<String>,
    /// The areas behind the value and each one's part.
    pub areas: Vec<IndicatorArea>,
    /// For a cumulative count: the decision-log filter that reproduces it.
    pub filter: Option<String>,
}

/// One area's part of an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorArea {
    pub area: String,
    pub class: Option<String>,
    /// The area's figure (dwellings, a share, weeks).
    pub value: Option<Decimal>,
    /// The weight (residents) of a weighted average.
    pub residents: Option<u64>,
    /// Where the figure comes from: a list id, a statistics decision id, or `registry`.
    pub source: Option<String>,
}

/// An indicator's value at a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// `2007Q1`, or the period's label for the last point.
    pub label: String,
    pub date: NaiveDate,
    pub value: Option<Decimal>,
}

/// A failed check or a barred referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// `flexible_share` (a failed check) or `barred_referral`.
    pub kind: String,
    pub scope: String,
    pub rule_id: Option<String>,
    pub date: Option<NaiveDate>,
    pub description: String,
    pub decision_ids: Vec<String>,
}
