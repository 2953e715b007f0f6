//! The plan of the letting flows and replacement offers, with the outcome the rules must give.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::calendar::{MAY_1, Q1_END, YEAR_END, minus, move_in_after, plus, working_days, ymd};
use super::city::{
    APPROVALS_BY_MAY_1, BARRED_REFERRALS, Class, DEPARTMENTS, DeptDef, EDGE_VACANCIES,
    designed_vacancies, diverged,
};
use super::households::{
    BENEFIT_APPLICANTS, EXPOSED_WAITING_LIST, NO_PRIORITY_APPLICANTS, PRIORITY_APPLICANTS, Profile,
    WAITING_LIST, household, referred_household,
};
use super::rng::Rng;
use crate::engine::{LettingOutcome, ReferralOutcome};
use crate::model::{Channel, Household};
use crate::service::ServiceError;

/// A vacancy as registered.
#[derive(Debug, Clone)]
pub(super) struct Vacancy {
    pub(super) department: &'static DeptDef,
    pub(super) date: NaiveDate,
    pub(super) vacancy_ref: String,
    pub(super) id: String,
    pub(super) channel: Channel,
    pub(super) class: Class,
}

/// One act of a letting flow; flows keep the letting they work on.
#[derive(Debug, Clone)]
pub(super) enum Act {
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
pub(super) struct Step {
    pub(super) date: NaiveDate,
    pub(super) act: Act,
}

/// The flow of one vacancy.
#[derive(Debug, Clone, Default)]
pub(super) struct Flow {
    pub(super) vacancy: usize,
    pub(super) steps: Vec<Step>,
}

/// A replacement offer to an applicant rejected in an exposed area.
#[derive(Debug, Clone)]
pub(super) struct OfferPlan {
    /// The vacancy whose flow rejected the applicant, and which of its rejections.
    pub(super) origin: usize,
    pub(super) rejection: usize,
    pub(super) target: usize,
    pub(super) date: NaiveDate,
    pub(super) answer: Option<(NaiveDate, bool)>,
    /// After a decline: the organisation lets the dwelling from its list.
    pub(super) then: Vec<Step>,
}

pub(super) const CASEWORKERS: [&str; 4] = [
    "kk-bif-boligteam-1",
    "kk-bif-boligteam-2",
    "kk-bif-boligteam-3",
    "kk-bif-boligteam-4",
];
const APPROVED: &str = "Udlejningen godkendes efter reglerne om kombineret udlejning: kommunens kontrol viser, at ingen voksen i husstanden har modtaget kontanthjælp, starthjælp eller introduktionsydelse i 6 sammenhængende måneder.";
const APPROVED_RESIDENT: &str = "Udlejningen godkendes: ansøgeren bor allerede i afdelingen og er derfor undtaget fra afvisning efter almenboligloven § 51 b.";
const REJECTED_SPOUSE: &str = "Udlejningen godkendes ikke: kommunens kontrol viser, at ansøgerens ægtefælle har modtaget kontanthjælp i mere end 6 sammenhængende måneder og stadig modtager den (almenboligloven § 51 b). Kommunen tilbyder en erstatningsbolig i et område, der ikke er udsat. Afgørelsen kan påklages til kommunen.";
const REJECTED_DOCUMENTS: &str = "Udlejningen godkendes ikke: ansøgeren har ikke inden for fristen sendt den dokumentation for indkomst, kommunen har bedt om. Afgørelsen kan påklages til kommunen.";

pub(super) struct Planner {
    pub(super) seed: u64,
    pub(super) serial: u32,
}

impl Planner {
    fn reference(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{:05}", self.serial)
    }

    /// The year's vacancies, in date order.
    pub(super) fn vacancies(&self) -> Vec<(usize, NaiveDate, String)> {
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
    pub(super) fn exposed_flow(&mut self, index: usize, v: &Vacancy, start: NaiveDate) -> Flow {
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
    pub(super) fn open_flow(&mut self, index: usize, v: &Vacancy, start: NaiveDate) -> Flow {
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
pub(super) fn approve_on(flows: &mut [Flow], edge: NaiveDate) {
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
pub(super) fn keep_33_by_may(flows: &mut [Flow]) -> Result<(), ServiceError> {
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
pub(super) fn add_move_ins(flows: &mut [Flow]) {
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
pub(super) fn owed_replacements(flows: &[Flow]) -> Vec<(NaiveDate, usize, usize)> {
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

pub(super) fn plan_offers(
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
pub(super) fn barred_referrals(
    planner: &mut Planner,
    vacancies: &[Vacancy],
) -> HashMap<usize, Step> {
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
