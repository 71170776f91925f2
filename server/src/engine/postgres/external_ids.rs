//! SCIM `externalId`s on PostgreSQL: the table `scim_external_ids`
//! (migration 6), one row a user, indexed by externalId for the filter
//! `externalId eq "…"`.

use super::{PgStore, pg};
use domain::store::{ExternalIds, StoreError};
use domain::{User, UserKey};
use std::collections::HashMap;

/// A user's externalId, as `c` sees it.
pub(super) fn external_id_in(
    c: &mut impl postgres::GenericClient,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(c.query_opt(
        "SELECT external_id FROM scim_external_ids WHERE user_key = $1",
        &[&key],
    )
    .map_err(pg)?
    .map(|r| r.get(0)))
}

/// Sets or clears a user's externalId.
pub(super) fn set_external_id_in(
    c: &mut impl postgres::GenericClient,
    key: &str,
    external_id: Option<&str>,
) -> Result<(), StoreError> {
    match external_id {
        Some(id) => c.execute(
            "INSERT INTO scim_external_ids (user_key, external_id) VALUES ($1, $2) \
             ON CONFLICT (user_key) DO UPDATE SET external_id = EXCLUDED.external_id",
            &[&key, &id],
        ),
        None => c.execute("DELETE FROM scim_external_ids WHERE user_key = $1", &[&key]),
    }
    .map_err(pg)?;
    Ok(())
}

impl ExternalIds for PgStore {
    fn external_id(&self, key: &UserKey) -> Result<Option<String>, StoreError> {
        external_id_in(&mut *self.client()?, key.as_str())
    }

    fn all_external_ids(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows =
            self.read(|c| c.query("SELECT user_key, external_id FROM scim_external_ids", &[]))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn users_with_external_id(
        &self,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Self::decode_rows(self.read(|c| {
            c.query(
                "SELECT u.record FROM scim_external_ids e JOIN users u ON u.key = e.user_key \
                 WHERE e.external_id = $1 ORDER BY u.key LIMIT $2",
                &[&external_id, &limit],
            )
        })?)
    }
}
