//! Counterfactuals of a benefit test: the months a person's run of benefit would need,
//! or its end, rebuilt as benefit spells that the test counts exactly so.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;

use super::super::eval::{BenefitRun, FactContext, benefit_run, role_name};
use super::super::person_words;
use super::{Aim, Candidate};
use crate::model::{BenefitSpell, BenefitTest, MonthCounting, Person, RuleSet, Vocabulary};

/// The benefit test's candidates, person by person: for a person who meets it, the months
/// one below the requirement and, where it asks for it, receipt that ended the day before;
/// for a person who narrowly does not, the months required.
pub(super) fn benefit_candidates(
    test: &BenefitTest,
    aim: Aim,
    ctx: &FactContext<'_>,
    set: &RuleSet,
    out: &mut Vec<Candidate>,
) {
    let Some(household) = ctx.household else {
        return;
    };
    let date = ctx.date;
    let required = test.consecutive_calendar_months;
    for (index, person) in household.persons.iter().enumerate() {
        let Some(run) = benefit_run(person, test, date) else {
            continue;
        };
        let meets = run.months >= required && (run.current || !test.currently_receiving);
        let role = role_name(person.role);
        let (who_da, who_en) = person_words(person.role);
        let (benefit_da, benefit_en) = match Vocabulary::term(&set.vocabulary.benefits, &run.kind) {
            Some(t) => (t.da.to_string(), t.en.to_string()),
            None => (run.kind.to_string(), run.kind.to_string()),
        };
        let months_clause = |n: u32| {
            let (da, en) = month_words(test.month_counting, n);
            (
                format!(
                    "{who_da} havde modtaget {benefit_da} i {n} {da} i stedet for {}",
                    run.months
                ),
                format!(
                    "{who_en} had received {benefit_en} for {n} {en} instead of {}",
                    run.months
                ),
            )
        };
        let mut push = |benefits: Vec<BenefitSpell>,
                        fact: &str,
                        from: String,
                        to: String,
                        distance: Decimal,
                        clause: (String, String)| {
            let mut changed = household.clone();
            if let Some(p) = changed.persons.get_mut(index) {
                p.benefits = benefits;
                out.push(Candidate {
                    household: changed,
                    fact: format!("{role}.{fact}"),
                    from,
                    to,
                    distance,
                    clause,
                });
            }
        };
        match aim {
            Aim::Undo if meets => {
                if let Some(n) = required.checked_sub(1)
                    && let Some(spells) = with_months(person, test, &run, date, n)
                {
                    push(
                        spells,
                        "benefit_months",
                        run.months.to_string(),
                        n.to_string(),
                        Decimal::from(run.months - n),
                        months_clause(n),
                    );
                }
                if test.currently_receiving
                    && run.current
                    && let Some(spells) = ended(person, test, &run, date)
                {
                    push(
                        spells,
                        "benefit_still_received",
                        "true".into(),
                        "false".into(),
                        Decimal::ONE,
                        (
                            format!("{who_da} ikke længere modtog {benefit_da} den {date}"),
                            format!("{who_en} no longer received {benefit_en} on {date}"),
                        ),
                    );
                }
            }
            Aim::Narrow
                if !meets
                    && run.months < required
                    && (run.current || !test.currently_receiving) =>
            {
                if let Some(spells) = with_months(person, test, &run, date, required) {
                    push(
                        spells,
                        "benefit_months",
                        run.months.to_string(),
                        required.to_string(),
                        Decimal::from(required - run.months),
                        months_clause(required),
                    );
                }
            }
            _ => {}
        }
    }
}

fn month_words(counting: MonthCounting, n: u32) -> (&'static str, &'static str) {
    match (counting, n == 1) {
        (MonthCounting::WholeCalendarMonths, true) => ("hel kalendermåned", "whole calendar month"),
        (MonthCounting::WholeCalendarMonths, false) => {
            ("hele kalendermåneder", "whole calendar months")
        }
        (MonthCounting::ElapsedMonths, true) => ("måned", "month"),
        (MonthCounting::ElapsedMonths, false) => ("måneder", "months"),
    }
}

/// The person's spells with the benefits `test` lists replaced by one run of the same kind
/// and the same end, begun so that the test counts exactly `months`; None if no start
/// gives that count.
fn with_months(
    person: &Person,
    test: &BenefitTest,
    run: &BenefitRun,
    date: NaiveDate,
    months: u32,
) -> Option<Vec<BenefitSpell>> {
    let until = if run.current { date } else { run.end? };
    let start = match test.month_counting {
        MonthCounting::WholeCalendarMonths => {
            // The first day of the month `months - 1` before the last whole month.
            let index = |d: NaiveDate| d.year().checked_mul(12)?.checked_add(d.month0() as i32);
            let whole_to_end = until.succ_opt().is_none_or(|n| n.month() != until.month());
            let last = index(until)?.checked_sub(if whole_to_end { 0 } else { 1 })?;
            let first = last
                .checked_sub(i32::try_from(months).ok()?)?
                .checked_add(1)?;
            let month = u32::try_from(first.rem_euclid(12)).ok()?.checked_add(1)?;
            NaiveDate::from_ymd_opt(first.div_euclid(12), month, 1)?
        }
        MonthCounting::ElapsedMonths => until.checked_sub_months(Months::new(months))?,
    };
    let mut spells = others(person, test, date);
    if start <= until {
        spells.push(BenefitSpell {
            kind: run.kind.to_string(),
            from: start,
            to: run.end,
        });
    }
    let changed = Person {
        benefits: spells,
        ..person.clone()
    };
    let counted = benefit_run(&changed, test, date);
    let same = counted.as_ref().map_or(0, |r| r.months) == months
        && (months == 0 || counted.as_ref().is_some_and(|r| r.current == run.current));
    same.then_some(changed.benefits)
}

/// The person's spells with the run `test` reads ended the day before `date`.
fn ended(
    person: &Person,
    test: &BenefitTest,
    run: &BenefitRun,
    date: NaiveDate,
) -> Option<Vec<BenefitSpell>> {
    let last = date.pred_opt()?;
    let mut spells = others(person, test, date);
    if run.start <= last {
        spells.push(BenefitSpell {
            kind: run.kind.to_string(),
            from: run.start,
            to: Some(last),
        });
    }
    let changed = Person {
        benefits: spells,
        ..person.clone()
    };
    benefit_run(&changed, test, date)
        .is_none_or(|r| !r.current)
        .then_some(changed.benefits)
}

/// The person's spells the test does not read up to `date`: other kinds, and spells begun
/// after it.
fn others(person: &Person, test: &BenefitTest, date: NaiveDate) -> Vec<BenefitSpell> {
    person
        .benefits
        .iter()
        .filter(|s| s.from > date || !test.kinds.iter().any(|k| **k == *s.kind))
        .cloned()
        .collect()
}
