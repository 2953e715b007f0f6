//! The checked model the engine runs on. Every value here has passed validation: ids are
//! resolved, decimals are exact, templates only name placeholders their rule can fill.

pub mod compose;
pub mod facts;
pub mod layer;
mod quantity;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use facts::{
    AreaFacts, BenefitSpell, Evidence, Fact, FactType, FactValue, Household, Person, PersonRole,
};
pub use layer::{
    Adoption, ComplaintGuidance, ComplaintKind, LayerKind, LayerRef, QuotaModality, RuleModality,
    Words,
};
pub use quantity::{CalendarPeriod, CompareOp, Money, Share};
pub use template::{Slot, Template};

/// Where a rule comes from in law or agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalSource {
    pub document: Arc<str>,
    pub section: Option<Arc<str>>,
    pub title: Arc<str>,
}

/// A message in Danish and English.
#[derive(Debug, Clone)]
pub struct Message {
    pub da: Template,
    pub en: Template,
}

/// What every rule carries: a stable id, its source, its message and its own dates.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    pub id: Arc<str>,
    /// The id of the layer (rule file) the rule is written in.
    pub layer: Arc<str>,
    pub source: LegalSource,
    pub message: Message,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
}

impl RuleMeta {
    /// Whether the rule is in force on `date` (the set's own dates are checked apart).
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.effective_from.is_none_or(|from| date >= from)
            && self.effective_to.is_none_or(|to| date <= to)
    }
}

/// A term of the rule set's vocabulary with its words for a citizen.
#[derive(Debug, Clone)]
pub struct Term {
    pub id: Arc<str>,
    pub da: Arc<str>,
    pub en: Arc<str>,
}

#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub classes: Vec<Term>,
    pub benefits: Vec<Term>,
    pub referral_conditions: Vec<Term>,
    pub grant_purposes: Vec<Term>,
    pub priority_groups: Vec<Term>,
    pub obligations: Vec<Term>,
}

impl Vocabulary {
    pub fn term<'a>(terms: &'a [Term], id: &str) -> Option<&'a Term> {
        terms.iter().find(|t| &*t.id == id)
    }
}

/// A condition over the facts of a case.
#[derive(Debug, Clone)]
pub enum Condition {
    Always,
    Compare {
        fact: Fact,
        op: CompareOp,
        value: FactValue,
    },
    /// The fact (a set, or a single term) shares at least one member with `values`.
    In {
        fact: Fact,
        values: Vec<Arc<str>>,
        negated: bool,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
    AtLeast {
        n: u32,
        of: Vec<Condition>,
    },
    Not(Box<Condition>),
    /// The area is on a designation list of this class in force on the date.
    DesignatedAs(Arc<str>),
    /// The area is on the list of one of these classes in force on the date and on each
    /// of the `lists - 1` lists of them before it, one after another ("de seneste 4 år").
    /// Several classes carry one history across a renaming (ghetto, then parallel society).
    ListedInSuccession {
        classes: Arc<[Arc<str>]>,
        lists: u32,
    },
    BenefitReceipt(BenefitTest),
    /// The date fact lies within `period` before the decision date.
    DateWithin {
        fact: Fact,
        period: CalendarPeriod,
    },
    /// The time from one date fact to another compares with `period`.
    Elapsed {
        from: Fact,
        to: Fact,
        op: CompareOp,
        period: CalendarPeriod,
    },
}

impl Condition {
    /// Calls `f` on this condition and every condition inside it, outermost first.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Condition)) {
        f(self);
        match self {
            Condition::All(items) | Condition::Any(items) => items.iter().for_each(|i| i.visit(f)),
            Condition::AtLeast { of, .. } => of.iter().for_each(|i| i.visit(f)),
            Condition::Not(inner) => inner.visit(f),
            _ => {}
        }
    }
}

/// Which adults of a household a benefit test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenefitPersons {
    Applicant,
    ApplicantAndPartner,
}

