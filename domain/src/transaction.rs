//! What a storage engine offers inside one write transaction: the
//! persistence primitives the use cases (`crate::usecase`) are written
//! over. An engine (redb, PostgreSQL) implements [`WriteTx`] and
//! `Store::transact`; the rules — what an import writes, when it is
//! refused, what an undo restores — are decided once, in the domain.
//!
//! A transaction sees its own writes, is isolated from every other writer
//! (engines serialise write transactions), and is committed only when the
//! use case finishes with [`Finish::Commit`]; an error or
//! [`Finish::Abort`] leaves the store as it was.

use crate::approval::ApprovalRequest;
use crate::audit::AuditEvent;
use crate::email::UserKey;
use crate::link::LinkToken;
use crate::mail::{MailState, OutboxCounts, OutboxMessage};
use crate::options::Options;
use crate::plan::UsersByKey;
use crate::store::{BatchSummary, Correction, StoreError};
use crate::token::ApiToken;
use crate::user::User;
use serde::{Deserialize, Serialize};

/// How a use case ends its transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    Commit,
    /// Nothing is written (a refusal that is an answer, not an error).
    Abort,
}

/// The counters an engine keeps for ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequence {
    Batch,
    Approval,
    Outbox,
}

/// A batch as stored: its summary and the before-image of every user it
/// touched, with the version it left the user at (to detect later edits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub summary: BatchSummary,
    pub touched: Vec<Touched>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touched {
    pub key: UserKey,
    /// `None`: the batch created the user.
    pub before: Option<User>,
    /// `None`: the batch deleted the user (an undo of a create).
    pub after_version: Option<u64>,
}

/// A one-time sign-in link, stored under the hash of its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLink {
    pub user_key: UserKey,
    pub expires_at: i64,
}

/// One user written by a transaction: `before` is the user as the
/// transaction read it (`None`: created), `after` what replaces it
/// (`None`: removed). Engines with secondary indexes use `before` to drop
/// the old entries.
#[derive(Clone, Copy, Debug)]
pub struct UserWrite<'a> {
    pub before: Option<&'a User>,
    pub after: Option<&'a User>,
}

