//! Sign-in against a real store with real argon2 hashes: the throttle
//! counts an attempt before the password is verified, so parallel guesses
//! cannot outrun it, and an inactive account answers like a wrong password.

use app::context::{AppStore, SignInRefused, authenticate_with};
use app::security::{FREE_FAILURES, Throttle, hash_password};
use domain::Actor;
use domain::store::{Credentials, ImportRequest, Store};
use server::store::RedbStore;
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
        .set_option(domain::options::END_STATE, end_state, "cli", 1)
        .unwrap();
    store
        .apply_import(ImportRequest {
            bytes: b"email,first_name,last_name\nada@x.org,Ada,L\n",
            file_name: "f.csv",
            operator: "cli",
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 1,
        })
        .unwrap();
    let hash = hash_password("correct horse battery").unwrap();
    store
        .set_password(&k("ada@x.org"), &hash, 1, "test")
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
            client(99)
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
        );
        assert_eq!(r.await.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let ok = authenticate_with(
        store.clone(),
        throttle.clone(),
        "ada@x.org",
        "correct horse battery".into(),
        client(1),
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
        );
        assert_eq!(r.await.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let r = authenticate_with(
        store.clone(),
        throttle.clone(),
        "bob@x.org",
        "x".into(),
        client(1),
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
        );
        assert_eq!(r.await.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let r = authenticate_with(
        store.clone(),
        throttle.clone(),
        "ada@x.org",
        "correct horse battery".into(),
        client(8),
    );
    assert!(matches!(r.await, Err(SignInRefused::Throttled(_))));
}

#[tokio::test]
async fn a_malformed_address_is_throttled_by_client_only() {
    let (_dir, store) = store_with_ada("active");
    let throttle: Arc<Throttle> = Arc::default();
    let huge = "x".repeat(100_000);
    let r = authenticate_with(store, throttle.clone(), &huge, "p".into(), client(3)).await;
    assert_eq!(r.unwrap_err(), SignInRefused::WrongCredentials);
    assert_eq!(throttle.len(), 1, "no key made from the raw text");
}
