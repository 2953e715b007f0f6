//! A demo city: Copenhagen in 2007, seeded through the same [`Ledger`] calls the gRPC
//! handlers make, so that every act goes through the engine and lands in the decision log.
//!
//! The city has the five exposed areas the Social Ministry designated (4,627 dwellings in
//! all), high-risk, risk and neutral areas, and a year of vacancies with everything that
//! follows from them: channel assignments, lettings proposed and judged under combined
//! letting, municipal approvals and rejections, replacement offers, move-ins, municipal
//! referrals (a few into barred areas, refused) and relocation grants. The municipality
//! approves exactly 33 lettings in exposed areas by 2007-05-01, the figure of the 2007
//! status report, and events fall on the quarter edges so that reports meet them.
//!
//! Every choice comes from a seeded generator, so the same seed gives the same decisions
//! (apart from decision ids and recording times), and idempotency keys are derived from
//! the seed: seeding the same database twice with the same seed changes nothing.
//!
//! Speed without giving up determinism. The store commits concurrent writes in one batch,
//! so the demo runs independent work concurrently:
//! - vacancies are registered in date order, in rounds holding at most one vacancy per
//!   department (a department's quota counters see its vacancies in order), and only as
//!   many at once as cannot change whether the municipality-wide quotas (every 9th vacancy)
//!   are due, whatever order the store runs them in; a vacancy that might tip such a quota
//!   is registered alone;
//! - each vacancy's letting flow (proposals, approval, move-in, referrals) runs on its own,
//!   concurrently with the others: nothing in one flow depends on another;
//! - grants run in one sequence of their own (the pool's remainder is in every reason);
//! - replacement offers run last, when the rejected lettings they answer exist; their
//!   dwellings are set aside for them and let by no other flow.
//!
//! The flows are planned before they run, with the outcome the rules must give; a call
//! that decides otherwise stops the demo with an error naming the difference.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use futures::StreamExt;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::{
    Eligibility, GrantOutcome, LettingOutcome, QuotaCounters, ReferralOutcome, period_key,
};
use crate::model::{
    AreaFacts, BenefitSpell, Channel, CompareOp, CountedOver, Evidence, Household, Money, Person,
    PersonRole, RuleBook, ShareSource,
};
use crate::service::{
    AnswerOffer, AreaStatisticsInput, DecideGrant, GrantAct, Ledger, LoadStatistics, MakeOffer,
    MunicipalAct, Principal, ProposeLetting, RecordMoveIn, RecordReferral, RegisterVacancy,
    ServiceError, municipality_scope,
};
use crate::store::{Area, Department, Organisation};

/// The municipality of the demo city: Copenhagen.
pub const MUNICIPALITY: &str = "0101";
/// The seed `letting demo` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 2007;
/// Lettings in exposed areas the municipality approves on or before 2007-05-01 (the status
/// report: "Kommunen har godkendt 33 indflytninger pr. 1. maj 2007").
pub const APPROVALS_BY_MAY_1: usize = 33;

/// Vacancies registered in one round, at most.
const ROUND: usize = 128;
/// Letting flows in flight at once.
const FLOWS_AT_ONCE: usize = 256;

const fn ymd(month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(2007, month, day) {
        Some(date) => date,
        None => NaiveDate::MIN,
    }
}

const YEAR_START: NaiveDate = ymd(1, 1);
const FIRST_VACANCY: NaiveDate = ymd(1, 2);
const LAST_VACANCY: NaiveDate = ymd(12, 28);
const YEAR_END: NaiveDate = ymd(12, 31);
const MAY_1: NaiveDate = ymd(5, 1);
/// The quarter edges every report should meet.
const Q1_END: NaiveDate = ymd(3, 31);
const Q2_START: NaiveDate = ymd(4, 1);
const Q2_END: NaiveDate = ymd(6, 30);
const Q3_START: NaiveDate = ymd(7, 1);

/// Danish public holidays of 2007 on weekdays: no vacancy is registered on them.
const HOLIDAYS: [NaiveDate; 9] = [
    ymd(4, 5),   // Skærtorsdag
    ymd(4, 6),   // Langfredag
    ymd(4, 9),   // 2. påskedag
    ymd(5, 4),   // Store bededag
    ymd(5, 17),  // Kristi himmelfartsdag
    ymd(5, 28),  // 2. pinsedag
    ymd(6, 5),   // Grundlovsdag
    ymd(12, 24), // Juleaftensdag
    ymd(12, 25), // Juledag
];

/// How `seed` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Every random choice of the demo follows from it.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { seed: DEFAULT_SEED }
    }
}

/// What the demo did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub seed: u64,
    pub municipality: String,
    pub organisations: usize,
    pub areas: usize,
    pub departments: usize,
    pub dwellings: u32,
    pub dwellings_in_exposed_areas: u32,
    /// Vacancies registered, and the channel each was given.
    pub vacancies: usize,
    pub vacancies_by_channel: BTreeMap<String, usize>,
    /// Lettings proposed, by the engine's outcome.
    pub proposals: usize,
    pub proposals_rejected: usize,
    pub proposals_pending_approval: usize,
    pub proposals_approved: usize,
    /// The municipality's decisions on pending lettings.
    pub approvals: usize,
    pub approvals_in_exposed_areas_by_2007_05_01: usize,
    pub municipal_rejections: usize,
    /// Lettings still awaiting the municipality at the end of 2007.
    pub pending_at_year_end: usize,
    pub replacement_offers: usize,
    pub offers_accepted: usize,
    pub offers_declined: usize,
    pub move_ins: usize,
    /// Flexible vacancies let to a tenant without priority (the quota's shortfall).
    pub move_ins_flexible_shortfall: usize,
    /// Move-ins that count toward indicator 5 (flexible letting into exposed or high-risk).
    pub move_ins_flexible_indicator: usize,
    /// Move-ins that count toward indicator 6 (combined letting into exposed areas).
    pub move_ins_combined_indicator: usize,
    pub referrals_accepted: usize,
    pub referrals_refused: usize,
    pub grants_approved: usize,
    pub grants_refused: usize,
    pub grants_paid: usize,
    pub grants_cancelled: usize,
    pub grants_paid_amount: Money,
    /// Decisions the demo recorded, one per call.
    pub decisions: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels = self
            .vacancies_by_channel
            .iter()
            .map(|(c, n)| format!("{} {n}", c.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ");
        let offers_open = self
            .replacement_offers
            .saturating_sub(self.offers_accepted + self.offers_declined);
        writeln!(
            f,
            "demo city of 2007 (municipality {}, seed {}): {} organisations, {} areas, {} departments, {} dwellings ({} in exposed areas)",
            self.municipality,
            self.seed,
            self.organisations,
            self.areas,
            self.departments,
            self.dwellings,
            self.dwellings_in_exposed_areas
        )?;
        writeln!(
            f,
            "  vacancies registered        {:>5}  ({channels})",
            self.vacancies
        )?;
        writeln!(f, "  lettings proposed           {:>5}", self.proposals)?;
        writeln!(
            f,
            "    rejected (combined letting) {:>3}",
            self.proposals_rejected
        )?;
        writeln!(
            f,
            "    pending municipal approval {:>4}",
            self.proposals_pending_approval
        )?;
        writeln!(
            f,
            "    approved at once           {:>4}",
            self.proposals_approved
        )?;
        writeln!(
            f,
            "  municipal approvals         {:>5}  ({} in exposed areas by 2007-05-01)",
            self.approvals, self.approvals_in_exposed_areas_by_2007_05_01
        )?;
        writeln!(
            f,
            "  municipal rejections        {:>5}",
            self.municipal_rejections
        )?;
        writeln!(
            f,
            "  still pending on 2007-12-31 {:>5}",
            self.pending_at_year_end
        )?;
        writeln!(
            f,
            "  replacement offers          {:>5}  (accepted {}, declined {}, unanswered {offers_open})",
            self.replacement_offers, self.offers_accepted, self.offers_declined
        )?;
        writeln!(
            f,
            "  move-ins                    {:>5}  (flexible shortfall {}; indicator 5: {}; indicator 6: {})",
            self.move_ins,
            self.move_ins_flexible_shortfall,
            self.move_ins_flexible_indicator,
            self.move_ins_combined_indicator
        )?;
        writeln!(
            f,
            "  municipal referrals         {:>5}  (accepted {}, refused {})",
            self.referrals_accepted + self.referrals_refused,
            self.referrals_accepted,
            self.referrals_refused
        )?;
        writeln!(
            f,
            "  relocation grants           {:>5}  (approved {}, refused {}; paid {} = DKK {}, cancelled {})",
            self.grants_approved + self.grants_refused,
            self.grants_approved,
            self.grants_refused,
            self.grants_paid,
            self.grants_paid_amount,
            self.grants_cancelled
        )?;
        write!(f, "  decisions recorded          {:>5}", self.decisions)
    }
}

// ----- the city ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Exposed,
    HighRisk,
    Risk,
    Neutral,
}

impl Class {
    fn parse(text: &str) -> Option<Class> {
        match text {
            "exposed" => Some(Class::Exposed),
            "high_risk" => Some(Class::HighRisk),
            "risk" => Some(Class::Risk),
            "neutral" => Some(Class::Neutral),
            _ => None,
        }
    }

