//! Evaluating conditions against the facts of a case, recording every comparison made.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use super::explain::Comparison;
use crate::model::{
    AreaFacts, BenefitPersons, BenefitTest, Condition, Designation, Fact, FactValue, Household,
    HouseholdRule, Money, MonthCounting, Person, PersonRole, RuleSet,
};

/// A list history (its classes) and the lists in a row, newest first, that name the area.
pub type Streak<'a> = (Arc<[Arc<str>]>, Vec<&'a Designation>);

/// The facts a condition can see.
pub struct FactContext<'a> {
    pub date: NaiveDate,
    pub set: &'a RuleSet,
    pub area: Option<&'a AreaFacts>,
    pub designated_classes: &'a [Arc<str>],
    /// Per list history (its classes): the lists in a row, newest first, that name the
    /// area and end with one in force (classification only).
    pub streaks: &'a [Streak<'a>],
    pub household: Option<&'a Household>,
    pub grant: Option<(&'a str, Money)>,
}

impl<'a> FactContext<'a> {
    /// The facts of a household's case in an area (a letting, a referral): no
    /// designations, list history or grant.
    pub fn household_case(
        date: NaiveDate,
        set: &'a RuleSet,
        area: &'a AreaFacts,
        household: &'a Household,
    ) -> Self {
        FactContext {
            date,
            set,
            area: Some(area),
            designated_classes: &[],
            streaks: &[],
            household: Some(household),
            grant: None,
        }
    }
}

/// A fact the rules needed and the case did not state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing(pub Fact);

/// What a benefit test found, for the message.
#[derive(Debug, Clone)]
pub struct BenefitFinding {
    pub role: PersonRole,
    /// Every counted adult who met the test (the first is `role`).
    pub roles: Vec<PersonRole>,
    pub kind: Arc<str>,
    pub months: u32,
    pub required_months: u32,
}

/// The record of one evaluation: comparisons made and what a benefit test found.
#[derive(Debug, Default)]
pub struct Trace {
    pub comparisons: Vec<Comparison>,
    pub benefit: Option<BenefitFinding>,
}

