//! Declarative cases: the facts of one decision and, for tests, what it must come to.
//! `letting rules test` runs the tables in `rules/tests/`; `letting decide` runs one case.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::engine::{
    self, AreaClassification, ChannelDecision, Counterfactual, EngineError, Explanation, GrantCase,
    GrantDecision, LettingCase, LettingDecision, MunicipalActCase, MunicipalActDecision,
    QuotaCounters, QuotaState, ReferralCase, ReferralDecision, VacancyCase,
};
use crate::model::{ActKind, AreaFacts, Channel, Household, Money, RuleBook};
use crate::rules::{self, SourceFile};

/// What kind of decision a case asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Classify,
    Channel,
    /// `count` vacancies in a row in one department, from the given counters.
    ChannelSequence,
    Letting,
    Referral,
    Grant,
    /// The municipality approves or rejects a pending letting.
    MunicipalAct,
}

/// Counters before a vacancy, by channel name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseCounters {
    #[serde(default)]
    pub vacancies: u64,
    #[serde(default)]
    pub municipal_referral: u64,
    #[serde(default)]
    pub flexible: u64,
    #[serde(default)]
    pub internal_list: u64,
    #[serde(default)]
    pub external_list: u64,
}

impl From<&CaseCounters> for QuotaCounters {
    fn from(c: &CaseCounters) -> Self {
        QuotaCounters {
            vacancies: c.vacancies,
            by_channel: [
                c.municipal_referral,
                c.flexible,
                c.internal_list,
                c.external_list,
            ],
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseState {
    #[serde(default)]
    pub department: CaseCounters,
    #[serde(default)]
    pub municipality: CaseCounters,
}

/// The facts of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: Option<String>,
    pub kind: CaseKind,
    pub date: NaiveDate,
    pub municipality: String,
    pub department: Option<String>,
    pub area: Option<AreaFacts>,
    pub household: Option<Household>,
    /// The vacancy's channel, for a letting.
    pub channel: Option<Channel>,
    pub counters: Option<CaseState>,
    /// For `channel_sequence`: how many vacancies.
    pub count: Option<u64>,
    pub purpose: Option<String>,
    pub amount: Option<Money>,
    pub pool_committed: Option<Money>,
    /// For `municipal_act`: `approval` or `rejection`, and the main considerations.
    pub act: Option<ActKind>,
    pub considerations: Option<String>,
    pub expect: Option<Expect>,
}

/// What a case must come to. Every stated expectation is checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub rule_set: Option<String>,
    /// The ids of the layers that judged the case, in layer order.
    pub layers: Option<Vec<String>>,
    /// The id of the complaint guidance the decision carries, or `none`.
    pub complaint: Option<String>,
    /// Whether the decision says it rests on reference data that is not complete.
    pub rests_on_incomplete_data: Option<bool>,
    pub class: Option<String>,
    /// `approved`, `rejected`, `pending_municipal_approval`, `accepted`, `refused`.
    pub outcome: Option<String>,
    pub channel: Option<Channel>,
    /// For sequences: how many vacancies went to each channel.
    pub channel_counts: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    pub fired: Vec<String>,
    #[serde(default)]
    pub not_fired: Vec<String>,
    pub obligations: Option<Vec<String>>,
    /// `not_applicable`, `not_eligible`, `provisional`, `verified`.
    pub flexible: Option<String>,
    pub remaining: Option<Money>,
    /// Text the English or Danish messages must contain.
    #[serde(default)]
    pub message_contains: Vec<String>,
    /// Exactly the fired rules whose messages go to the citizen, in order; the others
    /// stay in the technical trace.
    pub to_citizen: Option<Vec<String>>,
    /// The engine must refuse the case with an error containing this text.
    pub error: Option<String>,
    /// For a letting: exactly these counterfactuals, in order (`[]`: none).
    pub counterfactuals: Option<Vec<ExpectCounterfactual>>,
}

/// A counterfactual a letting case must have: the rule, the fact and its two values as
/// text, and where stated the exact sentences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectCounterfactual {
    pub rule: String,
    pub fact: String,
    pub from: String,
    pub to: String,
    pub da: Option<String>,
    pub en: Option<String>,
}

