//! The applicant households the demo proposes and the municipality refers, by profile.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::calendar::{minus, months_before};
use super::rng::Rng;
use crate::model::{BenefitSpell, Evidence, Household, Person, PersonRole};

/// The kinds of applicant household the demo proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Profile {
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
    pub(super) fn has_priority(self) -> bool {
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

pub(super) const PRIORITY_APPLICANTS: &[(Profile, u64)] = &[
    (Profile::Work, 55),
    (Profile::Student, 20),
    (Profile::Senior, 12),
    (Profile::Separated, 8),
    (Profile::RecentCohabitant, 5),
];
pub(super) const NO_PRIORITY_APPLICANTS: &[(Profile, u64)] =
    &[(Profile::PartTime, 60), (Profile::Pensioner, 40)];
pub(super) const BENEFIT_APPLICANTS: &[(Profile, u64)] =
    &[(Profile::LongBenefit, 80), (Profile::CoupleOnBenefit, 20)];
/// Waiting-list applicants an exposed area's municipality approves.
pub(super) const EXPOSED_WAITING_LIST: &[(Profile, u64)] = &[
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
pub(super) const WAITING_LIST: &[(Profile, u64)] = &[
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

pub(super) fn adult(role: PersonRole) -> Person {
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

pub(super) fn household(
    profile: Profile,
    reference: String,
    date: NaiveDate,
    rng: &mut Rng,
) -> Household {
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
pub(super) fn referred_household(reference: String, date: NaiveDate, rng: &mut Rng) -> Household {
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
