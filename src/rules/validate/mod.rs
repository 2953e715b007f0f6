//! Raw rule files → the checked model. Collects every error it can find, each with its
//! file:line:column, rather than stopping at the first.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

mod channels;
mod condition;
mod known_keys;
mod layers;
mod meta;
mod reference;
mod rule_set;
mod terms;
mod values;

use super::diagnostic::{Diagnostic, Seg, Severity, SourceMap, did_you_mean, parse_path};
use super::raw::*;
use crate::model::facts::FactScope;
use crate::model::*;
use known_keys::KNOWN_KEYS;

/// Everything one file contributed.
#[derive(Debug, Default)]
pub struct FileContents {
    pub rule_set: Option<RuleSet>,
    pub designations: Vec<Designation>,
    pub flexible_shares: Vec<FlexibleShares>,
}

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
}