/// A file of cases. `layers` names fixture rule files (relative to the tests directory)
/// that join the rule book for this table only: an example municipality's decision, say,
/// to test a national option no shipped municipality uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTable {
    #[serde(default)]
    pub layers: Vec<String>,
    #[serde(default)]
    pub cases: Vec<Case>,
    /// The fixture files named by `layers`, read by `read_tables`.
    #[serde(skip)]
    pub fixtures: Vec<SourceFile>,
}

/// A case file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error("`{path}` is not valid JSON: {message}")]
    Json { path: String, message: String },
    #[error("`{path}`: at `{at}`: {message}")]
    Shape {
        path: String,
        at: String,
        message: String,
    },
}

/// TOML dates become ISO strings, so one serde shape reads TOML and JSON alike.
fn toml_to_json(value: toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s),
        toml::Value::Integer(i) => serde_json::Value::from(i),
        toml::Value::Float(f) => serde_json::Value::from(f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => items.into_iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect(),
    }
}

/// Reads a TOML or JSON file (by extension) into `T`, naming the path of any error.
pub fn read_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CaseFileError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CaseFileError::Io {
        path: name.clone(),
        source,
    })?;
    let json = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| CaseFileError::Json {
            path: name.clone(),
            message: e.to_string(),
        })?
    } else {
        let value: toml::Value = toml::from_str(&text).map_err(|e| CaseFileError::Toml {
            path: name.clone(),
            message: e.to_string(),
        })?;
        toml_to_json(value)
    };
    serde_path_to_error::deserialize(json).map_err(|e| CaseFileError::Shape {
        path: name,
        at: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// The decision a case came to.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseDecision {
    Classify(AreaClassification),
    Channel(ChannelDecision),
    ChannelSequence {
        counts: BTreeMap<String, u64>,
        decisions: Vec<ChannelDecision>,
    },
    Letting(LettingDecision),
    Referral(ReferralDecision),
    Grant(GrantDecision),
    MunicipalAct(MunicipalActDecision),
}

impl CaseDecision {
    /// The explanations of the decision (a sequence has one per vacancy).
    pub fn explanations(&self) -> Vec<&Explanation> {
        match self {
            CaseDecision::Classify(d) => vec![&d.explanation],
            CaseDecision::Channel(d) => vec![&d.explanation],
            CaseDecision::ChannelSequence { decisions, .. } => {
                decisions.iter().map(|d| &d.explanation).collect()
            }
            CaseDecision::Letting(d) => vec![&d.explanation],
            CaseDecision::Referral(d) => vec![&d.explanation],
            CaseDecision::Grant(d) => vec![&d.explanation],
            CaseDecision::MunicipalAct(d) => vec![&d.explanation],
        }
    }

    pub fn outcome(&self) -> Option<String> {
        let text = |v: &dyn erased::Named| v.name();
        match self {
            CaseDecision::Letting(d) => Some(text(&d.outcome)),
            CaseDecision::Referral(d) => Some(text(&d.outcome)),
            CaseDecision::Grant(d) => Some(text(&d.outcome)),
            _ => None,
        }
    }

    pub fn class(&self) -> Option<&str> {
        match self {
            CaseDecision::Classify(d) => Some(&d.class),
            CaseDecision::Channel(d) => Some(&d.area_class),
            CaseDecision::ChannelSequence { decisions, .. } => {
                decisions.last().map(|d| &*d.area_class)
            }
            CaseDecision::Letting(d) => Some(&d.area_class),
            CaseDecision::Referral(d) => Some(&d.area_class),
            CaseDecision::Grant(_) => None,
            CaseDecision::MunicipalAct(d) => Some(&d.area_class),
        }
    }
}

mod erased {
    /// The serde name of a unit enum value, such as `pending_municipal_approval`.
    pub trait Named {
        fn name(&self) -> String;
    }

    impl<T: serde::Serialize> Named for T {
        fn name(&self) -> String {
            serde_json::to_value(self)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }
    }
}

/// Why a case could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("a `{kind}` case needs `{field}`")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn need<'a, T>(
    value: &'a Option<T>,
    kind: &'static str,
    field: &'static str,
) -> Result<&'a T, CaseError> {
    value
        .as_ref()
        .ok_or(CaseError::MissingField { kind, field })
}

