//! Sessions at rest on the redb engine ([`SessionRows`]): the `sessions`
//! table holds each under the SHA-256 of its id, with nothing beside it,
//! so a user's sessions and the expired ones are found by reading each
//! session's JSON ([`AtRest`]).

use super::schema::SESSIONS;
use super::{RedbStore, backend};
use crate::engine::SessionRows;
use crate::engine::codec::session::AtRest;
use domain::store::StoreError;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};

/// Removes every session (schema 1 → 2: those records held their ids).
pub(super) fn clear_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut t = txn.open_table(SESSIONS).map_err(backend)?;
    t.retain(|_, _| false).map_err(backend)
}

/// Ends every session of `user_key`, inside the caller's transaction.
pub(crate) fn remove_sessions_of(txn: &WriteTransaction, user_key: &str) -> Result<(), StoreError> {
    let mut t = txn.open_table(SESSIONS).map_err(backend)?;
    t.retain(|_, v| {
        AtRest::decode(v)
            .map(|s| s.user_key() != Some(user_key))
            .unwrap_or(false)
    })
    .map_err(backend)
}

impl SessionRows for RedbStore {
    fn insert_session(
        &self,
        id: &str,
        _user_key: Option<&str>,
        _expires: i64,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        {
            let mut t = txn.open_table(SESSIONS).map_err(backend)?;
            if t.get(id).map_err(backend)?.is_some() {
                return Ok(false);
            }
            t.insert(id, data).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        Ok(true)
    }

    fn put_session(
        &self,
        id: &str,
        _user_key: Option<&str>,
        _expires: i64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        txn.open_table(SESSIONS)
            .map_err(backend)?
            .insert(id, data)
            .map_err(backend)?;
        txn.commit().map_err(backend)
    }

    fn session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(SESSIONS).map_err(backend)?;
        Ok(t.get(id).map_err(backend)?.map(|g| g.value().to_vec()))
    }

    fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        txn.open_table(SESSIONS)
            .map_err(backend)?
            .remove(id)
            .map_err(backend)?;
        txn.commit().map_err(backend)
    }

    fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        let removed;
        {
            let mut t = txn.open_table(SESSIONS).map_err(backend)?;
            let before = t.len().map_err(backend)?;
            t.retain(|_, v| AtRest::decode(v).map(|s| s.expires > now).unwrap_or(false))
                .map_err(backend)?;
            removed = before - t.len().map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        Ok(removed)
    }
}
