//! The languages of pages, charts, PDFs, mails and cards. The words are
//! Fluent files, `locales/<lang>/*.ftl`, built into the binary; a word a
//! language lacks is taken from English. Digits are separated as CLDR says
//! for the language (`num-format`); where the figure stands in a percentage,
//! an amount or a date is a message of the language's `formats.ftl`.
//!
//! Pages take `?lang=`, else the signed-in user's language, else the
//! browser's `Accept-Language`, else English. Reports name theirs, and each
//! recipient who is a user with a language gets it in theirs.

use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use num_format::ToFormattedString;

use crate::model::output::{Cell, Table};

pub use crate::model::Lang;

/// The Fluent files of each language, in the order of [`Lang::ALL`].
const FILES: [&str; 6] = ["figures", "formats", "pages", "reports", "alerts", "cli"];

macro_rules! locale_files {
    ($lang:literal) => {
        [
            include_str!(concat!("../locales/", $lang, "/figures.ftl")),
            include_str!(concat!("../locales/", $lang, "/formats.ftl")),
            include_str!(concat!("../locales/", $lang, "/pages.ftl")),
            include_str!(concat!("../locales/", $lang, "/reports.ftl")),
            include_str!(concat!("../locales/", $lang, "/alerts.ftl")),
            include_str!(concat!("../locales/", $lang, "/cli.ftl")),
        ]
    };
}

const SOURCES: [[&str; FILES.len()]; 6] = [
    locale_files!("en"),
    locale_files!("de"),
    locale_files!("fr"),
    locale_files!("es"),
    locale_files!("da"),
    locale_files!("nl"),
];

/// One language's words: its Fluent bundle, the messages without
/// arguments formatted once, and its digits.
struct Locale {
    bundle: FluentBundle<FluentResource>,
    plain: HashMap<String, String>,
    digits: num_format::Locale,
    /// What did not parse or format, for the test of every locale.
    problems: Vec<String>,
}

static LOCALES: LazyLock<Vec<Locale>> =
    LazyLock::new(|| Lang::ALL.iter().map(|l| Locale::load(*l)).collect());

impl Locale {
    fn load(lang: Lang) -> Locale {
        let id: unic_langid::LanguageIdentifier = lang
            .code()
            .parse()
            .expect("the language codes are valid language identifiers");
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Figures sit in left-to-right text; no isolation marks around them.
        bundle.set_use_isolating(false);
        let mut problems = Vec::new();
        let mut ids = Vec::new();
        for (file, source) in FILES.iter().zip(SOURCES[lang as usize]) {
            let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, e)| {
                problems.extend(
                    e.iter()
                        .map(|e| format!("{}/{file}.ftl: {e:?}", lang.code())),
                );
                r
            });
            ids.extend(message_ids(&resource));
            if let Err(e) = bundle.add_resource(resource) {
                problems.extend(e.iter().map(|e| format!("{}/{file}.ftl: {e}", lang.code())));
            }
        }
        let mut plain = HashMap::new();
        for id in ids {
            let Some(pattern) = bundle.get_message(&id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, None, &mut errors);
            // A message with arguments is formatted when it is used.
            if errors.is_empty() {
                plain.insert(id, text.into_owned());
            }
        }
        let digits = num_format::Locale::from_name(lang.code()).unwrap_or(num_format::Locale::en);
        Locale {
            bundle,
            plain,
            digits,
            problems,
        }
    }
}

