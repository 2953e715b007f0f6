//! The demo city's data as designed (areas, organisations, departments), and leaving the design.

use chrono::NaiveDate;

use super::calendar::{Q1_END, Q2_END, Q2_START, Q3_START, ymd};
use crate::service::ServiceError;

/// The municipality of the demo city: Copenhagen.
pub const MUNICIPALITY: &str = "0101";
/// Lettings in exposed areas the municipality approves on or before 2007-05-01 (the status
/// report: "Kommunen har godkendt 33 indflytninger pr. 1. maj 2007").
pub const APPROVALS_BY_MAY_1: usize = 33;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Exposed,
    HighRisk,
    Risk,
    Neutral,
}

impl Class {
    pub(super) fn parse(text: &str) -> Option<Class> {
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
pub(super) struct AreaDef {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) class: Class,
    pub(super) residents: u64,
    pub(super) working_age: u64,
    pub(super) without_attachment: u64,
    /// Share of residents on transfer income (indicators 2 and 3).
    pub(super) transfer_income: &'static str,
    /// Weeks a year residents are self-supporting on average (indicator 4).
    pub(super) self_supporting_weeks: &'static str,
}

/// The areas. Exposed areas are designated (their share does not classify them); their
/// transfer-income shares average 50.47 % and their self-supporting weeks 21, both per area
/// and weighted by residents; the high-risk areas' transfer-income shares average 45 % the
/// same two ways. Gadelandet sits exactly on the 40 % edge (high-risk by the rule file) and
/// Valbyparken exactly on the 30 % edge (risk).
#[rustfmt::skip]
pub(super) const AREAS: &[AreaDef] = &[
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

pub(super) const ORGANISATIONS: &[(&str, &str)] = &[
    ("kab", "KAB"),
    ("fsb", "FSB"),
    ("akb", "AKB"),
    ("sab", "SAB"),
    ("3b", "3B"),
];

#[derive(Debug)]
pub(super) struct DeptDef {
    pub(super) id: &'static str,
    pub(super) organisation: &'static str,
    pub(super) area: &'static str,
    pub(super) name: &'static str,
    pub(super) dwellings: u32,
}

/// The departments. Those of the exposed areas add up to the designation's dwellings per
/// area (4,627 in all); the ids in rules/reference/flexible-shares-0101-2007.toml carry
/// their agreed flexible shares, the others have none.
#[rustfmt::skip]
pub(super) const DEPARTMENTS: &[DeptDef] = &[
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
pub(super) const EDGE_VACANCIES: &[(NaiveDate, &str)] = &[
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
pub(super) const BARRED_REFERRALS: &[(&str, NaiveDate)] = &[
    ("fsb-tingbjerg-1", ymd(2, 15)),
    ("akb-bispeparken", ymd(4, 20)),
    ("sab-gadelandet", Q2_END),
    ("akb-mjoelnerparken", ymd(9, 10)),
    ("3b-urbanplanen", ymd(11, 20)),
];

fn area_def(id: &str) -> Option<&'static AreaDef> {
    AREAS.iter().find(|a| a.id == id)
}

pub(super) fn designed_vacancies(dept: &DeptDef) -> u32 {
    let per_mille = area_def(dept.area).map_or(80, |a| a.class.turnover_per_mille());
    (dept.dwellings * per_mille + 500) / 1000
}

pub(super) fn diverged(what: String) -> ServiceError {
    ServiceError::FailedPrecondition(format!(
        "the demo city diverged from its design: {what} (the demo is written for the 2007 Copenhagen layers kk-2007 and kk-aftale-2007 on dk-2005)"
    ))
}
