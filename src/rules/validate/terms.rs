//! The vocabulary's terms: declaring them, and naming them in rules.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn terms(&mut self, path: &[Seg], raw: &[RawTerm]) -> Vec<Term> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            if !seen.insert(t.id.as_str()) {
                self.error(
                    &key(&idx(path, i), "id"),
                    format!("term `{}` is declared twice", t.id),
                    None,
                );
            }
            out.push(Term {
                id: t.id.as_str().into(),
                da: t.da.as_str().into(),
                en: t.en.as_str().into(),
            });
        }
        out
    }

    pub(super) fn term(
        &mut self,
        path: &[Seg],
        id: &str,
        list: TermList,
        scope: &SetScope,
    ) -> Option<Arc<str>> {
        let terms = scope.terms(list);
        match Vocabulary::term(terms, id) {
            Some(t) => Some(t.id.clone()),
            None => {
                let hint = did_you_mean(id, terms.iter().map(|t| &*t.id))
                    .unwrap_or_else(|| format!("declare it in `{}`", list.name()));
                self.error(
                    path,
                    format!("`{id}` is not in `{}`", list.name()),
                    Some(hint),
                );
                None
            }
        }
    }

    pub(super) fn term_list(
        &mut self,
        path: &[Seg],
        ids: &[String],
        list: TermList,
        scope: &SetScope,
    ) -> Option<Vec<Arc<str>>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, id) in ids.iter().enumerate() {
            match self.term(&idx(path, i), id, list, scope) {
                Some(t) => out.push(t),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}
