//! The store port: what the app needs from persistence. An engine (redb,
//! PostgreSQL, in `server`) implements the reads and one write transaction
//! ([`Store::transact`] over [`crate::transaction::WriteTx`]); every change
//! is a provided method here that runs a use case of [`crate::usecase`] in
//! that transaction, so the rules are the same on every engine.

use crate::email::UserKey;
use crate::options::Options;
use crate::plan::{Counts, ImportPlan};
use crate::privilege::Actor;
use crate::token::{ApiToken, PresentedToken, TokenRefused};
use crate::transaction::{Finish, WriteTx};
use crate::usecase;
use crate::usecase::tokens::{CreatedToken, NewToken, RevokeOutcome};
use crate::user::User;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an import asks the store to do.
#[derive(Clone, Debug)]
pub struct ImportRequest<'a> {
    pub bytes: &'a [u8],
    pub file_name: &'a str,
    pub operator: &'a str,
    /// Whose authority the import runs with: rows the actor may not apply
    /// are Invalid (the privilege rule).
    pub actor: Actor,
    /// The fingerprint of the plan the operator saw, if any: when the plan
    /// recomputed inside the transaction differs, nothing is written.
    pub expected_fingerprint: Option<&'a str>,
    /// Commit the valid rows and skip the invalid ones, instead of refusing
    /// the whole file when any row is invalid.
    pub skip_invalid: bool,
    /// The bytes are a file corrected in the preview: recorded with the
    /// batch.
    pub corrected: Option<Correction>,
    /// Current time, Unix seconds.
    pub now: i64,
}

/// A sync import's request beyond the file (see `usecase::apply_sync_import`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub settings: crate::plan::SyncSettings,
    /// Confirms a sync the safety valve refuses (honoured for the machine
    /// owner and administrators only).
    pub force: bool,
    /// Plan inside the transaction and write nothing (the answer is
    /// `NothingToWrite`, or the valve's refusal).
    pub dry_run: bool,
}

/// Cells the operator corrected in the preview before committing, and the
/// SHA-256 of the file as it was chosen (the batch's own SHA-256 is the
/// corrected file's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub cells: u32,
    pub original_sha256: String,
}

/// A committed import or undo, as history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub id: u64,
    pub operator: String,
    pub at: i64,
    pub file_name: String,
    pub sha256: String,
    pub counts: Counts,
    /// Set when this batch is the undo of another.
    pub undo_of: Option<u64>,
    /// Set when this batch was undone by a later one.
    pub undone_by: Option<u64>,
    /// Who approved it, when it waited for approval (the sender is
    /// `operator`).
    pub approved_by: Option<String>,
}

impl BatchSummary {
    /// The warning shown before a file with this batch's SHA-256 is
    /// imported again (CLI and web alike).
    pub fn reimport_warning(&self) -> String {
        format!(
            "This file was already imported as batch {} ({} by {}{}).",
            self.id,
            crate::time::rfc3339(self.at),
            self.operator,
            if self.undone_by.is_some() {
                ", since undone"
            } else {
                ""
            }
        )
    }
}

/// The result of `apply_import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportOutcome {
    /// Written, in one transaction.
    Committed {
        batch: BatchSummary,
        plan: ImportPlan,
    },
    /// The store changed since the preview: nothing written; here is the
    /// fresh plan.
    ChangedSincePreview { plan: ImportPlan },
    /// Invalid rows and no `skip_invalid`: nothing written.
    Blocked { plan: ImportPlan },
    /// No row creates or changes a user (all unchanged, or only skipped
    /// invalid rows), or a sync's dry run: nothing written, and no batch
    /// recorded.
    NothingToWrite { plan: ImportPlan },
    /// A sync would deactivate more than `import.sync_max_deactivate_percent`
    /// of its candidates and was not confirmed: nothing written.
    TooManyDeactivations { plan: ImportPlan, message: String },
    /// More creates + updates than `import.approval_above`: nothing
    /// written; the file waits for a second person's approval.
    SentForApproval {
        request: crate::approval::ApprovalRequest,
        plan: ImportPlan,
    },
}

