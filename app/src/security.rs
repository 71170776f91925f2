//! Server-side security helpers: password hashing and sign-in throttling.
//! Passwords: argon2id with the `argon2` crate's defaults, which are the
//! OWASP parameters (19 MiB, 2 iterations, 1 lane).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use domain::store::StoreError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Checks the password policy and hashes the password.
pub fn hash_password(password: &str) -> Result<String, String> {
    domain::password::check(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that the
/// answer takes as long as for an existing account.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no such account, no such password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

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

/// [`Counters::begin_now`] off the async executor: the counters may be in
/// a database, whose client blocks.
pub async fn throttle_begin(
    counters: Arc<dyn Counters>,
    keys: Vec<String>,
) -> Result<Result<(), Duration>, StoreError> {
    tokio::task::spawn_blocking(move || {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        counters.begin_now(&keys)
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))?
}

/// [`Counters::succeeded_now`] off the async executor.
pub async fn throttle_succeeded(
    counters: Arc<dyn Counters>,
    clear: Vec<String>,
    refund: Vec<String>,
) -> Result<(), StoreError> {
    tokio::task::spawn_blocking(move || {
        let clear: Vec<&str> = clear.iter().map(String::as_str).collect();
        let refund: Vec<&str> = refund.iter().map(String::as_str).collect();
        counters.succeeded_now(&clear, &refund)
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))?
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

    /// Counters in this process (one set per process).
    pub fn in_memory() -> Throttles {
        static IN_MEMORY: LazyLock<Throttles> = LazyLock::new(|| Throttles {
            sign_in: Arc::new(Throttle::default()),
            links: Arc::new(Throttle::default()),
        });
        IN_MEMORY.clone()
    }
}

/// This request's throttles (in memory when the server provided none).
pub fn throttles() -> Throttles {
    leptos::prelude::use_context::<Throttles>().unwrap_or_else(Throttles::in_memory)
}

/// The throttle key of a client address: IPv4 as it is, IPv6 by its /64
/// (one subscriber usually holds a whole /64).
pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip {
        None => "address:unknown".into(),
        Some(IpAddr::V4(v4)) => format!("address:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// At most this many argon2 computations run at once (each takes 19 MiB
/// and a core for tens of milliseconds): one per core.
static ARGON2_PERMITS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::sync::Semaphore::new(cores)
});

/// Runs argon2 work off the async executor, waiting for a permit first.
async fn with_argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = ARGON2_PERMITS.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// [`hash_password`], bounded by the argon2 permits.
pub async fn hash_password_bounded(password: String) -> Result<String, String> {
    with_argon2(move || hash_password(&password))
        .await
        .unwrap_or_else(|| Err("the server is shutting down".into()))
}

/// [`verify_password`] (against [`DUMMY_HASH`] when there is no hash),
/// bounded by the argon2 permits.
pub async fn verify_password_bounded(phc: Option<String>, password: String) -> bool {
    with_argon2(move || match phc {
        Some(h) => verify_password(&h, &password),
        None => {
            let _ = verify_password(&DUMMY_HASH, &password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert!(hash_password("password").is_err());
        assert!(hash_password("short").is_err());
        assert!(!verify_password(&DUMMY_HASH, ""));
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

    #[test]
    fn addresses_bucket_ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(Some(a)), address_key(Some(b)));
        assert_ne!(address_key(Some(a)), address_key(Some(c)));
        assert_eq!(
            address_key(Some("::ffff:10.0.0.1".parse().unwrap())),
            "address:10.0.0.1"
        );
        assert_eq!(
            address_key(Some("10.0.0.1".parse().unwrap())),
            "address:10.0.0.1"
        );
    }
}
