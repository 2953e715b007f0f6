//! What every rule carries: its id, legal source, messages and dates.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn meta(
        &mut self,
        path: &[Seg],
        raw: RawRuleCommon<'_>,
        kind: RuleKind,
        scope: &mut SetScope,
    ) -> Option<RuleMeta> {
        let id = self.required(path, "id", raw.id);
        let source_ref = self.required(path, "source", raw.source);
        let message = self.required(path, "message", raw.message);
        if let Some(id) = id {
            if id.is_empty() || id.contains(char::is_whitespace) {
                self.error(
                    &key(path, "id"),
                    format!("rule id `{id}` is empty or has spaces"),
                    Some("use a dotted id such as `cph2007.combined.benefit_rejection`".into()),
                );
            }
            if !scope.rule_ids.insert(id.to_owned()) {
                self.error(
                    &key(path, "id"),
                    format!("rule id `{id}` is used twice in this rule set"),
                    Some("rule ids are stable names: give each rule its own".into()),
                );
            }
        }
        let source =
            source_ref.and_then(
                |source_ref| match scope.sources.get(&source_ref.reference) {
                    Some(s) => Some(LegalSource {
                        document: s.document.clone(),
                        section: source_ref
                            .section
                            .as_deref()
                            .map(Into::into)
                            .or_else(|| s.section.clone()),
                        title: s.title.clone(),
                    }),
                    None => {
                        let hint = did_you_mean(
                            &source_ref.reference,
                            scope.sources.keys().map(String::as_str),
                        )
                        .or_else(|| Some("name one of the ids in [[rule_set.sources]]".into()));
                        self.error(
                            &key(&key(path, "source"), "ref"),
                            format!("unknown source `{}`", source_ref.reference),
                            hint,
                        );
                        None
                    }
                },
            );
        let (da, en) = match message {
            Some(m) => (
                self.template(&key(&key(path, "message"), "da"), &m.da, kind),
                self.template(&key(&key(path, "message"), "en"), &m.en, kind),
            ),
            None => (None, None),
        };
        let from = match raw.effective_from {
            Some(d) => Some(self.date(&key(path, "effective_from"), d)?),
            None => None,
        };
        let to = match raw.effective_to {
            Some(d) => Some(self.date(&key(path, "effective_to"), d)?),
            None => None,
        };
        Some(RuleMeta {
            id: id?.into(),
            layer: scope.layer_id.clone(),
            source: source?,
            message: Message { da: da?, en: en? },
            effective_from: from,
            effective_to: to,
        })
    }

    pub(super) fn template(
        &mut self,
        path: &[Seg],
        text: &str,
        kind: RuleKind,
    ) -> Option<Template> {
        match Template::parse(text, kind.slots()) {
            Ok(t) => Some(t),
            Err(e) => {
                let allowed: Vec<&str> = kind.slots().iter().map(|s| s.name()).collect();
                let hint = match &e {
                    crate::model::template::TemplateError::UnknownSlot { name, .. } => {
                        did_you_mean(name, allowed.iter().copied())
                    }
                    _ => None,
                }
                .unwrap_or_else(|| {
                    format!(
                        "this rule's messages may use {}",
                        allowed
                            .iter()
                            .map(|a| format!("{{{a}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
                self.error(path, e.to_string(), Some(hint));
                None
            }
        }
    }
}
