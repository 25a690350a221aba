//! Authentication and authorisation of every request except `/health`,
//! `/login` and the icon; sign-in and sign-out; the audit log's pages.
//!
//! A request carries either `Authorization: Bearer TOKEN` (the API) or the
//! session cookie of a signed-in user (the pages). Without either, API
//! addresses answer 401 and pages send the browser to `/login`. The
//! caller's role decides which routes it may use: each route belongs to
//! one group ([`Access`]), checked by [`authorize`]; its scope goes with
//! the request to where figures are computed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::json;

use crate::auth::audit::{self, Entry};
use crate::auth::tokens::Refused;
use crate::auth::{Caller, Role};
use crate::i18n::Lang;

use super::error::ApiError;
use super::params::Params;
use super::state::AppState;

pub const COOKIE: &str = "uptake_session";
/// The cookie that pairs the sign-in form with the browser that loaded it.
const LOGIN_COOKIE: &str = "uptake_login";

/// Failed sign-ins of one name before it is locked for a while.
const MAX_FAILURES: u32 = 5;
const LOCK: Duration = Duration::from_secs(15 * 60);
const MAX_SESSIONS: usize = 100_000;
/// Names and addresses whose failed sign-ins are remembered; beyond, the
/// oldest half is forgotten.
const MAX_REMEMBERED: usize = 100_000;
/// The largest sign-in or sign-out form.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// The longest password checked; a longer one is wrong without a check.
const MAX_PASSWORD_BYTES: usize = 1024;

tokio::task_local! {
    /// The caller of the request being handled (for the page header).
    pub static CALLER: Caller;
    /// The form token of the session of the request being handled (empty
    /// for a token): state-changing forms carry it.
    static FORM_TOKEN: String;
}

/// The caller of the request being handled. Fails closed: without one
/// (a handler reached without the middleware) nothing is shown.
pub fn current() -> Result<Caller, ApiError> {
    CALLER
        .try_with(Caller::clone)
        .map_err(|_| ApiError::Forbidden("no caller: sign in first".into()))
}

/// The form token of the current session, for the hidden field of a
/// state-changing form (the sign-out button).
pub fn form_token() -> String {
    FORM_TOKEN.try_with(String::clone).unwrap_or_default()
}

/// A session's form token: derived from its secret, which only the
/// browser holding the cookie knows.
fn session_form_token(secret: &str) -> String {
    crate::auth::digest(&format!("form:{secret}"))[..32].to_string()
}

/// Counts of failed sign-ins (per name or per address) within [`LOCK`].
#[derive(Default)]
struct Failures {
    map: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Failures {
    fn count(&self, key: &str) -> u32 {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, since)| since.elapsed() < LOCK)
            .map_or(0, |(n, _)| *n)
    }

    fn add(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_REMEMBERED {
            map.retain(|_, (_, since)| since.elapsed() < LOCK);
            if map.len() >= MAX_REMEMBERED {
                let mut ages: Vec<Instant> = map.values().map(|(_, s)| *s).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, (_, since)| *since > cut);
            }
        }
        let entry = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOCK {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn clear(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// Signed-in browsers: the SHA-256 of the cookie's secret, the user's
/// name, and when the session ends. Kept in memory: a restart signs
/// everyone out. Also the bounds of signing in: failures per name and per
/// address, and how many password checks run at once.
pub struct Sessions {
    map: Mutex<HashMap<String, (String, Instant)>>,
    by_name: Failures,
    by_address: Failures,
    per_address: u32,
    checks: super::limits::Gate,
    /// The memory of the password checks running, one per turn of
    /// `checks`, kept between checks.
    memory: Mutex<Vec<crate::auth::users::CheckMemory>>,
}

impl Sessions {
    pub fn new(server: &crate::config::Server) -> Sessions {
        Sessions {
            map: Mutex::default(),
            by_name: Failures::default(),
            by_address: Failures::default(),
            per_address: server.sign_in_failures_per_address,
            checks: super::limits::Gate::new(server.sign_in_concurrency, server.sign_in_queue),
            memory: Mutex::default(),
        }
    }

    fn start(&self, user: &str, lasts: Duration) -> String {
        let secret = crate::auth::secret();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, (_, until)| *until > now);
        if map.len() >= MAX_SESSIONS {
            map.clear();
        }
        map.insert(
            crate::auth::digest(&secret),
            (user.to_string(), now + lasts),
        );
        secret
    }

    fn user(&self, secret: &str) -> Option<String> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&crate::auth::digest(secret))
            .filter(|(_, until)| *until > Instant::now())
            .map(|(user, _)| user.clone())
    }

    fn end(&self, secret: &str) -> Option<String> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&crate::auth::digest(secret)).map(|(u, _)| u)
    }

    fn locked(&self, name: &str) -> bool {
        self.by_name.count(name) >= MAX_FAILURES
    }

    fn throttled(&self, address: &str) -> bool {
        self.by_address.count(address) >= self.per_address
    }

    fn failed(&self, name: &str, address: &str) {
        self.by_name.add(name);
        self.by_address.add(address);
    }

    fn succeeded(&self, name: &str) {
        self.by_name.clear(name);
    }
}

