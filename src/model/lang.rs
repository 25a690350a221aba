//! The languages uptake speaks: their codes, as settings, users and
//! reports name them. Their words are in `crate::i18n`.

use serde::{Deserialize, Serialize};

/// A language of pages, reports, mails and cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    De,
    Fr,
    Es,
    Da,
    Nl,
}

impl Lang {
    pub const ALL: [Lang; 6] = [Lang::En, Lang::De, Lang::Fr, Lang::Es, Lang::Da, Lang::Nl];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::Da => "da",
            Lang::Nl => "nl",
        }
    }

    /// The language's own name, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
            Lang::Es => "Español",
            Lang::Da => "Dansk",
            Lang::Nl => "Nederlands",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == s)
    }

    /// A language by its code; else what to give instead ("use en, de,
    /// ..."), the message of every place that reads a code.
    pub fn read(s: &str) -> Result<Lang, String> {
        Lang::parse(s).ok_or_else(|| format!("use {}", Lang::codes()))
    }

    /// The codes of the languages, for messages naming them ("en, de, ...").
    pub fn codes() -> String {
        Lang::ALL.map(Lang::code).join(", ")
    }
}
