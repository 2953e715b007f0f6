//! Conditions and the facts they name.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn fact(&mut self, path: &[Seg], name: &str, kind: RuleKind) -> Option<Fact> {
        match Fact::parse(name) {
            Some(f) if kind.allows_scope(f.scope()) => Some(f),
            Some(_) => {
                self.error(
                    path,
                    format!("fact `{name}` is not known to this kind of rule"),
                    None,
                );
                None
            }
            None => {
                let candidates = Fact::ALL
                    .iter()
                    .filter(|f| kind.allows_scope(f.scope()))
                    .map(|f| f.name());
                let hint = did_you_mean(name, candidates)
                    .or_else(|| Some("rules/README.md lists the facts".into()));
                self.error(path, format!("unknown fact `{name}`"), hint);
                None
            }
        }
    }

    pub(super) fn value(
        &mut self,
        path: &[Seg],
        fact: Fact,
        raw: &RawValue,
        scope: &SetScope,
    ) -> Option<FactValue> {
        let expected = fact.fact_type();
        let wrong = |found: &str| {
            format!(
                "fact `{}` is {}, but the value is {found}",
                fact.name(),
                expected.describe()
            )
        };
        match (expected, raw) {
            (FactType::Bool, RawValue::Bool(b)) => Some(FactValue::Bool(*b)),
            (FactType::Integer, RawValue::Integer(i)) => Some(FactValue::Integer(*i)),
            (FactType::Decimal, RawValue::Text(t)) => match Decimal::from_str_exact(t) {
                Ok(d) => Some(FactValue::Decimal(d)),
                Err(_) => {
                    self.error(
                        path,
                        format!("`{t}` is not a decimal"),
                        Some("write it as \"0.40\"".into()),
                    );
                    None
                }
            },
            (FactType::Decimal, RawValue::Float(f)) => {
                self.error(
                    path,
                    format!("decimal `{f}` is written as a float"),
                    Some(format!(
                        "write it as a string, \"{f}\": TOML floats lose digits"
                    )),
                );
                None
            }
            (FactType::Decimal, RawValue::Integer(i)) => {
                Some(FactValue::Decimal(Decimal::from(*i)))
            }
            (FactType::Money, RawValue::Text(t)) => self
                .money(path, &RawDecimal::Text(t.clone()))
                .map(FactValue::Money),
            (FactType::Money, RawValue::Float(f)) => self
                .money(path, &RawDecimal::Float(*f))
                .map(FactValue::Money),
            (FactType::Term, RawValue::Text(t)) => {
                let list = match fact {
                    Fact::GrantPurpose => TermList::GrantPurposes,
                    _ => TermList::Classes,
                };
                self.term(path, t, list, scope).map(FactValue::Term)
            }
            (_, RawValue::Bool(_)) => {
                self.error(path, wrong("true or false"), None);
                None
            }
            (_, RawValue::Integer(_)) => {
                self.error(path, wrong("an integer"), None);
                None
            }
            (_, RawValue::Float(_)) => {
                self.error(
                    path,
                    wrong("a float"),
                    Some("write decimals as strings, such as \"0.40\"".into()),
                );
                None
            }
            (_, RawValue::Text(_)) => {
                self.error(path, wrong("a string"), None);
                None
            }
            (_, RawValue::List(_)) => {
                self.error(
                    path,
                    wrong("a list"),
                    Some("compare with a list using op = \"in\"".into()),
                );
                None
            }
        }
    }

    pub(super) fn condition(
        &mut self,
        path: &[Seg],
        raw: &RawCondition,
        kind: RuleKind,
        scope: &SetScope,
    ) -> Option<Condition> {
        let forms = [
            raw.always.is_some(),
            raw.fact.is_some(),
            raw.all.is_some(),
            raw.any.is_some(),
            raw.at_least.is_some(),
            raw.not.is_some(),
            raw.designated_as.is_some(),
            raw.listed_in_succession.is_some(),
            raw.benefit_receipt.is_some(),
            raw.date_within.is_some(),
            raw.elapsed_from.is_some(),
        ];
        let used = forms.iter().filter(|f| **f).count();
        if used != 1 {
            self.error(
                path,
                if used == 0 { "empty condition".to_owned() } else { "a condition must use exactly one form".to_owned() },
                Some("use one of: always, fact/op/value, all, any, at_least, not, designated_as, listed_in_succession, benefit_receipt, date_within/period, elapsed_from/elapsed_to/op/period".into()),
            );
            return None;
        }
        if let Some(always) = raw.always {
            if !always {
                self.error(
                    &key(path, "always"),
                    "`always = false` never holds",
                    Some("remove the rule instead".into()),
                );
                return None;
            }
            return Some(Condition::Always);
        }
        if let Some(name) = &raw.fact {
            let fact = self.fact(&key(path, "fact"), name, kind)?;
            let op_text = match &raw.op {
                Some(op) => op.as_str(),
                None => {
                    self.error(
                        path,
                        format!("comparison of `{name}` has no `op`"),
                        Some("state the operator, such as op = \">=\"".into()),
                    );
                    return None;
                }
            };
            let Some(raw_value) = &raw.value else {
                self.error(path, format!("comparison of `{name}` has no `value`"), None);
                return None;
            };
            if op_text == "in" || op_text == "not_in" {
                let RawValue::List(items) = raw_value else {
                    self.error(&key(path, "value"), "`in` needs a list of terms", None);
                    return None;
                };
                let list = match fact {
                    Fact::HouseholdReferralConditions => TermList::ReferralConditions,
                    Fact::GrantPurpose => TermList::GrantPurposes,
                    Fact::HouseholdCurrentAreaClass => TermList::Classes,
                    _ => {
                        self.error(
                            &key(path, "op"),
                            format!(
                                "`{op_text}` applies to term facts, and `{name}` is {}",
                                fact.fact_type().describe()
                            ),
                            None,
                        );
                        return None;
                    }
                };
                let values = self.term_list(&key(path, "value"), items, list, scope)?;
                return Some(Condition::In {
                    fact,
                    values,
                    negated: op_text == "not_in",
                });
            }
            let op = self.op(&key(path, "op"), op_text)?;
            if op.is_ordering()
                && matches!(
                    fact.fact_type(),
                    FactType::Bool | FactType::Term | FactType::TermSet
                )
            {
                self.error(
                    &key(path, "op"),
                    format!("`{op}` does not order {}", fact.fact_type().describe()),
                    Some("use == or !=".into()),
                );
                return None;
            }
            let value = self.value(&key(path, "value"), fact, raw_value, scope)?;
            return Some(Condition::Compare { fact, op, value });
        }
        if let Some(items) = &raw.all {
            return self
                .conditions(&key(path, "all"), items, kind, scope)
                .map(Condition::All);
        }
        if let Some(items) = &raw.any {
            return self
                .conditions(&key(path, "any"), items, kind, scope)
                .map(Condition::Any);
        }
        if let Some(at_least) = &raw.at_least {
            let ap = key(path, "at_least");
            let of = self.conditions(&key(&ap, "of"), &at_least.of, kind, scope)?;
            if at_least.n == 0 || at_least.n as usize > of.len() {
                self.error(
                    &key(&ap, "n"),
                    format!(
                        "`at_least` asks for {} of {} conditions",
                        at_least.n,
                        of.len()
                    ),
                    Some("n must be between 1 and the number of conditions".into()),
                );
                return None;
            }
            return Some(Condition::AtLeast { n: at_least.n, of });
        }
        if let Some(inner) = &raw.not {
            return self
                .condition(&key(path, "not"), inner, kind, scope)
                .map(|c| Condition::Not(Box::new(c)));
        }
        if let Some(class) = &raw.designated_as {
            if kind != RuleKind::Classification {
                self.error(
                    &key(path, "designated_as"),
                    "`designated_as` is only for classification",
                    None,
                );
                return None;
            }
            return self
                .term(&key(path, "designated_as"), class, TermList::Classes, scope)
                .map(Condition::DesignatedAs);
        }
        if let Some(l) = &raw.listed_in_succession {
            let lp = key(path, "listed_in_succession");
            if kind != RuleKind::Classification {
                self.error(
                    &lp,
                    "`listed_in_succession` is only for classification",
                    None,
                );
                return None;
            }
            if l.lists == 0 {
                self.error(
                    &key(&lp, "lists"),
                    "`lists` must be at least 1",
                    Some("the number of lists in a row, the one in force included".into()),
                );
                return None;
            }
            let named: Vec<(Vec<Seg>, &String)> = match (&l.class, &l.classes) {
                (Some(class), None) => vec![(key(&lp, "class"), class)],
                (None, Some(classes)) if !classes.is_empty() => classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (idx(&key(&lp, "classes"), i), c))
                    .collect(),
                _ => {
                    self.error(
                        &lp,
                        "give either `class` or a non-empty `classes`",
                        Some(
                            "`class = \"ghetto\"`, or `classes = [\"ghetto\", \"parallel_society\"]` for one history across a renaming".into(),
                        ),
                    );
                    return None;
                }
            };
            let mut classes: Vec<Arc<str>> = Vec::with_capacity(named.len());
            for (p, c) in named {
                classes.push(self.term(&p, c, TermList::Classes, scope)?);
            }
            return Some(Condition::ListedInSuccession {
                classes: classes.into(),
                lists: l.lists,
            });
        }
        if let Some(b) = &raw.benefit_receipt {
            let bp = key(path, "benefit_receipt");
            if !matches!(
                kind,
                RuleKind::Letting | RuleKind::Priority | RuleKind::Referral
            ) {
                self.error(
                    &bp,
                    "`benefit_receipt` is for letting, priority and referral rules",
                    None,
                );
                return None;
            }
            let kinds = self.term_list(&key(&bp, "kinds"), &b.kinds, TermList::Benefits, scope)?;
            let persons = match b.persons.as_str() {
                "applicant" => BenefitPersons::Applicant,
                "applicant_and_partner" => BenefitPersons::ApplicantAndPartner,
                other => {
                    self.error(
                        &key(&bp, "persons"),
                        format!("unknown `persons` value `{other}`"),
                        Some("use `applicant` or `applicant_and_partner`".into()),
                    );
                    return None;
                }
            };
            let cohabitant_counts_after = match &b.cohabitant_counts_after {
                Some(p) => Some(self.period(&key(&bp, "cohabitant_counts_after"), p)?),
                None => None,
            };
            let household_rule = match b.household_rule.as_deref() {
                Some("either") => HouseholdRule::Either,
                Some("both") => HouseholdRule::Both,
                None if persons == BenefitPersons::Applicant => HouseholdRule::Either,
                None => {
                    self.error(
                        &bp,
                        "`household_rule` is missing",
                        Some(
                            "state whether `either` adult or `both` adults must meet the condition"
                                .into(),
                        ),
                    );
                    return None;
                }
                Some(other) => {
                    self.error(
                        &key(&bp, "household_rule"),
                        format!("unknown `household_rule` value `{other}`"),
                        Some("use `either` or `both`".into()),
                    );
                    return None;
                }
            };
            if persons == BenefitPersons::ApplicantAndPartner && cohabitant_counts_after.is_none() {
                self.error(
                    &bp,
                    "`cohabitant_counts_after` is missing",
                    Some(
                        "state after how long a cohabitant counts as a spouse, such as \"2 years\""
                            .into(),
                    ),
                );
                return None;
            }
            let month_counting = match b.month_counting.as_deref() {
                Some("whole_calendar_months") => MonthCounting::WholeCalendarMonths,
                Some("elapsed_months") => MonthCounting::ElapsedMonths,
                None if b.consecutive_calendar_months == 0 => MonthCounting::WholeCalendarMonths,
                None => {
                    self.error(
                        &bp,
                        "`month_counting` is missing",
                        Some("state how months are counted: `whole_calendar_months` (a month counts when received from its first to its last day) or `elapsed_months` (day for day from the start)".into()),
                    );
                    return None;
                }
                Some(other) => {
                    self.error(
                        &key(&bp, "month_counting"),
                        format!("unknown `month_counting` value `{other}`"),
                        did_you_mean(other, ["whole_calendar_months", "elapsed_months"]),
                    );
                    return None;
                }
            };
            return Some(Condition::BenefitReceipt(BenefitTest {
                kinds,
                consecutive_calendar_months: b.consecutive_calendar_months,
                month_counting,
                currently_receiving: b.currently_receiving,
                persons,
                cohabitant_counts_after,
                household_rule,
            }));
        }
        if let Some(name) = &raw.date_within {
            let fact = self.fact(&key(path, "date_within"), name, kind)?;
            if fact.fact_type() != FactType::Date {
                self.error(
                    &key(path, "date_within"),
                    format!("fact `{name}` is not a date"),
                    None,
                );
                return None;
            }
            let Some(period) = &raw.period else {
                self.error(path, "`date_within` needs a `period`", None);
                return None;
            };
            let period = self.period(&key(path, "period"), period)?;
            return Some(Condition::DateWithin { fact, period });
        }
        if let Some(from_name) = &raw.elapsed_from {
            let from = self.fact(&key(path, "elapsed_from"), from_name, kind)?;
            let Some(to_name) = &raw.elapsed_to else {
                self.error(path, "`elapsed_from` needs `elapsed_to`", None);
                return None;
            };
            let to = self.fact(&key(path, "elapsed_to"), to_name, kind)?;
            for (f, k) in [(from, "elapsed_from"), (to, "elapsed_to")] {
                if f.fact_type() != FactType::Date {
                    self.error(
                        &key(path, k),
                        format!("fact `{}` is not a date", f.name()),
                        None,
                    );
                    return None;
                }
            }
            let (Some(op), Some(period)) = (&raw.op, &raw.period) else {
                self.error(path, "`elapsed_from` needs `op` and `period`", None);
                return None;
            };
            let op = self.op(&key(path, "op"), op)?;
            let period = self.period(&key(path, "period"), period)?;
            return Some(Condition::Elapsed {
                from,
                to,
                op,
                period,
            });
        }
        None
    }

    pub(super) fn conditions(
        &mut self,
        path: &[Seg],
        items: &[RawCondition],
        kind: RuleKind,
        scope: &SetScope,
    ) -> Option<Vec<Condition>> {
        if items.is_empty() {
            self.error(path, "empty list of conditions", None);
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.condition(&idx(path, i), item, kind, scope) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}
