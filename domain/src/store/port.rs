//! The persistence port: the reads an engine implements, and every change
//! as a provided method running a use case in one write transaction.

use super::{
    ApprovalOutcome, BatchSummary, Correction, Decision, EditOutcome, ImportOutcome, ImportRequest,
    StoreError, SyncRequest, UndoOutcome, UserEdit, UserStats,
};
use crate::by::By;
use crate::email::UserKey;
use crate::options::Options;
use crate::plan::ImportPlan;
use crate::privilege::Actor;
use crate::transaction::{Finish, WriteTx};
use crate::usecase;
use crate::user::User;

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
    fn set_option(&self, key: &str, value: &str, by: &By, now: i64) -> Result<Options, StoreError> {
        self.set_options(&[(key, value)], by, now)
    }
    /// Validates and stores several options in one transaction: all of them
    /// or, when any is invalid, none; the audit trail records what changed
    /// (old → new) as done `by` (an email, or `cli`). Returns the options
    /// after the change.
    fn set_options(
        &self,
        pairs: &[(&str, &str)],
        by: &By,
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
        let existing: std::collections::HashMap<UserKey, User> = self
            .users_by_keys(&parsed.keys().into_iter().cloned().collect::<Vec<_>>())?
            .into_iter()
            .map(|u| (u.key().clone(), u))
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
        by: &By,
        actor: Actor,
        now: i64,
    ) -> Result<ApprovalOutcome, StoreError> {
        self.decide_approval_mailing(id, decision, by, actor, now, false)
    }
    /// [`Store::decide_approval`] that, when `mail` (a mail server is
    /// configured) and `enrolment.email_on_import` is on, queues the
    /// created users' sign-in link mails with the approved import.
    fn decide_approval_mailing(
        &self,
        id: u64,
        decision: Decision,
        by: &By,
        actor: Actor,
        now: i64,
        mail: bool,
    ) -> Result<ApprovalOutcome, StoreError> {
        run(self, |tx| {
            usecase::decide_approval(tx, id, decision, by, actor, now, mail)
        })
    }
    /// Creates one user (manual input) in one transaction, recorded as a
    /// batch so that history shows it and it can be undone. Refused when a
    /// user with the same key exists, or when `actor` may not create a user
    /// with these roles. Sets the timestamps to `now`.
    fn create_user(
        &self,
        user: User,
        operator: &By,
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
        operator: &By,
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
    /// With `fold`, a batch's head stands for its per-user events (they
    /// are passed over unread); `query.within` lists one batch's per-user
    /// events (see [`crate::audit::batch`]).
    fn audit_scan(
        &self,
        query: &crate::audit::AuditQuery,
        limit: usize,
        fold: bool,
    ) -> Result<Vec<crate::audit::AuditEvent>, StoreError>;
    /// One page of the audit trail, newest first.
    fn audit_page(
        &self,
        query: &crate::audit::AuditQuery,
    ) -> Result<crate::audit::AuditPage, StoreError> {
        let size = crate::audit::AUDIT_PAGE_SIZE as usize;
        let skip = (query.page as usize).saturating_mul(size);
        let mut events = self.audit_scan(query, skip.saturating_add(size + 1), query.folds())?;
        let more = events.len() > skip + size;
        events = events.into_iter().skip(skip).take(size).collect();
        Ok(crate::audit::AuditPage { events, more })
    }
    /// Every event the query matches, newest first, each batch's per-user
    /// events included (the CSV export, `roster audit`).
    fn audit_matching(
        &self,
        query: &crate::audit::AuditQuery,
    ) -> Result<Vec<crate::audit::AuditEvent>, StoreError> {
        self.audit_scan(query, usize::MAX, false)
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
    fn rows_written_by(&self, operator: &By, since: i64) -> Result<u64, StoreError> {
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
        operator: &By,
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
