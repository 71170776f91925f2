//! The audit trail on a real redb file: an event exists exactly when its
//! change does (same transaction), with the actor and the fields changed.

use domain::audit::AuditAction;
use domain::store::{ImportOutcome, ImportRequest, Store, UndoOutcome};
use domain::user::{EndState, Role, Roles};
use domain::{Actor, UserKey};
use server::engine::redb::RedbStore;

fn k(email: &str) -> UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

fn import(store: &RedbStore, csv: &str, operator: &str) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "users.csv",
            operator: domain::By::parse(operator),
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 1_800_000_000,
        })
        .unwrap()
}

#[test]
fn every_change_is_recorded_with_its_actor_and_fields_and_failures_record_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let head = "email,first_name,last_name,title\n";
    let batch = match import(
        &store,
        &format!("{head}ada@x.org,Ada,L,Engineer\n"),
        "op1@x.org",
    ) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let history = store.user_history(&k("ada@x.org")).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, AuditAction::Import);
    assert_eq!(history[0].actor, "op1@x.org");
    assert_eq!(history[0].batch, Some(batch.id));
    assert!(
        history[0]
            .changes
            .iter()
            .any(|c| c.field == "title" && c.new == "Engineer")
    );

    // A blocked import (an invalid row) writes no user and no event.
    let blocked = import(
        &store,
        &format!("{head}ada@x.org,Ada,L,Manager\nbad,,,\n"),
        "op2@x.org",
    );
    assert!(matches!(blocked, ImportOutcome::Blocked { .. }));
    assert_eq!(store.user_history(&k("ada@x.org")).unwrap().len(), 1);

    // An update records the field old → new.
    let _second = match import(
        &store,
        &format!("{head}ada@x.org,Ada,L,Manager\n"),
        "op2@x.org",
    ) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let history = store.user_history(&k("ada@x.org")).unwrap();
    assert_eq!(history.len(), 2);
    let title = history[0]
        .changes
        .iter()
        .find(|c| c.field == "title")
        .unwrap();
    assert_eq!(
        (title.old.as_str(), title.new.as_str()),
        ("Engineer", "Manager")
    );

    // Deactivation and activation.
    store
        .set_end_state(
            &k("ada@x.org"),
            EndState::Inactive,
            &domain::By::parse("op3@x.org"),
            Actor::Owner,
            5,
        )
        .unwrap();
    store
        .set_end_state(
            &k("ada@x.org"),
            EndState::Active,
            &domain::By::parse("op3@x.org"),
            Actor::Owner,
            6,
        )
        .unwrap();
    let actions: Vec<AuditAction> = store
        .user_history(&k("ada@x.org"))
        .unwrap()
        .iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::Activate,
            AuditAction::Deactivate,
            AuditAction::Import,
            AuditAction::Import
        ]
    );
    // A refused change records nothing: Ada is the only administrator.
    let mut ada = store.user(&k("ada@x.org")).unwrap().unwrap();
    ada.roles = Roles::of(&[Role::Admin]);
    store.put_user(ada, 7).unwrap();
    let before = store.audit_log().unwrap().len();
    assert!(
        store
            .set_end_state(
                &k("ada@x.org"),
                EndState::Inactive,
                &domain::By::parse("op3@x.org"),
                Actor::Owner,
                8
            )
            .is_err()
    );
    assert_eq!(store.audit_log().unwrap().len(), before);

    let log = store.audit_log().unwrap();
    assert!(log.windows(2).all(|w| w[0].id > w[1].id), "newest first");

    // Undo is recorded too, with the batch that made it.
    let dir2 = tempfile::tempdir().unwrap();
    let fresh = RedbStore::open(dir2.path()).unwrap();
    let created = match import(&fresh, &format!("{head}bo@x.org,Bo,B,\n"), "op5@x.org") {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let undo = match fresh
        .undo_batch(
            created.id,
            &domain::By::parse("op6@x.org"),
            Actor::Owner,
            10,
        )
        .unwrap()
    {
        UndoOutcome::Undone { batch } => batch,
        other => panic!("{other:?}"),
    };
    let history = fresh.user_history(&k("bo@x.org")).unwrap();
    assert_eq!(history[0].action, AuditAction::Undo);
    assert_eq!(history[0].actor, "op6@x.org");
    assert_eq!(history[0].batch, Some(undo.id));
    assert!(
        history[0].changes.iter().all(|c| c.new.is_empty()),
        "removed"
    );
}