impl FactContext<'_> {
    fn applicant(&self) -> Option<&Person> {
        self.household.and_then(Household::applicant)
    }

    pub fn value(&self, fact: Fact) -> Option<FactValue> {
        let dec = FactValue::Decimal;
        let count = |n: u64| FactValue::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        let area = self.area;
        let applicant = self.applicant();
        match fact {
            Fact::AreaShareWithoutAttachment => area?.share_without_attachment().map(dec),
            Fact::AreaResidents => area?.residents.map(count),
            Fact::AreaWorkingAgeResidents => area?.working_age_residents.map(count),
            Fact::AreaShareWithoutWorkOrEducation => area?.share_without_work_or_education.map(dec),
            Fact::AreaConvictionRateRatio => area?.conviction_rate_ratio.map(dec),
            Fact::AreaShareBasicSchoolingOnly => area?.share_basic_schooling_only.map(dec),
            Fact::AreaIncomeRatioToRegion => area?.income_ratio_to_region.map(dec),
            Fact::AreaShareNonWestern => area?.share_non_western.map(dec),
            Fact::AreaShareConvicted => area?.share_convicted.map(dec),
            Fact::ApplicantLivesInDepartment => self
                .household
                .map(|h| FactValue::Bool(h.lives_in_department)),
            Fact::ApplicantWeeklyWorkHours => applicant?.weekly_work_hours.map(dec),
            Fact::ApplicantStudent => applicant.map(|p| FactValue::Bool(p.student)),
            Fact::ApplicantAge => applicant?.age.map(|a| FactValue::Integer(i64::from(a))),
            Fact::ApplicantGivesUpLargerDwelling => {
                applicant.map(|p| FactValue::Bool(p.gives_up_larger_dwelling_in_municipality))
            }
            Fact::ApplicantSeparatedOn => applicant?.separated_on.map(FactValue::Date),
            Fact::ApplicantSharedAddressFrom => applicant?.shared_address_from.map(FactValue::Date),
            // A set: read through `terms_of`.
            Fact::HouseholdReferralConditions => None,
            Fact::HouseholdResourceWeak => self.household?.resource_weak.map(FactValue::Bool),
            Fact::HouseholdCurrentAreaClass => self
                .household?
                .current_area_class
                .as_deref()
                .map(|c| FactValue::Term(c.into())),
            Fact::HouseholdMunicipalDispensation => self
                .household
                .map(|h| FactValue::Bool(h.municipal_dispensation)),
            Fact::HouseholdMovesWithinMunicipality => self
                .household?
                .moves_within_municipality
                .map(FactValue::Bool),
            Fact::GrantPurpose => self.grant.map(|(p, _)| FactValue::Term(p.into())),
            Fact::GrantAmount => self.grant.map(|(_, a)| FactValue::Money(a)),
        }
    }

    fn terms_of(&self, fact: Fact) -> Option<Vec<Arc<str>>> {
        match fact {
            Fact::HouseholdReferralConditions => Some(
                self.household?
                    .referral_conditions
                    .iter()
                    .map(|c| Arc::from(c.as_str()))
                    .collect(),
            ),
            _ => match self.value(fact)? {
                FactValue::Term(t) => Some(vec![t]),
                _ => None,
            },
        }
    }

    /// Evaluates `condition`, recording comparisons in `trace`.
    pub fn eval(&self, condition: &Condition, trace: &mut Trace) -> Result<bool, Missing> {
        match condition {
            Condition::Always => Ok(true),
            Condition::Compare { fact, op, value } => {
                let actual = self.value(*fact).ok_or(Missing(*fact))?;
                let holds = op.holds(&actual, value);
                trace.comparisons.push(Comparison {
                    fact: fact.name().into(),
                    op: op.as_str().into(),
                    threshold: value.to_string(),
                    actual: actual.to_string(),
                    holds,
                });
                Ok(holds)
            }
            Condition::In {
                fact,
                values,
                negated,
            } => {
                let actual = self.terms_of(*fact).ok_or(Missing(*fact))?;
                let found = actual.iter().any(|a| values.contains(a));
                let holds = found != *negated;
                trace.comparisons.push(Comparison {
                    fact: fact.name().into(),
                    op: if *negated { "not_in" } else { "in" }.into(),
                    threshold: join(values),
                    actual: join(&actual),
                    holds,
                });
                Ok(holds)
            }
            Condition::All(items) => {
                for item in items {
                    if !self.eval(item, trace)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Any(items) => {
                let mut first_missing = None;
                for item in items {
                    match self.eval(item, trace) {
                        Ok(true) => return Ok(true),
                        Ok(false) => {}
                        Err(m) => first_missing = first_missing.or(Some(m)),
                    }
                }
                first_missing.map_or(Ok(false), Err)
            }
            Condition::AtLeast { n, of } => {
                // Every criterion is evaluated so the explanation shows all of them.
                let mut met = 0;
                for item in of {
                    if self.eval(item, trace)? {
                        met += 1;
                    }
                }
                let holds = met >= *n;
                trace.comparisons.push(Comparison {
                    fact: "criteria_met".into(),
                    op: ">=".into(),
                    threshold: n.to_string(),
                    actual: met.to_string(),
                    holds,
                });
                Ok(holds)
            }
            Condition::Not(inner) => Ok(!self.eval(inner, trace)?),
            Condition::DesignatedAs(class) => {
                let holds = self.designated_classes.contains(class);
                trace.comparisons.push(Comparison {
                    fact: "area.designated_as".into(),
                    op: "in".into(),
                    threshold: class.to_string(),
                    actual: join(self.designated_classes),
                    holds,
                });
                Ok(holds)
            }
            Condition::ListedInSuccession { classes, lists } => {
                let run: Vec<Arc<str>> = self
                    .streaks
                    .iter()
                    .find(|(c, _)| c == classes)
                    .map_or_else(Vec::new, |(_, run)| {
                        run.iter().map(|d| d.id.clone()).collect()
                    });
                let holds = run.len() >= *lists as usize;
                trace.comparisons.push(Comparison {
                    fact: format!("area.listed_in_succession.{}", classes.join("+")).into(),
                    op: ">=".into(),
                    threshold: format!("{lists} lists"),
                    actual: format!("{} ({})", run.len(), join(&run)),
                    holds,
                });
                Ok(holds)
            }
            Condition::BenefitReceipt(test) => Ok(self.benefit(test, trace)),
            Condition::DateWithin { fact, period } => {
                let Some(FactValue::Date(when)) = self.value(*fact) else {
                    return Err(Missing(*fact));
                };
                let since = period.before(self.date);
                let holds = when >= since && when <= self.date;
                trace.comparisons.push(Comparison {
                    fact: fact.name().into(),
                    op: ">=".into(),
                    threshold: format!("{since} ({period} before {})", self.date),
                    actual: when.to_string(),
                    holds,
                });
                Ok(holds)
            }
            Condition::Elapsed {
                from,
                to,
                op,
                period,
            } => {
                let (Some(FactValue::Date(start)), Some(FactValue::Date(end))) =
                    (self.value(*from), self.value(*to))
                else {
                    let missing = if self.value(*from).is_none() {
                        *from
                    } else {
                        *to
                    };
                    return Err(Missing(missing));
                };
                // "end − start op period" ⇔ "end op start + period", by the calendar.
                let mark = period.after(start);
                let holds = op.holds(&end, &mark);
                trace.comparisons.push(Comparison {
                    fact: format!("{} → {}", from.name(), to.name()).into(),
                    op: op.as_str().into(),
                    threshold: format!("{period} ({mark})"),
                    actual: end.to_string(),
                    holds,
                });
                Ok(holds)
            }
        }
    }

    /// The benefit test: each counted adult's months of receipt are counted separately.
    fn benefit(&self, test: &BenefitTest, trace: &mut Trace) -> bool {
        let Some(household) = self.household else {
            return false;
        };
        let counted: Vec<&Person> = household
            .persons
            .iter()
            .filter(|p| match p.role {
                PersonRole::Applicant => true,
                PersonRole::Spouse => test.persons == BenefitPersons::ApplicantAndPartner,
                PersonRole::Cohabitant => {
                    test.persons == BenefitPersons::ApplicantAndPartner
                        && match (test.cohabitant_counts_after, p.cohabiting_since) {
                            (Some(period), Some(since)) => period.after(since) <= self.date,
                            _ => false,
                        }
                }
            })
            .collect();
        let mut meeting = 0;
        for person in &counted {
            let found = receipt(person, test, self.date);
            let months = found.as_ref().map_or(0, |f| f.1);
            let current = found.as_ref().is_some_and(|f| f.2);
            let holds = found.is_some()
                && months >= test.consecutive_calendar_months
                && (current || !test.currently_receiving);
            trace.comparisons.push(Comparison {
                fact: format!("{}.benefit_months", role_name(person.role)).into(),
                op: ">=".into(),
                threshold: format!(
                    "{}{}",
                    test.consecutive_calendar_months,
                    if test.currently_receiving {
                        ", still receiving"
                    } else {
                        ""
                    }
                ),
                actual: match &found {
                    Some((kind, m, cur)) => format!(
                        "{m} ({kind}{})",
                        if *cur { ", still receiving" } else { ", ended" }
                    ),
                    None => "0".into(),
                },
                holds,
            });
            if holds {
                meeting += 1;
                if let Some(first) = trace.benefit.as_mut() {
                    first.roles.push(person.role);
                } else if let Some((kind, m, _)) = found {
                    trace.benefit = Some(BenefitFinding {
                        role: person.role,
                        roles: vec![person.role],
                        kind,
                        months: m,
                        required_months: test.consecutive_calendar_months,
                    });
                }
            }
        }
        match test.household_rule {
            HouseholdRule::Either => meeting > 0,
            HouseholdRule::Both => meeting > 0 && meeting == counted.len(),
        }
    }
}

pub fn role_name(role: PersonRole) -> &'static str {
    match role {
        PersonRole::Applicant => "applicant",
        PersonRole::Spouse => "spouse",
        PersonRole::Cohabitant => "cohabitant",
    }
}

