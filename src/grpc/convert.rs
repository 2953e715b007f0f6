//! Protobuf ↔ domain. Requests are validated here, once: what passes is a well-formed
//! domain command; what fails names the field and the reason (sent as BadRequest details).

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::pb;
use crate::engine::{
    Comparison, Counterfactual, Eligibility, Explanation, FiredRule, LettingOutcome,
};
use crate::log::Logged;
use crate::model::{AreaFacts, BenefitSpell, Channel, Evidence, Household, Person, PersonRole};

/// The contract's limits, in one place; the comments of `proto/letting/v1/*.proto` state
/// the same numbers. Each bounds what one request can make the server hold, build or store.
pub mod limits {
    /// The largest request the server decodes, in bytes (README, "Limits"). The largest
    /// request the other limits allow, a load of [`AREAS`] areas with every field at its
    /// limit, is 178 KB. An empty person costs two bytes on the wire and 136 in memory, so
    /// a request of nothing else decodes to some 18 MB before validation can refuse it
    /// (at tonic's default of 4 MiB it was sixteen times that).
    pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
    /// ID, SERVER ID and PSEUDONYMOUS REF.
    pub const ID: usize = 64;
    /// TERM: a word of the rules' vocabulary.
    pub const TERM: usize = 64;
    pub const IDEMPOTENCY_KEY: usize = 200;
    /// A vacancy's own reference ("Bispeparken 3, 2. th.").
    pub const VACANCY_REF: usize = 64;
    /// Names of organisations, areas and departments.
    pub const NAME: usize = 200;
    /// A caseworker's reasons or note.
    pub const REASON: usize = 4000;
    /// DECIMAL text, and its digits after the point.
    pub const DECIMAL: usize = 32;
    pub const DECIMAL_PLACES: usize = 8;
    /// A quarter as text: "2007Q2", "2007-Q2".
    pub const QUARTER: usize = 8;
    /// Adults of one household.
    pub const PERSONS: usize = 10;
    /// Benefit spells of one person.
    pub const BENEFIT_SPELLS: usize = 50;
    /// Referral conditions of one household.
    pub const REFERRAL_CONDITIONS: usize = 20;
    /// Areas of one statistics load.
    pub const AREAS: usize = 500;
    /// Residents of an area, by any count; eight digits, so never CPR-shaped.
    pub const RESIDENTS: u64 = 10_000_000;
    /// Dwellings of one department.
    pub const DWELLINGS: u32 = 100_000;
    /// A person's age in years.
    pub const AGE: u32 = 130;
    /// A relocation grant, in øre (DKK 1,000,000).
    pub const GRANT_ORE: i64 = 100_000_000;
    /// Field errors listed in one answer; the rest are counted.
    pub const FIELD_ERRORS: usize = 20;
    /// Characters of a sent value an error message quotes.
    pub const QUOTE: usize = 40;
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// The fields that failed, so a caller can fix them all at once: the first
/// [`limits::FIELD_ERRORS`] of them, and how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    errors: Vec<FieldError>,
    more: usize,
}

