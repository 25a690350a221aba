//! Subscriptions made on the pages, and opt-outs from the unsubscribe
//! links of mails.
//!
//! A subscription is a report sent to one uptake user (their e-mail
//! address and scope) in a language, on a schedule: a TOML file in
//! `<data>/subscriptions/ID.toml`, run as the report `sub-ID` through the
//! same run log as the reports of `reports/*.toml`. An opt-out
//! (`<data>/subscriptions/opt-outs.json`) stops a report's or alert's
//! mails to one address, for recipients named in a definition file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::report::{Report, ScheduleDef, Target};

use super::deliver::write_atomically;

/// Most subscriptions one user may have.
pub const MAX_PER_USER: usize = 20;
/// Most subscriptions in a data directory.
pub const MAX_ALL: usize = 10_000;
/// Slots of a subscription's schedule are at least this far apart.
pub const MIN_GAP: chrono::Duration = chrono::Duration::hours(1);

/// The schedules offered on the pages: name, cron.
pub const CHOICES: [(&str, &str); 4] = [
    ("weekly", "0 7 * * MON"),
    ("daily", "0 7 * * MON-FRI"),
    ("biweekly", "0 7 1,15 * *"),
    ("monthly", "0 7 1 * *"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    #[serde(skip)]
    pub id: String,
    pub report: String,
    /// The uptake user it goes to.
    pub user: String,
    pub language: String,
    pub cron: String,
    /// Who made it (`user:NAME`).
    pub created_by: String,
    pub created: String,
}

impl Subscription {
    /// The report as it runs for this subscription: the named report in
    /// the subscription's language, schedule and recipient.
    pub fn as_report(&self, reports: &[Report], email: &str) -> Option<Report> {
        let base = reports.iter().find(|r| r.name == self.report)?;
        let mut report = base.in_language(Lang::parse(&self.language).unwrap_or(base.lang));
        report.name = run_name(&self.id);
        report.schedule = Some(ScheduleDef {
            cron: self.cron.clone(),
            catch_up: true,
            timezone: None,
        });
        report.deliver = vec![Target {
            email: Some(vec![email.to_string()]),
            ..Target::default()
        }];
        report.subscription = Some(self.id.clone());
        Some(report)
    }
}

/// The name a subscription's runs carry in the run log.
pub fn run_name(id: &str) -> String {
    format!("sub-{id}")
}

fn dir(data: &Path) -> PathBuf {
    data.join("subscriptions")
}

fn valid_id(id: &str) -> bool {
    (8..=32).contains(&id.len()) && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// Every subscription, by id. A file that cannot be read is logged and
/// left out: one bad file stops no other subscription.
pub fn list(data: &Path) -> Vec<Subscription> {
    let Ok(entries) = std::fs::read_dir(dir(data)) else {
        return Vec::new();
    };
    let mut all: Vec<Subscription> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let id = path.file_stem()?.to_str()?.to_string();
            if path.extension()? != "toml" || !valid_id(&id) {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            match toml::from_str::<Subscription>(&text) {
                Ok(s) => Some(Subscription { id, ..s }),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "a subscription cannot be read; it is not sent");
                    None
                }
            }
        })
        .collect();
    all.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    all
}

/// The reports the subscriptions run as, for users that exist and have
/// an e-mail address.
pub fn as_reports(data: &Path, reports: &[Report]) -> Vec<Report> {
    let users = crate::auth::users::Users::new(data);
    list(data)
        .iter()
        .filter_map(|s| {
            let email = users.get(&s.user)?.email?;
            s.as_report(reports, &email)
        })
        .collect()
}

/// Why a subscription cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Full(String),
}

/// Checks a schedule: a cron expression whose slots are at least
/// [`MIN_GAP`] apart.
pub fn check_cron(cron: &str, tz: chrono_tz::Tz) -> Result<(), Refused> {
    let parsed = crate::report::cron::parse(cron).map_err(Refused::Invalid)?;
    let start = chrono::Utc::now().with_timezone(&tz);
    let slots: Vec<_> = parsed.after(&start).take(50).collect();
    if slots.windows(2).any(|w| w[1] - w[0] < MIN_GAP) {
        return Err(Refused::Invalid(format!(
            "'{cron}' sends more often than once an hour"
        )));
    }
    Ok(())
}

/// Stores a new subscription; its id.
pub fn add(data: &Path, mut s: Subscription) -> Result<String, Refused> {
    let all = list(data);
    if all.len() >= MAX_ALL {
        return Err(Refused::Full(format!(
            "uptake keeps at most {MAX_ALL} subscriptions"
        )));
    }
    if all.iter().filter(|x| x.user == s.user).count() >= MAX_PER_USER {
        return Err(Refused::Full(format!(
            "{} has {MAX_PER_USER} subscriptions, the most one user may have",
            s.user
        )));
    }
    s.id = format!("{:016x}", rand::random::<u64>());
    let text = toml::to_string(&s).map_err(|e| Refused::Invalid(e.to_string()))?;
    write_atomically(&dir(data).join(format!("{}.toml", s.id)), text.as_bytes())
        .map_err(Refused::Invalid)?;
    Ok(s.id)
}

