//! Device cookies (OWASP's defence against lock-out by failed sign-ins):
//! after a successful sign-in the browser gets a signed cookie saying
//! "this browser signed in to this account before". A sign-in that shows a
//! valid one for the account it names is not held back by the account's
//! failure counter, which anyone can fill by guessing, but by a counter of
//! its own device (and still by the client address). Without one, sign-in
//! is throttled as before.
//!
//! The value is `v1.<account tag>.<issued>.<nonce>.<signature>`: the tag is
//! a keyed hash of the account key (the cookie does not show the address),
//! `issued` the Unix second it was made, the nonce 16 random bytes naming
//! the device, and the signature an HMAC-SHA256 over everything before it.
//! Both hashes are keyed with a server secret kept in the store
//! ([`domain::store::Credentials::secret`]), so every server on one
//! database accepts the cookies of every other, across restarts.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::http::HeaderMap;
use domain::UserKey;
use hmac::{KeyInit, Mac};
use tower_sessions::cookie::{Cookie, SameSite};

type HmacSha256 = hmac::Hmac<hmac_sha2::Sha256>;

/// The name of the store's secret that keys device cookies.
pub const SECRET_NAME: &str = "device-cookie";
/// How long a device cookie is valid (and kept by the browser): 180 days.
pub const LIFETIME_S: i64 = 180 * 24 * 60 * 60;
/// A cookie issued up to this far in the future is still accepted (clocks
/// of several servers differ a little).
const CLOCK_SKEW_S: i64 = 5 * 60;
/// At most this many cookies of our name are looked at in one request.
const MAX_CANDIDATES: usize = 4;
const VERSION: &str = "v1";

/// Whether cookies are sent over HTTPS only (`ROSTER_SECURE_COOKIES=1`):
/// then the device cookie is `__Host-roster_device` with `Secure`, as the
/// session cookie is `__Host-roster`. Provided by the server.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecureCookies(pub bool);

/// The device cookie's name.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-roster_device"
    } else {
        "roster_device"
    }
}

/// A browser that signed in to the account before, as its valid cookie
/// names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    nonce: String,
}

impl Device {
    /// The key of this device's failure counter.
    pub fn throttle_key(&self) -> String {
        format!("device:{}", self.nonce)
    }
}

fn mac(secret: &[u8; 32], purpose: &[u8], data: &[u8]) -> HmacSha256 {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(purpose);
    mac.update(data);
    mac
}

/// The account's tag: 16 bytes of a keyed hash of its key, in hex.
fn account_tag(secret: &[u8; 32], key: &UserKey) -> String {
    let digest = mac(secret, b"roster device account\0", key.as_str().as_bytes()).finalize();
    hex::encode(&digest.into_bytes()[..16])
}

/// A device cookie's value for `key`, issued at `issued_s` for the device
/// `nonce`.
pub fn value_with(secret: &[u8; 32], key: &UserKey, issued_s: i64, nonce: [u8; 16]) -> String {
    let signed = format!(
        "{VERSION}.{}.{issued_s}.{}",
        account_tag(secret, key),
        hex::encode(nonce)
    );
    let signature = mac(secret, b"roster device cookie\0", signed.as_bytes()).finalize();
    format!("{signed}.{}", hex::encode(signature.into_bytes()))
}

/// A new device cookie's value for `key` (a new device nonce).
pub fn new_value(secret: &[u8; 32], key: &UserKey, now_s: i64) -> String {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    value_with(secret, key, now_s, nonce)
}

/// The device named by `value` when it is a cookie this server's secret
/// signed for `key`, issued within [`LIFETIME_S`] before `now_s`; `None`
/// for anything else (another account's cookie, a tampered or forged one,
/// an expired one, garbage).
pub fn verify(secret: &[u8; 32], key: &UserKey, value: &str, now_s: i64) -> Option<Device> {
    let (signed, signature) = value.rsplit_once('.')?;
    let mut parts = signed.split('.');
    let (version, tag, issued, nonce) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || version != VERSION {
        return None;
    }
    let signature = hex::decode(signature).ok()?;
    mac(secret, b"roster device cookie\0", signed.as_bytes())
        .verify_slice(&signature)
        .ok()?;
    // Signed by us: what it says was written by us, so plain comparisons
    // reveal nothing an attacker could use.
    let issued: i64 = issued.parse().ok()?;
    let fresh =
        issued <= now_s.saturating_add(CLOCK_SKEW_S) && now_s.saturating_sub(issued) < LIFETIME_S;
    (fresh && tag == account_tag(secret, key) && nonce.len() == 32).then(|| Device {
        nonce: nonce.to_string(),
    })
}

