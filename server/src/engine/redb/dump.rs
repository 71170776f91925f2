//! Every record of a redb store but sessions, for `roster copy`.

use super::schema::{
    API_TOKENS, APPROVAL_FILES, APPROVALS, AUDIT, BATCHES, CORRECTIONS, CREDENTIALS, EPOCHS,
    EXTERNAL_IDS, LINKS, OPTIONS, OUTBOX, USERS,
};
use super::{RedbStore, backend};
use crate::engine::Dump;
use crate::engine::codec::{decode, decode_event};
use domain::UserKey;
use domain::store::StoreError;
use domain::transaction::Item;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

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

impl Dump for RedbStore {
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
                key: UserKey::stored(key.to_string()),
                phc: phc.to_string(),
                epoch_ms,
            })
        })?;
        each_entry(&txn, LINKS, |token_id, link| {
            out(Item::Link {
                token_id: token_id.to_string(),
                link: decode(link)?,
            })
        })?;
        each_entry(&txn, API_TOKENS, |_, token| {
            out(Item::Token(decode(token)?))
        })?;
        each_entry(&txn, OUTBOX, |_, message| out(Item::Mail(decode(message)?)))?;
        each_entry(&txn, EXTERNAL_IDS, |key, external_id| {
            out(Item::ExternalId {
                key: UserKey::stored(key.to_string()),
                external_id: external_id.to_string(),
            })
        })
    }
}
