//! The outbox's use cases: queue sign-in link mails (with an import, or
//! on the result page), queue a "Forgot password?" reset, and the
//! sender's steps — claim due messages, record how a delivery went,
//! retry a failed one. Each runs in one write transaction, so a message
//! exists exactly when the act that caused it committed.

use super::{Done, abort, commit};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::email::{Email, UserKey};
use crate::link::LinkToken;
use crate::mail::{
    CLAIM_SECONDS, Delivery, MAX_ATTEMPTS, MailInput, MailKind, MailState, OutboxCounts,
    OutboxMessage, backoff_seconds, render,
};
use crate::options::Options;
use crate::privilege::Actor;
use crate::store::StoreError;
use crate::transaction::{Sequence, SignInLink, WriteTx, token_id};
use crate::user::{EndState, User};
use serde::{Deserialize, Serialize};

/// What queuing sign-in link mails did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub queued: u64,
    /// Users who get no mail, with the reason.
    pub left_out: Vec<(String, String)>,
}

impl Queued {
    /// " N sign-in link mails queued; M users left out (…)." — appended to
    /// what an approval or an import says.
    pub fn sentence(&self) -> String {
        let mut s = format!(" {} sign-in link mails queued", self.queued);
        if !self.left_out.is_empty() {
            let some: Vec<String> = self
                .left_out
                .iter()
                .take(5)
                .map(|(who, why)| format!("{who}: {why}"))
                .collect();
            let more = self.left_out.len().saturating_sub(5);
            s.push_str(&format!(
                "; {} users left out ({}{})",
                self.left_out.len(),
                some.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        s.push('.');
        s
    }
}

/// A new queued message for `user`, due at once. Its subject and bodies
/// are filled when a sender claims it (see [`claim_due`]): a queued
/// message is a few dozen bytes, not a rendered mail, so an import that
/// mails a million users does not write a million mails' text.
fn new_message(
    tx: &mut dyn WriteTx,
    kind: MailKind,
    user: &User,
    token: LinkToken,
    expires_at: i64,
    by: &By,
    now: i64,
) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: tx.next_id(Sequence::Outbox)?,
        kind,
        user_key: user.key().clone(),
        recipient: user.email.to_string(),
        subject: String::new(),
        text: String::new(),
        html: String::new(),
        state: MailState::Queued,
        attempts: 0,
        next_attempt_at: now,
        last_answer: None,
        by: by.to_string(),
        created_at: now,
        sent_at: None,
        token: Some(token),
        link_expires_at: expires_at,
    })
}

/// Makes a sign-in link for each of these users who is active and has no
/// password, under the privilege rule for `actor` (as "Make sign-in
/// link"), and queues a mail with it; the others are left out with the
/// reason. In the caller's transaction: with an import, the mails exist
/// only if the import commits.
pub fn queue_sign_in_links(
    tx: &mut dyn WriteTx,
    keys: &[UserKey],
    now: i64,
    by: &By,
    actor: Actor,
) -> Done<Queued> {
    queue_links_of(tx, keys, now, by, actor, None)
}

/// [`queue_sign_in_links`]; with `batch`, for the users an import created
/// (the links' events under a head, see [`super::create_links_of`]).
fn queue_links_of(
    tx: &mut dyn WriteTx,
    keys: &[UserKey],
    now: i64,
    by: &By,
    actor: Actor,
    batch: Option<&crate::store::BatchSummary>,
) -> Done<Queued> {
    let options = tx.options()?;
    let mut answer = Queued::default();
    let users = tx.users(&keys.iter().collect::<Vec<_>>())?;
    let mut eligible = Vec::new();
    for key in keys {
        let Some(user) = users.get(key) else {
            answer
                .left_out
                .push((key.to_string(), "there is no such user".into()));
            continue;
        };
        if user.end_state != EndState::Active {
            answer
                .left_out
                .push((key.to_string(), "the user is inactive".into()));
        } else if tx.has_password(key)? {
            answer
                .left_out
                .push((key.to_string(), "the user has a password already".into()));
        } else {
            eligible.push(key.clone());
        }
    }
    let (_, made) =
        super::create_links_of(tx, &eligible, now, options.link_days, by, actor, batch)?;
    let expires_at = now + i64::from(options.link_days) * 86_400;
    for (key, made) in eligible.iter().zip(made) {
        match made {
            Ok(token) => {
                let user = &users[key.as_str()];
                let message =
                    new_message(tx, MailKind::SignInLink, user, token, expires_at, by, now)?;
                tx.put_outbox(&message)?;
                answer.queued += 1;
            }
            Err(why) => answer.left_out.push((key.to_string(), why.to_string())),
        }
    }
    commit(answer)
}

