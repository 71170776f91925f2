//! The sign-in throttles' counters on PostgreSQL: in the `throttle`
//! table of the shared database, so that every server counts every
//! attempt, with the delays of `domain::throttle`.

use super::pool::Pool;
use super::{PgStore, WRITE_LOCK, pg};
use crate::engine::ThrottleCounters;
use domain::store::StoreError;
use domain::throttle::{Counters, FREE_FAILURES, Throttles, delay_after};
use postgres::Transaction;
use std::collections::HashMap;
use std::time::Duration;

/// The sign-in throttles' counters in the shared database, so that every
/// server counts every attempt. Keys are kept under the throttle's name.
struct PgCounters {
    pool: Pool,
    name: &'static str,
}

/// Counters untouched this long are forgotten (every delay is far shorter).
const FORGET_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

impl PgCounters {
    fn keys(&self, keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| format!("{}:{k}", self.name)).collect()
    }

    /// Runs `work` in a transaction that holds the throttle's lock.
    fn locked<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut client = self
            .pool
            .get()
            .map_err(|e| StoreError::Unavailable(format!("the database cannot be reached: {e}")))?;
        let mut t = client.transaction().map_err(pg)?;
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&(WRITE_LOCK + 2)])
            .map_err(pg)?;
        let answer = work(&mut t).map_err(pg)?;
        t.commit().map_err(pg)?;
        Ok(answer)
    }
}

impl Counters for PgCounters {
    fn begin_now(&self, keys: &[&str]) -> Result<Result<(), Duration>, StoreError> {
        let keys = self.keys(keys);
        let now = now_ms();
        self.locked(|t| {
            t.execute(
                "DELETE FROM throttle WHERE last_ms < $1",
                &[&(now - FORGET_AFTER_MS)],
            )?;
            let rows = t.query(
                "SELECT key, failures, until_ms FROM throttle WHERE key = ANY($1)",
                &[&keys],
            )?;
            let wait = rows
                .iter()
                .map(|r| r.get::<_, i64>(2) - now)
                .max()
                .unwrap_or(0);
            if wait > 0 {
                return Ok(Err(Duration::from_millis(wait as u64)));
            }
            let failures: HashMap<String, i32> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            for key in &keys {
                let n = failures.get(key).copied().unwrap_or(0) + 1;
                let until = delay_after(n as u32)
                    .map_or(now, |d| now + d.as_millis() as i64);
                t.execute(
                    "INSERT INTO throttle (key, failures, until_ms, last_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures, \
                     until_ms = EXCLUDED.until_ms, last_ms = EXCLUDED.last_ms",
                    &[key, &n, &until, &now],
                )?;
            }
            Ok(Ok(()))
        })
    }

    fn succeeded_now(&self, clear: &[&str], refund: &[&str]) -> Result<(), StoreError> {
        let (clear, refund) = (self.keys(clear), self.keys(refund));
        self.locked(|t| {
            t.execute("DELETE FROM throttle WHERE key = ANY($1)", &[&clear])?;
            // One attempt back; below the free failures no delay is left
            // (until = the last attempt, as in memory).
            t.execute(
                "UPDATE throttle SET failures = greatest(failures - 1, 0), \
                 until_ms = CASE WHEN failures - 1 < $2 THEN last_ms ELSE until_ms END \
                 WHERE key = ANY($1)",
                &[&refund, &(FREE_FAILURES as i32)],
            )?;
            Ok(())
        })
    }
}

impl ThrottleCounters for PgStore {
    fn throttles(&self) -> Throttles {
        let counters = |name| {
            std::sync::Arc::new(PgCounters {
                pool: self.pool.clone(),
                name,
            })
        };
        Throttles {
            sign_in: counters("sign-in"),
            links: counters("links"),
        }
    }
}

/// Now, in Unix milliseconds: the time the counters are kept in.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
