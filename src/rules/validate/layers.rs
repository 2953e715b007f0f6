//! What makes a file a layer of the law: its kind, the modality of its rules, the
//! municipal decisions adopting national options, and complaint guidance.

use super::*;

impl Checker<'_, '_> {
    /// The layer kind, which must match the jurisdiction: national law is `DK`, a
    /// municipality's decisions and agreements carry its code.
    pub(super) fn layer(
        &mut self,
        hp: &[Seg],
        text: Option<&str>,
        jurisdiction: Option<&str>,
    ) -> Option<LayerKind> {
        let Some(text) = text else {
            self.error(
                hp,
                "missing key `layer`",
                Some("say which level of the law the file is: layer = \"national\", \"municipal\" or \"agreement\"".into()),
            );
            return None;
        };
        let Some(kind) = LayerKind::parse(text) else {
            self.error(
                &key(hp, "layer"),
                format!("unknown layer `{text}`"),
                did_you_mean(text, ["national", "municipal", "agreement"])
                    .or(Some("use `national`, `municipal` or `agreement`".into())),
            );
            return None;
        };
        match (kind, jurisdiction) {
            (LayerKind::National, Some(j)) if j != NATIONAL => {
                self.error(
                    &key(hp, "jurisdiction"),
                    format!("a national layer has jurisdiction `{j}`"),
                    Some("national law is jurisdiction \"DK\"".into()),
                );
                None
            }
            (LayerKind::Municipal | LayerKind::Agreement, Some(NATIONAL)) => {
                self.error(
                    &key(hp, "jurisdiction"),
                    format!("a {} layer has jurisdiction \"DK\"", kind.as_str()),
                    Some("give the municipality's four-digit code, such as \"0101\"".into()),
                );
                None
            }
            _ => Some(kind),
        }
    }

    /// `required` or `option` with the option's name; only national law has options.
    pub(super) fn modality(
        &mut self,
        path: &[Seg],
        text: Option<&str>,
        option: Option<&str>,
        scope: &SetScope,
    ) -> Option<(RuleModality, Option<Arc<str>>)> {
        match (text, option) {
            (Some("option"), None) => {
                self.error(
                    path,
                    "an option needs an `option` name",
                    Some("name the provision municipal decisions adopt, such as option = \"abl-51b\"".into()),
                );
                return None;
            }
            (None | Some("required"), Some(_)) => {
                self.error(
                    &key(path, "option"),
                    "`option` is set on a rule that is not an option",
                    Some("add modality = \"option\", or remove `option`".into()),
                );
                return None;
            }
            _ => {}
        }
        match text {
            None | Some("required") => Some((RuleModality::Required, None)),
            Some("option") if scope.layer == LayerKind::National => {
                Some((RuleModality::Option, option.map(Into::into)))
            }
            Some("option") => {
                self.error(
                    &key(path, "modality"),
                    "only a national layer has options",
                    Some(
                        "a municipality uses a national option by an [[adoptions]] entry naming it"
                            .into(),
                    ),
                );
                None
            }
            Some(other) => {
                self.error(
                    &key(path, "modality"),
                    format!("unknown modality `{other}`"),
                    did_you_mean(other, ["required", "option"]).or(Some(
                        "use `required` (skal) or `option` (kan: applies where a municipality adopts it)".into(),
                    )),
                );
                None
            }
        }
    }

