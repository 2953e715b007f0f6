//! What the demo did: the summary `letting demo` prints.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::model::Money;

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