impl Invalid {
    /// Records a field's error. A reason never shows a CPR-shaped run, whatever it quotes
    /// (a number, say); past [`limits::FIELD_ERRORS`] errors are counted, not kept, so the
    /// answer to a request of a million bad entries stays small.
    pub fn push(&mut self, field: impl Into<String>, reason: impl AsRef<str>) {
        if self.errors.len() >= limits::FIELD_ERRORS {
            self.more = self.more.saturating_add(1);
            return;
        }
        self.errors.push(FieldError {
            field: field.into(),
            reason: redact(reason.as_ref()),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors listed.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// How many errors there were beyond those listed.
    pub fn more(&self) -> usize {
        self.more
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

const CPR_REASON: &str = "looks like a CPR number (six digits, an optional dash and four digits): \
     a CPR number is never sent to this service; use a pseudonymous reference";

/// Collects field errors while reading a request.
pub struct Reader {
    pub errors: Invalid,
}

impl Reader {
    pub fn new() -> Self {
        Reader {
            errors: Invalid::default(),
        }
    }

    /// The check every text field of a request passes, whatever else its kind asks: at
    /// most `max` characters, present if `required`, and no CPR-shaped run, since what
    /// passes may be stored in the decision log and quoted back. False when it failed
    /// (the error is recorded).
    pub fn bounded(&mut self, field: &str, text: &str, max: usize, required: bool) -> bool {
        // White space alone is no answer to a required field (and is refused at any length).
        if text.is_empty() || (required && text.trim().is_empty()) {
            if required {
                self.errors
                    .push(field, format!("is required: 1 to {max} characters"));
            }
            return !required;
        }
        // Bytes first: a megabyte is refused without counting its characters.
        let long = if text.len() > max.saturating_mul(4) {
            Some(format!("is {} bytes long", text.len()))
        } else {
            let n = text.chars().count();
            (n > max).then(|| format!("is {n} characters long"))
        };
        if let Some(long) = long {
            self.errors
                .push(field, format!("{long}: at most {max} characters"));
            return false;
        }
        // A UUID is taken by its shape: the service's ids are UUIDs, callers are advised to
        // use them as idempotency keys, and their random hex digits can line up like a CPR
        // number (in about one in a hundred).
        if looks_like_cpr(text) && !is_uuid(text) {
            // The value is not echoed: it may be a real CPR number.
            self.errors.push(field, CPR_REASON);
            return false;
        }
        true
    }

    /// A repeated field of `len` entries holding at most `max`: how many to read. Entries
    /// past the limit are not read, so neither they nor their errors are ever built.
    pub fn count(&mut self, field: &str, len: usize, max: usize) -> usize {
        if len > max {
            self.errors
                .push(field, format!("has {len} entries: at most {max}"));
        }
        len.min(max)
    }

    /// A number at most `max`.
    pub fn at_most<N: PartialOrd + std::fmt::Display>(&mut self, field: &str, n: N, max: N) -> N {
        if n > max {
            self.errors.push(field, format!("is {n}: at most {max}"));
        }
        n
    }

    pub fn date(&mut self, field: &str, text: &str) -> NaiveDate {
        let parsed = (text.len() == 10)
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten();
        match parsed {
            Some(d) => d,
            None => {
                let reason = if text.is_empty() {
                    "is required: a date written YYYY-MM-DD".to_owned()
                } else {
                    format!("{} is not a date written YYYY-MM-DD", quote(text))
                };
                self.errors.push(field, reason);
                NaiveDate::MIN
            }
        }
    }

    pub fn optional_date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        (!text.is_empty()).then(|| self.date(field, text))
    }

    /// A DECIMAL at most `max`, or none when empty.
    pub fn decimal(&mut self, field: &str, text: &str, max: Decimal) -> Option<Decimal> {
        let d = self.decimal_text(field, text)?;
        if d > max {
            self.errors.push(field, format!("is {d}: at most {max}"));
            return None;
        }
        Some(d)
    }

    /// A SHARE: a DECIMAL from 0 to 1, or none when empty.
    pub fn share(&mut self, field: &str, text: &str) -> Option<Decimal> {
        let d = self.decimal_text(field, text)?;
        if d > Decimal::ONE {
            self.errors.push(
                field,
                "is a share: write it between 0 and 1, such as \"0.412\"",
            );
            return None;
        }
        Some(d)
    }

    fn decimal_text(&mut self, field: &str, text: &str) -> Option<Decimal> {
        if text.is_empty() {
            return None;
        }
        // The contract's DECIMAL: digits, at most one "." followed by one to eight digits,
        // no sign, exponent or separator, at most 18 significant digits. (The decimal
        // parser alone also takes "+5", "3.", ".5", "1_000" and "-0".) Eight places and the
        // callers' bounds keep every run of digits shorter than a CPR number.
        let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let significant = whole
            .trim_start_matches('0')
            .len()
            .saturating_add(fraction.len());
        let well_formed = text.len() <= limits::DECIMAL
            && digits(whole)
            && digits(fraction)
            && fraction.len() <= limits::DECIMAL_PLACES
            && significant <= 18;
        match Decimal::from_str_exact(text) {
            Ok(d) if well_formed => Some(d),
            _ => {
                self.errors.push(
                    field,
                    format!(
                        "{} is not a decimal such as \"0.44\" (at most {} characters and {} decimals)",
                        quote(text),
                        limits::DECIMAL,
                        limits::DECIMAL_PLACES
                    ),
                );
                None
            }
        }
    }

    /// An ID: 1-64 characters of a-z, 0-9 and -, not starting with -.
    pub fn id(&mut self, field: &str, text: &str) -> String {
        let well_formed = |t: &str| {
            !t.starts_with('-')
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if self.bounded(field, text, limits::ID, true) && !well_formed(text) {
            self.errors.push(
                field,
                format!(
                    "{} is not an id: 1-64 characters of a-z, 0-9 and -",
                    quote(text)
                ),
            );
        }
        text.to_owned()
    }

    /// An optional ID (a page token): empty, or an ID.
    pub fn optional_id(&mut self, field: &str, text: &str) -> Option<String> {
        (!text.is_empty()).then(|| self.id(field, text))
    }

    /// A SERVER ID: what the service returned, sent back.
    pub fn server_id(&mut self, field: &str, text: &str) -> String {
        if self.bounded(field, text, limits::ID, true)
            && !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b))
        {
            self.errors.push(
                field,
                "is not an id the service returned: 1-64 characters of A-Z, a-z, 0-9 and . : _ -",
            );
        }
        text.to_owned()
    }

    /// An optional SERVER ID (a page token): empty, or a SERVER ID.
    pub fn optional_server_id(&mut self, field: &str, text: &str) -> Option<String> {
        (!text.is_empty()).then(|| self.server_id(field, text))
    }

    /// Free text of 1 to `max` characters.
    pub fn text(&mut self, field: &str, text: &str, max: usize) -> String {
        self.bounded(field, text, max, true);
        text.to_owned()
    }

    /// Free text of at most `max` characters, or none.
    pub fn optional_text(&mut self, field: &str, text: &str, max: usize) -> String {
        self.bounded(field, text, max, false);
        text.to_owned()
    }

    /// A pseudonymous reference: never a CPR number.
    pub fn reference(&mut self, field: &str, text: &str) -> String {
        if text.is_empty() {
            self.errors.push(
                field,
                "is required: a pseudonymous reference of 1-64 characters",
            );
        } else {
            self.optional_reference(field, text);
        }
        text.to_owned()
    }

    /// An optional pseudonymous reference: empty, or a PSEUDONYMOUS REF.
    pub fn optional_reference(&mut self, field: &str, text: &str) -> String {
        if self.bounded(field, text, limits::ID, false)
            && !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b))
        {
            self.errors
                .push(field, "may hold only A-Z, a-z, 0-9 and . : _ -");
        }
        text.to_owned()
    }

    /// A TERM of the rules' vocabulary: 1-64 characters of a-z, 0-9 and _; `example` is
    /// named when it is missing.
    pub fn term(&mut self, field: &str, text: &str, example: &str) -> String {
        if text.is_empty() {
            self.errors
                .push(field, format!("is required, such as \"{example}\""));
        } else {
            self.optional_term(field, text);
        }
        text.to_owned()
    }

    /// An optional TERM: empty, or a TERM.
    pub fn optional_term(&mut self, field: &str, text: &str) -> String {
        if self.bounded(field, text, limits::TERM, false)
            && !text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            self.errors.push(
                field,
                format!(
                    "{} is not a term of the rules: 1-64 characters of a-z, 0-9 and _",
                    quote(text)
                ),
            );
        }
        text.to_owned()
    }

