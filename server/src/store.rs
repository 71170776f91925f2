//! The redb implementation of the store port (`domain::store::Store`).
//!
//! Only persistence: the reads, and one write transaction ([`RedbTx`])
//! offering the domain's primitives (`domain::transaction::WriteTx`). The
//! use cases that decide what an import, an undo or an edit writes live in
//! `domain::usecase` and run unchanged on every engine.
//!
//! # Schema (version 4)
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
//! | `secrets` | name (e.g. `device-cookie`) | 32 random bytes, made on first use |
//!
//! Version 1 stored sessions as whole tower-sessions records, id included;
//! opening such a store removes them (everyone signs in again) and indexes
//! the existing links by user. Version 4 marks stores that hold records of
//! format 3 (an older roster refuses them). Versions 1 and 2 had no user indexes:
//! opening such a store builds them.
//!
//! Encoded values are one format byte ([`FORMAT`]) followed by postcard. A
//! change of a record type bumps the byte and keeps a decoder for the old
//! one, so a store never needs an offline migration: format 3 (users with
//! what people decided about them, batches with their approver) is
//! written now; format 1 is still read ([`crate::format1`]); audit events
//! have a format of their own (2).

use crate::format1::Record;
use crate::user_index::UserTables;
use domain::approval::ApprovalRequest;
use domain::audit::AuditQuery;
use domain::audit::{AuditEvent, StoredEvent};
use domain::directory::{UserPage, UserQuery};
use domain::options::Options;
use domain::privilege;
use domain::store::{BatchSummary, Correction, Store, StoreError, UserStats};
use domain::transaction::{Finish, Item, Sequence, UserWrite, WriteTx};
use domain::{User, UserKey};
use redb::{
    Database, DatabaseError, MultimapTableDefinition, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};
use serde::Serialize;
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
pub(crate) const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");

/// 4: records of format 3 (see below); an older roster refuses the file
/// instead of failing at the first record it cannot read.
const SCHEMA_VERSION: u64 = 4;
/// Format byte in front of every encoded value written now: users carry
/// what people decided about them, batches their approver.
const FORMAT: u8 = 3;
/// The format before that, still read (see [`crate::format1`]).
const FORMAT_1: u8 = 1;

/// The file name of the store inside the data folder.
pub const DB_FILE: &str = "roster.redb";

pub use domain::transaction::{BatchRecord, SignInLink, Touched};

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

pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, StoreError> {
    let read = |e| StoreError::Backend(format!("decode: {e}"));
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(read),
        Some((&FORMAT_1, rest)) => T::from_format_1(rest).map_err(read),
        Some((other, _)) => Err(StoreError::Backend(format!(
            "unknown record format {other}"
        ))),
        None => Err(StoreError::Backend("empty record".into())),
    }
}

/// Format byte of an audit event stored as a `domain::audit::StoredEvent`
/// (events written before it are whole `AuditEvent`s, format 1; both are
/// read).
const EVENT_FORMAT: u8 = 2;

/// An audit event as both engines store it, into a cleared `buf`.
pub fn encode_event_into(mut buf: Vec<u8>, event: &AuditEvent) -> Result<Vec<u8>, StoreError> {
    buf.clear();
    buf.push(EVENT_FORMAT);
    postcard::to_extend(&StoredEvent::of(event), buf)
        .map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

/// The audit event stored under `id`, in either format.
pub fn decode_event(id: u64, bytes: &[u8]) -> Result<AuditEvent, StoreError> {
    match bytes.split_first() {
        Some((&EVENT_FORMAT, rest)) => postcard::from_bytes::<StoredEvent>(rest)
            .map_err(|e| StoreError::Backend(format!("decode: {e}")))?
            .into_event(id)
            .ok_or_else(|| StoreError::Backend(format!("audit event {id}: unknown field"))),
        Some((&FORMAT_1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Backend(format!("decode: {e}")))
        }
        Some((other, _)) => Err(StoreError::Backend(format!(
            "audit event {id}: unknown record format {other}"
        ))),
        None => Err(StoreError::Backend(format!(
            "audit event {id}: empty record"
        ))),
    }
}

/// The summary of a stored [`BatchRecord`] without its before-images
/// (which come after it, and may be a million users long).
pub fn decode_batch_summary(bytes: &[u8]) -> Result<BatchSummary, StoreError> {
    let read = |e| StoreError::Backend(format!("decode: {e}"));
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::take_from_bytes::<BatchSummary>(rest)
            .map(|(summary, _)| summary)
            .map_err(read),
        Some((&FORMAT_1, rest)) => crate::format1::batch_summary(rest).map_err(read),
        _ => decode::<BatchRecord>(bytes).map(|r| r.summary),
    }
}