/// Whether one qualifying adult suffices or all counted adults must qualify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdRule {
    Either,
    Both,
}

/// How months of benefit receipt are counted; the rule file states which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthCounting {
    /// Calendar months covered from their first to their last day by the run of receipt
    /// ("sammenhængende kalendermåneder"): a run from 2006-09-15 has its first whole
    /// month in October.
    WholeCalendarMonths,
    /// Months elapsed from the start of the run, day for day (2006-09-15 → 2007-03-15 is 6).
    ElapsedMonths,
}

#[derive(Debug, Clone)]
pub struct BenefitTest {
    pub kinds: Vec<Arc<str>>,
    pub consecutive_calendar_months: u32,
    pub month_counting: MonthCounting,
    pub currently_receiving: bool,
    pub persons: BenefitPersons,
    pub cohabitant_counts_after: Option<CalendarPeriod>,
    pub household_rule: HouseholdRule,
}

/// One band or designation of the classification, tried in order.
#[derive(Debug, Clone)]
pub struct ClassRule {
    pub meta: RuleMeta,
    pub class: Arc<str>,
    pub when: Condition,
}

/// What a letting rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LettingEffect {
    Reject,
    RequireMunicipalApproval,
}

/// A duty a rejection creates, and to whom it is owed.
#[derive(Debug, Clone)]
pub struct Obligation {
    pub id: Arc<str>,
    /// Owed only to applicants on the waiting list before the adopting decision took
    /// effect (§ 51 b's replacement dwelling). An applicant whose registration date is not
    /// stated is treated as owed.
    pub only_if_registered_before_adoption: bool,
}

#[derive(Debug, Clone)]
pub struct LettingRule {
    pub meta: RuleMeta,
    pub modality: RuleModality,
    /// For an option: the name municipal decisions adopt it by.
    pub option: Option<Arc<str>>,
    pub applies_to_classes: Vec<Arc<str>>,
    pub when: Condition,
    pub unless: Option<Condition>,
    pub effect: LettingEffect,
    pub obligations: Vec<Obligation>,
    /// In a composed rule set: the municipal decision that brought an option into force.
    pub adoption: Option<Arc<Adoption>>,
}

impl LettingRule {
    /// Whether the rule applies to a vacancy in `area` of class `class`.
    pub fn applies_to(&self, area: &str, class: &str) -> bool {
        self.applies_to_classes.iter().any(|c| &**c == class)
            && self.adoption.as_ref().is_none_or(|a| a.covers_area(area))
    }
}

#[derive(Debug, Clone)]
pub struct PriorityRule {
    pub meta: RuleMeta,
    pub group: Arc<str>,
    pub when: Condition,
}

#[derive(Debug, Clone)]
pub struct ReferralRule {
    pub meta: RuleMeta,
    pub modality: RuleModality,
    pub option: Option<Arc<str>>,
    pub applies_to_classes: Vec<Arc<str>>,
    pub when: Condition,
    pub adoption: Option<Arc<Adoption>>,
}

impl ReferralRule {
    pub fn applies_to(&self, area: &str, class: &str) -> bool {
        self.applies_to_classes.iter().any(|c| &**c == class)
            && self.adoption.as_ref().is_none_or(|a| a.covers_area(area))
    }
}

/// What the municipality does by hand in a letting case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActKind {
    Approval,
    Rejection,
}

impl ActKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActKind::Approval => "approval",
            ActKind::Rejection => "rejection",
        }
    }
}

/// The legal basis and the words of a municipal act (an approval or rejection of a
/// letting), with the caseworker's main considerations as `{considerations}`.
#[derive(Debug, Clone)]
pub struct ActRule {
    pub meta: RuleMeta,
    pub act: ActKind,
    pub applies_to_classes: Vec<Arc<str>>,
}

