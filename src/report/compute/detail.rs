//! [`Report::with_detail`]: the report at summary detail, its lists of decision ids emptied.

use crate::report::model::{Check, Count, Detail, NamedCount, Report};

impl Report {
    /// The report at `detail`: at [`Detail::Summary`] every list of decision ids is
    /// emptied (the counts stay).
    pub fn with_detail(mut self, detail: Detail) -> Report {
        self.detail = detail;
        if detail == Detail::Full {
            return self;
        }
        let strip = |ids: &mut Vec<String>| ids.clear();
        let strip_count = |c: &mut Count| c.decision_ids.clear();
        let strip_named =
            |list: &mut Vec<NamedCount>| list.iter_mut().for_each(|n| n.count.decision_ids.clear());
        let strip_checks = |checks: &mut Vec<Check>| {
            for c in checks {
                c.letting_ids.clear();
                c.flexible_ids.clear();
            }
        };
        for a in &mut self.areas {
            strip_count(&mut a.vacancies);
            strip_count(&mut a.lettings);
            strip_count(&mut a.flexible);
            strip_checks(&mut a.checks);
        }
        for d in &mut self.departments {
            strip_count(&mut d.vacancies);
            strip_named(&mut d.vacancies_by_channel);
            strip_count(&mut d.lettings);
            strip_named(&mut d.lettings_by_channel);
            strip_count(&mut d.flexible);
            strip_checks(&mut d.checks);
        }
        let m = &mut self.municipality_flexible;
        strip_count(&mut m.vacancies);
        strip_named(&mut m.vacancies_by_channel);
        strip_count(&mut m.lettings);
        strip_named(&mut m.lettings_by_channel);
        strip_count(&mut m.flexible);
        strip_checks(&mut m.checks);
        let c = &mut self.combined_letting;
        for count in [
            &mut c.proposals,
            &mut c.sent_for_approval,
            &mut c.rejected_by_rules,
            &mut c.approvals,
            &mut c.municipal_rejections,
            &mut c.pending_at_end,
        ] {
            strip_count(count);
        }
        c.rejections_by_reason
            .iter_mut()
            .for_each(|r| r.count.decision_ids.clear());
        let o = &mut self.replacement_offers;
        for count in [&mut o.owed, &mut o.made, &mut o.accepted, &mut o.declined] {
            strip_count(count);
        }
        let r = &mut self.referrals;
        for count in [
            &mut r.total,
            &mut r.accepted,
            &mut r.refused,
            &mut r.compensating,
        ] {
            strip_count(count);
        }
        strip_named(&mut r.compensating_by_department);
        let g = &mut self.grants;
        for a in [
            &mut g.applications,
            &mut g.approvals,
            &mut g.refusals,
            &mut g.payments,
            &mut g.cancellations,
            &mut g.pool.approved,
            &mut g.pool.cancelled,
            &mut g.pool.paid,
        ] {
            strip(&mut a.decision_ids);
        }
        g.refusals_by_reason
            .iter_mut()
            .for_each(|r| r.count.decision_ids.clear());
        for i in &mut self.indicators {
            if let Some(c) = &mut i.in_period {
                strip_count(c);
            }
        }
        for v in &mut self.violations {
            strip(&mut v.decision_ids);
        }
        self
    }
}
