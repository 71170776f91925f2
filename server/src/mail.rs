//! The mail sender of `roster serve` (`--smtp-url`, `--mail-from`): a
//! background task that claims due messages from the store's outbox,
//! delivers them over SMTP with lettre, and records each answer (see
//! `domain::usecase::mail`): 2xx/3xx sent, 4xx or no answer retried with
//! backoff, 5xx failed with the server's answer. Paced by the option
//! `mail.per_minute`.

use crate::engine::Engine;
use domain::mail::{Delivery, OutboxMessage};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

/// A configured mail server and sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        write!(f, "Mailer(from {})", self.from)
    }
}

/// How long one delivery may take (connect, TLS, the SMTP dialogue).
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// How often an idle sender looks for due messages.
const POLL: Duration = Duration::from_secs(1);

impl Mailer {
    /// From `smtp://[user:pass@]host[:port]` (plain, or STARTTLS with
    /// `?tls=required` / `?tls=opportunistic`) or `smtps://…` (TLS from
    /// the start), and the sender address. A clear message when either is
    /// not usable.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let url = url.trim();
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(
                "--smtp-url / ROSTER_SMTP_URL must start with smtp:// or smtps:// \
                 (e.g. smtps://user:password@mail.example.org:465)"
                    .into(),
            );
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url / ROSTER_SMTP_URL cannot be used: {e}"))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from: Mailbox = from.trim().parse().map_err(|e| {
            format!("--mail-from / ROSTER_MAIL_FROM is not a mail address ({from:?}): {e}")
        })?;
        Ok(Mailer { transport, from })
    }

    /// Delivers one message: what it means for the message, and the
    /// server's answer (or why there was none).
    pub async fn deliver(&self, message: &OutboxMessage, base: &str) -> (Delivery, String) {
        let Some((text, html)) = message.bodies(base) else {
            return (
                Delivery::Permanent,
                "not sent: the message has no link".into(),
            );
        };
        // The address alone, never a mailbox with a display name: an
        // address like `ceo<someone@else.org>` must not be delivered to the
        // part in angle brackets.
        let to = match message.recipient.parse::<lettre::Address>() {
            Ok(address) => Mailbox::new(None, address),
            Err(e) => return (Delivery::Permanent, format!("not sent: bad address: {e}")),
        };
        let email = match Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(text, html))
        {
            Ok(email) => email,
            Err(e) => return (Delivery::Permanent, format!("not sent: {e}")),
        };
        match self.transport.send(email).await {
            Ok(response) => (
                Delivery::Sent,
                format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            ),
            Err(e) if e.is_permanent() => (Delivery::Permanent, e.to_string()),
            Err(e) => (Delivery::Temporary, e.to_string()),
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs the sender until the process ends: claims due messages (at most a
/// minute's worth at once), delivers them one after another, paced to
/// `mail.per_minute`, and records each answer.
pub async fn run(store: Arc<dyn Engine>, mailer: Mailer, base: String) {
    loop {
        let claim = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                let per_minute = store.options()?.mail_per_minute.max(1);
                let limit = (per_minute as usize).clamp(1, 100);
                Ok::<_, domain::store::StoreError>((per_minute, store.claim_mail(now(), limit)?))
            })
            .await
        };
        let (per_minute, claimed) = match claim {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                tracing::warn!("mail: cannot read the outbox: {e}");
                tokio::time::sleep(POLL * 5).await;
                continue;
            }
            Err(e) => {
                tracing::error!("mail: the outbox task failed: {e}");
                tokio::time::sleep(POLL * 5).await;
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let gap = Duration::from_secs(60) / per_minute;
        for message in claimed {
            let started = tokio::time::Instant::now();
            let (delivery, answer) = mailer.deliver(&message, &base).await;
            tracing::info!(
                id = message.id,
                to = %message.recipient,
                outcome = ?delivery,
                answer = %answer,
                "mail"
            );
            let store = store.clone();
            let recorded = tokio::task::spawn_blocking(move || {
                store.record_delivery(message.id, delivery, &answer, now())
            })
            .await;
            match recorded {
                Ok(Ok(())) => {}
                // The claim's hold runs out and the message is sent again:
                // better twice than never.
                Ok(Err(e)) => tracing::warn!("mail: cannot record a delivery: {e}"),
                Err(e) => tracing::error!("mail: cannot record a delivery: {e}"),
            }
            tokio::time::sleep_until(started + gap).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_with_a_message() {
        let e = Mailer::new("http://mail.example.org", "a@b.org").unwrap_err();
        assert!(e.contains("smtp://"), "{e}");
        let e = Mailer::new("smtp://mail.example.org:25", "not an address").unwrap_err();
        assert!(e.contains("--mail-from"), "{e}");
        let e = Mailer::new("smtp://mail.example.org:notaport", "a@b.org").unwrap_err();
        assert!(e.contains("--smtp-url"), "{e}");
        assert!(Mailer::new("smtps://u:p@mail.example.org:465", "Roster <roster@b.org>").is_ok());
    }

    /// The user's email is delivered to as a whole address: one that only
    /// names another address in angle brackets is refused, not sent there.
    #[test]
    fn a_recipient_with_an_address_in_angle_brackets_is_not_sent_to_it() {
        let ada = domain::Email::parse("ada@x.org").unwrap();
        let (subject, text, html) = domain::mail::render(
            &domain::mail::MailTemplate::default_for(domain::mail::MailKind::SignInLink),
            &domain::mail::MailInput {
                display_name: "Ada",
                organization: "Roster",
                expires_at: 0,
            },
        );
        let message = OutboxMessage {
            id: 1,
            kind: domain::mail::MailKind::SignInLink,
            user_key: ada.key().clone(),
            recipient: "ceo<attacker@evil.org>".into(),
            subject,
            text,
            html,
            state: domain::mail::MailState::Queued,
            attempts: 1,
            next_attempt_at: 0,
            last_answer: None,
            by: "op@x.org".into(),
            created_at: 0,
            sent_at: None,
            token: Some(domain::link::LinkToken::new("ab".repeat(32))),
            link_expires_at: 1,
        };
        // Port 9 (discard): nothing may be sent, so nothing is connected.
        let mailer = Mailer::new("smtp://127.0.0.1:9", "roster@x.org").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (delivery, answer) = runtime.block_on(mailer.deliver(&message, "http://r"));
        assert_eq!(delivery, Delivery::Permanent, "{answer}");
        assert!(answer.starts_with("not sent: bad address"), "{answer}");
    }
}