#[test]
fn passwords_and_sign_in_links_are_recorded_without_secrets() {
    use domain::store::Credentials;
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    import(&store, "email,first_name,last_name\nbo@x.org,Bo,B\n", "cli");
    let token = store
        .create_link(
            &k("bo@x.org"),
            1_800_000_000,
            7,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
        )
        .unwrap();
    store
        .redeem_link(&token, "$argon2id$secret-hash", 1_800_000_001_000)
        .unwrap()
        .unwrap();
    store
        .set_password(
            &k("bo@x.org"),
            "$argon2id$other",
            1_800_000_002_000,
            &domain::By::Cli,
        )
        .unwrap();
    let history = store.user_history(&k("bo@x.org")).unwrap();
    let seen: Vec<(AuditAction, &str)> = history
        .iter()
        .map(|e| (e.action, e.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (AuditAction::PasswordSet, "cli"),
            (AuditAction::PasswordSet, "bo@x.org"),
            (AuditAction::SignInLinkUsed, "bo@x.org"),
            (AuditAction::SignInLinkMade, "op@x.org"),
            (AuditAction::Import, "cli"),
        ]
    );
    let text = serde_json::to_string(&history).unwrap();
    assert!(
        !text.contains("argon2") && !text.contains(token.expose()),
        "{text}"
    );
}

#[test]
fn events_are_stored_compactly_and_events_of_the_older_format_still_read() {
    use redb::{ReadableDatabase, TableDefinition};
    use server::engine::codec::{decode_event, encode_event_into};
    const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    import(
        &store,
        "email,first_name,last_name,title,department\nada@x.org,Ada,Lovelace,Engineer,R&D\n",
        "op1@x.org",
    );
    let history = store.user_history(&k("ada@x.org")).unwrap();
    let event = history[0].clone();
    assert_eq!(event.id, 1);

    // The created user's event as stored now, and as a roster before the
    // compact format stored it (a whole `AuditEvent`).
    let stored = {
        let txn = store.db().begin_read().unwrap();
        let table = txn.open_table(AUDIT).unwrap();
        table.get(1).unwrap().unwrap().value().to_vec()
    };
    // Format 1: the whole event, postcard after the format byte; the
    // compact format with every value (schema 8); and now the event
    // without the values, which History derives from the record.
    let older = postcard::to_extend(&event, vec![1u8]).unwrap();
    let with_values = encode_event_into(Vec::new(), &event).unwrap();
    let marked = decode_event(1, &stored).unwrap();
    assert!(marked.is_marked());
    assert_eq!(
        (&marked.actor, &marked.target, marked.batch),
        (&event.actor, &event.target, event.batch)
    );
    assert!(
        stored.len() * 3 <= with_values.len() && with_values.len() * 4 <= older.len() * 3,
        "{} bytes now, {} with values, {} before",
        stored.len(),
        with_values.len(),
        older.len()
    );
    assert_eq!(decode_event(1, &with_values).unwrap(), event);
    assert_eq!(decode_event(1, &older).unwrap(), event);

    // A store whose event was written in the older format reads it as
    // before, beside events written now.
    let txn = store.db().begin_write().unwrap();
    txn.open_table(AUDIT)
        .unwrap()
        .insert(1, older.as_slice())
        .unwrap();
    txn.commit().unwrap();
    import(
        &store,
        "email,first_name,last_name,title,department\nada@x.org,Ada,Lovelace,Countess,R&D\n",
        "op2@x.org",
    );
    let history = store.user_history(&k("ada@x.org")).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], event);
    assert_eq!(history[0].actor, "op2@x.org");
    // The trail: the user's events, each import's head after them.
    let log = store.audit_log().unwrap();
    let (heads, users): (Vec<_>, Vec<_>) = log.into_iter().partition(|e| e.target.is_empty());
    assert_eq!(users, history);
    assert_eq!(
        heads.iter().map(|e| e.folded()).collect::<Vec<_>>(),
        [Some(3..4), Some(1..2)]
    );
}