/// Whether a request comes from a page of this server: its `Origin` (when
/// the browser sends one) names the host it was sent to, and
/// `Sec-Fetch-Site` does not say cross-site. Forms that change state are
/// refused otherwise.
fn same_origin(headers: &HeaderMap) -> bool {
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    if header(header::HeaderName::from_static("sec-fetch-site"))
        .is_some_and(|s| s == "cross-site" || s == "same-site")
    {
        return false;
    }
    let Some(origin) = header(header::ORIGIN) else {
        return true;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, header(header::HOST)) {
        (Some(a), Some(host)) => a == host,
        _ => false,
    }
}

/// Reads a small form body (at most [`MAX_FORM_BYTES`], within the body
/// timeout) into its fields.
async fn read_form(
    state: &AppState,
    body: axum::body::Body,
) -> Result<HashMap<String, String>, Response> {
    let timeout = Duration::from_secs(state.settings.server.body_timeout_seconds);
    let bytes =
        match tokio::time::timeout(timeout, axum::body::to_bytes(body, MAX_FORM_BYTES)).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => {
                return Err(ApiError::TooLarge(format!(
                    "a form may have at most {MAX_FORM_BYTES} bytes"
                ))
                .into_response());
            }
            Err(_) => return Err(ApiError::Timeout.into_response()),
        };
    Ok(form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Who may use a route: every route of the router belongs to exactly one
/// group ([`super::routes`]), and each group's routes sit behind that
/// group's layer ([`authorize`]); there is no route outside a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone, signed in or not: `/health`, `/login`, the icon.
    Open,
    /// Any signed-in reader (viewer, analyst, admin); read-only.
    Readers,
    /// Readers other than viewers (the delivery log names recipients of
    /// every scope).
    NotViewers,
    /// Admins only.
    Admins,
    /// Admins, and only while `privacy.user_level_views` is on.
    UserLevel,
    /// Any signed-in reader, posting (sign-out).
    SignedIn,
    /// Ingest and admin tokens, posting events; never a browser session.
    Ingest,
}

impl Access {
    /// Every group.
    pub const ALL: [Access; 7] = [
        Access::Open,
        Access::Readers,
        Access::NotViewers,
        Access::Admins,
        Access::UserLevel,
        Access::SignedIn,
        Access::Ingest,
    ];

