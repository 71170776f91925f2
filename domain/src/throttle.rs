//! Sign-in throttling: how many failures a key (an account, a device, a
//! client address) may have before it waits, and for how long; the
//! counters as a throttle needs them ([`Counters`]), wherever they are
//! kept.
//!
//! Here, below the app and the engines, because both need it: the app's
//! sign-in counts attempts through [`Counters`], and each engine says
//! where its counters are ([`Throttles`]): in this process on redb
//! ([`Throttle`], the one part of the domain that keeps state and reads
//! the clock), in a table on PostgreSQL, with the same delays
//! ([`delay_after`]).

use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Keys the throttle remembers at most; beyond that the least recently
/// used quarter is forgotten, so a spray of addresses or names cannot grow
/// memory without bound.
pub const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    until: Instant,
    last: Instant,
}

/// Exponential delay after repeated failures (sign-in per account, or per
/// device with a device cookie, and per client address; sign-in links per
/// client address): after 5 failures 1 s, then 2 s, 4 s … up to 15
/// minutes.
///
/// An attempt is counted as a failure *before* the slow check runs
/// ([`Throttle::begin`]) and given back when it succeeds: so parallel
/// guesses cannot all slip through while the first ones are still being
/// verified.
#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when any of the keys must still wait; otherwise the
    /// attempt is counted as a failure on every key until
    /// [`Throttle::succeeded`] gives it back.
    pub fn begin(&self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        let mut entries = self.lock();
        let wait = keys
            .iter()
            .filter_map(|k| entries.get(*k))
            .map(|e| e.until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(wait);
        }
        if entries.len() + keys.len() > MAX_KEYS {
            forget_least_recent(&mut entries);
        }
        for k in keys {
            let e = entries.entry(k.to_string()).or_insert(Entry {
                failures: 0,
                until: now,
                last: now,
            });
            e.failures += 1;
            e.last = now;
            if let Some(delay) = delay_after(e.failures) {
                e.until = now + delay;
            }
        }
        Ok(())
    }

    /// The attempt begun on these keys succeeded: `clear` keys are
    /// forgotten (the account), `refund` keys get the attempt back (the
    /// client address: one success does not wipe an address's other
    /// failures, or any account would reset its own address).
    pub fn succeeded(&self, clear: &[&str], refund: &[&str]) {
        let mut entries = self.lock();
        for k in clear {
            entries.remove(*k);
        }
        for k in refund {
            if let Some(e) = entries.get_mut(*k) {
                e.failures = e.failures.saturating_sub(1);
                if e.failures < FREE_FAILURES {
                    e.until = e.last;
                }
            }
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn forget_least_recent(entries: &mut HashMap<String, Entry>) {
    let mut last: Vec<Instant> = entries.values().map(|e| e.last).collect();
    let cut = last.len() / 4;
    if cut == 0 {
        return;
    }
    let (_, threshold, _) = last.select_nth_unstable(cut);
    let threshold = *threshold;
    entries.retain(|_, e| e.last > threshold);
}

/// How long a key waits after its `failures`-th failure, if at all: from
/// the [`FREE_FAILURES`]th on, 1 s, 2 s, 4 s … up to 15 minutes.
pub fn delay_after(failures: u32) -> Option<Duration> {
    (failures >= FREE_FAILURES)
        .then(|| Duration::from_secs(1u64 << (failures - FREE_FAILURES).min(20)).min(MAX_DELAY))
}

/// Failure counters as a throttle needs them, wherever they are kept: in
/// this process ([`Throttle`]; enough on redb, where one process holds the
/// store) or in the database that several servers share.
pub trait Counters: Send + Sync {
    /// [`Throttle::begin`] at the present moment.
    fn begin_now(&self, keys: &[&str]) -> Result<Result<(), Duration>, StoreError>;
    /// [`Throttle::succeeded`].
    fn succeeded_now(&self, clear: &[&str], refund: &[&str]) -> Result<(), StoreError>;
}

impl Counters for Throttle {
    fn begin_now(&self, keys: &[&str]) -> Result<Result<(), Duration>, StoreError> {
        Ok(self.begin(keys, Instant::now()))
    }

    fn succeeded_now(&self, clear: &[&str], refund: &[&str]) -> Result<(), StoreError> {
        self.succeeded(clear, refund);
        Ok(())
    }
}

/// The server's throttles: sign-in (per account or device, and per client
/// address) and sign-in links (per client address). Provided to every
/// request.
#[derive(Clone)]
pub struct Throttles {
    pub sign_in: Arc<dyn Counters>,
    pub links: Arc<dyn Counters>,
}

impl Throttles {
    /// A new set of counters in this process (a store that only this
    /// process opens keeps one).
    pub fn in_process() -> Throttles {
        Throttles {
            sign_in: Arc::new(Throttle::default()),
            links: Arc::new(Throttle::default()),
        }
    }
}

/// A request rate (an API token's): `per_second` requests a second on
/// average, up to twice that at once, as a token bucket. Pure: the caller
/// keeps the buckets and passes the time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: u32,
}

/// One client's bucket: the requests it may still make at once, as of
/// `at_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    left: f64,
    at_ms: i64,
}

