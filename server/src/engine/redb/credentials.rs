//! Credentials, password epochs, one-time sign-in links and server
//! secrets on the redb engine (about half of this file is its tests). Link
//! tokens are 32 random bytes, stored only as their SHA-256, and indexed by
//! user (`user_links`) so that a user's links can be revoked at once: when
//! a password is set, when the user is deactivated or removed, and when a
//! new first-start link replaces the earlier ones.

use super::schema::{CREDENTIALS, EPOCHS, LINKS, SECRETS, USER_LINKS};
use super::{RedbStore, backend};
use crate::engine::codec::{decode, encode, secret_of};
use domain::UserKey;
use domain::link::LinkToken;
use domain::store::{Credentials, StoreError};
use domain::transaction::{SignInLink, token_id};
use rand::RngCore;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

/// Removes every link of `user_key`, inside the caller's transaction.
pub(super) fn revoke_links_in(txn: &WriteTransaction, user_key: &str) -> Result<u64, StoreError> {
    let mut index = txn.open_multimap_table(USER_LINKS).map_err(backend)?;
    let mut links = txn.open_table(LINKS).map_err(backend)?;
    let mut removed = 0;
    for id in index.remove_all(user_key).map_err(backend)? {
        if links
            .remove(id.map_err(backend)?.value())
            .map_err(backend)?
            .is_some()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes a user's password, epoch, links and sessions, inside the
/// caller's transaction (the user record itself is the caller's).
pub(super) fn forget_credentials_in(
    txn: &WriteTransaction,
    user_key: &str,
) -> Result<(), StoreError> {
    txn.open_table(CREDENTIALS)
        .map_err(backend)?
        .remove(user_key)
        .map_err(backend)?;
    txn.open_table(EPOCHS)
        .map_err(backend)?
        .remove(user_key)
        .map_err(backend)?;
    revoke_links_in(txn, user_key)?;
    super::sessions::remove_sessions_of(txn, user_key)
}

/// Builds the `user_links` index from the links table (schema 1 → 2).
pub(super) fn index_links_by_user(txn: &WriteTransaction) -> Result<(), StoreError> {
    let links = txn.open_table(LINKS).map_err(backend)?;
    let mut index = txn.open_multimap_table(USER_LINKS).map_err(backend)?;
    for entry in links.iter().map_err(backend)? {
        let (id, value) = entry.map_err(backend)?;
        let link: SignInLink = decode(value.value())?;
        index
            .insert(link.user_key.as_str(), id.value())
            .map_err(backend)?;
    }
    Ok(())
}

/// Stores a link under its token's id and indexes it by user, inside the
/// caller's transaction.
pub(super) fn put_link_in(
    txn: &WriteTransaction,
    token_id: &str,
    link: &SignInLink,
) -> Result<(), StoreError> {
    txn.open_table(LINKS)
        .map_err(backend)?
        .insert(token_id, encode(link)?.as_slice())
        .map_err(backend)?;
    txn.open_multimap_table(USER_LINKS)
        .map_err(backend)?
        .insert(link.user_key.as_str(), token_id)
        .map_err(backend)?;
    Ok(())
}

/// A link, if it exists, inside the caller's transaction.
pub(super) fn link_in(
    txn: &WriteTransaction,
    token_id: &str,
) -> Result<Option<SignInLink>, StoreError> {
    txn.open_table(LINKS)
        .map_err(backend)?
        .get(token_id)
        .map_err(backend)?
        .map(|g| decode::<SignInLink>(g.value()))
        .transpose()
}

/// Removes a link and returns it, inside the caller's transaction.
pub(super) fn take_link_in(
    txn: &WriteTransaction,
    token_id: &str,
) -> Result<Option<SignInLink>, StoreError> {
    let removed = txn
        .open_table(LINKS)
        .map_err(backend)?
        .remove(token_id)
        .map_err(backend)?
        .map(|g| decode::<SignInLink>(g.value()))
        .transpose()?;
    if let Some(link) = &removed {
        txn.open_multimap_table(USER_LINKS)
            .map_err(backend)?
            .remove(link.user_key.as_str(), token_id)
            .map_err(backend)?;
    }
    Ok(removed)
}

/// Removes links that expired at or before `now`, inside the caller's
/// transaction; returns how many.
pub(super) fn purge_expired_links_in(txn: &WriteTransaction, now: i64) -> Result<u64, StoreError> {
    let expired: Vec<(String, UserKey)> = {
        let links = txn.open_table(LINKS).map_err(backend)?;
        let mut expired = Vec::new();
        for entry in links.iter().map_err(backend)? {
            let (id, value) = entry.map_err(backend)?;
            let link: SignInLink = decode(value.value())?;
            if link.expires_at <= now {
                expired.push((id.value().to_string(), link.user_key));
            }
        }
        expired
    };
    let mut links = txn.open_table(LINKS).map_err(backend)?;
    let mut index = txn.open_multimap_table(USER_LINKS).map_err(backend)?;
    for (id, user) in &expired {
        links.remove(id.as_str()).map_err(backend)?;
        index.remove(user.as_str(), id.as_str()).map_err(backend)?;
    }
    Ok(expired.len() as u64)
}

impl Credentials for RedbStore {
    fn password_hash(&self, user_key: &UserKey) -> Result<Option<String>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(CREDENTIALS).map_err(backend)?;
        Ok(t.get(user_key.as_str())
            .map_err(backend)?
            .map(|g| g.value().to_string()))
    }

    fn password_epoch(&self, user_key: &UserKey) -> Result<i64, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(EPOCHS).map_err(backend)?;
        Ok(t.get(user_key.as_str())
            .map_err(backend)?
            .map(|g| g.value())
            .unwrap_or(0))
    }

    fn peek_link(&self, token: &LinkToken, now: i64) -> Result<Option<UserKey>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let t = txn.open_table(LINKS).map_err(backend)?;
        let Some(g) = t.get(token_id(token).as_str()).map_err(backend)? else {
            return Ok(None);
        };
        let link: SignInLink = decode(g.value())?;
        Ok((link.expires_at > now).then_some(link.user_key))
    }

    fn secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        {
            let txn = self.db().begin_read().map_err(backend)?;
            let t = txn.open_table(SECRETS).map_err(backend)?;
            if let Some(g) = t.get(name).map_err(backend)? {
                return secret_of(name, g.value());
            }
        }
        // redb has one writer: whoever writes first makes the secret, and
        // a second caller finds it here.
        let txn = self.db().begin_write().map_err(backend)?;
        let secret = {
            let mut t = txn.open_table(SECRETS).map_err(backend)?;
            let found = t
                .get(name)
                .map_err(backend)?
                .map(|g| secret_of(name, g.value()));
            match found {
                Some(secret) => secret?,
                None => {
                    let mut secret = [0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut secret);
                    t.insert(name, secret.as_slice()).map_err(backend)?;
                    secret
                }
            }
        };
        txn.commit().map_err(backend)?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Actor;
    use domain::store::LinkRefused;
    /// The key of an address, made the one way keys are made.
    fn k(email: &str) -> domain::UserKey {
        domain::Email::parse(email).unwrap().key().clone()
    }
    use domain::store::{ImportRequest, Store};
    use domain::{Role, Roles};

    /// A store with users a@x.org, c@x.org (operators, as imported by
    /// default) and root@x.org (an administrator).
    fn store() -> (tempfile::TempDir, RedbStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        store
            .apply_import(ImportRequest {
                bytes: b"email,first_name,last_name\na@x.org,A,B\nc@x.org,C,D\nroot@x.org,R,T\n",
                file_name: "f.csv",
                operator: domain::By::parse("op@x.org"),
                actor: Actor::Owner,
                expected_fingerprint: None,
                skip_invalid: false,
                corrected: None,
                now: 1000,
            })
            .unwrap();
        let mut root = store.user(&k("root@x.org")).unwrap().unwrap();
        root.roles = Roles::of(&[Role::Admin]);
        store.put_user(root, 1000).unwrap();
        (dir, store)
    }

    const OWNER: Actor = Actor::Owner;

    fn operator() -> Actor {
        Actor::User(Roles::of(&[Role::SelfService, Role::Operator]))
    }

    fn admin() -> Actor {
        Actor::User(Roles::of(&[Role::Admin]))
    }

    #[test]
    fn links_expire_and_are_single_use() {
        let (_dir, store) = store();
        let token = store
            .create_link(&k("a@x.org"), 1000, 7, &domain::By::parse("test"), OWNER)
            .unwrap();
        assert_eq!(token.expose().len(), 64);
        assert_eq!(
            store.peek_link(&token, 1000).unwrap().as_deref(),
            Some("a@x.org")
        );
        assert_eq!(store.peek_link(&token, 1000 + 7 * 86_400).unwrap(), None);
        let forged = domain::link::LinkToken::new("forged".into());
        assert_eq!(store.peek_link(&forged, 1000).unwrap(), None);
        assert_eq!(
            store.redeem_link(&token, "$argon2id$x", 1_001_000).unwrap(),
            Some(k("a@x.org"))
        );
        assert_eq!(
            store.password_hash(&k("a@x.org")).unwrap().as_deref(),
            Some("$argon2id$x")
        );
        assert_eq!(store.password_epoch(&k("a@x.org")).unwrap(), 1_001_000);
        assert_eq!(
            store.redeem_link(&token, "$argon2id$y", 1_001_000).unwrap(),
            None
        );
        let expired = store
            .create_link(&k("c@x.org"), 0, 1, &domain::By::parse("test"), OWNER)
            .unwrap();
        assert_eq!(
            store
                .redeem_link(&expired, "$argon2id$z", 86_400_000)
                .unwrap(),
            None
        );
        assert_eq!(
            store.password_hash(&k("c@x.org")).unwrap(),
            None,
            "nothing written"
        );
    }

    #[test]
    fn links_are_revoked_when_a_password_is_set_or_on_request() {
        let (_dir, store) = store();
        let first = store
            .create_link(&k("a@x.org"), 1000, 7, &domain::By::parse("test"), OWNER)
            .unwrap();
        let other = store
            .create_link(&k("c@x.org"), 1000, 7, &domain::By::parse("test"), OWNER)
            .unwrap();
        // A new link for a user voids the user's earlier one.
        let second = store
            .create_link(&k("a@x.org"), 1000, 7, &domain::By::parse("test"), OWNER)
            .unwrap();
        assert_eq!(store.peek_link(&first, 1000).unwrap(), None);
        assert!(store.peek_link(&other, 1000).unwrap().is_some());
        // Redeeming one link revokes the user's others.
        store
            .redeem_link(&second, "$argon2id$x", 1_000_000)
            .unwrap();
        assert_eq!(store.peek_link(&second, 1000).unwrap(), None);
        assert!(store.peek_link(&other, 1000).unwrap().is_some());
        // So does setting a password any other way.
        let third = store
            .create_link(&k("a@x.org"), 1000, 7, &domain::By::parse("test"), OWNER)
            .unwrap();
        store
            .set_password(
                &k("a@x.org"),
                "$argon2id$y",
                1_000_001,
                &domain::By::parse("test"),
            )
            .unwrap();
        assert_eq!(store.peek_link(&third, 1000).unwrap(), None);
        // And revoking by hand (a new first-start link).
        assert_eq!(store.revoke_links(&k("c@x.org")).unwrap(), 1);
        assert_eq!(store.peek_link(&other, 1000).unwrap(), None);
        assert_eq!(store.revoke_links(&k("c@x.org")).unwrap(), 0);
    }

    #[test]
    fn expired_links_are_purged() {
        let (_dir, store) = store();
        let old = store
            .create_link(&k("a@x.org"), 0, 1, &domain::By::parse("test"), OWNER)
            .unwrap();
        let fresh = store
            .create_link(&k("c@x.org"), 1000, 7, &domain::By::parse("test"), OWNER)
            .unwrap();
        assert_eq!(store.purge_expired_links(86_400).unwrap(), 1);
        assert_eq!(store.peek_link(&old, 0).unwrap(), None);
        assert!(store.peek_link(&fresh, 1000).unwrap().is_some());
        // The index forgot it too: revoking finds nothing for a@x.org.
        assert_eq!(store.revoke_links(&k("a@x.org")).unwrap(), 0);
        assert_eq!(store.revoke_links(&k("c@x.org")).unwrap(), 1);
    }

    #[test]
    fn links_follow_the_privilege_rule() {
        let (_dir, store) = store();
        // An operator enrols users without a password…
        assert!(
            store
                .create_link(
                    &k("a@x.org"),
                    1000,
                    7,
                    &domain::By::parse("test"),
                    operator()
                )
                .is_ok()
        );
        // …but never makes a link for an administrator…
        let err = store
            .create_link(
                &k("root@x.org"),
                1000,
                7,
                &domain::By::parse("test"),
                operator(),
            )
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(ref m) if m.contains("administrator")),
            "{err:?}"
        );
        // …nor resets a password.
        store
            .set_password(&k("c@x.org"), "$argon2id$x", 1, &domain::By::parse("test"))
            .unwrap();
        let err = store
            .create_link(
                &k("c@x.org"),
                1000,
                7,
                &domain::By::parse("test"),
                operator(),
            )
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(ref m) if m.contains("reset")),
            "{err:?}"
        );
        // An administrator may do both.
        assert!(
            store
                .create_link(
                    &k("root@x.org"),
                    1000,
                    7,
                    &domain::By::parse("test"),
                    admin()
                )
                .is_ok()
        );
        assert!(
            store
                .create_link(&k("c@x.org"), 1000, 7, &domain::By::parse("test"), admin())
                .is_ok()
        );
        assert!(matches!(
            store.create_link(
                &k("nobody@x.org"),
                1000,
                7,
                &domain::By::parse("test"),
                admin()
            ),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn links_for_many_users_in_one_go_say_why_one_is_missing() {
        let (_dir, store) = store();
        let keys = ["a@x.org", "nobody@x.org", "c@x.org", "root@x.org"].map(k);
        let tokens = store
            .create_links(&keys, 1000, 2, &domain::By::parse("test"), operator())
            .unwrap();
        assert_eq!(tokens.len(), 4);
        assert_eq!(tokens[1], Err(LinkRefused::NoSuchUser));
        assert!(matches!(tokens[3], Err(LinkRefused::NotAllowed(_))));
        let a = tokens[0].as_ref().unwrap();
        let c = tokens[2].as_ref().unwrap();
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
        let (_dir, store) = store();
        assert_eq!(store.password_hash(&k("a@x.org")).unwrap(), None);
        assert_eq!(store.password_epoch(&k("a@x.org")).unwrap(), 0);
        store
            .set_password(&k("a@x.org"), "$argon2id$x", 42, &domain::By::parse("test"))
            .unwrap();
        assert_eq!(
            store.password_hash(&k("a@x.org")).unwrap().as_deref(),
            Some("$argon2id$x")
        );
        assert_eq!(store.password_epoch(&k("a@x.org")).unwrap(), 42);
    }
}
