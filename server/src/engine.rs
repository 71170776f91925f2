//! Which storage engine a `roster` process runs on: the redb file in
//! `--data` (the default), or PostgreSQL when `--database` /
//! `ROSTER_DATABASE_URL` names one.

use crate::pg::PgStore;
use crate::sessions::SessionRows;
use crate::store::RedbStore;
use app::security::Throttles;
use domain::store::{AppStore, StoreError};
use std::path::Path;
use std::sync::Arc;

/// Everything a `roster` process needs from its store: the users, the
/// credentials, the sessions and the throttles' counters.
pub trait Engine: AppStore + SessionRows + ThrottleCounters {}
impl<T: AppStore + SessionRows + ThrottleCounters> Engine for T {}

/// Where an engine keeps the sign-in throttles' counters.
pub trait ThrottleCounters {
    fn throttles(&self) -> Throttles;
}

/// redb: one process holds the file, so counters in that process see
/// every attempt.
impl ThrottleCounters for RedbStore {
    fn throttles(&self) -> Throttles {
        Throttles::in_memory()
    }
}

/// Opens the store: PostgreSQL at `database` when given, else the redb
/// file in `data`.
pub fn open(database: Option<&str>, data: &Path) -> Result<Arc<dyn Engine>, StoreError> {
    match database.map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) => Ok(Arc::new(PgStore::open(url)?)),
        None => Ok(Arc::new(RedbStore::open(data)?)),
    }
}
