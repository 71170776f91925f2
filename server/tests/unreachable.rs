//! A PostgreSQL server that goes away: the store answers "unavailable"
//! (never a panic), writes nothing, and `roster serve` keeps running and
//! says why. Runs on a cluster of its own, which it stops mid-way.

use domain::Actor;
use domain::store::{ImportRequest, Store, StoreError};
use server::engine::postgres::PgStore;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn cluster() -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("roster-pg-down-{}", std::process::id()));
    let url = server::test_support::test_cluster(&dir).unwrap();
    (dir, url)
}

/// GET `path`, with a session cookie (any well-formed id: the server must
/// look it up in the database).
fn get(port: u16, path: &str) -> String {
    let mut s =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("the server still answers");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: roster=AAAAAAAAAAAAAAAAAAAAAA\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_database_that_goes_away_is_reported_and_nothing_breaks() {
    let (dir, url) = cluster();
    let store = PgStore::open(&url).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "--database",
            &url,
            "--addr",
            &format!("127.0.0.1:{port}"),
            "serve",
        ])
        .env("ROSTER_ADMIN_PASSWORD", "a long enough admin secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(server.stdout.take().unwrap());
    while !line.contains("listening") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
            "no start"
        );
    }
    assert!(get(port, "/signin").starts_with("HTTP/1.1 200"));

    let stopped = Command::new(server::test_support::TEST_CLUSTER_SCRIPT)
        .arg("stop")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(stopped.success());

    // The store: a clear "unavailable", for reads and writes alike.
    match store.user_count() {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("cannot be reached"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let csv = "email,first_name,last_name\nada@x.org,Ada,L\n";
    let import = store.apply_import(ImportRequest {
        bytes: csv.as_bytes(),
        file_name: "users.csv",
        operator: domain::By::parse("op"),
        actor: Actor::Owner,
        expected_fingerprint: None,
        skip_invalid: false,
        corrected: None,
        now: 1,
    });
    assert!(
        matches!(import, Err(StoreError::Unavailable(_))),
        "{import:?}"
    );

    // The server: still up, answering every request with a status.
    let answer = get(port, "/users");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("is its database reachable?"), "{answer}");
    assert!(get(port, "/signin").starts_with("HTTP/1.1"));
    assert!(server.try_wait().unwrap().is_none(), "the server exited");
    server.kill().unwrap();
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("cannot be reached"), "{log}");
}
