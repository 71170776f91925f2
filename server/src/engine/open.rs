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
        None => {
            let cache = redb_cache(std::env::var("ROSTER_REDB_CACHE_MB").ok().as_deref())?;
            Ok(Arc::new(RedbStore::open_with_cache(data, cache)?))
        }
    }
}

/// redb's page cache from `ROSTER_REDB_CACHE_MB` (megabytes; redb's
/// default of 1 GiB when unset). A transaction whose dirty pages outgrow
/// the cache writes them out before its commit, slower and pausing
/// readers: an import of a million users writes ~1.4 GB.
fn redb_cache(mb: Option<&str>) -> Result<Option<usize>, StoreError> {
    let Some(mb) = mb.map(str::trim).filter(|mb| !mb.is_empty()) else {
        return Ok(None);
    };
    match mb.parse::<usize>() {
        Ok(mb) if (1..=1 << 20).contains(&mb) => Ok(Some(mb << 20)),
        _ => Err(StoreError::Invalid(format!(
            "ROSTER_REDB_CACHE_MB must be a number of megabytes (1 to 1048576), not {mb:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::redb_cache;

    #[test]
    fn the_redb_cache_is_given_in_megabytes() {
        assert_eq!(redb_cache(None).unwrap(), None);
        assert_eq!(redb_cache(Some(" ")).unwrap(), None);
        assert_eq!(redb_cache(Some("4096")).unwrap(), Some(4 << 30));
        for bad in ["0", "-1", "4 GB", "99999999"] {
            assert!(redb_cache(Some(bad)).is_err(), "{bad}");
        }
    }
}