/// Removes a subscription; whether there was one.
pub fn remove(data: &Path, id: &str) -> std::io::Result<bool> {
    if !valid_id(id) {
        return Ok(false);
    }
    match std::fs::remove_file(dir(data).join(format!("{id}.toml"))) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn get(data: &Path, id: &str) -> Option<Subscription> {
    list(data).into_iter().find(|s| s.id == id)
}

/// What an unsubscribe link stops: a subscription, or the mails of a
/// report or alert to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsubscribe {
    Subscription(String),
    /// `report:NAME` or `alert:NAME`, and the address.
    OptOut {
        what: String,
        address: String,
    },
}

impl Unsubscribe {
    pub fn grant(&self) -> String {
        match self {
            Unsubscribe::Subscription(id) => format!("unsubscribe:{id}"),
            Unsubscribe::OptOut { what, address } => format!("opt-out:{what}:{address}"),
        }
    }

    pub fn parse(grant: &str) -> Option<Unsubscribe> {
        if let Some(id) = grant.strip_prefix("unsubscribe:") {
            return valid_id(id).then(|| Unsubscribe::Subscription(id.to_string()));
        }
        let rest = grant.strip_prefix("opt-out:")?;
        let (kind, rest) = rest.split_once(':')?;
        let (name, address) = rest.split_once(':')?;
        (["report", "alert"].contains(&kind) && !name.is_empty() && address.contains('@')).then(
            || Unsubscribe::OptOut {
                what: format!("{kind}:{name}"),
                address: address.to_string(),
            },
        )
    }
}

fn opt_outs_path(data: &Path) -> PathBuf {
    dir(data).join("opt-outs.json")
}

/// The opt-outs: (`report:NAME` or `alert:NAME`, address in lower case).
pub fn opt_outs(data: &Path) -> BTreeSet<(String, String)> {
    std::fs::read(opt_outs_path(data))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Whether `address` opted out of `what`.
pub fn opted_out(data: &Path, what: &str, address: &str) -> bool {
    opt_outs(data).contains(&(what.to_string(), address.to_ascii_lowercase()))
}

/// Records an opt-out (at most one per report or alert and address).
pub fn opt_out(data: &Path, what: &str, address: &str) -> Result<(), String> {
    let mut all = opt_outs(data);
    if all.len() >= MAX_ALL {
        return Err(format!("uptake keeps at most {MAX_ALL} opt-outs"));
    }
    all.insert((what.to_string(), address.to_ascii_lowercase()));
    let bytes = serde_json::to_vec(&all).map_err(|e| e.to_string())?;
    write_atomically(&opt_outs_path(data), &bytes)
}

/// The unsubscribe link of a mail written in `lang`, when
/// `server.public_url` is set: its page speaks the mail's language.
pub fn unsubscribe_link(
    data: &Path,
    settings: &crate::config::Settings,
    what: &Unsubscribe,
    lang: crate::model::Lang,
) -> Option<String> {
    let base = settings.server.public_url.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    let links = crate::auth::links::Links::open(data).ok()?;
    Some(format!(
        "{base}/unsubscribe/{}?lang={}",
        links.sign(&what.grant(), None),
        lang.code()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_read_back_and_nothing_else_does() {
        for u in [
            Unsubscribe::Subscription("0123456789abcdef".into()),
            Unsubscribe::OptOut {
                what: "report:steering-weekly".into(),
                address: "a@example.com".into(),
            },
        ] {
            assert_eq!(Unsubscribe::parse(&u.grant()), Some(u));
        }
        for bad in [
            "unsubscribe:../x",
            "opt-out:file:x:a@b",
            "opt-out:report::a@b",
            "pdf:x.pdf",
        ] {
            assert_eq!(Unsubscribe::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn schedules_more_often_than_hourly_are_refused() {
        let tz = chrono_tz::UTC;
        assert!(check_cron("0 7 * * MON", tz).is_ok());
        assert!(check_cron("0 * * * *", tz).is_ok());
        assert!(check_cron("*/5 * * * *", tz).is_err());
        assert!(check_cron("0,30 7 * * *", tz).is_err());
        assert!(check_cron("nonsense", tz).is_err());
    }

    #[test]
    fn users_have_a_bounded_number_of_subscriptions() {
        let dir = tempfile::tempdir().expect("dir");
        let s = Subscription {
            id: String::new(),
            report: "r".into(),
            user: "anna".into(),
            language: "en".into(),
            cron: "0 7 * * MON".into(),
            created_by: "user:anna".into(),
            created: "2026-12-03T10:00:00Z".into(),
        };
        let first = add(dir.path(), s.clone()).expect("add");
        for _ in 1..MAX_PER_USER {
            add(dir.path(), s.clone()).expect("add");
        }
        assert!(matches!(add(dir.path(), s.clone()), Err(Refused::Full(_))));
        assert_eq!(list(dir.path()).len(), MAX_PER_USER);
        assert!(remove(dir.path(), &first).expect("remove"));
        assert!(!remove(dir.path(), &first).expect("gone"));
        assert!(!remove(dir.path(), "../../etc").expect("not an id"));
        // A damaged file is left out, the others stay.
        std::fs::write(
            dir.path().join("subscriptions/00000000aaaaaaaa.toml"),
            "report = ",
        )
        .expect("write");
        assert_eq!(list(dir.path()).len(), MAX_PER_USER - 1);
    }
}
