//! Message templates. A template is split into text and placeholders when the rule file is
//! loaded, so an unknown placeholder is a `rules check` error, not a gap in a letter to a
//! citizen, and rendering is a concatenation.

macro_rules! slots {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A value a message can name. Which slots a rule may use depends on what kind of
        /// rule it is (see `validate`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Slot { $($variant,)* }

        impl Slot {
            pub const ALL: &'static [Slot] = &[$(Slot::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Slot::$variant => $name,)* }
            }

            pub fn parse(name: &str) -> Option<Slot> {
                match name { $($name => Some(Slot::$variant),)* _ => None }
            }
        }
    };
}

slots! {
    Area => "area",
    AreaClass => "area_class",
    Share => "share",
    Date => "date",
    Department => "department",
    Designation => "designation",
    Criteria => "criteria",
    Residents => "residents",
    Person => "person",
    Benefit => "benefit",
    Months => "months",
    RequiredMonths => "required_months",
    Group => "group",
    Channel => "channel",
    QuotaShare => "quota_share",
    Vacancies => "vacancies",
    ChannelCount => "channel_count",
    Conditions => "conditions",
    Amount => "amount",
    Remaining => "remaining",
    Pool => "pool",
    Maximum => "maximum",
    Purpose => "purpose",
    Considerations => "considerations",
    ListsInSuccession => "lists_in_succession",
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Slot(Slot),
}

/// A parsed message template: `"Andelen er {share}"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
    len_hint: usize,
}

/// A template error, with the byte offset in the template where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{name}}}`")]
    UnknownSlot { name: String, offset: usize },
    #[error("unclosed `{{` in message")]
    Unclosed { offset: usize },
    #[error("placeholder `{{{name}}}` is not available to this kind of rule")]
    Unavailable { name: String, offset: usize },
}

impl Template {
    /// Parses `text`, allowing only placeholders in `allowed`. `{{` and `}}` are literal
    /// braces.
    pub fn parse(text: &str, allowed: &[Slot]) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(pos) = rest.find(['{', '}']) {
            literal.push_str(&rest[..pos]);
            let brace = &rest[pos..];
            if brace.starts_with("{{") || brace.starts_with("}}") {
                literal.push_str(&brace[..1]);
                rest = &brace[2..];
                offset += pos + 2;
                continue;
            }
            if let Some(after) = brace.strip_prefix('}') {
                literal.push('}');
                rest = after;
                offset += pos + 1;
                continue;
            }
            let Some(close) = brace.find('}') else {
                return Err(TemplateError::Unclosed {
                    offset: offset + pos,
                });
            };
            let name = &brace[1..close];
            let slot = Slot::parse(name).ok_or_else(|| TemplateError::UnknownSlot {
                name: name.to_owned(),
                offset: offset + pos,
            })?;
            if !allowed.contains(&slot) {
                return Err(TemplateError::Unavailable {
                    name: name.to_owned(),
                    offset: offset + pos,
                });
            }
            if !literal.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Slot(slot));
            rest = &brace[close + 1..];
            offset += pos + close + 1;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Text(literal));
        }
        let len_hint = text.len() + 16;
        Ok(Template { segments, len_hint })
    }

    /// Fills the template; a slot with no value renders as `?` (validation makes sure a
    /// rule only names slots its evaluation fills, so this is a last resort).
    pub fn render<'v>(&self, value_of: impl Fn(Slot) -> Option<&'v str>) -> String {
        let mut out = String::with_capacity(self.len_hint);
        for segment in &self.segments {
            match segment {
                // A value that ends a sentence's abbreviation ("15.000,00 kr.") before the
                // sentence's own full stop gives one full stop, not two.
                Segment::Text(text) if out.ends_with('.') && text.starts_with('.') => {
                    out.push_str(&text[1..]);
                }
                Segment::Text(text) => out.push_str(text),
                Segment::Slot(slot) => match value_of(*slot) {
                    Some(value) => out.push_str(value),
                    None => out.push('?'),
                },
            }
        }
        out
    }

    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Slot(slot) => Some(*slot),
            Segment::Text(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abbreviation_before_a_full_stop_gives_one_full_stop() {
        let t = Template::parse(
            "der er søgt om {amount}. Ansøgningen afvises.",
            &[Slot::Amount],
        )
        .expect("template");
        let text = t.render(|_| Some("15.000,00 kr."));
        assert_eq!(text, "der er søgt om 15.000,00 kr. Ansøgningen afvises.");
        let text = t.render(|_| Some("DKK 15,000.00"));
        assert_eq!(text, "der er søgt om DKK 15,000.00. Ansøgningen afvises.");
    }

    #[test]
    fn renders_and_rejects() {
        let t = Template::parse("Andelen er {share} {{ok}}", &[Slot::Share]).unwrap();
        let out = t.render(|s| (s == Slot::Share).then_some("41,2 %"));
        assert_eq!(out, "Andelen er 41,2 % {ok}");
        assert!(matches!(
            Template::parse("{shaer}", &[Slot::Share]),
            Err(TemplateError::UnknownSlot { offset: 0, .. })
        ));
        assert!(matches!(
            Template::parse("x {amount}", &[Slot::Share]),
            Err(TemplateError::Unavailable { offset: 2, .. })
        ));
        assert!(matches!(
            Template::parse("x {share", &[Slot::Share]),
            Err(TemplateError::Unclosed { .. })
        ));
    }
}
