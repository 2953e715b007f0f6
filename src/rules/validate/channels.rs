//! Letting channels and relocation grants.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn channels(
        &mut self,
        raw: &RawChannelAssignment,
        scope: &mut SetScope,
    ) -> Option<ChannelAssignment> {
        let p = key(&[], "channel_assignment");
        let national = scope.layer == LayerKind::National;
        for (k, missing) in [
            ("order", raw.order.is_none()),
            ("quota_period", raw.quota_period.is_none()),
            ("fallback", raw.fallback.is_none()),
        ] {
            if national && missing {
                self.error(
                    &p,
                    format!("missing key `{k}`"),
                    Some(
                        "national law gives the channel order, the quota period and the fallback"
                            .into(),
                    ),
                );
            }
        }
        let mut order = Vec::new();
        for (i, name) in raw.order.iter().flatten().enumerate() {
            match Channel::parse(name) {
                Some(c) if !order.contains(&c) => order.push(c),
                Some(_) => self.error(
                    &idx(&key(&p, "order"), i),
                    format!("channel `{name}` is listed twice"),
                    None,
                ),
                None => self.error(
                    &idx(&key(&p, "order"), i),
                    format!("unknown channel `{name}`"),
                    did_you_mean(name, Channel::ALL.iter().map(|c| c.as_str())),
                ),
            }
        }
        if order.is_empty() && raw.order.is_some() {
            self.error(&key(&p, "order"), "the channel order is empty", None);
        }
        let period = match raw.quota_period.as_deref() {
            None => Some(None),
            Some("calendar_year") => Some(Some(QuotaPeriod::CalendarYear)),
            Some("calendar_quarter") => Some(Some(QuotaPeriod::CalendarQuarter)),
            Some(other) => {
                self.error(
                    &key(&p, "quota_period"),
                    format!("unknown quota period `{other}`"),
                    Some("use `calendar_year` or `calendar_quarter`".into()),
                );
                None
            }
        };
        let mut quotas = Vec::new();
        for (i, q) in raw.quotas.iter().enumerate() {
            let qp = idx(&key(&p, "quotas"), i);
            let meta = self.meta(&qp, q.common(), RuleKind::Quota, scope);
            let channel = Channel::parse(&q.channel);
            match channel {
                None => self.error(
                    &key(&qp, "channel"),
                    format!("unknown channel `{}`", q.channel),
                    did_you_mean(&q.channel, Channel::ALL.iter().map(|c| c.as_str())),
                ),
                Some(c) if !order.is_empty() && !order.contains(&c) => self.error(
                    &key(&qp, "channel"),
                    format!("channel `{}` is not in the channel order", q.channel),
                    None,
                ),
                Some(c) if order.last() == Some(&c) => self.error(
                    &key(&qp, "channel"),
                    format!("channel `{}` is the fallback and takes no quota", q.channel),
                    Some("the last channel of `order` takes every vacancy no quota claims".into()),
                ),
                Some(_) => {}
            }
            let share = if q.share == "department_agreement" {
                let default = match &q.default_share {
                    Some(d) => self.share(&key(&qp, "default_share"), d),
                    None => {
                        self.error(&key(&qp, "default_share"), "a department-agreement share needs a `default_share` for departments with no agreement", Some("add default_share = \"0\" if such departments have no quota".into()));
                        None
                    }
                };
                default.map(|default| ShareSource::DepartmentAgreement { default })
            } else {
                self.share(&key(&qp, "share"), &q.share)
                    .map(ShareSource::Fixed)
            };
            let op = self.op(&key(&qp, "op"), &q.op);
            let modality = match q.modality.as_deref() {
                None | Some("floor") => Some(QuotaModality::Floor),
                Some("cap") => Some(QuotaModality::Cap),
                Some("goal") => Some(QuotaModality::Goal),
                Some(other) => {
                    self.error(
                        &key(&qp, "modality"),
                        format!("unknown quota modality `{other}`"),
                        did_you_mean(other, ["floor", "cap", "goal"]).or(Some(
                            "use `floor` (forced), `cap` (the most a lower layer may claim) or `goal` (monitored in the report)".into(),
                        )),
                    );
                    None
                }
            };
            match (modality, op) {
                (Some(QuotaModality::Cap), Some(op))
                    if !matches!(op, CompareOp::Le | CompareOp::Lt) =>
                {
                    self.error(
                        &key(&qp, "op"),
                        format!("a cap is an upper bound: `{op}` cannot be one"),
                        Some("use \"<=\" (up to) or \"<\" (less than)".into()),
                    );
                }
                (Some(QuotaModality::Floor | QuotaModality::Goal), Some(op))
                    if !matches!(op, CompareOp::Ge | CompareOp::Gt) =>
                {
                    self.error(
                        &key(&qp, "op"),
                        format!("a floor or goal is a lower bound: `{op}` cannot be one"),
                        Some("use \">=\" (at least) or \">\" (more than)".into()),
                    );
                }
                _ => {}
            }
            if q.agreement_may_exceed && modality != Some(QuotaModality::Cap) {
                self.error(
                    &key(&qp, "agreement_may_exceed"),
                    "`agreement_may_exceed` is for caps",
                    Some("remove it, or make the quota modality = \"cap\"".into()),
                );
            }
            if modality == Some(QuotaModality::Cap) && !national {
                self.error(
                    &key(&qp, "modality"),
                    "only national law sets a cap",
                    Some("a municipality's or agreement's share is a `floor` or a `goal` within the national cap".into()),
                );
            }
            let share_at = self
                .map
                .line_column(self.map.offset_of(&key(&qp, "share"), false));
            let in_classes = self.term_list(
                &key(&qp, "in_classes"),
                &q.in_classes,
                TermList::Classes,
                scope,
            );
            let not_in_classes = self.term_list(
                &key(&qp, "not_in_classes"),
                &q.not_in_classes,
                TermList::Classes,
                scope,
            );
            let counted_over = match q.counted_over.as_deref() {
                None | Some("department") => Some(CountedOver::Department),
                Some("municipality") => Some(CountedOver::Municipality),
                Some(other) => {
                    self.error(
                        &key(&qp, "counted_over"),
                        format!("unknown `counted_over` value `{other}`"),
                        Some("use `department` or `municipality`".into()),
                    );
                    None
                }
            };
            if let (
                Some(modality),
                Some(meta),
                Some(channel),
                Some(share),
                Some(op),
                Some(in_classes),
                Some(not_in_classes),
                Some(counted_over),
            ) = (
                modality,
                meta,
                channel,
                share,
                op,
                in_classes,
                not_in_classes,
                counted_over,
            ) {
                quotas.push(Quota {
                    meta,
                    modality,
                    share_at,
                    agreement_may_exceed: q.agreement_may_exceed,
                    channel,
                    share,
                    op,
                    in_classes,
                    not_in_classes,
                    counted_over,
                });
            }
        }
        let fallback = match &raw.fallback {
            Some(f) => Some(self.meta(&key(&p, "fallback"), f.common(), RuleKind::Quota, scope)?),
            None => None,
        };
        Some(ChannelAssignment {
            order,
            period: period?,
            quotas,
            fallback,
        })
    }

    pub(super) fn grants(
        &mut self,
        raw: &RawGrants,
        scope: &mut SetScope,
    ) -> Option<Option<GrantRules>> {
        let p = key(&[], "relocation_grants");
        let pool = self.money(&key(&p, "pool_per_year"), &raw.pool_per_year);
        let standard = self.money(&key(&p, "standard_amount"), &raw.standard_amount);
        let maximum = raw
            .maximum_amount
            .as_ref()
            .map(|m| self.money(&key(&p, "maximum_amount"), m));
        if let (Some(s), Some(Some(m))) = (standard, maximum)
            && s > m
        {
            self.error(
                &key(&p, "standard_amount"),
                format!("the standard amount {s} is above the maximum {m}"),
                None,
            );
        }
        let pool_rule = self.meta(
            &key(&p, "pool_rule"),
            raw.pool_rule.common(),
            RuleKind::Grant,
            scope,
        );
        let maximum_rule = raw
            .maximum_rule
            .as_ref()
            .map(|r| self.meta(&key(&p, "maximum_rule"), r.common(), RuleKind::Grant, scope));
        let maximum = match (maximum, maximum_rule) {
            (None, None) => Some(None),
            (Some(Some(m)), Some(Some(r))) => Some(Some((m, r))),
            (Some(None), _) | (_, Some(None)) => None,
            (Some(_), None) | (None, Some(_)) => {
                self.error(
                    &p,
                    "`maximum_amount` and `maximum_rule` go together",
                    Some("a cap on one grant needs the rule that refuses above it, and the other way round".into()),
                );
                None
            }
        };
        let approval_rule = self.meta(
            &key(&p, "approval_rule"),
            raw.approval_rule.common(),
            RuleKind::Grant,
            scope,
        );
        let mut eligibility = Vec::new();
        for (i, r) in raw.eligibility.iter().enumerate() {
            let rp = idx(&key(&p, "eligibility"), i);
            let meta = self.meta(&rp, r.common(), RuleKind::Grant, scope);
            let purposes = self.term_list(
                &key(&rp, "purposes"),
                &r.purposes,
                TermList::GrantPurposes,
                scope,
            );
            let requires =
                self.condition(&key(&rp, "requires"), &r.requires, RuleKind::Grant, scope);
            if let (Some(meta), Some(purposes), Some(requires)) = (meta, purposes, requires) {
                eligibility.push(GrantRule {
                    meta,
                    purposes,
                    requires,
                });
            }
        }
        Some(Some(GrantRules {
            pool_per_year: pool?,
            standard_amount: standard?,
            maximum: maximum?,
            pool_rule: pool_rule?,
            approval_rule: approval_rule?,
            eligibility,
        }))
    }
}
