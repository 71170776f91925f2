//! Which storage engine a `roster` process runs on: the redb file in
//! `--data` (the default), or PostgreSQL when `--database` /
//! `ROSTER_DATABASE_URL` names one.

use crate::pg::PgStore;
use crate::sessions::SessionRows;
use crate::store::RedbStore;
use app::security::Throttles;
use domain::store::{AppStore, StoreError};
use domain::transaction::{Finish, Item};
use domain::usecase::{LoadCounts, Loader};
use std::path::Path;
use std::sync::Arc;

/// Everything a `roster` process needs from its store: the users, the
/// credentials, the sessions and the throttles' counters.
pub trait Engine: AppStore + SessionRows + ThrottleCounters + Dump {}
impl<T: AppStore + SessionRows + ThrottleCounters + Dump> Engine for T {}

/// Reads every record of a store but sessions (`roster copy`).
pub trait Dump {
    fn dump(&self, out: &mut dyn FnMut(Item) -> Result<(), StoreError>) -> Result<(), StoreError>;
}

/// Copies every record of `source` but sessions into `target`, which must
/// be empty, in one transaction of `target`: all of it or nothing.
pub fn copy(source: &dyn Engine, target: &dyn Engine) -> Result<LoadCounts, StoreError> {
    domain::store::run(target, |tx| {
        let mut loader = Loader::new(tx)?;
        source.dump(&mut |item| loader.put(item))?;
        Ok((Finish::Commit, loader.finish()?))
    })
}

/// `roster copy --to`'s target: a PostgreSQL address (`postgres://…`,
/// `postgresql://…` or `key=value …`), else a data folder.
pub fn open_target(to: &str) -> Result<Arc<dyn Engine>, StoreError> {
    let to = to.trim();
    if to.starts_with("postgres://") || to.starts_with("postgresql://") || to.contains('=') {
        open(Some(to), Path::new(""))
    } else {
        open(None, Path::new(to))
    }
}

/// Where an engine keeps the sign-in throttles' counters.
pub trait ThrottleCounters {
    fn throttles(&self) -> Throttles;
}

/// redb: one process holds the file, so counters in that process see
/// every attempt.
impl ThrottleCounters for RedbStore {
    fn throttles(&self) -> Throttles {
        RedbStore::throttles(self)
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