    pub fn municipality(&mut self, field: &str, text: &str) -> String {
        if !(text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit())) {
            self.errors.push(
                field,
                format!(
                    "{} is not a four-digit municipality code such as \"0101\"",
                    quote(text)
                ),
            );
        }
        text.to_owned()
    }

    pub fn key(&mut self, text: &str) -> String {
        let field = "idempotency_key";
        if text.is_empty() {
            self.errors.push(
                field,
                "is required: a unique key of 1-200 characters per request (a UUID, say)",
            );
        } else {
            self.bounded(field, text, limits::IDEMPOTENCY_KEY, true);
        }
        text.to_owned()
    }

    pub fn household(
        &mut self,
        field: &str,
        household: Option<&pb::ApplicantHousehold>,
    ) -> Household {
        let Some(h) = household else {
            self.errors.push(field, "is required");
            return Household {
                applicant_ref: String::new(),
                lives_in_department: false,
                persons: Vec::new(),
                referral_conditions: Vec::new(),
                resource_weak: None,
                current_area_class: None,
                waiting_list_registered_on: None,
                municipal_dispensation: false,
                moves_within_municipality: None,
            };
        };
        let applicant_ref = self.reference(&format!("{field}.applicant_ref"), &h.applicant_ref);
        let read = self.count(
            &format!("{field}.persons"),
            h.persons.len(),
            limits::PERSONS,
        );
        let mut persons = Vec::new();
        for (i, p) in h.persons.iter().take(read).enumerate() {
            let pf = format!("{field}.persons[{i}]");
            let role = match pb::PersonRole::try_from(p.role) {
                Ok(pb::PersonRole::Applicant) => PersonRole::Applicant,
                Ok(pb::PersonRole::Spouse) => PersonRole::Spouse,
                Ok(pb::PersonRole::Cohabitant) => PersonRole::Cohabitant,
                _ => {
                    self.errors.push(
                        format!("{pf}.role"),
                        "must be APPLICANT, SPOUSE or COHABITANT",
                    );
                    // Left out of the household, so it is not also counted as an applicant.
                    continue;
                }
            };
            let spells = self.count(
                &format!("{pf}.benefit_spells"),
                p.benefit_spells.len(),
                limits::BENEFIT_SPELLS,
            );
            let mut benefits = Vec::new();
            for (j, b) in p.benefit_spells.iter().take(spells).enumerate() {
                let bf = format!("{pf}.benefit_spells[{j}]");
                let kind = self.term(&format!("{bf}.kind"), &b.kind, "cash_benefit");
                let from = self.date(&format!("{bf}.from_date"), &b.from_date);
                let to = self.optional_date(&format!("{bf}.to_date"), &b.to_date);
                if let Some(to) = to
                    && to < from
                {
                    self.errors
                        .push(format!("{bf}.to_date"), "is before from_date");
                }
                benefits.push(BenefitSpell { kind, from, to });
            }
            persons.push(Person {
                role,
                cohabiting_since: self
                    .optional_date(&format!("{pf}.cohabiting_since"), &p.cohabiting_since),
                benefits,
                weekly_work_hours: self.decimal(
                    &format!("{pf}.weekly_work_hours"),
                    &p.weekly_work_hours,
                    // The hours of a week.
                    Decimal::from(168),
                ),
                student: p.student,
                age: (p.age > 0).then(|| self.at_most(&format!("{pf}.age"), p.age, limits::AGE)),
                gives_up_larger_dwelling_in_municipality: p
                    .gives_up_larger_dwelling_in_municipality,
                separated_on: self.optional_date(&format!("{pf}.separated_on"), &p.separated_on),
                shared_address_from: self
                    .optional_date(&format!("{pf}.shared_address_from"), &p.shared_address_from),
                evidence: match pb::Evidence::try_from(p.evidence) {
                    Ok(pb::Evidence::Documented) => Evidence::Documented,
                    _ => Evidence::SelfDeclared,
                },
            });
        }
        let applicants = persons
            .iter()
            .filter(|p| p.role == PersonRole::Applicant)
            .count();
        // Over the limit, the persons were not all read: their applicants are not counted.
        if applicants != 1 && read == h.persons.len() {
            self.errors.push(
                format!("{field}.persons"),
                format!("must have exactly one person with role APPLICANT, has {applicants}"),
            );
        }
        let conditions = self.count(
            &format!("{field}.referral_conditions"),
            h.referral_conditions.len(),
            limits::REFERRAL_CONDITIONS,
        );
        let referral_conditions = h
            .referral_conditions
            .iter()
            .take(conditions)
            .enumerate()
            .map(|(i, c)| {
                self.term(
                    &format!("{field}.referral_conditions[{i}]"),
                    c,
                    "released_within_6_months",
                )
            })
            .collect();
        let current_area_class = self.optional_term(
            &format!("{field}.current_area_class"),
            &h.current_area_class,
        );
        Household {
            applicant_ref,
            lives_in_department: h.lives_in_department,
            persons,
            referral_conditions,
            resource_weak: h.resource_weak,
            current_area_class: (!current_area_class.is_empty()).then_some(current_area_class),
            waiting_list_registered_on: self.optional_date(
                &format!("{field}.waiting_list_registered_on"),
                &h.waiting_list_registered_on,
            ),
            municipal_dispensation: h.municipal_dispensation,
            moves_within_municipality: h.moves_within_municipality,
        }
    }

    pub fn area_statistics(
        &mut self,
        field: &str,
        s: &pb::AreaStatistics,
    ) -> crate::service::AreaStatisticsInput {
        let area = self.id(&format!("{field}.area_id"), &s.area_id);
        let mut count = |name: &str, n: Option<u64>| {
            n.map(|n| self.at_most(&format!("{field}.{name}"), n, limits::RESIDENTS))
        };
        let working_age_residents = count("working_age_residents", s.working_age_residents);
        let without_labour_market_attachment = count(
            "without_labour_market_attachment",
            s.without_labour_market_attachment,
        );
        let residents = count("residents", s.residents);
        if let (Some(w), Some(without)) = (working_age_residents, without_labour_market_attachment)
            && without > w
        {
            self.errors.push(
                format!("{field}.without_labour_market_attachment"),
                "is larger than working_age_residents",
            );
        }
        let mut share = |name: &str, text: &str| {
            let field = format!("{field}.{name}");
            match name {
                // A multiple of the national rate, not a share.
                "conviction_rate_ratio" => self.decimal(&field, text, Decimal::from(1000)),
                // Weeks of a year.
                "self_supporting_weeks" => self.decimal(&field, text, Decimal::from(53)),
                _ => self.share(&field, text),
            }
        };
        let facts = AreaFacts {
            id: area.clone(),
            name: None,
            working_age_residents,
            without_labour_market_attachment,
            share_without_attachment: None,
            residents,
            share_without_work_or_education: share(
                "share_without_work_or_education",
                &s.share_without_work_or_education,
            ),
            conviction_rate_ratio: share("conviction_rate_ratio", &s.conviction_rate_ratio),
            share_basic_schooling_only: share(
                "share_basic_schooling_only",
                &s.share_basic_schooling_only,
            ),
            income_ratio_to_region: share("income_ratio_to_region", &s.income_ratio_to_region),
            share_non_western: share("share_non_western", &s.share_non_western),
            share_convicted: share("share_convicted", &s.share_convicted),
        };
        let transfer_income_share = share("transfer_income_share", &s.transfer_income_share);
        let self_supporting_weeks = share("self_supporting_weeks", &s.self_supporting_weeks);
        crate::service::AreaStatisticsInput {
            area,
            facts,
            transfer_income_share,
            self_supporting_weeks,
        }
    }
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