/// Every audit event about one user, newest first.
fn history_of(
    by_user: &impl redb::ReadableMultimapTable<&'static str, u64>,
    audit: &impl ReadableTable<u64, &'static [u8]>,
    key: &str,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut out = Vec::new();
    for id in by_user.get(key).map_err(backend)? {
        let id = id.map_err(backend)?.value();
        if let Some(g) = audit.get(id).map_err(backend)? {
            out.push(decode_event(id, g.value())?);
        }
    }
    out.reverse();
    Ok(out)
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Roster's store on one redb file.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    /// The sign-in throttles' counters: in this process, which is the only
    /// one on the file.
    throttles: app::security::Throttles,
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
        let store = RedbStore {
            db,
            path,
            throttles: app::security::Throttles::in_process(),
        };
        store.init()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// This store's sign-in throttles.
    pub fn throttles(&self) -> app::security::Throttles {
        self.throttles.clone()
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
                    // Version 3 had the indexes; 4 changed only records.
                    rebuild_indexes = old < 3;
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
            txn.open_table(SECRETS).map_err(backend)?;
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

    /// Whether the user indexes agree with the users (see
    /// [`crate::user_index::consistent`]).
    pub fn check_indexes(&self) -> Result<Result<(), String>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        crate::user_index::consistent(&txn)
    }

    pub fn batch_record(&self, id: u64) -> Result<Option<BatchRecord>, StoreError> {
        self.read_one(BATCHES, id)
    }

    /// One encoded record, decoded, in a read transaction of its own.
    fn read_one<K: redb::Key + 'static, T: Record>(
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
        buf = encode_event_into(buf, &event)?;
        audit.insert(event.id, buf.as_slice()).map_err(backend)?;
        by_user
            .insert(event.target_key().as_str(), event.id)
            .map_err(backend)?;
    }
    meta.insert("next_audit_id", next).map_err(backend)?;
    Ok(())
}

/// One redb write transaction, as the domain's use cases see it.
struct RedbTx<'a> {
    txn: &'a redb::WriteTransaction,
}

