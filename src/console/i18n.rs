//! Danish by default, English by `?lang=en` (remembered in a cookie).

/// The language a page is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Da,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "da" => Some(Lang::Da),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Da => Lang::En,
            Lang::En => Lang::Da,
        }
    }

    /// The text in this language.
    pub fn t<'a>(self, da: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Da => da,
            Lang::En => en,
        }
    }

    /// A message stored in both languages.
    pub fn pick<'a>(self, da: &'a str, en: &'a str) -> &'a str {
        self.t(da, en)
    }

    /// An area class as a caseworker reads it.
    pub fn class(self, class: &str) -> String {
        let (da, en) = match class {
            "exposed" => ("udsat", "exposed"),
            "hard_exposed" => ("hårdt udsat", "hard exposed"),
            "high_risk" => ("høj risiko", "high risk"),
            "risk" => ("risiko", "risk"),
            "neutral" => ("neutral", "neutral"),
            "ghetto" => ("ghetto", "ghetto"),
            "parallel_society" => ("parallelsamfund", "parallel society"),
            "transformation" => ("omdannelsesområde", "transformation area"),
            "prevention" => ("forebyggelsesområde", "prevention area"),
            "vulnerable" => ("udsat boligområde", "vulnerable area"),
            other => (other, other),
        };
        self.t(da, en).to_owned()
    }

    /// A case status as a caseworker reads it.
    pub fn status(self, status: &str) -> String {
        let (da, en) = match status {
            "pending_municipal_approval" => ("afventer kommunens godkendelse", "awaiting approval"),
            "approved" => ("godkendt", "approved"),
            "rejected" => ("afvist efter reglerne", "rejected by the rules"),
            "rejected_by_municipality" => ("afvist af kommunen", "rejected by the municipality"),
            "moved_in" => ("indflyttet", "moved in"),
            other => (other, other),
        };
        self.t(da, en).to_owned()
    }
}