/// The receipt of any listed benefit that runs up to `date` (or the latest before it):
/// spells of listed kinds that follow on one another count as one run. Returns the kind
/// received last, the whole months of the run up to `date` (or its end), and whether it
/// is still received on `date`.
fn receipt(person: &Person, test: &BenefitTest, date: NaiveDate) -> Option<(Arc<str>, u32, bool)> {
    benefit_run(person, test, date).map(|r| (r.kind, r.months, r.current))
}

/// The run of receipt a benefit test reads: see [`benefit_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitRun {
    /// The listed kind received last.
    pub kind: Arc<str>,
    /// The first day of the run.
    pub start: NaiveDate,
    /// The last day of the run; None while no end is stated.
    pub end: Option<NaiveDate>,
    /// The months the test counts, up to `date` or the run's end.
    pub months: u32,
    /// Whether the benefit is still received on `date`.
    pub current: bool,
}

/// The last run of receipt of the benefits `test` lists, up to `date`, as the benefit test
/// counts it.
pub fn benefit_run(person: &Person, test: &BenefitTest, date: NaiveDate) -> Option<BenefitRun> {
    let mut spells: Vec<(NaiveDate, Option<NaiveDate>, &str)> = person
        .benefits
        .iter()
        .filter(|s| s.from <= date && test.kinds.iter().any(|k| **k == *s.kind))
        .map(|s| (s.from, s.to, s.kind.as_str()))
        .collect();
    spells.sort_by_key(|s| s.0);
    // Merge runs. Counted by whole calendar months, a run is broken only by a whole
    // calendar month without receipt (L 32 2004-05, § 51 b, stk. 2: "Perioden afbrydes,
    // hvis personen i en hel kalendermåned ikke har modtaget …"); counted day for day, by
    // any day without it.
    let joins = |end: NaiveDate, start: NaiveDate| match test.month_counting {
        MonthCounting::ElapsedMonths => end.succ_opt().is_none_or(|next| start <= next),
        MonthCounting::WholeCalendarMonths => {
            end.succ_opt().is_none_or(|next| start <= next)
                || whole_calendar_months(
                    end.succ_opt().unwrap_or(end),
                    start.pred_opt().unwrap_or(start),
                ) == 0
        }
    };
    let mut runs: Vec<(NaiveDate, Option<NaiveDate>, &str)> = Vec::new();
    for spell in spells {
        match runs.last_mut() {
            Some(last) if last.1.is_none_or(|end| joins(end, spell.0)) => {
                last.1 = match (last.1, spell.1) {
                    (None, _) | (_, None) => None,
                    (Some(a), Some(b)) => Some(a.max(b)),
                };
                last.2 = spell.2;
            }
            _ => runs.push(spell),
        }
    }
    let (start, end, kind) = runs.pop()?;
    let current = end.is_none_or(|e| e >= date);
    let until = if current { date } else { end.unwrap_or(date) };
    let kind: Arc<str> = test
        .kinds
        .iter()
        .find(|k| ***k == *kind)
        .cloned()
        .unwrap_or_else(|| kind.into());
    let months = match test.month_counting {
        MonthCounting::ElapsedMonths => whole_months(start, until),
        MonthCounting::WholeCalendarMonths => whole_calendar_months(start, until),
    };
    Some(BenefitRun {
        kind,
        start,
        end,
        months,
        current,
    })
}