    pub(super) fn obligations(
        &mut self,
        path: &[Seg],
        raw: &[RawObligation],
        scope: &SetScope,
    ) -> Option<Vec<Obligation>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, o) in raw.iter().enumerate() {
            let (id, only_before, at) = match o {
                RawObligation::Term(id) => (id, false, idx(path, i)),
                RawObligation::Conditional(c) => (
                    &c.id,
                    c.only_if_registered_before_adoption,
                    key(&idx(path, i), "id"),
                ),
            };
            match self.term(&at, id, TermList::Obligations, scope) {
                Some(id) => out.push(Obligation {
                    id,
                    only_if_registered_before_adoption: only_before,
                }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Municipal decisions adopting national options. Whether the option exists in the
    /// national frame, and what it allows, is checked across files (`rules::frame`).
    pub(super) fn adoptions(
        &mut self,
        raw: &[RawAdoption],
        scope: &mut SetScope,
    ) -> Option<Vec<Arc<Adoption>>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, a) in raw.iter().enumerate() {
            let p = idx(&key(&[], "adoptions"), i);
            if scope.layer != LayerKind::Municipal {
                self.error(
                    &p,
                    format!(
                        "a {} layer cannot adopt a national option",
                        scope.layer.as_str()
                    ),
                    Some("options are adopted by the municipal council: put the decision in a layer = \"municipal\" file".into()),
                );
                ok = false;
                continue;
            }
            let meta = self.meta(&p, a.common(), RuleKind::Letting, scope);
            let announced = self.date(&key(&p, "announced"), &a.announced);
            let at = |c: &Self, k: &str| c.map.line_column(c.map.offset_of(&key(&p, k), false));
            let option_at = at(self, "option");
            let benefits_at = if a.benefits.is_empty() {
                option_at
            } else {
                at(self, "benefits")
            };
            let areas_at = if a.areas.is_empty() {
                option_at
            } else {
                at(self, "areas")
            };
            if let (Some(meta), Some(announced)) = (meta, announced) {
                if meta.effective_from.is_some_and(|from| announced > from) {
                    self.error(
                        &key(&p, "announced"),
                        format!(
                            "the decision is announced on {announced}, after it takes effect"
                        ),
                        Some("a decision under § 51 b applies once announced: set effective_from on or after `announced`".into()),
                    );
                    ok = false;
                    continue;
                }
                out.push(Arc::new(Adoption {
                    meta,
                    option: a.option.as_str().into(),
                    areas: a.areas.iter().map(|s| s.as_str().into()).collect(),
                    benefits: a.benefits.iter().map(|s| s.as_str().into()).collect(),
                    announced,
                    owed_to_all: a.owed_to_all,
                    option_at,
                    benefits_at,
                    areas_at,
                }));
            } else {
                ok = false;
            }
        }
        ok.then_some(out)
    }

    pub(super) fn complaints(
        &mut self,
        raw: &[RawComplaint],
        scope: &SetScope,
    ) -> Option<Vec<ComplaintGuidance>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, c) in raw.iter().enumerate() {
            let p = idx(&key(&[], "complaints"), i);
            let mut decisions = Vec::new();
            for (j, d) in c.decisions.iter().enumerate() {
                match ComplaintKind::parse(d) {
                    Some(k) => decisions.push(k),
                    None => {
                        self.error(
                            &idx(&key(&p, "decisions"), j),
                            format!("unknown kind of decision `{d}`"),
                            did_you_mean(d, ComplaintKind::ALL.iter().map(|k| k.as_str())),
                        );
                        ok = false;
                    }
                }
            }
            let Some(source) = scope.sources.get(&c.source.reference) else {
                self.error(
                    &key(&key(&p, "source"), "ref"),
                    format!("unknown source `{}`", c.source.reference),
                    did_you_mean(
                        &c.source.reference,
                        scope.sources.keys().map(String::as_str),
                    ),
                );
                ok = false;
                continue;
            };
            let words = |m: &RawMessage| Words {
                da: m.da.as_str().into(),
                en: m.en.as_str().into(),
            };
            out.push(ComplaintGuidance {
                id: c.id.as_str().into(),
                decisions,
                source: LegalSource {
                    section: c
                        .source
                        .section
                        .as_deref()
                        .map(Into::into)
                        .or_else(|| source.section.clone()),
                    ..source.clone()
                },
                body: words(&c.body),
                how: words(&c.how),
                deadline: words(&c.deadline),
            });
        }
        ok.then_some(out)
    }

    pub(super) fn acts(
        &mut self,
        raw: &[RawActRule],
        scope: &mut SetScope,
    ) -> Option<Vec<ActRule>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, r) in raw.iter().enumerate() {
            let p = idx(&key(&[], "municipal_acts"), i);
            let meta = self.meta(&p, r.common(), RuleKind::Act, scope);
            let act = match r.act.as_str() {
                "approval" => Some(ActKind::Approval),
                "rejection" => Some(ActKind::Rejection),
                other => {
                    self.error(
                        &key(&p, "act"),
                        format!("unknown act `{other}`"),
                        did_you_mean(other, ["approval", "rejection"])
                            .or(Some("use `approval` or `rejection`".into())),
                    );
                    None
                }
            };
            let classes = self.term_list(
                &key(&p, "applies_to_classes"),
                &r.applies_to_classes,
                TermList::Classes,
                scope,
            );
            match (meta, act, classes) {
                (Some(meta), Some(act), Some(applies_to_classes)) => out.push(ActRule {
                    meta,
                    act,
                    applies_to_classes,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }
}