    /// Vacancies a year per 1,000 dwellings.
    fn turnover_per_mille(self) -> u32 {
        match self {
            Class::Exposed => 100,
            Class::HighRisk => 90,
            Class::Risk => 85,
            Class::Neutral => 80,
        }
    }
}

#[derive(Debug)]
struct AreaDef {
    id: &'static str,
    name: &'static str,
    class: Class,
    residents: u64,
    working_age: u64,
    without_attachment: u64,
    /// Share of residents on transfer income (indicators 2 and 3).
    transfer_income: &'static str,
    /// Weeks a year residents are self-supporting on average (indicator 4).
    self_supporting_weeks: &'static str,
}

/// The areas. Exposed areas are designated (their share does not classify them); their
/// transfer-income shares average 50.47 % and their self-supporting weeks 21, both per area
/// and weighted by residents; the high-risk areas' transfer-income shares average 45 % the
/// same two ways. Gadelandet sits exactly on the 40 % edge (high-risk by the rule file) and
/// Valbyparken exactly on the 30 % edge (risk).
#[rustfmt::skip]
const AREAS: &[AreaDef] = &[
    AreaDef { id: "mjoelnerparken", name: "Mjølnerparken", class: Class::Exposed, residents: 1720, working_age: 1030, without_attachment: 587, transfer_income: "0.5721", self_supporting_weeks: "17.3" },
    AreaDef { id: "tingbjerg", name: "Tingbjerg", class: Class::Exposed, residents: 5930, working_age: 3560, without_attachment: 1780, transfer_income: "0.5026", self_supporting_weeks: "21.1" },
    AreaDef { id: "akacieparken", name: "Akacieparken", class: Class::Exposed, residents: 1480, working_age: 900, without_attachment: 468, transfer_income: "0.5177", self_supporting_weeks: "19.7" },
    AreaDef { id: "lundtoftegade", name: "Lundtoftegade", class: Class::Exposed, residents: 1890, working_age: 1150, without_attachment: 552, transfer_income: "0.4732", self_supporting_weeks: "23.0" },
    AreaDef { id: "aldersrogade", name: "Aldersrogade", class: Class::Exposed, residents: 1350, working_age: 830, without_attachment: 390, transfer_income: "0.4579", self_supporting_weeks: "23.9" },
    AreaDef { id: "bispeparken", name: "Bispeparken", class: Class::HighRisk, residents: 1940, working_age: 1000, without_attachment: 412, transfer_income: "0.4356", self_supporting_weeks: "26.4" },
    AreaDef { id: "urbanplanen", name: "Urbanplanen", class: Class::HighRisk, residents: 2620, working_age: 1560, without_attachment: 686, transfer_income: "0.4576", self_supporting_weeks: "25.1" },
    AreaDef { id: "gadelandet", name: "Gadelandet", class: Class::HighRisk, residents: 1180, working_age: 700, without_attachment: 280, transfer_income: "0.4568", self_supporting_weeks: "25.8" },
    AreaDef { id: "hulgaard", name: "Hulgårdsplan", class: Class::Risk, residents: 1420, working_age: 880, without_attachment: 308, transfer_income: "0.3380", self_supporting_weeks: "31.5" },
    AreaDef { id: "sjaeloer", name: "Sjælør Boulevard", class: Class::Risk, residents: 1050, working_age: 640, without_attachment: 205, transfer_income: "0.3150", self_supporting_weeks: "32.8" },
    AreaDef { id: "valbyparken", name: "Valbyparken", class: Class::Risk, residents: 1110, working_age: 800, without_attachment: 240, transfer_income: "0.2890", self_supporting_weeks: "34.0" },
    AreaDef { id: "nordvest", name: "Nordvest", class: Class::Neutral, residents: 2350, working_age: 1300, without_attachment: 247, transfer_income: "0.2140", self_supporting_weeks: "39.2" },
    AreaDef { id: "oestergaard", name: "Østergård", class: Class::Neutral, residents: 1080, working_age: 640, without_attachment: 142, transfer_income: "0.2310", self_supporting_weeks: "37.6" },
    AreaDef { id: "amagerbro", name: "Amagerbro", class: Class::Neutral, residents: 1130, working_age: 700, without_attachment: 112, transfer_income: "0.1870", self_supporting_weeks: "41.0" },
    AreaDef { id: "vesterbro", name: "Vesterbro", class: Class::Neutral, residents: 760, working_age: 520, without_attachment: 68, transfer_income: "0.1620", self_supporting_weeks: "42.3" },
];

const ORGANISATIONS: &[(&str, &str)] = &[
    ("kab", "KAB"),
    ("fsb", "FSB"),
    ("akb", "AKB"),
    ("sab", "SAB"),
    ("3b", "3B"),
];

#[derive(Debug)]
struct DeptDef {
    id: &'static str,
    organisation: &'static str,
    area: &'static str,
    name: &'static str,
    dwellings: u32,
}

/// The departments. Those of the exposed areas add up to the designation's dwellings per
/// area (4,627 in all); the ids in rules/reference/flexible-shares-0101-2007.toml carry
/// their agreed flexible shares, the others have none.
#[rustfmt::skip]
const DEPARTMENTS: &[DeptDef] = &[
    DeptDef { id: "akb-mjoelnerparken", organisation: "akb", area: "mjoelnerparken", name: "Mjølnerparken", dwellings: 560 },
    DeptDef { id: "fsb-tingbjerg-1", organisation: "fsb", area: "tingbjerg", name: "Tingbjerg I", dwellings: 760 },
    DeptDef { id: "fsb-tingbjerg-2", organisation: "fsb", area: "tingbjerg", name: "Tingbjerg II", dwellings: 760 },
    DeptDef { id: "sab-tingbjerg", organisation: "sab", area: "tingbjerg", name: "Tingbjerg (SAB)", dwellings: 600 },
    DeptDef { id: "kab-akacieparken", organisation: "kab", area: "akacieparken", name: "Akacieparken", dwellings: 605 },
    DeptDef { id: "fsb-lundtoftegade", organisation: "fsb", area: "lundtoftegade", name: "Lundtoftegade", dwellings: 738 },
    DeptDef { id: "kab-aldersrogade", organisation: "kab", area: "aldersrogade", name: "Aldersrogade", dwellings: 604 },
    DeptDef { id: "akb-bispeparken", organisation: "akb", area: "bispeparken", name: "Bispeparken", dwellings: 920 },
    DeptDef { id: "3b-urbanplanen", organisation: "3b", area: "urbanplanen", name: "Urbanplanen (3B)", dwellings: 620 },
    DeptDef { id: "kab-urbanplanen", organisation: "kab", area: "urbanplanen", name: "Urbanplanen (KAB)", dwellings: 420 },
    DeptDef { id: "sab-gadelandet", organisation: "sab", area: "gadelandet", name: "Gadelandet", dwellings: 560 },
    DeptDef { id: "fsb-hulgaard", organisation: "fsb", area: "hulgaard", name: "Hulgårdsplan", dwellings: 640 },
    DeptDef { id: "akb-sjaeloer", organisation: "akb", area: "sjaeloer", name: "Sjælør Boulevard", dwellings: 480 },
    DeptDef { id: "3b-valbyparken", organisation: "3b", area: "valbyparken", name: "Valbyparken", dwellings: 500 },
    DeptDef { id: "kab-nordvest-3", organisation: "kab", area: "nordvest", name: "Nordvest 3", dwellings: 700 },
    DeptDef { id: "kab-nordvest-1", organisation: "kab", area: "nordvest", name: "Nordvest 1", dwellings: 360 },
    DeptDef { id: "sab-oestergaard", organisation: "sab", area: "oestergaard", name: "Østergård", dwellings: 520 },
    DeptDef { id: "3b-amagerbro", organisation: "3b", area: "amagerbro", name: "Amagerbro", dwellings: 560 },
    DeptDef { id: "fsb-vesterbro", organisation: "fsb", area: "vesterbro", name: "Vesterbro", dwellings: 420 },
];

/// Vacancies moved onto the quarter edges: (date, department).
const EDGE_VACANCIES: &[(NaiveDate, &str)] = &[
    (Q1_END, "fsb-tingbjerg-1"),
    (Q1_END, "kab-nordvest-3"),
    (Q2_START, "akb-bispeparken"),
    (Q2_START, "fsb-hulgaard"),
    (Q2_END, "kab-akacieparken"),
    (Q2_END, "sab-oestergaard"),
    (Q3_START, "3b-urbanplanen"),
    (Q3_START, "akb-mjoelnerparken"),
];

/// Municipal referrals into barred areas, refused: (department, on or after).
const BARRED_REFERRALS: &[(&str, NaiveDate)] = &[
    ("fsb-tingbjerg-1", ymd(2, 15)),
    ("akb-bispeparken", ymd(4, 20)),
    ("sab-gadelandet", Q2_END),
    ("akb-mjoelnerparken", ymd(9, 10)),
    ("3b-urbanplanen", ymd(11, 20)),
];