/// The primitives of one write transaction.
pub trait WriteTx {
    fn options(&mut self) -> Result<Options, StoreError>;
    /// Stores one option's value, already validated by the caller.
    fn put_option(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    fn user(&mut self, key: &UserKey) -> Result<Option<User>, StoreError>;
    /// The stored users with these keys, by key (absent keys left out).
    fn users(&mut self, keys: &[&UserKey]) -> Result<UsersByKey, StoreError>;
    /// Writes users exactly as given (versions and timestamps are the
    /// caller's).
    fn write_users(&mut self, writes: &[UserWrite<'_>]) -> Result<(), StoreError>;
    /// The active users with Source = CSV — of the organization `scope`
    /// (trimmed, any letter case) when given — in any order: the
    /// candidates of a sync import. An engine may return more (the domain
    /// applies the rule again, `SyncSettings::is_candidate`), never fewer.
    fn sync_candidates(&mut self, scope: Option<&str>) -> Result<Vec<User>, StoreError>;
    /// The first user (in key order) with the Admin role, active or not.
    fn first_admin(&mut self) -> Result<Option<User>, StoreError>;
    /// Whether any user, as this transaction sees them, is an active
    /// administrator.
    fn has_active_admin(&mut self) -> Result<bool, StoreError>;

    /// The next id of a sequence (ids start at 1 and are never reused).
    fn next_id(&mut self, sequence: Sequence) -> Result<u64, StoreError>;
    /// Stores a batch under `record.summary.id`, replacing one with that id.
    fn put_batch(&mut self, record: &BatchRecord) -> Result<(), StoreError>;
    fn batch(&mut self, id: u64) -> Result<Option<BatchRecord>, StoreError>;
    fn put_correction(&mut self, batch: u64, correction: &Correction) -> Result<(), StoreError>;
    /// Appends events to the audit trail, giving each the next event id and
    /// `batch`.
    fn append_audit(
        &mut self,
        events: Vec<AuditEvent>,
        batch: Option<u64>,
    ) -> Result<(), StoreError>;

    /// Every audit event about one user (by user key), newest first.
    fn user_history(&mut self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError>;
    /// The batches recorded at or after `since` (Unix seconds), newest
    /// first.
    fn batches_since(&mut self, since: i64) -> Result<Vec<BatchSummary>, StoreError>;

    /// A request for approval and, while it waits, its file.
    fn approval(&mut self, id: u64) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError>;
    /// The requests whose file is still stored (waiting), each with the
    /// file's size in bytes.
    fn waiting_files(&mut self) -> Result<Vec<(ApprovalRequest, u64)>, StoreError>;
    /// Stores a request under its id; `file` is stored with it, or, when
    /// `None`, the stored file is removed (the request is decided).
    fn put_approval(
        &mut self,
        request: &ApprovalRequest,
        file: Option<&[u8]>,
    ) -> Result<(), StoreError>;

    fn has_password(&mut self, key: &UserKey) -> Result<bool, StoreError>;
    /// Stores a password hash and the user's password epoch (Unix ms).
    fn put_password(&mut self, key: &UserKey, phc: &str, epoch_ms: i64) -> Result<(), StoreError>;
    /// Stores a link under the SHA-256 of its token.
    fn put_link(&mut self, token_id: &str, link: &SignInLink) -> Result<(), StoreError>;
    /// A link, if it exists (not revoked, not used, not purged).
    fn link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError>;
    /// Removes a link and returns it (used up), if it exists.
    fn take_link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError>;
    /// Removes every link of a user; returns how many.
    fn revoke_links(&mut self, key: &UserKey) -> Result<u64, StoreError>;
    /// Removes links that expired at or before `now`; returns how many.
    fn purge_expired_links(&mut self, now: i64) -> Result<u64, StoreError>;
    /// Ends every session of a user.
    fn end_sessions(&mut self, key: &UserKey) -> Result<(), StoreError>;
    /// Removes a user's password, epoch, links and sessions (the user
    /// record itself is the caller's).
    fn forget_credentials(&mut self, key: &UserKey) -> Result<(), StoreError>;
    /// 32 random bytes in hex, from the engine's secure source: the secret
    /// of a sign-in link or of an API token.
    fn new_token(&mut self) -> String;

    /// The API token with this id.
    fn token(&mut self, id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Stores an API token under its id, replacing one with that id.
    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError>;

    /// The `externalId` a provisioning client keeps for a user (SCIM).
    fn external_id(&mut self, key: &UserKey) -> Result<Option<String>, StoreError>;
    /// Sets or clears (`None`) a user's `externalId`.
    fn set_external_id(
        &mut self,
        key: &UserKey,
        external_id: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Stores an outbox message under its id, replacing one with that id.
    fn put_outbox(&mut self, message: &OutboxMessage) -> Result<(), StoreError>;
    fn outbox_message(&mut self, id: u64) -> Result<Option<OutboxMessage>, StoreError>;
    /// Up to `limit` queued messages due at `now` (`next_attempt_at <=
    /// now`), earliest first, held by this transaction: on an engine with
    /// several writers at once, another transaction skips them.
    fn due_outbox(&mut self, now: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError>;
    /// How many messages are in each state.
    fn outbox_counts(&mut self) -> Result<OutboxCounts, StoreError>;
    /// Up to `limit` messages in `state`, newest (highest id) first.
    fn outbox_in(
        &mut self,
        state: MailState,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
}

/// The id under which a sign-in token is stored (tokens are never stored).
pub fn token_id(token: &LinkToken) -> String {
    crate::store::sha256_hex(token.expose().as_bytes())
}

/// One stored record, as a whole store is copied from one engine to
/// another (`roster copy`). Sessions, throttle counters and named secrets
/// are not copied: the copy starts them afresh.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Option {
        key: String,
        value: String,
    },
    User(User),
    Batch(BatchRecord),
    Correction {
        batch: u64,
        correction: Correction,
    },
    /// In id order: the loader gives them the same ids again.
    Audit(AuditEvent),
    Approval {
        request: ApprovalRequest,
        file: Option<Vec<u8>>,
    },
    Password {
        key: UserKey,
        phc: String,
        epoch_ms: i64,
    },
    Link {
        token_id: String,
        link: SignInLink,
    },
    /// An API token (its secret's SHA-256, never the secret).
    Token(ApiToken),
    /// A user's SCIM `externalId`.
    ExternalId {
        key: UserKey,
        external_id: String,
    },
    /// A message of the mail outbox, as it is (a queued one with its
    /// link's token, so it is still sent after the copy).
    Mail(OutboxMessage),
}
