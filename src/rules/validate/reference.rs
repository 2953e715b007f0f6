//! Reference data: designation lists and agreed flexible shares, with their provenance.

use super::*;

impl Checker<'_, '_> {
    pub(super) fn provenance(&mut self, path: &[Seg], raw: &RawProvenance) -> Option<Provenance> {
        let published = self.date(&key(path, "published"), &raw.published);
        let dwellings = match raw.dwellings_completeness.as_deref() {
            None => Some(None),
            Some(text) => self
                .completeness(&key(path, "dwellings_completeness"), text)
                .map(Some),
        };
        let completeness = self.completeness(&key(path, "completeness"), &raw.completeness);
        if (completeness != Some(Completeness::Complete)
            || dwellings.is_some_and(|d| d.is_some_and(|d| d != Completeness::Complete)))
            && raw.note.is_none()
        {
            self.error(
                path,
                "a list that is not complete needs a `note`",
                Some("say what the list leaves out, or why it is illustrative".into()),
            );
            return None;
        }
        Some(Provenance {
            source: raw.source.as_str().into(),
            publisher: raw.publisher.as_str().into(),
            url: raw.url.as_deref().map(Into::into),
            published: published?,
            reference: raw.reference.as_deref().map(Into::into),
            completeness: completeness?,
            dwellings_completeness: dwellings?,
            note: raw.note.as_deref().map(Into::into),
        })
    }

    pub(super) fn completeness(&mut self, path: &[Seg], text: &str) -> Option<Completeness> {
        match text {
            "complete" => Some(Completeness::Complete),
            "extract" => Some(Completeness::Extract),
            "illustrative" => Some(Completeness::Illustrative),
            other => {
                self.error(
                    path,
                    format!("unknown completeness `{other}`"),
                    did_you_mean(other, ["complete", "extract", "illustrative"]).or(Some(
                        "use `complete` (every entry of the source), `extract` (some entries, as published) or `illustrative` (not from a source)".into(),
                    )),
                );
                None
            }
        }
    }

    pub(super) fn designation(
        &mut self,
        path: &[Seg],
        raw: &RawDesignation,
    ) -> Option<Designation> {
        let jurisdiction = self.jurisdiction(&key(path, "jurisdiction"), &raw.jurisdiction);
        let from = self.date(&key(path, "valid_from"), &raw.valid_from);
        let to = self.date(&key(path, "valid_to"), &raw.valid_to);
        let provenance = self.provenance(&key(path, "provenance"), &raw.provenance);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            self.error(
                &key(path, "valid_to"),
                format!("`valid_to` {t} is before `valid_from` {f}"),
                None,
            );
            return None;
        }
        let mut areas = BTreeMap::new();
        for (i, area) in raw.areas.iter().enumerate() {
            let prev = areas.insert(
                Arc::<str>::from(area.area.as_str()),
                (Arc::<str>::from(area.name.as_str()), area.dwellings),
            );
            if prev.is_some() {
                self.error(
                    &key(&idx(&key(path, "areas"), i), "area"),
                    format!("area `{}` is listed twice", area.area),
                    None,
                );
            }
        }
        Some(Designation {
            id: raw.id.as_str().into(),
            jurisdiction: jurisdiction?,
            class: raw.class.as_str().into(),
            valid_from: from?,
            valid_to: to?,
            provenance: provenance?,
            areas,
            file: self.map.file.clone(),
            dates_at: self.dates_at(path, "valid_from", "valid_to"),
            content_hash: self.content_hash(),
        })
    }

    pub(super) fn flexible_shares(
        &mut self,
        path: &[Seg],
        raw: &RawFlexibleShares,
    ) -> Option<FlexibleShares> {
        let jurisdiction = self.jurisdiction(&key(path, "jurisdiction"), &raw.jurisdiction);
        let from = self.date(&key(path, "valid_from"), &raw.valid_from);
        let to = match &raw.valid_to {
            Some(d) => Some(self.date(&key(path, "valid_to"), d)?),
            None => None,
        };
        let provenance = self.provenance(&key(path, "provenance"), &raw.provenance);
        let mut departments = BTreeMap::new();
        let mut ok = true;
        for (dept, share) in &raw.departments {
            match self.share(&key(&key(path, "departments"), dept), share) {
                Some(s) => {
                    departments.insert(Arc::<str>::from(dept.as_str()), s);
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(FlexibleShares {
            id: raw.id.as_str().into(),
            jurisdiction: jurisdiction?,
            valid_from: from?,
            valid_to: to,
            provenance: provenance?,
            departments,
            file: self.map.file.clone(),
            content_hash: self.content_hash(),
        })
    }
}