/// The ids of a resource's messages.
fn message_ids(resource: &FluentResource) -> Vec<String> {
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

/// An argument of a message: a text (figures come written already) or a
/// count that a message may select on.
pub enum Arg<'a> {
    Text(&'a str),
    Count(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Count(n)
    }
}

impl From<u64> for Arg<'_> {
    fn from(n: u64) -> Self {
        Arg::Count(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Arg<'_> {
    fn from(n: usize) -> Self {
        Arg::Count(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl Lang {
    /// The best of our languages for an `Accept-Language` header: the
    /// highest `q` among those we have, ties to the earlier one.
    pub fn negotiate(accept: Option<&str>) -> Lang {
        Lang::from_accept(accept).unwrap_or(Lang::En)
    }

    /// The language of the POSIX locale variables read through `get`: the
    /// first of `LC_ALL`, `LC_MESSAGES` and `LANG` that is set
    /// (`de_DE.UTF-8` is German); English for `C`, `POSIX`, a language
    /// uptake does not have, or none.
    pub fn from_locale(get: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|var| get(var).filter(|v| !v.is_empty()))
            .and_then(|v| {
                let code = v.split(['_', '.', '@', '-']).next().unwrap_or("");
                Lang::parse(&code.to_ascii_lowercase())
            })
            .unwrap_or(Lang::En)
    }

    /// As [`Lang::negotiate`], `None` when the header names none of ours.
    pub fn from_accept(accept: Option<&str>) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.unwrap_or("").split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            // A weight that is not a number from 0 to 1 ("NaN", "inf",
            // "7") makes the entry count for nothing.
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| {
                    q.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))
                })
                .unwrap_or(0.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    fn locale(self) -> &'static Locale {
        &LOCALES[self as usize]
    }

    /// A fixed text: the message `key` of this language, else English's,
    /// else empty.
    pub fn t(self, key: &str) -> &'static str {
        self.locale()
            .plain
            .get(key)
            .or_else(|| Lang::En.locale().plain.get(key))
            .map_or("", String::as_str)
    }

    /// A message with arguments, else English's; the key itself when no
    /// language has it.
    pub fn tr(self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let value = match value {
                Arg::Text(s) => FluentValue::from(*s),
                Arg::Count(n) => FluentValue::from(*n),
            };
            fluent_args.set(*name, value);
        }
        for lang in [self, Lang::En] {
            let bundle = &lang.locale().bundle;
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, Some(&fluent_args), &mut errors)
                    .into_owned();
            }
        }
        key.to_string()
    }

    /// A label for a column name: its translation, else the name itself.
    pub fn label(self, key: &str) -> &str {
        match self.t(key) {
            "" => key,
            t => t,
        }
    }

    /// A decimal number written with `.` and without grouping ("-1234.5")
    /// in this language's digits ("-1.234,5").
    pub fn decimal(self, s: &str) -> String {
        let digits = &self.locale().digits;
        let (sign, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (digits.minus_sign(), rest),
            None => ("", s),
        };
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let Ok(n) = int.parse::<u64>() else {
            return s.to_string();
        };
        let mut out = format!("{sign}{}", n.to_formatted_string(digits));
        if !frac.is_empty() {
            out.push_str(digits.decimal());
            out.push_str(frac);
        }
        out
    }

    /// A whole number in this language's digits.
    pub fn integer(self, n: i64) -> String {
        self.decimal(&n.to_string())
    }

    /// A table cell as shown to readers: rates as percentages, numbers,
    /// decimals and yes/no in the language, lists of figure names
    /// translated.
    pub fn cell(self, cell: &Cell) -> String {
        match cell {
            Cell::Rate(m) => self.percent(*m as f64 / 1e6),
            Cell::Money(_) | Cell::Int(_) => self.decimal(&Table::cell_text(cell)),
            Cell::Bool(b) => self.t(if *b { "true" } else { "false" }).to_string(),
            Cell::Text(s) if s.is_empty() => format!("({})", self.t("none")),
            Cell::Text(s) if s.contains(';') || s.contains('_') => s
                .split(';')
                .map(|p| self.label(p))
                .collect::<Vec<_>>()
                .join(", "),
            Cell::Empty => "–".to_string(),
            c => Table::cell_text(c),
        }
    }

    /// A segment as readers see it: its values joined by " / ", waves and
    /// regions by name, an empty value as "(none)".
    pub fn segment(
        self,
        dims: &[String],
        values: &[String],
        labels: &crate::model::Labels,
    ) -> String {
        values
            .iter()
            .zip(dims)
            .map(|(v, d)| {
                if d == "wave" || d == "region" {
                    labels.value(d, v, self)
                } else {
                    self.cell(&Cell::Text(v.clone()))
                }
            })
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// An amount of euros given in millionths, with cents.
    pub fn money(self, micros: i64) -> String {
        let cents = (micros as i128 + if micros >= 0 { 5_000 } else { -5_000 }) / 10_000;
        let sign = if cents < 0 { "-" } else { "" };
        self.money_text(&format!(
            "{sign}{}.{:02}",
            cents.abs() / 100,
            cents.abs() % 100
        ))
    }

    /// An amount of euros written as a decimal ("12.50").
    pub fn money_text(self, amount: &str) -> String {
        self.tr("money", &[("amount", (&self.decimal(amount)).into())])
    }

    /// A rate (0..1) as a percentage with one decimal.
    pub fn percent(self, v: f64) -> String {
        let number = self.decimal(&format!("{:.1}", v * 100.0));
        self.tr("percent", &[("number", (&number).into())])
    }

    /// Percentage points with one decimal, without sign.
    pub fn points(self, points: f64) -> String {
        self.decimal(&format!("{:.1}", points.abs()))
    }

    /// A date as this language writes it.
    pub fn date(self, d: chrono::NaiveDate) -> String {
        d.format(self.t("date_format")).to_string()
    }
}

