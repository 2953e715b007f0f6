//! Raw rule files → the checked model. Collects every error it can find, each with its
//! file:line:column, rather than stopping at the first.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::diagnostic::{Diagnostic, Seg, Severity, SourceMap, did_you_mean, parse_path};
use super::raw::*;
use crate::model::facts::FactScope;
use crate::model::*;

/// Everything one file contributed.
#[derive(Debug, Default)]
pub struct FileContents {
    pub rule_set: Option<RuleSet>,
    pub designations: Vec<Designation>,
    pub flexible_shares: Vec<FlexibleShares>,
}

/// Every key the rule file format knows, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "rule_set",
    "id",
    "title",
    "jurisdiction",
    "effective_from",
    "effective_to",
    "notes",
    "sources",
    "document",
    "section",
    "vocabulary",
    "classes",
    "benefits",
    "referral_conditions",
    "grant_purposes",
    "priority_groups",
    "obligations",
    "da",
    "en",
    "classification",
    "class",
    "when",
    "source",
    "ref",
    "message",
    "letting_rules",
    "applies_to_classes",
    "unless",
    "effect",
    "flexible_priority",
    "group",
    "referral_rules",
    "channel_assignment",
    "order",
    "quota_period",
    "quotas",
    "fallback",
    "channel",
    "share",
    "default_share",
    "op",
    "in_classes",
    "not_in_classes",
    "counted_over",
    "relocation_grants",
    "pool_per_year",
    "standard_amount",
    "maximum_amount",
    "pool_rule",
    "maximum_rule",
    "approval_rule",
    "eligibility",
    "purposes",
    "requires",
    "always",
    "fact",
    "value",
    "all",
    "any",
    "at_least",
    "n",
    "of",
    "not",
    "designated_as",
    "benefit_receipt",
    "kinds",
    "consecutive_calendar_months",
    "currently_receiving",
    "persons",
    "cohabitant_counts_after",
    "household_rule",
    "date_within",
    "period",
    "elapsed_from",
    "elapsed_to",
    "designations",
    "valid_from",
    "valid_to",
    "provenance",
    "published",
    "reference",
    "areas",
    "area",
    "name",
    "dwellings",
    "flexible_shares",
    "departments",
];

/// Parses and checks one file. Diagnostics go to `diags`; the contents are returned only
/// as far as they are free of errors.
pub fn check_file(file: &Arc<str>, text: &str, diags: &mut Vec<Diagnostic>) -> FileContents {
    let root = match toml::de::DeTable::parse(text) {
        Ok(root) => root,
        Err(error) => {
            let map = SourceMap::new(file.clone(), text, None);
            let offset = error.span().map_or(0, |s| s.start);
            diags.push(map.at_offset(
                Severity::Error,
                offset,
                format!("not valid TOML: {}", error.message().trim()),
                None,
            ));
            return FileContents::default();
        }
    };
    let map = SourceMap::new(file.clone(), text, Some(root.get_ref().clone()));
    let mut unknown = Vec::new();
    let raw: Result<RawFile, _> =
        serde_ignored::deserialize(toml::de::Deserializer::from(root), |path| {
            unknown.push(path.to_string())
        });
    for path in &unknown {
        let segs = parse_path(path);
        let key = match segs.last() {
            Some(Seg::Key(k)) => k.clone(),
            _ => path.clone(),
        };
        diags.push(
            map.diagnostic(
                Severity::Error,
                &segs,
                true,
                format!("unknown key `{key}`"),
                did_you_mean(&key, KNOWN_KEYS.iter().copied())
                    .or_else(|| Some("see rules/README.md for the keys each table takes".into())),
            ),
        );
    }
    let raw = match raw {
        Ok(raw) => raw,
        Err(error) => {
            let offset = error.span().map_or(0, |s| s.start);
            diags.push(map.at_offset(
                Severity::Error,
                offset,
                error.message().trim().to_owned(),
                type_hint(error.message()),
            ));
            return FileContents::default();
        }
    };
    let errors_before = count_errors(diags);
    let mut checker = Checker { map: &map, diags };
    let contents = checker.file(&raw);
    if count_errors(checker.diags) > errors_before || !unknown.is_empty() {
        // A file with an error contributes nothing: a broken rule set is never used.
        return FileContents::default();
    }
    contents
}

fn count_errors(diags: &[Diagnostic]) -> usize {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

fn type_hint(message: &str) -> Option<String> {
    if message.contains("floating point") {
        Some("write decimals as strings, such as \"0.44\": TOML floats lose digits".into())
    } else if message.contains("missing field") {
        Some("add the key; rules/README.md lists what each table needs".into())
    } else {
        None
    }
}

type Path = Vec<Seg>;

fn key(path: &[Seg], k: &str) -> Path {
    let mut p = path.to_vec();
    p.push(Seg::Key(k.to_owned()));
    p
}

fn idx(path: &[Seg], i: usize) -> Path {
    let mut p = path.to_vec();
    p.push(Seg::Index(i));
    p
}

/// Which facts, constructs and placeholders a kind of rule may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleKind {
    Classification,
    Letting,
    Priority,
    Referral,
    Quota,
    Grant,
}

impl RuleKind {
    fn allows_scope(self, scope: FactScope) -> bool {
        match self {
            RuleKind::Classification => scope == FactScope::Area,
            RuleKind::Letting | RuleKind::Priority | RuleKind::Referral => {
                matches!(
                    scope,
                    FactScope::Applicant | FactScope::Household | FactScope::Area
                )
            }
            RuleKind::Quota => false,
            RuleKind::Grant => matches!(
                scope,
                FactScope::Grant | FactScope::Household | FactScope::Applicant
            ),
        }
    }

