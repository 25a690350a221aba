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

use super::mapping::{Unmapped, lower_keys, module_of, parse_toml};
use super::{Emit, Error, Raw, Reading, Row, field, refused};

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
        let mut mapping: Mapping = parse_toml(text, file)?;
        mapping.entities = lower_keys(std::mem::take(&mut mapping.entities));
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
    super::read_records(input, file, "value", reading, emit, |record, reading| {
        crm_event(record, mapping, reading)
    })
}

/// One audit record: an event, a refusal, or `None` when it is no
/// Dynamics 365 activity (counted in `reading`).
fn crm_event(record: &serde_json::Value, mapping: &Mapping, reading: &mut Reading) -> Option<Row> {
    let text = |name: &str| field(record, name);
    let workload = text("Workload");
    if workload != "CRM" {
        reading.drop(&format!("workload {workload} is not Dynamics 365"));
        return None;
    }
    let message = text("Message");
    let Some(action) = mapping.messages.get(message) else {
        reading.drop(&format!("message {message} not mapped"));
        return None;
    };
    let module = module_of(
        &mapping.entities,
        &mapping.unmapped,
        "EntityName",
        text("EntityName"),
        reading,
    );
    let (time, user, id) = (text("CreationTime"), text("UserId"), text("Id"));
    Some(if time.is_empty() {
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
    })
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
