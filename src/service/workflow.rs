//! The case workflow, written once: every case's states, the acts that move it, and the
//! date rules an act must meet. Every operation of the service asks this module before it
//! writes; an illegal step is refused with the case's state and dates, and nothing is
//! written. The README's "Case workflow" section is rendered from [`TRANSITIONS`] (a test
//! keeps the two equal).

use chrono::{Days, NaiveDate};

use crate::store::CaseKind;

/// The state a case has before its first act.
pub const NEW: &str = "new";

/// What a caller asks the service to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    RegisterVacancy,
    ProposeLetting,
    ApproveLetting,
    RejectLetting,
    RecordMoveIn,
    MakeReplacementOffer,
    AnswerReplacementOffer,
    RecordReferral,
    DecideGrant,
    PayGrant,
    CancelGrant,
}

impl Act {
    pub fn as_str(self) -> &'static str {
        match self {
            Act::RegisterVacancy => "RegisterVacancy",
            Act::ProposeLetting => "ProposeLetting",
            Act::ApproveLetting => "ApproveLetting",
            Act::RejectLetting => "RejectLetting",
            Act::RecordMoveIn => "RecordMoveIn",
            Act::MakeReplacementOffer => "MakeReplacementOffer",
            Act::AnswerReplacementOffer => "RecordReplacementOfferAnswer",
            Act::RecordReferral => "RecordReferral",
            Act::DecideGrant => "DecideRelocationGrant",
            Act::PayGrant => "PayRelocationGrant",
            Act::CancelGrant => "CancelRelocationGrant",
        }
    }

    /// How many days after today an act may be dated. A vacancy is known, and a tenant
    /// proposed for it, while the outgoing tenant's notice runs; every other act records
    /// something that has happened. The 92 days (three months) are a choice: no source
    /// sets a limit.
    pub fn days_ahead(self) -> u64 {
        match self {
            Act::RegisterVacancy | Act::ProposeLetting => 92,
            _ => 0,
        }
    }
}

/// One allowed step: a case of `case` in state `from` may take `act`, after which it is in
/// one of `to` (the rules decide which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub case: CaseKind,
    pub from: &'static str,
    pub act: Act,
    pub to: &'static [&'static str],
    /// Why, in a few words, for the README.
    pub note: &'static str,
}

const fn t(
    case: CaseKind,
    from: &'static str,
    act: Act,
    to: &'static [&'static str],
    note: &'static str,
) -> Transition {
    Transition {
        case,
        from,
        act,
        to,
        note,
    }
}

use Act::*;
use CaseKind::{Grant, Letting, Offer, Referral, Vacancy};

