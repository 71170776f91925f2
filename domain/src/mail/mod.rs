//! Mail that Roster sends: one-time sign-in links (enrolment) and
//! "Forgot password?" resets, kept in a transactional outbox.
//!
//! A message is written in the same write transaction as the act that
//! causes it (an import, a reset request): if the act rolls back, so does
//! the message; if it commits, the message is in the store and a sender
//! delivers it later. A queued message holds who it is for, its kind, the
//! link's token and expiry — not its text: the subject and bodies are
//! rendered when a sender claims it (from the user's name and the options'
//! template as they are then), with a marker in place of the link that is
//! replaced only for sending. The link's token stays in the message
//! until the message is sent (a message refused for good keeps it, so that
//! "Retry" can send it; one failed at the claim loses it), then only the
//! link's hash remains, in the links table.

pub mod template;

pub use template::{MailInput, MailTemplate, Part, Placeholder, TemplateError, render};

use crate::email::UserKey;
use crate::link::LinkToken;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailKind {
    /// A one-time sign-in link for a user without a password.
    SignInLink,
    /// A "Forgot password?" link for a user who has one.
    Reset,
}

impl MailKind {
    pub fn label(self) -> &'static str {
        match self {
            MailKind::SignInLink => "Sign-in link",
            MailKind::Reset => "Password reset",
        }
    }
}

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailState {
    /// Waiting for a sender (again, after a temporary refusal).
    Queued,
    Sent,
    /// Refused for good (5xx) or out of attempts ("Retry" queues it
    /// again), or not sent at all because its user or link was gone by
    /// the claim (no token left: "Retry" is refused).
    Failed,
}

impl MailState {
    pub const ALL: [MailState; 3] = [MailState::Queued, MailState::Sent, MailState::Failed];

    pub fn key(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MailState> {
        MailState::ALL.into_iter().find(|m| m.key() == s)
    }
}

impl fmt::Display for MailState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Stands for the link in stored bodies. Control characters never reach
/// a user's text (the character rule), so no name can contain it.
pub const LINK_MARK: &str = "\u{1}link\u{1}";

/// One message of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Given by the store (`Sequence::Outbox`).
    pub id: u64,
    pub kind: MailKind,
    /// The user the message is about (and to).
    pub user_key: UserKey,
    /// The address it goes to.
    pub recipient: String,
    /// Empty as stored; filled when a sender claims the message.
    pub subject: String,
    /// Plain-text and HTML bodies, with [`LINK_MARK`] where the link goes
    /// (empty as stored, like the subject).
    pub text: String,
    pub html: String,
    pub state: MailState,
    /// Delivery attempts so far (a claim counts as one).
    pub attempts: u32,
    /// Unix seconds: when a sender may take it (again).
    pub next_attempt_at: i64,
    /// The mail server's last answer ("250 …", "451 …", or a connection
    /// error).
    pub last_answer: Option<String>,
    /// Who caused it (an operator's email, `cli`, or the user themself).
    pub by: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// The link's token, until the message is sent.
    pub token: Option<LinkToken>,
    /// Unix seconds: when the link expires.
    pub link_expires_at: i64,
}

/// How many messages are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

impl OutboxCounts {
    pub fn add(&mut self, state: MailState) {
        match state {
            MailState::Queued => self.queued += 1,
            MailState::Sent => self.sent += 1,
            MailState::Failed => self.failed += 1,
        }
    }
}

/// Attempts before a message that keeps being refused for now (4xx,
/// connection errors) is given up as failed.
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a claimed message is held by its sender before another may
/// take it (a sender that died mid-send): longer than any one delivery.
pub const CLAIM_SECONDS: i64 = 600;

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff_seconds(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(20);
    (30i64 << doublings).min(3600)
}

/// Text as HTML element content or a quoted attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The sign-in link of a token under the web app's public address.
pub fn link_url(base: &str, token: &LinkToken) -> String {
    format!("{}/link/{}", base.trim_end_matches('/'), token.expose())
}

