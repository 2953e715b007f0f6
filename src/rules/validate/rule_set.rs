//! A rule set: its header, sources and vocabulary, and its rules put together.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn rule_set(&mut self, header: &RawRuleSetHeader, raw: &RawFile) -> Option<RuleSet> {
        let hp = key(&[], "rule_set");
        let id = self.required(&hp, "id", header.id.as_deref());
        let title = self.required(&hp, "title", header.title.as_deref());
        let jurisdiction = self
            .required(&hp, "jurisdiction", header.jurisdiction.as_deref())
            .and_then(|j| self.jurisdiction(&key(&hp, "jurisdiction"), j));
        let from = self
            .required(&hp, "effective_from", header.effective_from.as_ref())
            .and_then(|d| self.date(&key(&hp, "effective_from"), d));
        let to = match &header.effective_to {
            Some(d) => self.date(&key(&hp, "effective_to"), d),
            None => None,
        };
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            self.error(&key(&hp, "effective_to"), format!("`effective_to` {t} is before `effective_from` {f}"), Some("a rule set is in force from `effective_from` to `effective_to`, both days included".into()));
        }
        let layer = self.layer(&hp, header.layer.as_deref(), jurisdiction.as_deref());
        let mut sources = BTreeMap::new();
        for (i, s) in header.sources.iter().enumerate() {
            let source = LegalSource {
                document: s.document.as_str().into(),
                section: s.section.as_deref().map(Into::into),
                title: s.title.as_str().into(),
            };
            if sources.insert(s.id.clone(), source).is_some() {
                self.error(
                    &key(&idx(&key(&hp, "sources"), i), "id"),
                    format!("source `{}` is declared twice", s.id),
                    None,
                );
            }
        }
        if header.sources.is_empty() {
            self.error(
                &key(&hp, "sources"),
                "a rule set needs at least one legal source",
                None,
            );
        }
        let vp = key(&[], "vocabulary");
        let vocabulary = match &raw.vocabulary {
            Some(v) => Vocabulary {
                classes: self.terms(&key(&vp, "classes"), &v.classes),
                benefits: self.terms(&key(&vp, "benefits"), &v.benefits),
                referral_conditions: self
                    .terms(&key(&vp, "referral_conditions"), &v.referral_conditions),
                grant_purposes: self.terms(&key(&vp, "grant_purposes"), &v.grant_purposes),
                priority_groups: self.terms(&key(&vp, "priority_groups"), &v.priority_groups),
                obligations: self.terms(&key(&vp, "obligations"), &v.obligations),
            },
            None => {
                self.error(
                    &[],
                    "a rule set needs a [vocabulary] with at least its area classes",
                    None,
                );
                Vocabulary::default()
            }
        };
        let mut scope = SetScope {
            sources,
            vocabulary,
            rule_ids: HashSet::new(),
            layer_id: id.unwrap_or_default().into(),
            layer: layer.unwrap_or(LayerKind::National),
        };

        let cp = key(&[], "classification");
        let mut classification = Vec::new();
        match &raw.classification {
            Some(c) => {
                for (i, r) in c.classes.iter().enumerate() {
                    let p = idx(&key(&cp, "classes"), i);
                    let meta = self.meta(&p, r.common(), RuleKind::Classification, &mut scope);
                    let class = self.term(&key(&p, "class"), &r.class, TermList::Classes, &scope);
                    let when =
                        self.condition(&key(&p, "when"), &r.when, RuleKind::Classification, &scope);
                    if let (Some(meta), Some(class), Some(when)) = (meta, class, when) {
                        classification.push(ClassRule { meta, class, when });
                    }
                }
                if c.classes.is_empty() {
                    self.error(
                        &key(&cp, "classes"),
                        "the classification has no classes",
                        None,
                    );
                }
            }
            None if scope.layer == LayerKind::National => {
                self.error(&[], "a national layer needs a [classification]", None)
            }
            None => {}
        }

        let mut letting_rules = Vec::new();
        for (i, r) in raw.letting_rules.iter().enumerate() {
            let p = idx(&key(&[], "letting_rules"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Letting, &mut scope);
            let classes = self.term_list(
                &key(&p, "applies_to_classes"),
                &r.applies_to_classes,
                TermList::Classes,
                &scope,
            );
            let when = self.condition(&key(&p, "when"), &r.when, RuleKind::Letting, &scope);
            let unless = match &r.unless {
                Some(u) => self
                    .condition(&key(&p, "unless"), u, RuleKind::Letting, &scope)
                    .map(Some),
                None => Some(None),
            };
            let effect = match r.effect.as_str() {
                "reject" => Some(LettingEffect::Reject),
                "require_municipal_approval" => Some(LettingEffect::RequireMunicipalApproval),
                other => {
                    self.error(
                        &key(&p, "effect"),
                        format!("unknown effect `{other}`"),
                        did_you_mean(other, ["reject", "require_municipal_approval"])
                            .or(Some("use `reject` or `require_municipal_approval`".into())),
                    );
                    None
                }
            };
            let modality = self.modality(&p, r.modality.as_deref(), r.option.as_deref(), &scope);
            if scope.layer != LayerKind::National && r.effect == "reject" {
                self.error(
                    &key(&p, "effect"),
                    "a municipal decision or agreement cannot reject applicants by a rule of its own",
                    Some("rejection rests on national law: adopt the national option (an [[adoptions]] entry) instead".into()),
                );
            }
            let obligations = self.obligations(&key(&p, "obligations"), &r.obligations, &scope);
            if let (
                Some(modality),
                Some(meta),
                Some(applies_to_classes),
                Some(when),
                Some(unless),
                Some(effect),
                Some(obligations),
            ) = (modality, meta, classes, when, unless, effect, obligations)
            {
                let (modality, option) = modality;
                letting_rules.push(LettingRule {
                    meta,
                    modality,
                    option,
                    adoption: None,
                    applies_to_classes,
                    when,
                    unless,
                    effect,
                    obligations,
                });
            }
        }

        let mut flexible_priority = Vec::new();
        for (i, r) in raw.flexible_priority.iter().enumerate() {
            let p = idx(&key(&[], "flexible_priority"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Priority, &mut scope);
            let group = self.term(
                &key(&p, "group"),
                &r.group,
                TermList::PriorityGroups,
                &scope,
            );
            let when = self.condition(&key(&p, "when"), &r.when, RuleKind::Priority, &scope);
            if let (Some(meta), Some(group), Some(when)) = (meta, group, when) {
                flexible_priority.push(PriorityRule { meta, group, when });
            }
        }

        let mut referral_rules = Vec::new();
        for (i, r) in raw.referral_rules.iter().enumerate() {
            let p = idx(&key(&[], "referral_rules"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Referral, &mut scope);
            let classes = self.term_list(
                &key(&p, "applies_to_classes"),
                &r.applies_to_classes,
                TermList::Classes,
                &scope,
            );
            let when = self.condition(&key(&p, "when"), &r.when, RuleKind::Referral, &scope);
            if r.effect != "refuse" {
                self.error(
                    &key(&p, "effect"),
                    format!("unknown effect `{}`", r.effect),
                    Some("a referral rule's effect is `refuse`".into()),
                );
            }
            let modality = self.modality(&p, r.modality.as_deref(), r.option.as_deref(), &scope);
            if let (Some((modality, option)), Some(meta), Some(applies_to_classes), Some(when)) =
                (modality, meta, classes, when)
            {
                referral_rules.push(ReferralRule {
                    meta,
                    modality,
                    option,
                    applies_to_classes,
                    when,
                    adoption: None,
                });
            }
        }

        let channels = match &raw.channel_assignment {
            Some(c) => self.channels(c, &mut scope),
            None if scope.layer == LayerKind::National => {
                self.error(&[], "a national layer needs a [channel_assignment]", None);
                None
            }
            None => Some(ChannelAssignment::default()),
        };
        let adoptions = self.adoptions(&raw.adoptions, &mut scope);
        let municipal_acts = self.acts(&raw.municipal_acts, &mut scope);
        let complaints = self.complaints(&raw.complaints, &scope);

        let grants = match &raw.relocation_grants {
            Some(g) => self.grants(g, &mut scope),
            None => Some(None),
        };

        let (id, title, layer, from): (Arc<str>, Arc<str>, _, _) =
            (id?.into(), title?.into(), layer?, from?);
        let content_hash = self.content_hash();
        Some(RuleSet {
            layers: vec![LayerRef {
                id: id.clone(),
                kind: layer,
                title: title.clone(),
                content_hash: content_hash.clone(),
                effective_from: from,
                effective_to: to,
            }],
            id,
            title,
            layer,
            jurisdiction: jurisdiction?,
            effective_from: from,
            effective_to: to,
            sources: scope.sources.values().cloned().collect(),
            content_hash,
            file: self.map.file.clone(),
            dates_at: self.dates_at(&hp, "effective_from", "effective_to"),
            vocabulary: scope.vocabulary,
            classification,
            letting_rules,
            flexible_priority,
            referral_rules,
            channels: channels?,
            grants: grants?,
            adoptions: adoptions?,
            municipal_acts: municipal_acts?,
            complaints: complaints?,
        })
    }
}
