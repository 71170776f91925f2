//! Which storage engine a `roster` process runs on: the redb file in
//! `--data` (the default), or PostgreSQL when `--database` /
//! `ROSTER_DATABASE_URL` names one.

use super::Engine;
use super::postgres::PgStore;
use super::redb::RedbStore;
use domain::store::StoreError;
use std::path::Path;
use std::sync::Arc;

/// `roster copy --to`'s target: a PostgreSQL address (`postgres://…`,
/// `postgresql://…` or `key=value …`), else a data folder.
pub fn open_target(to: &str) -> Result<Arc<dyn Engine>, StoreError> {
    let to = to.trim();
    if to.starts_with("postgres://") || to.starts_with("postgresql://") || to.contains('=') {
        open(Some(to), Path::new(""), super::postgres::DEFAULT_POOL)
    } else {
        open(None, Path::new(to), super::postgres::DEFAULT_POOL)
    }
}

/// Opens the store: PostgreSQL at `database` when given (with up to
/// `pool` connections), else the redb file in `data`.
pub fn open(database: Option<&str>, data: &Path, pool: u32) -> Result<Arc<dyn Engine>, StoreError> {
    match database.map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) => Ok(Arc::new(PgStore::open_with_pool(url, pool)?)),
        None => Ok(Arc::new(RedbStore::open(data)?)),
    }
}
