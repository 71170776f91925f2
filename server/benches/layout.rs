//! What an import writes per user and how its cost grows, on both engines:
//!
//! 1. per table (and, on PostgreSQL, per index): entries and bytes in a
//!    fresh store after one import of 100 000 new users, divided by the
//!    users; on redb from the tables' own statistics, on PostgreSQL from
//!    `pg_table_size` / `pg_relation_size` and the WAL the commit wrote;
//! 2. `apply_import` of 10 000, 100 000 and 1 000 000 new users, each into
//!    a fresh store: the cost per user and the 1M ÷ 10k ratio (a flat
//!    cost per user is 1.0);
//! 0. search words per user, by the rule and by every word of the fields,
//!    for this bench's file and for addresses of the first initial and
//!    the last name;
//! 3. during the 1M commit, what sign-in reads from the store (the user
//!    and the password hash, by email key) for users who exist, paced at
//!    about 500 a second: p50 / p99 / max, beside the same reads with no
//!    commit running.
//!
//! Run: `cargo bench -p server --bench layout` (PostgreSQL on a throwaway
//! cluster, or the server ROSTER_TEST_DATABASE_URL names, in key=value
//! form). `ROSTER_LAYOUT_SIZES=10000,100000` runs fewer sizes;
//! `ROSTER_LAYOUT_REDB_CACHE_MB=4096` gives redb's stores that cache.

use domain::store::{Credentials, Store};
use postgres::{Client, NoTls};
use redb::{MultimapTableHandle, ReadableDatabase, ReadableTableMetadata, TableHandle};
use server::engine::postgres::PgStore;
use server::engine::redb::RedbStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::{file_of, record, request};

/// The users whose sign-in is read during the big commit.
const SIGN_IN_USERS: usize = 100;
/// The store's per-table picture is taken at this size.
const TABLES_AT: usize = 100_000;
/// Any PHC string: the store keeps it as text.
const PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";