/// Where `text` holds a CPR-shaped run: six digits, an optional dash and four digits, with
/// no digit just before or after (a longer run of digits is some other number). The byte
/// ranges of the runs, in order.
fn cpr_runs(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    // The length of the run of digits from `i`.
    let run = move |i: usize| (i..bytes.len()).take_while(|&j| digit(j)).count();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            if !digit(start) || (start > 0 && digit(start - 1)) {
                at = start.saturating_add(1);
                continue;
            }
            let n = run(start);
            at = start.saturating_add(n);
            let found = match n {
                10 => Some(start..at),
                6 if bytes.get(at) == Some(&b'-') && run(at.saturating_add(1)) == 4 => {
                    Some(start..at.saturating_add(5))
                }
                _ => None,
            };
            if let Some(found) = found {
                at = found.end;
                return Some(found);
            }
        }
        None
    })
}

/// Whether `text` holds a CPR-shaped run (see [`cpr_runs`]).
pub fn looks_like_cpr(text: &str) -> bool {
    cpr_runs(text).next().is_some()
}

/// A sent value as an error message shows it: in backticks, at most
/// [`limits::QUOTE`] characters and "…", and not at all when it holds a CPR-shaped run.
pub fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(limits::QUOTE).collect();
    // The cut prefix is checked too: cutting a longer run of digits can leave ten.
    if looks_like_cpr(text) || looks_like_cpr(&shown) {
        return "a value shaped like a CPR number (not shown)".to_owned();
    }
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// `message` with every CPR-shaped run withheld: for messages that may quote what a
/// caller sent.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut from = 0;
    for run in cpr_runs(message) {
        out.push_str(message.get(from..run.start).unwrap_or_default());
        out.push_str("[withheld]");
        from = run.end;
    }
    out.push_str(message.get(from..).unwrap_or_default());
    out
}

