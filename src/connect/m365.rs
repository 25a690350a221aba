//! Microsoft 365 active user details: the CSV that Microsoft Graph's
//! `getOffice365ActiveUserDetail` returns (a byte order mark, CRLF line
//! ends, quoted names with commas).
//!
//! A row is one user (`User Principal Name`, id system `upn`) with one
//! `<Product> Last Activity Date` column per product. Each date becomes
//! one event of the product's module on that date at 12:00 UTC
//! ([`Mapping`]). With `period=D7` (or D30 ...) only each product's last
//! active day in the period is known: the figures are an approximation
//! that counts a user active in the week of their last activity only.
//! With `date=YYYY-MM-DD`, one file per day, every active day is there:
//! exact daily activity. The same day read again from another file is one
//! event (the identity of an event, `store::seen`).

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::mapping::{Unmapped, parse_toml};
use super::{Emit, Error, Raw, Reading, csv_field, refused};

/// How the rows become events (`connectors/m365-active-users.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    action: String,
    products: BTreeMap<String, String>,
    unmapped: Unmapped,
}

/// The bundled mapping of `m365-active-users`.
pub const BUNDLED: &str = include_str!("../../connectors/m365-active-users.toml");

impl Mapping {
    pub fn parse(text: &str, file: &str) -> Result<Mapping, Error> {
        parse_toml(text, file)
    }
}

const USER: &str = "User Principal Name";
const LAST_ACTIVITY: &str = " Last Activity Date";

/// Where a file's fields are.
struct Columns {
    user: usize,
    /// Each product's last activity column: (product, index).
    products: Vec<(String, usize)>,
}

/// Reads one report, handing each user's active days to `emit`.
pub fn read_active_users<E: From<Error>>(
    input: impl Read,
    file: &str,
    mapping: &Mapping,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
) -> Result<(), E> {
    let columns = |headers: &csv::StringRecord| {
        let user = headers
            .iter()
            .position(|h| h.trim() == USER)
            .ok_or("no 'User Principal Name' column: this is not getOffice365ActiveUserDetail")?;
        let products: Vec<(String, usize)> = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((h.trim().strip_suffix(LAST_ACTIVITY)?.to_string(), i)))
            .collect();
        if products.is_empty() {
            return Err("no '<Product> Last Activity Date' column".to_string());
        }
        Ok(Columns { user, products })
    };
    super::read_csv(
        input,
        file,
        reading,
        emit,
        columns,
        |columns: &Columns, record, reading, emit| {
            let user = csv_field(record, Some(columns.user));
            if user.is_empty() {
                return emit(Err(refused(USER, "no user")));
            }
            if !user.contains('@') {
                reading.drop(
                    "concealed user name (turn off concealed names in the Microsoft 365 admin center, Settings, Org settings, Reports)",
                );
                return Ok(());
            }
            for (product, index) in &columns.products {
                let date = csv_field(record, Some(*index));
                if date.is_empty() {
                    continue;
                }
                let column = format!("{product}{LAST_ACTIVITY}");
                if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                    emit(Err(refused(
                        &column,
                        format!("'{date}' is not a date (YYYY-MM-DD)"),
                    )))?;
                    continue;
                }
                let module = match mapping.products.get(product) {
                    Some(module) => module.clone(),
                    None => {
                        reading.unmapped(&format!("product {product}"));
                        mapping.unmapped.module.clone()
                    }
                };
                emit(Ok(Raw {
                    event_time: format!("{date}T12:00:00Z"),
                    user_id: user.to_lowercase(),
                    module,
                    action: mapping.action.clone(),
                    client: None,
                    key: None,
                }))?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_mapping_reads() {
        let mapping = Mapping::parse(BUNDLED, "bundled").expect("mapping");
        assert_eq!(mapping.products["Teams"], "teams");
    }
}
