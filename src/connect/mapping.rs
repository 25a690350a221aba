//! Mappings as data: how a source's fields become `module` and `action`
//! (`connectors/*.toml`, bundled, or `--mapping FILE`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Error, Reading, Result};

/// How the rows of one event type are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    /// A page view: module from the page's entity type.
    Page,
    /// A request: module from the record id's key prefix in the URI.
    Uri,
    Login,
    Logout,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Platform {
    module: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Home {
    paths: Vec<String>,
}

/// What a value a mapping does not know becomes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmapped {
    pub module: String,
}

/// Reads a mapping of any source from TOML; `file` names it in errors.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| Error::Mapping {
        file: file.into(),
        message: e.to_string(),
    })
}

/// A table of names compared case-insensitively: its keys lower-cased.
pub fn lower_keys(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect()
}

/// The module of a table name (`entities` keyed in lower case), or the
/// unmapped module with the value counted as `label name`.
pub fn module_of(
    entities: &BTreeMap<String, String>,
    unmapped: &Unmapped,
    label: &str,
    name: &str,
    reading: &mut Reading,
) -> String {
    // A few dozen names: compared in place, without a lower-cased copy.
    let found = entities
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, module)| module);
    match found {
        Some(module) => module.clone(),
        None => {
            reading.unmapped(&format!("{label} {name}"));
            unmapped.module.clone()
        }
    }
}

/// A Salesforce Event Monitoring mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    event_types: BTreeMap<String, Way>,
    actions: BTreeMap<String, String>,
    platform: Platform,
    /// Keys lower-cased when loaded.
    entity_types: BTreeMap<String, String>,
    key_prefixes: BTreeMap<String, String>,
    home: Home,
    unmapped: Unmapped,
}

/// The bundled mapping of `salesforce-elf`.
pub const SALESFORCE_ELF: &str = include_str!("../../connectors/salesforce-elf.toml");

impl Mapping {
    /// Reads a mapping; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Mapping> {
        let mut mapping: Mapping = parse_toml(text, file)?;
        mapping.entity_types = lower_keys(std::mem::take(&mut mapping.entity_types));
        for way in mapping.event_types.values() {
            if !mapping.actions.contains_key(way.name()) {
                return Err(Error::Mapping {
                    file: file.into(),
                    message: format!("[actions] lacks {}", way.name()),
                });
            }
        }
        Ok(mapping)
    }

    pub fn way(&self, event_type: &str) -> Option<Way> {
        self.event_types.get(event_type).copied()
    }

    pub fn action(&self, way: Way) -> &str {
        self.actions.get(way.name()).map_or("", String::as_str)
    }

    pub fn platform_module(&self) -> &str {
        &self.platform.module
    }

    fn is_home(&self, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or("");
        self.home.paths.iter().any(|h| h == path)
    }

    fn unmapped(&self, what: &str, reading: &mut Reading) -> String {
        reading.unmapped(what);
        self.unmapped.module.clone()
    }

    /// The module of a page view.
    pub fn page_module(&self, entity_type: &str, page_url: &str, reading: &mut Reading) -> String {
        if entity_type.is_empty() {
            if self.is_home(page_url) {
                return self
                    .entity_types
                    .get("home")
                    .cloned()
                    .unwrap_or_else(|| "home".into());
            }
            return self.unmapped(&format!("PAGE_URL {page_url}"), reading);
        }
        module_of(
            &self.entity_types,
            &self.unmapped,
            "PAGE_ENTITY_TYPE",
            entity_type,
            reading,
        )
    }

    /// The module of a request, by the key prefix of the record id it
    /// names (`/001...`, `/lightning/r/001.../view`).
    pub fn uri_module(&self, uri: &str, reading: &mut Reading) -> String {
        if self.is_home(uri) {
            return self
                .entity_types
                .get("home")
                .cloned()
                .unwrap_or_else(|| "home".into());
        }
        let id = uri
            .split(['/', '?', '#'])
            .find(|part| part.len() >= 15 && part.bytes().all(|b| b.is_ascii_alphanumeric()))
            .or_else(|| uri.split('/').find(|p| p.len() == 3));
        let module = id
            .and_then(|id| id.get(..3))
            .and_then(|p| self.key_prefixes.get(p));
        match module {
            Some(module) => module.clone(),
            None => self.unmapped(&format!("URI {uri}"), reading),
        }
    }
}

impl Way {
    pub fn name(self) -> &'static str {
        match self {
            Way::Page => "page",
            Way::Uri => "uri",
            Way::Login => "login",
            Way::Logout => "logout",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_mapping_reads_standard_objects_and_counts_the_rest() {
        let m = Mapping::parse(SALESFORCE_ELF, "bundled").expect("bundled");
        let mut r = Reading::default();
        assert_eq!(m.page_module("Opportunity", "", &mut r), "opportunities");
        assert_eq!(m.page_module("OPPORTUNITY", "", &mut r), "opportunities");
        assert_eq!(m.page_module("", "/lightning/page/home", &mut r), "home");
        assert_eq!(m.uri_module("/0065j00000AbCdE", &mut r), "opportunities");
        assert_eq!(
            m.uri_module("/lightning/r/0015j00000XyZ12AAB/view", &mut r),
            "accounts"
        );
        assert_eq!(m.uri_module("/00Q/o", &mut r), "leads");
        assert_eq!(m.uri_module("/home/home.jsp", &mut r), "home");
        assert!(r.unmapped.is_empty());
        assert_eq!(m.page_module("Invoice__c", "", &mut r), "other");
        assert_eq!(m.uri_module("/apex/custom", &mut r), "other");
        assert_eq!(r.unmapped.get("PAGE_ENTITY_TYPE Invoice__c"), Some(&1));
        assert_eq!(r.unmapped.get("URI /apex/custom"), Some(&1));
    }

    #[test]
    fn a_mapping_without_an_action_for_a_way_is_refused() {
        let text = SALESFORCE_ELF.replace("login = \"login\"\n", "");
        let err = Mapping::parse(&text, "m.toml")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("m.toml") && err.contains("lacks login"),
            "{err}"
        );
    }
}
