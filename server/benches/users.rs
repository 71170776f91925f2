//! The Users page and the start page over a 1M-user store, on redb and on
//! PostgreSQL side by side: p50 and p99 of `list_users` (what the
//! `list_users` and `search_users` server functions run, less HTTP) for
//! the first page in each sort order, deep pages, filters and searches,
//! and of the start page's reads (`user_stats`, `recent_batches`). Also
//! prints how long each store took to build (one import of 1M rows,
//! indexes included). PostgreSQL runs on the server
//! ROSTER_TEST_DATABASE_URL names, or on a throwaway cluster
//! (scripts/pg-test-cluster).
//! Run: `cargo bench -p server --bench users` (ROSTER_BENCH_USERS to
//! change the size; ROSTER_BENCH_REDB=0 leaves redb out, for a size whose
//! two stores would not fit the disk together).

use domain::directory::{UserQuery, UserSort};
use domain::store::{ImportRequest, Store};
use domain::user::{EndState, Source};
use server::engine::postgres::PgStore;
use server::engine::redb::RedbStore;
use std::time::{Duration, Instant};

mod common;

const RUNS: usize = 101;

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

fn import(store: &dyn Store, bytes: &[u8]) {
    store
        .apply_import(ImportRequest {
            now: 1_800_000_000,
            ..common::request(bytes)
        })
        .unwrap();
}

/// The most rows a file may have (the option `import.max_rows`' default):
/// a larger store is built by several imports.
const MAX_ROWS: usize = 1_000_000;

/// Builds the store: `total` users, 1 % of them inactive (imports of at
/// most [`MAX_ROWS`] active users, then one of the inactive).
fn build(store: &dyn Store, total: usize, engine: &str) {
    let inactive = total / 100;
    let t0 = Instant::now();
    let active = total - inactive;
    for from in (0..active).step_by(MAX_ROWS) {
        import(store, &file(MAX_ROWS.min(active - from), from));
    }
    let built_active = t0.elapsed();
    store
        .set_option("import.end_state", "inactive", &domain::By::Cli, 1)
        .unwrap();
    import(store, &file(inactive, total - inactive));
    let built = t0.elapsed();
    assert_eq!(store.user_count().unwrap(), total as u64);
    println!(
        "{engine}: store of {total} users built in {:.1} s ({} active in imports of at most {MAX_ROWS}: {:.1} s, then {inactive} inactive)",
        built.as_secs_f64(),
        total - inactive,
        built_active.as_secs_f64()
    );
}

/// What each measured call reads.
enum Read {
    List(UserQuery),
    /// The start page's data: `user_stats` and `recent_batches(5)`.
    Start,
}

/// p50 and p99 of [`RUNS`] calls (after one warm-up), and what the last
/// call answered.
fn measure(store: &dyn Store, read: &Read) -> (Duration, Duration, String) {
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut shown = String::new();
    for run in 0..=RUNS {
        let t = Instant::now();
        match read {
            Read::List(query) => {
                let page = store.list_users(query).unwrap();
                if run == 0 {
                    assert!(!page.users.is_empty() || page.total == 0 || query.page > 0);
                }
                shown = format!("{}{}", if page.capped { "> " } else { "" }, page.total);
            }
            Read::Start => {
                let stats = store.user_stats().unwrap();
                let recent = store.recent_batches(5).unwrap();
                shown = format!("{} users, {} imports", stats.total, recent.len());
            }
        }
        if run > 0 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    let p99 = times[(times.len() * 99).div_ceil(100) - 1];
    (times[times.len() / 2], p99, shown)
}

fn main() {
    let total: usize = std::env::var("ROSTER_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let redb = (std::env::var("ROSTER_BENCH_REDB").as_deref() != Ok("0")).then(|| {
        let redb = RedbStore::open(dir.path()).unwrap();
        build(&redb, total, "redb");
        redb
    });
    // PostgreSQL: the server ROSTER_TEST_DATABASE_URL names (key=value
    // form), or a throwaway cluster of the bench's own.
    let pg_dir = std::env::temp_dir().join(format!("roster-pg-users-{}", std::process::id()));
    let url = server::test_support::test_server(&pg_dir).unwrap();
    assert!(
        !url.contains("://"),
        "give ROSTER_TEST_DATABASE_URL in key=value form for the bench"
    );
    let name = format!("roster_users_bench_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let db_url = format!("{url} dbname={name}");
    let pg = PgStore::open(&db_url).unwrap();
    build(&pg, total, "PostgreSQL");
    // What autovacuum does after a large insert, done now rather than
    // waited for: the visibility map lets index-only scans skip the heap.
    let t = Instant::now();
    postgres::Client::connect(&db_url, postgres::NoTls)
        .unwrap()
        .batch_execute("VACUUM ANALYZE")
        .unwrap();
    println!(
        "PostgreSQL: VACUUM ANALYZE {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let q = |f: &dyn Fn(&mut UserQuery)| {
        let mut query = UserQuery::default();
        f(&mut query);
        Read::List(query)
    };
    let cases: Vec<(&str, Read)> = vec![
        ("Users page (first page, by email)", q(&|_| {})),
        ("first page, by name", q(&|x| x.sort = UserSort::Name)),
        ("first page, by updated", q(&|x| x.sort = UserSort::Updated)),
        (
            "deep page: page 2 000 (offset 100 000), by name",
            q(&|x| {
                x.sort = UserSort::Name;
                x.page = 2_000;
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
            "search \"grace corp9\", by name",
            q(&|x| {
                x.search = "grace corp9".into();
                x.sort = UserSort::Name;
            }),
        ),
        (
            "quick search \"ad\" (20 hits, capped)",
            q(&|x| {
                x.search = "ad".into();
                x.page_size = 20;
            }),
        ),
        ("start page (user_stats + recent_batches(5))", Read::Start),
    ];
    println!("{total} users, {RUNS} calls each (after one warm-up), single-threaded:");
    println!(
        "| read | redb p50 | redb p99 | PostgreSQL p50 | PostgreSQL p99 | PG ÷ redb (p50) | answer |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (name, read) in &cases {
        let (p50, p99, pg_shown) = measure(&pg, read);
        let Some(redb) = &redb else {
            println!(
                "| {name} | – | – | {:.2} ms | {:.2} ms | – | {pg_shown} |",
                ms(p50),
                ms(p99)
            );
            continue;
        };
        let (r50, r99, shown) = measure(redb, read);
        // The engines must answer the same (the tests hold them to it).
        let shown = if shown == pg_shown {
            shown
        } else {
            format!("redb {shown} ≠ PostgreSQL {pg_shown}")
        };
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1}× | {shown} |",
            ms(r50),
            ms(r99),
            ms(p50),
            ms(p99),
            ms(p50) / ms(r50).max(0.001)
        );
    }
    drop(pg);
    let _ = admin.batch_execute(&format!("DROP DATABASE {name}"));
    // A cluster of the bench's own is stopped by its watchdog on exit.
}
