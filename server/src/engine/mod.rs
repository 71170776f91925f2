//! The storage engines, and what an engine implements.
//!
//! An engine is the store port of the domain (`domain::store::Store`,
//! `Credentials`, `Tokens` and `ExternalIds`: its reads, and `transact`, which runs a use case in one
//! write transaction offering `domain::transaction::WriteTx`'s
//! primitives) plus what the server itself keeps in the store: sessions
//! ([`SessionRows`]), the sign-in throttles' counters
//! ([`ThrottleCounters`]) and a dump of every record ([`Dump`]). Together
//! they are an [`Engine`].
//!
//! - [`redb`]: one redb file in `--data` (the default);
//! - [`postgres`]: a PostgreSQL database (`--database`), shared by
//!   several app servers;
//! - [`codec`]: how both encode records, so they read the same on either;
//! - [`open()`]: which one a `roster` process runs on.
//!
//! Engines use the domain, this module's traits, the codec and their own
//! crates: nothing of the web server, the command line or the app.

pub mod codec;
mod open;
pub mod postgres;
pub mod redb;

pub use open::{open, open_target};

use domain::store::{AppStore, StoreError};
use domain::throttle::Throttles;
use domain::transaction::{Finish, Item};
use domain::usecase::{LoadCounts, Loader};

/// Everything a `roster` process needs from its store: the users, the
/// credentials, the sessions and the throttles' counters.
pub trait Engine: AppStore + SessionRows + ThrottleCounters + Dump {}
impl<T: AppStore + SessionRows + ThrottleCounters + Dump> Engine for T {}

/// What the session store needs from an engine. `id` is the SHA-256 of
/// the session id; `data` the session at rest (its JSON,
/// [`codec::session::AtRest`]); `user_key` and
/// `expires` (Unix seconds) are beside it so that an engine can end a
/// user's sessions and purge expired ones without decoding each.
pub trait SessionRows: Send + Sync {
    /// Stores a new session; `false` (nothing written) when the id is taken.
    fn insert_session(
        &self,
        id: &str,
        user_key: Option<&str>,
        expires: i64,
        data: &[u8],
    ) -> Result<bool, StoreError>;
    fn put_session(
        &self,
        id: &str,
        user_key: Option<&str>,
        expires: i64,
        data: &[u8],
    ) -> Result<(), StoreError>;
    fn session(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn delete_session(&self, id: &str) -> Result<(), StoreError>;
    /// Removes sessions that expired before `now`; returns how many.
    fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError>;
}

/// Where an engine keeps the sign-in throttles' counters.
pub trait ThrottleCounters {
    fn throttles(&self) -> Throttles;
}

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