/// Calendar months lying wholly within `start..=end`, from the first whole month on: a
/// run from 2006-09-15 to 2007-03-01 covers October to February, 5.
pub fn whole_calendar_months(start: NaiveDate, end: NaiveDate) -> u32 {
    let month_index = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    let first = if start.day() == 1 {
        month_index(start)
    } else {
        month_index(start) + 1
    };
    let last_day_of_month = end
        .succ_opt()
        .is_none_or(|next| next.month() != end.month());
    let last = if last_day_of_month {
        month_index(end)
    } else {
        month_index(end) - 1
    };
    u32::try_from((last - first + 1).max(0)).unwrap_or(0)
}

/// Whole calendar months from `start` to `end`: 2006-09-01 → 2007-03-01 is 6.
pub fn whole_months(start: NaiveDate, end: NaiveDate) -> u32 {
    if end < start {
        return 0;
    }
    let months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    let months = if end.day() < start.day() {
        months - 1
    } else {
        months
    };
    u32::try_from(months.max(0)).unwrap_or(0)
}

fn join(items: &[Arc<str>]) -> String {
    if items.is_empty() {
        return "(none)".into();
    }
    items.iter().map(|i| &**i).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn whole_calendar_months_count_months_received_throughout() {
        // Received from the 1st: September to February.
        assert_eq!(whole_calendar_months(d(2006, 9, 1), d(2007, 3, 1)), 6);
        // From the 15th: the first whole month is October.
        assert_eq!(whole_calendar_months(d(2006, 9, 15), d(2007, 3, 1)), 5);
        // 31 January to 28 February: February is whole, January is not.
        assert_eq!(whole_calendar_months(d(2007, 1, 31), d(2007, 2, 28)), 1);
        assert_eq!(whole_calendar_months(d(2007, 2, 2), d(2007, 2, 27)), 0);
        assert_eq!(whole_calendar_months(d(2007, 3, 1), d(2006, 3, 1)), 0);
    }

    #[test]
    fn whole_months_count_by_calendar() {
        assert_eq!(whole_months(d(2006, 9, 1), d(2007, 3, 1)), 6);
        assert_eq!(whole_months(d(2006, 9, 2), d(2007, 3, 1)), 5);
        assert_eq!(whole_months(d(2007, 1, 31), d(2007, 2, 28)), 0);
        assert_eq!(whole_months(d(2007, 3, 1), d(2006, 3, 1)), 0);
    }
}
