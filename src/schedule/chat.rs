//! Messages for chat: a Microsoft Teams Adaptive Card (version 1.4, sent
//! to an incoming webhook or a Workflows URL as a `message` with the card
//! attached) and Slack Block Kit blocks (to an incoming webhook). Both
//! are built from one [`Post`]: a title, a line under it, facts (label
//! and value), items (a heading and a text each) and links.
//!
//! Limits kept here, not left to the receiver: Slack takes at most 50
//! blocks, 3000 characters in a section's text, 150 in a header, 75 in a
//! button; a Teams message at most about 28 KB. Items beyond
//! [`MAX_ITEMS`] are counted in a last line ("and 12 more") whose link
//! leads to the full list.

use serde_json::{Value, json};

/// Items shown in one message; the rest are counted.
pub const MAX_ITEMS: usize = 20;
/// Characters of one item's text.
const MAX_ITEM_CHARS: usize = 400;
/// Slack's limits.
const SLACK_HEADER_CHARS: usize = 150;
const SLACK_SECTION_CHARS: usize = 3000;
const SLACK_BUTTON_CHARS: usize = 75;
const SLACK_URL_CHARS: usize = 3000;

/// What a chat message says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Post {
    pub title: String,
    pub subtitle: String,
    pub facts: Vec<(String, String)>,
    /// Items, each a heading and a text.
    pub items: Vec<(String, String)>,
    /// "and N more", when items were left out.
    pub more: Option<String>,
    /// Button label and address.
    pub links: Vec<(String, String)>,
}

/// Cuts text to at most `max` characters, marking the cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

impl Post {
    /// Adds items, keeping [`MAX_ITEMS`] and counting the rest in `more`
    /// (`more(n)` words it).
    pub fn with_items(
        mut self,
        items: impl IntoIterator<Item = (String, String)>,
        more: impl Fn(usize) -> String,
    ) -> Post {
        let mut left = 0;
        for (heading, text) in items {
            if self.items.len() < MAX_ITEMS {
                self.items
                    .push((cut(&heading, MAX_ITEM_CHARS), cut(&text, MAX_ITEM_CHARS)));
            } else {
                left += 1;
            }
        }
        if left > 0 {
            self.more = Some(more(left));
        }
        self
    }

    /// The Teams message: an Adaptive Card 1.4 as the attachment of a
    /// `message`.
    pub fn teams(&self) -> Value {
        let mut body = vec![
            json!({"type": "TextBlock", "text": self.title, "size": "Large",
                   "weight": "Bolder", "wrap": true}),
        ];
        if !self.subtitle.is_empty() {
            body.push(json!({"type": "TextBlock", "text": self.subtitle,
                             "isSubtle": true, "spacing": "None", "wrap": true}));
        }
        if !self.facts.is_empty() {
            body.push(json!({
                "type": "FactSet",
                "facts": self.facts.iter()
                    .map(|(t, v)| json!({"title": t, "value": v}))
                    .collect::<Vec<_>>(),
            }));
        }
        for (heading, text) in &self.items {
            body.push(json!({
                "type": "Container",
                "separator": true,
                "items": [
                    {"type": "TextBlock", "text": heading, "weight": "Bolder", "wrap": true},
                    {"type": "TextBlock", "text": text, "spacing": "None", "wrap": true},
                ],
            }));
        }
        if let Some(more) = &self.more {
            body.push(json!({"type": "TextBlock", "text": more, "isSubtle": true, "wrap": true}));
        }
        let actions: Vec<Value> = self
            .links
            .iter()
            .map(|(title, url)| json!({"type": "Action.OpenUrl", "title": title, "url": url}))
            .collect();
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        });
        if !actions.is_empty() {
            card["actions"] = json!(actions);
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        })
    }

    /// The Slack message: Block Kit blocks, with the title as the
    /// notification's text.
    pub fn slack(&self) -> Value {
        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": cut(&self.title, SLACK_HEADER_CHARS), "emoji": false},
        })];
        if !self.subtitle.is_empty() {
            blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(&self.subtitle)}],
            }));
        }
        if !self.facts.is_empty() {
            // A section takes at most 10 fields; the facts go into its
            // text instead, one per line.
            let text = self
                .facts
                .iter()
                .map(|(t, v)| format!("*{}:* {}", escape(t), escape(v)))
                .collect::<Vec<_>>()
                .join("\n");
            blocks.push(section(&text));
        }
        if !self.items.is_empty() {
            blocks.push(json!({"type": "divider"}));
        }
        for (heading, text) in &self.items {
            blocks.push(section(&format!("*{}*\n{}", escape(heading), escape(text))));
        }
        if let Some(more) = &self.more {
            blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(more)}],
            }));
        }
        let buttons: Vec<Value> = self
            .links
            .iter()
            .filter(|(_, url)| url.len() <= SLACK_URL_CHARS)
            .take(5)
            .map(|(title, url)| {
                json!({
                    "type": "button",
                    "text": {"type": "plain_text", "text": cut(title, SLACK_BUTTON_CHARS)},
                    "url": url,
                })
            })
            .collect();
        if !buttons.is_empty() {
            blocks.push(json!({"type": "actions", "elements": buttons}));
        }
        json!({"text": cut(&self.title, SLACK_SECTION_CHARS), "blocks": blocks})
    }
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SLACK_SECTION_CHARS)}})
}

/// Slack's mrkdwn: `&`, `<` and `>` escaped, so that a segment named
/// `<!channel>` notifies no one.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big() -> Post {
        Post {
            title: "T".repeat(400),
            subtitle: "2026-W48".into(),
            facts: vec![("Active licensee rate".into(), "71.0%".into())],
            links: vec![(
                "Open the PDF".into(),
                "https://uptake.example.com/links/x".into(),
            )],
            ..Post::default()
        }
        .with_items(
            (0..500).map(|i| (format!("Team {i} <!channel>"), "x".repeat(5000))),
            |n| format!("and {n} more"),
        )
    }

    #[test]
    fn slack_messages_keep_block_kit_limits() {
        let slack = big().slack();
        let blocks = slack["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= 50, "{}", blocks.len());
        assert!(
            blocks[0]["text"]["text"]
                .as_str()
                .expect("header")
                .chars()
                .count()
                <= 150
        );
        for b in blocks {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= 3000);
            }
        }
        let text = slack.to_string();
        assert!(!text.contains("<!channel>") && text.contains("&lt;!channel&gt;"));
        assert!(text.contains("and 480 more"));
    }

    #[test]
    fn teams_messages_carry_an_adaptive_card_1_4() {
        let teams = big().teams();
        let card = &teams["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["version"], "1.4");
        assert_eq!(card["content"]["actions"][0]["type"], "Action.OpenUrl");
        // Twenty items of 500 characters and the rest counted: within the
        // 28 KB a Teams message may have.
        assert!(
            teams.to_string().len() < 28 * 1024,
            "{}",
            teams.to_string().len()
        );
    }
}
