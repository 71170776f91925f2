//! The PostgreSQL engine's connection pool (r2d2 over rust-postgres):
//! its size and timeouts, and a connection manager whose errors give
//! their causes.

use super::tls::{Connector, with_causes};
use r2d2_postgres::PostgresConnectionManager;
use std::time::Duration;

/// The engine's connections.
pub(super) type Pool = r2d2::Pool<Manager>;

/// Connections a server keeps at most unless told otherwise
/// (`--database-pool`).
pub const DEFAULT_POOL: u32 = 8;

/// A pool of up to `size` connections (at least one), each waited for at
/// most 5 seconds.
pub(super) fn new(config: postgres::Config, tls: Connector, size: u32) -> Pool {
    r2d2::Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(Manager::new(config, tls))
}

/// The pool's connection manager: rust-postgres's, with errors that give
/// their causes ("error performing TLS handshake: invalid peer
/// certificate: …", where rust-postgres's own message stops before the
/// colon).
pub struct Manager(PostgresConnectionManager<Connector>);

impl Manager {
    pub fn new(config: postgres::Config, tls: Connector) -> Manager {
        Manager(PostgresConnectionManager::new(config, tls))
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = postgres::Client;
    type Error = ConnectError;

    fn connect(&self) -> Result<postgres::Client, ConnectError> {
        self.0.connect().map_err(|e| ConnectError(with_causes(&e)))
    }

    fn is_valid(&self, client: &mut postgres::Client) -> Result<(), ConnectError> {
        self.0
            .is_valid(client)
            .map_err(|e| ConnectError(with_causes(&e)))
    }

    fn has_broken(&self, client: &mut postgres::Client) -> bool {
        self.0.has_broken(client)
    }
}

/// A connection that failed, and why.
#[derive(Debug)]
pub struct ConnectError(String);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectError {}
