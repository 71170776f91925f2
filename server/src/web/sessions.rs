//! A tower-sessions store on the engine's own database (the redb file, or
//! PostgreSQL), so that sessions survive a restart and, on PostgreSQL, are
//! shared by every app server. At rest a session is only its data and
//! expiry, under the SHA-256 of its id ([`AtRest`]): neither the id nor
//! anything a cookie could be rebuilt from is stored, so a copy of the
//! database hands out no live session.
//!
//! Idle expiry: the session layer saves on every request
//! (`with_always_save`) so that the expiry moves with activity, and this
//! store turns such a save into a write only when the data changed or the
//! stored expiry is more than [`REFRESH_AFTER`] behind: a busy session is
//! written about once a minute, and reads stay reads.

use crate::engine::SessionRows;
use crate::engine::codec::session::AtRest;
use std::sync::Arc;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// A stored expiry this much older than a new one is written again.
pub const REFRESH_AFTER: Duration = Duration::minutes(1);

/// A tower-sessions record at rest.
fn of(record: &Record) -> AtRest {
    AtRest {
        data: record.data.clone(),
        expires: record.expiry_date.unix_timestamp(),
    }
}

fn decode(bytes: &[u8]) -> Result<AtRest> {
    AtRest::decode(bytes).map_err(|e| Error::Decode(e.to_string()))
}

fn encode(at_rest: &AtRest) -> Result<Vec<u8>> {
    at_rest.encode().map_err(|e| Error::Encode(e.to_string()))
}

fn expiry(at_rest: &AtRest) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at_rest.expires).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The tower-sessions store over an engine's [`SessionRows`].
#[derive(Clone)]
pub struct EngineSessionStore {
    rows: Arc<dyn SessionRows>,
}

impl std::fmt::Debug for EngineSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineSessionStore")
    }
}

impl EngineSessionStore {
    pub fn new(rows: Arc<dyn SessionRows>) -> Self {
        EngineSessionStore { rows }
    }

    /// Removes expired sessions; returns how many.
    pub fn delete_expired(&self) -> Result<u64> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.rows.delete_expired_sessions(now).map_err(be)
    }

    /// Runs engine work (reads, fsynced commits, network round trips) off
    /// the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn SessionRows) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let rows = self.rows.clone();
        tokio::task::spawn_blocking(move || work(&*rows))
            .await
            .map_err(be)?
    }
}