/// What an approver decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// The result of `decide_approval`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalOutcome {
    /// Written as this batch.
    Approved {
        batch: BatchSummary,
    },
    Rejected,
    /// The users changed since the request was sent: nothing written; the
    /// request is closed as "Changed since preview".
    Stale,
}

/// Users by end state and source (the start page's overview).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStats {
    pub total: u64,
    pub active: u64,
    pub inactive: u64,
    pub csv: u64,
    pub manual: u64,
    pub bootstrap: u64,
    pub scim: u64,
}

impl UserStats {
    pub fn count(&mut self, user: &User) {
        self.add(crate::directory::Facets::of(user), 1);
    }

    /// Adds `n` users of these facets (an engine's counter).
    pub fn add(&mut self, facets: crate::directory::Facets, n: u64) {
        use crate::user::{EndState, Source};
        self.total += n;
        match facets.end_state {
            EndState::Active => self.active += n,
            EndState::Inactive => self.inactive += n,
        }
        match facets.source {
            Source::Csv => self.csv += n,
            Source::Manual => self.manual += n,
            Source::Bootstrap => self.bootstrap += n,
            Source::Scim => self.scim += n,
        }
    }
}

/// An operator's edit of one user (the user's page, or the CLI).
#[derive(Clone, Debug)]
pub struct UserEdit<'a> {
    pub key: &'a UserKey,
    /// The form's fields (the email is not editable: it is the key).
    pub cells: &'a [(crate::Field, &'a str)],
    /// New roles (administrators only), or `None` to keep them.
    pub roles: Option<crate::Roles>,
    /// The version the editor saw: when the stored one differs, nothing is
    /// written and the fresh record comes back.
    pub expected_version: u64,
    pub operator: &'a str,
    pub actor: Actor,
    pub now: i64,
}

/// The result of `edit_user`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditOutcome {
    /// Written; the record as stored now.
    Saved(User),
    /// Nothing differs: nothing written.
    Unchanged(User),
    /// The user changed since the editor read it: nothing written; the
    /// record as it is now, and the changes the edit would make to it.
    ChangedMeanwhile {
        current: User,
        changes: Vec<crate::plan::Change>,
    },
    /// Nothing written: what is wrong, field by field.
    Invalid(Vec<crate::error::RowError>),
}

