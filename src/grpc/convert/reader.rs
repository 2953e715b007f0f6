//! Reading a request's fields: each kind of field checked once, its errors collected.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::super::pb;
use super::cpr::{looks_like_cpr, quote};
use super::invalid::Invalid;
use super::limits;
use crate::model::{AreaFacts, BenefitSpell, Evidence, Household, Person, PersonRole};

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

/// A UUID in its usual text form: 8-4-4-4-12 hex digits.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

pub fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

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