/// Every allowed step. A step not listed is refused.
pub const TRANSITIONS: &[Transition] = &[
    t(
        Vacancy,
        NEW,
        RegisterVacancy,
        &["open"],
        "the rules give it its channel",
    ),
    t(
        Vacancy,
        "open",
        ProposeLetting,
        &["let", "open"],
        "held by the letting unless the rules reject it",
    ),
    t(
        Vacancy,
        "referred",
        ProposeLetting,
        &["let", "referred"],
        "only for the referred household, naming the referral",
    ),
    t(
        Vacancy,
        "let",
        RejectLetting,
        &["open"],
        "open again for another applicant",
    ),
    t(Vacancy, "let", RecordMoveIn, &["moved_in"], ""),
    t(
        Vacancy,
        "open",
        MakeReplacementOffer,
        &["offered"],
        "held by the offer",
    ),
    t(
        Vacancy,
        "offered",
        AnswerReplacementOffer,
        &["let", "open"],
        "let when accepted, open again when declined",
    ),
    t(
        Vacancy,
        "open",
        RecordReferral,
        &["referred", "open"],
        "taken by an accepted referral; a refused one takes nothing",
    ),
    t(
        Letting,
        NEW,
        ProposeLetting,
        &["pending_municipal_approval", "approved", "rejected"],
        "the rules decide",
    ),
    t(
        Letting,
        "pending_municipal_approval",
        ApproveLetting,
        &["approved"],
        "",
    ),
    t(
        Letting,
        "pending_municipal_approval",
        RejectLetting,
        &["rejected_by_municipality"],
        "",
    ),
    t(Letting, "approved", RecordMoveIn, &["moved_in"], ""),
    t(
        Letting,
        "rejected",
        MakeReplacementOffer,
        &["rejected"],
        "once, when a replacement dwelling is owed",
    ),
    t(
        Letting,
        "rejected_by_municipality",
        MakeReplacementOffer,
        &["rejected_by_municipality"],
        "once, when a replacement dwelling is owed",
    ),
    t(
        Offer,
        NEW,
        MakeReplacementOffer,
        &["offered"],
        "only a vacancy outside exposed areas",
    ),
    t(
        Offer,
        "offered",
        AnswerReplacementOffer,
        &["accepted", "declined"],
        "",
    ),
    t(
        Referral,
        NEW,
        RecordReferral,
        &["accepted", "refused"],
        "the rules decide; the vacancy must be open",
    ),
    t(
        Referral,
        "accepted",
        ProposeLetting,
        &["let"],
        "the letting names the referral",
    ),
    t(
        Grant,
        NEW,
        DecideGrant,
        &["approved", "refused"],
        "the rules and the pool decide",
    ),
    t(Grant, "approved", PayGrant, &["paid"], ""),
    t(
        Grant,
        "approved",
        CancelGrant,
        &["cancelled"],
        "its amount returns to the pool",
    ),
];

/// An act the workflow does not allow, or a date it does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("{case} `{id}` is {state}: {act} is not possible now ({allowed})")]
    NotNow {
        case: &'static str,
        id: String,
        state: String,
        act: &'static str,
        allowed: String,
    },
    #[error(
        "{act} is dated {date}, before {what} ({earlier}): an act is dated on or after the act it answers"
    )]
    BeforeEarlierAct {
        act: &'static str,
        date: NaiveDate,
        what: String,
        earlier: NaiveDate,
    },
    #[error(
        "{act} is dated {date}, more than {days} days after today ({today}): record an act when it has happened"
    )]
    InTheFuture {
        act: &'static str,
        date: NaiveDate,
        today: NaiveDate,
        days: u64,
    },
    #[error("the rules moved {case} `{id}` from {from} to {to}, which the workflow does not list")]
    Unlisted {
        case: &'static str,
        id: String,
        from: String,
        to: String,
    },
}

/// The step a case may take now, or why not.
/// Whether no act can change a case in `status` any more: no step leaves that state.
/// (A rejected letting may still be given its replacement offer: the caller knows whether
/// one is owed and made.)
pub fn final_state(case: CaseKind, status: &str) -> bool {
    !TRANSITIONS
        .iter()
        .any(|t| t.case == case && t.from == status)
}

pub fn step(
    case: CaseKind,
    id: &str,
    state: &str,
    act: Act,
) -> Result<&'static Transition, WorkflowError> {
    TRANSITIONS
        .iter()
        .find(|t| t.case == case && t.from == state && t.act == act)
        .ok_or_else(|| WorkflowError::NotNow {
            case: case.as_str(),
            id: id.to_owned(),
            state: state.to_owned(),
            act: act.as_str(),
            allowed: allowed_from(case, state),
        })
}

fn allowed_from(case: CaseKind, state: &str) -> String {
    let acts: Vec<&str> = TRANSITIONS
        .iter()
        .filter(|t| t.case == case && t.from == state)
        .map(|t| t.act.as_str())
        .collect();
    if acts.is_empty() {
        format!("a {} that is {state} takes no further acts", case.as_str())
    } else {
        format!("it can take {}", acts.join(", "))
    }
}

