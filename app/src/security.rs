//! Server-side security helpers: password hashing and sign-in throttling.
//! Passwords: argon2id with the `argon2` crate's defaults, which are the
//! OWASP parameters (19 MiB, 2 iterations, 1 lane). The throttle's rule
//! and counters are `domain::throttle`'s; here they are run off the async
//! executor and found in the request's context.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use domain::store::StoreError;
use domain::throttle::{Counters, Throttles};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

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

/// This request's throttles (in this process's memory, one set per
/// process, when the server provided none).
pub fn throttles() -> Throttles {
    static IN_MEMORY: LazyLock<Throttles> = LazyLock::new(Throttles::in_process);
    leptos::prelude::use_context::<Throttles>().unwrap_or_else(|| IN_MEMORY.clone())
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
