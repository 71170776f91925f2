//! Sign-in against a real store with real argon2 hashes: the throttle
//! counts an attempt before the password is verified, so parallel guesses
//! cannot outrun it, and an inactive account answers like a wrong password.

use app::context::{AppStore, SignInRefused, authenticate_with};
use app::security::hash_password;
use domain::Actor;
use domain::store::{Credentials, ImportRequest, Store};
use domain::throttle::{FREE_FAILURES, Throttle};
use server::engine::redb::RedbStore;
use std::net::IpAddr;
use std::sync::Arc;

/// The key of an address, made the one way keys are made.
fn k(email: &str) -> domain::UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

fn store_with_ada(end_state: &str) -> (tempfile::TempDir, AppStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    store
        .set_option(domain::options::END_STATE, end_state, &domain::By::Cli, 1)
        .unwrap();
    store
        .apply_import(ImportRequest {
            bytes: b"email,first_name,last_name\nada@x.org,Ada,L\n",
            file_name: "f.csv",
            operator: domain::By::Cli,
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 1,
        })
        .unwrap();
    let hash = hash_password("correct horse battery").unwrap();
    store
        .set_password(&k("ada@x.org"), &hash, 1, &domain::By::parse("test"))
        .unwrap();
    (dir, Arc::new(store))
}

fn client(n: u8) -> Option<IpAddr> {
    Some(IpAddr::from([192, 0, 2, n]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_guesses_reach_argon2_at_most_five_times() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let (store, throttle) = (store.clone(), throttle.clone());
            tokio::spawn(async move {
                // Different addresses: only the account key can stop them.
                authenticate_with(
                    store,
                    throttle,
                    "ADA@x.org",
                    format!("guess {i}"),
                    client(i as u8),
                    Vec::new(),
                )
                .await
            })
        })
        .collect();
    let mut verified = 0;
    let mut throttled = 0;
    for g in guesses {
        match g.await.unwrap() {
            Err(SignInRefused::WrongCredentials) => verified += 1,
            Err(SignInRefused::Throttled(_)) => throttled += 1,
            Ok(_) => panic!("a wrong password signed in"),
            Err(SignInRefused::Store(e)) => panic!("the in-memory throttle failed: {e}"),
        }
    }
    assert_eq!(
        verified, FREE_FAILURES as usize,
        "only these reached argon2"
    );
    assert_eq!(throttled, 20 - FREE_FAILURES as usize);
    // The right password is throttled too now.
    assert!(matches!(
        authenticate_with(
            store,
            throttle.clone(),
            "ada@x.org",
            "correct horse battery".into(),
            client(99),
            Vec::new()
        )
        .await,
        Err(SignInRefused::Throttled(_))
    ));
}