/// The values of the device cookies a request carries (at most a few).
pub fn values_in(headers: &HeaderMap, secure: bool) -> Vec<String> {
    let name = cookie_name(secure);
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_string())
        .take(MAX_CANDIDATES)
        .collect()
}

/// The `Set-Cookie` header value that hands `value` to the browser:
/// HttpOnly, SameSite=Strict, path `/`, kept [`LIFETIME_S`]; `Secure` (and
/// the `__Host-` name) when `secure`.
pub fn set_cookie(value: String, secure: bool) -> String {
    Cookie::build((cookie_name(secure), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(tower_sessions::cookie::time::Duration::seconds(LIFETIME_S))
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(email: &str) -> UserKey {
        domain::Email::parse(email).unwrap().key().clone()
    }

    const SECRET: [u8; 32] = [7; 32];
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_cookie_is_valid_for_its_account_only() {
        let value = new_value(&SECRET, &k("admin@localhost"), NOW);
        let device = verify(&SECRET, &k("Admin@localhost"), &value, NOW + 60).unwrap();
        assert!(device.throttle_key().starts_with("device:"));
        assert!(
            !value.contains("admin"),
            "the address is not shown: {value}"
        );
        assert_eq!(verify(&SECRET, &k("bob@localhost"), &value, NOW), None);
        assert_eq!(verify(&[8; 32], &k("admin@localhost"), &value, NOW), None);
        // Two cookies name two devices.
        let other = new_value(&SECRET, &k("admin@localhost"), NOW);
        assert_ne!(
            verify(&SECRET, &k("admin@localhost"), &other, NOW),
            Some(device)
        );
    }

    #[test]
    fn a_changed_character_anywhere_invalidates_the_cookie() {
        let key = k("admin@localhost");
        let value = value_with(&SECRET, &key, NOW, [1; 16]);
        assert!(verify(&SECRET, &key, &value, NOW).is_some());
        for i in 0..value.len() {
            let mut bytes = value.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(verify(&SECRET, &key, &tampered, NOW), None, "{tampered}");
        }
        // Re-signed with a later date by someone without the secret: no.
        let (signed, signature) = value.rsplit_once('.').unwrap();
        let later = signed.replace(&format!(".{NOW}."), &format!(".{}.", NOW + LIFETIME_S));
        assert_eq!(
            verify(&SECRET, &key, &format!("{later}.{signature}"), NOW),
            None
        );
    }

    #[test]
    fn a_cookie_expires_after_its_lifetime_and_is_not_dated_ahead() {
        let key = k("admin@localhost");
        let value = new_value(&SECRET, &key, NOW);
        assert!(verify(&SECRET, &key, &value, NOW + LIFETIME_S - 1).is_some());
        assert_eq!(verify(&SECRET, &key, &value, NOW + LIFETIME_S), None);
        assert_eq!(verify(&SECRET, &key, &value, NOW - CLOCK_SKEW_S - 1), None);
    }

    #[test]
    fn garbage_is_no_cookie() {
        let key = k("admin@localhost");
        for junk in [
            "",
            ".",
            "....",
            "v1.a.b.c.d",
            "v1....",
            "v2.00.1.00.00",
            &"x".repeat(100_000),
            "v1.é.1.é.é",
        ] {
            assert_eq!(verify(&SECRET, &key, junk, NOW), None, "{junk:?}");
        }
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header_by_name() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "roster=abc; roster_device=one".parse().unwrap());
        headers.append("cookie", "roster_device=two; other=x".parse().unwrap());
        assert_eq!(values_in(&headers, false), vec!["one", "two"]);
        assert!(values_in(&headers, true).is_empty());
        headers.append("cookie", "__Host-roster_device=three".parse().unwrap());
        assert_eq!(values_in(&headers, true), vec!["three"]);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_long_lived() {
        let c = set_cookie("v".into(), false);
        assert!(c.starts_with("roster_device=v;"), "{c}");
        for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=15552000"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Secure"), "{c}");
        let c = set_cookie("v".into(), true);
        assert!(
            c.starts_with("__Host-roster_device=v;") && c.contains("Secure"),
            "{c}"
        );
    }
}
