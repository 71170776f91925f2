//! Commit of 100k users through `apply_import` (parse, plan, write, batch
//! record, one transaction) next to a bare redb insert of the same encoded
//! records in one transaction, and next to a same-work floor: every entry
//! `apply_import` wrote (users, their index entries, batch, audit events)
//! inserted as bytes, in its order, in one transaction. Prints the times
//! and the ratios.
//! Run: `cargo bench -p server --bench import`.

use domain::plan::{NoUsers, plan};
use domain::store::Store;
use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable, ReadableTable,
    TableDefinition,
};
use server::engine::codec::encode;
use server::engine::redb::RedbStore;
use std::collections::HashMap;
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
    let mut same_work = Vec::new();
    let mut entries: Option<Written> = None;
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

        let w = entries.get_or_insert_with(|| written(&store, &users));
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("floor.redb")).unwrap();
        let t0 = Instant::now();
        insert_written(&db, w);
        same_work.push(t0.elapsed());
    }
    if let Some(w) = &entries {
        println!("{}", w.summary());
    }
    let (b, f, s) = (median(bare), median(full), median(same_work));
    record(
        "redb-commit",
        &[("bare", b), ("roster", f), ("same_work", s)],
    );
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
    println!(
        "  same-work floor (the entries apply_import wrote, as bytes): {:>8.1} ms; \
         apply_import is {:.2}x it",
        s.as_secs_f64() * 1e3,
        f.as_secs_f64() / s.as_secs_f64()
    );
}

/// Every entry `apply_import` wrote for the file, read back from its store:
/// the floor inserts exactly these bytes.
struct Written {
    /// Per user, in the file's order: the users row and its index entries.
    users: Vec<(String, Vec<u8>)>,
    by_email: HashMap<String, String>,
    /// Index entries ("sort key \0 email key" → facets) by email key.
    by_name: HashMap<String, Vec<(String, String)>>,
    by_updated: HashMap<String, Vec<(String, String)>>,
    words: HashMap<String, Vec<(String, String)>>,
    counts: Vec<(String, u64)>,
    batches: Vec<(u64, Vec<u8>)>,
    /// Audit events in id order, with the email key each is filed under.
    audit: Vec<(u64, Vec<u8>, String)>,
    meta: Vec<(String, u64)>,
}

impl Written {
    /// How many entries and bytes each part is.
    fn summary(&self) -> String {
        let sized = |m: &HashMap<String, Vec<(String, String)>>| {
            let e = m.values().flatten();
            (
                e.clone().count(),
                e.map(|(k, v)| k.len() + v.len()).sum::<usize>(),
            )
        };
        let (names, names_b) = sized(&self.by_name);
        let (updated, updated_b) = sized(&self.by_updated);
        let (words, words_b) = sized(&self.words);
        let users_b: usize = self.users.iter().map(|(k, v)| k.len() + v.len()).sum();
        let email_b: usize = self.by_email.iter().map(|(k, v)| k.len() + v.len()).sum();
        let audit_b: usize = self
            .audit
            .iter()
            .map(|(_, e, k)| 8 + e.len() + k.len() + 8)
            .sum();
        let mb = |b: usize| b as f64 / 1e6;
        format!(
            "  entries written: users {} ({:.1} MB), by email {} ({:.1} MB), by name {} \
             ({:.1} MB), by update time {} ({:.1} MB), search words {} ({:.1} MB), audit \
             events {} with their by-user entries ({:.1} MB)",
            self.users.len(),
            mb(users_b),
            self.by_email.len(),
            mb(email_b),
            names,
            mb(names_b),
            updated,
            mb(updated_b),
            words,
            mb(words_b),
            self.audit.len(),
            mb(audit_b)
        )
    }
}

const T_USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const T_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");
const T_BY_NAME: TableDefinition<&str, &str> = TableDefinition::new("users_by_name");
const T_BY_UPDATED: TableDefinition<&str, &str> = TableDefinition::new("users_by_updated");
const T_WORDS: TableDefinition<&str, &str> = TableDefinition::new("user_words");
const T_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("user_counts");
const T_BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
const T_AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
const T_AUDIT_BY_USER: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("audit_by_user");
const T_META: TableDefinition<&str, u64> = TableDefinition::new("meta");

fn by_email_key(
    txn: &redb::ReadTransaction,
    table: TableDefinition<&str, &str>,
) -> HashMap<String, Vec<(String, String)>> {
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for item in txn.open_table(table).unwrap().iter().unwrap() {
        let (k, v) = item.unwrap();
        let (k, v) = (k.value().to_string(), v.value().to_string());
        let key = k.rsplit('\0').next().unwrap().to_string();
        out.entry(key).or_default().push((k, v));
    }
    out
}

