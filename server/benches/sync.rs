//! A sync against a store of a million imported users, on redb and on
//! PostgreSQL: the extra cost of finding the users a file no longer lists,
//! over planning the same file as a plain import. The store's users belong
//! to ten organizations of 100 000; the file lists one organization's
//! users but every hundredth (99 000 rows, all unchanged). Measured, each
//! inside a write transaction that is then abandoned (as a dry run is):
//! the plain plan, the sync limited to that organization (1 000
//! deactivations), and the sync of every organization (901 000
//! deactivations, which the safety valve refuses); then the scoped sync is
//! committed once. Prints the times and leaves them for `make bench`'s
//! table. PostgreSQL runs on the server ROSTER_TEST_DATABASE_URL names (in
//! key=value form), or on a throwaway cluster it starts.
//! Run: `cargo bench -p server --bench sync`.

use domain::plan::{SyncSettings, parse_file};
use domain::store::{ImportOutcome, Store, SyncRequest};
use domain::transaction::Finish;
use domain::usecase::plan_import_in;
use std::time::{Duration, Instant};

mod common;
use common::{median, record, request};

const USERS: usize = 1_000_000;
const ORGANIZATIONS: usize = 10;
const RUNS: usize = 3;

fn row(i: usize) -> String {
    format!(
        "user{i}@example.com,First{i},Last{i},Org{}\n",
        i % ORGANIZATIONS
    )
}

const HEAD: &str = "email,first_name,last_name,organization\n";

/// Every user of the store.
fn everyone() -> Vec<u8> {
    let mut s = String::from(HEAD);
    for i in 0..USERS {
        s.push_str(&row(i));
    }
    s.into_bytes()
}

/// Org0's users but every hundredth.
fn org0_file() -> Vec<u8> {
    let mut s = String::from(HEAD);
    for i in (0..USERS).step_by(ORGANIZATIONS) {
        if (i / ORGANIZATIONS) % 100 != 99 {
            s.push_str(&row(i));
        }
    }
    s.into_bytes()
}

/// The time to plan `bytes` inside a write transaction that writes
/// nothing, as a plain import (`sync: None`) or a sync; and how many it
/// would deactivate.
fn plan_time(store: &dyn Store, bytes: &[u8], sync: Option<&SyncSettings>) -> (Duration, u64) {
    let options = store.options().unwrap();
    let parsed = parse_file(bytes, &options).unwrap();
    let mut parsed = Some(parsed);
    let mut deactivate = 0;
    let t0 = Instant::now();
    store
        .transact(&mut |tx| {
            let (plan, _) = plan_import_in(
                tx,
                bytes,
                parsed.take().unwrap(),
                &options,
                domain::Actor::Owner,
                sync,
            )?;
            deactivate = plan.counts.deactivate;
            Ok(Finish::Abort)
        })
        .unwrap();
    (t0.elapsed(), deactivate)
}

fn measure(engine: &str, store: &dyn Store) {
    let t0 = Instant::now();
    match store.apply_import(request(&everyone())).unwrap() {
        ImportOutcome::Committed { .. } => {}
        other => panic!("{other:?}"),
    }
    let filled = t0.elapsed();
    let file = org0_file();
    let scoped = SyncSettings {
        scope_organization: Some("Org0".into()),
    };
    let all = SyncSettings::default();
    let (mut plain, mut in_scope, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        plain.push(plan_time(store, &file, None).0);
        let (t, n) = plan_time(store, &file, Some(&scoped));
        assert_eq!(n, 1_000);
        in_scope.push(t);
        let (t, n) = plan_time(store, &file, Some(&all));
        assert_eq!(n, 901_000);
        whole.push(t);
    }
    let t0 = Instant::now();
    let outcome = store
        .apply_sync_import(
            request(&file),
            &SyncRequest {
                settings: scoped,
                force: false,
                dry_run: false,
            },
        )
        .unwrap();
    let commit = t0.elapsed();
    assert!(
        matches!(&outcome, ImportOutcome::Committed { plan, .. } if plan.counts.deactivate == 1_000),
        "{outcome:?}"
    );
    let (p, s, w) = (median(plain), median(in_scope), median(whole));
    record(
        &format!("sync-{engine}"),
        &[
            ("plain_plan", p),
            ("scoped_sync_plan", s),
            ("whole_sync_plan", w),
            ("scoped_sync_commit", commit),
        ],
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{engine}: {USERS} users stored in {:.1} s; a file of {} rows (one organization \
         but every hundredth), median of {RUNS} runs:",
        filled.as_secs_f64(),
        file.iter().filter(|b| **b == b'\n').count() - 1,
    );
    println!(
        "  plain import, planned:                    {:>8.1} ms",
        ms(p)
    );
    println!(
        "  sync of that organization, planned:       {:>8.1} ms (+{:.1} ms to find 1 000 missing)",
        ms(s),
        ms(s) - ms(p)
    );
    println!(
        "  sync of every organization, planned:      {:>8.1} ms (+{:.1} ms to find 901 000 \
         missing; the valve refuses it)",
        ms(w),
        ms(w) - ms(p)
    );
    println!(
        "  sync of that organization, committed:     {:>8.1} ms (1 000 deactivated)",
        ms(commit)
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let redb = server::engine::redb::RedbStore::open(dir.path()).unwrap();
    measure("redb", &redb);
    drop(redb);

    let cluster = std::env::temp_dir().join(format!("roster-sync-bench-{}", std::process::id()));
    let url = server::test_support::test_server(&cluster).unwrap();
    let name = format!("roster_sync_bench_{}", std::process::id());
    postgres::Client::connect(&url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    assert!(
        !url.contains("://"),
        "give ROSTER_TEST_DATABASE_URL in key=value form for the bench"
    );
    let pg = server::engine::postgres::PgStore::open(&format!("{url} dbname={name}")).unwrap();
    measure("postgres", &pg);
}
