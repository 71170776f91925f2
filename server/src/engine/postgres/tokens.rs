//! API tokens on PostgreSQL: the table `api_tokens` (migration 5), keyed
//! by the token's public id; the record holds the SHA-256 of the secret,
//! never the secret (see `domain::token`).

use super::{PgStore, pg};
use crate::engine::codec::{decode, encode};
use domain::store::{StoreError, Tokens};
use domain::token::ApiToken;

/// The token with this id, as `c` sees it (the pool's connection for a
/// read, the transaction for a use case).
pub(super) fn token_in(
    c: &mut impl postgres::GenericClient,
    id: &str,
) -> Result<Option<ApiToken>, StoreError> {
    c.query_opt("SELECT record FROM api_tokens WHERE id = $1", &[&id])
        .map_err(pg)?
        .map(|r| decode(r.get::<_, &[u8]>(0)))
        .transpose()
}

/// Stores a token under its id, replacing one with that id.
pub(super) fn put_token_in(
    c: &mut impl postgres::GenericClient,
    token: &ApiToken,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO api_tokens (id, record) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
        &[&token.id, &encode(token)?],
    )
    .map_err(pg)?;
    Ok(())
}

impl Tokens for PgStore {
    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        token_in(&mut *self.client()?, id)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        Self::decode_rows(self.read(|c| c.query("SELECT record FROM api_tokens ORDER BY id", &[]))?)
    }
}