/// Runs one case through the engine.
pub fn run(book: &RuleBook, case: &Case) -> Result<CaseDecision, CaseError> {
    let state = case.counters.clone().unwrap_or_default();
    let counters = QuotaState {
        department: (&state.department).into(),
        municipality: (&state.municipality).into(),
    };
    Ok(match case.kind {
        CaseKind::Classify => {
            let area = need(&case.area, "classify", "area")?;
            CaseDecision::Classify(engine::classify(book, &case.municipality, area, case.date)?)
        }
        CaseKind::Channel | CaseKind::ChannelSequence => {
            let vacancy = VacancyCase {
                date: case.date,
                municipality: case.municipality.clone(),
                department: need(&case.department, "channel", "department")?.clone(),
                department_name: None,
                area: need(&case.area, "channel", "area")?.clone(),
            };
            if case.kind == CaseKind::Channel {
                CaseDecision::Channel(engine::assign_channel(book, &vacancy, &counters)?)
            } else {
                let count = *need(&case.count, "channel_sequence", "count")?;
                let mut counters = counters;
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                let mut decisions = Vec::new();
                for _ in 0..count {
                    let d = engine::assign_channel(book, &vacancy, &counters)?;
                    *counts.entry(d.channel.as_str().to_owned()).or_default() += 1;
                    counters = d.counters_after.clone();
                    decisions.push(d);
                }
                CaseDecision::ChannelSequence { counts, decisions }
            }
        }
        CaseKind::Letting => {
            CaseDecision::Letting(engine::evaluate_letting(book, &letting_case(case)?)?)
        }
        CaseKind::Referral => CaseDecision::Referral(engine::evaluate_referral(
            book,
            &ReferralCase {
                date: case.date,
                municipality: case.municipality.clone(),
                department: need(&case.department, "referral", "department")?.clone(),
                department_name: None,
                area: need(&case.area, "referral", "area")?.clone(),
                household: need(&case.household, "referral", "household")?.clone(),
            },
        )?),
        CaseKind::Grant => CaseDecision::Grant(engine::evaluate_grant(
            book,
            &GrantCase {
                date: case.date,
                municipality: case.municipality.clone(),
                purpose: need(&case.purpose, "grant", "purpose")?.clone(),
                amount: case.amount,
                household: need(&case.household, "grant", "household")?.clone(),
                pool_committed: case.pool_committed.unwrap_or(Money::ZERO),
            },
        )?),
        CaseKind::MunicipalAct => CaseDecision::MunicipalAct(engine::municipal_act(
            book,
            &MunicipalActCase {
                date: case.date,
                municipality: case.municipality.clone(),
                department: need(&case.department, "municipal_act", "department")?.clone(),
                department_name: None,
                area: need(&case.area, "municipal_act", "area")?.clone(),
                act: *need(&case.act, "municipal_act", "act")?,
                considerations: need(&case.considerations, "municipal_act", "considerations")?
                    .clone(),
            },
        )?),
    })
}

/// The letting a `letting` case describes.
pub fn letting_case(case: &Case) -> Result<LettingCase, CaseError> {
    Ok(LettingCase {
        date: case.date,
        municipality: case.municipality.clone(),
        department: need(&case.department, "letting", "department")?.clone(),
        department_name: None,
        area: need(&case.area, "letting", "area")?.clone(),
        channel: case.channel,
        household: need(&case.household, "letting", "household")?.clone(),
    })
}

/// The counterfactuals of a letting case's decision (see
/// [`engine::letting_counterfactuals`]); none for other kinds of case.
pub fn counterfactuals(
    book: &RuleBook,
    case: &Case,
    decision: &CaseDecision,
) -> Vec<Counterfactual> {
    match (decision, letting_case(case)) {
        (CaseDecision::Letting(d), Ok(letting)) => {
            engine::letting_counterfactuals(book, &letting, d)
        }
        _ => Vec::new(),
    }
}