impl Rate {
    fn burst(self) -> f64 {
        f64::from(self.per_second) * 2.0
    }

    /// A full bucket, as a client's first request finds it.
    pub fn full(self, now_ms: i64) -> Bucket {
        Bucket {
            left: self.burst(),
            at_ms: now_ms,
        }
    }

    /// Takes one request from `bucket` at `now_ms`: `Ok` when it may go,
    /// else how long (ms) until one may. A clock that went back refills
    /// nothing.
    pub fn take(self, bucket: &mut Bucket, now_ms: i64) -> Result<(), i64> {
        let elapsed = (now_ms - bucket.at_ms).max(0) as f64;
        let rate_per_ms = f64::from(self.per_second) / 1000.0;
        bucket.left = (bucket.left + elapsed * rate_per_ms).min(self.burst());
        bucket.at_ms = bucket.at_ms.max(now_ms);
        if bucket.left >= 1.0 {
            bucket.left -= 1.0;
            Ok(())
        } else if rate_per_ms <= 0.0 {
            Err(i64::MAX)
        } else {
            Err(((1.0 - bucket.left) / rate_per_ms).ceil() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_lets_a_burst_through_then_one_request_per_interval() {
        let rate = Rate { per_second: 10 };
        let mut bucket = rate.full(0);
        for _ in 0..20 {
            assert_eq!(rate.take(&mut bucket, 0), Ok(()));
        }
        assert_eq!(rate.take(&mut bucket, 0), Err(100));
        assert_eq!(rate.take(&mut bucket, 50), Err(50));
        assert_eq!(rate.take(&mut bucket, 100), Ok(()));
        // A clock that goes back refills nothing and breaks nothing.
        assert!(rate.take(&mut bucket, -5_000).is_err());
        // Long idle: full again, never fuller.
        let later = 1_000_000;
        for _ in 0..20 {
            assert_eq!(rate.take(&mut bucket, later), Ok(()));
        }
        assert!(rate.take(&mut bucket, later).is_err());
        let stopped = Rate { per_second: 0 };
        assert_eq!(stopped.take(&mut stopped.full(0), 0), Err(i64::MAX));
    }

    #[test]
    fn throttle_delays_exponentially_after_five_failures() {
        let t = Throttle::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.begin(&["acct:a", "ip:1"], t0), Ok(()));
        }
        assert_eq!(t.begin(&["acct:a"], t0), Err(Duration::from_secs(1)));
        assert_eq!(
            t.begin(&["acct:b", "ip:1"], t0),
            Err(Duration::from_secs(1)),
            "per address too"
        );
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(t.begin(&["acct:a"], t1), Ok(()));
        assert_eq!(t.begin(&["acct:a"], t1), Err(Duration::from_secs(2)));
        for i in 0..30 {
            let later = t1 + MAX_DELAY * (i + 1);
            let _ = t.begin(&["acct:a"], later);
        }
        let much_later = t1 + MAX_DELAY * 40;
        assert_eq!(t.begin(&["acct:a"], much_later), Ok(()));
        assert_eq!(t.begin(&["acct:a"], much_later), Err(MAX_DELAY));
    }

    #[test]
    fn a_success_clears_the_account_and_gives_back_only_its_own_attempt() {
        let t = Throttle::default();
        let t0 = Instant::now();
        // Four failures from one address on other accounts, then a
        // success on the attacker's own account.
        for i in 0..4 {
            let acct = format!("acct:{i}");
            t.begin(&[&acct, "ip:1"], t0).unwrap();
        }
        t.begin(&["acct:mine", "ip:1"], t0).unwrap();
        t.succeeded(&["acct:mine"], &["ip:1"]);
        // The address still carries its four failures: one more makes five.
        t.begin(&["acct:x", "ip:1"], t0).unwrap();
        assert_eq!(
            t.begin(&["acct:y", "ip:1"], t0),
            Err(Duration::from_secs(1))
        );
        // The account's own record is gone.
        assert!(t.lock().get("acct:mine").is_none());
    }

    #[test]
    fn parallel_attempts_cannot_pass_the_limit() {
        let t = std::sync::Arc::new(Throttle::default());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
        let now = Instant::now();
        let passed: usize = (0..20)
            .map(|_| {
                let (t, b) = (t.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    t.begin(&["acct:a", "ip:1"], now).is_ok()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap() as usize)
            .sum();
        assert_eq!(passed, FREE_FAILURES as usize);
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            let key = format!("acct:{i}");
            t.begin(&[&key], t0 + Duration::from_micros(i as u64))
                .unwrap();
        }
        assert!(t.len() <= MAX_KEYS, "{}", t.len());
        // The newest are kept.
        assert!(t.lock().contains_key(&format!("acct:{}", MAX_KEYS + 9)));
    }
}
