//! A tower-sessions store on the same redb file, so that sessions survive a
//! restart. Records are kept under the SHA-256 of their id: a copy of the
//! database does not hand out live session cookies.

use crate::store::{RedbStore, SESSIONS};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

#[derive(Clone)]
pub struct RedbSessionStore {
    store: Arc<RedbStore>,
}

impl std::fmt::Debug for RedbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbSessionStore")
    }
}

impl RedbSessionStore {
    pub fn new(store: Arc<RedbStore>) -> Self {
        RedbSessionStore { store }
    }

    /// Removes expired sessions; returns how many.
    pub fn delete_expired(&self) -> Result<u64> {
        let now = OffsetDateTime::now_utc();
        let db = self.store.db();
        let txn = db.begin_write().map_err(be)?;
        let removed;
        {
            let mut t = txn.open_table(SESSIONS).map_err(be)?;
            let before = t.len().map_err(be)?;
            t.retain(|_, v| {
                serde_json::from_slice::<Record>(v)
                    .map(|r| r.expiry_date > now)
                    .unwrap_or(false)
            })
            .map_err(be)?;
            removed = before - t.len().map_err(be)?;
        }
        txn.commit().map_err(be)?;
        Ok(removed)
    }
}

fn be(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

impl RedbSessionStore {
    /// Runs redb work (reads, fsynced commits) off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&RedbStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(be)?
    }
}

#[async_trait::async_trait]
impl SessionStore for RedbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let mut candidate = record.clone();
        let id = self
            .blocking(move |store| {
                let txn = store.db().begin_write().map_err(be)?;
                {
                    let mut t = txn.open_table(SESSIONS).map_err(be)?;
                    // Ids are 128 random bits; a collision is astronomically
                    // unlikely, but never overwrite another session.
                    while t.get(key(&candidate.id).as_str()).map_err(be)?.is_some() {
                        candidate.id = Id::default();
                    }
                    let json =
                        serde_json::to_vec(&candidate).map_err(|e| Error::Encode(e.to_string()))?;
                    t.insert(key(&candidate.id).as_str(), json.as_slice())
                        .map_err(be)?;
                }
                txn.commit().map_err(be)?;
                Ok(candidate.id)
            })
            .await?;
        record.id = id;
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let json = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let id = key(&record.id);
        self.blocking(move |store| {
            let txn = store.db().begin_write().map_err(be)?;
            txn.open_table(SESSIONS)
                .map_err(be)?
                .insert(id.as_str(), json.as_slice())
                .map_err(be)?;
            txn.commit().map_err(be)
        })
        .await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let id = key(id);
        self.blocking(move |store| {
            let txn = store.db().begin_read().map_err(be)?;
            let t = txn.open_table(SESSIONS).map_err(be)?;
            let Some(g) = t.get(id.as_str()).map_err(be)? else {
                return Ok(None);
            };
            let record: Record =
                serde_json::from_slice(g.value()).map_err(|e| Error::Decode(e.to_string()))?;
            Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
        })
        .await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let id = key(id);
        self.blocking(move |store| {
            let txn = store.db().begin_write().map_err(be)?;
            txn.open_table(SESSIONS)
                .map_err(be)?
                .remove(id.as_str())
                .map_err(be)?;
            txn.commit().map_err(be)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::cookie::time::Duration;

    #[tokio::test]
    async fn sessions_persist_expire_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbSessionStore::new(Arc::new(RedbStore::open(dir.path()).unwrap()));
        let mut live = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
        };
        live.data
            .insert("user".into(), serde_json::json!("a@x.org"));
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), Some(live.clone()));
        let mut dead = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() - Duration::seconds(1),
        };
        store.create(&mut dead).await.unwrap();
        assert_eq!(store.load(&dead.id).await.unwrap(), None);
        assert_eq!(store.delete_expired().unwrap(), 1);
        store.delete(&live.id).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), None);
    }
}
