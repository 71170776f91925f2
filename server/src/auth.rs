//! Credentials and one-time sign-in links on the redb store.
//! Passwords: argon2id with the `argon2` crate's defaults (the OWASP
//! parameters: 19 MiB, 2 iterations, 1 lane). Link tokens: 32 random bytes,
//! stored only as their SHA-256.

use crate::store::{CREDENTIALS, LINKS, RedbStore, SignInLink, backend, decode, encode};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use domain::store::StoreError;
use rand::RngCore;
use redb::ReadableDatabase;
use sha2::{Digest, Sha256};

pub fn hash_password(password: &str) -> Result<String, StoreError> {
    domain::password::check(password).map_err(StoreError::Invalid)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(backend)
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random token, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl RedbStore {
    pub fn set_password_hash(&self, user_key: &str, phc: &str) -> Result<(), StoreError> {
        let txn = self.db().begin_write().map_err(backend)?;
        txn.open_table(CREDENTIALS)
            .map_err(backend)?
            .insert(user_key, phc)
            .map_err(backend)?;
        txn.commit().map_err(backend)
    }

    pub fn password_hash(&self, user_key: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(CREDENTIALS).map_err(backend)?;
        Ok(t.get(user_key)
            .map_err(backend)?
            .map(|g| g.value().to_string()))
    }

    /// Creates a one-time sign-in link for a user; returns the token.
    pub fn create_link(&self, user_key: &str, now: i64, days: u32) -> Result<String, StoreError> {
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

    /// The user a valid, unexpired link belongs to, without using it up.
    pub fn peek_link(&self, token: &str, now: i64) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(LINKS).map_err(backend)?;
        let Some(g) = t.get(token_id(token).as_str()).map_err(backend)? else {
            return Ok(None);
        };
        let link: SignInLink = decode(g.value())?;
        Ok((link.expires_at > now).then_some(link.user_key))
    }

    /// Uses up a link: removes it and returns its user if it was valid.
    pub fn consume_link(&self, token: &str, now: i64) -> Result<Option<String>, StoreError> {
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
    fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert!(hash_password("password").is_err());
    }

    #[test]
    fn links_expire_and_are_single_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        let token = store.create_link("a@x.org", 1000, 7).unwrap();
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
}
