//! TLS to PostgreSQL (`sslmode`, `sslrootcert` in `--database`), against
//! throwaway clusters on 127.0.0.1: one with `ssl=on` and a certificate for
//! `localhost` signed by a CA this test makes, whose pg_hba.conf admits TCP
//! connections over TLS only (`hostssl`), and one with `ssl=off`.

use domain::Actor;
use domain::store::{ImportOutcome, ImportRequest, Store, StoreError};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use server::engine::postgres::PgStore;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A cluster listening on 127.0.0.1:`port`.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// The certificates this test made (in the cluster's folder, removed
    /// with it).
    fn cert(&self, name: &str) -> String {
        self.dir.join("certs").join(name).display().to_string()
    }

    /// A key=value address of its `postgres` database by the name `host`
    /// (what a certificate is checked against), with `tls` appended. The
    /// address is 127.0.0.1 whatever `localhost` resolves to (::1 as well,
    /// where the cluster does not listen).
    fn url(&self, host: &str, tls: &str) -> String {
        format!(
            "host={host} hostaddr=127.0.0.1 port={} user=roster dbname=postgres {tls}",
            self.port
        )
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a cluster on a free port (another try if the port was taken
/// meanwhile); `prepare` fills its folder first.
fn start(name: &str, prepare: impl Fn(&Path), tls: bool) -> Cluster {
    let mut last = String::new();
    for attempt in 0..3 {
        let dir = std::env::temp_dir().join(format!(
            "roster-pg-tls-{name}-{}-{attempt}",
            std::process::id()
        ));
        prepare(&dir);
        let port = free_port();
        let mut cmd = Command::new(server::test_support::TEST_CLUSTER_SCRIPT);
        cmd.arg("start")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .args(["--tcp", &port.to_string()]);
        if tls {
            cmd.arg("--tls")
                .arg(dir.join("certs/server.crt"))
                .arg(dir.join("certs/server.key"));
        }
        let out = cmd.output().expect("run scripts/pg-test-cluster");
        if out.status.success() {
            return Cluster { dir, port };
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
    }
    panic!("cannot start a PostgreSQL cluster: {last}");
}

/// A CA, and a certificate for `names` signed by it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn tls_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        start(
            "on",
            |dir| {
                let certs = dir.join("certs");
                std::fs::create_dir_all(&certs).unwrap();
                let (ca_pem, issuer) = ca("Roster test CA");
                let (other_pem, _) = ca("Another CA");
                let key = KeyPair::generate().unwrap();
                // Valid for the name `localhost` only, not for 127.0.0.1.
                let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
                params
                    .distinguished_name
                    .push(DnType::CommonName, "localhost");
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                let cert = params.signed_by(&key, &issuer).unwrap();
                std::fs::write(certs.join("ca.pem"), ca_pem).unwrap();
                std::fs::write(certs.join("other-ca.pem"), other_pem).unwrap();
                std::fs::write(certs.join("server.crt"), cert.pem()).unwrap();
                std::fs::write(certs.join("server.key"), key.serialize_pem()).unwrap();
            },
            true,
        )
    })
}

fn plain_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| start("off", |_| {}, false))
}

/// Connects as the store would (the same address parsing and TLS set-up).
fn connect(url: &str) -> Result<postgres::Client, String> {
    let (config, tls) = server::engine::postgres::tls::parse(url)?;
    config
        .connect(tls)
        .map_err(|e| server::engine::postgres::tls::with_causes(&e))
}

