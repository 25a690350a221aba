//! Office 365 Management Activity API content blobs (JSON arrays of audit
//! records) with `Workload` `CRM`: Dynamics 365 activity as Microsoft 365
//! audits it.
//!
//! `CreationTime` carries no offset and is UTC. Records repeat across
//! blobs and come out of order: one `Id` is one event. `UserId` is a user
//! principal name whose case changes between records: lower-cased (id
//! system `upn`).

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::{At, Emit, Error, Raw, Reading, refused};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Unmapped {
    module: String,
}

/// How records become events (`connectors/o365-management.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    messages: BTreeMap<String, String>,
    entities: BTreeMap<String, String>,
    unmapped: Unmapped,
}

/// The bundled mapping of `o365-management`.
pub const BUNDLED: &str = include_str!("../../connectors/o365-management.toml");

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

/// Reads one content blob, handing each record to `emit`.
pub fn read_blob<E: From<Error>>(
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
        let workload = text("Workload");
        if workload != "CRM" {
            reading.drop(&format!("workload {workload} is not Dynamics 365"));
            continue;
        }
        let message = text("Message");
        let Some(action) = mapping.messages.get(message) else {
            reading.drop(&format!("message {message} not mapped"));
            continue;
        };
        let entity = text("EntityName").to_lowercase();
        let module = match mapping.entities.get(&entity) {
            Some(module) => module.clone(),
            None => {
                reading.unmapped(&format!("EntityName {entity}"));
                mapping.unmapped.module.clone()
            }
        };
        let (time, user, id) = (text("CreationTime"), text("UserId"), text("Id"));
        let row = if time.is_empty() {
            Err(refused("CreationTime", "no time"))
        } else if user.is_empty() {
            Err(refused("UserId", "no user"))
        } else if id.is_empty() {
            Err(refused("Id", "no record id"))
        } else {
            Ok(Raw {
                event_time: utc(time),
                user_id: user.to_lowercase(),
                module,
                action: action.clone(),
                client: None,
                key: Some(id.to_lowercase()),
            })
        };
        emit(at, row)?;
    }
    Ok(())
}

/// A time without an offset, as the API gives it, marked as UTC.
fn utc(time: &str) -> String {
    let has_offset = time.ends_with('Z')
        || time
            .rsplit_once('T')
            .is_some_and(|(_, clock)| clock.contains('+') || clock.contains('-'));
    if has_offset {
        time.to_string()
    } else {
        format!("{time}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_without_an_offset_are_utc() {
        assert_eq!(utc("2026-11-02T07:15:00"), "2026-11-02T07:15:00Z");
        assert_eq!(utc("2026-11-02T07:15:00Z"), "2026-11-02T07:15:00Z");
        assert_eq!(
            utc("2026-11-02T07:15:00+01:00"),
            "2026-11-02T07:15:00+01:00"
        );
        assert!(Mapping::parse(BUNDLED, "bundled").is_ok());
    }
}
