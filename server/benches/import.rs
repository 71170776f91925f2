//! Commit of 100k users through `apply_import` (parse, plan, write, batch
//! record, one transaction) next to a bare redb insert of the same encoded
//! records in one transaction. Prints both times and the ratio.
//! Run: `cargo bench -p server --bench import`.

use domain::plan::{NoUsers, plan};
use domain::store::Store;
use redb::{Database, TableDefinition};
use server::store::{RedbStore, encode};
use std::time::Instant;

mod common;
use common::{ROWS, file, median, record, request};

const RUNS: usize = 3;

fn main() {
    let bytes = file();
    let options = domain::Options::default();
    let users: Vec<domain::User> = plan(&bytes, &NoUsers, &options, domain::Actor::Owner)
        .expect("generated file plans")
        .creates()
        .map(|(_, u)| u.clone())
        .collect();

    let mut bare = Vec::new();
    let mut full = Vec::new();
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("bare.redb")).unwrap();
        const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
        let t0 = Instant::now();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(USERS).unwrap();
            for u in &users {
                t.insert(u.key().as_str(), encode(u).unwrap().as_slice())
                    .unwrap();
            }
        }
        txn.commit().unwrap();
        bare.push(t0.elapsed());

        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        let t0 = Instant::now();
        store.apply_import(request(&bytes)).unwrap();
        full.push(t0.elapsed());
        assert_eq!(store.user_count().unwrap(), ROWS as u64);
    }
    let (b, f) = (median(bare), median(full));
    record("redb-commit", &[("bare", b), ("roster", f)]);
    println!("import of {ROWS} new users, median of {RUNS} runs:");
    println!(
        "  bare redb insert (encode + insert + commit): {:>8.1} ms",
        b.as_secs_f64() * 1e3
    );
    println!(
        "  apply_import (decode, parse, plan, write, batch, commit): {:>8.1} ms",
        f.as_secs_f64() * 1e3
    );
    println!(
        "  ratio: {:.2}x (target <= 2x)",
        f.as_secs_f64() / b.as_secs_f64()
    );
}