/// The ways a vacancy can be let, in the vocabulary of the law.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    MunicipalReferral,
    Flexible,
    InternalList,
    ExternalList,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::MunicipalReferral,
        Channel::Flexible,
        Channel::InternalList,
        Channel::ExternalList,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::MunicipalReferral => "municipal_referral",
            Channel::Flexible => "flexible",
            Channel::InternalList => "internal_list",
            Channel::ExternalList => "external_list",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Channel::MunicipalReferral => ("kommunal anvisning", "municipal referral"),
            Channel::Flexible => ("fleksibel udlejning", "flexible letting"),
            Channel::InternalList => ("intern venteliste", "internal waiting list"),
            Channel::ExternalList => ("ekstern venteliste", "external waiting list"),
        }
    }
}

/// How long quota counters run before they start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    CalendarYear,
    CalendarQuarter,
}

/// Whose vacancies a share is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountedOver {
    Department,
    Municipality,
}

#[derive(Debug, Clone)]
pub enum ShareSource {
    Fixed(Share),
    /// The share agreed for the department; `default` where none is agreed.
    DepartmentAgreement {
        default: Share,
    },
}

#[derive(Debug, Clone)]
pub struct Quota {
    pub meta: RuleMeta,
    pub modality: QuotaModality,
    pub channel: Channel,
    pub share: ShareSource,
    pub op: CompareOp,
    pub in_classes: Vec<Arc<str>>,
    pub not_in_classes: Vec<Arc<str>>,
    pub counted_over: CountedOver,
    /// Where `share` is written, for frame diagnostics.
    pub share_at: (usize, usize),
    /// For a cap: it bounds the municipality's own decisions, and an agreement with the
    /// housing organisations may agree more.
    pub agreement_may_exceed: bool,
}

impl Quota {
    pub fn applies_to_class(&self, class: &str) -> bool {
        (self.in_classes.is_empty() || self.in_classes.iter().any(|c| &**c == class))
            && !self.not_in_classes.iter().any(|c| &**c == class)
    }
}

/// Letting channels. National law gives the order, the period and the fallback; every
/// layer may add quotas (floors, caps, goals).
#[derive(Debug, Clone, Default)]
pub struct ChannelAssignment {
    pub order: Vec<Channel>,
    pub period: Option<QuotaPeriod>,
    pub quotas: Vec<Quota>,
    /// The channel a vacancy goes to when no quota is due: the last in `order`.
    pub fallback: Option<RuleMeta>,
}

impl ChannelAssignment {
    /// The quotas that assign vacancies: floors only (caps bound, goals are monitored).
    pub fn floors(&self) -> impl Iterator<Item = &Quota> {
        self.quotas
            .iter()
            .filter(|q| q.modality == QuotaModality::Floor)
    }

    pub fn period(&self) -> QuotaPeriod {
        self.period.unwrap_or(QuotaPeriod::CalendarYear)
    }
}

#[derive(Debug, Clone)]
pub struct GrantRule {
    pub meta: RuleMeta,
    pub purposes: Vec<Arc<str>>,
    pub requires: Condition,
}

#[derive(Debug, Clone)]
pub struct GrantRules {
    pub pool_per_year: Money,
    pub standard_amount: Money,
    /// A cap on one grant, where a layer sets one (with the rule that refuses above it).
    pub maximum: Option<(Money, RuleMeta)>,
    pub pool_rule: RuleMeta,
    pub approval_rule: RuleMeta,
    pub eligibility: Vec<GrantRule>,
}

