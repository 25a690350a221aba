//! Delivery of an alert's dispatch: to a folder (JSON), a webhook (JSON),
//! by e-mail (plain text), to Teams (an Adaptive Card) or Slack (Block
//! Kit), with the reports' transport ([`crate::schedule::deliver`]).

use std::time::Duration;

use lettre::message::{MultiPart, SinglePart};

use crate::schedule::chat::Post;
use crate::schedule::deliver::{post_json, public_link, send_mail, write_atomically};
use crate::schedule::subscriptions::{self, Unsubscribe};
use crate::schedule::{Context, NoticeKind};

use super::check::Message;

/// Why a delivery failed: worth another attempt, or not.
#[derive(Debug)]
pub enum Failure {
    Retry(String),
    Final(String),
}

/// Delivers one dispatch of an alert to one of its targets (a name from
/// the dispatch: a channel target of the alert, or `email:` recipients).
pub async fn send_alert(
    ctx: &Context<'_>,
    message: &Message<'_>,
    target: &str,
) -> Result<(), Failure> {
    let alert = message.alert;
    let timeout = Duration::from_secs(ctx.settings.delivery.timeout_seconds.max(1));
    if let Some(to) = target.strip_prefix("email:") {
        let to: Vec<String> = to.split(',').map(str::to_string).collect();
        // Each recipient still sees what the notices were computed for.
        let users = crate::auth::users::Users::new(ctx.data);
        for address in &to {
            let scope = users.by_email(address).map(|u| u.scope.describe());
            if scope.as_deref() != Some(message.dispatch.audience.as_str()) {
                return Err(Failure::Final(format!(
                    "{address} no longer sees {}; not sent",
                    message.dispatch.audience
                )));
            }
        }
        return alert_mail(ctx, message, &to, timeout)
            .await
            .map_err(Failure::Retry);
    }
    let Some(def) = alert.deliver.iter().find(|t| t.name() == target) else {
        return Err(Failure::Final(
            "the alert no longer names this target".into(),
        ));
    };
    let post = alert_post(ctx, message);
    let key = &message.dispatch.dispatch;
    let result = if let Some(folder) = &def.folder {
        let file = folder.join(format!(
            "{}.json",
            key.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
        ));
        let body = serde_json::to_vec_pretty(&alert_json(ctx, message)).unwrap_or_default();
        write_atomically(&file, &body)
    } else if let Some(url) = &def.webhook {
        post_json(url, &alert_json(ctx, message), key, timeout)
            .await
            .map_err(|e| format!("webhook {e}"))
    } else if let Some(url) = &def.teams {
        post_json(url, &post.teams(), key, timeout)
            .await
            .map_err(|e| format!("teams {e}"))
    } else if let Some(url) = &def.slack {
        post_json(url, &post.slack(), key, timeout)
            .await
            .map_err(|e| format!("slack {e}"))
    } else {
        Err("the target names no folder, webhook, teams or slack".into())
    };
    result.map_err(Failure::Retry)
}

/// How a segment of an alert is named: its values, waves and regions by
/// name.
fn alert_post(ctx: &Context<'_>, message: &Message<'_>) -> Post {
    let lang = message.alert.lang;
    let fired = message
        .notices
        .iter()
        .filter(|n| n.state == NoticeKind::Fired)
        .count();
    let resolved = message.notices.len() - fired;
    let mut links = Vec::new();
    if let Some(page) = public_link(
        ctx,
        &format!("/alerts?alert={}&lang={}", message.alert.name, lang.code()),
    ) {
        links.push((lang.t("open_alerts").to_string(), page));
    }
    let post = Post {
        title: message.alert.title.clone(),
        subtitle: format!(
            "{} {} · {} {fired} · {} {resolved}",
            lang.t("week"),
            message.dispatch.week,
            lang.t("alert_new"),
            lang.t("alert_resolved"),
        ),
        links,
        ..Post::default()
    };
    post.with_items(
        message.notices.iter().map(|n| {
            let state = match n.state {
                NoticeKind::Fired => lang.t("alert_new"),
                NoticeKind::Resolved => lang.t("alert_resolved"),
            };
            (
                format!(
                    "{} ({state})",
                    lang.segment(&n.dims, &n.segment, ctx.labels)
                ),
                n.message.clone(),
            )
        }),
        |n| format!("{} {n}", lang.t("and_more")),
    )
}

fn alert_json(ctx: &Context<'_>, message: &Message<'_>) -> serde_json::Value {
    let alert = message.alert;
    serde_json::json!({
        "alert": alert.name,
        "title": alert.title,
        "condition": alert.condition.name(),
        "dispatch": message.dispatch.dispatch,
        "week": message.dispatch.week,
        "link": public_link(ctx, &format!("/alerts?alert={}", alert.name)),
        "notices": message.notices.iter().map(|n| serde_json::json!({
            "notice": n.notice,
            "state": n.state,
            "episode": n.episode,
            "dims": n.dims,
            "segment": n.segment,
            "message": n.message,
        })).collect::<Vec<_>>(),
    })
}

async fn alert_mail(
    ctx: &Context<'_>,
    message: &Message<'_>,
    to: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let post = alert_post(ctx, message);
    let mut text = format!("{}\n{}\n\n", post.title, post.subtitle);
    for (heading, line) in &post.items {
        text.push_str(&format!("- {heading}: {line}\n"));
    }
    if let Some(more) = &post.more {
        text.push_str(&format!("{more}\n"));
    }
    for (label, url) in &post.links {
        text.push_str(&format!("\n{label}: {url}\n"));
    }
    text.push_str("\n-- \nuptake\n");
    let subject = format!("{} ({})", post.title, post.subtitle);
    let what = format!("alert:{}", message.alert.name);
    // One mail per recipient, each with their own unsubscribe link; an
    // address that opted out of the alert gets none.
    for address in to {
        if subscriptions::opted_out(ctx.data, &what, address) {
            continue;
        }
        let stop = Unsubscribe::OptOut {
            what: what.clone(),
            address: address.clone(),
        };
        let mut text = text.clone();
        let lang = message.alert.lang;
        if let Some(link) = subscriptions::unsubscribe_link(ctx.data, ctx.settings, &stop, lang) {
            text.push_str(&format!("{}: {link}\n", lang.t("unsubscribe")));
        }
        let body = MultiPart::mixed().singlepart(SinglePart::plain(text));
        let id = format!(
            "{}-{}",
            message.dispatch.dispatch,
            &crate::auth::digest(address)[..8]
        );
        send_mail(
            ctx,
            &id,
            &subject,
            std::slice::from_ref(address),
            body,
            timeout,
        )
        .await?;
    }
    Ok(())
}