/// The result of `undo_batch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UndoOutcome {
    Undone {
        batch: BatchSummary,
    },
    /// Users changed after the batch: nothing written. Their emails.
    Refused {
        changed: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreError {
    /// The file is not a users CSV (nothing written).
    File(crate::error::FileError),
    NotFound(String),
    Invalid(String),
    /// The privilege rule (or the last-administrator rule) refuses.
    Forbidden(String),
    /// Someone changed the record meanwhile, or it exists already.
    Conflict(String),
    /// The database is held by another process (e.g. a running server).
    Locked(String),
    /// The database cannot be reached (a database server that is down):
    /// nothing was written; asking again later may work.
    Unavailable(String),
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::File(e) => e.fmt(f),
            StoreError::NotFound(m)
            | StoreError::Invalid(m)
            | StoreError::Forbidden(m)
            | StoreError::Conflict(m)
            | StoreError::Locked(m)
            | StoreError::Unavailable(m) => f.write_str(m),
            StoreError::Backend(m) => write!(f, "storage error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The persistence port.
pub trait Store: Send + Sync {
    fn user_count(&self) -> Result<u64, StoreError>;
    fn user(&self, key: &UserKey) -> Result<Option<User>, StoreError>;
    /// The stored users with these keys (absent keys are left out).
    fn users_by_keys(&self, keys: &[UserKey]) -> Result<Vec<User>, StoreError>;
    /// Every user, in key order.
    fn all_users(&self) -> Result<Vec<User>, StoreError>;
    fn options(&self) -> Result<Options, StoreError>;
    /// Validates and stores one option as done `by` at `now`; returns the
    /// options after the change.
    fn set_option(
        &self,
        key: &str,
        value: &str,
        by: &str,
        now: i64,
    ) -> Result<Options, StoreError> {
        self.set_options(&[(key, value)], by, now)
    }
    /// Validates and stores several options in one transaction: all of them
    /// or, when any is invalid, none; the audit trail records what changed
    /// (old → new) as done `by` (an email, or `cli`). Returns the options
    /// after the change.
    fn set_options(
        &self,
        pairs: &[(&str, &str)],
        by: &str,
        now: i64,
    ) -> Result<Options, StoreError> {
        run(self, |tx| usecase::set_options(tx, pairs, by, now))
    }
    /// Runs `work` in one write transaction, serialised with every other
    /// write transaction on the store, and commits it when `work` answers
    /// [`Finish::Commit`]; an error or [`Finish::Abort`] writes nothing.
    /// `work` is called once.
    fn transact(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<Finish, StoreError>,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces one user outside an import (the bootstrap
    /// administrator). Increments the version of an existing user.
    fn put_user(&self, user: User, now: i64) -> Result<User, StoreError> {
        run(self, |tx| usecase::put_user(tx, user, now))
    }
    /// Plans a file against the current store without writing (a dry run,
    /// or the preview of a request waiting for approval).
    fn preview(&self, bytes: &[u8], actor: Actor) -> Result<ImportPlan, StoreError> {
        let options = self.options()?;
        let parsed = crate::plan::parse_file(bytes, &options).map_err(StoreError::File)?;
        let existing: std::collections::HashMap<String, User> = self
            .users_by_keys(&parsed.keys().into_iter().cloned().collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.key().to_string(), u))
            .collect();
        Ok(crate::plan::plan_parsed(parsed, &existing, &options, actor))
    }
    /// Plans and writes an import in one transaction: all of it or none.
    /// The file is parsed before the transaction opens.
    fn apply_import(&self, request: ImportRequest<'_>) -> Result<ImportOutcome, StoreError> {
        let parsed_with = self.options()?;
        let parsed =
            crate::plan::parse_file(request.bytes, &parsed_with).map_err(StoreError::File)?;
        run(self, |tx| {
            usecase::apply_import(tx, &request, parsed, &parsed_with)
        })
    }
    /// [`Store::apply_import`] as a sync import (see
    /// `usecase::apply_sync_import`); with `sync.dry_run`, planned inside
    /// a transaction that writes nothing.
    fn apply_sync_import(
        &self,
        request: ImportRequest<'_>,
        sync: &SyncRequest,
    ) -> Result<ImportOutcome, StoreError> {
        let parsed_with = self.options()?;
        let parsed =
            crate::plan::parse_file(request.bytes, &parsed_with).map_err(StoreError::File)?;
        run(self, |tx| {
            usecase::apply_sync_import(tx, &request, parsed, &parsed_with, Some(sync))
        })
    }
    /// The sync part of a plan whose file holds the keys `in_file` says
    /// it does (see `usecase::preview_sync`); nothing is written.
    fn preview_sync(
        &self,
        in_file: &dyn Fn(&str) -> bool,
        settings: &crate::plan::SyncSettings,
        actor: Actor,
    ) -> Result<crate::plan::SyncPlan, StoreError> {
        run(self, |tx| {
            usecase::preview_sync(tx, in_file, settings, actor)
        })
    }
    /// Requests for approval, newest first.
    fn approvals(&self) -> Result<Vec<crate::approval::ApprovalRequest>, StoreError>;
    /// One request and, while it waits, its file's bytes (empty once
    /// decided).
    fn approval(
        &self,
        id: u64,
    ) -> Result<Option<(crate::approval::ApprovalRequest, Vec<u8>)>, StoreError>;
    /// Approves or rejects a request in one transaction. Refused for the
    /// sender ([`StoreError::Forbidden`]) and for a request decided already
    /// ([`StoreError::Conflict`]). Approving plans the stored bytes again
    /// with the sender's authority and writes them as a batch only if the
    /// plan's fingerprint is the one sent, and only if the privilege rule
    /// lets the approver act on every user it changes.
    fn decide_approval(
        &self,
        id: u64,
        decision: Decision,
        by: &str,
        actor: Actor,
        now: i64,
    ) -> Result<ApprovalOutcome, StoreError> {
        run(self, |tx| {
            usecase::decide_approval(tx, id, decision, by, actor, now)
        })
    }
    /// Creates one user (manual input) in one transaction, recorded as a
    /// batch so that history shows it and it can be undone. Refused when a
    /// user with the same key exists, or when `actor` may not create a user
    /// with these roles. Sets the timestamps to `now`.
    fn create_user(
        &self,
        user: User,
        operator: &str,
        actor: Actor,
        now: i64,
    ) -> Result<BatchSummary, StoreError> {
        run(self, |tx| {
            usecase::create_user(tx, user, operator, actor, now)
        })
    }
    /// Replaces a user's profile (self-service edit) in one transaction,
    /// if the stored version is still `expected_version`; the version is
    /// incremented when anything changed. Roles, end state and source are
    /// never touched here.
    fn update_profile(
        &self,
        key: &UserKey,
        profile: crate::user::Profile,
        expected_version: u64,
        now: i64,
    ) -> Result<User, StoreError> {
        run(self, |tx| {
            usecase::update_profile(tx, key, profile, expected_version, now)
        })
    }
    /// Activates or deactivates a user in one transaction, under the
    /// privilege rule and the last-administrator rule. Deactivating ends
    /// the user's sessions and revokes their sign-in links at once. The
    /// version moves only when the end state changes.
    fn set_end_state(
        &self,
        key: &UserKey,
        end_state: crate::user::EndState,
        operator: &str,
        actor: Actor,
        now: i64,
    ) -> Result<User, StoreError> {
        run(self, |tx| {
            usecase::set_end_state(tx, key, end_state, operator, actor, now)
        })
    }
    /// An operator's edit of a user's fields (and, for administrators,
    /// roles) in one transaction: validated by the domain's edit rules
    /// against the record as stored, the privilege rule and the
    /// last-administrator rule; refused unchanged when the version moved.
    /// Records an "Edit" and/or a "Role change" audit event.
    fn edit_user(&self, edit: UserEdit<'_>) -> Result<EditOutcome, StoreError> {
        run(self, |tx| usecase::edit_user(tx, &edit))
    }
    /// One page of the Users table: searched, filtered, sorted. This
    /// default reads every user; an engine with indexes overrides it and
    /// must answer the same (see `crate::directory::page_of`).
    fn list_users(
        &self,
        query: &crate::directory::UserQuery,
    ) -> Result<crate::directory::UserPage, StoreError> {
        Ok(crate::directory::page_of(self.all_users()?, query, false))
    }
    /// Every user the query matches, sorted, all pages together (exports
    /// and the CLI). Without search words one pass over all users; with
    /// them, the search's pages (a search collects a bounded number).
    fn matching_users(&self, query: &crate::directory::UserQuery) -> Result<Vec<User>, StoreError> {
        use crate::directory::{MAX_PAGE_SIZE, UserQuery, matching, query_words};
        if query_words(&query.search).is_empty() {
            return Ok(matching(self.all_users()?, query));
        }
        let mut page_query = UserQuery {
            page: 0,
            page_size: MAX_PAGE_SIZE,
            ..query.clone()
        };
        let mut out = Vec::new();
        loop {
            let page = self.list_users(&page_query)?;
            let done = page.users.len() < MAX_PAGE_SIZE as usize;
            out.extend(page.users);
            if done {
                return Ok(out);
            }
            page_query.page += 1;
        }
    }
    /// The first `limit` audit events the query accepts, newest first.
    fn audit_scan(
        &self,
        query: &crate::audit::AuditQuery,
        limit: usize,
    ) -> Result<Vec<crate::audit::AuditEvent>, StoreError>;
    /// One page of the audit trail, newest first.
    fn audit_page(
        &self,
        query: &crate::audit::AuditQuery,
    ) -> Result<crate::audit::AuditPage, StoreError> {
        let size = crate::audit::AUDIT_PAGE_SIZE as usize;
        let skip = (query.page as usize).saturating_mul(size);
        let mut events = self.audit_scan(query, skip.saturating_add(size + 1))?;
        let more = events.len() > skip + size;
        events = events.into_iter().skip(skip).take(size).collect();
        Ok(crate::audit::AuditPage { events, more })
    }
    /// Every event the query matches, newest first (the CSV export).
    fn audit_matching(
        &self,
        query: &crate::audit::AuditQuery,
    ) -> Result<Vec<crate::audit::AuditEvent>, StoreError> {
        self.audit_scan(query, usize::MAX)
    }
    /// Appends events that change no record (sign-ins, refusals) to the
    /// audit trail, in one transaction.
    fn record_events(&self, events: Vec<crate::audit::AuditEvent>) -> Result<(), StoreError> {
        run(self, |tx| {
            Ok((Finish::Commit, tx.append_audit(events, None)?))
        })
    }
    /// Every change to one user, newest first (the audit trail).
    fn user_history(&self, key: &UserKey) -> Result<Vec<crate::audit::AuditEvent>, StoreError>;
    /// The whole audit trail, newest first.
    fn audit_log(&self) -> Result<Vec<crate::audit::AuditEvent>, StoreError> {
        self.audit_matching(&crate::audit::AuditQuery::default())
    }
    /// Newest first.
    fn batches(&self) -> Result<Vec<BatchSummary>, StoreError>;
    /// How many users `operator` created + updated within the approval
    /// window that starts at `since` (what the preview says counts
    /// already; the commit counts again inside its transaction).
    fn rows_written_by(&self, operator: &str, since: i64) -> Result<u64, StoreError> {
        let recent: Vec<BatchSummary> = self
            .batches()?
            .into_iter()
            .take_while(|b| b.at >= since)
            .collect();
        crate::approval::rows_in_window(
            &mut crate::approval::Lineage(StoreTrail(self)),
            &recent,
            operator,
            since,
        )
    }
    /// The newest `n` batches, newest first.
    fn recent_batches(&self, n: usize) -> Result<Vec<BatchSummary>, StoreError> {
        Ok(self.batches()?.into_iter().take(n).collect())
    }
    /// How many users there are by end state and source. (Reads every
    /// user: an engine with counters or an index should override it.)
    fn user_stats(&self) -> Result<UserStats, StoreError> {
        let mut stats = UserStats::default();
        for user in self.all_users()? {
            stats.count(&user);
        }
        Ok(stats)
    }
    /// The corrections recorded with batches (batch id, correction).
    fn corrections(&self) -> Result<Vec<(u64, Correction)>, StoreError>;
    /// Earlier imports of a file with this SHA-256.
    fn batches_with_hash(&self, sha256: &str) -> Result<Vec<BatchSummary>, StoreError>;
    /// Undoes a batch in one transaction, unless a touched user changed
    /// since. Refused ([`StoreError::Forbidden`]) when `actor` may not act
    /// on a touched user, or when the undo would leave no active
    /// administrator. Undoing a create also removes that user's password,
    /// sign-in links and sessions.
    fn undo_batch(
        &self,
        id: u64,
        operator: &str,
        actor: Actor,
        now: i64,
    ) -> Result<UndoOutcome, StoreError> {
        run(self, |tx| usecase::undo_batch(tx, id, operator, actor, now))
    }
}

/// The audit trail and the users as the store's reads see them.
struct StoreTrail<'s, S: ?Sized>(&'s S);

impl<S: Store + ?Sized> crate::approval::Trail for StoreTrail<'_, S> {
    type Error = StoreError;
    fn history(&mut self, key: &UserKey) -> Result<Vec<crate::audit::AuditEvent>, StoreError> {
        self.0.user_history(key)
    }
    fn is_admin(&mut self, key: &UserKey) -> Result<bool, StoreError> {
        Ok(self
            .0
            .user(key)?
            .is_some_and(|u| u.roles.contains(crate::Role::Admin)))
    }
}

/// Runs a use case in one write transaction of `store`, and answers what
/// it answered.
pub fn run<S: Store + ?Sized, T>(
    store: &S,
    work: impl FnOnce(&mut dyn WriteTx) -> usecase::Done<T>,
) -> Result<T, StoreError> {
    let mut work = Some(work);
    let mut answer = None;
    store.transact(&mut |tx| {
        let work = work
            .take()
            .ok_or_else(|| StoreError::Backend("a transaction ran its work twice".into()))?;
        let (finish, value) = work(tx)?;
        answer = Some(value);
        Ok(finish)
    })?;
    answer.ok_or_else(|| StoreError::Backend("the transaction did not run its work".into()))
}

/// The entry of a session's data that names its signed-in user: the app
/// keeps `{"key": …}` there, and an engine that stores no user column
/// beside a session (redb) reads it to end a user's sessions
/// (`WriteTx::end_sessions`).
pub const SESSION_USER: &str = "user";

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
        by: &str,
    ) -> Result<(), StoreError> {
        run(self, |tx| {
            usecase::set_password(tx, user_key.as_str(), phc, now_ms, by)
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
        by: &str,
        actor: Actor,
    ) -> Result<String, StoreError> {
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
        by: &str,
        actor: Actor,
    ) -> Result<Vec<Result<String, LinkRefused>>, StoreError> {
        run(self, |tx| {
            usecase::create_links(tx, user_keys, now, days, by, actor)
        })
    }
    /// The user of a valid, unexpired link, without using it up.
    fn peek_link(&self, token: &str, now: i64) -> Result<Option<UserKey>, StoreError>;
    /// In one transaction: uses the link up, sets the password (as
    /// [`Credentials::set_password`], so every other link of the user is
    /// revoked too) and returns the user; `None` when the link was not
    /// valid or its user is gone (nothing written).
    fn redeem_link(
        &self,
        token: &str,
        phc: &str,
        now_ms: i64,
    ) -> Result<Option<UserKey>, StoreError> {
        run(self, |tx| usecase::redeem_link(tx, token, phc, now_ms))
    }
    /// Revokes every sign-in link of a user; returns how many.
    fn revoke_links(&self, user_key: &UserKey) -> Result<u64, StoreError> {
        run(self, |tx| {
            Ok((Finish::Commit, tx.revoke_links(user_key.as_str())?))
        })
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
            let mut queued = None;
            if mail
                && finish == Finish::Commit
                && let ImportOutcome::Committed { plan, .. } = &outcome
                && tx.options()?.email_on_import
            {
                let created: Vec<UserKey> = plan
                    .rows
                    .iter()
                    .filter_map(|r| match &r.action {
                        crate::Action::Create(user) => Some(user.key().clone()),
                        _ => None,
                    })
                    .collect();
                let (_, q) = usecase::mail::queue_sign_in_links(
                    tx,
                    &created,
                    request.now,
                    request.operator,
                    request.actor,
                )?;
                queued = Some(q);
            }
            Ok((finish, (outcome, queued)))
        })
    }
    /// Queues a sign-in link mail for each of these users who is active
    /// and has no password (see `usecase::mail::queue_sign_in_links`).
    fn queue_sign_in_links(
        &self,
        keys: &[UserKey],
        now: i64,
        by: &str,
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

/// API tokens ([`crate::token`]): the reads an engine implements, and the
/// use cases of [`usecase::tokens`], each in one write transaction.
pub trait Tokens: Store {
    /// The token with this id (one lookup by key).
    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Every token, revoked and expired ones too, in any order.
    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// Every token, oldest first.
    fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let mut tokens = self.tokens()?;
        tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tokens)
    }
    /// Makes a token (the machine owner and administrators only, else
    /// [`StoreError::Forbidden`]; a bad name or validity is
    /// [`StoreError::Invalid`]); the answer holds the token's text, which
    /// is not stored and cannot be shown again.
    fn create_token(&self, new: NewToken<'_>) -> Result<CreatedToken, StoreError> {
        run(self, |tx| usecase::tokens::create_token(tx, &new))
    }
    /// Revokes a token (the machine owner and administrators only);
    /// revoking it again changes nothing. [`StoreError::NotFound`] for an
    /// unknown id.
    fn revoke_token(
        &self,
        id: &str,
        by: &str,
        actor: Actor,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError> {
        run(self, |tx| {
            usecase::tokens::revoke_token(tx, id, by, actor, now)
        })
    }
    /// The token a client presented (any bytes), when it lets the client
    /// in at `now`; writes nothing. Unknown, malformed, wrong secret,
    /// revoked and expired are one answer, [`TokenAuthError::Refused`].
    fn check_token(&self, presented: &[u8], now: i64) -> Result<ApiToken, TokenAuthError> {
        let presented = PresentedToken::parse(presented).ok_or(TokenAuthError::Refused)?;
        let stored = self.token(presented.id())?;
        Ok(presented.admitted_by(stored, now)?)
    }
    /// [`Tokens::check_token`], and the use written down as "last used"
    /// when that is due (at most once a minute per token, so a busy
    /// client writes about once a minute: that write is a write
    /// transaction, and waits for a running one).
    fn authenticate_token(&self, presented: &[u8], now: i64) -> Result<ApiToken, TokenAuthError> {
        let token = self.check_token(presented, now)?;
        if !token.last_used_due(now) {
            return Ok(token);
        }
        // Admitted: the stored hash is the presented secret's.
        let secret_sha256 = token.secret_sha256;
        run(self, |tx| {
            usecase::tokens::record_use(tx, &token.id, &secret_sha256, now)
        })?
        .ok_or(TokenAuthError::Refused)
    }
}

/// Why a presented API token let nobody in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenAuthError {
    /// Not a valid token (which of the reasons is not said).
    Refused,
    /// The store could not answer (nothing was decided).
    Store(StoreError),
}

