//! Credentials, password epochs, one-time sign-in links and server
//! secrets on PostgreSQL: the reads of `domain::store::Credentials` (the
//! writes are `WriteTx` primitives, in `transaction`).

use super::rows::link_of;
use super::{PgStore, pg};
use crate::engine::codec::secret_of;
use domain::UserKey;
use domain::link::LinkToken;
use domain::store::{Credentials, StoreError};
use domain::transaction::token_id;

impl Credentials for PgStore {
    fn password_hash(&self, user_key: &UserKey) -> Result<Option<String>, StoreError> {
        Ok(self
            .read(|c| {
                c.query_opt(
                    "SELECT phc FROM credentials WHERE key = $1",
                    &[&user_key.as_str()],
                )
            })?
            .map(|r| r.get(0)))
    }

    fn password_epoch(&self, user_key: &UserKey) -> Result<i64, StoreError> {
        Ok(self
            .read(|c| {
                c.query_opt(
                    "SELECT epoch_ms FROM password_epochs WHERE key = $1",
                    &[&user_key.as_str()],
                )
            })?
            .map(|r| r.get(0))
            .unwrap_or(0))
    }

    fn peek_link(&self, token: &LinkToken, now: i64) -> Result<Option<UserKey>, StoreError> {
        let row = self.read(|c| {
            c.query_opt(
                "SELECT user_key, expires_at FROM links WHERE id = $1",
                &[&token_id(token)],
            )
        })?;
        let Some(row) = row else { return Ok(None) };
        let link = link_of(row.get(0), row.get(1))?;
        Ok((link.expires_at > now).then_some(link.user_key))
    }

    fn secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        let select = "SELECT value FROM secrets WHERE name = $1";
        let found = self.read(|c| c.query_opt(select, &[&name]))?;
        let value: Vec<u8> = match found {
            Some(row) => row.get(0),
            None => {
                // Whoever inserts first wins; the other's insert does
                // nothing (it waits for the first to commit), and both read
                // the winner's value.
                use rand::RngCore;
                let mut fresh = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut fresh);
                let mut client = self.client()?;
                let mut t = client.transaction().map_err(pg)?;
                t.execute(
                    "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&name, &fresh.as_slice()],
                )
                .map_err(pg)?;
                let value = t.query_one(select, &[&name]).map_err(pg)?.get(0);
                t.commit().map_err(pg)?;
                value
            }
        };
        secret_of(name, &value)
    }
}
