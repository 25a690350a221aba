//! Who may read: `uptake token` and `uptake user`, and the audit entries
//! they write.

use clap::Subcommand;

use crate::config::Settings;
use crate::i18n::Lang;
use crate::kpi;
use crate::store::Store;

use super::{Error, Result};

/// A role and, for viewers, a scope.
#[derive(Debug, clap::Args)]
pub struct Access {
    #[arg(long, value_enum)]
    role: crate::auth::Role,
    /// A region a viewer may see; repeat for several.
    #[arg(long = "region")]
    regions: Vec<String>,
    /// A department a viewer may see; repeat for several. With --region:
    /// that department within those regions.
    #[arg(long = "department")]
    departments: Vec<String>,
}

impl Access {
    fn scope(&self) -> kpi::Scope {
        kpi::Scope {
            regions: self.regions.clone(),
            departments: self.departments.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it on stdout (only its hash is stored).
    Create {
        #[command(flatten)]
        access: Access,
        /// A name to recognise it by (default: ROLE-N).
        #[arg(long)]
        name: Option<String>,
        /// How long it is valid: 12h, 30d, 8w, or never.
        #[arg(long, default_value = "90d")]
        expires: String,
    },
    /// The tokens: name, role, scope, creation and expiry.
    List,
    /// Revoke a token by name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Their password is read from stdin with
    /// --password-stdin, or generated and printed once.
    Add {
        name: String,
        #[command(flatten)]
        access: Access,
        /// Their e-mail address: reports sent to it cover their scope.
        #[arg(long)]
        email: Option<String>,
        /// The language of their pages and of the reports mailed to them
        /// (en, de, fr, es, da, nl; default: the browser's, the report's).
        #[arg(long, value_parser = crate::i18n::Lang::read)]
        language: Option<crate::i18n::Lang>,
        /// Read the password from the first line of stdin.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// They cannot sign in (e.g. a mailing list receiving reports).
        #[arg(long)]
        no_password: bool,
    },
    /// Set a user's password (from stdin with --password-stdin, or a
    /// generated one printed once).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// The users: name, role, scope, e-mail address, language.
    List,
    /// Remove a user; their sessions end with their next request.
    Remove { name: String },
}

/// Checks that a scope names regions and departments of the directory
/// (when one is imported), so a typo does not make an empty scope.
pub(super) fn check_scope_values(data: &std::path::Path, scope: &kpi::Scope) -> Result<()> {
    if scope.is_all() || !data.join("manifest.json").exists() {
        return Ok(());
    }
    let store = Store::open(data)?;
    let licensees = store.table::<crate::model::Licensee>()?;
    if licensees.is_empty() {
        return Ok(());
    }
    let segments = crate::server::state::Segments::from_directory(&licensees);
    for (d, values) in [
        (kpi::Dimension::Region, &scope.regions),
        (kpi::Dimension::Department, &scope.departments),
    ] {
        if let Some(v) = values.iter().find(|v| !segments.values(d).contains(v)) {
            return Err(Error::Usage(format!(
                "no licensee of the directory has {d} '{v}'"
            )));
        }
    }
    Ok(())
}

pub(super) fn audit(data: &std::path::Path, settings: &Settings, action: &str, detail: String) {
    let mut entry = crate::auth::audit::Entry::new("cli", action);
    entry.detail = detail;
    crate::auth::audit::record(data, &settings.audit, &entry);
}

pub(super) fn token_command(
    data: &std::path::Path,
    settings: &Settings,
    cmd: TokenCommand,
    lang: Lang,
) -> Result<()> {
    use crate::auth::tokens;
    match cmd {
        TokenCommand::Create {
            access,
            name,
            expires,
        } => {
            let lifetime = crate::auth::parse_lifetime(&expires).map_err(Error::Usage)?;
            let scope = access.scope();
            crate::auth::check_scope(access.role, &scope).map_err(Error::Usage)?;
            check_scope_values(data, &scope)?;
            let (token, record) = tokens::create(
                data,
                tokens::NewToken {
                    role: access.role,
                    scope,
                    name: name.as_deref(),
                    lifetime,
                },
            )?;
            println!("{token}");
            let detail = format!(
                "{} (role {}, scope {}, expires {})",
                record.name,
                record.role.name(),
                record.scope.describe(),
                record.expires.as_deref().unwrap_or("never")
            );
            eprintln!(
                "{}",
                lang.tr("token_created", &[("detail", (&detail).into())])
            );
            audit(data, settings, "token_created", detail);
        }
        TokenCommand::List => {
            for t in tokens::list(data)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.role.name(),
                    t.scope.describe(),
                    t.created,
                    t.expires.as_deref().unwrap_or("never")
                );
            }
        }
        TokenCommand::Revoke { name } => {
            if !tokens::revoke(data, &name)? {
                return Err(Error::Usage(format!("no token named '{name}'")));
            }
            eprintln!("{}", lang.tr("token_revoked", &[("name", (&name).into())]));
            audit(data, settings, "token_revoked", name);
        }
    }
    Ok(())
}

