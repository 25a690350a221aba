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

use super::mapping::{Unmapped, lower_keys, module_of, parse_toml};
use super::{Emit, Error, Raw, Reading, Row, field, refused};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Logins {
    actions: Vec<i64>,
    module: String,
    action: String,
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
        let mut mapping: Mapping = parse_toml(text, file)?;
        mapping.entities = lower_keys(std::mem::take(&mut mapping.entities));
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
    super::read_records(input, file, "value", reading, emit, |record, reading| {
        audit_event(record, mapping, reading)
    })
}

/// One audit record: an event, a refusal, or `None` when it is no
/// activity (counted in `reading`).
fn audit_event(
    record: &serde_json::Value,
    mapping: &Mapping,
    reading: &mut Reading,
) -> Option<Row> {
    let text = |name: &str| field(record, name);
    let code = |name: &str| record.get(name).and_then(serde_json::Value::as_i64);
    let (module, action) = match (code("action"), code("operation")) {
        (Some(a), _) if mapping.logins.actions.contains(&a) => {
            (mapping.logins.module.clone(), mapping.logins.action.clone())
        }
        (_, Some(op)) => {
            let Some(action) = mapping.operations.get(&op.to_string()) else {
                reading.drop(&format!("operation {op} not mapped"));
                return None;
            };
            let table = text("objecttypecode");
            let module = module_of(
                &mapping.entities,
                &mapping.unmapped,
                "objecttypecode",
                table,
                reading,
            );
            (module, action.clone())
        }
        (_, None) => return Some(Err(refused("operation", "no operation code"))),
    };
    let (time, user) = (text("createdon"), text("_userid_value"));
    Some(if time.is_empty() {
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
    })
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
