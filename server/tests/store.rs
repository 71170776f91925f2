//! What only the redb engine has: one process per file, and a store that
//! lives in a folder. Everything else every engine does is in the
//! conformance suite (`conformance.rs`).

use domain::options;
use domain::store::{Store, StoreError};
use server::engine::redb::RedbStore;

fn open() -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn a_second_open_of_the_same_folder_is_refused_clearly() {
    let (dir, _store) = open();
    match RedbStore::open(dir.path()) {
        Err(StoreError::Locked(m)) => assert!(m.contains("in use"), "{m}"),
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn options_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        assert_eq!(store.options().unwrap(), domain::Options::default());
        store
            .set_option(options::MAX_ROWS, "5", &domain::By::Cli, 1)
            .unwrap();
        assert!(
            store
                .set_option(options::MAX_ROWS, "zero", &domain::By::Cli, 1)
                .is_err()
        );
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.options().unwrap().max_rows, 5);
}
