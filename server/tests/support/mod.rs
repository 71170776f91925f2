//! The engines the conformance suite runs on: a redb file in a fresh
//! temporary folder, and a fresh database on PostgreSQL — the server
//! named by ROSTER_TEST_DATABASE_URL, or else a throwaway cluster this
//! test process starts itself (`scripts/pg-test-cluster`, stopped and
//! removed by its watchdog when the process ends).

#![allow(dead_code)]

use server::engine::Engine;
use server::engine::postgres::PgStore;
use server::engine::redb::RedbStore;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// A store of its own for one test.
pub struct Fresh {
    pub store: Arc<dyn Engine>,
    /// How `roster` subcommands reach this store.
    pub args: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    /// Opens the same store again (a second app server, or a reopen).
    pub fn reopen(&self) -> Arc<dyn Engine> {
        open(&self.args)
    }

    /// Closes the store, runs `work` with the arguments that reach it (a
    /// `roster` process, say), and opens it again: a restart. redb admits
    /// one open handle at a time, so the caller may hold no other.
    pub fn while_closed<T>(self, work: impl FnOnce(&[String]) -> T) -> (Fresh, T) {
        let Fresh { store, args, _dir } = self;
        drop(store);
        let answer = work(&args);
        let reopened = Fresh {
            store: open(&args),
            args,
            _dir,
        };
        (reopened, answer)
    }
}

/// The store `roster` reaches with these arguments.
fn open(args: &[String]) -> Arc<dyn Engine> {
    match args.first().map(String::as_str) {
        Some("--database") => Arc::new(PgStore::open(&args[1]).unwrap()),
        _ => Arc::new(RedbStore::open(std::path::Path::new(&args[1])).unwrap()),
    }
}

pub fn redb() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    Fresh {
        store: Arc::new(RedbStore::open(dir.path()).unwrap()),
        args: vec!["--data".into(), dir.path().display().to_string()],
        _dir: Some(dir),
    }
}

/// The PostgreSQL server the tests use (its `postgres` database).
pub fn pg_server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("roster-pg-{}", std::process::id()));
        server::test_support::test_server(&dir).unwrap()
    })
}

/// `url` with another database name (key=value or URL form).
pub fn with_dbname(url: &str, name: &str) -> String {
    match url.find("://") {
        None => format!("{url} dbname={name}"),
        Some(scheme) => {
            let (base, query) = match url.find('?') {
                Some(q) => (&url[..q], &url[q..]),
                None => (url, ""),
            };
            let host_end = base[scheme + 3..]
                .find('/')
                .map_or(base.len(), |i| scheme + 3 + i);
            format!("{}/{name}{query}", &base[..host_end])
        }
    }
}

/// A new, empty database on the test server.
pub fn postgres() -> Fresh {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = pg_server();
    let name = format!(
        "roster_t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(server, postgres::NoTls)
        .expect("connect to the test PostgreSQL server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = with_dbname(server, &name);
    Fresh {
        store: Arc::new(PgStore::open(&url).unwrap()),
        args: vec!["--database".into(), url],
        _dir: None,
    }
}

#[test]
fn a_database_name_replaces_the_one_in_either_form() {
    assert_eq!(
        with_dbname("host=/tmp/x port=5432 user=roster dbname=postgres", "t1"),
        "host=/tmp/x port=5432 user=roster dbname=postgres dbname=t1"
    );
    assert_eq!(
        with_dbname("postgres://u:p@h:5/postgres?sslmode=disable", "t1"),
        "postgres://u:p@h:5/t1?sslmode=disable"
    );
    assert_eq!(with_dbname("postgres://u@h", "t1"), "postgres://u@h/t1");
}

/// The key of an address, made the one way keys are made.
pub fn k(email: &str) -> domain::UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

/// A signed-in operator's authority, as imports give it by default.
pub fn operator() -> domain::Actor {
    use domain::user::{Role, Roles};
    domain::Actor::User(Roles::of(&[
        Role::SelfService,
        Role::Operator,
        Role::Approval,
    ]))
}

/// A signed-in administrator's authority.
pub fn admin() -> domain::Actor {
    use domain::user::{Role, Roles};
    domain::Actor::User(Roles::of(&[Role::SelfService, Role::Admin, Role::Approval]))
}