impl OutboxMessage {
    /// The bodies as sent: the link in place of the marker; `None` once
    /// the token is gone (sent, or never had one).
    pub fn bodies(&self, base: &str) -> Option<(String, String)> {
        let token = self.token.as_ref()?;
        let url = link_url(base, token);
        Some((
            self.text.replace(LINK_MARK, &url),
            self.html.replace(LINK_MARK, &escape_html(&url)),
        ))
    }

    /// The plain text as an administrator may read it: never the link.
    pub fn text_without_link(&self) -> String {
        self.text.replace(LINK_MARK, "[link]")
    }

    /// Whether a sender may take it at `now`.
    pub fn is_due(&self, now: i64) -> bool {
        self.state == MailState::Queued && self.next_attempt_at <= now
    }
}

/// What a mail server's answer means for a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// 4xx, or no answer (connection refused, timeout): try again later.
    Temporary,
    /// 5xx: the server refuses it for good.
    Permanent,
}

impl Delivery {
    /// From an SMTP reply code (e.g. 250, 451, 550).
    pub fn of_code(code: u16) -> Delivery {
        match code {
            200..=399 => Delivery::Sent,
            500..=599 => Delivery::Permanent,
            _ => Delivery::Temporary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(token: Option<&str>) -> OutboxMessage {
        let (subject, text, html) = render(
            &MailTemplate::default_for(MailKind::SignInLink),
            &MailInput {
                display_name: "Ada <b>Lovelace</b> & co",
                organization: "Acme \"Ltd\"",
                expires_at: 86_400,
            },
        );
        OutboxMessage {
            id: 1,
            kind: MailKind::SignInLink,
            user_key: crate::Email::parse("ada@example.org")
                .unwrap()
                .key()
                .clone(),
            recipient: "ada@example.org".into(),
            subject,
            text,
            html,
            state: MailState::Queued,
            attempts: 0,
            next_attempt_at: 10,
            last_answer: None,
            by: "op@example.org".into(),
            created_at: 0,
            sent_at: None,
            token: token.map(|t| LinkToken::new(t.into())),
            link_expires_at: 86_400,
        }
    }

    #[test]
    fn templates_name_the_user_the_link_its_expiry_and_the_organization() {
        let m = message(Some("abc123"));
        assert_eq!(m.subject, "Your sign-in link for Acme \"Ltd\"");
        let (text, html) = m.bodies("https://roster.example.org/").unwrap();
        assert!(
            text.starts_with("Hello Ada <b>Lovelace</b> & co,"),
            "{text}"
        );
        assert!(
            text.contains("https://roster.example.org/link/abc123"),
            "{text}"
        );
        assert!(text.contains("until 1970-01-02 00:00:00 UTC"), "{text}");
        assert!(text.contains("Acme \"Ltd\""));
        assert!(
            html.contains("Hello Ada &lt;b&gt;Lovelace&lt;/b&gt; &amp; co,"),
            "{html}"
        );
        assert!(html.contains("Acme &quot;Ltd&quot;"), "{html}");
        assert!(html.contains("href=\"https://roster.example.org/link/abc123\""));
        assert!(!html.contains("<b>"));
        assert!(!text.contains(LINK_MARK) && !html.contains(LINK_MARK));
    }

    #[test]
    fn without_a_token_there_is_no_body_to_send_and_no_link_to_read() {
        let m = message(None);
        assert_eq!(m.bodies("http://x"), None);
        assert!(m.text_without_link().contains("[link]"));
        assert!(!m.text_without_link().contains(LINK_MARK));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour_and_codes_sort_answers() {
        assert_eq!(backoff_seconds(1), 30);
        assert_eq!(backoff_seconds(2), 60);
        assert_eq!(backoff_seconds(3), 120);
        assert_eq!(backoff_seconds(50), 3600);
        assert_eq!(Delivery::of_code(250), Delivery::Sent);
        assert_eq!(Delivery::of_code(451), Delivery::Temporary);
        assert_eq!(Delivery::of_code(550), Delivery::Permanent);
        assert!(message(None).is_due(10));
        assert!(!message(None).is_due(9));
        assert_eq!(MailState::parse("failed"), Some(MailState::Failed));
        assert_eq!(MailState::parse("x"), None);
    }
}
