//! Passwords, sign-in links and named secrets: what sign-in needs from
//! persistence.

use super::{ImportOutcome, ImportRequest, Store, StoreError, SyncRequest, run};
use crate::by::By;
use crate::email::UserKey;
use crate::link::LinkToken;
use crate::privilege::Actor;
use crate::transaction::Finish;
use crate::usecase;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Credentials, sign-in links and the password epoch of each user: what
/// sign-in needs from persistence. Hashing itself is the caller's business.
pub trait Credentials: Store {
    /// The argon2id PHC string of a user's password, if one is set.
    fn password_hash(&self, user_key: &UserKey) -> Result<Option<String>, StoreError>;
    /// Stores a new password hash and moves the user's password epoch to
    /// `now_ms`: sessions signed in before it are no longer valid, and the
    /// user's sign-in links are revoked. Recorded in the audit trail as done
    /// `by` (an email, or `cli`).
    fn set_password(
        &self,
        user_key: &UserKey,
        phc: &str,
        now_ms: i64,
        by: &By,
    ) -> Result<(), StoreError> {
        run(self, |tx| {
            usecase::set_password(tx, user_key, phc, now_ms, by)
        })
    }
    /// When the password last changed (Unix milliseconds); 0 if never.
    fn password_epoch(&self, user_key: &UserKey) -> Result<i64, StoreError>;
    /// Creates a one-time sign-in link; returns its token (stored hashed).
    /// [`StoreError::NotFound`] without such a user, [`StoreError::Forbidden`]
    /// when the privilege rule refuses `actor` (a link for a user who has a
    /// password is a reset, which needs an administrator).
    fn create_link(
        &self,
        user_key: &UserKey,
        now: i64,
        days: u32,
        by: &By,
        actor: Actor,
    ) -> Result<LinkToken, StoreError> {
        let mut made = self.create_links(std::slice::from_ref(user_key), now, days, by, actor)?;
        match made.pop() {
            Some(Ok(token)) => Ok(token),
            Some(Err(LinkRefused::NotAllowed(r))) => Err(StoreError::Forbidden(format!(
                "No sign-in link for {user_key}: {r}."
            ))),
            Some(Err(LinkRefused::NoSuchUser)) | None => Err(StoreError::NotFound(format!(
                "There is no user {user_key}."
            ))),
        }
    }
    /// Creates one link for each of these users in one transaction (a
    /// whole import's worth at once): for each key the token, or why not.
    fn create_links(
        &self,
        user_keys: &[UserKey],
        now: i64,
        days: u32,
        by: &By,
        actor: Actor,
    ) -> Result<Vec<Result<LinkToken, LinkRefused>>, StoreError> {
        run(self, |tx| {
            usecase::create_links(tx, user_keys, now, days, by, actor)
        })
    }
    /// The user of a valid, unexpired link, without using it up.
    fn peek_link(&self, token: &LinkToken, now: i64) -> Result<Option<UserKey>, StoreError>;
    /// In one transaction: uses the link up, sets the password (as
    /// [`Credentials::set_password`], so every other link of the user is
    /// revoked too) and returns the user; `None` when the link was not
    /// valid or its user is gone (nothing written).
    fn redeem_link(
        &self,
        token: &LinkToken,
        phc: &str,
        now_ms: i64,
    ) -> Result<Option<UserKey>, StoreError> {
        run(self, |tx| usecase::redeem_link(tx, token, phc, now_ms))
    }
    /// Revokes every sign-in link of a user; returns how many.
    fn revoke_links(&self, user_key: &UserKey) -> Result<u64, StoreError> {
        run(self, |tx| Ok((Finish::Commit, tx.revoke_links(user_key)?)))
    }
    /// Removes expired links; returns how many.
    fn purge_expired_links(&self, now: i64) -> Result<u64, StoreError> {
        run(self, |tx| {
            Ok((Finish::Commit, tx.purge_expired_links(now)?))
        })
    }
    /// [`Store::apply_sync_import`] (or a plain import without `sync`)
    /// that, when `mail` (a mail server is configured) and the option
    /// `enrolment.email_on_import` is on, queues a sign-in link mail for
    /// each created user in the same transaction: the mails exist exactly
    /// when the import committed.
    fn apply_import_mailing(
        &self,
        request: ImportRequest<'_>,
        sync: Option<&SyncRequest>,
        mail: bool,
    ) -> Result<(ImportOutcome, Option<crate::usecase::mail::Queued>), StoreError> {
        let parsed_with = self.options()?;
        let parsed =
            crate::plan::parse_file(request.bytes, &parsed_with).map_err(StoreError::File)?;
        run(self, |tx| {
            let (finish, outcome) =
                usecase::apply_sync_import(tx, &request, parsed, &parsed_with, sync)?;
            let queued = match &outcome {
                ImportOutcome::Committed { plan, batch } if mail && finish == Finish::Commit => {
                    usecase::mail::queue_with_import(
                        tx,
                        plan,
                        batch,
                        request.now,
                        &request.operator,
                        request.actor,
                    )?
                }
                _ => None,
            };
            Ok((finish, (outcome, queued)))
        })
    }
    /// Queues a sign-in link mail for each of these users who is active
    /// and has no password (see `usecase::mail::queue_sign_in_links`).
    fn queue_sign_in_links(
        &self,
        keys: &[UserKey],
        now: i64,
        by: &By,
        actor: Actor,
    ) -> Result<crate::usecase::mail::Queued, StoreError> {
        run(self, |tx| {
            usecase::mail::queue_sign_in_links(tx, keys, now, by, actor)
        })
    }
    /// "Forgot password?" (see `usecase::mail::request_reset`): whether a
    /// mail was queued.
    fn request_reset(&self, email: &crate::Email, now: i64) -> Result<bool, StoreError> {
        run(self, |tx| usecase::mail::request_reset(tx, email, now))
    }
    /// A sender's due messages (see `usecase::mail::claim_due`).
    fn claim_mail(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<crate::mail::OutboxMessage>, StoreError> {
        run(self, |tx| usecase::mail::claim_due(tx, now, limit))
    }
    /// How a claimed message's delivery went.
    fn record_delivery(
        &self,
        id: u64,
        delivery: crate::mail::Delivery,
        answer: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        run(self, |tx| {
            usecase::mail::record_delivery(tx, id, delivery, answer, now)
        })
    }
    /// Queues a failed message again.
    fn retry_mail(&self, id: u64, now: i64) -> Result<crate::mail::OutboxMessage, StoreError> {
        run(self, |tx| usecase::mail::retry(tx, id, now))
    }
    /// Counts by state and the newest `limit` failed messages.
    fn outbox_overview(
        &self,
        limit: usize,
    ) -> Result<(crate::mail::OutboxCounts, Vec<crate::mail::OutboxMessage>), StoreError> {
        run(self, |tx| usecase::mail::overview(tx, limit))
    }
    /// One message, as stored.
    fn outbox_message(&self, id: u64) -> Result<Option<crate::mail::OutboxMessage>, StoreError> {
        run(self, |tx| Ok((Finish::Abort, tx.outbox_message(id)?)))
    }
    /// The server secret called `name` (32 bytes, e.g. the key that signs
    /// device cookies): made at random on first use and kept in the store,
    /// so that it survives restarts and every server on one database uses
    /// the same one. Made in one transaction: two servers asking at once
    /// get the same secret.
    fn secret(&self, name: &str) -> Result<[u8; 32], StoreError>;
}

/// Why no sign-in link was made for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkRefused {
    NoSuchUser,
    NotAllowed(crate::privilege::Refusal),
}

impl fmt::Display for LinkRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRefused::NoSuchUser => f.write_str("there is no such user"),
            LinkRefused::NotAllowed(r) => r.fmt(f),
        }
    }
}
