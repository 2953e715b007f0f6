//! Counterfactual answers: for one letting decision, the smallest change of one fact of the
//! applicant household that would flip it, in Danish and English ("Not rejected if the
//! applicant had received cash benefit for 5 whole calendar months instead of 7").
//!
//! Pure, as the rest of the engine: the rule book and the case (with its date) are
//! arguments. Candidates come from the rule conditions, each with its operator and
//! threshold as the rule file states them: `months >= 6` with 7 months gives 5, `hours >= 25`
//! with 20 gives 25, `hours > 25` with 20 gives 26 (one step of the precision the threshold
//! and the case's value are written in: whole hours here, tenths for "24.5"). Every
//! candidate is then judged again by [`evaluate_letting`] with the changed facts and kept
//! only if the decision really flips; among the candidates for one fact of one rule the one
//! nearest the case's value is kept.
//!
//! What is weighed:
//! - a rejection rule that fired: any one fact of the household that undoes the rejection
//!   (a person's months of benefit, whether it is still received, an exemption such as
//!   living in the department);
//! - a rejection rule that applied and did not fire, on a letting not rejected: a stated
//!   quantity (months of benefit) that narrowly falls short of its threshold;
//! - on a flexible vacancy, for a letting not rejected: the only priority group the
//!   applicant meets (what would take the priority away), or, for an applicant without
//!   priority, a group a stated quantity (hours, an age, a date) narrowly missed. A yes/no
//!   fact is not turned for a rule that did not fire ("priority if a student"): that is no
//!   narrow miss.
//!
//! Area statistics and designations are never changed: they are not the household's facts,
//! and they are the same for every applicant.

use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

mod benefits;

use super::eval::FactContext;
use super::{Eligibility, LettingCase, LettingDecision, LettingOutcome, evaluate_letting};
use crate::model::{
    CalendarPeriod, Channel, CompareOp, Condition, Fact, FactValue, Household, LettingEffect,
    PersonRole, RuleBook, RuleSet, Vocabulary,
};
use benefits::benefit_candidates;

/// One change of one fact that flips a decision, verified by judging the case again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterfactual {
    /// The rule whose result the change flips.
    pub rule_id: Arc<str>,
    /// The fact changed: a fact of the catalogue ("applicant.weekly_work_hours") or a
    /// person's benefit receipt ("spouse.benefit_months", "applicant.benefit_still_received").
    pub fact: String,
    /// The case's value, as text.
    pub from: String,
    /// The value that flips the decision, as text.
    pub to: String,
    pub message_da: String,
    pub message_en: String,
}

/// Whether a rule fired and the change must stop it, or did not and the change must make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    Undo,
    Narrow,
}

