//! The privilege and last-administrator rules as the redb store enforces
//! them inside its transactions, and what undo and deactivation do to
//! credentials, links and sessions.

use domain::store::{Credentials, ImportOutcome, ImportRequest, Store, StoreError, UndoOutcome};
use domain::user::{EndState, Role, Roles};
use domain::{Actor, options};
use server::engine::redb::RedbStore;

/// The key of an address, made the one way keys are made.
fn k(email: &str) -> domain::UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

const HEAD: &str = "email,first_name,last_name,title\n";

fn operator() -> Actor {
    Actor::User(Roles::of(&[
        Role::SelfService,
        Role::Operator,
        Role::Approval,
    ]))
}

fn admin() -> Actor {
    Actor::User(Roles::of(&[Role::Admin, Role::SelfService]))
}

fn import(store: &RedbStore, csv: &str, actor: Actor, skip_invalid: bool) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "users.csv",
            operator: domain::By::parse("someone"),
            actor,
            expected_fingerprint: None,
            skip_invalid,
            corrected: None,
            now: 1_800_000_000,
        })
        .unwrap()
}

/// A store with one active administrator, root@x.org, and an operator,
/// op@x.org.
fn store() -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let csv = format!("{HEAD}root@x.org,Root,Admin,Boss\nop@x.org,Op,Erator,\n");
    assert!(matches!(
        import(&store, &csv, Actor::Owner, false),
        ImportOutcome::Committed { .. }
    ));
    let mut root = store.user(&k("root@x.org")).unwrap().unwrap();
    root.roles = Roles::of(&[Role::Admin, Role::SelfService]);
    store.put_user(root, 1_800_000_000).unwrap();
    (dir, store)
}

