//! The Users page over a 1M-user store: median latency of `list_users`
//! (what the `list_users` and `search_users` server functions run, less
//! HTTP) for the first page in each sort order, a deep page, filters and
//! searches. Also prints how long the store took to build (one import of
//! 1M rows, indexes included).
//! Run: `cargo bench -p server --bench users` (ROSTER_BENCH_USERS to
//! change the size).

use domain::directory::{UserQuery, UserSort};
use domain::store::{ImportRequest, Store};
use domain::user::{EndState, Source};
use server::engine::redb::RedbStore;
use std::time::{Duration, Instant};

mod common;

const RUNS: usize = 21;

fn file(rows: usize, from: usize) -> Vec<u8> {
    const FIRST: [&str; 8] = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John",
    ];
    let mut s = String::from("email,first_name,last_name,title,department\n");
    for i in from..from + rows {
        s.push_str(&format!(
            "user{i}@corp{}.example,{},Last{:07},Engineer,Dept {}\n",
            i % 20,
            FIRST[i % FIRST.len()],
            (i * 7919) % 1_000_003,
            i % 50
        ));
    }
    s.into_bytes()
}

fn import(store: &RedbStore, bytes: &[u8]) {
    store
        .apply_import(ImportRequest {
            now: 1_800_000_000,
            ..common::request(bytes)
        })
        .unwrap();
}

fn main() {
    let total: usize = std::env::var("ROSTER_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let inactive = total / 100;
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let t0 = Instant::now();
    import(&store, &file(total - inactive, 0));
    let built_active = t0.elapsed();
    store
        .set_option("import.end_state", "inactive", "cli", 1)
        .unwrap();
    import(&store, &file(inactive, total - inactive));
    let built = t0.elapsed();
    assert_eq!(store.user_count().unwrap(), total as u64);
    println!(
        "store of {total} users built in {:.1} s ({} active in one import: {:.1} s, then {inactive} inactive)",
        built.as_secs_f64(),
        total - inactive,
        built_active.as_secs_f64()
    );
    let q = |f: &dyn Fn(&mut UserQuery)| {
        let mut query = UserQuery::default();
        f(&mut query);
        query
    };
    let cases: Vec<(&str, UserQuery)> = vec![
        ("first page, by email", q(&|_| {})),
        ("first page, by name", q(&|x| x.sort = UserSort::Name)),
        ("first page, by updated", q(&|x| x.sort = UserSort::Updated)),
        (
            "page 100 (offset 5 000), by name",
            q(&|x| {
                x.sort = UserSort::Name;
                x.page = 100;
            }),
        ),
        (
            "page 10 000 (offset 500 000), by email",
            q(&|x| x.page = 10_000),
        ),
        (
            "filter Inactive (1 %), by email",
            q(&|x| x.end_state = Some(EndState::Inactive)),
        ),
        (
            "filter Source = Manual (none)",
            q(&|x| x.source = Some(Source::Manual)),
        ),
        (
            "search one user \"user123456\"",
            q(&|x| x.search = "user123456".into()),
        ),
        (
            "search \"last00001\" (~100 users)",
            q(&|x| x.search = "last00001".into()),
        ),
        (
            "search \"grace corp9\" (capped)",
            q(&|x| x.search = "grace corp9".into()),
        ),
        (
            "quick search \"ad\" (20 hits, capped)",
            q(&|x| {
                x.search = "ad".into();
                x.page_size = 20;
            }),
        ),
    ];
    println!("median of {RUNS} calls of list_users:");
    println!("| query | median | matching users |");
    println!("|---|---:|---:|");
    for (name, query) in cases {
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut matched = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = store.list_users(&query).unwrap();
            times.push(t.elapsed());
            matched = page.total;
            assert!(!page.users.is_empty() || page.total == 0 || query.page > 0);
        }
        times.sort();
        println!(
            "| {name} | {:.2} ms | {matched} |",
            times[RUNS / 2].as_secs_f64() * 1e3
        );
    }
    let t = Instant::now();
    let stats = store.user_stats().unwrap();
    println!(
        "user_stats (start page counts): {:.3} ms, {} users",
        t.elapsed().as_secs_f64() * 1e3,
        stats.total
    );
}
