//! Dataverse (Dynamics 365) audit records: the `audit` table as the Web
//! API returns it (`GET [org]/api/data/v9.2/audits`, OData JSON with a
//! `value` array, one page per file as `@odata.nextLink` is followed).
//!
//! The time is the raw `createdon` (UTC), never its
//! `@OData.Community.Display.V1.FormattedValue`, which is in the exporting
//! user's time zone. The user is `_userid_value`, a `systemuser` id,
//! lower-cased (id system `dataverse`).

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::{At, Emit, Error, Raw, Reading, refused};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Logins {
    actions: Vec<i64>,
    module: String,
    action: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Unmapped {
    module: String,
}

/// How audit records become events (`connectors/dataverse-audit.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    logins: Logins,
    /// Operation code (as text) -> action.
    operations: BTreeMap<String, String>,
    /// Table logical name (lower case) -> module.
    entities: BTreeMap<String, String>,
    unmapped: Unmapped,
}

/// The bundled mapping of `dataverse-audit`.
pub const BUNDLED: &str = include_str!("../../connectors/dataverse-audit.toml");

impl Mapping {
    pub fn parse(text: &str, file: &str) -> Result<Mapping, Error> {
        let mut mapping: Mapping = toml::from_str(text).map_err(|e| Error::Mapping {
            file: file.into(),
            message: e.to_string(),
        })?;
        mapping.entities = std::mem::take(&mut mapping.entities)
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        Ok(mapping)
    }
}

/// Reads one page of audit records, handing each to `emit`.
pub fn read_audit<E: From<Error>>(
    input: impl Read,
    file: &str,
    mapping: &Mapping,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
) -> Result<(), E> {
    let records = super::json_records(input, file, "value")?;
    for (i, record) in records.iter().enumerate() {
        reading.rows += 1;
        let at = At::Record(i as u64 + 1);
        let text = |name: &str| record.get(name).and_then(|v| v.as_str()).unwrap_or("");
        let code = |name: &str| record.get(name).and_then(serde_json::Value::as_i64);
        let (module, action) = match (code("action"), code("operation")) {
            (Some(a), _) if mapping.logins.actions.contains(&a) => {
                (mapping.logins.module.clone(), mapping.logins.action.clone())
            }
            (_, Some(op)) => {
                let Some(action) = mapping.operations.get(&op.to_string()) else {
                    reading.drop(&format!("operation {op} not mapped"));
                    continue;
                };
                let table = text("objecttypecode").to_lowercase();
                let module = match mapping.entities.get(&table) {
                    Some(module) => module.clone(),
                    None => {
                        reading.unmapped(&format!("objecttypecode {table}"));
                        mapping.unmapped.module.clone()
                    }
                };
                (module, action.clone())
            }
            (_, None) => {
                emit(at, Err(refused("operation", "no operation code")))?;
                continue;
            }
        };
        let time = text("createdon");
        let user = text("_userid_value");
        let row = if time.is_empty() {
            Err(refused("createdon", "no time"))
        } else if user.is_empty() {
            Err(refused("_userid_value", "no user"))
        } else {
            Ok(Raw {
                event_time: time.to_string(),
                user_id: user.to_lowercase(),
                module,
                action,
                client: None,
                key: Some(text("auditid").to_lowercase()).filter(|k| !k.is_empty()),
            })
        };
        emit(at, row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_mapping_parses() {
        let m = Mapping::parse(BUNDLED, "bundled").expect("bundled");
        assert_eq!(
            m.entities.get("incident").map(String::as_str),
            Some("cases")
        );
        assert_eq!(m.operations.get("4").map(String::as_str), Some("view"));
    }
}