fn area_def(id: &str) -> Option<&'static AreaDef> {
    AREAS.iter().find(|a| a.id == id)
}

fn designed_vacancies(dept: &DeptDef) -> u32 {
    let per_mille = area_def(dept.area).map_or(80, |a| a.class.turnover_per_mille());
    (dept.dwellings * per_mille + 500) / 1000
}

// ----- a seeded generator ------------------------------------------------------------------

/// ChaCha8, seeded per stream from the demo's seed: each department, flow and list draws
/// from a stream of its own, so no choice depends on the order work runs in. ChaCha's
/// output for a seed is fixed across crate versions, so a seed always gives the same city.
struct Rng(rand_chacha::ChaCha8Rng);

impl Rng {
    fn new(seed: u64, stream: &str) -> Rng {
        use rand_chacha::rand_core::SeedableRng;
        let digest = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(stream.as_bytes())
            .finalize();
        Rng(rand_chacha::ChaCha8Rng::from_seed(digest.into()))
    }

    fn next(&mut self) -> u64 {
        use rand_chacha::rand_core::RngCore;
        self.0.next_u64()
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    /// One of `choices` by weight.
    fn weighted<T: Copy>(&mut self, choices: &[(T, u64)]) -> Option<T> {
        let total: u64 = choices.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return None;
        }
        let mut roll = self.next() % total;
        for (choice, weight) in choices {
            if roll < *weight {
                return Some(*choice);
            }
            roll -= weight;
        }
        None
    }
}

fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

fn minus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days))
        .unwrap_or(NaiveDate::MIN)
}

fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// Tenants move in on the 1st or the 15th, at least two weeks after the letting is settled.
fn move_in_after(date: NaiveDate) -> NaiveDate {
    let earliest = plus(date, 14);
    match earliest.day() {
        1 | 15 => earliest,
        d if d < 15 => earliest.with_day(15).unwrap_or(earliest),
        _ => earliest
            .with_day(1)
            .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
            .unwrap_or(NaiveDate::MAX),
    }
}

fn working_days() -> Vec<NaiveDate> {
    FIRST_VACANCY
        .iter_days()
        .take_while(|d| *d <= LAST_VACANCY)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !HOLIDAYS.contains(d))
        .collect()
}

fn diverged(what: String) -> ServiceError {
    ServiceError::FailedPrecondition(format!(
        "the demo city diverged from its design: {what} (the demo is written for the 2007 Copenhagen layers kk-2007 and kk-aftale-2007 on dk-2005)"
    ))
}

// ----- households ----------------------------------------------------------------------------

/// The kinds of applicant household the demo proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// In work 25–37 hours a week: flexible priority.
    Work,
    /// In work under 25 hours a week.
    PartTime,
    Student,
    /// 62 or older, giving up a larger dwelling in the municipality.
    Senior,
    /// Separated within the year after years at a shared address.
    Separated,
    /// Early retirement or old-age pension (not a listed benefit), no priority.
    Pensioner,
    /// Cash benefit, start aid or introduction allowance for 7 months or more, still received.
    LongBenefit,
    /// Applicant in part-time work; the spouse on cash benefit for 8 months or more. Not
    /// rejected: § 51 b needs the applicant *and* the spouse to receive a listed benefit.
    SpouseOnBenefit,
    /// Applicant and spouse both on cash benefit for 8 months or more: rejected.
    CoupleOnBenefit,
    /// Cash benefit for under 6 months.
    ShortBenefit,
    /// Cash benefit that has ended.
    EndedBenefit,
    /// Applicant in work; a cohabitant of under 2 years on cash benefit (does not count).
    RecentCohabitant,
    /// Lives in the department already, on cash benefit (exempt from rejection).
    Resident,
}

impl Profile {
    /// Has flexible-letting priority.
    fn has_priority(self) -> bool {
        matches!(
            self,
            Profile::Work
                | Profile::Student
                | Profile::Senior
                | Profile::Separated
                | Profile::RecentCohabitant
        )
    }
}

const PRIORITY_APPLICANTS: &[(Profile, u64)] = &[
    (Profile::Work, 55),
    (Profile::Student, 20),
    (Profile::Senior, 12),
    (Profile::Separated, 8),
    (Profile::RecentCohabitant, 5),
];
const NO_PRIORITY_APPLICANTS: &[(Profile, u64)] =
    &[(Profile::PartTime, 60), (Profile::Pensioner, 40)];
const BENEFIT_APPLICANTS: &[(Profile, u64)] =
    &[(Profile::LongBenefit, 80), (Profile::CoupleOnBenefit, 20)];
/// Waiting-list applicants an exposed area's municipality approves.
const EXPOSED_WAITING_LIST: &[(Profile, u64)] = &[
    (Profile::Work, 40),
    (Profile::Student, 12),
    (Profile::Pensioner, 10),
    (Profile::PartTime, 10),
    (Profile::ShortBenefit, 8),
    (Profile::EndedBenefit, 8),
    (Profile::Senior, 4),
    (Profile::RecentCohabitant, 4),
    (Profile::Resident, 4),
    (Profile::SpouseOnBenefit, 4),
];
/// Waiting-list applicants elsewhere: combined letting does not apply there.
const WAITING_LIST: &[(Profile, u64)] = &[
    (Profile::Work, 35),
    (Profile::Student, 10),
    (Profile::Pensioner, 12),
    (Profile::PartTime, 10),
    (Profile::LongBenefit, 10),
    (Profile::ShortBenefit, 6),
    (Profile::EndedBenefit, 6),
    (Profile::Senior, 4),
    (Profile::Separated, 3),
    (Profile::SpouseOnBenefit, 4),
];

fn adult(role: PersonRole) -> Person {
    Person {
        role,
        cohabiting_since: None,
        benefits: Vec::new(),
        weekly_work_hours: None,
        student: false,
        age: None,
        gives_up_larger_dwelling_in_municipality: false,
        separated_on: None,
        shared_address_from: None,
        evidence: Evidence::SelfDeclared,
    }
}

fn spell(kind: &str, from: NaiveDate, to: Option<NaiveDate>) -> BenefitSpell {
    BenefitSpell {
        kind: kind.to_owned(),
        from,
        to,
    }
}

fn household(profile: Profile, reference: String, date: NaiveDate, rng: &mut Rng) -> Household {
    let mut applicant = adult(PersonRole::Applicant);
    applicant.age = Some(rng.range(22, 55) as u32);
    let mut others = Vec::new();
    let mut lives_in_department = false;
    match profile {
        Profile::Work => {
            applicant.weekly_work_hours = Some(Decimal::from(rng.range(25, 37)));
            if rng.percent(50) {
                applicant.evidence = Evidence::Documented;
            }
        }
        Profile::PartTime => {
            applicant.weekly_work_hours = Some(Decimal::from(rng.range(8, 24)));
        }
        Profile::Student => {
            applicant.student = true;
            applicant.age = Some(rng.range(19, 28) as u32);
            if rng.percent(40) {
                applicant.evidence = Evidence::Documented;
            }
        }
        Profile::Senior => {
            applicant.age = Some(rng.range(62, 81) as u32);
            applicant.gives_up_larger_dwelling_in_municipality = true;
        }
        Profile::Separated => {
            let separated = minus(date, rng.range(20, 330));
            applicant.separated_on = Some(separated);
            applicant.shared_address_from = Some(minus(separated, rng.range(400, 3650)));
        }
        Profile::Pensioner => {
            applicant.age = Some(rng.range(58, 72) as u32);
        }
        Profile::LongBenefit => {
            let (kind, months) = match rng.weighted(&[
                ("cash_benefit", 65u64),
                ("introduction_allowance", 20),
                ("start_aid", 15),
            ]) {
                Some("introduction_allowance") => ("introduction_allowance", rng.range(7, 30)),
                Some("start_aid") => ("start_aid", rng.range(13, 48)),
                _ => ("cash_benefit", rng.range(7, 40)),
            };
            applicant
                .benefits
                .push(spell(kind, months_before(date, months as u32), None));
        }
        Profile::SpouseOnBenefit => {
            applicant.weekly_work_hours = Some(Decimal::from(rng.range(10, 20)));
            let mut spouse = adult(PersonRole::Spouse);
            spouse.age = applicant.age;
            spouse.benefits.push(spell(
                "cash_benefit",
                months_before(date, rng.range(8, 30) as u32),
                None,
            ));
            others.push(spouse);
        }
        Profile::CoupleOnBenefit => {
            let since = months_before(date, rng.range(8, 30) as u32);
            applicant.benefits.push(spell("cash_benefit", since, None));
            let mut spouse = adult(PersonRole::Spouse);
            spouse.age = applicant.age;
            spouse.benefits.push(spell("cash_benefit", since, None));
            others.push(spouse);
        }
        Profile::ShortBenefit => {
            applicant.benefits.push(spell(
                "cash_benefit",
                months_before(date, rng.range(1, 4) as u32),
                None,
            ));
        }
        Profile::EndedBenefit => {
            let ended = minus(date, rng.range(30, 180));
            applicant.benefits.push(spell(
                "cash_benefit",
                months_before(ended, rng.range(6, 24) as u32),
                Some(ended),
            ));
            applicant.weekly_work_hours = Some(Decimal::from(rng.range(10, 24)));
        }
        Profile::RecentCohabitant => {
            applicant.weekly_work_hours = Some(Decimal::from(rng.range(28, 37)));
            let mut cohabitant = adult(PersonRole::Cohabitant);
            cohabitant.age = applicant.age;
            cohabitant.cohabiting_since = Some(minus(date, rng.range(120, 600)));
            cohabitant.benefits.push(spell(
                "cash_benefit",
                months_before(date, rng.range(8, 20) as u32),
                None,
            ));
            others.push(cohabitant);
        }
        Profile::Resident => {
            lives_in_department = true;
            applicant.benefits.push(spell(
                "cash_benefit",
                months_before(date, rng.range(8, 24) as u32),
                None,
            ));
        }
    }
    let mut persons = vec![applicant];
    persons.extend(others);
    Household {
        applicant_ref: reference,
        lives_in_department,
        persons,
        referral_conditions: Vec::new(),
        resource_weak: None,
        current_area_class: None,
        waiting_list_registered_on: None,
        municipal_dispensation: false,
        moves_within_municipality: None,
    }
}