#[test]
fn an_operators_import_never_changes_an_administrator() {
    let (_d, store) = store();
    let root_before = store.user(&k("root@x.org")).unwrap().unwrap();
    let csv = format!("{HEAD}root@x.org,Mallory,Admin,Boss\nnew@x.org,New,User,\n");
    // Without "skip invalid rows" nothing is written.
    match import(&store, &csv, operator(), false) {
        ImportOutcome::Blocked { plan } => {
            let e = plan.errors().next().unwrap();
            assert_eq!(e.line, 2);
            assert_eq!(
                e.message,
                "administrators can only be changed by an administrator"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(store.user(&k("new@x.org")).unwrap().is_none());
    // With it, the rest is written and the administrator stays as is.
    match import(&store, &csv, operator(), true) {
        ImportOutcome::Committed { batch, .. } => {
            assert_eq!((batch.counts.create, batch.counts.invalid), (1, 1))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.user(&k("root@x.org")).unwrap().unwrap(), root_before);
    // An administrator's import may.
    assert!(matches!(
        import(&store, &csv, admin(), true),
        ImportOutcome::Committed { .. }
    ));
    assert_eq!(
        store
            .user(&k("root@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .first_name(),
        "Mallory"
    );
}

#[test]
fn a_preview_made_with_more_authority_is_refused_at_commit() {
    // A browser could plan as if it were an administrator and send that
    // plan's fingerprint: the server plans with the session's authority.
    let (_d, store) = store();
    let csv = format!("{HEAD}root@x.org,Mallory,Admin,Boss\n");
    let as_admin = store.preview(csv.as_bytes(), admin()).unwrap();
    assert_eq!(as_admin.counts.update, 1);
    let outcome = store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "users.csv",
            operator: domain::By::parse("op@x.org"),
            actor: operator(),
            expected_fingerprint: Some(&as_admin.fingerprint),
            skip_invalid: true,
            corrected: None,
            now: 1,
        })
        .unwrap();
    assert!(
        matches!(outcome, ImportOutcome::ChangedSincePreview { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        store
            .user(&k("root@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .first_name(),
        "Root"
    );
}

#[test]
fn no_import_leaves_the_store_without_an_active_administrator() {
    let (_d, store) = store();
    store
        .set_option(options::END_STATE, "inactive", &domain::By::Cli, 1)
        .expect("option");
    let csv = format!("{HEAD}root@x.org,Root,Admin,Boss\n");
    for actor in [admin(), Actor::Owner] {
        let err = store
            .apply_import(ImportRequest {
                bytes: csv.as_bytes(),
                file_name: "users.csv",
                operator: domain::By::parse("root@x.org"),
                actor,
                expected_fingerprint: None,
                skip_invalid: false,
                corrected: None,
                now: 1,
            })
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Forbidden(m) if m.contains("no active administrator")),
            "{err:?}"
        );
    }
    assert_eq!(
        store.user(&k("root@x.org")).unwrap().unwrap().end_state,
        EndState::Active
    );
    assert_eq!(store.batches().unwrap().len(), 1, "no batch recorded");

    // With a second active administrator, the first may be deactivated.
    store
        .set_option(options::END_STATE, "active", &domain::By::Cli, 1)
        .unwrap();
    store
        .set_option(options::ROLES, "admin", &domain::By::Cli, 1)
        .unwrap();
    import(
        &store,
        &format!("{HEAD}second@x.org,Sec,Ond,\n"),
        admin(),
        false,
    );
    store
        .set_option(options::END_STATE, "inactive", &domain::By::Cli, 1)
        .unwrap();
    assert!(matches!(
        import(&store, &csv, admin(), false),
        ImportOutcome::Committed { .. }
    ));
    assert_eq!(
        store.user(&k("root@x.org")).unwrap().unwrap().end_state,
        EndState::Inactive
    );
}

#[test]
fn an_operator_cannot_undo_a_change_to_an_administrator() {
    let (_d, store) = store();
    let csv = format!("{HEAD}root@x.org,Root,Admin,Chief\n");
    let batch = match import(&store, &csv, admin(), false) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let err = store
        .undo_batch(batch.id, &domain::By::parse("op@x.org"), operator(), 2)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("administrator")),
        "{err:?}"
    );
    assert_eq!(
        store
            .user(&k("root@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .title(),
        "Chief"
    );
    assert!(matches!(
        store
            .undo_batch(batch.id, &domain::By::parse("root@x.org"), admin(), 2)
            .unwrap(),
        UndoOutcome::Undone { .. }
    ));
    assert_eq!(
        store
            .user(&k("root@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .title(),
        "Boss"
    );
}

#[test]
fn undo_that_would_remove_the_last_administrator_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    store
        .set_option(options::ROLES, "admin", &domain::By::Cli, 1)
        .unwrap();
    let batch = match import(
        &store,
        &format!("{HEAD}only@x.org,Only,Admin,\n"),
        Actor::Owner,
        false,
    ) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let err = store
        .undo_batch(batch.id, &domain::By::Cli, Actor::Owner, 2)
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert!(store.user(&k("only@x.org")).unwrap().is_some());
}

#[test]
fn undoing_a_create_removes_the_users_credentials() {
    let (_d, store) = store();
    let batch = match import(&store, &format!("{HEAD}x@x.org,X,Y,\n"), operator(), false) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let link = store
        .create_link(&k("x@x.org"), 1, 7, &domain::By::parse("test"), operator())
        .unwrap();
    store
        .set_password(
            &k("x@x.org"),
            "$argon2id$old",
            5_000,
            &domain::By::parse("test"),
        )
        .unwrap();
    let spare = store
        .create_link(&k("x@x.org"), 1, 7, &domain::By::parse("test"), admin())
        .unwrap();
    // The user has a password now: removing it is a reset, for an
    // administrator only.
    assert!(matches!(
        store.undo_batch(batch.id, &domain::By::parse("op@x.org"), operator(), 2),
        Err(domain::store::StoreError::Forbidden(_))
    ));
    assert!(matches!(
        store
            .undo_batch(batch.id, &domain::By::parse("boss@x.org"), admin(), 2)
            .unwrap(),
        UndoOutcome::Undone { .. }
    ));
    assert_eq!(store.password_hash(&k("x@x.org")).unwrap(), None);
    assert_eq!(store.password_epoch(&k("x@x.org")).unwrap(), 0);
    assert_eq!(store.peek_link(&link, 1).unwrap(), None);
    assert_eq!(store.peek_link(&spare, 1).unwrap(), None);
    // The same address, created again, inherits nothing.
    import(&store, &format!("{HEAD}x@x.org,X,Y,\n"), operator(), false);
    assert_eq!(store.password_hash(&k("x@x.org")).unwrap(), None);
}

#[test]
fn deactivation_by_import_revokes_the_users_links() {
    let (_d, store) = store();
    import(&store, &format!("{HEAD}x@x.org,X,Y,\n"), operator(), false);
    let link = store
        .create_link(&k("x@x.org"), 1, 7, &domain::By::parse("test"), operator())
        .unwrap();
    store
        .set_option(options::END_STATE, "inactive", &domain::By::Cli, 1)
        .unwrap();
    import(&store, &format!("{HEAD}x@x.org,X,Y,\n"), operator(), false);
    assert_eq!(
        store.user(&k("x@x.org")).unwrap().unwrap().end_state,
        EndState::Inactive
    );
    assert_eq!(store.peek_link(&link, 1).unwrap(), None);
}

#[test]
fn an_operator_creates_no_administrators_by_hand() {
    let (_d, store) = store();
    let mut options = store.options().unwrap();
    options.roles = Roles::of(&[Role::Admin]);
    let user = domain::manual::manual_user(
        &[
            (domain::Field::Email, "boss@x.org"),
            (domain::Field::FirstName, "B"),
            (domain::Field::LastName, "C"),
        ],
        &options,
    )
    .unwrap();
    let err = store
        .create_user(user.clone(), &domain::By::parse("op@x.org"), operator(), 1)
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert!(store.user(&k("boss@x.org")).unwrap().is_none());
    assert!(
        store
            .create_user(user, &domain::By::parse("root@x.org"), admin(), 1)
            .is_ok()
    );
}

#[test]
fn deactivation_ends_access_at_once_and_activation_restores_it() {
    use tower_sessions::SessionStore;
    let (_d, store) = store();
    import(&store, &format!("{HEAD}x@x.org,X,Y,\n"), operator(), false);
    let link = store
        .create_link(&k("x@x.org"), 1, 7, &domain::By::parse("test"), operator())
        .unwrap();
    let store = std::sync::Arc::new(store);
    let sessions = server::web::sessions::EngineSessionStore::new(store.clone());
    let mut record = tower_sessions::session::Record {
        id: Default::default(),
        data: Default::default(),
        expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::hours(1),
    };
    record.data.insert(
        domain::store::SESSION_USER.into(),
        serde_json::json!({ "key": "x@x.org", "signed_in_ms": 1 }),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(sessions.create(&mut record)).unwrap();

    let user = store
        .set_end_state(
            &k("x@x.org"),
            EndState::Inactive,
            &domain::By::parse("op@x.org"),
            operator(),
            5,
        )
        .unwrap();
    assert_eq!(user.end_state, EndState::Inactive);
    assert_eq!(store.peek_link(&link, 1).unwrap(), None, "links revoked");
    assert_eq!(
        runtime.block_on(sessions.load(&record.id)).unwrap(),
        None,
        "sessions ended"
    );
    // Again: nothing changes, no new version.
    let again = store
        .set_end_state(
            &k("x@x.org"),
            EndState::Inactive,
            &domain::By::parse("op@x.org"),
            operator(),
            6,
        )
        .unwrap();
    assert_eq!(again.version, user.version);
    let back = store
        .set_end_state(
            &k("x@x.org"),
            EndState::Active,
            &domain::By::parse("op@x.org"),
            operator(),
            7,
        )
        .unwrap();
    assert_eq!(
        (back.end_state, back.version),
        (EndState::Active, user.version + 1)
    );
}

#[test]
fn an_operator_deactivates_no_administrator_and_nobody_the_last_one() {
    let (_d, store) = store();
    let err = store
        .set_end_state(
            &k("root@x.org"),
            EndState::Inactive,
            &domain::By::parse("op@x.org"),
            operator(),
            1,
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Forbidden(ref m) if m.contains("administrator")),
        "{err:?}"
    );
    for actor in [admin(), Actor::Owner] {
        let err = store
            .set_end_state(
                &k("root@x.org"),
                EndState::Inactive,
                &domain::By::parse("op@x.org"),
                actor,
                1,
            )
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Forbidden(ref m) if m.contains("no active administrator")),
            "{err:?}"
        );
    }
    assert_eq!(
        store.user(&k("root@x.org")).unwrap().unwrap().end_state,
        EndState::Active
    );
    assert!(matches!(
        store.set_end_state(
            &k("nobody@x.org"),
            EndState::Inactive,
            &domain::By::parse("op@x.org"),
            admin(),
            1
        ),
        Err(StoreError::NotFound(_))
    ));
}