impl Transition {
    /// The state the case goes to; the rules must have chosen one this step lists.
    pub fn to(&self, id: &str, state: &'static str) -> Result<&'static str, WorkflowError> {
        self.to
            .iter()
            .copied()
            .find(|s| *s == state)
            .ok_or_else(|| WorkflowError::Unlisted {
                case: self.case.as_str(),
                id: id.to_owned(),
                from: self.from.to_owned(),
                to: state.to_owned(),
            })
    }
}

/// Checks an act's date: on or after every act it answers (`(what, date)`), and not
/// later than today by more than the act's allowance.
pub fn dated(
    act: Act,
    date: NaiveDate,
    today: NaiveDate,
    answers: &[(&str, NaiveDate)],
) -> Result<(), WorkflowError> {
    if let Some((what, earlier)) = answers.iter().find(|(_, earlier)| date < *earlier) {
        return Err(WorkflowError::BeforeEarlierAct {
            act: act.as_str(),
            date,
            what: (*what).to_owned(),
            earlier: *earlier,
        });
    }
    let days = act.days_ahead();
    // A date past chrono's range is certainly too far ahead.
    let latest = today.checked_add_days(Days::new(days));
    if latest.is_none_or(|latest| date > latest) {
        return Err(WorkflowError::InTheFuture {
            act: act.as_str(),
            date,
            today,
            days,
        });
    }
    Ok(())
}

/// The README's table of states and steps.
pub fn markdown() -> String {
    let mut out = String::from("| case | from | act | to | |\n|---|---|---|---|---|\n");
    for t in TRANSITIONS {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            t.case.as_str(),
            t.from,
            t.act.as_str(),
            t.to.join(", "),
            t.note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_step_not_listed_is_refused_with_the_state() {
        let err = step(Letting, "l1", "approved", ApproveLetting).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "letting `l1` is approved: ApproveLetting is not possible now (it can take RecordMoveIn)"
        );
        let err = step(Letting, "l1", "moved_in", RecordMoveIn).expect_err("refused");
        assert!(err.to_string().contains("takes no further acts"), "{err}");
    }

    #[test]
    fn the_rules_may_only_choose_a_listed_state() {
        let s = step(Letting, "l1", NEW, ProposeLetting).expect("listed");
        assert_eq!(s.to("l1", "approved"), Ok("approved"));
        assert!(s.to("l1", "moved_in").is_err());
    }

    #[test]
    fn dates_answer_earlier_acts_and_stay_near_today() {
        let today = day("2026-12-02");
        let proposal = ("the proposal", day("2026-11-01"));
        assert!(dated(ApproveLetting, day("2026-11-01"), today, &[proposal]).is_ok());
        let err = dated(ApproveLetting, day("2026-10-31"), today, &[proposal]).expect_err("before");
        assert!(
            err.to_string().contains("before the proposal (2026-11-01)"),
            "{err}"
        );
        assert!(dated(ApproveLetting, day("2026-12-03"), today, &[]).is_err());
        assert!(dated(RegisterVacancy, day("2027-03-04"), today, &[]).is_ok());
        assert!(dated(RegisterVacancy, day("2027-03-05"), today, &[]).is_err());
        assert!(dated(RegisterVacancy, NaiveDate::MAX, NaiveDate::MAX, &[]).is_err());
    }

    #[test]
    fn every_state_a_step_starts_from_is_reached_by_another() {
        for t in TRANSITIONS.iter().filter(|t| t.from != NEW) {
            assert!(
                TRANSITIONS
                    .iter()
                    .any(|u| u.case == t.case && u.to.contains(&t.from)),
                "no step reaches {} `{}`",
                t.case.as_str(),
                t.from
            );
        }
    }

    #[test]
    fn the_readme_shows_the_workflow_as_it_is() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&markdown()),
            "README.md's case workflow table differs from service::workflow::TRANSITIONS; \
             paste this:\n{}",
            markdown()
        );
    }
}