/// A checked rule set: one layer of the law (a rule file), or the composition of every
/// layer in force for one municipality over one period (see [`compose`]).
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub id: Arc<str>,
    pub title: Arc<str>,
    pub jurisdiction: Arc<str>,
    /// The layer a file is; a composed set has the kind of its lowest layer.
    pub layer: LayerKind,
    /// The layers that make up the set: the file itself, or every layer composed.
    pub layers: Vec<LayerRef>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub sources: Vec<LegalSource>,
    /// SHA-256 over the rule set's file, hex.
    pub content_hash: Arc<str>,
    pub file: Arc<str>,
    /// Where `effective_from` and `effective_to` are written, for timeline diagnostics.
    pub dates_at: DatesAt,
    pub vocabulary: Vocabulary,
    pub classification: Vec<ClassRule>,
    pub letting_rules: Vec<LettingRule>,
    pub flexible_priority: Vec<PriorityRule>,
    pub referral_rules: Vec<ReferralRule>,
    pub channels: ChannelAssignment,
    pub grants: Option<GrantRules>,
    pub municipal_acts: Vec<ActRule>,
    /// Municipal decisions to use national options (municipal layers only; composed sets
    /// carry them on the rules they adopt).
    pub adoptions: Vec<Arc<Adoption>>,
    pub complaints: Vec<ComplaintGuidance>,
}

impl RuleSet {
    pub fn in_force(&self, date: NaiveDate) -> bool {
        date >= self.effective_from && self.effective_to.is_none_or(|to| date <= to)
    }

    /// Every rule id of the set, for coverage checks.
    pub fn rule_ids(&self) -> Vec<Arc<str>> {
        self.rule_metas()
            .into_iter()
            .map(|m| m.id.clone())
            .collect()
    }

    /// Every rule of the set (its id, source and message), in file order by kind.
    pub fn rule_metas(&self) -> Vec<&RuleMeta> {
        let mut metas: Vec<&RuleMeta> = Vec::new();
        metas.extend(self.classification.iter().map(|r| &r.meta));
        metas.extend(self.letting_rules.iter().map(|r| &r.meta));
        metas.extend(self.flexible_priority.iter().map(|r| &r.meta));
        metas.extend(self.referral_rules.iter().map(|r| &r.meta));
        metas.extend(self.channels.floors().map(|r| &r.meta));
        metas.extend(self.channels.fallback.iter());
        metas.extend(self.adoptions.iter().map(|a| &a.meta));
        metas.extend(self.municipal_acts.iter().map(|a| &a.meta));
        if let Some(grants) = &self.grants {
            metas.push(&grants.pool_rule);
            metas.extend(grants.maximum.iter().map(|(_, r)| r));
            metas.push(&grants.approval_rule);
            metas.extend(grants.eligibility.iter().map(|r| &r.meta));
        }
        metas
    }

    pub fn class_term(&self, class: &str) -> Option<&Term> {
        Vocabulary::term(&self.vocabulary.classes, class)
    }

    /// The lists the set's classification reads, as groups of classes that follow one
    /// another: one class for `designated_as`, a history's classes (renamed lists) for
    /// `listed_in_succession`. The newest list of a group is the one due each year.
    pub fn list_histories(&self) -> Vec<&[Arc<str>]> {
        let mut out: Vec<&[Arc<str>]> = Vec::new();
        for r in &self.classification {
            r.when.visit(&mut |c| {
                let read: &[Arc<str>] = match c {
                    Condition::DesignatedAs(class) => std::slice::from_ref(class),
                    Condition::ListedInSuccession { classes, .. } => classes,
                    _ => return,
                };
                if !out.contains(&read) {
                    out.push(read);
                }
            });
        }
        out
    }

    /// The classes whose designation lists the set's classification reads.
    pub fn listed_classes(&self) -> Vec<&Arc<str>> {
        let mut out: Vec<&Arc<str>> = Vec::new();
        for class in self.list_histories().into_iter().flatten() {
            if !out.contains(&class) {
                out.push(class);
            }
        }
        out
    }

    /// The complaint guidance for a kind of decision: the lowest layer that gives one.
    pub fn complaint(&self, kind: ComplaintKind) -> Option<&ComplaintGuidance> {
        self.complaints
            .iter()
            .rev()
            .find(|c| c.decisions.contains(&kind))
    }
}