/// With the option `enrolment.email_on_import` on, queues a sign-in link
/// mail for each user the plan creates (in the caller's transaction: the
/// import's, or its approval's); `None` when the option is off.
pub fn queue_with_import(
    tx: &mut dyn WriteTx,
    plan: &crate::ImportPlan,
    batch: &crate::store::BatchSummary,
    now: i64,
    by: &By,
    actor: Actor,
) -> Result<Option<Queued>, StoreError> {
    if !tx.options()?.email_on_import {
        return Ok(None);
    }
    let created: Vec<UserKey> = plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            crate::Action::Create(user) => Some(user.key().clone()),
            _ => None,
        })
        .collect();
    let (_, queued) = queue_links_of(tx, &created, now, by, actor, Some(batch))?;
    Ok(Some(queued))
}

/// "Forgot password?": for an active user with a password, a one-time
/// link (lifetime `enrolment.reset_minutes`) mailed to the user's own
/// address, voiding earlier links; for anyone else nothing is written.
/// Answers whether a mail was queued (the caller never tells the asker).
pub fn request_reset(tx: &mut dyn WriteTx, email: &Email, now: i64) -> Done<bool> {
    let key = email.key();
    let Some(user) = tx.user(key)? else {
        return abort(false);
    };
    if user.end_state != EndState::Active || !tx.has_password(key)? {
        return abort(false);
    }
    let options = tx.options()?;
    let mut events = Vec::new();
    if tx.revoke_links(key)? > 0 {
        events.push(
            AuditEvent::new(now, key, &user, AuditAction::SignInLinksRevoked, Vec::new())
                .with("reason", "a password reset was asked for"),
        );
    }
    let token = LinkToken::new(tx.new_token());
    let expires_at = now + i64::from(options.reset_minutes) * 60;
    tx.put_link(
        &token_id(&token),
        &SignInLink {
            user_key: user.key().clone(),
            expires_at,
        },
    )?;
    let message = new_message(
        tx,
        MailKind::Reset,
        &user,
        token,
        expires_at,
        &By::parse(key),
        now,
    )?;
    tx.put_outbox(&message)?;
    events.push(AuditEvent::new(
        now,
        key,
        &user,
        AuditAction::PasswordResetRequested,
        Vec::new(),
    ));
    tx.append_audit(events, None)?;
    commit(true)
}

/// Whether a message still holds a link that works: its token's link is
/// stored (not replaced by a newer one, used or revoked).
fn link_lives(tx: &mut dyn WriteTx, message: &OutboxMessage) -> Result<bool, StoreError> {
    match &message.token {
        Some(token) => Ok(tx.link(&token_id(token))?.is_some()),
        None => Ok(false),
    }
}

