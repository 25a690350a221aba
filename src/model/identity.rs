//! The same person under other ids: a Salesforce user id, an e-mail
//! address or user principal name, a HubSpot user id. Each kind of id is
//! normalised one way ([`normalise`]) before it is stored or looked up.

use super::tables::{FieldError, Fields, Licensee, Table};

/// An alias of a directory `user_id` in one id system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    /// `salesforce`, `email`, `upn`, `entra` (object ids), `dataverse`
    /// (`systemuser` ids), `hubspot` or `employee`.
    pub source: String,
    /// Normalised ([`normalise`]).
    pub alias: String,
    /// `source` and `alias` together: unique in the table.
    key: String,
}

/// The id systems aliases may come from.
pub const ID_SOURCES: [&str; 7] = [
    "salesforce",
    "email",
    "upn",
    "entra",
    "dataverse",
    "hubspot",
    "employee",
];

/// Columns a directory may carry with each user's id in another id
/// system: (column, id system).
pub const ALIAS_COLUMNS: [(&str, &str); 7] = [
    ("salesforce_id", "salesforce"),
    ("email", "email"),
    ("upn", "upn"),
    ("entra_id", "entra"),
    ("dataverse_id", "dataverse"),
    ("hubspot_id", "hubspot"),
    ("employee_id", "employee"),
];

/// A directory row with the aliases of its alias columns
/// ([`ALIAS_COLUMNS`]; an empty cell is no alias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRow {
    pub licensee: Licensee,
    pub aliases: Vec<Identity>,
}

impl Table for DirectoryRow {
    const NAME: &'static str = Licensee::NAME;
    const REQUIRED: &'static [&'static str] = Licensee::REQUIRED;
    const OPTIONAL: &'static [&'static str] = Licensee::OPTIONAL;
    const ID_COLUMN: &'static str = Licensee::ID_COLUMN;

    fn from_fields(f: &dyn Fields) -> Result<Self, FieldError> {
        let licensee = Licensee::from_fields(f)?;
        let mut aliases = Vec::new();
        for (column, system) in ALIAS_COLUMNS {
            if let Some(alias) = f.optional(column)?.filter(|a| !a.trim().is_empty()) {
                let alias = normalise(system, &alias).map_err(|r| FieldError::new(column, r))?;
                aliases.push(Identity::new(
                    licensee.user_id.clone(),
                    system.to_string(),
                    alias,
                ));
            }
        }
        Ok(DirectoryRow { licensee, aliases })
    }

    fn id(&self) -> &str {
        self.licensee.id()
    }
}

/// Refuses an alias that two rows give to different users: the row of the
/// second, with the column.
pub fn check_unique_aliases(rows: &[DirectoryRow]) -> Result<(), super::tables::RowProblem> {
    let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (row, r) in rows.iter().enumerate() {
        for alias in &r.aliases {
            match first.insert(&alias.key, &alias.user_id) {
                Some(other) if other != alias.user_id => {
                    let column = ALIAS_COLUMNS
                        .iter()
                        .find(|(_, system)| *system == alias.source)
                        .map_or("alias", |(column, _)| column);
                    return Err(super::tables::RowProblem {
                        row,
                        error: FieldError::new(
                            column,
                            format!(
                                "'{}' is already the {} id of user '{other}'",
                                alias.alias, alias.source
                            ),
                        ),
                    });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

impl Identity {
    pub fn new(user_id: String, source: String, alias: String) -> Identity {
        let key = format!("{source}\u{1f}{alias}");
        Identity {
            user_id,
            source,
            alias,
            key,
        }
    }
}

/// An id as the id system `source` means it, in the one form uptake
/// stores and compares: Salesforce ids in their 18-character form (case
/// kept: 15-character ids are case-sensitive), e-mail addresses, user
/// principal names and Entra object ids lower-cased, HubSpot's numeric ids
/// as decimal text, employee numbers as given. The reason when the id
/// cannot be one of that system.
pub fn normalise(source: &str, id: &str) -> Result<String, String> {
    let id = id.trim();
    if id.is_empty() {
        return Err("the id is empty".into());
    }
    match source {
        "salesforce" => salesforce_id18(id)
            .ok_or_else(|| format!("'{id}' is not a 15- or 18-character Salesforce id")),
        "email" | "upn" | "entra" | "dataverse" => Ok(id.to_lowercase()),
        "hubspot" => id
            .parse::<u64>()
            .map(|n| n.to_string())
            .map_err(|_| format!("'{id}' is not a HubSpot user id (a number)")),
        "employee" => Ok(id.to_string()),
        other => Err(format!(
            "unknown id source '{other}': use one of {}",
            ID_SOURCES.join(", ")
        )),
    }
}

/// The 18-character, case-insensitive form of a Salesforce id: a
/// 15-character id gets the checksum of its upper-case letters; an
/// 18-character id is kept. `None` for anything else.
pub fn salesforce_id18(id: &str) -> Option<String> {
    const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        18 => Some(id.to_string()),
        15 => {
            let mut out = id.to_string();
            for chunk in id.as_bytes().chunks(5) {
                let bits = chunk
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_ascii_uppercase())
                    .fold(0usize, |acc, (i, _)| acc | (1 << i));
                out.push(char::from(SUFFIX[bits]));
            }
            Some(out)
        }
        _ => None,
    }
}

impl Table for Identity {
    const NAME: &'static str = "identities";
    const REQUIRED: &'static [&'static str] = &["user_id", "source", "alias"];
    const OPTIONAL: &'static [&'static str] = &[];
    const ID_COLUMN: &'static str = "alias";

    fn from_fields(f: &dyn Fields) -> Result<Self, FieldError> {
        let source = f.required("source")?.to_lowercase();
        let alias = normalise(&source, &f.required("alias")?).map_err(|reason| {
            let column = if ID_SOURCES.contains(&source.as_str()) {
                "alias"
            } else {
                "source"
            };
            FieldError::new(column, reason)
        })?;
        Ok(Identity::new(f.required("user_id")?, source, alias))
    }

    fn id(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_system_has_one_form() {
        assert_eq!(
            normalise("salesforce", "001A0000006Vm9r").as_deref(),
            Ok("001A0000006Vm9rIAC")
        );
        // Case twins stay two people.
        assert_ne!(
            normalise("salesforce", "0055j000001abcd"),
            normalise("salesforce", "0055j000001ABCD")
        );
        assert_eq!(
            normalise("upn", " Anna.Berg@Example.COM ").as_deref(),
            Ok("anna.berg@example.com")
        );
        assert_eq!(normalise("hubspot", "0042").as_deref(), Ok("42"));
        assert_eq!(normalise("employee", "E10442").as_deref(), Ok("E10442"));
        assert!(normalise("hubspot", "anna").is_err());
        assert!(
            normalise("sap", "x")
                .expect_err("unknown")
                .contains("unknown id source")
        );
    }
}
