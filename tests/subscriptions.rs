//! Subscriptions over HTTP, attacked: forms without the session's token
//! or from another site, tokens instead of sessions, schedules that would
//! send every second, reports or users that do not exist, another user's
//! subscription, too many subscriptions, made-up unsubscribe links and
//! oversized forms. (The browser test makes and ends one for real.)

use std::process::Stdio;

use crate::support::http::{Reply, request};
use crate::support::serve::Server;
use crate::support::{sample_store, stderr, token_with, uptake, uptake_command};

fn add_user(data: &std::path::Path, name: &str, role: &str, region: Option<&str>, email: &str) {
    let mut args = vec![
        "user",
        "add",
        name,
        "--role",
        role,
        "--email",
        email,
        "--password-stdin",
    ];
    if let Some(r) = region {
        args.extend(["--region", r]);
    }
    let mut child = uptake_command(data)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("user add");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{name}'s long password\n").as_bytes())
            .expect("password");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", stderr(&out));
}

fn cookie_of(r: &Reply, name: &str) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie {name}"))
        .to_string()
}

fn form_token(page: &str) -> String {
    let pattern = "name=\"form_token\" value=\"";
    let at = page.find(pattern).expect("form token") + pattern.len();
    page[at..].split('"').next().expect("value").to_string()
}

/// Signs in over HTTP: the session cookie and the form token of /reports.
fn sign_in(port: u16, user: &str) -> (String, String) {
    let r = request(port, "GET", "/login", &[], b"").expect("login form");
    let login = cookie_of(&r, "uptake_login");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("user", user)
        .append_pair("password", &format!("{user}'s long password"))
        .append_pair("next", "/reports")
        .append_pair("form_token", &form_token(&r.text()))
        .finish();
    let r = request(
        port,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &login),
        ],
        body.as_bytes(),
    )
    .expect("sign in");
    assert_eq!(r.status, 303, "{}", r.text());
    let session = cookie_of(&r, "uptake_session");
    let page = request(
        port,
        "GET",
        "/reports?lang=en",
        &[("Cookie", &session)],
        b"",
    )
    .expect("reports");
    assert_eq!(page.status, 200);
    (session.clone(), form_token(&page.text()))
}

fn post_form(port: u16, path: &str, headers: &[(&str, &str)], fields: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    request(port, "POST", path, &all, body.as_bytes()).expect("post")
}

fn subscription_files(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join("subscriptions"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count()
        })
        .unwrap_or(0)
}

/// What is tried, with whose session, the fields, extra headers and the
/// status expected.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, String)>,
    Vec<(&'static str, &'static str)>,
    u16,
);