/// Takes up to `limit` due messages for one sender: each counts an
/// attempt and is held for [`CLAIM_SECONDS`] (another sender skips it
/// meanwhile; if this one dies, it is due again after that). A message
/// whose user is gone or inactive, or whose link expired or no longer
/// exists (a newer link replaced it, the user set a password, or an
/// operator revoked it), fails instead and loses its token: a mail never
/// carries a link that cannot work. A claimed message comes with its
/// subject and bodies filled from the options' template and the user's
/// name as they are now (they are not stored).
pub fn claim_due(tx: &mut dyn WriteTx, now: i64, limit: usize) -> Done<Vec<OutboxMessage>> {
    let mut claimed = Vec::new();
    let mut options = None;
    for mut message in tx.due_outbox(now, limit)? {
        let user = tx.user(&message.user_key)?;
        let link_lives = link_lives(tx, &message)?;
        let user = user.filter(|u| u.end_state == EndState::Active);
        let why_not = if user.is_none() {
            Some("not sent: the user is gone or inactive")
        } else if message.token.is_none() {
            Some("not sent: the message has no link")
        } else if message.link_expires_at <= now {
            Some("not sent: the link expired before it could be sent")
        } else if !link_lives {
            Some(
                "not sent: the link was replaced by a newer one, used or revoked before it could be sent",
            )
        } else {
            None
        };
        if let Some(why) = why_not {
            message.state = MailState::Failed;
            message.token = None;
            message.last_answer = Some(why.into());
            tx.put_outbox(&message)?;
            continue;
        }
        message.attempts += 1;
        message.next_attempt_at = now + CLAIM_SECONDS;
        tx.put_outbox(&message)?;
        // Messages queued before bodies were filled at the claim carry
        // their own.
        if let Some(user) = user.filter(|_| message.text.is_empty()) {
            let options: &Options = match &mut options {
                Some(o) => o,
                none => none.insert(tx.options()?),
            };
            (message.subject, message.text, message.html) = render(
                options.template(message.kind),
                &MailInput {
                    display_name: &user.name(),
                    organization: &options.mail_organization,
                    expires_at: message.link_expires_at,
                },
            );
        }
        claimed.push(message);
    }
    commit(claimed)
}

/// Records how the delivery of a claimed message went: sent (the token
/// is dropped, the user's History shows "Sign-in link emailed"), refused
/// for now (due again after the backoff, or failed after
/// [`MAX_ATTEMPTS`]), or refused for good (failed, with the answer).
pub fn record_delivery(
    tx: &mut dyn WriteTx,
    id: u64,
    delivery: Delivery,
    answer: &str,
    now: i64,
) -> Done<()> {
    let Some(mut message) = tx.outbox_message(id)? else {
        return abort(());
    };
    if message.state != MailState::Queued {
        return abort(());
    }
    let answer: String = answer.chars().take(500).collect();
    message.last_answer = Some(answer);
    match delivery {
        Delivery::Sent => {
            message.state = MailState::Sent;
            message.sent_at = Some(now);
            message.token = None;
            if let Some(user) = tx.user(&message.user_key)? {
                let event = AuditEvent::new(
                    now,
                    &message.by,
                    &user,
                    AuditAction::SignInLinkEmailed,
                    Vec::new(),
                )
                .with("kind", message.kind.label());
                tx.append_audit(vec![event], None)?;
            }
        }
        Delivery::Permanent => message.state = MailState::Failed,
        Delivery::Temporary if message.attempts >= MAX_ATTEMPTS => {
            message.state = MailState::Failed;
        }
        Delivery::Temporary => {
            message.next_attempt_at = now + backoff_seconds(message.attempts);
        }
    }
    tx.put_outbox(&message)?;
    commit(())
}

/// Queues a failed message again, due at once, with its attempts reset.
pub fn retry(tx: &mut dyn WriteTx, id: u64, now: i64) -> Done<OutboxMessage> {
    let Some(mut message) = tx.outbox_message(id)? else {
        return Err(StoreError::NotFound(format!("There is no message {id}.")));
    };
    if message.state != MailState::Failed {
        return Err(StoreError::Conflict(format!(
            "Message {id} is {}, not failed.",
            message.state
        )));
    }
    if !link_lives(tx, &message)? || message.link_expires_at <= now {
        let instead = match message.kind {
            MailKind::SignInLink => "email or make a new sign-in link instead",
            MailKind::Reset => "the user can ask \"Forgot password?\" again",
        };
        return Err(StoreError::Invalid(format!(
            "Message {id} has no valid link any more: {instead}."
        )));
    }
    message.state = MailState::Queued;
    message.attempts = 0;
    message.next_attempt_at = now;
    tx.put_outbox(&message)?;
    commit(message)
}

/// The counts by state and up to `limit` failed messages, newest first
/// (nothing is written).
pub fn overview(tx: &mut dyn WriteTx, limit: usize) -> Done<(OutboxCounts, Vec<OutboxMessage>)> {
    let counts = tx.outbox_counts()?;
    let failed = tx.outbox_in(MailState::Failed, limit)?;
    abort((counts, failed))
}
