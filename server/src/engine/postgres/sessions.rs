//! Sessions at rest on PostgreSQL ([`SessionRows`]): the `sessions` table,
//! with each session's user and expiry in columns beside its JSON, so that
//! a user's sessions end and expired ones go with one statement.

use super::PgStore;
use crate::engine::SessionRows;
use domain::store::StoreError;

impl SessionRows for PgStore {
    fn insert_session(
        &self,
        id: &str,
        user_key: Option<&str>,
        expires: i64,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        let n = self.read(|c| {
            c.execute(
                "INSERT INTO sessions (id, user_key, expires, data) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &user_key, &expires, &data],
            )
        })?;
        Ok(n == 1)
    }

    fn put_session(
        &self,
        id: &str,
        user_key: Option<&str>,
        expires: i64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "INSERT INTO sessions (id, user_key, expires, data) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET user_key = EXCLUDED.user_key, \
                 expires = EXCLUDED.expires, data = EXCLUDED.data",
                &[&id, &user_key, &expires, &data],
            )
        })
        .map(drop)
    }

    fn session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .read(|c| c.query_opt("SELECT data FROM sessions WHERE id = $1", &[&id]))?
            .map(|r| r.get(0)))
    }

    fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.read(|c| c.execute("DELETE FROM sessions WHERE id = $1", &[&id]))
            .map(drop)
    }

    fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        self.read(|c| c.execute("DELETE FROM sessions WHERE expires <= $1", &[&now]))
    }
}