    fn slots(self) -> &'static [Slot] {
        use Slot::*;
        match self {
            RuleKind::Classification => &[
                Area,
                AreaClass,
                Share,
                Date,
                Designation,
                Criteria,
                Residents,
            ],
            RuleKind::Letting => &[
                Area,
                AreaClass,
                Date,
                Department,
                Person,
                Benefit,
                Months,
                RequiredMonths,
            ],
            RuleKind::Priority => &[Group, Date, Area, Department],
            RuleKind::Referral => &[Area, AreaClass, Date, Conditions, Department],
            RuleKind::Quota => &[
                Channel,
                QuotaShare,
                Vacancies,
                ChannelCount,
                Department,
                AreaClass,
                Area,
                Date,
            ],
            RuleKind::Grant => &[Amount, Remaining, Pool, Maximum, Purpose, Date],
        }
    }
}

struct Checker<'m, 'a> {
    map: &'m SourceMap<'a>,
    diags: &'m mut Vec<Diagnostic>,
}

/// Ids and vocabulary known while checking one rule set.
struct SetScope {
    sources: BTreeMap<String, LegalSource>,
    vocabulary: Vocabulary,
    rule_ids: HashSet<String>,
}

impl SetScope {
    fn terms(&self, list: TermList) -> &[Term] {
        match list {
            TermList::Classes => &self.vocabulary.classes,
            TermList::Benefits => &self.vocabulary.benefits,
            TermList::ReferralConditions => &self.vocabulary.referral_conditions,
            TermList::GrantPurposes => &self.vocabulary.grant_purposes,
            TermList::PriorityGroups => &self.vocabulary.priority_groups,
            TermList::Obligations => &self.vocabulary.obligations,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum TermList {
    Classes,
    Benefits,
    ReferralConditions,
    GrantPurposes,
    PriorityGroups,
    Obligations,
}

impl TermList {
    fn name(self) -> &'static str {
        match self {
            TermList::Classes => "vocabulary.classes",
            TermList::Benefits => "vocabulary.benefits",
            TermList::ReferralConditions => "vocabulary.referral_conditions",
            TermList::GrantPurposes => "vocabulary.grant_purposes",
            TermList::PriorityGroups => "vocabulary.priority_groups",
            TermList::Obligations => "vocabulary.obligations",
        }
    }
}

impl Checker<'_, '_> {
    fn error(&mut self, path: &[Seg], message: impl Into<String>, hint: Option<String>) {
        let d = self
            .map
            .diagnostic(Severity::Error, path, false, message, hint);
        self.diags.push(d);
    }

    fn file(&mut self, raw: &RawFile) -> FileContents {
        let root: Path = Vec::new();
        let mut contents = FileContents::default();
        let has_rules = raw.vocabulary.is_some()
            || raw.classification.is_some()
            || !raw.letting_rules.is_empty()
            || raw.channel_assignment.is_some();
        match &raw.rule_set {
            Some(header) => contents.rule_set = self.rule_set(header, raw),
            None if has_rules => self.error(
                &root,
                "rules without a `[rule_set]` header",
                Some("add a [rule_set] table with id, title, jurisdiction and dates".into()),
            ),
            None => {}
        }
        for (i, d) in raw.designations.iter().enumerate() {
            if let Some(d) = self.designation(&idx(&key(&root, "designations"), i), d) {
                contents.designations.push(d);
            }
        }
        for (i, s) in raw.flexible_shares.iter().enumerate() {
            if let Some(s) = self.flexible_shares(&idx(&key(&root, "flexible_shares"), i), s) {
                contents.flexible_shares.push(s);
            }
        }
        if contents.rule_set.is_none()
            && raw.rule_set.is_none()
            && raw.designations.is_empty()
            && raw.flexible_shares.is_empty()
        {
            self.error(
                &root,
                "the file holds neither a rule set nor reference data",
                Some("rule files start with [rule_set]; reference data with [[designations]] or [[flexible_shares]]".into()),
            );
        }
        contents
    }

    fn date(&mut self, path: &[Seg], raw: &RawDate) -> Option<NaiveDate> {
        let text = match raw {
            RawDate::Toml(dt) => match (dt.date, dt.time) {
                (Some(d), None) if dt.offset.is_none() => {
                    return NaiveDate::from_ymd_opt(
                        i32::from(d.year),
                        u32::from(d.month),
                        u32::from(d.day),
                    );
                }
                _ => {
                    self.error(
                        path,
                        format!("`{dt}` is not a calendar date"),
                        Some("write a date without a time, such as 2007-01-01".into()),
                    );
                    return None;
                }
            },
            RawDate::Text(text) => text,
        };
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.error(
                    path,
                    format!("`{text}` is not a date"),
                    Some("write it as YYYY-MM-DD, such as 2007-01-01".into()),
                );
                None
            }
        }
    }

    fn jurisdiction(&mut self, path: &[Seg], text: &str) -> Option<Arc<str>> {
        let ok = text == NATIONAL || (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Some(text.into())
        } else {
            self.error(
                path,
                format!("`{text}` is not a jurisdiction"),
                Some("use a four-digit municipality code such as \"0101\" (Copenhagen), or \"DK\" for national law".into()),
            );
            None
        }
    }