fn sizes() -> Vec<usize> {
    std::env::var("ROSTER_LAYOUT_SIZES")
        .ok()
        .map(|s| s.split(',').map(|n| n.trim().parse().unwrap()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

/// redb's page cache for the bench's stores: `ROSTER_LAYOUT_REDB_CACHE_MB`,
/// or redb's default.
fn redb_cache() -> Option<usize> {
    let mb: usize = std::env::var("ROSTER_LAYOUT_REDB_CACHE_MB")
        .ok()?
        .parse()
        .ok()?;
    Some(mb << 20)
}

fn main() {
    words_per_user();
    let sizes = sizes();
    let largest = *sizes.iter().max().unwrap();
    let dir = std::env::temp_dir().join(format!("roster-layout-bench-{}", std::process::id()));
    let url = server::test_support::test_server(&dir).unwrap();
    assert!(
        !url.contains("://"),
        "give ROSTER_TEST_DATABASE_URL in key=value form for the bench"
    );
    let mut admin = Client::connect(&url, NoTls).unwrap();

    let mut runs: Vec<(&str, usize, Duration)> = Vec::new();
    let mut reads: Vec<(&str, Latencies, Latencies)> = Vec::new();
    for &n in &sizes {
        let bytes = file_of(n);
        let signs_in = n == largest;

        // redb
        let tmp = tempfile::tempdir().unwrap();
        let store = RedbStore::open_with_cache(tmp.path(), redb_cache()).unwrap();
        let keys = if signs_in { seed(&store) } else { Vec::new() };
        let before = std::fs::metadata(store.path()).unwrap().len();
        let (took, idle, busy) = commit_reading(&store, &bytes, &keys);
        assert_eq!(store.user_count().unwrap(), (n + keys.len()) as u64);
        runs.push(("redb", n, took));
        if signs_in {
            reads.push(("redb", idle, busy));
        }
        if n == TABLES_AT {
            let grew = std::fs::metadata(store.path()).unwrap().len() - before;
            redb_tables(&store, n, grew);
        }
        drop(store);
        drop(tmp);

        // PostgreSQL
        let name = format!("roster_layout_{}_{n}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let db_url = format!("{url} dbname={name}");
        let store = PgStore::open(&db_url).unwrap();
        let keys = if signs_in { seed(&store) } else { Vec::new() };
        let mut client = Client::connect(&db_url, NoTls).unwrap();
        let wal_before: String = client
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .unwrap()
            .get(0);
        let (took, idle, busy) = commit_reading(&store, &bytes, &keys);
        assert_eq!(store.user_count().unwrap(), (n + keys.len()) as u64);
        runs.push(("PostgreSQL", n, took));
        if signs_in {
            reads.push(("PostgreSQL", idle, busy));
        }
        if n == TABLES_AT {
            pg_tables(&mut client, n, &wal_before);
        }
        drop(client);
        drop(store);
        admin
            .batch_execute(&format!("DROP DATABASE {name}"))
            .unwrap();
    }

    println!("apply_import of new users into a fresh store (one run each):");
    println!("| engine | users | commit | per user |");
    println!("|---|---:|---:|---:|");
    for (engine, n, took) in &runs {
        println!(
            "| {engine} | {n} | {:.2} s | {:.1} µs |",
            took.as_secs_f64(),
            per_user_us(*took, *n)
        );
    }
    for engine in ["redb", "PostgreSQL"] {
        let of = |n: usize| runs.iter().find(|r| r.0 == engine && r.1 == n);
        let (Some(small), Some(big)) = (of(sizes[0]), of(largest)) else {
            continue;
        };
        if small.1 != big.1 {
            println!(
                "{engine}: per-user cost at {} ÷ at {}: {:.2}× (target ≤ 1.3×)",
                big.1,
                small.1,
                per_user_us(big.2, big.1) / per_user_us(small.2, small.1)
            );
        }
    }
    let tag = |engine: &str| if engine == "redb" { "redb" } else { "pg" };
    let recorded: Vec<(String, Duration)> = runs
        .iter()
        .map(|(e, n, d)| (format!("{}_{n}", tag(e)), *d))
        .collect();
    let recorded: Vec<(&str, Duration)> = recorded.iter().map(|(k, d)| (k.as_str(), *d)).collect();
    record("layout-commit", &recorded);

    println!(
        "sign-in store reads (user + password hash by email key, {SIGN_IN_USERS} users), \
         paced ~500/s:"
    );
    println!("| engine | while | reads | p50 | p99 | max |");
    println!("|---|---|---:|---:|---:|---:|");
    for (engine, idle, busy) in &reads {
        println!("| {engine} | idle | {} |", idle.row());
        println!(
            "| {engine} | the {largest}-user commit runs | {} |",
            busy.row()
        );
    }
    for (engine, _, busy) in &reads {
        let took = runs.iter().find(|r| r.0 == *engine && r.1 == largest);
        println!(
            "{engine}: reads over 50 ms during the {:.1} s commit: {}",
            took.map_or(0.0, |r| r.2.as_secs_f64()),
            busy.slow()
        );
    }
}

fn per_user_us(took: Duration, n: usize) -> f64 {
    took.as_secs_f64() * 1e6 / n as f64
}

/// Users who can sign in: imported, then given a password one by one as
/// the CLI does.
fn seed<S: Credentials>(store: &S) -> Vec<domain::UserKey> {
    let mut csv = String::from("email,first_name,last_name\n");
    for i in 0..SIGN_IN_USERS {
        csv.push_str(&format!("signin{i}@example.org,Sign{i},In{i}\n"));
    }
    store.apply_import(request(csv.as_bytes())).unwrap();
    (0..SIGN_IN_USERS)
        .map(|i| {
            let key = domain::Email::parse(&format!("signin{i}@example.org"))
                .unwrap()
                .key()
                .clone();
            store.set_password(&key, PHC, 1, &domain::By::Cli).unwrap();
            key
        })
        .collect()
}

/// Sign-in's store reads for one user, as `app::context` makes them.
fn sign_in_reads<S: Credentials>(store: &S, key: &domain::UserKey) {
    let user = store.user(key).unwrap();
    let hash = store.password_hash(key).unwrap();
    assert!(user.is_some() && hash.is_some());
}

/// Each read's start (from the commit's start) and how long it took.
struct Latencies(Vec<(Duration, Duration)>);

impl Latencies {
    /// The reads that took over 50 ms, and when in the commit they began:
    /// whether a pause is the engine's (at the same point each run) or
    /// the machine's.
    fn slow(&self) -> String {
        let slow: Vec<String> = self
            .0
            .iter()
            .filter(|(_, took)| *took > Duration::from_millis(50))
            .map(|(at, took)| {
                format!(
                    "{:.0} ms at {:.2} s",
                    took.as_secs_f64() * 1e3,
                    at.as_secs_f64()
                )
            })
            .collect();
        if slow.is_empty() {
            "none".into()
        } else {
            slow.join(", ")
        }
    }

    fn row(&self) -> String {
        let mut v: Vec<Duration> = self.0.iter().map(|(_, took)| *took).collect();
        v.sort();
        if v.is_empty() {
            return "0 | – | – | –".into();
        }
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        format!(
            "{} | {} | {} | {}",
            v.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(*v.last().unwrap())
        )
    }
}

/// Commits `bytes` with `apply_import`; with `keys`, first reads their
/// sign-in 1 000 times with nothing else running, then keeps reading them
/// while the commit runs (a thread of its own, paced at one pair each
/// 2 ms, as sparse sign-ins are) and reports both.
fn commit_reading<S: Credentials + Sync>(
    store: &S,
    bytes: &[u8],
    keys: &[domain::UserKey],
) -> (Duration, Latencies, Latencies) {
    let mut start = Instant::now();
    let read_one = |i: usize, start: Instant| {
        let t0 = Instant::now();
        sign_in_reads(store, &keys[i % keys.len()]);
        (t0 - start, t0.elapsed())
    };
    let mut idle = Vec::new();
    if !keys.is_empty() {
        for i in 0..1_000 {
            idle.push(read_one(i, start));
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let done = AtomicBool::new(false);
    start = Instant::now();
    let (took, busy) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut busy = Vec::new();
            if keys.is_empty() {
                return busy;
            }
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                let took = read_one(i, start);
                // Only reads that ran while the commit did count.
                if !done.load(Ordering::Relaxed) {
                    busy.push(took);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            busy
        });
        store.apply_import(request(bytes)).unwrap();
        let took = start.elapsed();
        done.store(true, Ordering::Relaxed);
        (took, reader.join().unwrap())
    });
    (took, Latencies(idle), Latencies(busy))
}

/// Every table of the redb store: entries and the bytes of its keys and
/// values (and of its pages), each per imported user.
fn redb_tables(store: &RedbStore, n: usize, grew: u64) {
    let txn = store.db().begin_read().unwrap();
    let per = |x: u64| x as f64 / n as f64;
    println!("redb, one import of {n} new users into a fresh store, per imported user:");
    println!("| table | entries | key + value bytes | pages (4 KiB) bytes |");
    println!("|---|---:|---:|---:|");
    let mut rows = Vec::new();
    for handle in txn.list_tables().unwrap() {
        let name = handle.name().to_string();
        let t = txn.open_untyped_table(handle).unwrap();
        rows.push((name, t.len().unwrap(), t.stats().unwrap()));
    }
    for handle in txn.list_multimap_tables().unwrap() {
        let name = handle.name().to_string();
        let t = txn.open_untyped_multimap_table(handle).unwrap();
        rows.push((name, t.len().unwrap(), t.stats().unwrap()));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.2.stored_bytes()));
    let (mut entries, mut stored, mut pages) = (0, 0, 0);
    for (name, len, stats) in &rows {
        if *len == 0 {
            continue;
        }
        let paged = (stats.leaf_pages() + stats.branch_pages()) * 4096;
        entries += len;
        stored += stats.stored_bytes();
        pages += paged;
        println!(
            "| {name} | {:.2} | {:.0} | {:.0} |",
            per(*len),
            per(stats.stored_bytes()),
            per(paged)
        );
    }
    println!(
        "| all | {:.2} | {:.0} | {:.0} |",
        per(entries),
        per(stored),
        per(pages)
    );
    println!(
        "the file grew by {:.1} MB ({:.0} bytes a user)",
        grew as f64 / 1e6,
        per(grew)
    );
}

/// Every table of the PostgreSQL store with rows: rows, the table (heap
/// and TOAST) and each of its indexes, per imported user; and the WAL
/// the import wrote.
fn pg_tables(client: &mut Client, n: usize, wal_before: &str) {
    let wal: i64 = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint",
            &[&wal_before],
        )
        .unwrap()
        .get(0);
    let per = |x: i64| x as f64 / n as f64;
    println!("PostgreSQL, one import of {n} new users into a fresh store, per imported user:");
    println!("| table / index | rows | bytes |");
    println!("|---|---:|---:|");
    let tables = client
        .query(
            "SELECT c.oid::bigint, c.relname::text, pg_table_size(c.oid), \
             pg_total_relation_size(c.oid) FROM pg_class c \
             JOIN pg_namespace s ON s.oid = c.relnamespace \
             WHERE s.nspname = 'public' AND c.relkind = 'r' \
             ORDER BY pg_total_relation_size(c.oid) DESC",
            &[],
        )
        .unwrap();
    let (mut rows_all, mut bytes_all) = (0, 0);
    for t in tables {
        let (oid, name, heap, total): (i64, String, i64, i64) =
            (t.get(0), t.get(1), t.get(2), t.get(3));
        let rows: i64 = client
            .query_one(&format!("SELECT count(*) FROM \"{name}\""), &[])
            .unwrap()
            .get(0);
        if rows == 0 {
            continue;
        }
        rows_all += rows;
        bytes_all += total;
        println!("| {name} (table) | {:.2} | {:.0} |", per(rows), per(heap));
        let indexes = client
            .query(
                "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::bigint::oid \
                 ORDER BY 2 DESC",
                &[&oid],
            )
            .unwrap();
        for i in indexes {
            let (index, size): (String, i64) = (i.get(0), i.get(1));
            println!("| ↳ {index} (index) | | {:.0} |", per(size));
        }
    }
    println!(
        "| all (tables + indexes) | {:.2} | {:.0} |",
        per(rows_all),
        per(bytes_all)
    );
    println!(
        "the commit wrote {:.1} MB of WAL ({:.0} bytes a user)",
        wal as f64 / 1e6,
        per(wal)
    );
}

/// Search words a user gets, on average, for this bench's file and for a
/// file whose addresses are the first initial and the last name: the word
/// index's entries (`index_words`: less the first words of address and
/// name, found through their indexes), the search words (`search_words`),
/// and every distinct word of the fields (before a word that starts
/// another was left out).
fn words_per_user() {
    let initials: String = std::iter::once("email,first_name,last_name\n".to_string())
        .chain((0..10_000).map(|i| {
            let c = char::from(b'a' + (i % 26) as u8);
            format!("{c}.last{i}@example.com,{c}first{i},Last{i}\n")
        }))
        .collect();
    println!("words per user (word index entries / search words / every distinct word):");
    for (what, bytes) in [
        ("this bench's file", file_of(10_000)),
        ("addresses of initial.last", initials.into_bytes()),
    ] {
        let plan = domain::plan::plan(
            &bytes,
            &domain::plan::NoUsers,
            &domain::Options::default(),
            domain::Actor::Owner,
        )
        .unwrap();
        let (mut users, mut indexed, mut kept, mut every) = (0, 0, 0, 0);
        for (_, user) in plan.creates() {
            let p = &user.profile;
            let mut all: Vec<String> = [
                user.key().as_str(),
                p.first_name(),
                p.last_name(),
                p.display_name(),
            ]
            .into_iter()
            .flat_map(domain::directory::words_of)
            .collect();
            all.sort_unstable();
            all.dedup();
            users += 1;
            every += all.len();
            kept += domain::directory::search_words(user).len();
            indexed += domain::directory::index_words(user).len();
        }
        println!(
            "  {what}: {:.2} / {:.2} / {:.2}",
            indexed as f64 / users as f64,
            kept as f64 / users as f64,
            every as f64 / users as f64
        );
    }
}
