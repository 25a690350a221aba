//! Salesforce Event Monitoring log files (EventLogFile CSVs, one event
//! type per file or several): read by their header, each row to one event
//! or a dropped row with its reason.
//!
//! Times: `TIMESTAMP_DERIVED` (ISO 8601) when present, else `TIMESTAMP`
//! (`yyyyMMddHHmmss.SSS` in GMT, 0 to 3 fraction digits). Users:
//! `USER_ID_DERIVED` (18 characters) when present, else `USER_ID` turned
//! into its 18-character form ([`id18`]); ids are case-sensitive and never
//! lower-cased.

use std::io::Read;

use super::mapping::{Mapping, Way};
use super::{Emit, Error, Raw, Reading, Row, refused};

/// The 18-character form of a Salesforce id.
pub use crate::model::identity::salesforce_id18 as id18;

/// `yyyyMMddHHmmss.SSS` in GMT (0 to 3 fraction digits) as RFC 3339.
pub fn elf_timestamp(text: &str) -> Option<String> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 14
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 3
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let millis = format!("{fraction:0<3}");
    Some(format!(
        "{}-{}-{}T{}:{}:{}.{millis}Z",
        &whole[0..4],
        &whole[4..6],
        &whole[6..8],
        &whole[8..10],
        &whole[10..12],
        &whole[12..14]
    ))
}

/// Reads an EventLogFile CSV, handing each row to `emit` as an event or a
/// refusal (line, field, reason); rows that are no activity (failed
/// logins, unmapped event types) are counted in `reading`.
pub fn read_elf<E: From<Error>>(
    input: impl Read,
    file: &str,
    mapping: &Mapping,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
) -> Result<(), E> {
    let columns = |headers: &csv::StringRecord| {
        let index = |name: &str| headers.iter().position(|h| h.trim() == name);
        let columns = Columns {
            event_type: index("EVENT_TYPE")
                .ok_or("no EVENT_TYPE column: this is not an EventLogFile CSV")?,
            timestamp_derived: index("TIMESTAMP_DERIVED"),
            timestamp: index("TIMESTAMP"),
            user_id_derived: index("USER_ID_DERIVED"),
            user_id: index("USER_ID"),
            page_entity_type: index("PAGE_ENTITY_TYPE"),
            page_url: index("PAGE_URL"),
            uri: index("URI"),
            login_status: index("LOGIN_STATUS"),
        };
        if columns.timestamp_derived.is_none() && columns.timestamp.is_none() {
            return Err("neither TIMESTAMP_DERIVED nor TIMESTAMP".to_string());
        }
        if columns.user_id_derived.is_none() && columns.user_id.is_none() {
            return Err("neither USER_ID_DERIVED nor USER_ID".to_string());
        }
        Ok(columns)
    };
    super::read_csv(
        input,
        file,
        reading,
        emit,
        columns,
        |columns: &Columns, record, reading, emit| match columns.event(record, mapping, reading) {
            Some(event) => emit(event),
            None => Ok(()),
        },
    )
}

/// Where the fields uptake reads are in a file's rows.
struct Columns {
    event_type: usize,
    timestamp_derived: Option<usize>,
    timestamp: Option<usize>,
    user_id_derived: Option<usize>,
    user_id: Option<usize>,
    page_entity_type: Option<usize>,
    page_url: Option<usize>,
    uri: Option<usize>,
    login_status: Option<usize>,
}

impl Columns {
    /// One row: an event, a refusal, or `None` for a row that is no
    /// activity (counted in `reading`).
    fn event(
        &self,
        record: &csv::ByteRecord,
        mapping: &Mapping,
        reading: &mut Reading,
    ) -> Option<Row> {
        let field = |i: Option<usize>| super::csv_field(record, i);
        let event_type = field(Some(self.event_type));
        let Some(way) = mapping.way(event_type) else {
            reading.drop(&format!("event type {event_type} not mapped"));
            return None;
        };
        if way == Way::Login {
            let status = field(self.login_status);
            if !status.is_empty() && status != "LOGIN_NO_ERROR" {
                reading.drop("failed login");
                return None;
            }
        }
        let time = match (field(self.timestamp_derived), field(self.timestamp)) {
            (derived, _) if !derived.is_empty() => derived.to_string(),
            (_, raw) if !raw.is_empty() => match elf_timestamp(raw) {
                Some(t) => t,
                None => {
                    return Some(Err(refused(
                        "TIMESTAMP",
                        format!("'{raw}' is not yyyyMMddHHmmss.SSS"),
                    )));
                }
            },
            _ => return Some(Err(refused("TIMESTAMP", "no time"))),
        };
        let user = match (field(self.user_id_derived), field(self.user_id)) {
            (derived, _) if !derived.is_empty() => derived.to_string(),
            (_, raw) if !raw.is_empty() => match id18(raw) {
                Some(id) => id,
                None => {
                    return Some(Err(refused(
                        "USER_ID",
                        format!("'{raw}' is not a 15- or 18-character Salesforce id"),
                    )));
                }
            },
            _ => return Some(Err(refused("USER_ID", "no user"))),
        };
        let module = match way {
            Way::Page => {
                mapping.page_module(field(self.page_entity_type), field(self.page_url), reading)
            }
            Way::Uri => mapping.uri_module(field(self.uri), reading),
            Way::Login | Way::Logout => mapping.platform_module().to_string(),
        };
        Some(Ok(Raw {
            event_time: time,
            user_id: user,
            module,
            action: mapping.action(way).to_string(),
            client: None,
            key: None,
        }))
    }
}

