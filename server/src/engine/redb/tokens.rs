//! API tokens on the redb engine: one table, `api_tokens`, by the token's
//! public id; the record holds the SHA-256 of the secret, never the
//! secret (see `domain::token`).

use super::schema::API_TOKENS;
use super::{RedbStore, backend};
use crate::engine::codec::{decode, encode};
use domain::store::{StoreError, Tokens};
use domain::token::ApiToken;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

/// The token with this id, inside the caller's transaction.
pub(super) fn token_in(txn: &WriteTransaction, id: &str) -> Result<Option<ApiToken>, StoreError> {
    txn.open_table(API_TOKENS)
        .map_err(backend)?
        .get(id)
        .map_err(backend)?
        .map(|g| decode(g.value()))
        .transpose()
}

/// Stores a token under its id, inside the caller's transaction.
pub(super) fn put_token_in(txn: &WriteTransaction, token: &ApiToken) -> Result<(), StoreError> {
    txn.open_table(API_TOKENS)
        .map_err(backend)?
        .insert(token.id.as_str(), encode(token)?.as_slice())
        .map_err(backend)?;
    Ok(())
}

impl Tokens for RedbStore {
    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        self.read_one(API_TOKENS, id)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let txn = self.db().begin_read().map_err(backend)?;
        let table = txn.open_table(API_TOKENS).map_err(backend)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(backend)? {
            out.push(decode(entry.map_err(backend)?.1.value())?);
        }
        Ok(out)
    }
}
