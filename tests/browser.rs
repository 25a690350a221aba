//! The dashboards in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/install`): each page opens without
//! console errors, a filter applied in the form lands in the URL and the
//! figures on the page equal the API's, back and forward work, and the
//! language switch works.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::support::{ADMIN_PASSWORD, admin_token, free_port, sample_port, sample_state};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_chromedriver() -> (Driver, u16) {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(program).exists(),
            "{program} is missing: the browser test needs Debian's chromium and \
             chromium-driver (`.ci/install` installs them)"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

/// A headless Chromium session through chromedriver, with its own
/// profile and the browser's console log kept.
async fn headless_chromium(driver_port: u16, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("connect to chromedriver")
}

async fn http_get(client: &HttpClient<HttpConnector, axum::body::Body>, url: &str) -> Value {
    let request = axum::http::Request::get(url)
        .header("Authorization", format!("Bearer {}", admin_token()))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = client.request(request).await.expect("GET");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 64 << 20)
        .await
        .expect("body");
    serde_json::from_slice(&body).expect("JSON")
}

/// Console messages of level SEVERE since the last call.
async fn console_errors(browser: &Client, driver_port: u16) -> Vec<Value> {
    let session = browser.session_id().await.expect("session").expect("id");
    let client: HttpClient<HttpConnector, axum::body::Body> =
        HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    let request = axum::http::Request::post(format!(
        "http://127.0.0.1:{driver_port}/session/{session}/se/log"
    ))
    .header("content-type", "application/json")
    .body(axum::body::Body::from(
        json!({"type": "browser"}).to_string(),
    ))
    .expect("request");
    let response = client.request(request).await.expect("log request");
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 16 << 20)
        .await
        .expect("log body");
    let log: Value = serde_json::from_slice(&body).expect("log JSON");
    let entries = log["value"].as_array().cloned().expect("log entries");
    entries
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect()
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn attr_of(browser: &Client, css: &str, attr: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .attr(attr)
        .await
        .expect("attr")
        .unwrap_or_default()
}