    /// Whether a caller may use a route of this group; the reason when
    /// not.
    pub fn allows(
        self,
        caller: &Caller,
        method: &Method,
        by_session: bool,
        user_level_views: bool,
    ) -> Result<(), &'static str> {
        match self {
            Access::Open => return Ok(()),
            Access::Ingest if by_session => {
                return Err(
                    "events are posted with an ingest or admin token, not from a browser session",
                );
            }
            Access::Ingest => {
                return match caller.role {
                    Role::Ingest | Role::Admin => Ok(()),
                    _ => Err("posting events needs an ingest or admin token"),
                };
            }
            _ => {}
        }
        if caller.role == Role::Ingest {
            return Err("an ingest token may only post events to /api/v1/events");
        }
        match self {
            Access::Admins if caller.role != Role::Admin => {
                return Err("only admins may see this");
            }
            Access::UserLevel if !user_level_views => {
                return Err("user-level views are off (privacy.user_level_views)");
            }
            Access::UserLevel if caller.role != Role::Admin => {
                return Err("only admins may see user-level data");
            }
            Access::NotViewers if caller.role == Role::Viewer => {
                return Err(
                    "the delivery log names recipients of every scope; viewers may not see it",
                );
            }
            _ => {}
        }
        if method == Method::POST && self != Access::SignedIn {
            return Err("this address is read-only");
        }
        Ok(())
    }
}

/// The credentials a request presents.
enum Presented {
    Nothing,
    Token(String),
    /// An `Authorization` header that is not `Bearer TOKEN`.
    BadScheme,
    Session(String),
}

fn presented(headers: &HeaderMap) -> Presented {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        return match v
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        {
            Some((_, token)) if !token.trim().is_empty() => Presented::Token(token.trim().into()),
            _ => Presented::BadScheme,
        };
    }
    match session_cookie(headers) {
        Some(s) => Presented::Session(s),
        None => Presented::Nothing,
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
}

fn client(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// The longest address sent back to after signing in; a longer one is
/// not kept (the browser goes to its path).
const MAX_NEXT: usize = 2048;

/// 401 for the API (with `WWW-Authenticate`), a trip to `/login` for pages.
fn unauthenticated(path_and_query: &str, message: &str) -> Response {
    if is_api(path_and_query) {
        return ApiError::Unauthorized(message.to_string()).into_response();
    }
    let back = if path_and_query.len() <= MAX_NEXT {
        path_and_query
    } else {
        path_and_query.split('?').next().unwrap_or("/")
    };
    let back = if back.len() <= MAX_NEXT { back } else { "/" };
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Who a request comes from, as far as its credentials tell; found for
/// every request by [`identify`], judged by [`authorize`] against the
/// group of the route it reaches.
#[derive(Clone)]
struct Identity {
    caller: Result<Caller, String>,
    by_session: bool,
    form_token: String,
    /// The audit entry of the request, filled in as it goes.
    entry: Entry,
}

/// The outer middleware: finds the caller of every request (refusing
/// nothing: that is the route's group's business, [`authorize`]).
pub async fn identify(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_string(), |p| p.to_string());
    let mut entry = Entry::new("anonymous", "refused");
    entry.method = request.method().to_string();
    entry.target = target;
    entry.client = client(&request);
    let mut form_token = String::new();
    let presented = presented(request.headers());
    let by_session = matches!(presented, Presented::Session(_));
    let caller = match presented {
        Presented::Token(token) => match state.tokens.check(&token) {
            Ok(c) => Ok(c),
            Err(Refused::Unknown) => Err("unknown or revoked token".to_string()),
            Err(Refused::Expired(name)) => {
                entry.who = format!("token:{name}");
                Err(format!("the token '{name}' has expired"))
            }
        },
        Presented::BadScheme => Err("send a token as Authorization: Bearer TOKEN".to_string()),
        Presented::Session(secret) => {
            match state
                .sessions
                .user(&secret)
                .and_then(|u| state.users.get(&u))
            {
                Some(user) => {
                    form_token = session_form_token(&secret);
                    Ok(user.caller())
                }
                None => Err("the sign-in has ended; sign in again".to_string()),
            }
        }
        Presented::Nothing => Err(if is_api(request.uri().path()) {
            "send a token as Authorization: Bearer TOKEN".to_string()
        } else {
            "sign in first".to_string()
        }),
    };
    request.extensions_mut().insert(Identity {
        caller,
        by_session,
        form_token,
        entry,
    });
    next.run(request).await
}

/// The layer of each permission group, around its routes (and, as
/// [`Access::Readers`], around the fallback): refuses callers the group
/// does not admit (401 without a caller, 403 with the reason), passes the
/// caller on to the handler, and records the request in the audit log.
pub async fn authorize(
    State((state, access)): State<(Arc<AppState>, Access)>,
    request: Request,
    next: Next,
) -> Response {
    guard(&state, access, request, next).await
}

async fn guard(state: &AppState, access: Access, mut request: Request, next: Next) -> Response {
    if access == Access::Open {
        return next.run(request).await;
    }
    let Some(Identity {
        caller,
        by_session,
        form_token,
        mut entry,
    }) = request.extensions_mut().remove::<Identity>()
    else {
        return ApiError::Forbidden("no caller: sign in first".into()).into_response();
    };
    let caller = match caller {
        Ok(c) => c,
        Err(message) => {
            entry.status = Some(401);
            entry.detail = message.clone();
            state.audit.record_refusal(&entry);
            return unauthenticated(&entry.target, &message);
        }
    };
    entry.who = caller.who.clone();
    entry.role = caller.role.name().to_string();
    entry.scope = if caller.scope.is_all() {
        String::new()
    } else {
        caller.scope.describe()
    };
    let permission = access.allows(
        &caller,
        request.method(),
        by_session,
        state.settings.privacy.user_level_views,
    );
    if let Err(reason) = permission {
        entry.status = Some(403);
        entry.detail = reason.to_string();
        state.audit.record(&entry);
        return ApiError::Forbidden(reason.to_string()).into_response();
    }
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(caller.clone());
    let response = CALLER
        .scope(caller, FORM_TOKEN.scope(form_token, next.run(request)))
        .await;
    entry.action = if is_export(&path) {
        "export"
    } else {
        "request"
    }
    .to_string();
    entry.status = Some(response.status().as_u16());
    state.audit.record(&entry);
    response
}

/// Downloads of figures: panel CSV/XLSX and PDF reports.
fn is_export(path: &str) -> bool {
    (path.starts_with("/dashboards/") && path.contains("/panels/"))
        || (path.starts_with("/reports/") && path.ends_with(".pdf"))
        || path == "/api/v1/licensees"
}

fn cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    cookie_at(state, COOKIE, "/", value, max_age)
}