/// Whether this session is encrypted, as the server sees it.
fn encrypted(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

fn refused(url: &str) -> String {
    match connect(url) {
        Ok(_) => panic!("{url}: connected, expected a refusal"),
        Err(e) => e,
    }
}

#[test]
fn verify_full_with_the_test_ca_is_encrypted_and_a_store_works_over_it() {
    let c = tls_cluster();
    let ca = c.cert("ca.pem");
    let mut admin = connect(&c.url(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    ))
    .unwrap();
    assert!(encrypted(&mut admin));
    admin.batch_execute("CREATE DATABASE roster_tls").unwrap();

    // The URL form, as `--database` takes it; a user written and read back.
    let url = format!(
        "postgres://roster@localhost:{}/roster_tls?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
        c.port,
        ca.replace('%', "%25")
    );
    let store = PgStore::open(&url).unwrap();
    let outcome = store
        .apply_import(ImportRequest {
            bytes: b"email,first_name,last_name\nada@x.org,Ada,Lovelace\n",
            file_name: "users.csv",
            operator: domain::By::parse("op"),
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 1,
        })
        .unwrap();
    assert!(
        matches!(outcome, ImportOutcome::Committed { .. }),
        "{outcome:?}"
    );
    let key = domain::Email::parse("ada@x.org").unwrap().key().clone();
    let ada = PgStore::open(&url).unwrap().user(&key).unwrap().unwrap();
    assert_eq!(ada.profile.first_name().to_string(), "Ada");

    // Every connection the store holds is encrypted.
    let (all, n): (Option<bool>, i64) = {
        let row = admin
            .query_one(
                "SELECT bool_and(s.ssl), count(*) FROM pg_stat_ssl s \
                 JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.datname = 'roster_tls'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(
        n >= 1 && all == Some(true),
        "{n} connections, all TLS: {all:?}"
    );
}

#[test]
fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let c = tls_cluster();
    let ca = c.cert("ca.pem");
    let e = refused(&c.url(
        "127.0.0.1",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    ));
    assert!(e.contains("not valid for name"), "{e}");
    // verify-ca checks the chain only: the same address connects.
    let mut client =
        connect(&c.url("127.0.0.1", &format!("sslmode=verify-ca sslrootcert={ca}"))).unwrap();
    assert!(encrypted(&mut client));
}

#[test]
fn a_certificate_of_another_ca_is_refused() {
    let c = tls_cluster();
    let other = c.cert("other-ca.pem");
    for mode in ["verify-ca", "verify-full"] {
        let e = refused(&c.url("localhost", &format!("sslmode={mode} sslrootcert={other}")));
        assert!(e.to_lowercase().contains("issuer"), "{mode}: {e}");
    }
    // As libpq: a root file that is named is used by `require` too.
    let e = refused(&c.url("localhost", &format!("sslmode=require sslrootcert={other}")));
    assert!(e.to_lowercase().contains("issuer"), "{e}");
    // The test CA is not among the system's roots.
    match server::engine::postgres::tls::parse(&c.url("localhost", "sslmode=verify-full")) {
        Err(e) => assert!(e.contains("no root certificates"), "{e}"),
        Ok((config, tls)) => {
            let e = config.connect(tls).err().expect("refused");
            let e = server::engine::postgres::tls::with_causes(&e);
            assert!(e.to_lowercase().contains("issuer"), "{e}");
        }
    }
}

#[test]
fn require_encrypts_without_a_ca_and_plain_tcp_is_refused() {
    let c = tls_cluster();
    for mode in ["require", "prefer"] {
        let mut client = connect(&c.url("127.0.0.1", &format!("sslmode={mode}"))).unwrap();
        assert!(encrypted(&mut client), "{mode}");
    }
    // Without sslmode (or with disable) nothing is encrypted, so this
    // cluster's hostssl-only pg_hba.conf turns the connection away.
    for tls in ["", "sslmode=disable"] {
        let e = refused(&c.url("127.0.0.1", tls));
        assert!(e.contains("no pg_hba.conf entry"), "{tls}: {e}");
    }
    // The Unix socket never uses TLS, whatever sslmode says.
    let socket = format!(
        "host={} port={} user=roster dbname=postgres sslmode=require",
        c.dir.display(),
        c.port
    );
    let mut client = connect(&socket).unwrap();
    assert!(!encrypted(&mut client));
}

#[test]
fn a_server_without_tls_is_refused_when_tls_is_required() {
    let c = plain_cluster();
    for mode in ["require", "verify-ca", "verify-full"] {
        let ca = tls_cluster().cert("ca.pem");
        let e = refused(&c.url("localhost", &format!("sslmode={mode} sslrootcert={ca}")));
        assert!(e.contains("server does not support TLS"), "{mode}: {e}");
    }
    let url = c.url("127.0.0.1", "sslmode=require");
    match PgStore::open(&url) {
        Err(StoreError::Unavailable(m)) => {
            assert!(m.contains("server does not support TLS"), "{m}")
        }
        Err(other) => panic!("expected Unavailable, got {other:?}"),
        Ok(_) => panic!("opened without TLS"),
    }
    // prefer falls back to a plain session; no sslmode stays plain.
    for tls in ["sslmode=prefer", ""] {
        let mut client = connect(&c.url("127.0.0.1", tls)).unwrap();
        assert!(!encrypted(&mut client), "{tls}");
    }
}

#[test]
fn bad_tls_options_stop_roster_at_start_with_a_clear_message() {
    let cases = [
        (
            "host=localhost sslmode=verify-full sslrootcert=/no/such/ca.pem",
            "cannot read the root certificates in /no/such/ca.pem",
        ),
        (
            "postgres://roster@localhost/roster?sslmode=verify",
            "sslmode `verify` is not one of",
        ),
        ("host=localhost sslcert=/c.pem", "sslcert is not supported"),
    ];
    for (url, message) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["--database", url, "users", "list"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{url}: {err}");
        assert!(err.contains(message), "{url}: {err}");
        assert!(!err.contains("panicked"), "{url}: {err}");
    }
}
