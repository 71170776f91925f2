//! SCIM `externalId`s on the redb engine: `scim_external_ids` (user key →
//! externalId) and its reverse, `scim_users_by_external_id` (multimap:
//! externalId → user keys), written together.

use super::schema::{EXTERNAL_IDS, USERS, USERS_BY_EXTERNAL_ID};
use super::{RedbStore, backend};
use crate::engine::codec::decode;
use domain::store::{ExternalIds, StoreError};
use domain::{User, UserKey};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use std::collections::HashMap;

/// A user's externalId, inside the caller's transaction.
pub(super) fn external_id_in(
    txn: &WriteTransaction,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(txn
        .open_table(EXTERNAL_IDS)
        .map_err(backend)?
        .get(key)
        .map_err(backend)?
        .map(|g| g.value().to_string()))
}

/// Sets or clears a user's externalId and its reverse entry.
pub(super) fn set_external_id_in(
    txn: &WriteTransaction,
    key: &str,
    external_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut ids = txn.open_table(EXTERNAL_IDS).map_err(backend)?;
    let mut by_id = txn
        .open_multimap_table(USERS_BY_EXTERNAL_ID)
        .map_err(backend)?;
    let old = ids
        .get(key)
        .map_err(backend)?
        .map(|g| g.value().to_string());
    if let Some(old) = old {
        by_id.remove(old.as_str(), key).map_err(backend)?;
    }
    match external_id {
        Some(id) => {
            ids.insert(key, id).map_err(backend)?;
            by_id.insert(id, key).map_err(backend)?;
        }
        None => {
            ids.remove(key).map_err(backend)?;
        }
    }
    Ok(())
}

impl ExternalIds for RedbStore {
    fn external_id(&self, key: &UserKey) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let table = txn.open_table(EXTERNAL_IDS).map_err(backend)?;
        Ok(table
            .get(key.as_str())
            .map_err(backend)?
            .map(|g| g.value().to_string()))
    }

    fn all_external_ids(&self) -> Result<HashMap<String, String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let table = txn.open_table(EXTERNAL_IDS).map_err(backend)?;
        let mut all = HashMap::new();
        for entry in table.iter().map_err(backend)? {
            let (key, id) = entry.map_err(backend)?;
            all.insert(key.value().to_string(), id.value().to_string());
        }
        Ok(all)
    }

    fn users_with_external_id(
        &self,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let by_id = txn
            .open_multimap_table(USERS_BY_EXTERNAL_ID)
            .map_err(backend)?;
        let users = txn.open_table(USERS).map_err(backend)?;
        let mut found = Vec::new();
        for key in by_id.get(external_id).map_err(backend)?.take(limit) {
            let key = key.map_err(backend)?;
            if let Some(record) = users.get(key.value()).map_err(backend)? {
                found.push(decode(record.value())?);
            }
        }
        Ok(found)
    }
}
