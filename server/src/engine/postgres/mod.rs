//! The PostgreSQL engine: the same store port as redb, for several app
//! servers on one database.
//!
//! Records are the same encoded values as on redb (one format byte, then
//! postcard, [`crate::engine::codec`]) in `bytea` columns, beside the
//! columns that queries need (keys, the active-administrator flag, a
//! batch's SHA-256, an event's user).
//!
//! Write transactions are serialised across every server with one
//! transaction-level advisory lock ([`WRITE_LOCK`]), taken first in each
//! (as redb has one writer): a use case's reads and its writes see no
//! other writer in between, so the version and fingerprint checks of the
//! domain are the row-level conflict detection, and two imports over the
//! same users cannot both commit (the second plans against the first's
//! result and answers "changed since preview"). Reads never wait.
//!
//! - [`migrations`]: the schema, as SQL applied in order at open;
//! - `reads`: the reads of the store port (`domain::store::Store`);
//! - `transaction`: one write transaction (`WriteTx`);
//! - `search`: the Users page's word search, and the words it reads;
//! - `copy`: COPY's text format, for new users in bulk;
//! - `rows`: records out of rows, for the reads and the transaction;
//! - `credentials`: passwords, one-time sign-in links, server secrets;
//! - `sessions`: sessions at rest (`SessionRows`);
//! - `throttle`: the sign-in throttles' counters, shared by every server;
//! - `tokens`: API tokens (`domain::store::Tokens`);
//! - `dump`: every record in one snapshot, for `roster copy`;
//! - [`tls`] and `pool`: the address's TLS options, the connection pool.

mod copy;
mod credentials;
mod dump;
mod external_ids;
pub mod migrations;
mod outbox;
mod pool;
mod reads;
mod rows;
mod search;
mod sessions;
mod throttle;
pub mod tls;
mod tokens;
mod transaction;

use domain::store::StoreError;
pub use pool::DEFAULT_POOL;
use pool::Pool;

/// The advisory lock every write transaction takes first.
pub const WRITE_LOCK: i64 = 0x726f_7374_6572; // "roster"

/// Roster's store on a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    /// The address without its password, for messages.
    shown: String,
}

impl PgStore {
    /// Connects (a pool of up to `ROSTER_DATABASE_POOL` connections, 8 by
    /// default), applies the migrations this database lacks and seeds the
    /// default options. TLS as the address's `sslmode` and `sslrootcert`
    /// say ([`tls`]).
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_with_pool(url, DEFAULT_POOL)
    }

    /// [`PgStore::open`] keeping up to `pool` connections.
    pub fn open_with_pool(url: &str, pool: u32) -> Result<PgStore, StoreError> {
        let shown = without_password(url);
        let (config, tls) = tls::parse(url).map_err(|e| {
            StoreError::Invalid(format!("the database address {shown} is not valid: {e}"))
        })?;
        PgStore::open_sized(config, tls, shown, pool)
    }

    /// [`PgStore::open`] with a parsed address, without TLS; `shown` names
    /// it in messages.
    pub fn open_config(config: postgres::Config, shown: String) -> Result<PgStore, StoreError> {
        let mut config = config;
        config.ssl_mode(postgres::config::SslMode::Disable);
        let tls = tls::without_tls().map_err(StoreError::Invalid)?;
        PgStore::open_tls(config, tls, shown)
    }

    /// [`PgStore::open`] with a parsed address and its TLS connector.
    pub fn open_tls(
        config: postgres::Config,
        tls: tls::Connector,
        shown: String,
    ) -> Result<PgStore, StoreError> {
        PgStore::open_sized(config, tls, shown, DEFAULT_POOL)
    }

    fn open_sized(
        config: postgres::Config,
        tls: tls::Connector,
        shown: String,
        connections: u32,
    ) -> Result<PgStore, StoreError> {
        let store = PgStore {
            pool: pool::new(config, tls, connections),
            shown,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database's address, without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn client(&self) -> Result<r2d2::PooledConnection<pool::Manager>, StoreError> {
        self.pool.get().map_err(|e| {
            StoreError::Unavailable(format!(
                "the database {} cannot be reached: {e}",
                self.shown
            ))
        })
    }

    /// Runs read-only work on one connection.
    fn read<T>(
        &self,
        work: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        work(&mut client).map_err(pg)
    }
}

/// A read-only transaction that sees one snapshot of the database
/// (repeatable read): reads that must agree with each other (events and
/// the records they are derived from; a whole copy) run in one.
pub(super) fn snapshot(
    client: &mut postgres::Client,
) -> Result<postgres::Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg)
}

/// A database error as the store reports it: a lost connection is
/// "unavailable", everything else a backend error.
fn pg(e: postgres::Error) -> StoreError {
    if e.is_closed() {
        StoreError::Unavailable(format!("the database connection failed: {e}"))
    } else {
        StoreError::Backend(e.to_string())
    }
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`;
/// `host=… password=secret` → `host=…`.
fn without_password(url: &str) -> String {
    if !url.contains("://") {
        return url
            .split_whitespace()
            .filter(|part| !part.starts_with("password="))
            .collect::<Vec<_>>()
            .join(" ");
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_left_out_of_the_address_shown() {
        assert_eq!(
            without_password("postgres://roster:s3cret@db.example.org:5432/roster"),
            "postgres://roster@db.example.org:5432/roster"
        );
        assert_eq!(
            without_password("postgres://db.example.org/roster"),
            "postgres://db.example.org/roster"
        );
        assert_eq!(
            without_password("host=/tmp password=s3cret user=roster"),
            "host=/tmp user=roster"
        );
    }
}