/// What is wrong with the locales: files that do not parse, keys a
/// language lacks or has beyond English's, messages whose variables differ
/// from English's, and messages that do not format with their arguments.
pub fn locale_problems() -> Vec<String> {
    let mut problems: Vec<String> = LOCALES.iter().flat_map(|l| l.problems.clone()).collect();
    let english = variables_of(Lang::En);
    for lang in Lang::ALL.into_iter().skip(1) {
        let theirs = variables_of(lang);
        for (key, vars) in &english {
            match theirs.get(key) {
                None => problems.push(format!("{}: missing key {key}", lang.code())),
                Some(v) if v != vars => problems.push(format!(
                    "{}: {key} uses {v:?}, English uses {vars:?}",
                    lang.code()
                )),
                Some(_) => {}
            }
        }
        for key in theirs.keys().filter(|k| !english.contains_key(*k)) {
            problems.push(format!("{}: key {key} is not in English", lang.code()));
        }
    }
    for lang in Lang::ALL {
        let bundle = &lang.locale().bundle;
        for (key, vars) in variables_of(lang) {
            let mut args = FluentArgs::new();
            for v in &vars {
                args.set(v.clone(), FluentValue::from("x"));
            }
            let Some(pattern) = bundle.get_message(&key).and_then(|m| m.value()) else {
                problems.push(format!("{}: {key} has no value", lang.code()));
                continue;
            };
            let mut errors = Vec::new();
            bundle.format_pattern(pattern, Some(&args), &mut errors);
            if !errors.is_empty() {
                problems.push(format!("{}: {key}: {errors:?}", lang.code()));
            }
        }
    }
    problems
}