/// Line and column of a record's dates in its file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatesAt {
    pub from: (usize, usize),
    pub to: (usize, usize),
}

/// How much of its source a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// Every entry of the published source.
    Complete,
    /// Some entries of the published source, copied as published.
    Extract,
    /// Made up for examples and the demo; not taken from a source.
    Illustrative,
}

impl Completeness {
    pub fn as_str(self) -> &'static str {
        match self {
            Completeness::Complete => "complete",
            Completeness::Extract => "extract",
            Completeness::Illustrative => "illustrative",
        }
    }
}

/// Where a piece of reference data comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The document the data is taken from.
    pub source: Arc<str>,
    pub publisher: Arc<str>,
    pub url: Option<Arc<str>>,
    pub published: NaiveDate,
    pub reference: Option<Arc<str>>,
    pub completeness: Completeness,
    /// The dwelling counts of a designation list, where they are less complete than the list.
    pub dwellings_completeness: Option<Completeness>,
    /// What the list leaves out, or why it is illustrative.
    pub note: Option<Arc<str>>,
}

/// A ministry list of designated areas, valid for one period.
#[derive(Debug, Clone)]
pub struct Designation {
    pub id: Arc<str>,
    pub jurisdiction: Arc<str>,
    pub class: Arc<str>,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub provenance: Provenance,
    /// Area id → (name, dwellings).
    pub areas: BTreeMap<Arc<str>, (Arc<str>, Option<u32>)>,
    pub file: Arc<str>,
    pub dates_at: DatesAt,
    pub content_hash: Arc<str>,
}

/// Flexible-letting shares agreed per department.
#[derive(Debug, Clone)]
pub struct FlexibleShares {
    pub id: Arc<str>,
    pub jurisdiction: Arc<str>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub provenance: Provenance,
    pub departments: BTreeMap<Arc<str>, Share>,
    pub file: Arc<str>,
    pub content_hash: Arc<str>,
}

/// Dated reference data beside the rules.
#[derive(Debug, Clone, Default)]
pub struct ReferenceData {
    pub designations: Vec<Designation>,
    pub flexible_shares: Vec<FlexibleShares>,
}

/// The national jurisdiction code; a municipality falls back to it.
pub const NATIONAL: &str = "DK";

impl ReferenceData {
    /// Designations in force on `date` that apply to `municipality` (its own and national).
    pub fn designations_on<'a>(
        &'a self,
        municipality: &'a str,
        date: NaiveDate,
    ) -> impl Iterator<Item = &'a Designation> + 'a {
        self.designations.iter().filter(move |d| {
            (&*d.jurisdiction == municipality || &*d.jurisdiction == NATIONAL)
                && d.valid_from <= date
                && date <= d.valid_to
        })
    }

    /// The lists of `classes` that name `area`, newest first: one in force on `date`, and
    /// each before it that ends the day before the next begins (lists follow one another
    /// yearly). Empty when no list in force names the area. A list that does not name the
    /// area is passed over (a national and a municipal list may run side by side); a year
    /// the area is missing from breaks the run, since the next list naming it ends too
    /// early. A list that begins with or after one already counted adds no year.
    pub fn succession<'a>(
        &'a self,
        municipality: &str,
        area: &str,
        classes: &[Arc<str>],
        date: NaiveDate,
    ) -> Vec<&'a Designation> {
        let mut lists: Vec<&Designation> = self
            .designations
            .iter()
            .filter(|d| {
                (&*d.jurisdiction == municipality || &*d.jurisdiction == NATIONAL)
                    && classes.contains(&d.class)
                    && d.valid_from <= date
            })
            .collect();
        lists.sort_by_key(|d| std::cmp::Reverse(d.valid_from));
        let mut run: Vec<&Designation> = Vec::new();
        for d in lists.into_iter().filter(|d| d.areas.contains_key(area)) {
            match run.last() {
                None if d.valid_to < date => break,
                None => {}
                Some(newer) if d.valid_from >= newer.valid_from => continue,
                Some(newer) => {
                    let follows = d
                        .valid_to
                        .succ_opt()
                        .is_some_and(|next| next >= newer.valid_from);
                    if !follows {
                        break;
                    }
                }
            }
            run.push(d);
        }
        run
    }

    /// The agreed flexible share of a department on `date`, with the list it comes from.
    pub fn flexible_share(
        &self,
        municipality: &str,
        department: &str,
        date: NaiveDate,
    ) -> Option<(&FlexibleShares, Share)> {
        self.flexible_shares
            .iter()
            .filter(|s| {
                &*s.jurisdiction == municipality
                    && s.valid_from <= date
                    && s.valid_to.is_none_or(|to| date <= to)
            })
            .find_map(|s| s.departments.get(department).map(|share| (s, *share)))
    }
}