/// Checks counterfactuals against the expected ones, in order; returns what did not hold.
pub fn check_counterfactuals(want: &[ExpectCounterfactual], got: &[Counterfactual]) -> Vec<String> {
    let shown = |c: &Counterfactual| format!("{} {}: {} → {}", c.rule_id, c.fact, c.from, c.to);
    let all = || {
        if got.is_empty() {
            "none".to_owned()
        } else {
            got.iter().map(shown).collect::<Vec<_>>().join("; ")
        }
    };
    if want.len() != got.len() {
        return vec![format!(
            "{} counterfactuals, expected {} (got: {})",
            got.len(),
            want.len(),
            all()
        )];
    }
    let mut failures = Vec::new();
    for (w, g) in want.iter().zip(got) {
        if *g.rule_id != *w.rule || g.fact != w.fact || g.from != w.from || g.to != w.to {
            failures.push(format!(
                "counterfactual `{}`, expected `{} {}: {} → {}`",
                shown(g),
                w.rule,
                w.fact,
                w.from,
                w.to
            ));
        }
        for (lang, want_text, got_text) in [
            ("Danish", &w.da, &g.message_da),
            ("English", &w.en, &g.message_en),
        ] {
            if let Some(text) = want_text
                && text != got_text
            {
                failures.push(format!(
                    "{lang} counterfactual is `{got_text}`, expected `{text}`"
                ));
            }
        }
    }
    failures
}

/// Checks a case's result against its expectations; returns what did not hold.
pub fn check(expect: &Expect, result: &Result<CaseDecision, CaseError>) -> Vec<String> {
    let mut failures = Vec::new();
    let decision = match (result, &expect.error) {
        (Err(e), Some(wanted)) => {
            if !e.to_string().contains(wanted.as_str()) {
                failures.push(format!("error `{e}` does not contain `{wanted}`"));
            }
            return failures;
        }
        (Err(e), None) => return vec![format!("the engine refused the case: {e}")],
        (Ok(_), Some(wanted)) => {
            return vec![format!(
                "expected an error containing `{wanted}`, got a decision"
            )];
        }
        (Ok(d), None) => d,
    };
    let explanations = decision.explanations();
    let fired: Vec<&str> = explanations.iter().flat_map(|e| e.fired_ids()).collect();
    if let Some(want) = &expect.rule_set {
        for e in &explanations {
            if &*e.rule_set_id != want {
                failures.push(format!(
                    "judged by rule set `{}`, expected `{want}`",
                    e.rule_set_id
                ));
                break;
            }
        }
    }
    if let Some(want) = &expect.layers {
        for e in &explanations {
            let got: Vec<&str> = e.layers.iter().map(|l| &*l.id).collect();
            if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
                failures.push(format!("judged by layers {got:?}, expected {want:?}"));
                break;
            }
        }
    }
    if let Some(want) = &expect.complaint {
        for e in &explanations {
            let got = e.complaint.as_ref().map_or("none", |c| &*c.guidance_id);
            if got != want {
                failures.push(format!("complaint guidance is `{got}`, expected `{want}`"));
                break;
            }
        }
    }
    if let Some(want) = expect.rests_on_incomplete_data {
        let got = explanations.iter().any(|e| e.rests_on_incomplete_data());
        if got != want {
            failures.push(format!(
                "the decision {} on incomplete reference data, expected the opposite",
                if got { "rests" } else { "does not rest" }
            ));
        }
    }
    if let Some(want) = &expect.class
        && decision.class() != Some(want.as_str())
    {
        failures.push(format!(
            "class is `{}`, expected `{want}`",
            decision.class().unwrap_or("(none)")
        ));
    }
    if let Some(want) = &expect.outcome {
        let got = decision.outcome().unwrap_or_else(|| "(none)".into());
        if &got != want {
            failures.push(format!("outcome is `{got}`, expected `{want}`"));
        }
    }
    if let Some(want) = expect.channel {
        match decision {
            CaseDecision::Channel(d) if d.channel == want => {}
            CaseDecision::Channel(d) => failures.push(format!(
                "channel is `{}`, expected `{}`",
                d.channel.as_str(),
                want.as_str()
            )),
            _ => failures.push("`channel` is expected only of a channel case".into()),
        }
    }
    if let Some(want) = &expect.channel_counts {
        match decision {
            CaseDecision::ChannelSequence { counts, .. } => {
                for (channel, n) in want {
                    let got = counts.get(channel).copied().unwrap_or(0);
                    if got != *n {
                        failures.push(format!("{got} vacancies went to `{channel}`, expected {n}"));
                    }
                }
            }
            _ => {
                failures.push("`channel_counts` is expected only of a channel_sequence case".into())
            }
        }
    }
    for id in &expect.fired {
        if !fired.contains(&id.as_str()) {
            failures.push(format!(
                "rule `{id}` did not fire (fired: {})",
                fired.join(", ")
            ));
        }
    }
    for id in &expect.not_fired {
        if fired.contains(&id.as_str()) {
            failures.push(format!("rule `{id}` fired and should not have"));
        }
    }
    if let Some(want) = &expect.obligations {
        let got: Vec<String> = match decision {
            CaseDecision::Letting(d) => d.obligations.iter().map(|o| o.to_string()).collect(),
            _ => Vec::new(),
        };
        if &got != want {
            failures.push(format!("obligations are {got:?}, expected {want:?}"));
        }
    }
    if let Some(want) = &expect.flexible {
        match decision {
            CaseDecision::Letting(d) => {
                let got = erased::Named::name(&d.flexible.status);
                if &got != want {
                    failures.push(format!(
                        "flexible eligibility is `{got}`, expected `{want}`"
                    ));
                }
            }
            _ => failures.push("`flexible` is expected only of a letting case".into()),
        }
    }
    if let Some(want) = expect.remaining {
        match decision {
            CaseDecision::Grant(d) if d.remaining == want => {}
            CaseDecision::Grant(d) => failures.push(format!(
                "{} is left in the pool, expected {want}",
                d.remaining
            )),
            _ => failures.push("`remaining` is expected only of a grant case".into()),
        }
    }
    if let Some(want) = &expect.to_citizen {
        let got: Vec<&str> = explanations
            .iter()
            .flat_map(|e| &e.fired)
            .filter(|f| f.to_citizen)
            .map(|f| &*f.rule_id)
            .collect();
        if got != *want {
            failures.push(format!("the citizen reads {got:?}, expected {want:?}"));
        }
    }
    for text in &expect.message_contains {
        let found = explanations
            .iter()
            .flat_map(|e| &e.fired)
            .any(|f| f.message_en.contains(text.as_str()) || f.message_da.contains(text.as_str()));
        if !found {
            failures.push(format!("no message contains `{text}`"));
        }
    }
    failures
}