/// A password from the first line of stdin, or a generated one that is
/// printed.
pub(super) fn new_password(from_stdin: bool, lang: Lang) -> Result<String> {
    if !from_stdin {
        let password = crate::auth::users::generated_password();
        println!("{password}");
        eprintln!("{}", lang.t("password_generated"));
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 10 {
        return Err(Error::Usage(
            "a password needs at least 10 characters".into(),
        ));
    }
    Ok(password)
}

pub(super) fn user_command(
    data: &std::path::Path,
    settings: &Settings,
    cmd: UserCommand,
    lang: Lang,
) -> Result<()> {
    use crate::auth::users;
    match cmd {
        UserCommand::Add {
            name,
            access,
            email,
            language,
            password_stdin,
            no_password,
        } => {
            let scope = access.scope();
            crate::auth::check_scope(access.role, &scope).map_err(Error::Usage)?;
            check_scope_values(data, &scope)?;
            let password = if no_password {
                None
            } else {
                Some(new_password(password_stdin, lang)?)
            };
            let user = users::add(
                data,
                &name,
                email.as_deref(),
                access.role,
                scope,
                language,
                password.as_deref(),
            )?;
            let detail = format!(
                "{} (role {}, scope {}{}{})",
                user.name,
                user.role.name(),
                user.scope.describe(),
                user.email.map(|e| format!(", {e}")).unwrap_or_default(),
                user.language
                    .map(|l| format!(", language {}", l.code()))
                    .unwrap_or_default()
            );
            eprintln!("{}", lang.tr("user_added", &[("detail", (&detail).into())]));
            audit(data, settings, "user_added", detail);
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if users::list(data)?.iter().all(|u| u.name != name) {
                return Err(Error::Usage(format!("no user named '{name}'")));
            }
            let password = new_password(password_stdin, lang)?;
            users::set_password(data, &name, &password)?;
            eprintln!("{}", lang.tr("password_set", &[("name", (&name).into())]));
            audit(data, settings, "password_set", name);
        }
        UserCommand::List => {
            for u in users::list(data)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    u.name,
                    u.role.name(),
                    u.scope.describe(),
                    u.email.as_deref().unwrap_or(""),
                    u.language.map_or("", |l| l.code()),
                    if u.password.is_some() {
                        "can sign in"
                    } else {
                        "no sign-in"
                    }
                );
            }
        }
        UserCommand::Remove { name } => {
            if !users::remove(data, &name)? {
                return Err(Error::Usage(format!("no user named '{name}'")));
            }
            eprintln!("{}", lang.tr("user_removed", &[("name", (&name).into())]));
            audit(data, settings, "user_removed", name);
        }
    }
    Ok(())
}
