//! Commit of 100k users through `apply_import` on the PostgreSQL engine
//! (parse, plan, users, batch, audit: one transaction) next to a bare
//! `COPY` of the same rows (encoded records and their columns) into a
//! table shaped like the engine's users table, with the same indexes.
//! Prints both times and the ratio. Runs on the server
//! ROSTER_TEST_DATABASE_URL names, or on a throwaway cluster it starts
//! (scripts/pg-test-cluster).
//! Run: `cargo bench -p server --bench postgres`.

use domain::plan::{NoUsers, plan};
use domain::store::Store;
use postgres::{Client, NoTls};
use server::pg::PgStore;
use server::store::encode;
use std::io::Write;
use std::time::Instant;

mod common;
use common::{ROWS, file, median, record, request};

const RUNS: usize = 3;

fn main() {
    let dir = std::env::temp_dir().join(format!("roster-pg-bench-{}", std::process::id()));
    let url = server::pg::test_server(&dir).unwrap();
    let bytes = file();
    let options = domain::Options::default();
    let users: Vec<domain::User> = plan(&bytes, &NoUsers, &options, domain::Actor::Owner)
        .expect("generated file plans")
        .creates()
        .map(|(_, u)| u.clone())
        .collect();
    let mut admin = Client::connect(&url, NoTls).unwrap();
    let mut bare = Vec::new();
    let mut full = Vec::new();
    for run in 0..RUNS {
        let name = format!("roster_bench_{}_{run}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let db_url = if url.contains("://") {
            panic!("give ROSTER_TEST_DATABASE_URL in key=value form for the bench")
        } else {
            format!("{url} dbname={name}")
        };

        // Bare: the same rows COPYed into a table shaped like the engine's
        // users table (same columns, same indexes), one transaction.
        let store = PgStore::open(&db_url).unwrap();
        let mut client = Client::connect(&db_url, NoTls).unwrap();
        client
            .batch_execute("CREATE TABLE bare_users (LIKE users INCLUDING ALL)")
            .unwrap();
        let t0 = Instant::now();
        let mut t = client.transaction().unwrap();
        {
            let mut w = t
                .copy_in(
                    "COPY bare_users (key, record, active_admin, active, source, name_key, \
                     updated_at) FROM STDIN",
                )
                .unwrap();
            let mut line = Vec::new();
            for u in &users {
                line.clear();
                writeln!(
                    line,
                    "{}\t\\\\x{}\tf\tt\t{}\t{}\t{}",
                    u.key(),
                    hex::encode(encode(u).unwrap()),
                    u.source.key(),
                    domain::directory::name_key(u),
                    u.updated_at
                )
                .unwrap();
                w.write_all(&line).unwrap();
            }
            w.finish().unwrap();
        }
        t.commit().unwrap();
        bare.push(t0.elapsed());
        drop(client);

        let t0 = Instant::now();
        store.apply_import(request(&bytes)).unwrap();
        full.push(t0.elapsed());
        assert_eq!(store.user_count().unwrap(), ROWS as u64);
    }
    let (b, f) = (median(bare), median(full));
    record("postgres-commit", &[("bare", b), ("roster", f)]);
    println!("PostgreSQL: import of {ROWS} new users, median of {RUNS} runs:");
    println!(
        "  bare COPY (encode + COPY + commit): {:>8.1} ms",
        b.as_secs_f64() * 1e3
    );
    println!(
        "  apply_import (parse, plan, users, batch, audit, commit): {:>8.1} ms",
        f.as_secs_f64() * 1e3
    );
    println!(
        "  ratio: {:.2}x (target <= 2x)",
        f.as_secs_f64() / b.as_secs_f64()
    );
    // A cluster of the bench's own is stopped by its watchdog on exit.
}
