//! Delivery of a report's PDF: to a folder, by e-mail over SMTP, or to a
//! webhook. Each returns the reason of a failure as text for the run log.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpSecurity;
use crate::report::{Content, Report, Target};

use super::chat::Post;
use super::subscriptions::{self, Unsubscribe};
use super::{Context, RunState};

/// Writes a file so that readers see the old or the new bytes, never a
/// part: a temporary file in the same folder, flushed, then renamed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report")
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// The file name a report of a week is delivered as.
pub fn file_name(report: &Report, week: &str) -> String {
    format!("{}-{week}.pdf", report.name)
}

/// Delivers a run's PDF to one target. `pdf_file` is the file name of the
/// PDF in `<data>/reports/out`, which Teams and Slack messages link to.
pub async fn send(
    ctx: &Context<'_>,
    report: &Report,
    run: &RunState,
    target: &Target,
    (pdf, pdf_file): (&[u8], &str),
    content: &Content,
) -> Result<(), String> {
    let name = file_name(report, &run.week);
    if let Some(folder) = &target.folder {
        return write_atomically(&folder.join(&name), pdf);
    }
    let timeout = Duration::from_secs(ctx.settings.delivery.timeout_seconds.max(1));
    if let Some(to) = &target.email {
        return email(ctx, report, run, to, &name, pdf, content, timeout).await;
    }
    if let Some(url) = &target.webhook {
        return webhook(report, run, url, &name, pdf, content, timeout)
            .await
            .map_err(|e| format!("webhook {e}"));
    }
    let chat = [("teams", &target.teams), ("slack", &target.slack)];
    if let Some((kind, Some(url))) = chat.into_iter().find(|(_, u)| u.is_some()) {
        let post = report_post(ctx, report, run, content, pdf_file)?;
        let body = if kind == "teams" {
            post.teams()
        } else {
            post.slack()
        };
        return post_json(url, &body, &run.run, timeout)
            .await
            .map_err(|e| format!("{kind} {e}"));
    }
    Err("the target names no folder, e-mail, webhook, teams or slack".into())
}

fn subject(report: &Report, run: &RunState) -> String {
    format!("{} ({})", report.title, run.week)
}

fn mail_text(
    report: &Report,
    run: &RunState,
    content: &Content,
    unsubscribe: Option<&str>,
) -> String {
    let mut text = format!("{}\n{}\n\n", report.title, run.week);
    for t in &content.data.figures {
        text.push_str(&format!(
            "{}: {} ({}; {})\n",
            t.label, t.value, t.status_text, t.target
        ));
    }
    if !content.data.highlights.is_empty() {
        text.push('\n');
        for h in &content.data.highlights {
            text.push_str(&format!("- {h}\n"));
        }
    }
    text.push_str("\n-- \nuptake\n");
    if let Some(link) = unsubscribe {
        text.push_str(&format!("{}: {link}\n", report.lang.t("unsubscribe")));
    }
    text
}

/// What the unsubscribe link of a report's mail to `address` stops.
fn report_unsubscribe(report: &Report, address: &str) -> Unsubscribe {
    match &report.subscription {
        Some(id) => Unsubscribe::Subscription(id.clone()),
        None => Unsubscribe::OptOut {
            what: format!("report:{}", report.name),
            address: address.to_string(),
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn email(
    ctx: &Context<'_>,
    report: &Report,
    run: &RunState,
    to: &[String],
    name: &str,
    pdf: &[u8],
    content: &Content,
    timeout: Duration,
) -> Result<(), String> {
    let pdf_type =
        ContentType::parse("application/pdf").map_err(|e| format!("content type: {e}"))?;
    // One mail per recipient, each with their own unsubscribe link; an
    // address that opted out of the report gets none.
    for address in to {
        let stop = report_unsubscribe(report, address);
        if let Unsubscribe::OptOut { what, .. } = &stop
            && subscriptions::opted_out(ctx.data, what, address)
        {
            continue;
        }
        let link = subscriptions::unsubscribe_link(ctx.data, ctx.settings, &stop, report.lang);
        let body = MultiPart::mixed()
            .singlepart(SinglePart::plain(mail_text(
                report,
                run,
                content,
                link.as_deref(),
            )))
            .singlepart(Attachment::new(name.to_string()).body(pdf.to_vec(), pdf_type.clone()));
        let id = format!("{}-{}", run.run, &crate::auth::digest(address)[..8]);
        send_mail(
            ctx,
            &id,
            &subject(report, run),
            std::slice::from_ref(address),
            body,
            timeout,
        )
        .await?;
    }
    Ok(())
}

/// Sends a mail through the configured SMTP server. `id` names what is
/// sent (a run, a dispatch): the same id keeps the same Message-ID, so a
/// repeat is recognisable.
pub async fn send_mail(
    ctx: &Context<'_>,
    id: &str,
    subject: &str,
    to: &[String],
    body: MultiPart,
    timeout: Duration,
) -> Result<(), String> {
    let smtp = &ctx.settings.smtp;
    if smtp.host.is_empty() || smtp.from.is_empty() {
        return Err("e-mail delivery needs smtp.host and smtp.from in the settings".into());
    }
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("smtp.from '{}': {e}", smtp.from))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(subject)
        .message_id(Some(format!(
            "<{}@uptake>",
            id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', ".")
        )));
    for address in to {
        builder = builder.to(address
            .parse()
            .map_err(|e| format!("recipient '{address}': {e}"))?);
    }
    let message = builder
        .multipart(body)
        .map_err(|e| format!("cannot build the e-mail: {e}"))?;
    let transport = match smtp.security {
        SmtpSecurity::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        }
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| format!("smtp {}: {e}", smtp.host))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| format!("smtp {}: {e}", smtp.host))?,
    };
    let mut transport = transport.port(smtp.port).timeout(Some(timeout));
    if !smtp.username.is_empty() {
        transport = transport.credentials(Credentials::new(
            smtp.username.clone(),
            smtp.password.clone(),
        ));
    }
    transport
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("smtp {}:{}: {e}", smtp.host, smtp.port))
}