/// A household the municipality refers: a social case, on cash benefit or a pension.
fn referred_household(reference: String, date: NaiveDate, rng: &mut Rng) -> Household {
    let mut applicant = adult(PersonRole::Applicant);
    applicant.age = Some(rng.range(20, 64) as u32);
    if rng.percent(70) {
        applicant.benefits.push(spell(
            "cash_benefit",
            months_before(date, rng.range(3, 36) as u32),
            None,
        ));
    }
    Household {
        applicant_ref: reference,
        lives_in_department: false,
        persons: vec![applicant],
        referral_conditions: Vec::new(),
        resource_weak: Some(true),
        current_area_class: None,
        waiting_list_registered_on: None,
        municipal_dispensation: false,
        moves_within_municipality: None,
    }
}

// ----- the plan ------------------------------------------------------------------------------

/// A vacancy as registered.
#[derive(Debug, Clone)]
struct Vacancy {
    department: &'static DeptDef,
    date: NaiveDate,
    vacancy_ref: String,
    id: String,
    channel: Channel,
    class: Class,
}

/// One act of a letting flow; flows keep the letting they work on.
#[derive(Debug, Clone)]
enum Act {
    Referral {
        household: Household,
        expect: ReferralOutcome,
    },
    Propose {
        household: Household,
        expect: LettingOutcome,
        priority: bool,
    },
    /// The municipality decides the letting last proposed.
    Decide {
        approve: bool,
        replacement_owed: bool,
        reason: &'static str,
    },
    MoveIn,
}

#[derive(Debug, Clone)]
struct Step {
    date: NaiveDate,
    act: Act,
}

/// The flow of one vacancy.
#[derive(Debug, Clone, Default)]
struct Flow {
    vacancy: usize,
    steps: Vec<Step>,
}

/// A replacement offer to an applicant rejected in an exposed area.
#[derive(Debug, Clone)]
struct OfferPlan {
    /// The vacancy whose flow rejected the applicant, and which of its rejections.
    origin: usize,
    rejection: usize,
    target: usize,
    date: NaiveDate,
    answer: Option<(NaiveDate, bool)>,
    /// After a decline: the organisation lets the dwelling from its list.
    then: Vec<Step>,
}

#[derive(Debug, Clone)]
enum GrantStep {
    Decide {
        index: usize,
        household: Household,
        purpose: &'static str,
        amount: Option<Money>,
        expect: GrantOutcome,
    },
    Settle {
        index: usize,
        pay: bool,
        reason: &'static str,
    },
}

const CASEWORKERS: [&str; 4] = [
    "kk-bif-boligteam-1",
    "kk-bif-boligteam-2",
    "kk-bif-boligteam-3",
    "kk-bif-boligteam-4",
];
const APPROVED: &str = "Udlejningen godkendes efter reglerne om kombineret udlejning: kommunens kontrol viser, at ingen voksen i husstanden har modtaget kontanthjælp, starthjælp eller introduktionsydelse i 6 sammenhængende måneder.";
const APPROVED_RESIDENT: &str = "Udlejningen godkendes: ansøgeren bor allerede i afdelingen og er derfor undtaget fra afvisning efter almenboligloven § 51 b.";
const REJECTED_SPOUSE: &str = "Udlejningen godkendes ikke: kommunens kontrol viser, at ansøgerens ægtefælle har modtaget kontanthjælp i mere end 6 sammenhængende måneder og stadig modtager den (almenboligloven § 51 b). Kommunen tilbyder en erstatningsbolig i et område, der ikke er udsat. Afgørelsen kan påklages til kommunen.";
const REJECTED_DOCUMENTS: &str = "Udlejningen godkendes ikke: ansøgeren har ikke inden for fristen sendt den dokumentation for indkomst, kommunen har bedt om. Afgørelsen kan påklages til kommunen.";

struct Planner {
    seed: u64,
    serial: u32,
}

impl Planner {
    fn reference(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{:05}", self.serial)
    }

    /// The year's vacancies, in date order.
    fn vacancies(&self) -> Vec<(usize, NaiveDate, String)> {
        let days = working_days();
        let mut all = Vec::new();
        for (d, dept) in DEPARTMENTS.iter().enumerate() {
            let mut rng = Rng::new(self.seed, &format!("vacancies/{}", dept.id));
            let mut dates: Vec<NaiveDate> = (0..designed_vacancies(dept))
                .filter_map(|_| {
                    let i = rng.range(0, (days.len() as u64).saturating_sub(1));
                    days.get(i as usize).copied()
                })
                .collect();
            dates.sort();
            for (edge, _) in EDGE_VACANCIES.iter().filter(|(_, id)| *id == dept.id) {
                let nearest = dates
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, d)| (d.signed_duration_since(*edge).num_days().abs(), **d))
                    .map(|(i, _)| i);
                if let Some(i) = nearest {
                    dates[i] = *edge;
                }
            }
            dates.sort();
            for (n, date) in dates.into_iter().enumerate() {
                all.push((d, date, format!("{}/2007-{:03}", dept.id, n + 1)));
            }
        }
        all.sort_by(|a, b| (a.1, a.0, &a.2).cmp(&(b.1, b.0, &b.2)));
        all
    }

    /// The flow of a vacancy in an exposed area: applicants on benefits are rejected, the
    /// next applicant waits for the municipality, which approves or, now and then, rejects.
    fn exposed_flow(&mut self, index: usize, v: &Vacancy, start: NaiveDate) -> Flow {
        let mut rng = Rng::new(self.seed, &format!("flow/{}", v.vacancy_ref));
        let org = v.department.organisation;
        let mut steps = Vec::new();
        let mut t = plus(start, rng.range(6, 20));
        let flexible = v.channel == Channel::Flexible;
        let rejections = match (flexible, rng.range(0, 99)) {
            (false, r) if r < 5 => 2,
            (false, r) if r < 25 => 1,
            (true, r) if r < 8 => 1,
            _ => 0,
        };
        for _ in 0..rejections {
            if t > YEAR_END {
                break;
            }
            let profile = rng
                .weighted(BENEFIT_APPLICANTS)
                .unwrap_or(Profile::LongBenefit);
            let reference = self.reference(org);
            steps.push(Step {
                date: t,
                act: Act::Propose {
                    household: household(profile, reference, t, &mut rng),
                    expect: LettingOutcome::Rejected,
                    priority: profile.has_priority(),
                },
            });
            t = plus(t, rng.range(2, 6));
        }
        for attempt in 0..2 {
            if t > YEAR_END {
                break;
            }
            let profile = if flexible {
                if rng.percent(92) {
                    rng.weighted(PRIORITY_APPLICANTS)
                } else {
                    rng.weighted(NO_PRIORITY_APPLICANTS)
                }
            } else {
                rng.weighted(EXPOSED_WAITING_LIST)
            }
            .unwrap_or(Profile::Work);
            let reference = self.reference(org);
            steps.push(Step {
                date: t,
                act: Act::Propose {
                    household: household(profile, reference, t, &mut rng),
                    expect: LettingOutcome::PendingMunicipalApproval,
                    priority: profile.has_priority(),
                },
            });
            let decided = plus(t, rng.range(3, 12));
            if decided > YEAR_END {
                break;
            }
            if attempt == 0 && rng.percent(7) {
                let owed = rng.percent(50);
                steps.push(Step {
                    date: decided,
                    act: Act::Decide {
                        approve: false,
                        replacement_owed: owed,
                        reason: if owed {
                            REJECTED_SPOUSE
                        } else {
                            REJECTED_DOCUMENTS
                        },
                    },
                });
                t = plus(decided, rng.range(3, 8));
                continue;
            }
            steps.push(Step {
                date: decided,
                act: Act::Decide {
                    approve: true,
                    replacement_owed: false,
                    reason: if profile == Profile::Resident {
                        APPROVED_RESIDENT
                    } else {
                        APPROVED
                    },
                },
            });
            break;
        }
        Flow {
            vacancy: index,
            steps,
        }
    }

    /// The flow of a vacancy outside exposed areas: no approval is needed.
    fn open_flow(&mut self, index: usize, v: &Vacancy, start: NaiveDate) -> Flow {
        let mut rng = Rng::new(self.seed, &format!("flow/{}", v.vacancy_ref));
        let org = v.department.organisation;
        let mut steps = Vec::new();
        let (household, profile, t) = if v.channel == Channel::MunicipalReferral {
            let referred = plus(start, rng.range(2, 8));
            if referred > YEAR_END {
                return Flow {
                    vacancy: index,
                    steps,
                };
            }
            let reference = self.reference("kk");
            let household = referred_household(reference, referred, &mut rng);
            steps.push(Step {
                date: referred,
                act: Act::Referral {
                    household: household.clone(),
                    expect: ReferralOutcome::Accepted,
                },
            });
            (
                household,
                Profile::Pensioner,
                plus(referred, rng.range(3, 9)),
            )
        } else {
            let t = plus(start, rng.range(5, 20));
            let profile = if v.channel == Channel::Flexible {
                if rng.percent(92) {
                    rng.weighted(PRIORITY_APPLICANTS)
                } else {
                    rng.weighted(NO_PRIORITY_APPLICANTS)
                }
            } else {
                rng.weighted(WAITING_LIST)
            }
            .unwrap_or(Profile::Work);
            let reference = self.reference(org);
            (household(profile, reference, t, &mut rng), profile, t)
        };
        if t > YEAR_END {
            return Flow {
                vacancy: index,
                steps,
            };
        }
        steps.push(Step {
            date: t,
            act: Act::Propose {
                household,
                expect: LettingOutcome::Approved,
                priority: profile.has_priority(),
            },
        });
        let moved = move_in_after(t);
        if moved <= YEAR_END {
            steps.push(Step {
                date: moved,
                act: Act::MoveIn,
            });
        }
        Flow {
            vacancy: index,
            steps,
        }
    }
}