impl From<StoreError> for TokenAuthError {
    fn from(e: StoreError) -> Self {
        TokenAuthError::Store(e)
    }
}

impl From<TokenRefused> for TokenAuthError {
    fn from(_: TokenRefused) -> Self {
        TokenAuthError::Refused
    }
}

impl fmt::Display for TokenAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenAuthError::Refused => TokenRefused.fmt(f),
            TokenAuthError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TokenAuthError {}

/// What provisioning clients keep beside a user: its SCIM `externalId`
/// (the client's own id for the user; not unique, case-exact), apart
/// from the user record, which no other path reads.
pub trait ExternalIds {
    fn external_id(&self, key: &UserKey) -> Result<Option<String>, StoreError>;
    /// Every user's `externalId`, by user key (for a list that reads
    /// every user anyway).
    fn all_external_ids(&self) -> Result<std::collections::HashMap<String, String>, StoreError>;
    /// The users with exactly this `externalId` (at most `limit`).
    fn users_with_external_id(
        &self,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
}

/// Everything the web app needs: the users store, credentials, API
/// tokens and what provisioning clients keep.
pub trait AppStore: Store + Credentials + Tokens + ExternalIds {}
impl<T: Store + Credentials + Tokens + ExternalIds> AppStore for T {}

/// Hex SHA-256 of a file, as recorded in batches.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    // In slices, not in one call: a browser's wasm engine optimises a
    // function for its next call, and one call over 150 MB ran entirely
    // in its slow first tier (measured in Chromium: 4 s instead of 0.5 s
    // for a million rows).
    for slice in bytes.chunks(1 << 20) {
        hasher.update(slice);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_fed_in_slices_is_the_hash_of_the_whole() {
        use sha2::{Digest, Sha256};
        // Larger than one slice, not a multiple of it.
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let whole = sha256_hex(&bytes);
        assert_eq!(whole, hex::encode(Sha256::digest(&bytes)));
        // The known value of the empty input.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(sha256_hex(&bytes[1..]), whole);
    }
}
