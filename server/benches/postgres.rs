//! Commit of 100k users through `apply_import` on the PostgreSQL engine
//! (parse, plan, users, batch, audit: one transaction) next to a bare
//! `COPY` of the same rows (encoded records and their columns) into a
//! table shaped like the engine's users table, with the same indexes, and
//! next to a same-work floor: every row `apply_import` wrote (users, search
//! words, batch, audit events) COPYed as it is, in binary, into a
//! fresh store's tables in one transaction. Prints the times and ratios. Runs on the server
//! ROSTER_TEST_DATABASE_URL names, or on a throwaway cluster it starts
//! (scripts/pg-test-cluster).
//! Run: `cargo bench -p server --bench postgres`.

use domain::plan::{NoUsers, plan};
use domain::store::Store;
use postgres::{Client, NoTls};
use server::engine::codec::encode;
use server::engine::postgres::PgStore;
use std::io::{Read, Write};
use std::time::Instant;

mod common;
use common::{ROWS, file, median, record, request};

const RUNS: usize = 3;

fn main() {
    let dir = std::env::temp_dir().join(format!("roster-pg-bench-{}", std::process::id()));
    let url = server::test_support::test_server(&dir).unwrap();
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
    let mut same_work = Vec::new();
    let mut rows: Option<Vec<(&str, Vec<u8>)>> = None;
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

        let written = rows.get_or_insert_with(|| {
            let mut client = Client::connect(&db_url, NoTls).unwrap();
            WRITTEN
                .iter()
                .map(|table| (*table, copy_out(&mut client, table)))
                .collect()
        });
        let floor_name = format!("{name}_floor");
        admin
            .batch_execute(&format!("CREATE DATABASE {floor_name}"))
            .unwrap();
        let floor_url = format!("{url} dbname={floor_name}");
        drop(PgStore::open(&floor_url).unwrap()); // the engine's schema
        let mut client = Client::connect(&floor_url, NoTls).unwrap();
        let t0 = Instant::now();
        let mut t = client.transaction().unwrap();
        for (table, data) in written.iter() {
            let mut w = t
                .copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
                .unwrap();
            w.write_all(data).unwrap();
            w.finish().unwrap();
        }
        t.commit().unwrap();
        same_work.push(t0.elapsed());
    }
    let (b, f, s) = (median(bare), median(full), median(same_work));
    record(
        "postgres-commit",
        &[("bare", b), ("roster", f), ("same_work", s)],
    );
    if let Some(written) = &rows {
        let sizes: Vec<String> = written
            .iter()
            .map(|(t, d)| format!("{t} {:.1} MB", d.len() as f64 / 1e6))
            .collect();
        println!("  rows written (binary COPY): {}", sizes.join(", "));
    }
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
    println!(
        "  same-work floor (the rows apply_import wrote, COPYed as they are): {:>8.1} ms; \
         apply_import is {:.2}x it",
        s.as_secs_f64() * 1e3,
        f.as_secs_f64() / s.as_secs_f64()
    );
    // A cluster of the bench's own is stopped by its watchdog on exit.
}

/// The tables an import writes, in the order the engine writes them.
const WRITTEN: [&str; 4] = ["users", "user_words", "batches", "audit"];

/// A table's rows in COPY's binary format, in their stored (written) order.
fn copy_out(client: &mut Client, table: &str) -> Vec<u8> {
    let mut data = Vec::new();
    client
        .copy_out(&format!("COPY {table} TO STDOUT (FORMAT binary)"))
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    data
}
