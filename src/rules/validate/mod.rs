//! Raw rule files → the checked model. Collects every error it can find, each with its
//! file:line:column, rather than stopping at the first.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

mod channels;
mod condition;
mod layers;

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
    "layer",
    "modality",
    "adoptions",
    "rule",
    "announced",
    "complaints",
    "decisions",
    "body",
    "how",
    "deadline",
    "publisher",
    "url",
    "completeness",
    "note",
    "month_counting",
    "only_if_registered_before_adoption",
    "dwellings_completeness",
    "owed_to_all",
    "agreement_may_exceed",
    "listed_in_succession",
    "lists",
    "municipal_acts",
    "act",
    "option",
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
    Act,
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
            RuleKind::Quota | RuleKind::Act => false,
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
                ListsInSuccession,
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
            RuleKind::Act => &[Area, AreaClass, Date, Department, Considerations],
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
    layer_id: Arc<str>,
    layer: LayerKind,
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
        let published = self.date(&key(path, "published"), &raw.published);
        let dwellings = match raw.dwellings_completeness.as_deref() {
            None => Some(None),
            Some(text) => self
                .completeness(&key(path, "dwellings_completeness"), text)
                .map(Some),
        };
        let completeness = self.completeness(&key(path, "completeness"), &raw.completeness);
        if (completeness != Some(Completeness::Complete)
            || dwellings.is_some_and(|d| d.is_some_and(|d| d != Completeness::Complete)))
            && raw.note.is_none()
        {
            self.error(
                path,
                "a list that is not complete needs a `note`",
                Some("say what the list leaves out, or why it is illustrative".into()),
            );
            return None;
        }
        Some(Provenance {
            source: raw.source.as_str().into(),
            publisher: raw.publisher.as_str().into(),
            url: raw.url.as_deref().map(Into::into),
            published: published?,
            reference: raw.reference.as_deref().map(Into::into),
            completeness: completeness?,
            dwellings_completeness: dwellings?,
            note: raw.note.as_deref().map(Into::into),
        })
    }

    fn completeness(&mut self, path: &[Seg], text: &str) -> Option<Completeness> {
        match text {
            "complete" => Some(Completeness::Complete),
            "extract" => Some(Completeness::Extract),
            "illustrative" => Some(Completeness::Illustrative),
            other => {
                self.error(
                    path,
                    format!("unknown completeness `{other}`"),
                    did_you_mean(other, ["complete", "extract", "illustrative"]).or(Some(
                        "use `complete` (every entry of the source), `extract` (some entries, as published) or `illustrative` (not from a source)".into(),
                    )),
                );
                None
            }
        }
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
        let layer = self.layer(&hp, header.layer.as_deref(), jurisdiction.as_deref());
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
            layer_id: id.unwrap_or_default().into(),
            layer: layer.unwrap_or(LayerKind::National),
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
            None if scope.layer == LayerKind::National => {
                self.error(&[], "a national layer needs a [classification]", None)
            }
            None => {}
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
            let modality = self.modality(&p, r.modality.as_deref(), r.option.as_deref(), &scope);
            if scope.layer != LayerKind::National && r.effect == "reject" {
                self.error(
                    &key(&p, "effect"),
                    "a municipal decision or agreement cannot reject applicants by a rule of its own",
                    Some("rejection rests on national law: adopt the national option (an [[adoptions]] entry) instead".into()),
                );
            }
            let obligations = self.obligations(&key(&p, "obligations"), &r.obligations, &scope);
            if let (
                Some(modality),
                Some(meta),
                Some(applies_to_classes),
                Some(when),
                Some(unless),
                Some(effect),
                Some(obligations),
            ) = (modality, meta, classes, when, unless, effect, obligations)
            {
                let (modality, option) = modality;
                letting_rules.push(LettingRule {
                    meta,
                    modality,
                    option,
                    adoption: None,
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
            let modality = self.modality(&p, r.modality.as_deref(), r.option.as_deref(), &scope);
            if let (Some((modality, option)), Some(meta), Some(applies_to_classes), Some(when)) =
                (modality, meta, classes, when)
            {
                referral_rules.push(ReferralRule {
                    meta,
                    modality,
                    option,
                    applies_to_classes,
                    when,
                    adoption: None,
                });
            }
        }

        let channels = match &raw.channel_assignment {
            Some(c) => self.channels(c, &mut scope),
            None if scope.layer == LayerKind::National => {
                self.error(&[], "a national layer needs a [channel_assignment]", None);
                None
            }
            None => Some(ChannelAssignment::default()),
        };
        let adoptions = self.adoptions(&raw.adoptions, &mut scope);
        let municipal_acts = self.acts(&raw.municipal_acts, &mut scope);
        let complaints = self.complaints(&raw.complaints, &scope);

        let grants = match &raw.relocation_grants {
            Some(g) => self.grants(g, &mut scope),
            None => Some(None),
        };

        let (id, title, layer, from): (Arc<str>, Arc<str>, _, _) =
            (id?.into(), title?.into(), layer?, from?);
        let content_hash = self.content_hash();
        Some(RuleSet {
            layers: vec![LayerRef {
                id: id.clone(),
                kind: layer,
                title: title.clone(),
                content_hash: content_hash.clone(),
                effective_from: from,
                effective_to: to,
            }],
            id,
            title,
            layer,
            jurisdiction: jurisdiction?,
            effective_from: from,
            effective_to: to,
            sources: scope.sources.values().cloned().collect(),
            content_hash,
            file: self.map.file.clone(),
            dates_at: self.dates_at(&hp, "effective_from", "effective_to"),
            vocabulary: scope.vocabulary,
            classification,
            letting_rules,
            flexible_priority,
            referral_rules,
            channels: channels?,
            grants: grants?,
            adoptions: adoptions?,
            municipal_acts: municipal_acts?,
            complaints: complaints?,
        })
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
            layer: scope.layer_id.clone(),
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
}
