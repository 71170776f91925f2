//! The redb implementation of the store port (`domain::store::Store`).
//!
//! Over 400 lines because the use cases still live here: the import, undo
//! and manual-create transactions decide "changed since preview",
//! "blocked", the undo rules and the privilege checks themselves. They are
//! to move into the domain as functions over a transaction trait when a
//! second engine (PostgreSQL) arrives; this file will then keep only the
//! persistence primitives.
//!
//! # Schema (version 3)
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `schema_version`, `next_batch_id` | u64 |
//! | `users` | email key (lower-cased) | [`encode`]d `User` |
//! | `options` | option key | text value (see `domain::options`) |
//! | `batches` | batch id | [`encode`]d [`BatchRecord`] |
//! | `credentials` | email key | argon2id PHC string |
//! | `links` | SHA-256 (hex) of a sign-in token | [`encode`]d [`SignInLink`] |
//! | `user_links` (multimap) | email key | SHA-256 (hex) of each of its link tokens |
//! | `password_epochs` | email key | Unix ms of the last password change |
//! | `sessions` | SHA-256 (hex) of a session id | JSON of the session's data and expiry (never its id) |
//! | `audit` | event id (in order) | [`encode`]d `domain::audit::AuditEvent` |
//! | `audit_by_user` (multimap) | email key | ids of that user's events |
//! | `users_by_*`, `user_words`, `user_counts` | see [`crate::user_index`] | |
//! | `approvals` | request id | [`encode`]d `domain::approval::ApprovalRequest` |
//! | `approval_files` | request id | the file's bytes, until the request is decided |
//! | `batch_corrections` | batch id | [`encode`]d `Correction`: cells fixed in the preview, original SHA-256 |
//!
//! Version 1 stored sessions as whole tower-sessions records, id included;
//! opening such a store removes them (everyone signs in again) and indexes
//! the existing links by user. Versions 1 and 2 had no user indexes:
//! opening such a store builds them.
//!
//! Encoded values are one format byte ([`FORMAT`]) followed by postcard. A
//! future change of a record type bumps the byte and keeps a decoder for the
//! old one, so a store never needs an offline migration.

use crate::user_index::UserTables;
use domain::approval::{ApprovalError, ApprovalRequest, ApprovalState};
use domain::audit::{AuditAction, AuditEvent};
use domain::audit::{AuditPage, AuditQuery};
use domain::directory::{UserPage, UserQuery};
use domain::options::Options;
use domain::plan::{ExistingUsers, NoUsers, ParsedFile, parse_file, plan_parsed};
use domain::privilege::{self, Act, Actor};
use domain::store::{
    ApprovalOutcome, BatchSummary, Correction, Decision, EditOutcome, ImportOutcome, ImportRequest,
    Store, StoreError, UndoOutcome, UserEdit, UserStats, sha256_hex,
};
use domain::{Action, Counts, EndState, ImportPlan, User, UserKey};
use redb::{
    Database, DatabaseError, MultimapTableDefinition, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const OPTIONS: TableDefinition<&str, &str> = TableDefinition::new("options");
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
pub(crate) const CREDENTIALS: TableDefinition<&str, &str> = TableDefinition::new("credentials");
pub(crate) const LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("links");
pub(crate) const USER_LINKS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("user_links");
pub(crate) const EPOCHS: TableDefinition<&str, i64> = TableDefinition::new("password_epochs");
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
const AUDIT_BY_USER: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("audit_by_user");
const APPROVALS: TableDefinition<u64, &[u8]> = TableDefinition::new("approvals");
const APPROVAL_FILES: TableDefinition<u64, &[u8]> = TableDefinition::new("approval_files");
const CORRECTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("batch_corrections");

const SCHEMA_VERSION: u64 = 3;
/// Format byte in front of every encoded value.
const FORMAT: u8 = 1;

/// The file name of the store inside the data folder.
pub const DB_FILE: &str = "roster.redb";

/// A batch as stored: its summary and the before-image of every user it
/// touched, with the version it left the user at (to detect later edits).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchRecord {
    pub summary: BatchSummary,
    pub touched: Vec<Touched>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Touched {
    pub key: String,
    /// `None`: the batch created the user.
    pub before: Option<User>,
    /// `None`: the batch deleted the user (an undo of a create).
    pub after_version: Option<u64>,
}

/// A one-time sign-in link, stored under the hash of its token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignInLink {
    pub user_key: UserKey,
    pub expires_at: i64,
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    encode_into(Vec::new(), value)
}

