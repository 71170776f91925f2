//! The redb engine's reads: the store port's queries
//! (`domain::store::Store`), each in a read transaction of its own, and
//! `transact`, which runs a use case in one write transaction
//! ([`super::transaction`]).

use super::schema::{
    APPROVAL_FILES, APPROVALS, AUDIT, AUDIT_BY_USER, BATCHES, CORRECTIONS, OPTIONS, USERS,
};
use super::transaction::RedbTx;
use super::{RedbStore, backend};
use crate::engine::codec::{Record, decode, decode_batch_summary, decode_event};
use domain::approval::ApprovalRequest;
use domain::audit::{AuditEvent, AuditQuery};
use domain::directory::{UserPage, UserQuery};
use domain::options::Options;
use domain::store::{BatchSummary, Correction, Store, StoreError, UserStats};
use domain::transaction::{BatchRecord, Finish, WriteTx};
use domain::{User, UserKey};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

/// Every audit event about one user, newest first, with the changes of
/// marked events derived from the user as stored
/// (`domain::audit::derived`).
pub(super) fn history_of(
    by_user: &impl redb::ReadableMultimapTable<&'static str, u64>,
    audit: &impl ReadableTable<u64, &'static [u8]>,
    users: &impl ReadableTable<&'static str, &'static [u8]>,
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
    if out.iter().any(AuditEvent::is_marked) {
        let current: Option<User> = users
            .get(key)
            .map_err(backend)?
            .map(|g| decode(g.value()))
            .transpose()?;
        domain::audit::derived::fill_history(&mut out, current.as_ref());
    }
    Ok(out)
}

/// `events` with their marked events' changes derived (from each one's
/// user as `txn` sees it).
fn fill_listed(
    txn: &redb::ReadTransaction,
    mut events: Vec<AuditEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    if events.iter().any(AuditEvent::is_marked) {
        let by_user = txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?;
        let audit = txn.open_table(AUDIT).map_err(backend)?;
        let users = txn.open_table(USERS).map_err(backend)?;
        domain::audit::derived::fill_listed(&mut events, |keys| {
            keys.iter()
                .map(|key| Ok((key.clone(), history_of(&by_user, &audit, &users, key)?)))
                .collect()
        })?;
    }
    Ok(events)
}

impl RedbStore {
    pub fn batch_record(&self, id: u64) -> Result<Option<BatchRecord>, StoreError> {
        self.read_one(BATCHES, id)
    }

    /// One encoded record, decoded, in a read transaction of its own.
    pub(super) fn read_one<K: redb::Key + 'static, T: Record>(
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

pub(super) fn read_options(
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

/// A request and, while it waits, its file's bytes (empty once decided).
pub(super) fn request_and_file(
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
        super::user_index::list(&txn, query)
    }

    fn user_stats(&self) -> Result<UserStats, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        super::user_index::stats(&txn)
    }

    /// The first `limit` audit events the query accepts, newest first.
    /// A target that is a whole address reads that user's events only; a
    /// batch opened (`within`) reads the ids its head folds; with `fold`,
    /// the scan jumps from a head to the events before its batch.
    fn audit_scan(
        &self,
        query: &AuditQuery,
        limit: usize,
        fold: bool,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let audit = txn.open_table(AUDIT).map_err(backend)?;
        let mut out = Vec::new();
        let mut keep = |event: AuditEvent| {
            if query.accepts(&event) {
                out.push(event);
            }
            out.len() < limit
        };
        if let Some(head) = query.within {
            // A target within a batch is a filter (`accepts`) over its few
            // events.
            let head = match audit.get(head).map_err(backend)? {
                Some(g) => Some(decode_event(head, g.value())?),
                None => None,
            };
            let folded = head.as_ref().and_then(|h| h.folded()).unwrap_or(0..0);
            let batch = head.and_then(|h| h.batch);
            for entry in audit.range(folded).map_err(backend)?.rev() {
                let (id, event) = entry.map_err(backend)?;
                let event = decode_event(id.value(), event.value())?;
                // Its batch's events only, whatever the head says.
                if event.batch == batch && !keep(event) {
                    break;
                }
            }
            return fill_listed(&txn, out);
        }
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
                // Below `end`, newest first; a head moves `end` below its
                // batch and the scan starts again there.
                let mut end = u64::MAX;
                'scan: loop {
                    for entry in audit.range(..end).map_err(backend)?.rev() {
                        let (id, event) = entry.map_err(backend)?;
                        let event = decode_event(id.value(), event.value())?;
                        let folded = fold.then(|| event.folded()).flatten();
                        if !keep(event) {
                            break 'scan;
                        }
                        if let Some(folded) = folded {
                            end = folded.start;
                            continue 'scan;
                        }
                    }
                    break;
                }
            }
        }
        fill_listed(&txn, out)
    }

    fn user_history(&self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        history_of(
            &txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?,
            &txn.open_table(AUDIT).map_err(backend)?,
            &txn.open_table(USERS).map_err(backend)?,
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