/// Reads the results of a REST/SOQL query of the real-time `LoginEvent`
/// object (`{"records": [...]}`, one page per file, or a bare array):
/// each successful login is an event of the platform module.
pub fn read_login_events<E: From<Error>>(
    input: impl Read,
    file: &str,
    mapping: &Mapping,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
) -> Result<(), E> {
    super::read_records(input, file, "records", reading, emit, |record, reading| {
        let text = |name: &str| super::field(record, name);
        if text("Status") != "Success" {
            reading.drop("failed login");
            return None;
        }
        Some(login_event(
            text("EventDate"),
            text("UserId"),
            text("EventIdentifier"),
            mapping,
        ))
    })
}

/// `key` is the record's `EventIdentifier`, unique per login.
fn login_event(date: &str, user: &str, key: &str, mapping: &Mapping) -> Row {
    if date.is_empty() {
        return Err(refused("EventDate", "no time"));
    }
    let Some(user) = id18(user) else {
        return Err(refused(
            "UserId",
            format!("'{user}' is not a 15- or 18-character Salesforce id"),
        ));
    };
    Ok(Raw {
        event_time: with_offset_colon(date),
        user_id: user,
        module: mapping.platform_module().to_string(),
        action: mapping.action(Way::Login).to_string(),
        client: None,
        key: (!key.is_empty()).then(|| key.to_string()),
    })
}

/// `...+0000` (Salesforce's offsets) as `...+00:00` (RFC 3339).
fn with_offset_colon(time: &str) -> String {
    let bytes = time.as_bytes();
    let n = bytes.len();
    if n > 5
        && (bytes[n - 5] == b'+' || bytes[n - 5] == b'-')
        && bytes[n - 4..].iter().all(u8::is_ascii_digit)
    {
        format!("{}:{}", &time[..n - 2], &time[n - 2..])
    } else {
        time.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_character_ids_get_their_checksum() {
        // Salesforce's documented example pair, and case twins that differ
        // only in case and so in their checksum.
        assert_eq!(
            id18("001A0000006Vm9r").as_deref(),
            Some("001A0000006Vm9rIAC")
        );
        assert_eq!(
            id18("0055j000001abcd").as_deref(),
            Some("0055j000001abcdAAA")
        );
        assert_eq!(
            id18("0055j000001ABCD").as_deref(),
            Some("0055j000001ABCDAA4")
        );
        assert_eq!(
            id18("0055j000001AbCdAAI").as_deref(),
            Some("0055j000001AbCdAAI")
        );
        assert_eq!(id18("0055j00000"), None);
        assert_eq!(id18("0055j000001-bcd"), None);
    }

    #[test]
    fn salesforce_offsets_get_their_colon() {
        assert_eq!(
            with_offset_colon("2026-11-02T07:15:00.000+0000"),
            "2026-11-02T07:15:00.000+00:00"
        );
        assert_eq!(
            with_offset_colon("2026-11-02T07:15:00Z"),
            "2026-11-02T07:15:00Z"
        );
    }

    #[test]
    fn elf_timestamps_are_gmt_with_up_to_three_fraction_digits() {
        assert_eq!(
            elf_timestamp("20261123073015.123").as_deref(),
            Some("2026-11-23T07:30:15.123Z")
        );
        assert_eq!(
            elf_timestamp("20261123073015.1").as_deref(),
            Some("2026-11-23T07:30:15.100Z")
        );
        assert_eq!(
            elf_timestamp("20261123073015").as_deref(),
            Some("2026-11-23T07:30:15.000Z")
        );
        assert_eq!(elf_timestamp("2026112307301"), None);
        assert_eq!(elf_timestamp("20261123073015.1234"), None);
    }
}