/// Each message of a language with the variables it uses, following
/// references to other messages.
fn variables_of(
    lang: Lang,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use fluent_syntax::ast::{Expression, InlineExpression, Pattern, PatternElement};
    type Refs = (std::collections::BTreeSet<String>, Vec<String>);
    fn walk_inline(e: &InlineExpression<&str>, out: &mut Refs) {
        match e {
            InlineExpression::VariableReference { id } => {
                out.0.insert(id.name.to_string());
            }
            InlineExpression::MessageReference { id, .. } => out.1.push(id.name.to_string()),
            InlineExpression::Placeable { expression } => walk(expression, out),
            InlineExpression::FunctionReference { arguments, .. }
            | InlineExpression::TermReference {
                arguments: Some(arguments),
                ..
            } => {
                for a in &arguments.positional {
                    walk_inline(a, out);
                }
            }
            _ => {}
        }
    }
    fn walk(e: &Expression<&str>, out: &mut Refs) {
        match e {
            Expression::Inline(i) => walk_inline(i, out),
            Expression::Select { selector, variants } => {
                walk_inline(selector, out);
                for v in variants {
                    walk_pattern(&v.value, out);
                }
            }
        }
    }
    fn walk_pattern(p: &Pattern<&str>, out: &mut Refs) {
        for el in &p.elements {
            if let PatternElement::Placeable { expression } = el {
                walk(expression, out);
            }
        }
    }
    let mut direct = std::collections::BTreeMap::new();
    for source in SOURCES[lang as usize] {
        let resource = match FluentResource::try_new(source.to_string()) {
            Ok(r) | Err((r, _)) => r,
        };
        for entry in resource.entries() {
            if let fluent_syntax::ast::Entry::Message(m) = entry {
                let mut refs = Refs::default();
                if let Some(p) = &m.value {
                    walk_pattern(p, &mut refs);
                }
                direct.insert(m.id.name.to_string(), refs);
            }
        }
    }
    // A reference shares the caller's arguments: add what it uses.
    direct
        .keys()
        .map(|key| {
            let mut vars = std::collections::BTreeSet::new();
            let mut todo = vec![key.clone()];
            let mut seen = std::collections::BTreeSet::new();
            while let Some(k) = todo.pop() {
                if !seen.insert(k.clone()) {
                    continue;
                }
                if let Some((v, r)) = direct.get(&k) {
                    vars.extend(v.iter().cloned());
                    todo.extend(r.iter().cloned());
                }
            }
            (key.clone(), vars)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_language_we_have() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(Lang::negotiate(Some("fr-FR,en;q=0.5,de;q=0.7")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("pt-BR,en;q=0.5,de;q=0.7")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en-GB, de;q=0")), Lang::En);
        assert_eq!(Lang::negotiate(Some("pt")), Lang::En);
        assert_eq!(Lang::from_accept(Some("pt")), None);
        assert_eq!(Lang::negotiate(Some("nl-BE;q=0.4, da;q=0.6")), Lang::Da);
        // Weights out of range count for nothing.
        assert_eq!(
            Lang::negotiate(Some("de;q=NaN, fr;q=inf, es;q=7, da;q=-1, nl;q=0.5")),
            Lang::Nl
        );
        assert_eq!(
            Lang::negotiate(Some(";;;,,,-;q=,x-de;q=1,;q=0.9")),
            Lang::En
        );
        // A header of 100,000 entries is read once, in linear time.
        let long = "xx;q=0.9,".repeat(100_000) + "fr;q=0.1";
        assert_eq!(Lang::negotiate(Some(&long)), Lang::Fr);
    }

    #[test]
    fn the_command_line_follows_the_locale_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |var: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::from_locale(env(&[])), Lang::En);
        assert_eq!(Lang::from_locale(env(&[("LANG", "de_DE.UTF-8")])), Lang::De);
        assert_eq!(
            Lang::from_locale(env(&[("LANG", "de_DE.UTF-8"), ("LC_MESSAGES", "fr_FR")])),
            Lang::Fr
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", "nl_BE@euro"), ("LC_MESSAGES", "fr_FR")])),
            Lang::Nl
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", ""), ("LANG", "da")])),
            Lang::Da
        );
        for other in ["C", "POSIX", "C.UTF-8", "pt_BR.UTF-8", "\u{7}"] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([("LANG", other)]));
            assert_eq!(Lang::from_locale(env(pairs)), Lang::En, "{other}");
        }
        // Messages with counts take the language's plural forms.
        assert_eq!(
            Lang::En.tr("imported_waves", &[("count", Arg::Count(1))]),
            "imported 1 wave"
        );
        assert_eq!(
            Lang::En.tr("imported_waves", &[("count", Arg::Count(4))]),
            "imported 4 waves"
        );
        assert_eq!(
            Lang::De.tr(
                "imported_events",
                &[("count", Arg::Count(1)), ("files", Arg::Count(2))]
            ),
            "1 Ereignis aus 2 Dateien importiert"
        );
    }

    #[test]
    fn every_locale_has_every_key_of_english_with_the_same_arguments() {
        let problems = locale_problems();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for lang in Lang::ALL {
            assert!(lang.locale().plain.len() > 150, "{}", lang.code());
        }
    }

    #[test]
    fn numbers_amounts_and_dates_follow_each_language() {
        let cases = [
            (Lang::En, "75.1%", "1,234.5", "€1,234.57", "2026-03-29"),
            (Lang::De, "75,1 %", "1.234,5", "1.234,57 €", "29.03.2026"),
            (
                Lang::Fr,
                "75,1 %",
                "1\u{202f}234,5",
                "1\u{202f}234,57 €",
                "29/03/2026",
            ),
            (Lang::Es, "75,1 %", "1.234,5", "1.234,57 €", "29/03/2026"),
            (Lang::Da, "75,1 %", "1.234,5", "1.234,57 €", "29.03.2026"),
            (Lang::Nl, "75,1%", "1.234,5", "€ 1.234,57", "29-03-2026"),
        ];
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 29).expect("a date");
        for (lang, percent, decimal, money, date) in cases {
            assert_eq!(lang.percent(0.7512), percent, "{}", lang.code());
            assert_eq!(lang.decimal("1234.5"), decimal, "{}", lang.code());
            assert_eq!(lang.money(1_234_567_000), money, "{}", lang.code());
            assert_eq!(lang.date(day), date, "{}", lang.code());
        }
        assert_eq!(Lang::De.decimal("-0.81502"), "-0,81502");
        assert_eq!(Lang::En.money(-5_000_000), "€-5.00");
        assert_eq!(Lang::De.decimal("n/a"), "n/a");
    }

    #[test]
    fn a_missing_word_falls_back_to_english() {
        assert_eq!(Lang::Fr.t("no_such_key"), "");
        assert_eq!(Lang::Fr.label("no_such_key"), "no_such_key");
        assert_eq!(Lang::Da.t("apply"), "Anvend");
        let text = Lang::Nl.tr(
            "alert_below",
            &[
                ("figure", "module_utilization".into()),
                ("rate", "40%".into()),
                ("target", "50%".into()),
                ("weeks", Arg::Count(2)),
                ("n", "3".into()),
            ],
        );
        assert_eq!(
            text,
            "modulebenutting 40%, al 2 weken op rij niet boven het doel van 50%; nog 3 modules in gebruik nodig"
        );
    }
}