/// A UUID in its usual text form: 8-4-4-4-12 hex digits.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

pub fn channel(c: Channel) -> pb::LettingChannel {
    match c {
        Channel::MunicipalReferral => pb::LettingChannel::MunicipalReferral,
        Channel::Flexible => pb::LettingChannel::Flexible,
        Channel::InternalList => pb::LettingChannel::InternalList,
        Channel::ExternalList => pb::LettingChannel::ExternalList,
    }
}

pub fn outcome(o: LettingOutcome) -> pb::LettingOutcome {
    match o {
        LettingOutcome::Approved => pb::LettingOutcome::Approved,
        LettingOutcome::Rejected => pb::LettingOutcome::Rejected,
        LettingOutcome::PendingMunicipalApproval => pb::LettingOutcome::PendingMunicipalApproval,
    }
}

pub fn eligibility(e: Eligibility) -> pb::FlexibleEligibility {
    match e {
        Eligibility::NotApplicable => pb::FlexibleEligibility::NotApplicable,
        Eligibility::NotEligible => pb::FlexibleEligibility::NotEligible,
        Eligibility::Provisional => pb::FlexibleEligibility::Provisional,
        Eligibility::Verified => pb::FlexibleEligibility::Verified,
    }
}

fn comparison(c: &Comparison) -> pb::Comparison {
    pb::Comparison {
        fact: c.fact.to_string(),
        operator: c.op.to_string(),
        threshold: c.threshold.clone(),
        actual: c.actual.clone(),
        holds: c.holds,
    }
}

