//! The redb store on real files in temporary folders: atomic imports,
//! stale previews, history and undo.

use domain::Actor;
use domain::options;
use domain::store::{ImportOutcome, ImportRequest, Store, StoreError, UndoOutcome, sha256_hex};
use domain::user::{EndState, Role, Roles, Source};
use server::store::RedbStore;

/// The key of an address, made the one way keys are made.
fn k(email: &str) -> domain::UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

const HEAD: &str = "email,first_name,last_name,phone,title\n";

fn open() -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    (dir, store)
}

fn import(store: &RedbStore, csv: &str) -> ImportOutcome {
    import_with(store, csv, None, false)
}

fn import_with(
    store: &RedbStore,
    csv: &str,
    fingerprint: Option<&str>,
    skip_invalid: bool,
) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "users.csv",
            operator: "op@x.org",
            actor: Actor::Owner,
            expected_fingerprint: fingerprint,
            skip_invalid,
            corrected: None,
            now: 1_800_000_000,
        })
        .unwrap()
}

fn committed(o: ImportOutcome) -> (domain::store::BatchSummary, domain::ImportPlan) {
    match o {
        ImportOutcome::Committed { batch, plan } => (batch, plan),
        other => panic!("expected a commit, got {other:?}"),
    }
}

#[test]
fn create_update_reimport_is_idempotent() {
    let (_d, store) = open();
    let (b1, p1) = committed(import(
        &store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    assert_eq!((p1.counts.create, b1.id), (2, 1));
    let a = store.user(&k("a@x.org")).unwrap().unwrap();
    assert_eq!(
        (a.version, a.created_at, a.updated_at),
        (1, 1_800_000_000, 1_800_000_000)
    );

    let csv2 = format!("{HEAD}a@x.org,Ada,L,+1 2,Dr\nb@x.org,Bob,B,,\n");
    let (_, p2) = committed(import(&store, &csv2));
    assert_eq!((p2.counts.update, p2.counts.unchanged), (1, 1));
    assert_eq!(store.user(&k("a@x.org")).unwrap().unwrap().version, 2);

    // The same file again: nothing to write, and no empty batch.
    let p3 = match import(&store, &csv2) {
        ImportOutcome::NothingToWrite { plan } => plan,
        other => panic!("expected nothing to write, got {other:?}"),
    };
    assert_eq!(
        (p3.counts.create, p3.counts.update, p3.counts.unchanged),
        (0, 0, 2)
    );
    assert_eq!(store.user_count().unwrap(), 2);
    assert_eq!(store.batches().unwrap().len(), 2);
    assert_eq!(store.user(&k("a@x.org")).unwrap().unwrap().version, 2);
}

/// A copy of the stored ada@x.org under another address.
fn ada_like(store: &RedbStore, email: &str) -> domain::User {
    let mut u = store.user(&k("ada@x.org")).unwrap().unwrap();
    u.email = domain::Email::parse(email).unwrap();
    u
}

#[test]
fn matching_blank_cells_roles_end_state_source_and_options() {
    let (_d, store) = open();
    committed(import(&store, &format!("{HEAD}Ada@X.org,Ada,L,+1 2,Dr\n")));
    // Give Ada Admin and a manual source: an import adds roles, never removes.
    let mut ada = store.user(&k("ada@x.org")).unwrap().unwrap();
    ada.roles = Roles::of(&[Role::Admin]);
    ada.source = Source::Manual;
    store.put_user(ada, 1).unwrap();
    // Another active administrator, so that Ada may be deactivated.
    let mut keeper = ada_like(&store, "keeper@x.org");
    keeper.roles = Roles::of(&[Role::Admin]);
    store.put_user(keeper, 1).unwrap();
    store.set_option(options::END_STATE, "inactive").unwrap();
    store.set_option(options::ROLES, "self-service").unwrap();

    let (_, p) = committed(import(&store, &format!("{HEAD}ada@x.org,Ada,L,,\n")));
    assert_eq!(p.counts.update, 1);
    let ada = store.user(&k("ada@x.org")).unwrap().unwrap();
    assert_eq!(
        ada.profile.phone, "+1 2",
        "blank cell keeps the stored value"
    );
    assert_eq!(ada.profile.title, "Dr");
    assert_eq!(ada.roles, Roles::of(&[Role::Admin, Role::SelfService]));
    assert_eq!(ada.end_state, EndState::Inactive);
    assert_eq!(ada.source, Source::Csv);
    assert_eq!(
        ada.email.as_str(),
        "ada@x.org",
        "email case follows the file"
    );

    committed(import(&store, &format!("{HEAD}new@x.org,N,N,,\n")));
    let new = store.user(&k("new@x.org")).unwrap().unwrap();
    assert_eq!(
        (new.roles, new.end_state),
        (Roles::of(&[Role::SelfService]), EndState::Inactive)
    );
}

#[test]
fn stale_preview_writes_nothing_and_returns_a_fresh_plan() {
    let (_d, store) = open();
    committed(import(&store, &format!("{HEAD}a@x.org,Ada,L,,\n")));
    let csv = format!("{HEAD}a@x.org,Ada,L,,Eng\nc@x.org,C,C,,\n");
    let preview = store.preview(csv.as_bytes(), Actor::Owner).unwrap();
    // Someone edits Ada between preview and commit.
    let mut ada = store.user(&k("a@x.org")).unwrap().unwrap();
    ada.profile
        .set(domain::Field::LastName, "Lovelace")
        .unwrap();
    store.put_user(ada.clone(), 5).unwrap();
    let before_batches = store.batches().unwrap().len();

    match import_with(&store, &csv, Some(&preview.fingerprint), false) {
        ImportOutcome::ChangedSincePreview { plan } => {
            assert_ne!(plan.fingerprint, preview.fingerprint);
            let (_, before, _, _) = plan.updates().next().unwrap();
            assert_eq!(before.profile.last_name, "Lovelace");
        }
        other => panic!("expected changed-since-preview, got {other:?}"),
    }
    assert_eq!(store.user(&k("c@x.org")).unwrap(), None);
    assert_eq!(
        store.user(&k("a@x.org")).unwrap().unwrap().profile.title,
        ""
    );
    assert_eq!(store.batches().unwrap().len(), before_batches);

    // With the fresh plan's fingerprint it goes through.
    let fresh = store.preview(csv.as_bytes(), Actor::Owner).unwrap();
    committed(import_with(&store, &csv, Some(&fresh.fingerprint), false));
    assert_eq!(store.user_count().unwrap(), 2);
}

#[test]
fn invalid_rows_block_unless_skipped() {
    let (_d, store) = open();
    let csv = format!("{HEAD}a@x.org,Ada,L,,\nbroken,B,B,,\n");
    assert!(matches!(
        import(&store, &csv),
        ImportOutcome::Blocked { .. }
    ));
    assert_eq!(store.user_count().unwrap(), 0);
    assert!(store.batches().unwrap().is_empty());
    let (batch, plan) = committed(import_with(&store, &csv, None, true));
    assert_eq!((batch.counts.create, batch.counts.invalid), (1, 1));
    assert_eq!(plan.errors().next().unwrap().line, 3);
    assert_eq!(store.user_count().unwrap(), 1);
}

#[test]
fn file_errors_write_nothing() {
    let (_d, store) = open();
    let e = store
        .apply_import(ImportRequest {
            bytes: b"first_name\nA\n",
            file_name: "x.csv",
            operator: "op",
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: true,
            corrected: None,
            now: 0,
        })
        .unwrap_err();
    assert!(matches!(
        e,
        StoreError::File(domain::FileError::MissingColumn { .. })
    ));
    assert!(store.batches().unwrap().is_empty());
}

#[test]
fn undo_restores_exactly_the_before_state() {
    let (_d, store) = open();
    committed(import(&store, &format!("{HEAD}a@x.org,Ada,L,+1,Dr\n")));
    let before_a = store.user(&k("a@x.org")).unwrap().unwrap();
    let csv = format!("{HEAD}a@x.org,Ada,Lovelace,,Eng\nb@x.org,Bob,B,,\n");
    let (batch, _) = committed(import(&store, &csv));
    assert_eq!(
        store
            .batches_with_hash(&sha256_hex(csv.as_bytes()))
            .unwrap()[0]
            .id,
        batch.id
    );

    let undo = match store
        .undo_batch(batch.id, "op2", Actor::Owner, 1_900_000_000)
        .unwrap()
    {
        UndoOutcome::Undone { batch } => batch,
        other => panic!("{other:?}"),
    };
    assert_eq!(undo.undo_of, Some(batch.id));
    assert_eq!(store.user(&k("b@x.org")).unwrap(), None);
    let mut a = store.user(&k("a@x.org")).unwrap().unwrap();
    assert!(a.version > before_a.version, "a restore is a new version");
    a.version = before_a.version;
    a.updated_at = before_a.updated_at;
    assert_eq!(a, before_a);
    let history = store.batches().unwrap();
    assert_eq!(history[0].undo_of, Some(batch.id));
    assert_eq!(history[1].undone_by, Some(undo.id));
    // Neither can be undone again.
    assert!(matches!(
        store.undo_batch(batch.id, "op", Actor::Owner, 0),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.undo_batch(undo.id, "op", Actor::Owner, 0),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.undo_batch(99, "op", Actor::Owner, 0),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn undo_is_refused_after_a_later_edit() {
    let (_d, store) = open();
    let (batch, _) = committed(import(
        &store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    committed(import(&store, &format!("{HEAD}b@x.org,Bob,Builder,,\n")));
    match store.undo_batch(batch.id, "op", Actor::Owner, 0).unwrap() {
        UndoOutcome::Refused { changed } => assert_eq!(changed, ["b@x.org"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.user_count().unwrap(), 2, "nothing undone");
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
        store.set_option(options::MAX_ROWS, "5").unwrap();
        assert!(store.set_option(options::MAX_ROWS, "zero").is_err());
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.options().unwrap().max_rows, 5);
}

#[test]
fn a_manual_user_is_created_once_and_can_be_undone() {
    let (_dir, store) = open();
    let options = store.options().unwrap();
    let user = domain::manual::manual_user(
        &[
            (domain::Field::Email, "Max@Example.org"),
            (domain::Field::FirstName, "Max"),
            (domain::Field::LastName, "Muster"),
        ],
        &options,
    )
    .unwrap();
    let batch = store
        .create_user(user.clone(), "op@example.org", Actor::Owner, 1_700_000_000)
        .unwrap();
    assert_eq!(batch.counts.create, 1);
    assert_eq!(batch.file_name, "Manual input");
    let stored = store.user(&k("max@example.org")).unwrap().unwrap();
    assert_eq!(stored.source, domain::Source::Manual);
    assert_eq!(stored.created_at, 1_700_000_000);
    assert_eq!(stored.version, 1);

    // The same address again (any case) is refused and writes nothing.
    let mut again = user.clone();
    again
        .profile
        .set(domain::Field::FirstName, "Other")
        .unwrap();
    let err = store
        .create_user(again, "op@example.org", Actor::Owner, 1)
        .unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(store.user(&k("max@example.org")).unwrap().unwrap(), stored);
    assert_eq!(store.batches().unwrap().len(), 1);

    // It is in history and undoes like an import.
    match store
        .undo_batch(batch.id, "op@example.org", Actor::Owner, 2)
        .unwrap()
    {
        domain::store::UndoOutcome::Undone { .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(store.user(&k("max@example.org")).unwrap().is_none());
}

#[test]
fn several_options_are_set_all_or_nothing() {
    let (_dir, store) = open();
    let err = store
        .set_options(&[
            (options::END_STATE, "inactive"),
            (options::LINK_DAYS, "9999"),
        ])
        .unwrap_err();
    assert!(err.to_string().contains(options::LINK_DAYS), "{err}");
    assert_eq!(store.options().unwrap(), domain::Options::default());
    let after = store
        .set_options(&[(options::END_STATE, "inactive"), (options::LINK_DAYS, "3")])
        .unwrap();
    assert_eq!(after.end_state, EndState::Inactive);
    assert_eq!(after.link_days, 3);
    assert_eq!(store.options().unwrap(), after);
}

#[test]
fn a_profile_edit_checks_the_version_and_touches_only_the_profile() {
    let (_dir, store) = open();
    committed(import(
        &store,
        &format!("{HEAD}ada@x.org,Ada,L,+41 1,CEO\n"),
    ));
    let before = store.user(&k("ada@x.org")).unwrap().unwrap();
    let mut profile = before.profile.clone();

    // Nothing changed: no new version.
    let same = store
        .update_profile(&k("ada@x.org"), profile.clone(), before.version, 5)
        .unwrap();
    assert_eq!(same, before);

    profile.set(domain::Field::Phone, "+41 2").unwrap();
    let after = store
        .update_profile(&k("ada@x.org"), profile.clone(), before.version, 7)
        .unwrap();
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.updated_at, 7);
    assert_eq!(after.profile.phone, "+41 2");
    assert_eq!(
        (after.roles, after.end_state, after.source),
        (before.roles, before.end_state, before.source)
    );
    assert_eq!(store.user(&k("ada@x.org")).unwrap().unwrap(), after);

    // A stale version writes nothing.
    profile.set(domain::Field::Phone, "+41 3").unwrap();
    let err = store
        .update_profile(&k("ada@x.org"), profile, before.version, 9)
        .unwrap_err();
    assert!(err.to_string().contains("changed meanwhile"), "{err}");
    assert_eq!(store.user(&k("ada@x.org")).unwrap().unwrap(), after);
}