fn written(store: &RedbStore, order: &[domain::User]) -> Written {
    let txn = store.db().begin_read().unwrap();
    let users_table = txn.open_table(T_USERS).unwrap();
    let users = order
        .iter()
        .map(|u| {
            let key = u.key().as_str();
            let value = users_table.get(key).unwrap().unwrap().value().to_vec();
            (key.to_string(), value)
        })
        .collect();
    let by_email = txn
        .open_table(T_BY_EMAIL)
        .unwrap()
        .iter()
        .unwrap()
        .map(|i| {
            let (k, v) = i.unwrap();
            (k.value().to_string(), v.value().to_string())
        })
        .collect();
    let numbers = |table: TableDefinition<&str, u64>| -> Vec<(String, u64)> {
        let table = txn.open_table(table).unwrap();
        let entries = table.iter().unwrap().map(|i| {
            let (k, v) = i.unwrap();
            (k.value().to_string(), v.value())
        });
        entries.collect()
    };
    let (counts, meta) = (numbers(T_COUNTS), numbers(T_META));
    let batches = txn
        .open_table(T_BATCHES)
        .unwrap()
        .iter()
        .unwrap()
        .map(|i| {
            let (k, v) = i.unwrap();
            (k.value(), v.value().to_vec())
        })
        .collect();
    let mut filed_under = HashMap::new();
    for item in txn
        .open_multimap_table(T_AUDIT_BY_USER)
        .unwrap()
        .iter()
        .unwrap()
    {
        let (k, ids) = item.unwrap();
        for id in ids {
            filed_under.insert(id.unwrap().value(), k.value().to_string());
        }
    }
    let audit = txn
        .open_table(T_AUDIT)
        .unwrap()
        .iter()
        .unwrap()
        .map(|i| {
            let (k, v) = i.unwrap();
            let id = k.value();
            (id, v.value().to_vec(), filed_under[&id].clone())
        })
        .collect();
    Written {
        users,
        by_email,
        by_name: by_email_key(&txn, T_BY_NAME),
        by_updated: by_email_key(&txn, T_BY_UPDATED),
        words: by_email_key(&txn, T_WORDS),
        counts,
        batches,
        audit,
        meta,
    }
}

/// The same-work floor: the entries `apply_import` wrote, inserted as
/// they are (nothing parsed, planned, looked up or encoded) in the order
/// it writes them — per user its row and index entries, then the batch,
/// then the audit events — in one transaction.
fn insert_written(db: &Database, w: &Written) {
    let txn = db.begin_write().unwrap();
    {
        let mut users = txn.open_table(T_USERS).unwrap();
        let mut by_email = txn.open_table(T_BY_EMAIL).unwrap();
        let mut by_name = txn.open_table(T_BY_NAME).unwrap();
        let mut by_updated = txn.open_table(T_BY_UPDATED).unwrap();
        let mut words = txn.open_table(T_WORDS).unwrap();
        for (key, value) in &w.users {
            users.insert(key.as_str(), value.as_slice()).unwrap();
            by_email
                .insert(key.as_str(), w.by_email[key].as_str())
                .unwrap();
            for (table, entries) in [
                (&mut by_name, &w.by_name),
                (&mut by_updated, &w.by_updated),
                (&mut words, &w.words),
            ] {
                for (k, v) in entries.get(key).into_iter().flatten() {
                    table.insert(k.as_str(), v.as_str()).unwrap();
                }
            }
        }
        let mut counts = txn.open_table(T_COUNTS).unwrap();
        for (k, v) in &w.counts {
            counts.insert(k.as_str(), *v).unwrap();
        }
        let mut batches = txn.open_table(T_BATCHES).unwrap();
        for (k, v) in &w.batches {
            batches.insert(*k, v.as_slice()).unwrap();
        }
        let mut audit = txn.open_table(T_AUDIT).unwrap();
        let mut by_user = txn.open_multimap_table(T_AUDIT_BY_USER).unwrap();
        for (id, event, key) in &w.audit {
            audit.insert(*id, event.as_slice()).unwrap();
            by_user.insert(key.as_str(), *id).unwrap();
        }
        let mut meta = txn.open_table(T_META).unwrap();
        for (k, v) in &w.meta {
            meta.insert(k.as_str(), *v).unwrap();
        }
    }
    txn.commit().unwrap();
}