/// Waits until the address contains `part` (after a click navigates).
async fn wait_for_url(browser: &Client, part: &str) {
    let started = Instant::now();
    loop {
        let url = browser.current_url().await.expect("url");
        if url.as_str().contains(part) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{url} lacks {part}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Text the page shows cut off: SVG text reaching outside its chart, and
/// elements whose content overflows a box that hides the overflow.
async fn clipped_text(browser: &Client) -> Vec<Value> {
    let found = browser
        .execute(
            r#"
            const cut = [];
            for (const svg of document.querySelectorAll('svg')) {
                const box = svg.getBoundingClientRect();
                for (const t of svg.querySelectorAll('text')) {
                    const r = t.getBoundingClientRect();
                    if (r.width === 0 || !t.textContent.trim()) continue;
                    if (r.left < box.left - 1 || r.right > box.right + 1
                        || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
                        cut.push(`chart text '${t.textContent}' at ${Math.round(r.left - box.left)}..${Math.round(r.right - box.left)} x ${Math.round(r.top - box.top)}..${Math.round(r.bottom - box.top)} outside ${Math.round(box.width)} x ${Math.round(box.height)}`);
                    }
                }
            }
            for (const e of document.querySelectorAll('body *')) {
                if (e.closest('svg') || !e.textContent.trim()) continue;
                const s = getComputedStyle(e);
                const hides = ['hidden', 'clip'].includes(s.overflowX) || ['hidden', 'clip'].includes(s.overflowY);
                if (hides && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)) {
                    cut.push(`${e.tagName.toLowerCase()}.${e.className} '${e.textContent.trim().slice(0, 40)}' needs ${e.scrollWidth} x ${e.scrollHeight}, has ${e.clientWidth} x ${e.clientHeight}`);
                }
            }
            return cut;
            "#,
            Vec::new(),
        )
        .await
        .expect("clipping check");
    found.as_array().cloned().expect("a list")
}

fn rate(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[test]
fn dashboards_in_headless_chromium() {
    let (_driver, driver_port) = start_chromedriver();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let base = format!("http://127.0.0.1:{}", sample_port());

        let profile = tempfile::tempdir().expect("profile");
        let browser = headless_chromium(driver_port, profile.path()).await;
        let api: HttpClient<HttpConnector, axum::body::Body> =
            HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());

        // Without signing in, a page leads to the sign-in form; signing in
        // leads back to the page.
        browser
            .goto(&format!("{base}/dashboards/overview?lang=en"))
            .await
            .expect("goto");
        let url = browser.current_url().await.expect("url");
        assert_eq!(url.path(), "/login", "{url}");
        browser
            .find(Locator::Css("input[name=user]"))
            .await
            .expect("user field")
            .send_keys("admin")
            .await
            .expect("type user");
        browser
            .find(Locator::Css("input[name=password]"))
            .await
            .expect("password field")
            .send_keys(ADMIN_PASSWORD)
            .await
            .expect("type password");
        browser
            .find(Locator::Css("form button[type=submit]"))
            .await
            .expect("sign in")
            .click()
            .await
            .expect("click");
        browser
            .wait()
            .for_element(Locator::Css("section.panel"))
            .await
            .expect("the dashboard after signing in");
        let url = browser.current_url().await.expect("url");
        assert_eq!(url.path(), "/dashboards/overview", "{url}");

        // Each dashboard opens, in English, without console errors.
        let state = sample_state();
        for d in &state.dashboards {
            browser
                .goto(&format!("{base}/dashboards/{}?lang=en", d.id))
                .await
                .expect("goto");
            assert_eq!(
                text_of(&browser, "h1").await,
                d.title.get(uptake::i18n::Lang::En)
            );
            let panels = browser
                .find_all(Locator::Css("section.panel"))
                .await
                .expect("panels");
            assert_eq!(panels.len(), d.panels.len(), "{}", d.id);
            let errors = console_errors(&browser, driver_port).await;
            assert!(errors.is_empty(), "{}: console errors {errors:?}", d.id);
            let clipped = clipped_text(&browser).await;
            assert!(clipped.is_empty(), "{}: text cut off {clipped:#?}", d.id);
            // The charts as the browser holds them: the same data draws
            // the same SVGs.
            let svgs = browser
                .execute(
                    "return Array.from(document.querySelectorAll('section.panel svg'))
                        .map(s => s.outerHTML).join('\\n');",
                    Vec::new(),
                )
                .await
                .expect("SVGs");
            insta::assert_snapshot!(
                format!("dashboard_svgs_{}", d.id),
                svgs.as_str().expect("text")
            );
            // German words are longer.
            browser
                .goto(&format!("{base}/dashboards/{}?lang=de", d.id))
                .await
                .expect("goto");
            let clipped = clipped_text(&browser).await;
            assert!(
                clipped.is_empty(),
                "{} (de): text cut off {clipped:#?}",
                d.id
            );
        }

        // Overview: apply a region filter through the form: a region whose
        // figures of the last week are shown (protection hides many in the
        // small sample) and differ from the whole organisation's.
        browser
            .goto(&format!("{base}/dashboards/overview?lang=en"))
            .await
            .expect("goto");
        let unfiltered = attr_of(
            &browser,
            ".tile[data-figure=active_licensee_rate]",
            "data-value",
        )
        .await;
        let last = text_of(&browser, "#range-to").await;
        let mut region = None;
        for r in ["Benelux", "DACH", "Iberia", "Nordics"] {
            let rows = http_get(
                &api,
                &format!("{base}/api/v1/kpi?region={r}&from={last}&to={last}"),
            )
            .await;
            let row = &rows[0];
            if row["suppressed"] == false
                && row["active_licensee_rate"].as_f64().map(|v| v.to_string())
                    != Some(unfiltered.clone())
            {
                region = Some(r);
                break;
            }
        }
        let region = region.expect("a region shown in the last week");
        browser
            .find(Locator::Css("select[name=region]"))
            .await
            .expect("region select")
            .select_by_value(region)
            .await
            .expect("select a region");
        browser
            .find(Locator::Css("form.filters button[type=submit]"))
            .await
            .expect("apply")
            .click()
            .await
            .expect("click");
        wait_for_url(&browser, &format!("region={region}")).await;
        let from = text_of(&browser, "#range-from").await;
        let to = text_of(&browser, "#range-to").await;
        let rows = http_get(
            &api,
            &format!("{base}/api/v1/kpi?region={region}&from={from}&to={to}"),
        )
        .await;
        let last = rows.as_array().and_then(|r| r.last()).expect("a row");
        for figure in ["active_licensee_rate", "module_utilization"] {
            let shown = attr_of(
                &browser,
                &format!(".tile[data-figure={figure}]"),
                "data-value",
            )
            .await;
            let shown: Option<f64> = shown.parse().ok();
            assert_eq!(
                shown,
                rate(&last[figure]),
                "{figure} on the page and in the API"
            );
        }
        assert_ne!(
            attr_of(
                &browser,
                ".tile[data-figure=active_licensee_rate]",
                "data-value"
            )
            .await,
            unfiltered,
            "the filter changed the figure"
        );
        assert!(console_errors(&browser, driver_port).await.is_empty());

        // Back returns to the unfiltered page, forward to the filtered one.
        browser.back().await.expect("back");
        let url = browser.current_url().await.expect("url");
        assert!(!url.as_str().contains("region="), "{url}");
        assert_eq!(
            attr_of(
                &browser,
                ".tile[data-figure=active_licensee_rate]",
                "data-value"
            )
            .await,
            unfiltered
        );
        browser.forward().await.expect("forward");
        assert!(
            browser
                .current_url()
                .await
                .expect("url")
                .as_str()
                .contains(&format!("region={region}"))
        );

        // Lagging teams: the page lists what the API lists, first row
        // first. (In the small sample protection hides nearly every team,
        // so the week and region are searched for one.)
        let weeks = http_get(&api, &format!("{base}/api/v1/segments")).await["weeks"].clone();
        let last_week = weeks["last"].as_str().expect("last").to_string();
        let mut found = None;
        for week in [
            "2027-W02", "2027-W01", "2026-W53", "2026-W52", "2026-W51", "2026-W50",
        ] {
            for r in ["Nordics", "Benelux", "DACH", "Iberia"] {
                let url = format!(
                    "{base}/api/v1/lagging?by=region,department,team&region={r}&week={week}"
                );
                if let Some(first) = http_get(&api, &url)
                    .await
                    .as_array()
                    .and_then(|a| a.first().cloned())
                {
                    found.get_or_insert((week.to_string(), r, Some(first)));
                }
            }
        }
        let (week, lagging_region, first) = found.unwrap_or((last_week, "Nordics", None));
        browser
            .goto(&format!(
                "{base}/dashboards/lagging?lang=en&region={lagging_region}&to={week}"
            ))
            .await
            .expect("goto");
        assert_eq!(text_of(&browser, "#range-to").await, week);
        let rows = browser
            .find_all(Locator::Css("section#panel-1 tbody tr"))
            .await
            .expect("rows");
        match first {
            Some(first) => {
                let shown = attr_of(
                    &browser,
                    "section#panel-1 tbody tr:first-child td[data-column=users_to_target]",
                    "data-value",
                )
                .await;
                assert_eq!(shown, first["users_to_target"].to_string());
                let team = attr_of(
                    &browser,
                    "section#panel-1 tbody tr:first-child td[data-column=team]",
                    "data-value",
                )
                .await;
                assert_eq!(Value::String(team), first["team"]);
            }
            None => assert!(rows.is_empty(), "the API lists no lagging team in {week}"),
        }

        // The language switch.
        browser
            .find(Locator::Css("a[hreflang=de]"))
            .await
            .expect("switch")
            .click()
            .await
            .expect("click");
        wait_for_url(&browser, "lang=de").await;
        assert_eq!(text_of(&browser, "h1").await, "Teams mit Rückstand");
        assert!(
            browser
                .current_url()
                .await
                .expect("url")
                .as_str()
                .contains(&format!("region={lagging_region}"))
        );
        assert!(console_errors(&browser, driver_port).await.is_empty());

        browser.close().await.expect("close");
    });
}

