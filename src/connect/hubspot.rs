//! HubSpot's account activity API: login history
//! (`GET /account-info/v3/activity/login`) and the audit log of user
//! actions (`GET /account-info/v3/activity/audit-logs`), one JSON page per
//! file (`results`, with `paging.next.after` for the next page).
//!
//! Users are HubSpot's numeric user ids (id system `hubspot`, as decimal
//! text). Each record's `id` identifies it: a page fetched twice counts
//! once.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::mapping::{Unmapped, parse_toml};
use super::{Emit, Error, Raw, Reading, Row, field, refused};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Logins {
    module: String,
    action: String,
}

/// How records become events (`connectors/hubspot.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    logins: Logins,
    sub_categories: BTreeMap<String, String>,
    categories: BTreeMap<String, String>,
    actions: BTreeMap<String, String>,
    unmapped: Unmapped,
}

/// The bundled mapping of `hubspot-login` and `hubspot-audit`.
pub const BUNDLED: &str = include_str!("../../connectors/hubspot.toml");

impl Mapping {
    pub fn parse(text: &str, file: &str) -> Result<Mapping, Error> {
        parse_toml(text, file)
    }
}

/// A HubSpot user id as decimal text, whether the page gives a number or
/// a string.
fn user_id(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok().map(|n| n.to_string()),
        _ => None,
    }
}

fn event(time: &str, user: Option<String>, module: String, action: String, id: &str) -> Row {
    let Some(user) = user else {
        return Err(refused("userId", "no HubSpot user id (a number)"));
    };
    if time.is_empty() {
        return Err(refused("time", "no time"));
    }
    Ok(Raw {
        event_time: time.to_string(),
        user_id: user,
        module,
        action,
        client: None,
        key: (!id.is_empty()).then(|| id.to_string()),
    })
}

/// Reads one page of login history: each successful login is an event.
pub fn read_logins<E: From<Error>>(
    input: impl Read,
    file: &str,
    mapping: &Mapping,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
) -> Result<(), E> {
    super::read_records(input, file, "results", reading, emit, |record, reading| {
        if record
            .get("loginSucceeded")
            .and_then(serde_json::Value::as_bool)
            != Some(true)
        {
            reading.drop("failed login");
            return None;
        }
        Some(event(
            field(record, "loginAt"),
            user_id(record.get("userId")),
            mapping.logins.module.clone(),
            mapping.logins.action.clone(),
            field(record, "id"),
        ))
    })
}

/// Reads one page of the audit log.
pub fn read_audit<E: From<Error>>(
    input: impl Read,
    file: &str,
    mapping: &Mapping,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
) -> Result<(), E> {
    super::read_records(input, file, "results", reading, emit, |record, reading| {
        let action = field(record, "action");
        let Some(action) = mapping.actions.get(action) else {
            reading.drop(&format!("action {action} not mapped"));
            return None;
        };
        let (category, sub) = (field(record, "category"), field(record, "subCategory"));
        let module = match mapping
            .sub_categories
            .get(sub)
            .or_else(|| mapping.categories.get(category))
        {
            Some(module) => module.clone(),
            None => {
                reading.unmapped(&format!("category {category}/{sub}"));
                mapping.unmapped.module.clone()
            }
        };
        Some(event(
            field(record, "occurredAt"),
            user_id(record.get("actingUser").and_then(|u| u.get("userId"))),
            module,
            action.clone(),
            field(record, "id"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_decimal_text() {
        assert_eq!(
            user_id(Some(&serde_json::json!(876))).as_deref(),
            Some("876")
        );
        assert_eq!(
            user_id(Some(&serde_json::json!("089274502"))).as_deref(),
            Some("89274502")
        );
        assert_eq!(user_id(Some(&serde_json::json!("anna"))), None);
        assert!(Mapping::parse(BUNDLED, "bundled").is_ok());
    }
}