    fn share(&mut self, path: &[Seg], text: &str) -> Option<Share> {
        match Share::from_str(text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(path, e.to_string(), None);
                None
            }
        }
    }

    fn money(&mut self, path: &[Seg], raw: &RawDecimal) -> Option<Money> {
        match raw {
            RawDecimal::Text(text) => match Money::from_str(text) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.error(path, e.to_string(), None);
                    None
                }
            },
            RawDecimal::Float(f) => {
                self.error(
                    path,
                    format!("amount `{f}` is written as a float"),
                    Some(format!(
                        "write it as a string, \"{f:.2}\": TOML floats lose digits"
                    )),
                );
                None
            }
            RawDecimal::Integer(i) => {
                self.error(
                    path,
                    format!("amount `{i}` is written as an integer"),
                    Some(format!("write it as a string with øre, \"{i}.00\"")),
                );
                None
            }
        }
    }

    fn period(&mut self, path: &[Seg], text: &str) -> Option<CalendarPeriod> {
        match CalendarPeriod::from_str(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(path, e.to_string(), None);
                None
            }
        }
    }

    fn provenance(&mut self, path: &[Seg], raw: &RawProvenance) -> Option<Provenance> {
        let published = self.date(&key(path, "published"), &raw.published)?;
        Some(Provenance {
            source: raw.source.as_str().into(),
            published,
            reference: raw.reference.as_deref().map(Into::into),
        })
    }

    fn dates_at(&self, path: &[Seg], from: &str, to: &str) -> DatesAt {
        let at = |k: &str| {
            self.map
                .line_column(self.map.offset_of(&key(path, k), true))
        };
        DatesAt {
            from: at(from),
            to: at(to),
        }
    }

    fn content_hash(&self) -> Arc<str> {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.map.text().as_bytes())).into()
    }

    fn designation(&mut self, path: &[Seg], raw: &RawDesignation) -> Option<Designation> {
        let jurisdiction = self.jurisdiction(&key(path, "jurisdiction"), &raw.jurisdiction);
        let from = self.date(&key(path, "valid_from"), &raw.valid_from);
        let to = self.date(&key(path, "valid_to"), &raw.valid_to);
        let provenance = self.provenance(&key(path, "provenance"), &raw.provenance);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            self.error(
                &key(path, "valid_to"),
                format!("`valid_to` {t} is before `valid_from` {f}"),
                None,
            );
            return None;
        }
        let mut areas = BTreeMap::new();
        for (i, area) in raw.areas.iter().enumerate() {
            let prev = areas.insert(
                Arc::<str>::from(area.area.as_str()),
                (Arc::<str>::from(area.name.as_str()), area.dwellings),
            );
            if prev.is_some() {
                self.error(
                    &key(&idx(&key(path, "areas"), i), "area"),
                    format!("area `{}` is listed twice", area.area),
                    None,
                );
            }
        }
        Some(Designation {
            id: raw.id.as_str().into(),
            jurisdiction: jurisdiction?,
            class: raw.class.as_str().into(),
            valid_from: from?,
            valid_to: to?,
            provenance: provenance?,
            areas,
            file: self.map.file.clone(),
            dates_at: self.dates_at(path, "valid_from", "valid_to"),
            content_hash: self.content_hash(),
        })
    }

    fn flexible_shares(&mut self, path: &[Seg], raw: &RawFlexibleShares) -> Option<FlexibleShares> {
        let jurisdiction = self.jurisdiction(&key(path, "jurisdiction"), &raw.jurisdiction);
        let from = self.date(&key(path, "valid_from"), &raw.valid_from);
        let to = match &raw.valid_to {
            Some(d) => Some(self.date(&key(path, "valid_to"), d)?),
            None => None,
        };
        let provenance = self.provenance(&key(path, "provenance"), &raw.provenance);
        let mut departments = BTreeMap::new();
        let mut ok = true;
        for (dept, share) in &raw.departments {
            match self.share(&key(&key(path, "departments"), dept), share) {
                Some(s) => {
                    departments.insert(Arc::<str>::from(dept.as_str()), s);
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(FlexibleShares {
            id: raw.id.as_str().into(),
            jurisdiction: jurisdiction?,
            valid_from: from?,
            valid_to: to,
            provenance: provenance?,
            departments,
            file: self.map.file.clone(),
            content_hash: self.content_hash(),
        })
    }

    fn terms(&mut self, path: &[Seg], raw: &[RawTerm]) -> Vec<Term> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            if !seen.insert(t.id.as_str()) {
                self.error(
                    &key(&idx(path, i), "id"),
                    format!("term `{}` is declared twice", t.id),
                    None,
                );
            }
            out.push(Term {
                id: t.id.as_str().into(),
                da: t.da.as_str().into(),
                en: t.en.as_str().into(),
            });
        }
        out
    }

    fn rule_set(&mut self, header: &RawRuleSetHeader, raw: &RawFile) -> Option<RuleSet> {
        let hp = key(&[], "rule_set");
        let id = self.required(&hp, "id", header.id.as_deref());
        let title = self.required(&hp, "title", header.title.as_deref());
        let jurisdiction = self
            .required(&hp, "jurisdiction", header.jurisdiction.as_deref())
            .and_then(|j| self.jurisdiction(&key(&hp, "jurisdiction"), j));
        let from = self
            .required(&hp, "effective_from", header.effective_from.as_ref())
            .and_then(|d| self.date(&key(&hp, "effective_from"), d));
        let to = match &header.effective_to {
            Some(d) => self.date(&key(&hp, "effective_to"), d),
            None => None,
        };
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            self.error(&key(&hp, "effective_to"), format!("`effective_to` {t} is before `effective_from` {f}"), Some("a rule set is in force from `effective_from` to `effective_to`, both days included".into()));
        }
        let mut sources = BTreeMap::new();
        for (i, s) in header.sources.iter().enumerate() {
            let source = LegalSource {
                document: s.document.as_str().into(),
                section: s.section.as_deref().map(Into::into),
                title: s.title.as_str().into(),
            };
            if sources.insert(s.id.clone(), source).is_some() {
                self.error(
                    &key(&idx(&key(&hp, "sources"), i), "id"),
                    format!("source `{}` is declared twice", s.id),
                    None,
                );
            }
        }
        if header.sources.is_empty() {
            self.error(
                &key(&hp, "sources"),
                "a rule set needs at least one legal source",
                None,
            );
        }
        let vp = key(&[], "vocabulary");
        let vocabulary = match &raw.vocabulary {
            Some(v) => Vocabulary {
                classes: self.terms(&key(&vp, "classes"), &v.classes),
                benefits: self.terms(&key(&vp, "benefits"), &v.benefits),
                referral_conditions: self
                    .terms(&key(&vp, "referral_conditions"), &v.referral_conditions),
                grant_purposes: self.terms(&key(&vp, "grant_purposes"), &v.grant_purposes),
                priority_groups: self.terms(&key(&vp, "priority_groups"), &v.priority_groups),
                obligations: self.terms(&key(&vp, "obligations"), &v.obligations),
            },
            None => {
                self.error(
                    &[],
                    "a rule set needs a [vocabulary] with at least its area classes",
                    None,
                );
                Vocabulary::default()
            }
        };
        let mut scope = SetScope {
            sources,
            vocabulary,
            rule_ids: HashSet::new(),
        };

        let cp = key(&[], "classification");
        let mut classification = Vec::new();
        match &raw.classification {
            Some(c) => {
                for (i, r) in c.classes.iter().enumerate() {
                    let p = idx(&key(&cp, "classes"), i);
                    let meta = self.meta(&p, r.common(), RuleKind::Classification, &mut scope);
                    let class = self.term(&key(&p, "class"), &r.class, TermList::Classes, &scope);
                    let when =
                        self.condition(&key(&p, "when"), &r.when, RuleKind::Classification, &scope);
                    if let (Some(meta), Some(class), Some(when)) = (meta, class, when) {
                        classification.push(ClassRule { meta, class, when });
                    }
                }
                if c.classes.is_empty() {
                    self.error(
                        &key(&cp, "classes"),
                        "the classification has no classes",
                        None,
                    );
                }
            }
            None => self.error(&[], "a rule set needs a [classification]", None),
        }

        let mut letting_rules = Vec::new();
        for (i, r) in raw.letting_rules.iter().enumerate() {
            let p = idx(&key(&[], "letting_rules"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Letting, &mut scope);
            let classes = self.term_list(
                &key(&p, "applies_to_classes"),
                &r.applies_to_classes,
                TermList::Classes,
                &scope,
            );
            let when = self.condition(&key(&p, "when"), &r.when, RuleKind::Letting, &scope);
            let unless = match &r.unless {
                Some(u) => self
                    .condition(&key(&p, "unless"), u, RuleKind::Letting, &scope)
                    .map(Some),
                None => Some(None),
            };
            let effect = match r.effect.as_str() {
                "reject" => Some(LettingEffect::Reject),
                "require_municipal_approval" => Some(LettingEffect::RequireMunicipalApproval),
                other => {
                    self.error(
                        &key(&p, "effect"),
                        format!("unknown effect `{other}`"),
                        did_you_mean(other, ["reject", "require_municipal_approval"])
                            .or(Some("use `reject` or `require_municipal_approval`".into())),
                    );
                    None
                }
            };
            let obligations = self.term_list(
                &key(&p, "obligations"),
                &r.obligations,
                TermList::Obligations,
                &scope,
            );
            if let (
                Some(meta),
                Some(applies_to_classes),
                Some(when),
                Some(unless),
                Some(effect),
                Some(obligations),
            ) = (meta, classes, when, unless, effect, obligations)
            {
                letting_rules.push(LettingRule {
                    meta,
                    applies_to_classes,
                    when,
                    unless,
                    effect,
                    obligations,
                });
            }
        }

        let mut flexible_priority = Vec::new();
        for (i, r) in raw.flexible_priority.iter().enumerate() {
            let p = idx(&key(&[], "flexible_priority"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Priority, &mut scope);
            let group = self.term(
                &key(&p, "group"),
                &r.group,
                TermList::PriorityGroups,
                &scope,
            );
            let when = self.condition(&key(&p, "when"), &r.when, RuleKind::Priority, &scope);
            if let (Some(meta), Some(group), Some(when)) = (meta, group, when) {
                flexible_priority.push(PriorityRule { meta, group, when });
            }
        }

        let mut referral_rules = Vec::new();
        for (i, r) in raw.referral_rules.iter().enumerate() {
            let p = idx(&key(&[], "referral_rules"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Referral, &mut scope);
            let classes = self.term_list(
                &key(&p, "applies_to_classes"),
                &r.applies_to_classes,
                TermList::Classes,
                &scope,
            );
            let when = self.condition(&key(&p, "when"), &r.when, RuleKind::Referral, &scope);
            if r.effect != "refuse" {
                self.error(
                    &key(&p, "effect"),
                    format!("unknown effect `{}`", r.effect),
                    Some("a referral rule's effect is `refuse`".into()),
                );
            }
            if let (Some(meta), Some(applies_to_classes), Some(when)) = (meta, classes, when) {
                referral_rules.push(ReferralRule {
                    meta,
                    applies_to_classes,
                    when,
                });
            }
        }

        let channels = match &raw.channel_assignment {
            Some(c) => self.channels(c, &mut scope),
            None => {
                self.error(&[], "a rule set needs a [channel_assignment]", None);
                None
            }
        };

        let grants = match &raw.relocation_grants {
            Some(g) => self.grants(g, &mut scope),
            None => Some(None),
        };

        Some(RuleSet {
            id: id?.into(),
            title: title?.into(),
            jurisdiction: jurisdiction?,
            effective_from: from?,
            effective_to: to,
            sources: scope.sources.values().cloned().collect(),
            content_hash: self.content_hash(),
            file: self.map.file.clone(),
            dates_at: self.dates_at(&hp, "effective_from", "effective_to"),
            vocabulary: scope.vocabulary,
            classification,
            letting_rules,
            flexible_priority,
            referral_rules,
            channels: channels?,
            grants: grants?,
        })
    }

    fn channels(
        &mut self,
        raw: &RawChannelAssignment,
        scope: &mut SetScope,
    ) -> Option<ChannelAssignment> {
        let p = key(&[], "channel_assignment");
        let mut order = Vec::new();
        for (i, name) in raw.order.iter().enumerate() {
            match Channel::parse(name) {
                Some(c) if !order.contains(&c) => order.push(c),
                Some(_) => self.error(
                    &idx(&key(&p, "order"), i),
                    format!("channel `{name}` is listed twice"),
                    None,
                ),
                None => self.error(
                    &idx(&key(&p, "order"), i),
                    format!("unknown channel `{name}`"),
                    did_you_mean(name, Channel::ALL.iter().map(|c| c.as_str())),
                ),
            }
        }
        if order.is_empty() {
            self.error(&key(&p, "order"), "the channel order is empty", None);
        }
        let period = match raw.quota_period.as_str() {
            "calendar_year" => Some(QuotaPeriod::CalendarYear),
            "calendar_quarter" => Some(QuotaPeriod::CalendarQuarter),
            other => {
                self.error(
                    &key(&p, "quota_period"),
                    format!("unknown quota period `{other}`"),
                    Some("use `calendar_year` or `calendar_quarter`".into()),
                );
                None
            }
        };
        let mut quotas = Vec::new();
        for (i, q) in raw.quotas.iter().enumerate() {
            let qp = idx(&key(&p, "quotas"), i);
            let meta = self.meta(&qp, q.common(), RuleKind::Quota, scope);
            let channel = Channel::parse(&q.channel);
            match channel {
                None => self.error(
                    &key(&qp, "channel"),
                    format!("unknown channel `{}`", q.channel),
                    did_you_mean(&q.channel, Channel::ALL.iter().map(|c| c.as_str())),
                ),
                Some(c) if !order.contains(&c) => self.error(
                    &key(&qp, "channel"),
                    format!("channel `{}` is not in the channel order", q.channel),
                    None,
                ),
                Some(c) if order.last() == Some(&c) => self.error(
                    &key(&qp, "channel"),
                    format!("channel `{}` is the fallback and takes no quota", q.channel),
                    Some("the last channel of `order` takes every vacancy no quota claims".into()),
                ),
                Some(_) => {}
            }
            let share = if q.share == "department_agreement" {
                let default = match &q.default_share {
                    Some(d) => self.share(&key(&qp, "default_share"), d),
                    None => {
                        self.error(&key(&qp, "default_share"), "a department-agreement share needs a `default_share` for departments with no agreement", Some("add default_share = \"0\" if such departments have no quota".into()));
                        None
                    }
                };
                default.map(|default| ShareSource::DepartmentAgreement { default })
            } else {
                self.share(&key(&qp, "share"), &q.share)
                    .map(ShareSource::Fixed)
            };
            let op = self.op(&key(&qp, "op"), &q.op);
            if let Some(op) = op
                && !matches!(op, CompareOp::Ge | CompareOp::Gt)
            {
                self.error(
                    &key(&qp, "op"),
                    format!("a quota is a floor: `{op}` cannot be one"),
                    Some("use \">=\" (at least) or \">\" (more than)".into()),
                );
            }
            let in_classes = self.term_list(
                &key(&qp, "in_classes"),
                &q.in_classes,
                TermList::Classes,
                scope,
            );
            let not_in_classes = self.term_list(
                &key(&qp, "not_in_classes"),
                &q.not_in_classes,
                TermList::Classes,
                scope,
            );
            let counted_over = match q.counted_over.as_deref() {
                None | Some("department") => Some(CountedOver::Department),
                Some("municipality") => Some(CountedOver::Municipality),
                Some(other) => {
                    self.error(
                        &key(&qp, "counted_over"),
                        format!("unknown `counted_over` value `{other}`"),
                        Some("use `department` or `municipality`".into()),
                    );
                    None
                }
            };
            if let (
                Some(meta),
                Some(channel),
                Some(share),
                Some(op),
                Some(in_classes),
                Some(not_in_classes),
                Some(counted_over),
            ) = (
                meta,
                channel,
                share,
                op,
                in_classes,
                not_in_classes,
                counted_over,
            ) {
                quotas.push(Quota {
                    meta,
                    channel,
                    share,
                    op,
                    in_classes,
                    not_in_classes,
                    counted_over,
                });
            }
        }
        let fallback = self.meta(
            &key(&p, "fallback"),
            raw.fallback.common(),
            RuleKind::Quota,
            scope,
        );
        Some(ChannelAssignment {
            order,
            period: period?,
            quotas,
            fallback: fallback?,
        })
    }

    fn grants(&mut self, raw: &RawGrants, scope: &mut SetScope) -> Option<Option<GrantRules>> {
        let p = key(&[], "relocation_grants");
        let pool = self.money(&key(&p, "pool_per_year"), &raw.pool_per_year);
        let standard = self.money(&key(&p, "standard_amount"), &raw.standard_amount);
        let maximum = self.money(&key(&p, "maximum_amount"), &raw.maximum_amount);
        if let (Some(s), Some(m)) = (standard, maximum)
            && s > m
        {
            self.error(
                &key(&p, "standard_amount"),
                format!("the standard amount {s} is above the maximum {m}"),
                None,
            );
        }
        let pool_rule = self.meta(
            &key(&p, "pool_rule"),
            raw.pool_rule.common(),
            RuleKind::Grant,
            scope,
        );
        let maximum_rule = self.meta(
            &key(&p, "maximum_rule"),
            raw.maximum_rule.common(),
            RuleKind::Grant,
            scope,
        );
        let approval_rule = self.meta(
            &key(&p, "approval_rule"),
            raw.approval_rule.common(),
            RuleKind::Grant,
            scope,
        );
        let mut eligibility = Vec::new();
        for (i, r) in raw.eligibility.iter().enumerate() {
            let rp = idx(&key(&p, "eligibility"), i);
            let meta = self.meta(&rp, r.common(), RuleKind::Grant, scope);
            let purposes = self.term_list(
                &key(&rp, "purposes"),
                &r.purposes,
                TermList::GrantPurposes,
                scope,
            );
            let requires =
                self.condition(&key(&rp, "requires"), &r.requires, RuleKind::Grant, scope);
            if let (Some(meta), Some(purposes), Some(requires)) = (meta, purposes, requires) {
                eligibility.push(GrantRule {
                    meta,
                    purposes,
                    requires,
                });
            }
        }
        Some(Some(GrantRules {
            pool_per_year: pool?,
            standard_amount: standard?,
            maximum_amount: maximum?,
            pool_rule: pool_rule?,
            maximum_rule: maximum_rule?,
            approval_rule: approval_rule?,
            eligibility,
        }))
    }

    fn required<'v, T: ?Sized>(
        &mut self,
        path: &[Seg],
        name: &str,
        value: Option<&'v T>,
    ) -> Option<&'v T> {
        if value.is_none() {
            self.error(
                path,
                format!("missing key `{name}`"),
                Some("rules/README.md lists what each table needs".into()),
            );
        }
        value
    }

    fn meta(
        &mut self,
        path: &[Seg],
        raw: RawRuleCommon<'_>,
        kind: RuleKind,
        scope: &mut SetScope,
    ) -> Option<RuleMeta> {
        let id = self.required(path, "id", raw.id);
        let source_ref = self.required(path, "source", raw.source);
        let message = self.required(path, "message", raw.message);
        if let Some(id) = id {
            if id.is_empty() || id.contains(char::is_whitespace) {
                self.error(
                    &key(path, "id"),
                    format!("rule id `{id}` is empty or has spaces"),
                    Some("use a dotted id such as `cph2007.combined.benefit_rejection`".into()),
                );
            }
            if !scope.rule_ids.insert(id.to_owned()) {
                self.error(
                    &key(path, "id"),
                    format!("rule id `{id}` is used twice in this rule set"),
                    Some("rule ids are stable names: give each rule its own".into()),
                );
            }
        }
        let source =
            source_ref.and_then(
                |source_ref| match scope.sources.get(&source_ref.reference) {
                    Some(s) => Some(LegalSource {
                        document: s.document.clone(),
                        section: source_ref
                            .section
                            .as_deref()
                            .map(Into::into)
                            .or_else(|| s.section.clone()),
                        title: s.title.clone(),
                    }),
                    None => {
                        let hint = did_you_mean(
                            &source_ref.reference,
                            scope.sources.keys().map(String::as_str),
                        )
                        .or_else(|| Some("name one of the ids in [[rule_set.sources]]".into()));
                        self.error(
                            &key(&key(path, "source"), "ref"),
                            format!("unknown source `{}`", source_ref.reference),
                            hint,
                        );
                        None
                    }
                },
            );
        let (da, en) = match message {
            Some(m) => (
                self.template(&key(&key(path, "message"), "da"), &m.da, kind),
                self.template(&key(&key(path, "message"), "en"), &m.en, kind),
            ),
            None => (None, None),
        };
        let from = match raw.effective_from {
            Some(d) => Some(self.date(&key(path, "effective_from"), d)?),
            None => None,
        };
        let to = match raw.effective_to {
            Some(d) => Some(self.date(&key(path, "effective_to"), d)?),
            None => None,
        };
        Some(RuleMeta {
            id: id?.into(),
            source: source?,
            message: Message { da: da?, en: en? },
            effective_from: from,
            effective_to: to,
        })
    }

    fn template(&mut self, path: &[Seg], text: &str, kind: RuleKind) -> Option<Template> {
        match Template::parse(text, kind.slots()) {
            Ok(t) => Some(t),
            Err(e) => {
                let allowed: Vec<&str> = kind.slots().iter().map(|s| s.name()).collect();
                let hint = match &e {
                    crate::model::template::TemplateError::UnknownSlot { name, .. } => {
                        did_you_mean(name, allowed.iter().copied())
                    }
                    _ => None,
                }
                .unwrap_or_else(|| {
                    format!(
                        "this rule's messages may use {}",
                        allowed
                            .iter()
                            .map(|a| format!("{{{a}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
                self.error(path, e.to_string(), Some(hint));
                None
            }
        }
    }

    fn op(&mut self, path: &[Seg], text: &str) -> Option<CompareOp> {
        let op = CompareOp::parse(text);
        if op.is_none() {
            self.error(
                path,
                format!("unknown operator `{text}`"),
                Some(format!("use one of {}", CompareOp::ALL.join(" "))),
            );
        }
        op
    }

    fn term(
        &mut self,
        path: &[Seg],
        id: &str,
        list: TermList,
        scope: &SetScope,
    ) -> Option<Arc<str>> {
        let terms = scope.terms(list);
        match Vocabulary::term(terms, id) {
            Some(t) => Some(t.id.clone()),
            None => {
                let hint = did_you_mean(id, terms.iter().map(|t| &*t.id))
                    .unwrap_or_else(|| format!("declare it in `{}`", list.name()));
                self.error(
                    path,
                    format!("`{id}` is not in `{}`", list.name()),
                    Some(hint),
                );
                None
            }
        }
    }

    fn term_list(
        &mut self,
        path: &[Seg],
        ids: &[String],
        list: TermList,
        scope: &SetScope,
    ) -> Option<Vec<Arc<str>>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, id) in ids.iter().enumerate() {
            match self.term(&idx(path, i), id, list, scope) {
                Some(t) => out.push(t),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn fact(&mut self, path: &[Seg], name: &str, kind: RuleKind) -> Option<Fact> {
        match Fact::parse(name) {
            Some(f) if kind.allows_scope(f.scope()) => Some(f),
            Some(_) => {
                self.error(
                    path,
                    format!("fact `{name}` is not known to this kind of rule"),
                    None,
                );
                None
            }
            None => {
                let candidates = Fact::ALL
                    .iter()
                    .filter(|f| kind.allows_scope(f.scope()))
                    .map(|f| f.name());
                let hint = did_you_mean(name, candidates)
                    .or_else(|| Some("rules/README.md lists the facts".into()));
                self.error(path, format!("unknown fact `{name}`"), hint);
                None
            }
        }
    }

    fn value(
        &mut self,
        path: &[Seg],
        fact: Fact,
        raw: &RawValue,
        scope: &SetScope,
    ) -> Option<FactValue> {
        let expected = fact.fact_type();
        let wrong = |found: &str| {
            format!(
                "fact `{}` is {}, but the value is {found}",
                fact.name(),
                expected.describe()
            )
        };
        match (expected, raw) {
            (FactType::Bool, RawValue::Bool(b)) => Some(FactValue::Bool(*b)),
            (FactType::Integer, RawValue::Integer(i)) => Some(FactValue::Integer(*i)),
            (FactType::Decimal, RawValue::Text(t)) => match Decimal::from_str_exact(t) {
                Ok(d) => Some(FactValue::Decimal(d)),
                Err(_) => {
                    self.error(
                        path,
                        format!("`{t}` is not a decimal"),
                        Some("write it as \"0.40\"".into()),
                    );
                    None
                }
            },
            (FactType::Decimal, RawValue::Float(f)) => {
                self.error(
                    path,
                    format!("decimal `{f}` is written as a float"),
                    Some(format!(
                        "write it as a string, \"{f}\": TOML floats lose digits"
                    )),
                );
                None
            }
            (FactType::Decimal, RawValue::Integer(i)) => {
                Some(FactValue::Decimal(Decimal::from(*i)))
            }
            (FactType::Money, RawValue::Text(t)) => self
                .money(path, &RawDecimal::Text(t.clone()))
                .map(FactValue::Money),
            (FactType::Money, RawValue::Float(f)) => self
                .money(path, &RawDecimal::Float(*f))
                .map(FactValue::Money),
            (FactType::Term, RawValue::Text(t)) => {
                let list = match fact {
                    Fact::GrantPurpose => TermList::GrantPurposes,
                    _ => TermList::Classes,
                };
                self.term(path, t, list, scope).map(FactValue::Term)
            }
            (_, RawValue::Bool(_)) => {
                self.error(path, wrong("true or false"), None);
                None
            }
            (_, RawValue::Integer(_)) => {
                self.error(path, wrong("an integer"), None);
                None
            }
            (_, RawValue::Float(_)) => {
                self.error(
                    path,
                    wrong("a float"),
                    Some("write decimals as strings, such as \"0.40\"".into()),
                );
                None
            }
            (_, RawValue::Text(_)) => {
                self.error(path, wrong("a string"), None);
                None
            }
            (_, RawValue::List(_)) => {
                self.error(
                    path,
                    wrong("a list"),
                    Some("compare with a list using op = \"in\"".into()),
                );
                None
            }
        }
    }

    fn condition(
        &mut self,
        path: &[Seg],
        raw: &RawCondition,
        kind: RuleKind,
        scope: &SetScope,
    ) -> Option<Condition> {
        let forms = [
            raw.always.is_some(),
            raw.fact.is_some(),
            raw.all.is_some(),
            raw.any.is_some(),
            raw.at_least.is_some(),
            raw.not.is_some(),
            raw.designated_as.is_some(),
            raw.benefit_receipt.is_some(),
            raw.date_within.is_some(),
            raw.elapsed_from.is_some(),
        ];
        let used = forms.iter().filter(|f| **f).count();
        if used != 1 {
            self.error(
                path,
                if used == 0 { "empty condition".to_owned() } else { "a condition must use exactly one form".to_owned() },
                Some("use one of: always, fact/op/value, all, any, at_least, not, designated_as, benefit_receipt, date_within/period, elapsed_from/elapsed_to/op/period".into()),
            );
            return None;
        }
        if let Some(always) = raw.always {
            if !always {
                self.error(
                    &key(path, "always"),
                    "`always = false` never holds",
                    Some("remove the rule instead".into()),
                );
                return None;
            }
            return Some(Condition::Always);
        }
        if let Some(name) = &raw.fact {
            let fact = self.fact(&key(path, "fact"), name, kind)?;
            let op_text = match &raw.op {
                Some(op) => op.as_str(),
                None => {
                    self.error(
                        path,
                        format!("comparison of `{name}` has no `op`"),
                        Some("state the operator, such as op = \">=\"".into()),
                    );
                    return None;
                }
            };
            let Some(raw_value) = &raw.value else {
                self.error(path, format!("comparison of `{name}` has no `value`"), None);
                return None;
            };
            if op_text == "in" || op_text == "not_in" {
                let RawValue::List(items) = raw_value else {
                    self.error(&key(path, "value"), "`in` needs a list of terms", None);
                    return None;
                };
                let list = match fact {
                    Fact::HouseholdReferralConditions => TermList::ReferralConditions,
                    Fact::GrantPurpose => TermList::GrantPurposes,
                    Fact::HouseholdCurrentAreaClass => TermList::Classes,
                    _ => {
                        self.error(
                            &key(path, "op"),
                            format!(
                                "`{op_text}` applies to term facts, and `{name}` is {}",
                                fact.fact_type().describe()
                            ),
                            None,
                        );
                        return None;
                    }
                };
                let values = self.term_list(&key(path, "value"), items, list, scope)?;
                return Some(Condition::In {
                    fact,
                    values,
                    negated: op_text == "not_in",
                });
            }
            let op = self.op(&key(path, "op"), op_text)?;
            if op.is_ordering()
                && matches!(
                    fact.fact_type(),
                    FactType::Bool | FactType::Term | FactType::TermSet
                )
            {
                self.error(
                    &key(path, "op"),
                    format!("`{op}` does not order {}", fact.fact_type().describe()),
                    Some("use == or !=".into()),
                );
                return None;
            }
            let value = self.value(&key(path, "value"), fact, raw_value, scope)?;
            return Some(Condition::Compare { fact, op, value });
        }
        if let Some(items) = &raw.all {
            return self
                .conditions(&key(path, "all"), items, kind, scope)
                .map(Condition::All);
        }
        if let Some(items) = &raw.any {
            return self
                .conditions(&key(path, "any"), items, kind, scope)
                .map(Condition::Any);
        }
        if let Some(at_least) = &raw.at_least {
            let ap = key(path, "at_least");
            let of = self.conditions(&key(&ap, "of"), &at_least.of, kind, scope)?;
            if at_least.n == 0 || at_least.n as usize > of.len() {
                self.error(
                    &key(&ap, "n"),
                    format!(
                        "`at_least` asks for {} of {} conditions",
                        at_least.n,
                        of.len()
                    ),
                    Some("n must be between 1 and the number of conditions".into()),
                );
                return None;
            }
            return Some(Condition::AtLeast { n: at_least.n, of });
        }
        if let Some(inner) = &raw.not {
            return self
                .condition(&key(path, "not"), inner, kind, scope)
                .map(|c| Condition::Not(Box::new(c)));
        }
        if let Some(class) = &raw.designated_as {
            if kind != RuleKind::Classification {
                self.error(
                    &key(path, "designated_as"),
                    "`designated_as` is only for classification",
                    None,
                );
                return None;
            }
            return self
                .term(&key(path, "designated_as"), class, TermList::Classes, scope)
                .map(Condition::DesignatedAs);
        }
        if let Some(b) = &raw.benefit_receipt {
            let bp = key(path, "benefit_receipt");
            if !matches!(
                kind,
                RuleKind::Letting | RuleKind::Priority | RuleKind::Referral
            ) {
                self.error(
                    &bp,
                    "`benefit_receipt` is for letting, priority and referral rules",
                    None,
                );
                return None;
            }
            let kinds = self.term_list(&key(&bp, "kinds"), &b.kinds, TermList::Benefits, scope)?;
            let persons = match b.persons.as_str() {
                "applicant" => BenefitPersons::Applicant,
                "applicant_and_partner" => BenefitPersons::ApplicantAndPartner,
                other => {
                    self.error(
                        &key(&bp, "persons"),
                        format!("unknown `persons` value `{other}`"),
                        Some("use `applicant` or `applicant_and_partner`".into()),
                    );
                    return None;
                }
            };
            let cohabitant_counts_after = match &b.cohabitant_counts_after {
                Some(p) => Some(self.period(&key(&bp, "cohabitant_counts_after"), p)?),
                None => None,
            };
            let household_rule = match b.household_rule.as_deref() {
                Some("either") => HouseholdRule::Either,
                Some("both") => HouseholdRule::Both,
                None if persons == BenefitPersons::Applicant => HouseholdRule::Either,
                None => {
                    self.error(
                        &bp,
                        "`household_rule` is missing",
                        Some(
                            "state whether `either` adult or `both` adults must meet the condition"
                                .into(),
                        ),
                    );
                    return None;
                }
                Some(other) => {
                    self.error(
                        &key(&bp, "household_rule"),
                        format!("unknown `household_rule` value `{other}`"),
                        Some("use `either` or `both`".into()),
                    );
                    return None;
                }
            };
            if persons == BenefitPersons::ApplicantAndPartner && cohabitant_counts_after.is_none() {
                self.error(
                    &bp,
                    "`cohabitant_counts_after` is missing",
                    Some(
                        "state after how long a cohabitant counts as a spouse, such as \"2 years\""
                            .into(),
                    ),
                );
                return None;
            }
            return Some(Condition::BenefitReceipt(BenefitTest {
                kinds,
                consecutive_calendar_months: b.consecutive_calendar_months,
                currently_receiving: b.currently_receiving,
                persons,
                cohabitant_counts_after,
                household_rule,
            }));
        }
        if let Some(name) = &raw.date_within {
            let fact = self.fact(&key(path, "date_within"), name, kind)?;
            if fact.fact_type() != FactType::Date {
                self.error(
                    &key(path, "date_within"),
                    format!("fact `{name}` is not a date"),
                    None,
                );
                return None;
            }
            let Some(period) = &raw.period else {
                self.error(path, "`date_within` needs a `period`", None);
                return None;
            };
            let period = self.period(&key(path, "period"), period)?;
            return Some(Condition::DateWithin { fact, period });
        }
        if let Some(from_name) = &raw.elapsed_from {
            let from = self.fact(&key(path, "elapsed_from"), from_name, kind)?;
            let Some(to_name) = &raw.elapsed_to else {
                self.error(path, "`elapsed_from` needs `elapsed_to`", None);
                return None;
            };
            let to = self.fact(&key(path, "elapsed_to"), to_name, kind)?;
            for (f, k) in [(from, "elapsed_from"), (to, "elapsed_to")] {
                if f.fact_type() != FactType::Date {
                    self.error(
                        &key(path, k),
                        format!("fact `{}` is not a date", f.name()),
                        None,
                    );
                    return None;
                }
            }
            let (Some(op), Some(period)) = (&raw.op, &raw.period) else {
                self.error(path, "`elapsed_from` needs `op` and `period`", None);
                return None;
            };
            let op = self.op(&key(path, "op"), op)?;
            let period = self.period(&key(path, "period"), period)?;
            return Some(Condition::Elapsed {
                from,
                to,
                op,
                period,
            });
        }
        None
    }

    fn conditions(
        &mut self,
        path: &[Seg],
        items: &[RawCondition],
        kind: RuleKind,
        scope: &SetScope,
    ) -> Option<Vec<Condition>> {
        if items.is_empty() {
            self.error(path, "empty list of conditions", None);
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.condition(&idx(path, i), item, kind, scope) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}