/// [`encode`] into a buffer that is cleared first, so a loop can reuse one
/// allocation.
pub fn encode_into<T: Serialize>(mut buf: Vec<u8>, value: &T) -> Result<Vec<u8>, StoreError> {
    buf.clear();
    buf.push(FORMAT);
    postcard::to_extend(value, buf).map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Backend(format!("decode: {e}")))
        }
        Some((other, _)) => Err(StoreError::Backend(format!(
            "unknown record format {other}"
        ))),
        None => Err(StoreError::Backend("empty record".into())),
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Roster's store on one redb file.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl RedbStore {
    /// Opens (creating if missing) the store in `data_dir`, creates the
    /// tables and seeds the default options. Fails with
    /// [`StoreError::Locked`] when another process holds the file.
    pub fn open(data_dir: &Path) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data folder {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DB_FILE);
        let db = Database::create(&path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(format!(
                "the store {} is in use by another roster process (is `roster serve` running on this \
                 data folder?); stop it or use another --data folder",
                path.display()
            )),
            other => StoreError::Backend(format!("cannot open {}: {other}", path.display())),
        })?;
        let store = RedbStore { db, path };
        store.init()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    fn init(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let mut rebuild_indexes = false;
        {
            let mut meta = txn.open_table(META).map_err(backend)?;
            let version = meta
                .get("schema_version")
                .map_err(backend)?
                .map(|v| v.value());
            match version {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(backend)?;
                    meta.insert("next_batch_id", 1).map_err(backend)?;
                }
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::Backend(format!(
                        "the store has schema version {v}, newer than this roster ({SCHEMA_VERSION})"
                    )));
                }
                Some(old) if old < SCHEMA_VERSION => {
                    if old < 2 {
                        crate::sessions::clear_all(&txn)?;
                        crate::auth::index_links_by_user(&txn)?;
                    }
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(backend)?;
                    rebuild_indexes = true;
                }
                Some(_) => {}
            }
            crate::user_index::ensure(&txn, rebuild_indexes)?;
            txn.open_table(BATCHES).map_err(backend)?;
            txn.open_table(CREDENTIALS).map_err(backend)?;
            txn.open_table(LINKS).map_err(backend)?;
            txn.open_multimap_table(USER_LINKS).map_err(backend)?;
            txn.open_table(AUDIT).map_err(backend)?;
            txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?;
            txn.open_table(APPROVALS).map_err(backend)?;
            txn.open_table(APPROVAL_FILES).map_err(backend)?;
            txn.open_table(CORRECTIONS).map_err(backend)?;
            txn.open_table(EPOCHS).map_err(backend)?;
            txn.open_table(SESSIONS).map_err(backend)?;
            let mut options = txn.open_table(OPTIONS).map_err(backend)?;
            for (k, v) in Options::default().to_pairs() {
                if options.get(k.as_str()).map_err(backend)?.is_none() {
                    options.insert(k.as_str(), v.as_str()).map_err(backend)?;
                }
            }
        }
        txn.commit().map_err(backend)
    }

    /// Inserts or replaces one user outside an import (bootstrap admin,
    /// manual input). Increments the version of an existing user.
    pub fn put_user(&self, mut user: User, now: i64) -> Result<User, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut users = UserTables::open(&txn)?;
            let old = users.get(user.key().as_str())?;
            match &old {
                Some(old) => {
                    user.created_at = old.created_at;
                    user.version = old.version + 1;
                }
                None => {
                    user.created_at = now;
                    user.version = 1;
                }
            }
            user.updated_at = now;
            users.put(old.as_ref(), &user)?;
            users.finish()?;
        }
        txn.commit().map_err(backend)?;
        Ok(user)
    }

    /// The first user (in key order) that `wanted` accepts, decoding users
    /// one at a time and stopping there.
    pub fn find_user(&self, wanted: impl Fn(&User) -> bool) -> Result<Option<User>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(USERS).map_err(backend)?;
        for entry in t.iter().map_err(backend)? {
            let user: User = decode(entry.map_err(backend)?.1.value())?;
            if wanted(&user) {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    /// Whether the user indexes agree with the users (see
    /// [`crate::user_index::consistent`]).
    pub fn check_indexes(&self) -> Result<Result<(), String>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        crate::user_index::consistent(&txn)
    }

    /// The first `limit` audit events the query accepts, newest first.
    /// A target that is a whole address reads that user's events only.
    fn audit_scan(&self, query: &AuditQuery, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let audit = txn.open_table(AUDIT).map_err(backend)?;
        let mut out = Vec::new();
        let mut keep = |event: AuditEvent| {
            if query.accepts(&event) {
                out.push(event);
            }
            out.len() < limit
        };
        match domain::Email::parse(&query.target) {
            Ok(email) => {
                let by_user = txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?;
                let ids: Vec<u64> = by_user
                    .get(email.key().as_str())
                    .map_err(backend)?
                    .map(|id| id.map(|v| v.value()).map_err(backend))
                    .collect::<Result<_, _>>()?;
                for id in ids.into_iter().rev() {
                    if let Some(g) = audit.get(id).map_err(backend)?
                        && !keep(decode(g.value())?)
                    {
                        break;
                    }
                }
            }
            Err(_) => {
                for entry in audit.iter().map_err(backend)?.rev() {
                    if !keep(decode(entry.map_err(backend)?.1.value())?) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn batch_record(&self, id: u64) -> Result<Option<BatchRecord>, StoreError> {
        self.read_one(BATCHES, id)
    }

    /// One encoded record, decoded, in a read transaction of its own.
    fn read_one<K: redb::Key + 'static, T: DeserializeOwned>(
        &self,
        table: TableDefinition<K, &'static [u8]>,
        key: K::SelfType<'_>,
    ) -> Result<Option<T>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(table).map_err(backend)?;
        t.get(key)
            .map_err(backend)?
            .map(|g| decode(g.value()))
            .transpose()
    }
}

fn read_options(
    table: &impl ReadableTable<&'static str, &'static str>,
) -> Result<Options, StoreError> {
    let mut pairs = Vec::new();
    for entry in table.iter().map_err(backend)? {
        let (k, v) = entry.map_err(backend)?;
        pairs.push((k.value().to_string(), v.value().to_string()));
    }
    Options::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| StoreError::Backend(format!("stored options are invalid: {e}")))
}

/// The user with this key as the transaction sees it, or NotFound.
fn stored_user(txn: &redb::WriteTransaction, key: &UserKey) -> Result<User, StoreError> {
    UserTables::open(txn)?
        .get(key.as_str())?
        .ok_or_else(|| StoreError::NotFound(format!("There is no user {key}.")))
}

/// Writes `after` over `before` (the user as stored now) as its next
/// version at `now`, with its index entries, and refuses the change if it
/// took away the last active administrator.
fn replace_user(
    txn: &redb::WriteTransaction,
    before: &User,
    after: &mut User,
    now: i64,
) -> Result<(), StoreError> {
    after.version = before.version + 1;
    after.updated_at = now;
    let mut users = UserTables::open(txn)?;
    users.put(Some(before), after)?;
    users.finish()?;
    keep_an_active_admin(
        txn,
        privilege::removes_active_admin(Some(before), Some(after)),
    )
}

fn forbidden(refusal: privilege::Refusal) -> StoreError {
    StoreError::Forbidden(refusal.to_string())
}

/// Refuses a change that took away an active administrator when none is
/// left (the caller's transaction is then dropped unwritten).
fn keep_an_active_admin(txn: &redb::WriteTransaction, admin_lost: bool) -> Result<(), StoreError> {
    if admin_lost && !has_active_admin(txn)? {
        return Err(StoreError::Forbidden(privilege::LAST_ADMIN.into()));
    }
    Ok(())
}

/// Whether the store, as this transaction sees it, has an active
/// administrator. Only asked when a change takes one away, so the scan is
/// rare; it stops at the first one.
fn has_active_admin(txn: &redb::WriteTransaction) -> Result<bool, StoreError> {
    let users = txn.open_table(USERS).map_err(backend)?;
    for entry in users.iter().map_err(backend)? {
        let user: User = decode(entry.map_err(backend)?.1.value())?;
        if privilege::is_active_admin(&user) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Appends events to the audit trail inside the caller's transaction (so
/// an event exists exactly when its change does). `batch` is set on each.
pub(crate) fn append_audit(
    txn: &redb::WriteTransaction,
    events: impl IntoIterator<Item = AuditEvent>,
    batch: Option<u64>,
) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(backend)?;
    let mut next = meta
        .get("next_audit_id")
        .map_err(backend)?
        .map(|v| v.value())
        .unwrap_or(1);
    let mut audit = txn.open_table(AUDIT).map_err(backend)?;
    let mut by_user = txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?;
    let mut buf = Vec::new();
    for mut event in events {
        event.id = next;
        event.batch = batch;
        next += 1;
        buf = encode_into(buf, &event)?;
        audit.insert(event.id, buf.as_slice()).map_err(backend)?;
        let key = domain::Email::parse(&event.target)
            .map(|e| e.key().to_string())
            .unwrap_or_else(|_| event.target.clone());
        by_user.insert(key.as_str(), event.id).map_err(backend)?;
    }
    meta.insert("next_audit_id", next).map_err(backend)?;
    Ok(())
}

fn next_batch_id(meta: &mut redb::Table<&str, u64>) -> Result<u64, StoreError> {
    let id = meta
        .get("next_batch_id")
        .map_err(backend)?
        .map(|v| v.value())
        .unwrap_or(1);
    meta.insert("next_batch_id", id + 1).map_err(backend)?;
    Ok(id)
}

/// Gives `summary` the next batch id and stores it with its touched users,
/// inside the caller's transaction.
fn record_batch(
    txn: &redb::WriteTransaction,
    mut summary: BatchSummary,
    touched: Vec<Touched>,
) -> Result<BatchSummary, StoreError> {
    summary.id = next_batch_id(&mut txn.open_table(META).map_err(backend)?)?;
    let record = BatchRecord {
        summary: summary.clone(),
        touched,
    };
    txn.open_table(BATCHES)
        .map_err(backend)?
        .insert(summary.id, encode(&record)?.as_slice())
        .map_err(backend)?;
    Ok(summary)
}

/// Plans `bytes` against the users as this transaction sees them.
fn plan_in(
    txn: &redb::WriteTransaction,
    bytes: &[u8],
    options: &Options,
    actor: Actor,
) -> Result<ImportPlan, StoreError> {
    let parsed = parse_file(bytes, options).map_err(StoreError::File)?;
    plan_parsed_in(txn, parsed, options, actor)
}

/// Plans a parsed file against the users as this transaction sees them.
fn plan_parsed_in(
    txn: &redb::WriteTransaction,
    parsed: ParsedFile,
    options: &Options,
    actor: Actor,
) -> Result<ImportPlan, StoreError> {
    let users = txn.open_table(USERS).map_err(backend)?;
    let mut existing: HashMap<String, User> = HashMap::new();
    for key in parsed.keys() {
        if let Some(g) = users.get(key.as_str()).map_err(backend)? {
            existing.insert(key.to_string(), decode(g.value())?);
        }
    }
    let existing: &dyn ExistingUsers = if existing.is_empty() {
        &NoUsers
    } else {
        &existing
    };
    Ok(plan_parsed(parsed, existing, options, actor))
}

/// Who and what a written import is recorded as.
struct Written<'a> {
    operator: &'a str,
    file_name: &'a str,
    sha256: String,
    corrected: Option<&'a Correction>,
    now: i64,
}

/// Writes a plan's creates and updates (timestamps set in the plan itself,
/// so that the plan the caller gets back is exactly what was written), the
/// batch with its before-images and an audit event per user, in the
/// caller's transaction.
fn write_plan(
    txn: &redb::WriteTransaction,
    plan: &mut ImportPlan,
    w: Written<'_>,
) -> Result<BatchSummary, StoreError> {
    let mut touched = Vec::with_capacity((plan.counts.create + plan.counts.update) as usize);
    let mut admin_lost = false;
    let mut events = Vec::with_capacity(touched.capacity());
    {
        let mut users = UserTables::open(txn)?;
        for row in &mut plan.rows {
            let (user, before): (&mut User, Option<User>) = match &mut row.action {
                Action::Create(u) => {
                    u.created_at = w.now;
                    let changes = domain::audit::created(u);
                    events.push(AuditEvent::new(
                        w.now,
                        w.operator,
                        u,
                        AuditAction::Import,
                        changes,
                    ));
                    (u, None)
                }
                Action::Update {
                    before,
                    after,
                    changes,
                } => {
                    events.push(AuditEvent::new(
                        w.now,
                        w.operator,
                        after,
                        AuditAction::Import,
                        changes.clone(),
                    ));
                    admin_lost |= privilege::removes_active_admin(Some(before), Some(after));
                    if before.end_state == EndState::Active && after.end_state == EndState::Inactive
                    {
                        crate::auth::revoke_links_in(txn, after.key())?;
                    }
                    (after, Some((**before).clone()))
                }
                _ => continue,
            };
            user.updated_at = w.now;
            users.put(before.as_ref(), user)?;
            touched.push(Touched {
                key: user.key().to_string(),
                before,
                after_version: Some(user.version),
            });
        }
        users.finish()?;
    }
    keep_an_active_admin(txn, admin_lost)?;
    let summary = record_batch(
        txn,
        BatchSummary {
            id: 0,
            operator: w.operator.to_string(),
            at: w.now,
            file_name: w.file_name.to_string(),
            sha256: w.sha256,
            counts: plan.counts,
            undo_of: None,
            undone_by: None,
        },
        touched,
    )?;
    append_audit(txn, events, Some(summary.id))?;
    if let Some(c) = w.corrected {
        txn.open_table(CORRECTIONS)
            .map_err(backend)?
            .insert(summary.id, encode(c)?.as_slice())
            .map_err(backend)?;
    }
    Ok(summary)
}

/// Stores an import's request for approval and its bytes, in the caller's
/// transaction.
fn send_for_approval(
    txn: &redb::WriteTransaction,
    req: &ImportRequest<'_>,
    plan: &ImportPlan,
) -> Result<ApprovalRequest, StoreError> {
    let id = {
        let mut meta = txn.open_table(META).map_err(backend)?;
        let id = meta
            .get("next_approval_id")
            .map_err(backend)?
            .map(|v| v.value())
            .unwrap_or(1);
        meta.insert("next_approval_id", id + 1).map_err(backend)?;
        id
    };
    let request = ApprovalRequest {
        id,
        file_name: req.file_name.to_string(),
        sha256: sha256_hex(req.bytes),
        fingerprint: plan.fingerprint.clone(),
        operator: req.operator.to_string(),
        actor: req.actor,
        skip_invalid: req.skip_invalid,
        sent_at: req.now,
        counts: plan.counts,
        state: ApprovalState::Waiting,
    };
    txn.open_table(APPROVALS)
        .map_err(backend)?
        .insert(id, encode(&request)?.as_slice())
        .map_err(backend)?;
    txn.open_table(APPROVAL_FILES)
        .map_err(backend)?
        .insert(id, req.bytes)
        .map_err(backend)?;
    Ok(request)
}

/// A request and, while it waits, its file's bytes (empty once decided).
fn request_and_file(
    requests: &impl ReadableTable<u64, &'static [u8]>,
    files: &impl ReadableTable<u64, &'static [u8]>,
    id: u64,
) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
    let Some(request) = requests.get(id).map_err(backend)? else {
        return Ok(None);
    };
    let request: ApprovalRequest = decode(request.value())?;
    let bytes = files
        .get(id)
        .map_err(backend)?
        .map(|g| g.value().to_vec())
        .unwrap_or_default();
    Ok(Some((request, bytes)))
}

