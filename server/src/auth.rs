//! Credentials, password epochs and one-time sign-in links on the redb
//! store. Link tokens are 32 random bytes, stored only as their SHA-256.

use crate::store::{
    CREDENTIALS, EPOCHS, LINKS, RedbStore, SignInLink, USERS, backend, decode, encode,
};
use domain::store::{Credentials, StoreError};
use rand::RngCore;
use redb::{ReadableDatabase, ReadableTable};
use sha2::{Digest, Sha256};

/// A new random token, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Credentials for RedbStore {
    fn password_hash(&self, user_key: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(CREDENTIALS).map_err(backend)?;
        Ok(t.get(user_key)
            .map_err(backend)?
            .map(|g| g.value().to_string()))
    }

    fn set_password(&self, user_key: &str, phc: &str, now_ms: i64) -> Result<(), StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        txn.open_table(CREDENTIALS)
            .map_err(backend)?
            .insert(user_key, phc)
            .map_err(backend)?;
        txn.open_table(EPOCHS)
            .map_err(backend)?
            .insert(user_key, now_ms)
            .map_err(backend)?;
        txn.commit().map_err(backend)
    }

    fn password_epoch(&self, user_key: &str) -> Result<i64, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(EPOCHS).map_err(backend)?;
        Ok(t.get(user_key)
            .map_err(backend)?
            .map(|g| g.value())
            .unwrap_or(0))
    }

    fn create_link(&self, user_key: &str, now: i64, days: u32) -> Result<String, StoreError> {
        let token = new_token();
        let link = SignInLink {
            user_key: user_key.to_string(),
            expires_at: now + i64::from(days) * 86_400,
        };
        let txn = self.db().begin_write().map_err(backend)?;
        txn.open_table(LINKS)
            .map_err(backend)?
            .insert(token_id(&token).as_str(), encode(&link)?.as_slice())
            .map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(token)
    }

    fn create_links(
        &self,
        user_keys: &[String],
        now: i64,
        days: u32,
    ) -> Result<Vec<Option<String>>, StoreError> {
        let expires_at = now + i64::from(days) * 86_400;
        let txn = self.db().begin_write().map_err(backend)?;
        let tokens = {
            let users = txn.open_table(USERS).map_err(backend)?;
            let mut links = txn.open_table(LINKS).map_err(backend)?;
            let mut tokens = Vec::with_capacity(user_keys.len());
            for key in user_keys {
                if users.get(key.as_str()).map_err(backend)?.is_none() {
                    tokens.push(None);
                    continue;
                }
                let token = new_token();
                let link = SignInLink {
                    user_key: key.clone(),
                    expires_at,
                };
                links
                    .insert(token_id(&token).as_str(), encode(&link)?.as_slice())
                    .map_err(backend)?;
                tokens.push(Some(token));
            }
            tokens
        };
        txn.commit().map_err(backend)?;
        Ok(tokens)
    }

    fn peek_link(&self, token: &str, now: i64) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(LINKS).map_err(backend)?;
        let Some(g) = t.get(token_id(token).as_str()).map_err(backend)? else {
            return Ok(None);
        };
        let link: SignInLink = decode(g.value())?;
        Ok((link.expires_at > now).then_some(link.user_key))
    }

    fn consume_link(&self, token: &str, now: i64) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        let user = {
            let mut t = txn.open_table(LINKS).map_err(backend)?;
            let removed = t.remove(token_id(token).as_str()).map_err(backend)?;
            match removed {
                Some(g) => {
                    let link: SignInLink = decode(g.value())?;
                    (link.expires_at > now).then_some(link.user_key)
                }
                None => None,
            }
        };
        txn.commit().map_err(backend)?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_expire_and_are_single_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        let token = store.create_link("a@x.org", 1000, 7).unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(
            store.peek_link(&token, 1000).unwrap().as_deref(),
            Some("a@x.org")
        );
        assert_eq!(store.peek_link(&token, 1000 + 7 * 86_400).unwrap(), None);
        assert_eq!(store.peek_link("forged", 1000).unwrap(), None);
        assert_eq!(
            store.consume_link(&token, 1001).unwrap().as_deref(),
            Some("a@x.org")
        );
        assert_eq!(store.consume_link(&token, 1001).unwrap(), None);
        let expired = store.create_link("a@x.org", 0, 1).unwrap();
        assert_eq!(store.consume_link(&expired, 86_400).unwrap(), None);
    }

    #[test]
    fn links_for_many_users_in_one_go_skip_unknown_users() {
        use domain::store::{ImportRequest, Store};
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        store
            .apply_import(ImportRequest {
                bytes: b"email,first_name,last_name\na@x.org,A,B\nc@x.org,C,D\n",
                file_name: "f.csv",
                operator: "op@x.org",
                expected_fingerprint: None,
                skip_invalid: false,
                now: 1000,
            })
            .unwrap();
        let keys = ["a@x.org", "nobody@x.org", "c@x.org"].map(String::from);
        let tokens = store.create_links(&keys, 1000, 2).unwrap();
        assert_eq!(tokens.len(), 3);
        assert!(tokens[1].is_none());
        let a = tokens[0].as_deref().unwrap();
        let c = tokens[2].as_deref().unwrap();
        assert_ne!(a, c);
        assert_eq!(
            store.peek_link(a, 1000).unwrap().as_deref(),
            Some("a@x.org")
        );
        assert_eq!(
            store.peek_link(c, 1000).unwrap().as_deref(),
            Some("c@x.org")
        );
        assert_eq!(store.peek_link(c, 1000 + 2 * 86_400).unwrap(), None);
    }

    #[test]
    fn password_and_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        assert_eq!(store.password_hash("a@x.org").unwrap(), None);
        assert_eq!(store.password_epoch("a@x.org").unwrap(), 0);
        store.set_password("a@x.org", "$argon2id$x", 42).unwrap();
        assert_eq!(
            store.password_hash("a@x.org").unwrap().as_deref(),
            Some("$argon2id$x")
        );
        assert_eq!(store.password_epoch("a@x.org").unwrap(), 42);
    }
}