/// Moves the approval nearest `edge` (proposed by then, decided within 4 days of it) onto it.
fn approve_on(flows: &mut [Flow], edge: NaiveDate) {
    let mut best: Option<(i64, usize, usize)> = None;
    for (f, flow) in flows.iter().enumerate() {
        for (s, step) in flow.steps.iter().enumerate() {
            let Act::Decide { approve: true, .. } = step.act else {
                continue;
            };
            let proposed = s
                .checked_sub(1)
                .and_then(|p| flow.steps.get(p))
                .map(|p| p.date);
            let distance = step.date.signed_duration_since(edge).num_days().abs();
            if proposed.is_some_and(|p| p <= edge)
                && distance <= 4
                && best.is_none_or(|(d, _, _)| distance < d)
            {
                best = Some((distance, f, s));
            }
        }
    }
    if let Some((_, f, s)) = best
        && let Some(step) = flows.get_mut(f).and_then(|flow| flow.steps.get_mut(s))
    {
        step.date = edge;
    }
}

/// The municipality approves exactly 33 lettings in exposed areas by 2007-05-01 (one of
/// them on the quarter edge); the rest of its spring backlog it approves during May.
fn keep_33_by_may(flows: &mut [Flow]) -> Result<(), ServiceError> {
    let mut early: Vec<(NaiveDate, usize, usize)> = Vec::new();
    for (f, flow) in flows.iter().enumerate() {
        for (s, step) in flow.steps.iter().enumerate() {
            if matches!(step.act, Act::Decide { approve: true, .. }) && step.date <= MAY_1 {
                early.push((step.date, f, s));
            }
        }
    }
    early.sort();
    let n = early.len();
    if n < APPROVALS_BY_MAY_1 {
        return Err(diverged(format!(
            "only {n} lettings in exposed areas could be approved by 2007-05-01, not {APPROVALS_BY_MAY_1}"
        )));
    }
    let mut kept: Vec<usize> = (0..APPROVALS_BY_MAY_1)
        .map(|j| j * n / APPROVALS_BY_MAY_1)
        .collect();
    if let Some(edge) = early.iter().position(|(d, _, _)| *d == Q1_END)
        && !kept.contains(&edge)
        && let Some(nearest) = kept.iter_mut().min_by_key(|k| (k.abs_diff(edge), **k))
    {
        *nearest = edge;
    }
    let postponed: Vec<(usize, usize)> = early
        .iter()
        .enumerate()
        .filter(|(i, _)| !kept.contains(i))
        .map(|(_, (_, f, s))| (*f, *s))
        .collect();
    let count = postponed.len() as u64;
    for (k, (f, s)) in postponed.into_iter().enumerate() {
        if let Some(step) = flows.get_mut(f).and_then(|flow| flow.steps.get_mut(s)) {
            step.date = plus(ymd(5, 2), k as u64 * 29 / count.max(1));
        }
    }
    Ok(())
}

/// After each approval in an exposed area, the move-in.
fn add_move_ins(flows: &mut [Flow]) {
    for flow in flows {
        let approved = flow
            .steps
            .last()
            .filter(|s| matches!(s.act, Act::Decide { approve: true, .. }))
            .map(|s| s.date);
        if let Some(approved) = approved {
            let moved = move_in_after(approved);
            if moved <= YEAR_END {
                flow.steps.push(Step {
                    date: moved,
                    act: Act::MoveIn,
                });
            }
        }
    }
}

/// Rejected applicants owed a replacement dwelling, in date order: (date, vacancy, which
/// rejection of its flow).
fn owed_replacements(flows: &[Flow]) -> Vec<(NaiveDate, usize, usize)> {
    let mut owed = Vec::new();
    for flow in flows {
        let mut k = 0;
        for step in &flow.steps {
            let rejected = match &step.act {
                Act::Propose { expect, .. } => *expect == LettingOutcome::Rejected,
                Act::Decide {
                    approve: false,
                    replacement_owed,
                    ..
                } => *replacement_owed,
                _ => false,
            };
            if rejected {
                owed.push((step.date, flow.vacancy, k));
                k += 1;
            }
        }
    }
    owed.sort();
    owed
}

fn plan_offers(
    planner: &mut Planner,
    vacancies: &[Vacancy],
    owed: &[(NaiveDate, usize, usize)],
) -> Vec<OfferPlan> {
    let mut rng = Rng::new(planner.seed, "offers");
    let mut reserved: HashSet<usize> = HashSet::new();
    let mut offers = Vec::new();
    for &(rejected, origin, rejection) in owed {
        if !rng.percent(35) {
            continue;
        }
        let target = vacancies.iter().enumerate().find(|(i, v)| {
            matches!(v.class, Class::Neutral | Class::Risk)
                && v.channel == Channel::InternalList
                && !reserved.contains(i)
                && v.date >= minus(rejected, 14)
                && v.date <= plus(rejected, 30)
        });
        let Some((target, v)) = target else {
            continue;
        };
        let date = plus(rejected.max(v.date), rng.range(4, 10));
        if date > YEAR_END {
            continue;
        }
        reserved.insert(target);
        let answered = plus(date, rng.range(5, 14));
        let answer = (answered <= YEAR_END).then(|| (answered, rng.percent(60)));
        let mut then = Vec::new();
        if let Some((answered, false)) = answer {
            let t = plus(answered, rng.range(3, 8));
            let profile = rng.weighted(WAITING_LIST).unwrap_or(Profile::Work);
            if t <= YEAR_END {
                let reference = planner.reference(v.department.organisation);
                then.push(Step {
                    date: t,
                    act: Act::Propose {
                        household: household(profile, reference, t, &mut rng),
                        expect: LettingOutcome::Approved,
                        priority: profile.has_priority(),
                    },
                });
                let moved = move_in_after(t);
                if moved <= YEAR_END {
                    then.push(Step {
                        date: moved,
                        act: Act::MoveIn,
                    });
                }
            }
        }
        offers.push(OfferPlan {
            origin,
            rejection,
            target,
            date,
            answer,
            then,
        });
    }
    offers
}

/// Refused referrals into exposed and high-risk departments, put first in their flows.
fn barred_referrals(planner: &mut Planner, vacancies: &[Vacancy]) -> HashMap<usize, Step> {
    let mut rng = Rng::new(planner.seed, "barred-referrals");
    let mut out = HashMap::new();
    for (department, on) in BARRED_REFERRALS {
        let found = vacancies
            .iter()
            .enumerate()
            .filter(|(i, v)| {
                v.department.id == *department && v.date <= *on && !out.contains_key(i)
            })
            .max_by_key(|(_, v)| v.date);
        if let Some((i, _)) = found {
            let reference = planner.reference("kk");
            out.insert(
                i,
                Step {
                    date: *on,
                    act: Act::Referral {
                        household: referred_household(reference, *on, &mut rng),
                        expect: ReferralOutcome::Refused,
                    },
                },
            );
        }
    }
    out
}