impl WriteTx for RedbTx<'_> {
    fn options(&mut self) -> Result<Options, StoreError> {
        read_options(&self.txn.open_table(OPTIONS).map_err(backend)?)
    }

    fn put_option(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.txn
            .open_table(OPTIONS)
            .map_err(backend)?
            .insert(key, value)
            .map_err(backend)?;
        Ok(())
    }

    fn user(&mut self, key: &str) -> Result<Option<User>, StoreError> {
        UserTables::open(self.txn)?.get(key)
    }

    fn users(&mut self, keys: &[&str]) -> Result<HashMap<String, User>, StoreError> {
        let users = self.txn.open_table(USERS).map_err(backend)?;
        let mut out = HashMap::new();
        for key in keys {
            if let Some(g) = users.get(*key).map_err(backend)? {
                out.insert(key.to_string(), decode(g.value())?);
            }
        }
        Ok(out)
    }

    fn write_users(&mut self, writes: &[UserWrite<'_>]) -> Result<(), StoreError> {
        let mut users = UserTables::open(self.txn)?;
        for w in writes {
            match (w.before, w.after) {
                (before, Some(after)) => users.put(before, after)?,
                (Some(gone), None) => users.remove(gone)?,
                (None, None) => {}
            }
        }
        users.finish()
    }

    fn sync_candidates(&mut self, scope: Option<&str>) -> Result<Vec<User>, StoreError> {
        let scope = scope.map(str::to_lowercase);
        crate::user_index::active_imported(self.txn, &|user| {
            scope
                .as_deref()
                .is_none_or(|s| user.profile.organization.trim().to_lowercase() == s)
        })
    }

    fn first_admin(&mut self) -> Result<Option<User>, StoreError> {
        let users = self.txn.open_table(USERS).map_err(backend)?;
        for entry in users.iter().map_err(backend)? {
            let user: User = decode(entry.map_err(backend)?.1.value())?;
            if user.roles.contains(domain::Role::Admin) {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    fn has_active_admin(&mut self) -> Result<bool, StoreError> {
        has_active_admin(self.txn)
    }

    fn user_history(&mut self, key: &str) -> Result<Vec<AuditEvent>, StoreError> {
        history_of(
            &self
                .txn
                .open_multimap_table(AUDIT_BY_USER)
                .map_err(backend)?,
            &self.txn.open_table(AUDIT).map_err(backend)?,
            key,
        )
    }

    fn batches_since(&mut self, since: i64) -> Result<Vec<BatchSummary>, StoreError> {
        let t = self.txn.open_table(BATCHES).map_err(backend)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(backend)?.rev() {
            let summary = decode_batch_summary(entry.map_err(backend)?.1.value())?;
            if summary.at < since {
                break;
            }
            out.push(summary);
        }
        Ok(out)
    }

    fn next_id(&mut self, sequence: Sequence) -> Result<u64, StoreError> {
        let name = match sequence {
            Sequence::Batch => "next_batch_id",
            Sequence::Approval => "next_approval_id",
        };
        let mut meta = self.txn.open_table(META).map_err(backend)?;
        let id = meta
            .get(name)
            .map_err(backend)?
            .map(|v| v.value())
            .unwrap_or(1);
        meta.insert(name, id + 1).map_err(backend)?;
        Ok(id)
    }

    fn put_batch(&mut self, record: &BatchRecord) -> Result<(), StoreError> {
        self.txn
            .open_table(BATCHES)
            .map_err(backend)?
            .insert(record.summary.id, encode(record)?.as_slice())
            .map_err(backend)?;
        Ok(())
    }

    fn batch(&mut self, id: u64) -> Result<Option<BatchRecord>, StoreError> {
        let t = self.txn.open_table(BATCHES).map_err(backend)?;
        t.get(id)
            .map_err(backend)?
            .map(|g| decode(g.value()))
            .transpose()
    }

    fn put_correction(&mut self, batch: u64, correction: &Correction) -> Result<(), StoreError> {
        self.txn
            .open_table(CORRECTIONS)
            .map_err(backend)?
            .insert(batch, encode(correction)?.as_slice())
            .map_err(backend)?;
        Ok(())
    }

    fn append_audit(
        &mut self,
        events: Vec<AuditEvent>,
        batch: Option<u64>,
    ) -> Result<(), StoreError> {
        append_audit(self.txn, events, batch)
    }

    fn approval(&mut self, id: u64) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
        request_and_file(
            &self.txn.open_table(APPROVALS).map_err(backend)?,
            &self.txn.open_table(APPROVAL_FILES).map_err(backend)?,
            id,
        )
    }

    fn waiting_files(&mut self) -> Result<Vec<(ApprovalRequest, u64)>, StoreError> {
        let files = self.txn.open_table(APPROVAL_FILES).map_err(backend)?;
        let requests = self.txn.open_table(APPROVALS).map_err(backend)?;
        let mut out = Vec::new();
        for entry in files.iter().map_err(backend)? {
            let (id, file) = entry.map_err(backend)?;
            if let Some(request) = requests.get(id.value()).map_err(backend)? {
                out.push((decode(request.value())?, file.value().len() as u64));
            }
        }
        Ok(out)
    }

    fn put_approval(
        &mut self,
        request: &ApprovalRequest,
        file: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let mut files = self.txn.open_table(APPROVAL_FILES).map_err(backend)?;
        match file {
            Some(bytes) => files.insert(request.id, bytes).map(drop),
            None => files.remove(request.id).map(drop),
        }
        .map_err(backend)?;
        self.txn
            .open_table(APPROVALS)
            .map_err(backend)?
            .insert(request.id, encode(request)?.as_slice())
            .map_err(backend)?;
        Ok(())
    }

    fn has_password(&mut self, key: &str) -> Result<bool, StoreError> {
        let t = self.txn.open_table(CREDENTIALS).map_err(backend)?;
        Ok(t.get(key).map_err(backend)?.is_some())
    }

    fn put_password(&mut self, key: &str, phc: &str, epoch_ms: i64) -> Result<(), StoreError> {
        self.txn
            .open_table(CREDENTIALS)
            .map_err(backend)?
            .insert(key, phc)
            .map_err(backend)?;
        self.txn
            .open_table(EPOCHS)
            .map_err(backend)?
            .insert(key, epoch_ms)
            .map_err(backend)?;
        Ok(())
    }

    fn put_link(&mut self, token_id: &str, link: &SignInLink) -> Result<(), StoreError> {
        crate::auth::put_link_in(self.txn, token_id, link)
    }

    fn take_link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError> {
        crate::auth::take_link_in(self.txn, token_id)
    }

    fn revoke_links(&mut self, key: &str) -> Result<u64, StoreError> {
        crate::auth::revoke_links_in(self.txn, key)
    }

    fn purge_expired_links(&mut self, now: i64) -> Result<u64, StoreError> {
        crate::auth::purge_expired_links_in(self.txn, now)
    }

    fn end_sessions(&mut self, key: &str) -> Result<(), StoreError> {
        crate::sessions::remove_sessions_of(self.txn, key)
    }

    fn forget_credentials(&mut self, key: &str) -> Result<(), StoreError> {
        crate::auth::forget_credentials_in(self.txn, key)
    }

    fn new_token(&mut self) -> String {
        crate::auth::new_token()
    }
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

    fn list_users(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        crate::user_index::list(&txn, query)
    }

    fn user_stats(&self) -> Result<UserStats, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        crate::user_index::stats(&txn)
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
                        && !keep(decode_event(id, g.value())?)
                    {
                        break;
                    }
                }
            }
            Err(_) => {
                for entry in audit.iter().map_err(backend)?.rev() {
                    let (id, event) = entry.map_err(backend)?;
                    if !keep(decode_event(id.value(), event.value())?) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn user_history(&self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        history_of(
            &txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?,
            &txn.open_table(AUDIT).map_err(backend)?,
            key.as_str(),
        )
    }

    fn batches(&self) -> Result<Vec<BatchSummary>, StoreError> {
        self.recent_batches(usize::MAX)
    }

    fn recent_batches(&self, n: usize) -> Result<Vec<BatchSummary>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let t = txn.open_table(BATCHES).map_err(backend)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(backend)?.rev().take(n) {
            out.push(decode_batch_summary(entry.map_err(backend)?.1.value())?);
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

    fn transact(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<Finish, StoreError>,
    ) -> Result<(), StoreError> {
        // redb has one writer at a time: transactions are serialised.
        let txn = self.db.begin_write().map_err(backend)?;
        match work(&mut RedbTx { txn: &txn })? {
            Finish::Commit => txn.commit().map_err(backend),
            Finish::Abort => txn.abort().map_err(backend),
        }
    }
}

/// Calls `f` with every entry of `table`, in key order.
fn each_entry<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
    mut f: impl for<'a> FnMut(K::SelfType<'a>, V::SelfType<'a>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for entry in txn
        .open_table(table)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (k, v) = entry.map_err(backend)?;
        f(k.value(), v.value())?;
    }
    Ok(())
}

impl crate::engine::Dump for RedbStore {
    /// Every record of the store but sessions, for `roster copy`.
    fn dump(&self, out: &mut dyn FnMut(Item) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        each_entry(&txn, OPTIONS, |key, value| {
            out(Item::Option {
                key: key.to_string(),
                value: value.to_string(),
            })
        })?;
        each_entry(&txn, USERS, |_, user| out(Item::User(decode(user)?)))?;
        each_entry(&txn, BATCHES, |_, batch| out(Item::Batch(decode(batch)?)))?;
        each_entry(&txn, CORRECTIONS, |batch, correction| {
            out(Item::Correction {
                batch,
                correction: decode(correction)?,
            })
        })?;
        each_entry(&txn, AUDIT, |id, event| {
            out(Item::Audit(decode_event(id, event)?))
        })?;
        let files = txn.open_table(APPROVAL_FILES).map_err(backend)?;
        each_entry(&txn, APPROVALS, |id, request| {
            let file = files.get(id).map_err(backend)?.map(|g| g.value().to_vec());
            out(Item::Approval {
                request: decode(request)?,
                file,
            })
        })?;
        let epochs = txn.open_table(EPOCHS).map_err(backend)?;
        each_entry(&txn, CREDENTIALS, |key, phc| {
            let epoch_ms = epochs.get(key).map_err(backend)?.map_or(0, |g| g.value());
            out(Item::Password {
                key: key.to_string(),
                phc: phc.to_string(),
                epoch_ms,
            })
        })?;
        each_entry(&txn, LINKS, |token_id, link| {
            out(Item::Link {
                token_id: token_id.to_string(),
                link: decode(link)?,
            })
        })
    }
}