#[test]
fn subscriptions_refuse_forged_foreign_and_costly_requests() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    add_user(&data, "root", "admin", None, "root@example.com");
    add_user(&data, "vera", "viewer", Some("DACH"), "vera@example.com");
    add_user(&data, "nils", "viewer", Some("Nordics"), "nils@example.com");
    let server = Server::start(&data, &[]);
    let port = server.port;
    let (admin, admin_form) = sign_in(port, "root");
    let (vera, vera_form) = sign_in(port, "vera");
    let good = |token: &str| {
        vec![
            ("form_token", token.to_string()),
            ("report", "steering-weekly".to_string()),
            ("language", "en".to_string()),
            ("schedule", "weekly".to_string()),
        ]
    };
    let fields = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    let send = |cookie: &str, v: &[(&'static str, String)], extra: &[(&str, &str)]| {
        let pairs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut headers = vec![("Cookie", cookie)];
        headers.extend_from_slice(extra);
        post_form(port, "/subscriptions", &headers, &pairs)
    };

    // The form, then what it must refuse, each with a JSON reason.
    let r = send(&vera, &good(&vera_form), &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(subscription_files(&data), 1);
    let without_token: Vec<_> = good(&vera_form).into_iter().skip(1).collect();
    let cases: Vec<Case> = vec![
        ("no form token", vera.clone(), without_token, vec![], 403),
        (
            "from another site",
            vera.clone(),
            good(&vera_form),
            vec![("Origin", "https://evil.example")],
            403,
        ),
        (
            "every second",
            vera.clone(),
            {
                let mut v = fields(&good(&vera_form));
                v[3].1 = "cron".into();
                v.push(("cron", "* * * * * *".into()));
                v
            },
            vec![],
            400,
        ),
        (
            "no such report",
            vera.clone(),
            {
                let mut v = good(&vera_form);
                v[1].1 = "../../etc/passwd".into();
                v
            },
            vec![],
            400,
        ),
        (
            "no such language",
            vera.clone(),
            {
                let mut v = good(&vera_form);
                v[2].1 = "pt".into();
                v
            },
            vec![],
            400,
        ),
        (
            "a viewer for someone else",
            vera.clone(),
            {
                let mut v = good(&vera_form);
                v.push(("user", "nils".into()));
                v
            },
            vec![],
            403,
        ),
        (
            "an admin for nobody",
            admin.clone(),
            {
                let mut v = good(&admin_form);
                v.push(("user", "nobody".into()));
                v
            },
            vec![],
            400,
        ),
    ];
    for (what, cookie, v, extra, status) in cases {
        let r = send(&cookie, &v, &extra);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert!(
            r.json()["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    // A token has no session (and no mailbox).
    let analyst = token_with(&data, "analyst");
    let pairs: Vec<(&str, String)> = good("x");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bearer = format!("Bearer {analyst}");
    let r = post_form(
        port,
        "/subscriptions",
        &[("Authorization", &bearer)],
        &pairs,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(subscription_files(&data), 1, "nothing refused was stored");

    // An admin subscribes a user; vera cannot end nils's subscription.
    let mut v = good(&admin_form);
    v.push(("user", "nils".into()));
    assert_eq!(send(&admin, &v, &[]).status, 303);
    let files: Vec<String> = std::fs::read_dir(data.join("subscriptions"))
        .expect("dir")
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            text.contains("user = \"nils\"")
                .then(|| e.path().file_stem()?.to_str().map(str::to_string))
                .flatten()
        })
        .collect();
    let nils = &files[0];
    let r = post_form(
        port,
        &format!("/subscriptions/{nils}/delete"),
        &[("Cookie", &vera)],
        &[("form_token", &vera_form)],
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(subscription_files(&data), 2);
    // At most 20 per user.
    for _ in 0..19 {
        send(&vera, &good(&vera_form), &[]);
    }
    let r = send(&vera, &good(&vera_form), &[]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(subscription_files(&data), 21);
    // An oversized form is refused before it is read whole.
    let big = format!("form_token={vera_form}&report={}", "x".repeat(64 * 1024));
    let r = request(
        port,
        "POST",
        "/subscriptions",
        &[
            ("Cookie", &vera),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        big.as_bytes(),
    )
    .expect("post");
    assert_eq!(r.status, 413, "{}", r.text());

    // Made-up unsubscribe links, for GET and POST.
    for link in [
        "/unsubscribe/x".to_string(),
        "/unsubscribe/eA.eA".to_string(),
        format!("/unsubscribe/{}", "a".repeat(5000)),
    ] {
        for method in ["GET", "POST"] {
            let r = request(port, method, &link, &[], b"").expect("link");
            assert_eq!(
                r.status,
                404,
                "{method} {}: {}",
                &link[..20.min(link.len())],
                r.text()
            );
            assert_eq!(r.json()["error"], "not_found");
        }
    }
    let r = request(
        port,
        "POST",
        "/unsubscribe/x",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &vec![b'a'; 64 * 1024],
    )
    .expect("post");
    assert_eq!(r.status, 413, "{}", r.text());
    let out = uptake(&data, &["schedule", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    drop(server);
}
