//! Server-side security helpers: password hashing and sign-in throttling.
//! Passwords: argon2id with the `argon2` crate's defaults, which are the
//! OWASP parameters (19 MiB, 2 iterations, 1 lane).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
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

/// Exponential delay after repeated sign-in failures, per account and per
/// client address: after 5 failures 1 s, then 2 s, 4 s … up to 15 minutes.
#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// `Err(wait)` when any of the keys must still wait.
    pub fn check(&self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| entries.get(*k))
            .map(|(_, until)| until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub fn fail(&self, keys: &[&str], now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            let e = entries.entry(k.to_string()).or_insert((0, now));
            e.0 += 1;
            if e.0 >= FREE_FAILURES {
                let exp = (e.0 - FREE_FAILURES).min(20);
                e.1 = now + Duration::from_secs(1u64 << exp).min(MAX_DELAY);
            }
        }
        // Keep memory bounded under a spray of addresses/accounts.
        if entries.len() > 100_000 {
            entries.retain(|_, (_, until)| *until > now);
        }
    }

    pub fn succeed(&self, keys: &[&str]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            entries.remove(*k);
        }
    }
}

pub static THROTTLE: LazyLock<Throttle> = LazyLock::new(Throttle::default);

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
        for _ in 0..4 {
            t.fail(&["acct:a", "ip:1"], t0);
        }
        assert_eq!(t.check(&["acct:a"], t0), Ok(()));
        t.fail(&["acct:a", "ip:1"], t0);
        assert_eq!(t.check(&["acct:a"], t0), Err(Duration::from_secs(1)));
        assert_eq!(
            t.check(&["acct:b", "ip:1"], t0),
            Err(Duration::from_secs(1)),
            "per address too"
        );
        assert_eq!(t.check(&["acct:a"], t0 + Duration::from_secs(1)), Ok(()));
        t.fail(&["acct:a"], t0);
        assert_eq!(t.check(&["acct:a"], t0), Err(Duration::from_secs(2)));
        for _ in 0..30 {
            t.fail(&["acct:a"], t0);
        }
        assert_eq!(t.check(&["acct:a"], t0), Err(MAX_DELAY));
        t.succeed(&["acct:a", "ip:1"]);
        assert_eq!(t.check(&["acct:a", "ip:1"], t0), Ok(()));
    }
}