/// The outcome of one case of a test table.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub file: String,
    pub name: String,
    pub date: NaiveDate,
    pub failures: Vec<String>,
    pub fired: Vec<String>,
}

/// Runs every case of every table; also checks that each rule has a case that asserts
/// it fires and that each effective date has a case on the day before and the day of.
pub struct TestRun {
    pub cases: Vec<CaseReport>,
    /// Coverage gaps, each a failure.
    pub coverage: Vec<String>,
}

impl TestRun {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.failures.is_empty()).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed() + self.coverage.len()
    }
}

pub fn run_tables(book: &RuleBook, tables: &[(String, CaseTable)]) -> TestRun {
    let mut cases = Vec::new();
    let mut asserted: Vec<String> = Vec::new();
    let mut dates: Vec<NaiveDate> = Vec::new();
    for (file, table) in tables {
        let extended;
        let table_book = if table.fixtures.is_empty() {
            book
        } else {
            match rules::extend(book, &table.fixtures) {
                Ok(b) => {
                    extended = b;
                    &extended
                }
                Err(e) => {
                    cases.push(CaseReport {
                        file: file.clone(),
                        name: "the table's fixture layers".into(),
                        date: NaiveDate::MIN,
                        failures: vec![e.to_string()],
                        fired: Vec::new(),
                    });
                    continue;
                }
            }
        };
        for (i, case) in table.cases.iter().enumerate() {
            let result = run(table_book, case);
            let expect = case.expect.clone().unwrap_or_default();
            let mut failures = check(&expect, &result);
            if let (Some(want), Ok(decision)) = (&expect.counterfactuals, &result) {
                if case.kind == CaseKind::Letting {
                    let got = counterfactuals(table_book, case, decision);
                    failures.extend(check_counterfactuals(want, &got));
                } else {
                    failures.push("`counterfactuals` are expected only of a letting case".into());
                }
            }
            if case.expect.is_none() {
                failures.push("the case has no `expect` table".into());
            }
            let fired: Vec<String> = result
                .as_ref()
                .map(|d| {
                    d.explanations()
                        .iter()
                        .flat_map(|e| e.fired_ids())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if failures.is_empty() {
                asserted.extend(expect.fired.iter().cloned());
                dates.push(case.date);
            }
            cases.push(CaseReport {
                file: file.clone(),
                name: case
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("case {}", i + 1)),
                date: case.date,
                failures,
                fired,
            });
        }
    }
    let mut coverage = Vec::new();
    for set in &book.sets {
        for id in set.rule_ids() {
            if !asserted.iter().any(|a| **a == *id) {
                coverage.push(format!(
                    "rule `{id}` of `{}` has no passing case that expects it to fire",
                    set.id
                ));
            }
        }
        let mut edges: Vec<(&str, NaiveDate, NaiveDate)> = Vec::new();
        let starts = std::iter::once(Some(set.effective_from)).chain(set_rule_starts(set));
        for start in starts.flatten() {
            if let Some(before) = start.checked_sub_days(Days::new(1)) {
                edges.push(("starts", before, start));
            }
        }
        for end in std::iter::once(set.effective_to)
            .chain(set_rule_ends(set))
            .flatten()
        {
            if let Some(after) = end.checked_add_days(Days::new(1)) {
                edges.push(("ends", end, after));
            }
        }
        for (what, a, b) in edges {
            for day in [a, b] {
                if !dates.contains(&day) {
                    coverage.push(format!(
                        "`{}` has a rule that {what} between {a} and {b}, and no passing case on {day}",
                        set.id
                    ));
                }
            }
        }
    }
    coverage.sort();
    coverage.dedup();
    TestRun { cases, coverage }
}

fn set_rule_starts(set: &crate::model::RuleSet) -> Vec<Option<NaiveDate>> {
    metas(set).map(|m| m.effective_from).collect()
}

fn set_rule_ends(set: &crate::model::RuleSet) -> Vec<Option<NaiveDate>> {
    metas(set).map(|m| m.effective_to).collect()
}

fn metas(set: &crate::model::RuleSet) -> impl Iterator<Item = &crate::model::RuleMeta> {
    set.classification
        .iter()
        .map(|r| &r.meta)
        .chain(set.letting_rules.iter().map(|r| &r.meta))
        .chain(set.flexible_priority.iter().map(|r| &r.meta))
        .chain(set.referral_rules.iter().map(|r| &r.meta))
        .chain(set.channels.quotas.iter().map(|r| &r.meta))
        .chain(
            set.grants
                .iter()
                .flat_map(|g| g.eligibility.iter().map(|r| &r.meta)),
        )
}

/// The folder of `dir` that holds fixture layers rather than case tables.
pub const FIXTURES: &str = "fixtures";

/// Reads every `*.toml` case table under `dir` (not its `fixtures/`), with the fixture
/// layers each names.
pub fn read_tables(dir: &Path) -> Result<Vec<(String, CaseTable)>, CaseFileError> {
    let mut tables = Vec::new();
    if !dir.exists() {
        return Ok(tables);
    }
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && e.file_type().is_dir() && e.file_name() == FIXTURES));
    for entry in walker {
        let entry = entry.map_err(|e| CaseFileError::Io {
            path: dir.display().to_string(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "toml") {
            let mut table: CaseTable = read_file(entry.path())?;
            for name in &table.layers {
                let path = dir.join(name);
                let text = std::fs::read_to_string(&path).map_err(|source| CaseFileError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                table.fixtures.push(SourceFile {
                    name: path.display().to_string(),
                    text,
                });
            }
            tables.push((entry.path().display().to_string(), table));
        }
    }
    Ok(tables)
}