#[tokio::test]
async fn the_right_password_signs_in_and_clears_the_account() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    for _ in 0..3 {
        let r = authenticate_with(
            store.clone(),
            throttle.clone(),
            "ada@x.org",
            "nope".into(),
            client(1),
            Vec::new(),
        );
        assert_eq!(r.await.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let ok = authenticate_with(
        store.clone(),
        throttle.clone(),
        "ada@x.org",
        "correct horse battery".into(),
        client(1),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(ok.key(), "ada@x.org");
    // Account cleared; the address keeps its three failures.
    for _ in 0..2 {
        let r = authenticate_with(
            store.clone(),
            throttle.clone(),
            "ada@x.org",
            "nope".into(),
            client(1),
            Vec::new(),
        );
        assert_eq!(r.await.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let r = authenticate_with(
        store.clone(),
        throttle.clone(),
        "bob@x.org",
        "x".into(),
        client(1),
        Vec::new(),
    );
    assert!(matches!(r.await, Err(SignInRefused::Throttled(_))));
}

#[tokio::test]
async fn an_inactive_account_answers_like_a_wrong_password_and_counts() {
    let (_dir, store) = store_with_ada("inactive");
    let throttle: Arc<Throttle> = Arc::default();
    for _ in 0..FREE_FAILURES {
        let r = authenticate_with(
            store.clone(),
            throttle.clone(),
            "ada@x.org",
            "correct horse battery".into(),
            client(7),
            Vec::new(),
        );
        assert_eq!(r.await.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let r = authenticate_with(
        store.clone(),
        throttle.clone(),
        "ada@x.org",
        "correct horse battery".into(),
        client(8),
        Vec::new(),
    );
    assert!(matches!(r.await, Err(SignInRefused::Throttled(_))));
}

#[tokio::test]
async fn a_malformed_address_is_throttled_by_client_only() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    let huge = "x".repeat(100_000);
    let r = authenticate_with(
        store,
        throttle.clone(),
        &huge,
        "p".into(),
        client(3),
        Vec::new(),
    )
    .await;
    assert_eq!(r.unwrap_err(), SignInRefused::WrongCredentials);
    assert_eq!(throttle.len(), 1, "no key made from the raw text");
}

/// A device cookie for `email`, as the server hands one out after a
/// sign-in (signed with the store's secret).
fn device_cookie(store: &AppStore, email: &str) -> String {
    let secret = store.secret(app::device::SECRET_NAME).unwrap();
    app::device::new_value(&secret, &k(email), app::context::now_s())
}

async fn attempt(
    store: &AppStore,
    throttle: &Arc<Throttle>,
    password: &str,
    from: u8,
    cookies: &[&str],
) -> Result<domain::User, SignInRefused> {
    authenticate_with(
        store.clone(),
        throttle.clone(),
        "ada@x.org",
        password.into(),
        client(from),
        cookies.iter().map(|c| c.to_string()).collect(),
    )
    .await
}

const RIGHT: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_locks_the_account_out_but_not_the_owners_browser() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    let cookie = device_cookie(&store, "ada@x.org");
    // The attacker guesses from clients of its own.
    for i in 0..FREE_FAILURES {
        let r = attempt(&store, &throttle, "guess", 100 + i as u8, &[]).await;
        assert_eq!(r.unwrap_err(), SignInRefused::WrongCredentials);
    }
    // Without a device cookie the account is held back, right password or not.
    let r = attempt(&store, &throttle, RIGHT, 1, &[]).await;
    assert!(matches!(r, Err(SignInRefused::Throttled(_))), "{r:?}");
    // The owner's browser, which signed in before, is not.
    let ada = attempt(&store, &throttle, RIGHT, 1, &[&cookie])
        .await
        .unwrap();
    assert_eq!(ada.key(), "ada@x.org");
    // Among other cookies of the name, the valid one counts.
    attempt(&store, &throttle, RIGHT, 1, &["junk", &cookie])
        .await
        .unwrap();
    // The owner's success gave the attacker no fresh attempts.
    let r = attempt(&store, &throttle, "guess", 120, &[]).await;
    assert!(matches!(r, Err(SignInRefused::Throttled(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_tampered_or_other_accounts_cookie_gives_no_way_round() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    let cookie = device_cookie(&store, "ada@x.org");
    for i in 0..FREE_FAILURES {
        let _ = attempt(&store, &throttle, "guess", 100 + i as u8, &[]).await;
    }
    let mut tampered = cookie.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).unwrap();
    let forged = app::device::value_with(&[0; 32], &k("ada@x.org"), app::context::now_s(), [9; 16]);
    let bobs = device_cookie(&store, "bob@x.org");
    for (n, bad) in [tampered, forged, bobs, "v1".to_string()]
        .iter()
        .enumerate()
    {
        let r = attempt(&store, &throttle, RIGHT, 10 + n as u8, &[bad]).await;
        assert!(
            matches!(r, Err(SignInRefused::Throttled(_))),
            "{bad}: {r:?}"
        );
    }
    // The genuine one still passes.
    attempt(&store, &throttle, RIGHT, 20, &[&cookie])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_own_failures_hold_back_only_that_device() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    let stolen = device_cookie(&store, "ada@x.org");
    let owners = device_cookie(&store, "ada@x.org");
    // Guesses with a (stolen) device cookie, each from another address.
    for i in 0..FREE_FAILURES {
        let r = attempt(&store, &throttle, "guess", 100 + i as u8, &[&stolen]).await;
        assert_eq!(r.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let r = attempt(&store, &throttle, RIGHT, 1, &[&stolen]).await;
    assert!(matches!(r, Err(SignInRefused::Throttled(_))), "{r:?}");
    // They were not counted on the account, nor on another device.
    attempt(&store, &throttle, RIGHT, 2, &[]).await.unwrap();
    attempt(&store, &throttle, RIGHT, 3, &[&owners])
        .await
        .unwrap();
}

#[test]
fn the_secret_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = RedbStore::open(dir.path()).unwrap();
        let a = store.secret("device-cookie").unwrap();
        assert_eq!(store.secret("device-cookie").unwrap(), a);
        assert_ne!(store.secret("another").unwrap(), a);
        a
    };
    let reopened = RedbStore::open(dir.path()).unwrap();
    assert_eq!(reopened.secret("device-cookie").unwrap(), first);
}