fn plan_grants(seed: u64) -> Result<Vec<(NaiveDate, GrantStep)>, ServiceError> {
    const DECISIONS: u64 = 42;
    const NOT_IN_EXPOSED_AREA: usize = 13;
    // A household that moves out of the municipality: § 63 c, stk. 2 refuses the grant.
    const MOVES_AWAY: usize = 29;
    const CANCELLED: usize = 7;
    let mut rng = Rng::new(seed, "grants");
    let mut dates: Vec<NaiveDate> = (0..DECISIONS)
        .map(|i| plus(YEAR_START, 10 + i * 345 / DECISIONS + rng.range(0, 4)))
        .collect();
    let mut forced: Vec<usize> = Vec::new();
    for edge in [Q1_END, Q2_START, Q2_END, Q3_START] {
        let nearest = dates
            .iter()
            .enumerate()
            .filter(|(i, _)| !forced.contains(i))
            .min_by_key(|(_, d)| d.signed_duration_since(edge).num_days().abs())
            .map(|(i, _)| i);
        if let Some(i) = nearest {
            dates[i] = edge;
            forced.push(i);
        }
    }
    dates.sort();
    let mut steps = Vec::new();
    for (index, date) in dates.into_iter().enumerate() {
        let mut applicant = adult(PersonRole::Applicant);
        applicant.age = Some(rng.range(25, 70) as u32);
        let special = index % 5 == 1 || index % 5 == 3;
        let mut household = Household {
            applicant_ref: format!("kk-g{:04}", index + 1),
            lives_in_department: false,
            persons: vec![applicant],
            referral_conditions: Vec::new(),
            resource_weak: Some(true),
            current_area_class: (!special).then(|| "exposed".to_owned()),
            waiting_list_registered_on: None,
            municipal_dispensation: false,
            moves_within_municipality: Some(index != MOVES_AWAY),
        };
        let (purpose, amount, expect) = match index {
            NOT_IN_EXPOSED_AREA => {
                household.current_area_class = Some("high_risk".to_owned());
                ("move_out_of_exposed_area", None, GrantOutcome::Refused)
            }
            MOVES_AWAY => {
                household.current_area_class = Some("exposed".to_owned());
                ("move_out_of_exposed_area", None, GrantOutcome::Refused)
            }
            _ if special => ("special_housing", None, GrantOutcome::Approved),
            _ => ("move_out_of_exposed_area", None, GrantOutcome::Approved),
        };
        if purpose == "special_housing" {
            household.current_area_class = None;
            household.resource_weak = None;
        }
        steps.push((
            date,
            GrantStep::Decide {
                index,
                household,
                purpose,
                amount,
                expect,
            },
        ));
        if expect == GrantOutcome::Refused {
            continue;
        }
        if index == CANCELLED {
            steps.push((
                plus(date, 21),
                GrantStep::Settle {
                    index,
                    pay: false,
                    reason: "Husstanden har trukket ansøgningen tilbage og bliver i sin bolig; tilskuddet annulleres.",
                },
            ));
        } else if rng.percent(90) {
            let paid = plus(date, rng.range(10, 40));
            if paid <= YEAR_END {
                steps.push((
                    paid,
                    GrantStep::Settle {
                        index,
                        pay: true,
                        reason: "Flytningen er dokumenteret; tilskuddet udbetales.",
                    },
                ));
            }
        }
    }
    // Decisions before payments of the same day; otherwise in date order.
    steps.sort_by_key(|(date, step)| (*date, matches!(step, GrantStep::Settle { .. })));
    Ok(steps)
}

// ----- running ------------------------------------------------------------------------------

/// What a flow did, to be added up.
#[derive(Debug, Clone, Default)]
struct Tally {
    decisions: usize,
    proposals: usize,
    rejected: usize,
    pending: usize,
    approved_at_once: usize,
    approvals: usize,
    approvals_by_may: usize,
    municipal_rejections: usize,
    offers: usize,
    offers_accepted: usize,
    offers_declined: usize,
    move_ins: usize,
    shortfalls: usize,
    flexible_indicator: usize,
    combined_indicator: usize,
    referrals_accepted: usize,
    referrals_refused: usize,
    grants_approved: usize,
    grants_refused: usize,
    grants_paid: usize,
    grants_cancelled: usize,
    paid_ore: i64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.decisions += o.decisions;
        self.proposals += o.proposals;
        self.rejected += o.rejected;
        self.pending += o.pending;
        self.approved_at_once += o.approved_at_once;
        self.approvals += o.approvals;
        self.approvals_by_may += o.approvals_by_may;
        self.municipal_rejections += o.municipal_rejections;
        self.offers += o.offers;
        self.offers_accepted += o.offers_accepted;
        self.offers_declined += o.offers_declined;
        self.move_ins += o.move_ins;
        self.shortfalls += o.shortfalls;
        self.flexible_indicator += o.flexible_indicator;
        self.combined_indicator += o.combined_indicator;
        self.referrals_accepted += o.referrals_accepted;
        self.referrals_refused += o.referrals_refused;
        self.grants_approved += o.grants_approved;
        self.grants_refused += o.grants_refused;
        self.grants_paid += o.grants_paid;
        self.grants_cancelled += o.grants_cancelled;
        self.paid_ore += o.paid_ore;
    }
}

/// What a letting flow did, and the rejected lettings it leaves owed a replacement dwelling.
type FlowResult = Result<(Tally, Vec<String>), ServiceError>;

struct Ctx<'a> {
    ledger: &'a Ledger,
    seed: u64,
    municipality: Principal,
}

impl Ctx<'_> {
    fn key(&self, what: &str) -> String {
        format!("demo:{}:{what}", self.seed)
    }

    fn organisation(&self, id: &str) -> Principal {
        Principal::Organisation {
            organisation: id.to_owned(),
            municipality: MUNICIPALITY.to_owned(),
        }
    }
}

/// Runs a flow's steps in order on one vacancy. Returns the rejected lettings for which a
/// replacement dwelling is owed, in order.
async fn run_steps(
    ctx: &Ctx<'_>,
    v: &Vacancy,
    steps: &[Step],
    key: &str,
    tally: &mut Tally,
) -> Result<Vec<String>, ServiceError> {
    let organisation = ctx.organisation(v.department.organisation);
    let mut letting: Option<String> = None;
    let mut referral: Option<String> = None;
    let mut owed = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let key = ctx.key(&format!("{key}:{i}"));
        let what = format!("{} on {}", v.vacancy_ref, step.date);
        tally.decisions += 1;
        match &step.act {
            Act::Referral { household, expect } => {
                let done = ctx
                    .ledger
                    .record_referral(
                        &ctx.municipality,
                        &key,
                        RecordReferral {
                            vacancy_id: v.id.clone(),
                            household: household.clone(),
                            date: step.date,
                            caseworker: None,
                        },
                    )
                    .await?;
                if done.decision.outcome != *expect {
                    return Err(diverged(format!(
                        "the referral to {what} was {:?}, not {expect:?}",
                        done.decision.outcome
                    )));
                }
                match done.decision.outcome {
                    ReferralOutcome::Accepted => {
                        tally.referrals_accepted += 1;
                        referral = Some(done.referral_id);
                    }
                    ReferralOutcome::Refused => tally.referrals_refused += 1,
                }
            }
            Act::Propose {
                household,
                expect,
                priority,
            } => {
                let done = ctx
                    .ledger
                    .propose_letting(
                        &organisation,
                        &key,
                        ProposeLetting {
                            vacancy_id: v.id.clone(),
                            household: household.clone(),
                            date: step.date,
                            referral_id: referral.clone(),
                        },
                    )
                    .await?;
                let decided = &done.decision;
                if decided.outcome != *expect {
                    return Err(diverged(format!(
                        "the letting of {what} to {} was {:?}, not {expect:?}",
                        household.applicant_ref, decided.outcome
                    )));
                }
                let eligible = matches!(
                    decided.flexible.status,
                    Eligibility::Provisional | Eligibility::Verified
                );
                if v.channel == Channel::Flexible && eligible != *priority {
                    return Err(diverged(format!(
                        "flexible priority of {} for {what} was {:?}",
                        household.applicant_ref, decided.flexible.status
                    )));
                }
                tally.proposals += 1;
                match decided.outcome {
                    LettingOutcome::Rejected => {
                        tally.rejected += 1;
                        if !decided.obligations.is_empty() {
                            owed.push(done.letting_id);
                        }
                    }
                    LettingOutcome::PendingMunicipalApproval => {
                        tally.pending += 1;
                        letting = Some(done.letting_id);
                    }
                    LettingOutcome::Approved => {
                        tally.approved_at_once += 1;
                        letting = Some(done.letting_id);
                    }
                }
            }
            Act::Decide {
                approve,
                replacement_owed,
                reason,
            } => {
                let Some(letting_id) = letting.clone() else {
                    return Err(diverged(format!("no letting to decide for {what}")));
                };
                let caseworker = CASEWORKERS[i % CASEWORKERS.len()];
                ctx.ledger
                    .decide_letting(
                        &ctx.municipality,
                        &key,
                        MunicipalAct {
                            letting_id: letting_id.clone(),
                            date: step.date,
                            reason: (*reason).to_owned(),
                            caseworker: caseworker.to_owned(),
                            replacement_owed: *replacement_owed,
                        },
                        *approve,
                    )
                    .await?;
                if *approve {
                    tally.approvals += 1;
                    if v.class == Class::Exposed && step.date <= MAY_1 {
                        tally.approvals_by_may += 1;
                    }
                } else {
                    tally.municipal_rejections += 1;
                    if *replacement_owed {
                        owed.push(letting_id);
                    }
                    letting = None;
                }
            }
            Act::MoveIn => {
                let Some(letting_id) = letting.clone() else {
                    return Err(diverged(format!("no letting to move into for {what}")));
                };
                let done = ctx
                    .ledger
                    .record_move_in(
                        &organisation,
                        &key,
                        RecordMoveIn {
                            letting_id,
                            date: step.date,
                        },
                    )
                    .await?;
                tally.move_ins += 1;
                tally.shortfalls += usize::from(done.flexible_shortfall);
                tally.flexible_indicator += usize::from(done.counts_flexible_indicator);
                tally.combined_indicator += usize::from(done.counts_combined_indicator);
            }
        }
    }
    Ok(owed)
}

