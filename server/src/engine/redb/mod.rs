//! The redb engine: Roster's store on one redb file in the data folder
//! ([`DB_FILE`]), which one process holds at a time.
//!
//! Only persistence: the reads, and one write transaction offering the
//! domain's primitives (`domain::transaction::WriteTx`). The use cases
//! that decide what an import, an undo or an edit writes live in
//! `domain::usecase` and run unchanged on every engine.
//!
//! - `schema`: the tables, the schema version, what opening a store
//!   creates and how an older store is brought up to date;
//! - `reads`: the reads of the store port (`domain::store::Store`);
//! - `transaction`: one write transaction (`WriteTx`);
//! - `credentials`: passwords, one-time sign-in links, server secrets;
//! - `sessions`: sessions at rest (`SessionRows`);
//! - `tokens`: API tokens (`domain::store::Tokens`);
//! - `user_index`: the users' indexes (the Users page's lists, filters and
//!   search);
//! - `dump`: every record, for `roster copy`.
//!
//! The sign-in throttles' counters are kept in this process: one process
//! holds the file, so they see every attempt.

mod credentials;
mod dump;
mod external_ids;
mod outbox;
mod reads;
pub(crate) mod schema;
pub(crate) mod sessions;
mod tokens;
mod transaction;
mod user_index;

use super::ThrottleCounters;
use domain::store::StoreError;
use domain::throttle::Throttles;
use redb::{Database, DatabaseError, ReadableDatabase};
use std::path::{Path, PathBuf};

/// The file name of the store inside the data folder.
pub const DB_FILE: &str = "roster.redb";

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Roster's store on one redb file.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    /// The sign-in throttles' counters: in this process, which is the only
    /// one on the file.
    throttles: Throttles,
}

impl RedbStore {
    /// Opens (creating if missing) the store in `data_dir`, creates the
    /// tables and seeds the default options. Fails with
    /// [`StoreError::Locked`] when another process holds the file.
    pub fn open(data_dir: &Path) -> Result<RedbStore, StoreError> {
        RedbStore::open_with_cache(data_dir, None)
    }

    /// [`RedbStore::open`] with a page cache of `cache_bytes` (redb's
    /// default, 1 GiB, when `None`): a transaction whose dirty pages
    /// outgrow the cache writes them out before its commit.
    pub fn open_with_cache(
        data_dir: &Path,
        cache_bytes: Option<usize>,
    ) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create data folder {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DB_FILE);
        let mut builder = Database::builder();
        if let Some(bytes) = cache_bytes {
            builder.set_cache_size(bytes);
        }
        let db = builder.create(&path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(format!(
                "the store {} is in use by another roster process (is `roster serve` running on this \
                 data folder?); stop it or use another --data folder",
                path.display()
            )),
            other => StoreError::Backend(format!("cannot open {}: {other}", path.display())),
        })?;
        let store = RedbStore {
            db,
            path,
            throttles: Throttles::in_process(),
        };
        store.init()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// This store's sign-in throttles.
    pub fn throttles(&self) -> Throttles {
        self.throttles.clone()
    }

    /// Whether the user indexes agree with the users (see
    /// `user_index::consistent`).
    pub fn check_indexes(&self) -> Result<Result<(), String>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        user_index::consistent(&txn)
    }
}

/// redb: one process holds the file, so counters in that process see
/// every attempt.
impl ThrottleCounters for RedbStore {
    fn throttles(&self) -> Throttles {
        RedbStore::throttles(self)
    }
}