fn approval_error(e: ApprovalError) -> StoreError {
    match e {
        ApprovalError::OwnRequest => StoreError::Forbidden(e.to_string()),
        ApprovalError::NotWaiting(_) => StoreError::Conflict(e.to_string()),
        ApprovalError::ReasonRequired => StoreError::Invalid(e.to_string()),
    }
}

impl Store for RedbStore {
    fn user_count(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        txn.open_table(USERS)
            .map_err(backend)?
            .len()
            .map_err(backend)
    }

    fn user(&self, key: &UserKey) -> Result<Option<User>, StoreError> {
        self.read_one(USERS, key.as_str())
    }

    fn users_by_keys(&self, keys: &[UserKey]) -> Result<Vec<User>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(USERS).map_err(backend)?;
        let mut out = Vec::new();
        for k in keys {
            if let Some(g) = t.get(k.as_str()).map_err(backend)? {
                out.push(decode(g.value())?);
            }
        }
        Ok(out)
    }

    fn all_users(&self) -> Result<Vec<User>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(USERS).map_err(backend)?;
        let mut out = Vec::with_capacity(t.len().map_err(backend)? as usize);
        for entry in t.iter().map_err(backend)? {
            out.push(decode(entry.map_err(backend)?.1.value())?);
        }
        Ok(out)
    }

    fn options(&self) -> Result<Options, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        read_options(&txn.open_table(OPTIONS).map_err(backend)?)
    }

    fn set_options(&self, pairs: &[(&str, &str)]) -> Result<Options, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let options = {
            let mut t = txn.open_table(OPTIONS).map_err(backend)?;
            let mut options = read_options(&t)?;
            // Every value is checked before anything is written; an error
            // drops the transaction unwritten.
            for (key, value) in pairs {
                options
                    .set(key, value)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
            }
            for (key, _) in pairs {
                let stored = options
                    .get(key)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                t.insert(*key, stored.as_str()).map_err(backend)?;
            }
            options
        };
        txn.commit().map_err(backend)?;
        Ok(options)
    }

    fn apply_import(&self, req: ImportRequest<'_>) -> Result<ImportOutcome, StoreError> {
        // One write transaction from the first read of a user to the
        // commit: nobody can change a user between our plan and our writes.
        // The file is parsed before it opens, so that a large file's parse
        // does not hold up other writers; the options are read again
        // inside, and a change meanwhile parses again.
        let parsed_with = self.options()?;
        let parsed = parse_file(req.bytes, &parsed_with).map_err(StoreError::File)?;
        let txn = self.db.begin_write().map_err(backend)?;
        let options = read_options(&txn.open_table(OPTIONS).map_err(backend)?)?;
        let parsed = if options == parsed_with {
            parsed
        } else {
            parse_file(req.bytes, &options).map_err(StoreError::File)?
        };
        let mut plan = plan_parsed_in(&txn, parsed, &options, req.actor)?;
        if req
            .expected_fingerprint
            .is_some_and(|fp| fp != plan.fingerprint)
        {
            txn.abort().map_err(backend)?;
            return Ok(ImportOutcome::ChangedSincePreview { plan });
        }
        if plan.counts.invalid > 0 && !req.skip_invalid {
            txn.abort().map_err(backend)?;
            return Ok(ImportOutcome::Blocked { plan });
        }
        if plan.counts.create + plan.counts.update == 0 {
            txn.abort().map_err(backend)?;
            return Ok(ImportOutcome::NothingToWrite { plan });
        }
        // Above the threshold a signed-in operator's import waits for a
        // second person; the machine owner (CLI) is not held.
        if options.needs_approval(&plan.counts) && req.actor != Actor::Owner {
            let request = send_for_approval(&txn, &req, &plan)?;
            txn.commit().map_err(backend)?;
            return Ok(ImportOutcome::SentForApproval { request, plan });
        }
        let batch = write_plan(
            &txn,
            &mut plan,
            Written {
                operator: req.operator,
                file_name: req.file_name,
                sha256: sha256_hex(req.bytes),
                corrected: req.corrected.as_ref(),
                now: req.now,
            },
        )?;
        txn.commit().map_err(backend)?;
        Ok(ImportOutcome::Committed { batch, plan })
    }

    fn corrections(&self) -> Result<Vec<(u64, Correction)>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(CORRECTIONS).map_err(backend)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(backend)? {
            let (id, value) = entry.map_err(backend)?;
            out.push((id.value(), decode(value.value())?));
        }
        Ok(out)
    }

    fn approvals(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(APPROVALS).map_err(backend)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(backend)?.rev() {
            out.push(decode(entry.map_err(backend)?.1.value())?);
        }
        Ok(out)
    }

    fn approval(&self, id: u64) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        request_and_file(
            &txn.open_table(APPROVALS).map_err(backend)?,
            &txn.open_table(APPROVAL_FILES).map_err(backend)?,
            id,
        )
    }

    fn decide_approval(
        &self,
        id: u64,
        decision: Decision,
        by: &str,
        actor: Actor,
        now: i64,
    ) -> Result<ApprovalOutcome, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let (mut request, bytes) = request_and_file(
            &txn.open_table(APPROVALS).map_err(backend)?,
            &txn.open_table(APPROVAL_FILES).map_err(backend)?,
            id,
        )?
        .ok_or_else(|| StoreError::NotFound(format!("There is no approval request {id}.")))?;
        request.may_decide(by).map_err(approval_error)?;
        let outcome = match decision {
            Decision::Reject { reason } => {
                request.reject(by, now, &reason).map_err(approval_error)?;
                ApprovalOutcome::Rejected
            }
            Decision::Approve => {
                let options = read_options(&txn.open_table(OPTIONS).map_err(backend)?)?;
                let mut plan = plan_in(&txn, &bytes, &options, request.actor)?;
                if plan.fingerprint != request.fingerprint {
                    request.mark_stale(by, now).map_err(approval_error)?;
                    ApprovalOutcome::Stale
                } else {
                    // The approver vouches for every change: the privilege
                    // rule applies to them as to the sender.
                    for row in &plan.rows {
                        let (before, after) = match &row.action {
                            Action::Create(u) => (None, Some(&**u)),
                            Action::Update { before, after, .. } => {
                                (Some(&**before), Some(&**after))
                            }
                            _ => continue,
                        };
                        privilege::check_change(actor, Act::Approve, before, after).map_err(
                            |refusal| {
                                StoreError::Forbidden(format!(
                                    "Not approved: {} — {refusal}. Nothing was written.",
                                    after.or(before).map(|u| u.email.as_str()).unwrap_or("?")
                                ))
                            },
                        )?;
                    }
                    let batch = write_plan(
                        &txn,
                        &mut plan,
                        Written {
                            operator: &request.operator,
                            file_name: &request.file_name,
                            sha256: request.sha256.clone(),
                            corrected: None,
                            now,
                        },
                    )?;
                    request.approve(by, now, batch.id).map_err(approval_error)?;
                    ApprovalOutcome::Approved { batch }
                }
            }
        };
        // Decided: the stored file is not needed any more (its SHA-256
        // stays with the request and the batch).
        txn.open_table(APPROVAL_FILES)
            .map_err(backend)?
            .remove(id)
            .map_err(backend)?;
        txn.open_table(APPROVALS)
            .map_err(backend)?
            .insert(id, encode(&request)?.as_slice())
            .map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(outcome)
    }

    fn create_user(
        &self,
        mut user: User,
        operator: &str,
        actor: Actor,
        now: i64,
    ) -> Result<BatchSummary, StoreError> {
        privilege::check_change(actor, Act::Change, None, Some(&user)).map_err(forbidden)?;
        let txn = self.db.begin_write().map_err(backend)?;
        {
            let mut users = UserTables::open(&txn)?;
            if users.get(user.key().as_str())?.is_some() {
                drop(users);
                txn.abort().map_err(backend)?;
                return Err(StoreError::Conflict(format!(
                    "A user with the email {} exists already.",
                    user.email
                )));
            }
            user.created_at = now;
            user.updated_at = now;
            user.version = 1;
            users.put(None, &user)?;
            users.finish()?;
        }
        let summary = record_batch(
            &txn,
            BatchSummary {
                id: 0,
                operator: operator.to_string(),
                at: now,
                file_name: "Manual input".into(),
                // No file: nothing a later upload could match.
                sha256: String::new(),
                counts: Counts {
                    create: 1,
                    ..Counts::default()
                },
                undo_of: None,
                undone_by: None,
            },
            vec![Touched {
                key: user.key().to_string(),
                before: None,
                after_version: Some(1),
            }],
        )?;
        let event = AuditEvent::new(
            now,
            operator,
            &user,
            AuditAction::ManualCreate,
            domain::audit::created(&user),
        );
        append_audit(&txn, [event], Some(summary.id))?;
        txn.commit().map_err(backend)?;
        Ok(summary)
    }

    fn update_profile(
        &self,
        key: &UserKey,
        profile: domain::Profile,
        expected_version: u64,
        now: i64,
    ) -> Result<User, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let before = stored_user(&txn, key)?;
        if before.version != expected_version {
            return Err(StoreError::Conflict(
                "Your record was changed meanwhile (by an import or an operator): \
                 nothing was saved. Reload the page to see it."
                    .into(),
            ));
        }
        if before.profile == profile {
            return Ok(before);
        }
        let mut after = before.clone();
        after.profile = profile;
        replace_user(&txn, &before, &mut after, now)?;
        let changes = domain::plan::diff(&before, &after);
        let event = AuditEvent::new(
            now,
            after.email.as_str(),
            &after,
            AuditAction::ProfileEdit,
            changes,
        );
        append_audit(&txn, [event], None)?;
        txn.commit().map_err(backend)?;
        Ok(after)
    }

    fn set_end_state(
        &self,
        key: &UserKey,
        end_state: EndState,
        operator: &str,
        actor: Actor,
        now: i64,
    ) -> Result<User, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let before = stored_user(&txn, key)?;
        privilege::check_change(actor, Act::Change, Some(&before), Some(&before))
            .map_err(forbidden)?;
        if before.end_state == end_state {
            return Ok(before);
        }
        let mut after = before.clone();
        after.end_state = end_state;
        replace_user(&txn, &before, &mut after, now)?;
        if end_state == EndState::Inactive {
            crate::auth::revoke_links_in(&txn, key)?;
            crate::sessions::remove_sessions_of(&txn, key)?;
        }
        let action = match end_state {
            EndState::Active => AuditAction::Activate,
            EndState::Inactive => AuditAction::Deactivate,
        };
        let changes = domain::plan::diff(&before, &after);
        append_audit(
            &txn,
            [AuditEvent::new(now, operator, &after, action, changes)],
            None,
        )?;
        txn.commit().map_err(backend)?;
        Ok(after)
    }

    fn edit_user(&self, edit: UserEdit<'_>) -> Result<EditOutcome, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let before = stored_user(&txn, edit.key)?;
        let mut after = match domain::manual::operator_edit(&before, edit.cells, edit.roles) {
            Ok(after) => after,
            Err(errors) => return Ok(EditOutcome::Invalid(errors)),
        };
        if before.version != edit.expected_version {
            let changes = domain::plan::diff(&before, &after);
            return Ok(EditOutcome::ChangedMeanwhile {
                current: before,
                changes,
            });
        }
        privilege::check_edit(edit.actor, &before, &after).map_err(forbidden)?;
        if after == before {
            return Ok(EditOutcome::Unchanged(before));
        }
        replace_user(&txn, &before, &mut after, edit.now)?;
        let (roles, fields): (Vec<_>, Vec<_>) = domain::plan::diff(&before, &after)
            .into_iter()
            .partition(|c| c.field == "roles");
        let mut events = Vec::with_capacity(2);
        for (action, changes) in [
            (AuditAction::OperatorEdit, fields),
            (AuditAction::RoleChange, roles),
        ] {
            if !changes.is_empty() {
                events.push(AuditEvent::new(
                    edit.now,
                    edit.operator,
                    &after,
                    action,
                    changes,
                ));
            }
        }
        append_audit(&txn, events, None)?;
        txn.commit().map_err(backend)?;
        Ok(EditOutcome::Saved(after))
    }

    fn list_users(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        crate::user_index::list(&txn, query)
    }

    fn user_stats(&self) -> Result<UserStats, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        crate::user_index::stats(&txn)
    }

    fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let size = domain::audit::AUDIT_PAGE_SIZE as usize;
        let skip = (query.page as usize).saturating_mul(size);
        let mut events = self.audit_scan(query, skip.saturating_add(size + 1))?;
        let more = events.len() > skip + size;
        events = events.into_iter().skip(skip).take(size).collect();
        Ok(AuditPage { events, more })
    }

    fn audit_matching(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        self.audit_scan(query, usize::MAX)
    }

    fn user_history(&self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let by_user = txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?;
        let audit = txn.open_table(AUDIT).map_err(backend)?;
        let mut out = Vec::new();
        for id in by_user.get(key.as_str()).map_err(backend)? {
            let id = id.map_err(backend)?.value();
            if let Some(g) = audit.get(id).map_err(backend)? {
                out.push(decode(g.value())?);
            }
        }
        out.reverse();
        Ok(out)
    }

    fn audit_log(&self) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let audit = txn.open_table(AUDIT).map_err(backend)?;
        let mut out = Vec::new();
        for entry in audit.iter().map_err(backend)?.rev() {
            out.push(decode(entry.map_err(backend)?.1.value())?);
        }
        Ok(out)
    }

    fn batches(&self) -> Result<Vec<BatchSummary>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(BATCHES).map_err(backend)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(backend)?.rev() {
            let record: BatchRecord = decode(entry.map_err(backend)?.1.value())?;
            out.push(record.summary);
        }
        Ok(out)
    }

    fn recent_batches(&self, n: usize) -> Result<Vec<BatchSummary>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(BATCHES).map_err(backend)?;
        let mut out = Vec::with_capacity(n);
        for entry in t.iter().map_err(backend)?.rev().take(n) {
            let record: BatchRecord = decode(entry.map_err(backend)?.1.value())?;
            out.push(record.summary);
        }
        Ok(out)
    }

    fn batches_with_hash(&self, sha256: &str) -> Result<Vec<BatchSummary>, StoreError> {
        Ok(self
            .batches()?
            .into_iter()
            .filter(|b| b.sha256 == sha256 && b.undo_of.is_none())
            .collect())
    }

    fn undo_batch(
        &self,
        id: u64,
        operator: &str,
        actor: Actor,
        now: i64,
    ) -> Result<UndoOutcome, StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let mut record: BatchRecord = {
            let t = txn.open_table(BATCHES).map_err(backend)?;
            let g = t
                .get(id)
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound(format!("there is no batch {id}")))?;
            decode(g.value())?
        };
        if let Some(by) = record.summary.undone_by {
            return Err(StoreError::Invalid(format!(
                "batch {id} was already undone by batch {by}"
            )));
        }
        if record.summary.undo_of.is_some() {
            return Err(StoreError::Invalid(format!(
                "batch {id} is itself an undo and cannot be undone"
            )));
        }
        let mut undo_touched = Vec::with_capacity(record.touched.len());
        let mut events = Vec::with_capacity(record.touched.len());
        let mut changed = Vec::new();
        let mut admin_lost = false;
        let mut counts = Counts::default();
        {
            let mut users = UserTables::open(&txn)?;
            // Check every user first: refuse the whole undo if any changed.
            let mut current = Vec::with_capacity(record.touched.len());
            for t in &record.touched {
                let now_user: Option<User> = users.get(t.key.as_str())?;
                if now_user.as_ref().map(|u| u.version) != t.after_version {
                    changed.push(
                        now_user
                            .as_ref()
                            .map(|u| u.email.to_string())
                            .unwrap_or_else(|| t.key.clone()),
                    );
                }
                current.push(now_user);
            }
            if !changed.is_empty() {
                drop(users);
                txn.abort().map_err(backend)?;
                return Ok(UndoOutcome::Refused { changed });
            }
            // The privilege rule, on the user as it is and as it would be.
            for (t, now_user) in record.touched.iter().zip(&current) {
                let allowed =
                    privilege::check_change(actor, Act::Undo, now_user.as_ref(), t.before.as_ref());
                if let Err(refusal) = allowed {
                    drop(users);
                    txn.abort().map_err(backend)?;
                    return Err(StoreError::Forbidden(format!(
                        "Not undone: {} — {refusal}. Nothing was written.",
                        t.key
                    )));
                }
                admin_lost |= privilege::removes_active_admin(now_user.as_ref(), t.before.as_ref());
            }
            for (t, now_user) in record.touched.iter().zip(current) {
                match &t.before {
                    None => {
                        if let Some(gone) = &now_user {
                            users.remove(gone)?;
                        }
                        // A removed user leaves nothing behind that a later
                        // user of the same address could inherit.
                        crate::auth::forget_credentials_in(&txn, &t.key)?;
                        counts.create += 1;
                        if let Some(gone) = &now_user {
                            let changes = domain::audit::removed(gone);
                            events.push(AuditEvent::new(
                                now,
                                operator,
                                gone,
                                AuditAction::Undo,
                                changes,
                            ));
                        }
                    }
                    Some(before) => {
                        // Restore the before-image as a new version, so that
                        // anyone who read the imported state sees a change.
                        let mut restored = before.clone();
                        restored.version = now_user.as_ref().map(|u| u.version + 1).unwrap_or(1);
                        restored.updated_at = now;
                        users.put(now_user.as_ref(), &restored)?;
                        counts.update += 1;
                        if let Some(current) = &now_user {
                            let changes = domain::plan::diff(current, &restored);
                            events.push(AuditEvent::new(
                                now,
                                operator,
                                &restored,
                                AuditAction::Undo,
                                changes,
                            ));
                        }
                        undo_touched.push(Touched {
                            key: t.key.clone(),
                            before: now_user,
                            after_version: Some(restored.version),
                        });
                        continue;
                    }
                }
                undo_touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user,
                    after_version: None,
                });
            }
            users.finish()?;
        }
        keep_an_active_admin(&txn, admin_lost)?;
        let summary = record_batch(
            &txn,
            BatchSummary {
                id: 0,
                operator: operator.to_string(),
                at: now,
                file_name: record.summary.file_name.clone(),
                sha256: record.summary.sha256.clone(),
                counts,
                undo_of: Some(id),
                undone_by: None,
            },
            undo_touched,
        )?;
        append_audit(&txn, events, Some(summary.id))?;
        record.summary.undone_by = Some(summary.id);
        txn.open_table(BATCHES)
            .map_err(backend)?
            .insert(id, encode(&record)?.as_slice())
            .map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(UndoOutcome::Undone { batch: summary })
    }
}