fn cookie_at(state: &AppState, name: &str, path: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = state.settings.server.secure_cookies || state.settings.server.tls_cert.is_some();
    let text = format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of a cookie of the request.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Where to go after signing in: a path of this server only.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The sign-in page's own style: a narrow form, no navigation.
const LOGIN_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;padding:.4rem 1rem}.error{color:#b00020}";

/// Why the sign-in page is shown again.
enum Refusal<'a> {
    /// With 401: wrong name or password, locked name.
    Wrong(&'a str),
    /// With another status (403, 429, 503) and its message.
    Other(StatusCode, &'a str),
}

/// The sign-in form, carrying `token` (the value of the sign-in cookie) as
/// its form token.
fn login_page(lang: Lang, next: &str, token: &str, refusal: Option<Refusal>) -> Response {
    let title = lang.t("sign_in");
    let message = match &refusal {
        Some(Refusal::Wrong(m) | Refusal::Other(_, m)) => Some(*m),
        None => None,
    };
    let markup = html! {
        (maud::DOCTYPE)
        html lang=(lang.code()) {
            (super::pages::head(title, LOGIN_STYLE))
            body {
                main {
                    h1 { "uptake · " (title) }
                    @if let Some(m) = message {
                        p.error role="alert" { (m) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="form_token" value=(token);
                        label for="user" { (lang.t("user")) }
                        input #user name="user" autocomplete="username" maxlength=(crate::auth::users::MAX_NAME_CHARS) required autofocus;
                        label for="password" { (lang.t("password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        button type="submit" { (title) }
                    }
                }
            }
        }
    };
    let status = match refusal {
        None => StatusCode::OK,
        Some(Refusal::Wrong(_)) => StatusCode::UNAUTHORIZED,
        Some(Refusal::Other(status, _)) => status,
    };
    (status, markup).into_response()
}

/// The sign-in page with a new sign-in cookie (valid an hour), which the
/// form must send back.
fn fresh_login_page(
    state: &AppState,
    lang: Lang,
    next: &str,
    refusal: Option<Refusal>,
) -> Response {
    let token = crate::auth::secret();
    let mut response = login_page(lang, next, &token, refusal);
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie_at(state, LOGIN_COOKIE, "/login", &token, 3600),
    );
    response
}

/// `GET /login`: the sign-in form.
pub async fn login_form(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["next", "lang"])?;
    let lang = super::pages::lang_of(&state, &params, &headers)?;
    Ok(fresh_login_page(
        &state,
        lang,
        &safe_next(params.get("next")),
        None,
    ))
}

/// `POST /login`: checks the password, starts a session and sets its
/// cookie. The form must come from this server's sign-in page (its
/// `Origin` and the form token of its cookie). Five failures lock the
/// name for 15 minutes; `server.sign_in_failures_per_address` failures
/// from one address get 429 for 15 minutes; at most
/// `server.sign_in_concurrency` password checks run at once.
pub async fn login(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let from = client(&request);
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let lang = Lang::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut entry = Entry::new("anonymous", "sign_in_failed");
    entry.client = from.clone();
    let refuse = |entry: &mut Entry, status: StatusCode, detail: &str| {
        entry.status = Some(status.as_u16());
        entry.detail = detail.to_string();
        state.audit.record_refusal(entry);
    };
    if !same_origin(&headers) {
        refuse(
            &mut entry,
            StatusCode::FORBIDDEN,
            "sign-in form from another site",
        );
        return fresh_login_page(
            &state,
            lang,
            "/",
            Some(Refusal::Other(
                StatusCode::FORBIDDEN,
                lang.t("form_expired"),
            )),
        );
    }
    if state.sessions.throttled(&from) {
        refuse(
            &mut entry,
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins from this address",
        );
        let mut response = fresh_login_page(
            &state,
            lang,
            "/",
            Some(Refusal::Other(
                StatusCode::TOO_MANY_REQUESTS,
                lang.t("too_many_sign_ins"),
            )),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(LOCK.as_secs()));
        return response;
    }
    let form = match read_form(&state, body).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let next = safe_next(form.get("next").map(String::as_str));
    let token = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    if token.is_empty() || !crate::auth::same_secret(&token, field("form_token")) {
        refuse(
            &mut entry,
            StatusCode::FORBIDDEN,
            "sign-in form without its form token",
        );
        return fresh_login_page(
            &state,
            lang,
            &next,
            Some(Refusal::Other(
                StatusCode::FORBIDDEN,
                lang.t("form_expired"),
            )),
        );
    }
    let (name, password) = (field("user").to_string(), field("password").to_string());
    let mut shown_name = name.clone();
    crate::auth::audit::cap(&mut shown_name, crate::auth::users::MAX_NAME_CHARS);
    entry.who = format!("user:{shown_name}");
    let plausible = !name.is_empty()
        && name.chars().count() <= crate::auth::users::MAX_NAME_CHARS
        && password.len() <= MAX_PASSWORD_BYTES;
    if plausible && state.sessions.locked(&name) {
        entry.detail = "locked after repeated failures".into();
        state.audit.record(&entry);
        return login_page(
            lang,
            &next,
            &token,
            Some(Refusal::Wrong(lang.t("locked_out"))),
        );
    }
    let user = if plausible {
        let Some(_turn) = state.sessions.checks.enter().await else {
            refuse(
                &mut entry,
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins at once",
            );
            let mut response = login_page(
                lang,
                &next,
                &token,
                Some(Refusal::Other(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang.t("busy"),
                )),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            return response;
        };
        let users = state.clone();
        let checked = name.clone();
        let mut memory = state
            .sessions
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        let (user, memory) = tokio::task::spawn_blocking(move || {
            let user = users.users.sign_in(&checked, &password, &mut memory);
            (user, memory)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        state
            .sessions
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(memory);
        user
    } else {
        None
    };
    let Some(user) = user else {
        let key = if plausible { name.as_str() } else { "" };
        state.sessions.failed(key, &from);
        state.audit.record(&entry);
        return login_page(
            lang,
            &next,
            &token,
            Some(Refusal::Wrong(lang.t("wrong_password"))),
        );
    };
    state.sessions.succeeded(&name);
    let hours = u64::from(state.settings.server.session_hours);
    let secret = state
        .sessions
        .start(&user.name, Duration::from_secs(hours * 3600));
    entry.action = "sign_in".into();
    entry.role = user.role.name().into();
    entry.scope = user.scope.describe();
    state.audit.record(&entry);
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookie(&state, &secret, hours * 3600));
    headers.append(
        header::SET_COOKIE,
        cookie_at(&state, LOGIN_COOKIE, "/login", "", 0),
    );
    response
}

/// `POST /logout`: ends the session and clears the cookie. The form must
/// come from one of this server's pages, with the session's form token.
/// The fields of a form posted from an uptake page of the caller's
/// session: read within the body limits, refused (403) without the
/// session's form token or from another site.
pub async fn session_form(
    state: &AppState,
    request: Request,
) -> Result<HashMap<String, String>, Response> {
    let (parts, body) = request.into_parts();
    let form = read_form(state, body).await?;
    let secret = session_cookie(&parts.headers).unwrap_or_default();
    let sent = form.get("form_token").map(String::as_str).unwrap_or("");
    if secret.is_empty()
        || !same_origin(&parts.headers)
        || !crate::auth::same_secret(&session_form_token(&secret), sent)
    {
        return Err(ApiError::Forbidden(
            "send this form from an uptake page you are signed in to (the form token is missing or from another site)".into(),
        )
        .into_response());
    }
    Ok(form)
}

/// The fields of a form posted to an open address (no session needed).
pub async fn open_form(
    state: &AppState,
    request: Request,
) -> Result<HashMap<String, String>, Response> {
    read_form(state, request.into_body()).await
}

pub async fn logout(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let form = match read_form(&state, body).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    if let Some(secret) = session_cookie(&headers) {
        let sent = form.get("form_token").map(String::as_str).unwrap_or("");
        if !same_origin(&headers) || !crate::auth::same_secret(&session_form_token(&secret), sent) {
            return ApiError::Forbidden(
                "sign out with the button of an uptake page (the form token is missing or from another site)".into(),
            )
            .into_response();
        }
        if let Some(user) = state.sessions.end(&secret) {
            state
                .audit
                .record(&Entry::new(format!("user:{user}"), "sign_out"));
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    response
}

/// The parameters of the audit log's API and page.
const AUDIT_PARAMETERS: [&str; 5] = ["who", "action", "since", "limit", "lang"];

fn audit_query(params: &Params) -> Result<audit::Query, ApiError> {
    let limit = match params.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::parameter("limit", "a number from 1 to 10000"))?,
        None => 200,
    };
    if let Some(s) = params.get("since")
        && chrono::DateTime::parse_from_rfc3339(s).is_err()
    {
        return Err(ApiError::parameter(
            "since",
            "an RFC 3339 time, e.g. 2027-01-04T00:00:00Z",
        ));
    }
    Ok(audit::Query {
        who: params.get("who").map(str::to_string),
        action: params.get("action").map(str::to_string),
        since: params.get("since").map(str::to_string),
        limit,
    })
}

/// `GET /api/v1/audit`: the newest entries first (admins).
pub async fn audit_log(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &AUDIT_PARAMETERS)?;
    let q = audit_query(&params)?;
    let entries = audit::read(&state.data_dir, &q)?;
    Ok(axum::Json(json!({ "entries": entries })).into_response())
}

/// `GET /audit`: the audit log as a page (admins).
pub async fn audit_page(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &AUDIT_PARAMETERS)?;
    let q = audit_query(&params)?;
    let lang = super::pages::lang_of(&state, &params, &headers)?;
    let entries = audit::read(&state.data_dir, &q)?;
    let title = lang.t("audit_log");
    let body = html! {
        h1 { (title) }
        table {
            thead { tr { th { "at" } th { "who" } th { "action" } th { "role" } th { "scope" } th { "request" } th { "status" } th { "detail" } th { "client" } } }
            tbody {
                @for e in &entries {
                    tr {
                        td { (e.at) } td { (e.who) } td { (e.action) } td { (e.role) } td { (e.scope) }
                        td { (e.method) " " (e.target) }
                        td { (e.status.map(|s| s.to_string()).unwrap_or_default()) }
                        td { (e.detail) } td { (e.client) }
                    }
                }
            }
        }
    };
    Ok(super::pages::page(&state, lang, "/audit", raw.as_deref(), title, body).into_response())
}

/// `GET /api/v1/tokens`: names, roles, scopes and expiry, no hashes
/// (admins).
pub async fn tokens(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let tokens = crate::auth::tokens::list(&state.data_dir)?;
    let list: Vec<_> = tokens
        .iter()
        .map(|t| {
            json!({"name": t.name, "role": t.role, "regions": t.scope.regions,
                   "departments": t.scope.departments, "created": t.created, "expires": t.expires})
        })
        .collect();
    Ok(axum::Json(json!({ "tokens": list })).into_response())
}

/// `GET /api/v1/users`: names, e-mail addresses, roles and scopes, no
/// password hashes (admins).
pub async fn users(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let users = crate::auth::users::list(&state.data_dir)?;
    let list: Vec<_> = users
        .iter()
        .map(|u| {
            json!({"name": u.name, "email": u.email, "role": u.role, "regions": u.scope.regions,
                   "departments": u.scope.departments, "can_sign_in": u.password.is_some(),
                   "created": u.created})
        })
        .collect();
    Ok(axum::Json(json!({ "users": list })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/dashboards/overview?lang=de")),
            "/dashboards/overview?lang=de"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "javascript:x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }

    #[test]
    fn roles_open_their_groups_only() {
        let caller = |role| Caller {
            who: "t".into(),
            role,
            scope: Default::default(),
        };
        let (get, post) = (Method::GET, Method::POST);
        let ingest = caller(Role::Ingest);
        assert!(Access::Ingest.allows(&ingest, &post, false, false).is_ok());
        // Never from a browser session, whatever the role.
        let admin = caller(Role::Admin);
        assert!(Access::Ingest.allows(&admin, &post, true, false).is_err());
        for access in [Access::Readers, Access::Admins, Access::SignedIn] {
            assert!(
                access.allows(&ingest, &get, false, false).is_err(),
                "{access:?}"
            );
        }
        let analyst = caller(Role::Analyst);
        assert!(
            Access::Ingest
                .allows(&analyst, &post, false, false)
                .is_err()
        );
        assert!(Access::Admins.allows(&analyst, &get, false, false).is_err());
        assert!(Access::Readers.allows(&analyst, &get, false, false).is_ok());
        assert!(
            Access::Readers
                .allows(&analyst, &post, false, false)
                .is_err()
        );
        assert!(
            Access::SignedIn
                .allows(&analyst, &post, true, false)
                .is_ok()
        );
        assert!(Access::Admins.allows(&admin, &get, false, false).is_ok());
        assert!(
            Access::UserLevel
                .allows(&admin, &get, false, false)
                .is_err()
        );
        assert!(Access::UserLevel.allows(&admin, &get, false, true).is_ok());
        assert!(
            Access::UserLevel
                .allows(&analyst, &get, false, true)
                .is_err()
        );
        let viewer = caller(Role::Viewer);
        assert!(
            Access::NotViewers
                .allows(&viewer, &get, false, false)
                .is_err()
        );
        assert!(
            Access::NotViewers
                .allows(&analyst, &get, false, false)
                .is_ok()
        );
    }
}