/// Every checked layer and all reference data, and the layers composed per municipality
/// and period: what the engine is given.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    /// The layers, one per rule file.
    pub sets: Vec<Arc<RuleSet>>,
    pub reference: ReferenceData,
    /// The layers in force composed, per jurisdiction and period (built by [`RuleBook::new`]).
    pub composed: Vec<Arc<RuleSet>>,
    /// The files the book was loaded from, so that the version that judged a decision can
    /// be kept and loaded again (see `crate::log`); empty for a book built in code.
    pub sources: Arc<[RuleSource]>,
}

/// A rule file as it was loaded: its name and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSource {
    pub name: Arc<str>,
    pub text: Arc<str>,
}

impl RuleBook {
    /// A rule book of checked layers, composed for every municipality that has layers of
    /// its own and for municipalities under national law alone.
    pub fn new(sets: Vec<Arc<RuleSet>>, reference: ReferenceData) -> Self {
        let composed = compose::compose_all(&sets);
        RuleBook {
            sets,
            reference,
            composed,
            sources: Arc::new([]),
        }
    }

    /// The same book, with the files it was loaded from.
    pub fn with_sources(mut self, sources: Vec<RuleSource>) -> Self {
        self.sources = sources.into();
        self
    }

    /// The rules that judge a case of `municipality` on `date`: the national layer in
    /// force with the municipality's own decisions and agreements in force on that date.
    /// None when no national layer is in force: a municipal layer never stands alone.
    pub fn in_force(&self, municipality: &str, date: NaiveDate) -> Option<&Arc<RuleSet>> {
        let own = self
            .composed
            .iter()
            .find(|s| &*s.jurisdiction == municipality && s.in_force(date));
        own.or_else(|| {
            self.composed
                .iter()
                .find(|s| &*s.jurisdiction == NATIONAL && s.in_force(date))
        })
    }

    /// One hash of every layer and every list of reference data, by id and content: the
    /// version of the book, the same for the same files wherever they are loaded.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut entries: Vec<(&str, &str)> = self
            .sets
            .iter()
            .map(|s| (&*s.id, &*s.content_hash))
            .chain(
                self.reference
                    .designations
                    .iter()
                    .map(|d| (&*d.id, &*d.content_hash)),
            )
            .chain(
                self.reference
                    .flexible_shares
                    .iter()
                    .map(|f| (&*f.id, &*f.content_hash)),
            )
            .collect();
        // By id, so the order the files were read in does not change the version.
        entries.sort_unstable();
        let mut hasher = Sha256::new();
        for (id, hash) in entries {
            hasher.update(id.as_bytes());
            hasher.update(b"\0");
            hasher.update(hash.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }

    /// A composed rule set or a layer, by id.
    pub fn set(&self, id: &str) -> Option<&Arc<RuleSet>> {
        self.composed
            .iter()
            .chain(self.sets.iter())
            .find(|s| &*s.id == id)
    }
}