fn be(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn key(id: &Id) -> String {
    domain::store::sha256_hex(id.to_string().as_bytes())
}

#[async_trait::async_trait]
impl SessionStore for EngineSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let at_rest = of(record);
        let data = encode(&at_rest)?;
        let id = self
            .blocking(move |rows| {
                let user = at_rest.user_key();
                // Ids are 128 random bits; a collision is astronomically
                // unlikely, but never overwrite another session.
                loop {
                    let id = Id::default();
                    if rows
                        .insert_session(&key(&id), user, at_rest.expires, &data)
                        .map_err(be)?
                    {
                        return Ok(id);
                    }
                }
            })
            .await?;
        record.id = id;
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let new = of(record);
        let id = key(&record.id);
        self.blocking(move |rows| {
            if let Some(old) = rows.session(&id).map_err(be)? {
                let old = decode(&old)?;
                let fresh = expiry(&new) - expiry(&old) < REFRESH_AFTER;
                if old.data == new.data && fresh {
                    return Ok(());
                }
            }
            rows.put_session(&id, new.user_key(), new.expires, &encode(&new)?)
                .map_err(be)
        })
        .await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let id_copy = *id;
        let id = key(id);
        self.blocking(move |rows| {
            let Some(bytes) = rows.session(&id).map_err(be)? else {
                return Ok(None);
            };
            let at_rest = decode(&bytes)?;
            let expiry_date = expiry(&at_rest);
            Ok((expiry_date > OffsetDateTime::now_utc()).then_some(Record {
                id: id_copy,
                data: at_rest.data,
                expiry_date,
            }))
        })
        .await
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let id = key(id);
        self.blocking(move |rows| rows.delete_session(&id).map_err(be))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::redb::RedbStore;
    use crate::engine::redb::schema::SESSIONS;
    use crate::engine::redb::sessions::remove_sessions_of;
    use redb::{ReadableDatabase, ReadableTable};

    fn record(user: &str, expires_in: Duration) -> Record {
        let mut r = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        };
        r.data.insert(
            domain::store::SESSION_USER.into(),
            serde_json::json!({ "key": user, "signed_in_ms": 1 }),
        );
        r
    }

    fn raw(store: &RedbStore) -> Vec<(String, Vec<u8>)> {
        let txn = store.db().begin_read().unwrap();
        let t = txn.open_table(SESSIONS).unwrap();
        t.iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value().to_string(), v.value().to_vec())
            })
            .collect()
    }

    #[tokio::test]
    async fn sessions_persist_expire_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = EngineSessionStore::new(Arc::new(RedbStore::open(dir.path()).unwrap()));
        let mut live = record("a@x.org", Duration::hours(1));
        store.create(&mut live).await.unwrap();
        let loaded = store.load(&live.id).await.unwrap().unwrap();
        assert_eq!(loaded.id, live.id);
        assert_eq!(loaded.data, live.data);
        // Stored with second precision.
        assert_eq!(
            loaded.expiry_date.unix_timestamp(),
            live.expiry_date.unix_timestamp()
        );
        let mut dead = record("b@x.org", Duration::seconds(-1));
        store.create(&mut dead).await.unwrap();
        assert_eq!(store.load(&dead.id).await.unwrap(), None);
        assert_eq!(store.delete_expired().unwrap(), 1);
        store.delete(&live.id).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_session_at_rest_holds_no_id() {
        let dir = tempfile::tempdir().unwrap();
        let redb = Arc::new(RedbStore::open(dir.path()).unwrap());
        let store = EngineSessionStore::new(redb.clone());
        let mut r = record("a@x.org", Duration::hours(1));
        store.create(&mut r).await.unwrap();
        let id = r.id.to_string();
        let rows = raw(&redb);
        assert_eq!(rows.len(), 1);
        let (k, v) = &rows[0];
        assert_ne!(k, &id);
        assert_eq!(k, &key(&r.id));
        let text = String::from_utf8(v.clone()).unwrap();
        assert!(!text.contains(&id), "{text}");
        let json: serde_json::Value = serde_json::from_slice(v).unwrap();
        let fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["data", "expires"]);
    }

    #[tokio::test]
    async fn activity_moves_the_expiry_but_writes_at_most_once_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let redb = Arc::new(RedbStore::open(dir.path()).unwrap());
        let store = EngineSessionStore::new(redb.clone());
        let mut r = record("a@x.org", Duration::minutes(30));
        store.create(&mut r).await.unwrap();
        let stored = || AtRest::decode(&raw(&redb)[0].1).unwrap().expires;
        let first = stored();
        // Saved again 30 s later with nothing changed: no write.
        r.expiry_date += Duration::seconds(30);
        store.save(&r).await.unwrap();
        assert_eq!(stored(), first);
        // 61 s after the stored expiry: written.
        r.expiry_date += Duration::seconds(31);
        store.save(&r).await.unwrap();
        assert_eq!(stored(), first + 61);
        // Changed data is written at once.
        r.data.insert("x".into(), serde_json::json!(1));
        store.save(&r).await.unwrap();
        assert!(
            AtRest::decode(&raw(&redb)[0].1)
                .unwrap()
                .data
                .contains_key("x")
        );
    }

    #[tokio::test]
    async fn a_users_sessions_end_together() {
        let dir = tempfile::tempdir().unwrap();
        let redb = Arc::new(RedbStore::open(dir.path()).unwrap());
        let store = EngineSessionStore::new(redb.clone());
        let (mut a1, mut a2, mut b) = (
            record("a@x.org", Duration::hours(1)),
            record("a@x.org", Duration::hours(1)),
            record("b@x.org", Duration::hours(1)),
        );
        for r in [&mut a1, &mut a2, &mut b] {
            store.create(r).await.unwrap();
        }
        let txn = redb.db().begin_write().unwrap();
        remove_sessions_of(&txn, "a@x.org").unwrap();
        txn.commit().unwrap();
        assert_eq!(store.load(&a1.id).await.unwrap(), None);
        assert_eq!(store.load(&a2.id).await.unwrap(), None);
        assert!(store.load(&b.id).await.unwrap().is_some());
    }
}