async fn run_offer(
    ctx: &Ctx<'_>,
    vacancies: &[Vacancy],
    owed: &HashMap<usize, Vec<String>>,
    offer: &OfferPlan,
) -> Result<Tally, ServiceError> {
    let mut tally = Tally::default();
    let (Some(target), Some(letting_id)) = (
        vacancies.get(offer.target),
        owed.get(&offer.origin)
            .and_then(|lettings| lettings.get(offer.rejection)),
    ) else {
        return Err(diverged(format!(
            "no rejected letting {} of vacancy {} to offer a dwelling for",
            offer.rejection, offer.origin
        )));
    };
    let made = ctx
        .ledger
        .make_replacement_offer(
            &ctx.municipality,
            &ctx.key(&format!("offer:{}", target.vacancy_ref)),
            MakeOffer {
                letting_id: letting_id.clone(),
                vacancy_id: target.id.clone(),
                date: offer.date,
                caseworker: None,
            },
        )
        .await?;
    tally.decisions += 1;
    tally.offers += 1;
    if let Some((date, accepted)) = offer.answer {
        ctx.ledger
            .answer_offer(
                &ctx.organisation(target.department.organisation),
                &ctx.key(&format!("answer:{}", target.vacancy_ref)),
                AnswerOffer {
                    offer_id: made.offer_id,
                    accepted,
                    date,
                },
            )
            .await?;
        tally.decisions += 1;
        if accepted {
            tally.offers_accepted += 1;
        } else {
            tally.offers_declined += 1;
        }
    }
    let key = format!("after-offer:{}", target.vacancy_ref);
    run_steps(ctx, target, &offer.then, &key, &mut tally).await?;
    Ok(tally)
}

async fn run_grants(
    ctx: &Ctx<'_>,
    steps: &[(NaiveDate, GrantStep)],
) -> Result<Tally, ServiceError> {
    let mut tally = Tally::default();
    let mut grants: HashMap<usize, (String, Money)> = HashMap::new();
    for (date, step) in steps {
        tally.decisions += 1;
        match step {
            GrantStep::Decide {
                index,
                household,
                purpose,
                amount,
                expect,
            } => {
                let done = ctx
                    .ledger
                    .decide_grant(
                        &ctx.municipality,
                        &ctx.key(&format!("grant:{index}")),
                        DecideGrant {
                            household: household.clone(),
                            purpose: (*purpose).to_owned(),
                            amount: *amount,
                            date: *date,
                            caseworker: None,
                        },
                    )
                    .await?;
                if done.decision.outcome != *expect {
                    return Err(diverged(format!(
                        "grant {} on {date} was {:?}, not {expect:?}",
                        household.applicant_ref, done.decision.outcome
                    )));
                }
                match done.decision.outcome {
                    GrantOutcome::Approved => tally.grants_approved += 1,
                    GrantOutcome::Refused => tally.grants_refused += 1,
                }
                grants.insert(*index, (done.grant_id, done.decision.amount));
            }
            GrantStep::Settle { index, pay, reason } => {
                let Some((grant_id, amount)) = grants.get(index) else {
                    return Err(diverged(format!("no grant {index} to settle on {date}")));
                };
                ctx.ledger
                    .settle_grant(
                        &ctx.municipality,
                        &ctx.key(&format!("settle:{index}")),
                        GrantAct {
                            grant_id: grant_id.clone(),
                            date: *date,
                            reason: (*reason).to_owned(),
                        },
                        *pay,
                    )
                    .await?;
                if *pay {
                    tally.grants_paid += 1;
                    tally.paid_ore += amount.ore();
                } else {
                    tally.grants_cancelled += 1;
                }
            }
        }
    }
    Ok(tally)
}

/// Whether `k` more vacancies of `date`'s quota period, registered in any order, leave every
/// municipality-wide quota as it is (not due) for each of them. Only then may they be
/// registered at once: their channels then depend on their departments' counters alone.
fn municipality_quotas_hold(
    book: &RuleBook,
    date: NaiveDate,
    counters: Option<&QuotaCounters>,
    k: u64,
) -> bool {
    let Some(set) = book.in_force(MUNICIPALITY, date) else {
        return false;
    };
    let (count_of, vacancies) = match counters {
        Some(c) => (c.by_channel, c.vacancies),
        None => ([0; 4], 0),
    };
    set.channels
        .floors()
        .filter(|q| q.counted_over == CountedOver::Municipality && q.meta.in_force(date))
        .all(|q| match q.share {
            // A quota of the form "at least a share": with counts only growing and at most
            // `k` more vacancies, it is not due for anyone if it is not due at the worst.
            ShareSource::Fixed(share) if matches!(q.op, CompareOp::Ge | CompareOp::Gt) => {
                let count = count_of.get(q.channel.index()).copied().unwrap_or(0);
                !share.is_due(q.op, count, vacancies + k)
            }
            _ => false,
        })
}

fn period_of(book: &RuleBook, date: NaiveDate) -> String {
    book.in_force(MUNICIPALITY, date).map_or_else(
        || date.year().to_string(),
        |set| period_key(set.channels.period(), date),
    )
}

async fn register_vacancies(
    ctx: &Ctx<'_>,
    planned: &[(usize, NaiveDate, String)],
) -> Result<Vec<Vacancy>, ServiceError> {
    let book = ctx.ledger.rules();
    // The municipality's counters as they stand, per quota period.
    let mut counters: HashMap<String, QuotaCounters> = HashMap::new();
    let periods: HashSet<String> = planned
        .iter()
        .map(|(_, d, _)| period_of(&book, *d))
        .collect();
    for period in periods {
        let scope = municipality_scope(MUNICIPALITY);
        let read_period = period.clone();
        let found = ctx
            .ledger
            .store()
            .read(move |tx| {
                let (scope, period) = (scope.clone(), read_period.clone());
                Box::pin(async move {
                    Ok::<_, ServiceError>(tx.counters_for_update(&scope, &period).await?)
                })
            })
            .await?;
        counters.insert(period, found);
    }

    let mut registered: Vec<Option<Vacancy>> = vec![None; planned.len()];
    let mut remaining: Vec<usize> = (0..planned.len()).collect();
    while !remaining.is_empty() {
        // A round: the next vacancy of each department, in date order, while the
        // municipality-wide quotas cannot notice the order the store runs them in.
        let mut round: Vec<usize> = Vec::new();
        let mut rest = Vec::new();
        let mut departments: HashSet<usize> = HashSet::new();
        let mut in_period: HashMap<String, u64> = HashMap::new();
        let mut closed = false;
        for &i in &remaining {
            let (d, date, _) = &planned[i];
            let free = !closed && round.len() < ROUND && !departments.contains(d);
            departments.insert(*d);
            if free {
                let period = period_of(&book, *date);
                let k = in_period.get(&period).copied().unwrap_or(0) + 1;
                let holds = round
                    .iter()
                    .map(|&j| planned[j].1)
                    .chain([*date])
                    .filter(|other| period_of(&book, *other) == period)
                    .all(|other| municipality_quotas_hold(&book, other, counters.get(&period), k));
                if holds || round.is_empty() {
                    round.push(i);
                    in_period.insert(period, k);
                    closed = !holds;
                    continue;
                }
                closed = true;
            }
            rest.push(i);
        }
        remaining = rest;
        let calls = round.iter().map(|&i| {
            let (d, date, vacancy_ref) = &planned[i];
            let dept = &DEPARTMENTS[*d];
            let principal = ctx.organisation(dept.organisation);
            let key = ctx.key(&format!("vacancy:{vacancy_ref}"));
            let command = RegisterVacancy {
                department: dept.id.to_owned(),
                vacancy_ref: vacancy_ref.clone(),
                date: *date,
            };
            async move { ctx.ledger.register_vacancy(&principal, &key, command).await }
        });
        let answers = futures::future::join_all(calls).await;
        for (&i, answer) in round.iter().zip(answers) {
            let done = answer?;
            let (d, date, vacancy_ref) = &planned[i];
            let decided = &done.decision;
            let entry = counters.entry(decided.period.clone()).or_default();
            entry.vacancies += 1;
            if let Some(n) = entry.by_channel.get_mut(decided.channel.index()) {
                *n += 1;
            }
            let class = Class::parse(&decided.area_class).ok_or_else(|| {
                diverged(format!(
                    "vacancy {vacancy_ref} lies in an area of class `{}`",
                    decided.area_class
                ))
            })?;
            registered[i] = Some(Vacancy {
                department: &DEPARTMENTS[*d],
                date: *date,
                vacancy_ref: vacancy_ref.clone(),
                id: done.vacancy_id,
                channel: decided.channel,
                class,
            });
        }
    }
    registered
        .into_iter()
        .map(|v| v.ok_or_else(|| diverged("a vacancy was not registered".into())))
        .collect()
}