async fn webhook(
    report: &Report,
    run: &RunState,
    url: &str,
    name: &str,
    pdf: &[u8],
    content: &Content,
    timeout: Duration,
) -> Result<(), String> {
    let body = serde_json::json!({
        "report": report.name,
        "title": report.title,
        "run": run.run,
        "week": run.week,
        "catch_up": run.catch_up,
        "figures": content.data.figures,
        "highlights": content.data.highlights,
        "file_name": name,
        "content_type": "application/pdf",
        "pdf_base64": base64::engine::general_purpose::STANDARD.encode(pdf),
    });
    post_json(url, &body, &run.run, timeout).await
}

/// POSTs JSON to a URL with an Idempotency-Key; a 2xx answer is a
/// delivery, anything else an error naming the status and the start of
/// the answer.
pub async fn post_json(
    url: &str,
    body: &serde_json::Value,
    key: &str,
    timeout: Duration,
) -> Result<(), String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("'{url}': {e}"))?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<bytes::Bytes>>(connector);
    let request = axum::http::Request::post(uri)
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .header("user-agent", "uptake")
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .map_err(|e| format!("'{url}': {e}"))?;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| format!("{url}: no answer within {}s", timeout.as_secs()))?
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = tokio::time::timeout(timeout, response.into_body().collect())
        .await
        .ok()
        .and_then(|b| b.ok())
        .map(|b| {
            String::from_utf8_lossy(&b.to_bytes())
                .chars()
                .take(200)
                .collect::<String>()
        })
        .unwrap_or_default();
    Err(format!("{url}: HTTP {status} {text}"))
}

/// The address of a page of uptake for readers, when `server.public_url`
/// is set.
pub fn public_link(ctx: &Context<'_>, path_and_query: &str) -> Option<String> {
    let base = ctx.settings.server.public_url.trim_end_matches('/');
    (!base.is_empty()).then(|| format!("{base}{path_and_query}"))
}

/// A signed link to a PDF in `<data>/reports/out` that works without
/// signing in for `server.link_days`.
pub fn pdf_link(ctx: &Context<'_>, file: &str, now: DateTime<Utc>) -> Result<String, String> {
    if ctx.settings.server.public_url.is_empty() {
        return Err(
            "Teams and Slack messages link to the PDF: set server.public_url (UPTAKE_SERVER_PUBLIC_URL) to the address readers reach uptake at"
                .into(),
        );
    }
    let links = crate::auth::links::Links::open(ctx.data)
        .map_err(|e| format!("the link key in {}: {e}", ctx.data.display()))?;
    let expires = now + chrono::Duration::days(i64::from(ctx.settings.server.link_days));
    let token = links.sign(&format!("pdf:{file}"), Some(expires));
    public_link(ctx, &format!("/links/{token}")).ok_or_else(|| "no public_url".to_string())
}

/// The dashboard a report's filter shows, as a query string.
fn filter_query(report: &Report) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("region", &report.filter.region),
        ("department", &report.filter.department),
        ("wave", &report.filter.wave),
    ] {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    q.append_pair("lang", report.lang.code());
    q.finish()
}

/// A report as a chat message: its figures, highlights, the dashboard
/// with its filters and the PDF.
fn report_post(
    ctx: &Context<'_>,
    report: &Report,
    run: &RunState,
    content: &Content,
    pdf_file: &str,
) -> Result<Post, String> {
    let lang = report.lang;
    let pdf = pdf_link(ctx, pdf_file, run.started)?;
    let mut links = vec![(lang.t("open_pdf").to_string(), pdf)];
    if let Some(dashboard) = public_link(
        ctx,
        &format!("/dashboards/overview?{}", filter_query(report)),
    ) {
        links.push((lang.t("open_dashboard").to_string(), dashboard));
    }
    let post = Post {
        title: report.title.clone(),
        subtitle: format!("{} {}", lang.t("week"), run.week),
        facts: content
            .data
            .figures
            .iter()
            .map(|t| {
                (
                    t.label.clone(),
                    format!("{} ({}; {})", t.value, t.status_text, t.target),
                )
            })
            .collect(),
        links,
        ..Post::default()
    };
    Ok(post.with_items(
        content
            .data
            .highlights
            .iter()
            .map(|h| (lang.t("highlight").to_string(), h.clone())),
        |n| format!("{} {n}", lang.t("and_more")),
    ))
}