/// A viewer subscribes to a report on `/reports` in the browser; the
/// scheduled mail arrives at a real SMTP server over the viewer's scope
/// with an unsubscribe link; the link, opened without signing in, ends
/// the subscription, and no further mail comes.
#[test]
fn a_subscription_made_in_the_browser_delivers_and_unsubscribes() {
    use crate::support::mail::MailServer;
    use crate::support::serve::Server;
    use crate::support::{sample_store, stderr, uptake, uptake_command};
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let mut add = uptake_command(&data)
        .args([
            "user",
            "add",
            "anna",
            "--role",
            "viewer",
            "--region",
            "DACH",
            "--email",
            "anna@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("user add");
    {
        use std::io::Write;
        let mut stdin = add.stdin.take().expect("stdin");
        stdin
            .write_all(b"anna's long password\n")
            .expect("password");
    }
    assert!(add.wait().expect("wait").success());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start_on(&data, port, &[]);
    let (_driver, driver_port) = start_chromedriver();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Kept for the whole test: the browser outlives the first block.
    let profile = tempfile::tempdir().expect("profile");
    let browser = runtime.block_on(async {
        let browser = headless_chromium(driver_port, profile.path()).await;
        browser
            .goto(&format!("{base}/reports?lang=en"))
            .await
            .expect("goto");
        for (field, value) in [("user", "anna"), ("password", "anna's long password")] {
            browser
                .find(Locator::Css(&format!("input[name={field}]")))
                .await
                .expect("field")
                .send_keys(value)
                .await
                .expect("type");
        }
        browser
            .find(Locator::Css("form button[type=submit]"))
            .await
            .expect("sign in")
            .click()
            .await
            .expect("click");
        let form = browser
            .wait()
            .for_element(Locator::Css("form#subscribe"))
            .await
            .expect("the subscribe form on /reports");
        for option in [
            "select[name=report] option[value=steering-weekly]",
            "select[name=language] option[value=de]",
            "select[name=schedule] option[value=weekly]",
        ] {
            form.find(Locator::Css(option))
                .await
                .expect(option)
                .click()
                .await
                .expect("pick");
        }
        form.find(Locator::Css("button[type=submit]"))
            .await
            .expect("subscribe")
            .click()
            .await
            .expect("click");
        let listed = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#my-subscriptions tr[data-subscription]"))
            .await;
        if listed.is_err() {
            let source = browser.source().await.unwrap_or_default();
            panic!("the subscription is not listed; the page:\n{source}");
        }
        browser
    });
    let files: Vec<_> = std::fs::read_dir(data.join("subscriptions"))
        .expect("subscriptions")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).expect("toml");
    assert!(
        text.contains("user = \"anna\"") && text.contains("language = \"de\""),
        "{text}"
    );
    assert!(text.contains("cron = \"0 7 * * MON\""), "{text}");

    // The scheduled slots come: the mail goes out over anna's scope.
    let mail = MailServer::start(tmp.path());
    let smtp = mail.port.to_string();
    let run_due = |now: &str| {
        let out = uptake_command(&data)
            .args(["schedule", "run-due", "--now", now])
            .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
            .env("UPTAKE_SERVER_PUBLIC_URL", &base)
            .env("UPTAKE_SMTP_HOST", "127.0.0.1")
            .env("UPTAKE_SMTP_PORT", &smtp)
            .env("UPTAKE_SMTP_SECURITY", "none")
            .env("UPTAKE_SMTP_FROM", "uptake <uptake@example.com>")
            .output()
            .expect("run-due");
        assert!(out.status.success(), "{}", stderr(&out));
    };
    run_due("2026-12-07T06:00:00Z");
    run_due("2026-12-07T07:01:00Z");
    let messages = mail.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert!(message.contains("To: anna@example.com"), "{message}");
    // The text part is quoted-printable (German has umlauts): soft line
    // breaks joined, =XX decoded.
    let message = &quoted_printable(message);
    let link = message
        .lines()
        .find_map(|l| {
            l.split_once("Abbestellen: ")
                .map(|(_, link)| link.trim().to_string())
        })
        .expect("an unsubscribe link in German");
    assert!(link.starts_with(&format!("{base}/unsubscribe/")), "{link}");

    assert!(link.ends_with("?lang=de"), "the mail's language: {link}");

    // Opened signed out: the page asks in the mail's language, the button
    // unsubscribes.
    let german = uptake::i18n::Lang::De;
    runtime.block_on(async {
        browser.delete_all_cookies().await.expect("sign out");
        browser.goto(&link).await.expect("goto link");
        let Ok(button) = browser.find(Locator::Css("button#confirm")).await else {
            let source = browser.source().await.unwrap_or_default();
            panic!("no confirm button on the unsubscribe page:\n{source}");
        };
        assert_eq!(button.text().await.expect("text"), german.t("unsubscribe"));
        button.click().await.expect("click");
        let done = browser
            .wait()
            .for_element(Locator::Css("#done"))
            .await
            .expect("unsubscribed");
        assert!(!done.text().await.expect("text").is_empty());
        browser.close().await.expect("close");
    });
    assert_eq!(
        std::fs::read_dir(data.join("subscriptions"))
            .expect("dir")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .count(),
        0
    );
    // The next Monday: nothing more for anna.
    run_due("2026-12-14T07:01:00Z");
    let to_anna = mail
        .messages()
        .iter()
        .filter(|m| m.contains("To: anna@example.com"))
        .count();
    assert_eq!(to_anna, 1);
    // The link again: the subscription is gone, said so in German.
    let reply = crate::support::http::get(port, link.trim_start_matches(&base));
    assert_eq!(reply.status, 200);
    assert!(
        reply.text().contains(german.t("subscription_gone")),
        "{}",
        reply.text()
    );
    // A link whose language was changed to one uptake does not have, or
    // to 8 KB of letters, is still answered, in the browser's language
    // (none here: English).
    let path = link.trim_start_matches(&base).replace("?lang=de", "");
    for lang in ["pt".to_string(), "x".repeat(8_000)] {
        let reply = crate::support::http::get(port, &format!("{path}?lang={lang}"));
        assert_eq!(reply.status, 200);
        assert!(
            reply
                .text()
                .contains(uptake::i18n::Lang::En.t("subscription_gone")),
            "{}",
            reply.text()
        );
    }
    let _ = uptake(&data, &["schedule", "status"]);
    drop(server);
}

/// A mail's quoted-printable text decoded (soft line breaks and `=XX`).
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