async fn seed_registry(ctx: &Ctx<'_>) -> Result<usize, ServiceError> {
    let m = &ctx.municipality;
    let calls = ORGANISATIONS.iter().map(|(id, name)| {
        let key = ctx.key(&format!("organisation:{id}"));
        let org = Organisation {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
        };
        async move { ctx.ledger.upsert_organisation(m, &key, org).await }
    });
    let mut decisions = 0;
    for done in futures::future::join_all(calls).await {
        done?;
        decisions += 1;
    }
    let calls = AREAS.iter().map(|a| {
        let key = ctx.key(&format!("area:{}", a.id));
        let area = Area {
            id: a.id.to_owned(),
            municipality: MUNICIPALITY.to_owned(),
            name: a.name.to_owned(),
        };
        async move { ctx.ledger.upsert_area(m, &key, area).await }
    });
    for done in futures::future::join_all(calls).await {
        done?;
        decisions += 1;
    }
    let calls = DEPARTMENTS.iter().map(|d| {
        let key = ctx.key(&format!("department:{}", d.id));
        let department = Department {
            id: d.id.to_owned(),
            organisation: d.organisation.to_owned(),
            area: d.area.to_owned(),
            name: d.name.to_owned(),
            dwellings: d.dwellings,
        };
        async move { ctx.ledger.upsert_department(m, &key, department).await }
    });
    for done in futures::future::join_all(calls).await {
        done?;
        decisions += 1;
    }
    let decimal = |text: &str, field: &str| {
        text.parse::<Decimal>()
            .map_err(|e| ServiceError::invalid(field, format!("`{text}`: {e}")))
    };
    let mut areas = Vec::new();
    for a in AREAS {
        areas.push(AreaStatisticsInput {
            area: a.id.to_owned(),
            facts: AreaFacts {
                id: a.id.to_owned(),
                working_age_residents: Some(a.working_age),
                without_labour_market_attachment: Some(a.without_attachment),
                residents: Some(a.residents),
                ..AreaFacts::default()
            },
            transfer_income_share: Some(decimal(a.transfer_income, "transfer_income_share")?),
            self_supporting_weeks: Some(decimal(a.self_supporting_weeks, "self_supporting_weeks")?),
        });
    }
    ctx.ledger
        .load_statistics(
            m,
            &ctx.key("statistics:2007"),
            LoadStatistics {
                year: 2007,
                date: YEAR_START,
                areas,
            },
        )
        .await?;
    Ok(decisions + 1)
}

/// Seeds the demo city of 2007 through `ledger`: registry, statistics, a year of
/// vacancies and lettings, referrals and grants. The same seed gives the same decisions.
pub async fn seed(ledger: &Ledger, options: &DemoOptions) -> Result<DemoSummary, ServiceError> {
    let ctx = Ctx {
        ledger,
        seed: options.seed,
        municipality: Principal::Municipality {
            municipality: MUNICIPALITY.to_owned(),
        },
    };
    let mut tally = Tally {
        decisions: seed_registry(&ctx).await?,
        ..Tally::default()
    };

    // Vacancies, with the year's grants running beside them.
    let mut planner = Planner {
        seed: options.seed,
        serial: 0,
    };
    let planned = planner.vacancies();
    let grant_plan = plan_grants(options.seed)?;
    let (vacancies, grants) = futures::join!(
        register_vacancies(&ctx, &planned),
        run_grants(&ctx, &grant_plan)
    );
    let vacancies = vacancies?;
    tally.add(&grants?);
    tally.decisions += vacancies.len();

    // The letting flows: exposed areas first (their rejections decide the offers), then
    // the rest, leaving out the dwellings set aside for replacement offers.
    let barred = barred_referrals(&mut planner, &vacancies);
    let mut exposed: Vec<Flow> = Vec::new();
    for (i, v) in vacancies.iter().enumerate() {
        if v.class == Class::Exposed {
            let referral = barred.get(&i).cloned();
            let start = referral.as_ref().map_or(v.date, |r| r.date);
            let mut flow = planner.exposed_flow(i, v, start);
            if let Some(r) = referral {
                flow.steps.insert(0, r);
            }
            exposed.push(flow);
        }
    }
    approve_on(&mut exposed, Q1_END);
    approve_on(&mut exposed, Q2_END);
    keep_33_by_may(&mut exposed)?;
    add_move_ins(&mut exposed);
    let offers = plan_offers(&mut planner, &vacancies, &owed_replacements(&exposed));
    let reserved: HashSet<usize> = offers.iter().map(|o| o.target).collect();
    let mut flows = exposed;
    for (i, v) in vacancies.iter().enumerate() {
        if v.class != Class::Exposed && !reserved.contains(&i) {
            let referral = barred.get(&i).cloned();
            let start = referral.as_ref().map_or(v.date, |r| r.date);
            let mut flow = planner.open_flow(i, v, start);
            if let Some(r) = referral {
                flow.steps.insert(0, r);
            }
            flows.push(flow);
        }
    }

    let ctx_ref = &ctx;
    let vacancies_ref = &vacancies;
    let mut results: Vec<(usize, FlowResult)> =
        futures::stream::iter(flows.iter().map(|flow| async move {
            let mut tally = Tally::default();
            let v = vacancies_ref.get(flow.vacancy);
            let outcome = match v {
                Some(v) => {
                    let key = format!("flow:{}", v.vacancy_ref);
                    run_steps(ctx_ref, v, &flow.steps, &key, &mut tally).await
                }
                None => Err(diverged(format!("no vacancy {}", flow.vacancy))),
            };
            (flow.vacancy, outcome.map(|owed| (tally, owed)))
        }))
        .buffer_unordered(FLOWS_AT_ONCE)
        .collect()
        .await;
    results.sort_by_key(|(vacancy, _)| *vacancy);
    let mut owed: HashMap<usize, Vec<String>> = HashMap::new();
    for (vacancy, result) in results {
        let (flow_tally, lettings) = result?;
        tally.add(&flow_tally);
        owed.insert(vacancy, lettings);
    }

    // Replacement offers, now that the rejected lettings exist.
    let owed_ref = &owed;
    let mut offer_results: Vec<(usize, Result<Tally, ServiceError>)> =
        futures::stream::iter(offers.iter().enumerate().map(|(i, offer)| async move {
            (i, run_offer(ctx_ref, vacancies_ref, owed_ref, offer).await)
        }))
        .buffer_unordered(FLOWS_AT_ONCE)
        .collect()
        .await;
    offer_results.sort_by_key(|(i, _)| *i);
    for (_, result) in offer_results {
        tally.add(&result?);
    }

    let mut by_channel: BTreeMap<String, usize> = BTreeMap::new();
    for v in &vacancies {
        *by_channel.entry(v.channel.as_str().to_owned()).or_default() += 1;
    }
    let exposed_areas: HashSet<&str> = AREAS
        .iter()
        .filter(|a| a.class == Class::Exposed)
        .map(|a| a.id)
        .collect();
    Ok(DemoSummary {
        seed: options.seed,
        municipality: MUNICIPALITY.to_owned(),
        organisations: ORGANISATIONS.len(),
        areas: AREAS.len(),
        departments: DEPARTMENTS.len(),
        dwellings: DEPARTMENTS.iter().map(|d| d.dwellings).sum(),
        dwellings_in_exposed_areas: DEPARTMENTS
            .iter()
            .filter(|d| exposed_areas.contains(d.area))
            .map(|d| d.dwellings)
            .sum(),
        vacancies: vacancies.len(),
        vacancies_by_channel: by_channel,
        proposals: tally.proposals,
        proposals_rejected: tally.rejected,
        proposals_pending_approval: tally.pending,
        proposals_approved: tally.approved_at_once,
        approvals: tally.approvals,
        approvals_in_exposed_areas_by_2007_05_01: tally.approvals_by_may,
        municipal_rejections: tally.municipal_rejections,
        pending_at_year_end: tally
            .pending
            .saturating_sub(tally.approvals + tally.municipal_rejections),
        replacement_offers: tally.offers,
        offers_accepted: tally.offers_accepted,
        offers_declined: tally.offers_declined,
        move_ins: tally.move_ins,
        move_ins_flexible_shortfall: tally.shortfalls,
        move_ins_flexible_indicator: tally.flexible_indicator,
        move_ins_combined_indicator: tally.combined_indicator,
        referrals_accepted: tally.referrals_accepted,
        referrals_refused: tally.referrals_refused,
        grants_approved: tally.grants_approved,
        grants_refused: tally.grants_refused,
        grants_paid: tally.grants_paid,
        grants_cancelled: tally.grants_cancelled,
        grants_paid_amount: Money::from_ore(tally.paid_ore),
        decisions: tally.decisions,
    })
}
