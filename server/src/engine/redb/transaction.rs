//! One redb write transaction, as the domain's use cases see it
//! (`domain::transaction::WriteTx`): redb has one writer at a time, so
//! transactions are serialised.

use super::backend;
use super::reads::{history_of, read_options, request_and_file};
use super::schema::{
    APPROVAL_FILES, APPROVALS, AUDIT, AUDIT_BY_USER, BATCHES, CORRECTIONS, CREDENTIALS, EPOCHS,
    META, OPTIONS, USERS,
};
use super::user_index::UserTables;
use crate::engine::codec::{decode, decode_batch_summary, encode, encode_event_into, new_token};
use domain::approval::ApprovalRequest;
use domain::audit::AuditEvent;
use domain::mail::{MailState, OutboxCounts, OutboxMessage};
use domain::options::Options;
use domain::privilege;
use domain::store::{BatchSummary, Correction, StoreError};
use domain::token::ApiToken;
use domain::transaction::{BatchRecord, Sequence, SignInLink, UserWrite, WriteTx};
use domain::{User, UserKey, UsersByKey};
use redb::ReadableTable;

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
fn append_audit(
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
pub(super) struct RedbTx<'a> {
    pub(super) txn: &'a redb::WriteTransaction,
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

    fn user(&mut self, key: &UserKey) -> Result<Option<User>, StoreError> {
        let key = key.as_str();
        UserTables::open(self.txn)?.get(key)
    }

    fn users(&mut self, keys: &[&UserKey]) -> Result<UsersByKey, StoreError> {
        let users = self.txn.open_table(USERS).map_err(backend)?;
        let mut out = UsersByKey::default();
        for key in keys {
            if let Some(g) = users.get(key.as_str()).map_err(backend)? {
                out.insert((*key).clone(), decode(g.value())?);
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
        super::user_index::active_imported(self.txn, &|user| {
            scope
                .as_deref()
                .is_none_or(|s| user.profile.organization().trim().to_lowercase() == s)
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

    fn user_history(&mut self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        let key = key.as_str();
        history_of(
            &self
                .txn
                .open_multimap_table(AUDIT_BY_USER)
                .map_err(backend)?,
            &self.txn.open_table(AUDIT).map_err(backend)?,
            &self.txn.open_table(USERS).map_err(backend)?,
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
            Sequence::Outbox => "next_outbox_id",
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

    fn has_password(&mut self, key: &UserKey) -> Result<bool, StoreError> {
        let key = key.as_str();
        let t = self.txn.open_table(CREDENTIALS).map_err(backend)?;
        Ok(t.get(key).map_err(backend)?.is_some())
    }

    fn put_password(&mut self, key: &UserKey, phc: &str, epoch_ms: i64) -> Result<(), StoreError> {
        let key = key.as_str();
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
        super::credentials::put_link_in(self.txn, token_id, link)
    }

    fn link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError> {
        super::credentials::link_in(self.txn, token_id)
    }

    fn take_link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError> {
        super::credentials::take_link_in(self.txn, token_id)
    }

    fn revoke_links(&mut self, key: &UserKey) -> Result<u64, StoreError> {
        let key = key.as_str();
        super::credentials::revoke_links_in(self.txn, key)
    }

    fn purge_expired_links(&mut self, now: i64) -> Result<u64, StoreError> {
        super::credentials::purge_expired_links_in(self.txn, now)
    }

    fn end_sessions(&mut self, key: &UserKey) -> Result<(), StoreError> {
        let key = key.as_str();
        super::sessions::remove_sessions_of(self.txn, key)
    }

    fn forget_credentials(&mut self, key: &UserKey) -> Result<(), StoreError> {
        let key = key.as_str();
        super::credentials::forget_credentials_in(self.txn, key)
    }

    fn new_token(&mut self) -> String {
        new_token()
    }

    fn token(&mut self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        super::tokens::token_in(self.txn, id)
    }

    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError> {
        super::tokens::put_token_in(self.txn, token)
    }

    fn external_id(&mut self, key: &UserKey) -> Result<Option<String>, StoreError> {
        let key = key.as_str();
        super::external_ids::external_id_in(self.txn, key)
    }

    fn set_external_id(
        &mut self,
        key: &UserKey,
        external_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = key.as_str();
        super::external_ids::set_external_id_in(self.txn, key, external_id)
    }

    fn put_outbox(&mut self, message: &OutboxMessage) -> Result<(), StoreError> {
        super::outbox::put_in(self.txn, message)
    }

    fn outbox_message(&mut self, id: u64) -> Result<Option<OutboxMessage>, StoreError> {
        super::outbox::message_in(self.txn, id)
    }

    fn due_outbox(&mut self, now: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        super::outbox::due_in(self.txn, now, limit)
    }

    fn outbox_counts(&mut self) -> Result<OutboxCounts, StoreError> {
        super::outbox::counts_in(self.txn)
    }

    fn outbox_in(
        &mut self,
        state: MailState,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        super::outbox::in_state(self.txn, state, limit)
    }
}