/// A letting decision's counterfactuals, in the engine's order.
pub fn counterfactuals(found: &[Counterfactual]) -> Vec<pb::Counterfactual> {
    found
        .iter()
        .map(|c| pb::Counterfactual {
            fact: c.fact.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
            rule_id: c.rule_id.to_string(),
            message_da: c.message_da.clone(),
            message_en: c.message_en.clone(),
        })
        .collect()
}

fn fired_rule(f: &FiredRule) -> pb::FiredRule {
    pb::FiredRule {
        rule_id: f.rule_id.to_string(),
        layer_id: f.layer.to_string(),
        legal_source: Some(pb::LegalSource {
            document: f.source.document.to_string(),
            section: f.source.section.as_deref().unwrap_or_default().to_owned(),
            title: f.source.title.to_string(),
        }),
        comparisons: f.comparisons.iter().map(comparison).collect(),
        message_da: f.message_da.clone(),
        message_en: f.message_en.clone(),
        to_citizen: f.to_citizen,
    }
}

pub fn explanation(e: &Explanation) -> pb::DecisionExplanation {
    pb::DecisionExplanation {
        rule_set_id: e.rule_set_id.to_string(),
        rule_set_content_hash: e.rule_set_hash.to_string(),
        decided_on: e.decided_on.to_string(),
        fired_rules: e.fired.iter().map(fired_rule).collect(),
        considered_rules: e.considered.iter().map(fired_rule).collect(),
        facts: e
            .facts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        reference_data: e
            .reference_data
            .iter()
            .map(|r| pb::ReferenceData {
                id: r.id.to_string(),
                content_hash: r.content_hash.to_string(),
                completeness: r.completeness.as_str().to_owned(),
            })
            .collect(),
        layers: e
            .layers
            .iter()
            .map(|l| pb::Layer {
                id: l.id.to_string(),
                kind: l.kind.as_str().to_owned(),
                title: l.title.to_string(),
                content_hash: l.content_hash.to_string(),
                effective_from: l.effective_from.to_string(),
                effective_to: l.effective_to.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        rests_on_incomplete_data: e.rests_on_incomplete_data(),
        main_considerations: e.considerations.clone().unwrap_or_default(),
        complaint: e.complaint.as_ref().map(|c| pb::ComplaintGuidance {
            guidance_id: c.guidance_id.to_string(),
            legal_source: Some(pb::LegalSource {
                document: c.source.document.to_string(),
                section: c.source.section.as_deref().unwrap_or_default().to_owned(),
                title: c.source.title.to_string(),
            }),
            body_da: c.body_da.to_string(),
            body_en: c.body_en.to_string(),
            how_da: c.how_da.to_string(),
            how_en: c.how_en.to_string(),
            deadline_da: c.deadline_da.to_string(),
            deadline_en: c.deadline_en.to_string(),
        }),
    }
}

pub fn decision(logged: &Logged) -> pb::Decision {
    let d = &logged.record;
    pb::Decision {
        decision_id: d.id.clone(),
        kind: d.kind.as_str().to_owned(),
        municipality_code: d.municipality.clone(),
        organisation_id: d.organisation.clone().unwrap_or_default(),
        department_id: d.department.clone().unwrap_or_default(),
        area_id: d.area.clone().unwrap_or_default(),
        subject_id: d.subject.clone().unwrap_or_default(),
        event_date: d.event_date.to_string(),
        recorded_at: d.recorded_at.to_rfc3339(),
        outcome: d.outcome.clone(),
        channel: d.channel.clone().unwrap_or_default(),
        area_class: d.area_class.clone().unwrap_or_default(),
        amount_ore: d.amount_ore.unwrap_or_default(),
        principal: d.principal.clone(),
        explanation: logged.body.explanation().map(explanation),
        body_json: d.body.to_string(),
    }
}

pub fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn cpr_shapes_are_caught() {
        for cpr in [
            "010170-1234",
            "0101701234",
            "x0101701234",
            "hh-3112999999-x",
            "a 010170-1234 b",
            "010170-1234-5678",
        ] {
            assert!(looks_like_cpr(cpr), "{cpr}");
        }
        // Not six digits, a dash and four; or part of a longer run of digits.
        for other in [
            "A-1007",
            "hh-2007-000123",
            "01017-1234",
            "0101701",
            "01017012345",
            "1010170-1234",
            "010170-12345",
            "010170--1234",
            "2007-03-01",
            "",
        ] {
            assert!(!looks_like_cpr(other), "{other}");
        }
    }

    #[test]
    fn quotes_are_short_and_never_cpr_shaped() {
        assert_eq!(quote("abc"), "`abc`");
        let long = "q".repeat(1_000);
        assert_eq!(quote(&long), format!("`{}…`", "q".repeat(40)));
        assert!(!quote("hh-010170-1234").contains("010170"));
        // Thirteen digits are no CPR number, but cut after ten of them they would be.
        let cut = format!("{}0101701234567", "q".repeat(30));
        assert!(!quote(&cut).contains("0101701234"), "{}", quote(&cut));
    }

    #[test]
    fn redaction_withholds_each_run_and_keeps_the_rest() {
        assert_eq!(
            redact("vacancy `0190f0c4-0000-7000-8000-0101701234ab` and 010170-1234."),
            "vacancy `0190f0c4-0000-7000-8000-[withheld]ab` and [withheld]."
        );
        assert_eq!(redact("letting 2007-03-01"), "letting 2007-03-01");
    }

    #[test]
    fn a_uuid_is_taken_by_its_shape() {
        let id = crate::service::new_id();
        assert!(is_uuid(&id), "{id}");
        let mut v = Reader::new();
        v.server_id("id", "0190f0c4-0000-7000-8000-0101701234ab");
        v.key("0190F0C4-0000-4000-8000-0101701234AB");
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        v.server_id("id", "0101701234");
        v.server_id("id", "x-0190f0c4-0000-7000-8000-0101701234ab");
        v.server_id("id", &"a".repeat(65));
        v.server_id("id", "");
        v.key("010170-1234");
        assert_eq!(v.errors.errors().len(), 5);
    }

    #[test]
    fn the_error_list_keeps_twenty_and_counts_the_rest() {
        let mut v = Reader::new();
        for i in 0..1_000 {
            v.date(&format!("d{i}"), "never");
        }
        assert_eq!(v.errors.errors().len(), limits::FIELD_ERRORS);
        assert_eq!(v.errors.more(), 980);
    }

    /// The largest request the field limits allow must fit the size the server decodes.
    #[test]
    fn the_largest_statistics_load_fits_the_request_size() {
        let decimal = format!("{}.{}", "0".repeat(23), "1".repeat(limits::DECIMAL_PLACES));
        assert_eq!(decimal.len(), limits::DECIMAL);
        let area = pb::AreaStatistics {
            area_id: "a".repeat(limits::ID),
            working_age_residents: Some(limits::RESIDENTS),
            without_labour_market_attachment: Some(limits::RESIDENTS),
            residents: Some(limits::RESIDENTS),
            share_without_work_or_education: decimal.clone(),
            conviction_rate_ratio: decimal.clone(),
            share_basic_schooling_only: decimal.clone(),
            income_ratio_to_region: decimal.clone(),
            transfer_income_share: decimal.clone(),
            self_supporting_weeks: decimal.clone(),
            share_non_western: decimal.clone(),
            share_convicted: decimal,
        };
        let load = pb::LoadAreaStatisticsRequest {
            idempotency_key: "k".repeat(limits::IDEMPOTENCY_KEY),
            year: 2007,
            effective_date: "2007-01-01".into(),
            areas: vec![area; limits::AREAS],
        };
        let mut v = Reader::new();
        for (i, a) in load.areas.iter().enumerate() {
            v.area_statistics(&format!("areas[{i}]"), a);
        }
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert!(
            load.encoded_len() < limits::MAX_REQUEST_BYTES,
            "{} bytes",
            load.encoded_len()
        );
    }
}