/// What the decision judged again must show for a candidate to count.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    /// The rejection rule no longer fires and the letting is not rejected.
    NotRejected(&'a str),
    /// The rejection rule fires and the letting is rejected.
    Rejected(&'a str),
    /// The applicant loses flexible-letting priority.
    NoPriority,
    /// The priority rule fires and the applicant has priority.
    Priority(&'a str),
}

impl Target<'_> {
    fn met_by(self, d: &LettingDecision) -> bool {
        let fired = |id: &str| d.explanation.fired_ids().any(|f| f == id);
        let eligible = matches!(
            d.flexible.status,
            Eligibility::Provisional | Eligibility::Verified
        );
        match self {
            Target::NotRejected(id) => d.outcome != LettingOutcome::Rejected && !fired(id),
            Target::Rejected(id) => d.outcome == LettingOutcome::Rejected && fired(id),
            Target::NoPriority => d.flexible.status == Eligibility::NotEligible,
            Target::Priority(id) => eligible && fired(id),
        }
    }

    /// The sentence around a condition clause, in Danish and English.
    fn sentence(self, group: (&str, &str), clause: &(String, String)) -> (String, String) {
        let (da, en) = clause;
        let (group_da, group_en) = group;
        match self {
            Target::NotRejected(_) => (
                format!("Ikke afvist, hvis {da}."),
                format!("Not rejected if {en}."),
            ),
            Target::Rejected(_) => (format!("Afvist, hvis {da}."), format!("Rejected if {en}.")),
            Target::NoPriority => (
                format!("Ingen fortrinsret ved fleksibel udlejning blandt {group_da}, hvis {da}."),
                format!("No flexible-letting priority among {group_en} if {en}."),
            ),
            Target::Priority(_) => (
                format!("Fortrinsret ved fleksibel udlejning blandt {group_da}, hvis {da}."),
                format!("Flexible-letting priority among {group_en} if {en}."),
            ),
        }
    }
}

/// A changed household, with what changed and the words for it.
#[derive(Debug, Clone)]
struct Candidate {
    household: Household,
    fact: String,
    from: String,
    to: String,
    /// How far the new value lies from the case's, in the fact's own unit.
    distance: Decimal,
    clause: (String, String),
}

/// The counterfactuals of `decision`, the decision [`evaluate_letting`] gave for `case`
/// under `book`: for each rule that decided it (a rejection rule, a flexible-priority group)
/// the smallest change of one fact of the household that flips it, each verified by
/// judging the changed case again. Empty when no single change flips the decision.
pub fn letting_counterfactuals(
    book: &RuleBook,
    case: &LettingCase,
    decision: &LettingDecision,
) -> Vec<Counterfactual> {
    let Some(set) = book.in_force(&case.municipality, case.date) else {
        return Vec::new();
    };
    let ctx = FactContext::household_case(case.date, set, &case.area, &case.household);
    let fired: Vec<&str> = decision.explanation.fired_ids().collect();
    let rejected = decision.outcome == LettingOutcome::Rejected;
    let mut found = Vec::new();
    for rule in set.letting_rules.iter().filter(|r| {
        r.effect == LettingEffect::Reject
            && r.meta.in_force(case.date)
            && r.applies_to(&case.area.id, &decision.area_class)
    }) {
        let id = &*rule.meta.id;
        let (aim, target) = match (fired.contains(&id), rejected) {
            (true, true) => (Aim::Undo, Target::NotRejected(id)),
            (false, false) => (Aim::Narrow, Target::Rejected(id)),
            _ => continue,
        };
        let mut candidates = Vec::new();
        candidates_of(&rule.when, aim, &ctx, set, &mut candidates);
        if let (Aim::Undo, Some(unless)) = (aim, &rule.unless) {
            candidates_of(unless, aim, &ctx, set, &mut candidates);
        }
        keep(book, case, id, target, ("", ""), candidates, &mut found);
    }
    if case.channel == Some(Channel::Flexible) && !rejected {
        let eligible = matches!(
            decision.flexible.status,
            Eligibility::Provisional | Eligibility::Verified
        );
        for rule in set
            .flexible_priority
            .iter()
            .filter(|r| r.meta.in_force(case.date))
        {
            let id = &*rule.meta.id;
            let (aim, target) = match (fired.contains(&id), eligible) {
                // Priority by this group alone: what would take it away.
                (true, true) if decision.flexible.groups.len() == 1 => {
                    (Aim::Undo, Target::NoPriority)
                }
                (false, false) => (Aim::Narrow, Target::Priority(id)),
                _ => continue,
            };
            let group = match Vocabulary::term(&set.vocabulary.priority_groups, &rule.group) {
                Some(t) => (&*t.da, &*t.en),
                None => (&*rule.group, &*rule.group),
            };
            let mut candidates = Vec::new();
            candidates_of(&rule.when, aim, &ctx, set, &mut candidates);
            keep(book, case, id, target, group, candidates, &mut found);
        }
    }
    found
}

/// Judges each candidate again; keeps, per fact, the nearest one that flips the decision.
fn keep(
    book: &RuleBook,
    case: &LettingCase,
    rule_id: &str,
    target: Target<'_>,
    group: (&str, &str),
    candidates: Vec<Candidate>,
    found: &mut Vec<Counterfactual>,
) {
    let mut best: Vec<Candidate> = Vec::new();
    for c in candidates {
        let changed = LettingCase {
            household: c.household.clone(),
            ..case.clone()
        };
        let Ok(judged) = evaluate_letting(book, &changed) else {
            continue;
        };
        if !target.met_by(&judged) {
            continue;
        }
        match best.iter_mut().find(|b| b.fact == c.fact) {
            Some(b) if c.distance < b.distance => *b = c,
            Some(_) => {}
            None => best.push(c),
        }
    }
    for c in best {
        // The same change may undo two rules at once: it is named once, by the first.
        if found
            .iter()
            .any(|f: &Counterfactual| f.fact == c.fact && f.to == c.to)
        {
            continue;
        }
        let (message_da, message_en) = target.sentence(group, &c.clause);
        found.push(Counterfactual {
            rule_id: rule_id.into(),
            fact: c.fact,
            from: c.from,
            to: c.to,
            message_da,
            message_en,
        });
    }
}

/// The candidates every condition inside `condition` offers.
fn candidates_of(
    condition: &Condition,
    aim: Aim,
    ctx: &FactContext<'_>,
    set: &RuleSet,
    out: &mut Vec<Candidate>,
) {
    condition.visit(&mut |c| match c {
        Condition::Compare { fact, op, value } => {
            if let Some(actual) = ctx.value(*fact) {
                for (new, distance) in flipped(*op, &actual, value, aim) {
                    push_fact(ctx, *fact, &actual, new, distance, out);
                }
            }
        }
        Condition::DateWithin { fact, period } => {
            if let Some(FactValue::Date(when)) = ctx.value(*fact) {
                let since = period.before(ctx.date);
                let holds = when >= since && when <= ctx.date;
                let new = if holds {
                    since.pred_opt()
                } else if when < since {
                    Some(since)
                } else {
                    Some(ctx.date)
                };
                if let Some(new) = new {
                    push_fact(
                        ctx,
                        *fact,
                        &FactValue::Date(when),
                        FactValue::Date(new),
                        days_between(when, new),
                        out,
                    );
                }
            }
        }
        Condition::Elapsed {
            from,
            to,
            op,
            period,
        } => {
            if let (Some(FactValue::Date(start)), Some(FactValue::Date(end))) =
                (ctx.value(*from), ctx.value(*to))
            {
                // The later date against the mark `period` after the earlier.
                let mark = FactValue::Date(period.after(start));
                for (new, distance) in flipped(*op, &FactValue::Date(end), &mark, aim) {
                    push_fact(ctx, *to, &FactValue::Date(end), new, distance, out);
                }
                if let Some(new) = elapsed_start(*op, *period, start, end) {
                    push_fact(
                        ctx,
                        *from,
                        &FactValue::Date(start),
                        FactValue::Date(new),
                        days_between(start, new),
                        out,
                    );
                }
            }
        }
        Condition::BenefitReceipt(test) => benefit_candidates(test, aim, ctx, set, out),
        _ => {}
    });
}

fn push_fact(
    ctx: &FactContext<'_>,
    fact: Fact,
    actual: &FactValue,
    new: FactValue,
    distance: Decimal,
    out: &mut Vec<Candidate>,
) {
    let Some(household) = ctx.household else {
        return;
    };
    let (Some(changed), Some(clause)) = (
        with_fact(household, fact, &new),
        fact_clause(fact, actual, &new),
    ) else {
        return;
    };
    out.push(Candidate {
        household: changed,
        fact: fact.name().to_owned(),
        from: actual.to_string(),
        to: new.to_string(),
        distance,
        clause,
    });
}

/// The values nearest `actual` that turn `actual op threshold` the other way, each with its
/// distance from `actual`. A yes/no fact is turned only for a rule that fired.
fn flipped(
    op: CompareOp,
    actual: &FactValue,
    threshold: &FactValue,
    aim: Aim,
) -> Vec<(FactValue, Decimal)> {
    match (actual, threshold) {
        (FactValue::Bool(a), FactValue::Bool(_)) if aim == Aim::Undo => {
            let new = FactValue::Bool(!*a);
            if op.holds(&new, threshold) == op.holds(actual, threshold) {
                return Vec::new();
            }
            vec![(new, Decimal::ONE)]
        }
        (FactValue::Integer(a), FactValue::Integer(t)) => {
            boundary(op, Decimal::from(*a), Decimal::from(*t), Decimal::ONE)
                .into_iter()
                .filter_map(|(v, d)| i64::try_from(v).ok().map(|i| (FactValue::Integer(i), d)))
                .collect()
        }
        (FactValue::Decimal(a), FactValue::Decimal(t)) => {
            // The precision as written: "25.0" hours moves by tenths, "25" by whole hours.
            let scale = a.scale().max(t.scale());
            let Ok(step) = Decimal::try_new(1, scale) else {
                return Vec::new();
            };
            boundary(op, *a, *t, step)
                .into_iter()
                .map(|(v, d)| (FactValue::Decimal(v.normalize()), d))
                .collect()
        }
        (FactValue::Date(a), FactValue::Date(t)) => {
            let day = |d: &NaiveDate| Decimal::from(d.num_days_from_ce());
            boundary(op, day(a), day(t), Decimal::ONE)
                .into_iter()
                .filter_map(|(v, d)| {
                    i32::try_from(v)
                        .ok()
                        .and_then(NaiveDate::from_num_days_from_ce_opt)
                        .map(|date| (FactValue::Date(date), d))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The values nearest `a` that turn `a op t` the other way, on a line of `step`s: for
/// `>=` that holds, one step below `t`; for `>=` that does not, `t` itself; for `>` the
/// other way round.
fn boundary(op: CompareOp, a: Decimal, t: Decimal, step: Decimal) -> Vec<(Decimal, Decimal)> {
    let holds = op.holds(&a, &t);
    let below = t.checked_sub(step);
    let above = t.checked_add(step);
    let values = match (op, holds) {
        (CompareOp::Ge, true) | (CompareOp::Lt, false) => vec![below],
        (CompareOp::Ge, false)
        | (CompareOp::Lt, true)
        | (CompareOp::Gt, true)
        | (CompareOp::Le, false)
        | (CompareOp::Eq, false)
        | (CompareOp::Ne, true) => vec![Some(t)],
        (CompareOp::Gt, false) | (CompareOp::Le, true) => vec![above],
        (CompareOp::Eq, true) | (CompareOp::Ne, false) => vec![below, above],
    };
    values
        .into_iter()
        .flatten()
        .filter(|v| op.holds(v, &t) != holds)
        .filter_map(|v| v.checked_sub(a).map(|d| (v, d.abs())))
        .collect()
}

/// The start date nearest `start` that turns "`end` op `period` after the start" the other
/// way. Periods move by the calendar (a month from 31 January is 28 February), so the
/// boundary is looked for within a few days of `period` before `end`.
fn elapsed_start(
    op: CompareOp,
    period: CalendarPeriod,
    start: NaiveDate,
    end: NaiveDate,
) -> Option<NaiveDate> {
    if !op.is_ordering() {
        return None;
    }
    let holds = op.holds(&end, &period.after(start));
    let guess = period.before(end);
    let mut best: Option<(NaiveDate, i64)> = None;
    for offset in -4i64..=4 {
        let days = Days::new(offset.unsigned_abs());
        let day = if offset < 0 {
            guess.checked_sub_days(days)
        } else {
            guess.checked_add_days(days)
        };
        let Some(day) = day else { continue };
        if op.holds(&end, &period.after(day)) == holds {
            continue;
        }
        let distance = (day - start).num_days().abs();
        if best.is_none_or(|(_, d)| distance < d) {
            best = Some((day, distance));
        }
    }
    best.map(|(day, _)| day)
}

fn days_between(a: NaiveDate, b: NaiveDate) -> Decimal {
    Decimal::from((b - a).num_days().abs())
}

/// The household with one fact changed; None for a fact that is not the household's (the
/// area's statistics) or a value it cannot take (a negative age).
fn with_fact(household: &Household, fact: Fact, value: &FactValue) -> Option<Household> {
    let mut h = household.clone();
    match (fact, value) {
        (Fact::ApplicantLivesInDepartment, FactValue::Bool(b)) => h.lives_in_department = *b,
        (Fact::HouseholdMunicipalDispensation, FactValue::Bool(b)) => {
            h.municipal_dispensation = *b;
        }
        (Fact::HouseholdResourceWeak, FactValue::Bool(b)) => h.resource_weak = Some(*b),
        (Fact::HouseholdMovesWithinMunicipality, FactValue::Bool(b)) => {
            h.moves_within_municipality = Some(*b);
        }
        _ => {
            let p = h
                .persons
                .iter_mut()
                .find(|p| p.role == PersonRole::Applicant)?;
            match (fact, value) {
                (Fact::ApplicantWeeklyWorkHours, FactValue::Decimal(d)) if *d >= Decimal::ZERO => {
                    p.weekly_work_hours = Some(*d);
                }
                (Fact::ApplicantStudent, FactValue::Bool(b)) => p.student = *b,
                (Fact::ApplicantAge, FactValue::Integer(i)) => {
                    p.age = Some(u32::try_from(*i).ok()?)
                }
                (Fact::ApplicantGivesUpLargerDwelling, FactValue::Bool(b)) => {
                    p.gives_up_larger_dwelling_in_municipality = *b;
                }
                (Fact::ApplicantSeparatedOn, FactValue::Date(d)) => p.separated_on = Some(*d),
                (Fact::ApplicantSharedAddressFrom, FactValue::Date(d)) => {
                    p.shared_address_from = Some(*d);
                }
                _ => return None,
            }
        }
    }
    Some(h)
}

/// A number in Danish notation: a decimal comma.
fn number_da(v: &FactValue) -> String {
    match v {
        FactValue::Decimal(d) => d.normalize().to_string().replace('.', ","),
        other => other.to_string(),
    }
}

/// The condition clause for a changed fact ("the applicant had worked 25 hours a week
/// instead of 20"), in Danish and English.
fn fact_clause(fact: Fact, from: &FactValue, to: &FactValue) -> Option<(String, String)> {
    let yes = matches!(to, FactValue::Bool(true));
    let words = |da_yes: &str, da_no: &str, en_yes: &str, en_no: &str| {
        if yes {
            (da_yes.to_owned(), en_yes.to_owned())
        } else {
            (da_no.to_owned(), en_no.to_owned())
        }
    };
    Some(match fact {
        Fact::ApplicantLivesInDepartment => words(
            "ansøgeren allerede boede i afdelingen",
            "ansøgeren ikke allerede boede i afdelingen",
            "the applicant already lived in the department",
            "the applicant did not already live in the department",
        ),
        Fact::HouseholdMunicipalDispensation => words(
            "kommunen havde dispenseret",
            "kommunen ikke havde dispenseret",
            "the municipality had granted a dispensation",
            "the municipality had not granted a dispensation",
        ),
        Fact::HouseholdResourceWeak => words(
            "kommunen havde vurderet husstanden som ressourcesvag",
            "kommunen ikke havde vurderet husstanden som ressourcesvag",
            "the municipality had assessed the household as resource-weak",
            "the municipality had not assessed the household as resource-weak",
        ),
        Fact::HouseholdMovesWithinMunicipality => words(
            "husstanden flyttede inden for kommunen",
            "husstanden ikke flyttede inden for kommunen",
            "the household moved within the municipality",
            "the household did not move within the municipality",
        ),
        Fact::ApplicantStudent => words(
            "ansøgeren havde været studerende",
            "ansøgeren ikke havde været studerende",
            "the applicant had been a student",
            "the applicant had not been a student",
        ),
        Fact::ApplicantGivesUpLargerDwelling => words(
            "ansøgeren fraflyttede en større bolig i kommunen",
            "ansøgeren ikke fraflyttede en større bolig i kommunen",
            "the applicant had been giving up a larger dwelling in the municipality",
            "the applicant had not been giving up a larger dwelling in the municipality",
        ),
        Fact::ApplicantWeeklyWorkHours => (
            format!(
                "ansøgeren havde arbejdet {} timer om ugen i stedet for {}",
                number_da(to),
                number_da(from)
            ),
            format!("the applicant had worked {to} hours a week instead of {from}"),
        ),
        Fact::ApplicantAge => (
            format!("ansøgeren havde været {to} år i stedet for {from}"),
            format!("the applicant had been {to} years old instead of {from}"),
        ),
        Fact::ApplicantSeparatedOn => (
            format!("samlivet var ophævet den {to} i stedet for den {from}"),
            format!("the separation had been on {to} instead of {from}"),
        ),
        Fact::ApplicantSharedAddressFrom => (
            format!("den fælles bopæl var begyndt den {to} i stedet for den {from}"),
            format!("the shared address had begun on {to} instead of {from}"),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    fn values(op: CompareOp, a: &str, t: &str, step: &str) -> Vec<String> {
        boundary(op, dec(a), dec(t), dec(step))
            .into_iter()
            .map(|(v, _)| v.normalize().to_string())
            .collect()
    }

    #[test]
    fn at_least_and_more_than_flip_at_different_values() {
        // months >= 6 with 7: 5 no longer meets it; hours >= 25 with 20: 25 meets it.
        assert_eq!(values(CompareOp::Ge, "7", "6", "1"), ["5"]);
        assert_eq!(values(CompareOp::Ge, "20", "25", "1"), ["25"]);
        // More than 25: 25 is not enough, 26 is; with 30, 25 no longer is more.
        assert_eq!(values(CompareOp::Gt, "20", "25", "1"), ["26"]);
        assert_eq!(values(CompareOp::Gt, "30", "25", "1"), ["25"]);
        // At most and less than mirror them.
        assert_eq!(values(CompareOp::Le, "30", "25", "1"), ["25"]);
        assert_eq!(values(CompareOp::Le, "20", "25", "1"), ["26"]);
        assert_eq!(values(CompareOp::Lt, "30", "25", "1"), ["24"]);
        assert_eq!(values(CompareOp::Lt, "20", "25", "1"), ["25"]);
        // A step of the precision written: tenths of an hour.
        assert_eq!(values(CompareOp::Gt, "24.5", "25", "0.1"), ["25.1"]);
        assert_eq!(values(CompareOp::Eq, "3", "3", "1"), ["2", "4"]);
    }

    #[test]
    fn a_decimal_flips_at_the_precision_of_the_rule_and_the_case() {
        let hours = |text: &str| FactValue::Decimal(dec(text));
        let got = flipped(CompareOp::Ge, &hours("30"), &hours("25"), Aim::Undo);
        assert_eq!(got, [(hours("24"), dec("6"))]);
        let got = flipped(CompareOp::Ge, &hours("24.5"), &hours("25"), Aim::Narrow);
        assert_eq!(got, [(hours("25"), dec("0.5"))]);
        let got = flipped(CompareOp::Ge, &hours("25.25"), &hours("25"), Aim::Undo);
        assert_eq!(got, [(hours("24.99"), dec("0.26"))]);
        // Written in tenths, it moves by tenths even where the tenth is 0.
        let got = flipped(CompareOp::Gt, &hours("25.0"), &hours("25"), Aim::Narrow);
        assert_eq!(got, [(hours("25.1"), dec("0.1"))]);
        // A yes/no fact is turned only for a rule that fired.
        let yes = FactValue::Bool(true);
        let no = FactValue::Bool(false);
        assert!(flipped(CompareOp::Eq, &no, &yes, Aim::Narrow).is_empty());
        assert_eq!(
            flipped(CompareOp::Eq, &no, &yes, Aim::Undo),
            [(yes, Decimal::ONE)]
        );
    }

    #[test]
    fn the_start_of_an_elapsed_period_is_found_by_the_calendar() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let year: CalendarPeriod = "1 year".parse().unwrap();
        // Shared from 2006-03-01, separated 2007-02-15: less than a year; from 2006-02-15 on
        // it is a year.
        let got = elapsed_start(CompareOp::Ge, year, d(2006, 3, 1), d(2007, 2, 15));
        assert_eq!(got, Some(d(2006, 2, 15)));
        // Shared from 2005-01-01: a year and more; from 2006-02-16 it would not be.
        let got = elapsed_start(CompareOp::Ge, year, d(2005, 1, 1), d(2007, 2, 15));
        assert_eq!(got, Some(d(2006, 2, 16)));
    }
}
