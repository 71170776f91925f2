//! The Users list, operator edits and role changes on a real redb file:
//! the indexes agree with the users through every kind of write, the list
//! pages exactly as the domain's rule over all users says, and an edit
//! writes its audit event in its own transaction (or nothing at all).

use domain::audit::{AuditAction, AuditQuery};
use domain::directory::{UserQuery, UserSort, page_of};
use domain::store::{EditOutcome, ImportOutcome, ImportRequest, Store, StoreError, UserEdit};
use domain::user::{EndState, Role, Roles, Source};
use domain::{Actor, Field, User, UserKey};
use server::engine::redb::RedbStore;

fn k(email: &str) -> UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

fn import(store: &RedbStore, csv: &str, now: i64) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "users.csv",
            operator: domain::By::parse("op@x.org"),
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now,
        })
        .unwrap()
}

fn batch_id(outcome: ImportOutcome) -> u64 {
    match outcome {
        ImportOutcome::Committed { batch, .. } => batch.id,
        other => panic!("{other:?}"),
    }
}

fn assert_consistent(store: &RedbStore) {
    store
        .check_indexes()
        .unwrap()
        .expect("indexes agree with users");
}

/// The store's answer equals the domain's rule applied to every user.
fn assert_same_as_rule(store: &RedbStore, query: &UserQuery) {
    let indexed = store.list_users(query).unwrap();
    let ruled = page_of(store.all_users().unwrap(), query, false);
    let emails = |users: &[User]| {
        users
            .iter()
            .map(|u| u.email.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(emails(&indexed.users), emails(&ruled.users), "{query:?}");
    assert_eq!(indexed.total, ruled.total, "{query:?}");
}

fn edit<'a>(key: &'a UserKey, cells: &'a [(Field, &'a str)], version: u64) -> UserEdit<'a> {
    UserEdit {
        key,
        cells,
        roles: None,
        expected_version: version,
        operator: domain::By::parse("op@x.org"),
        actor: Actor::User(Roles::of(&[Role::Operator])),
        now: 1_900_000_000,
    }
}

#[test]
fn indexes_stay_consistent_through_import_edit_deactivation_and_undo() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let head = "email,first_name,last_name,display_name\n";
    let first = batch_id(import(
        &store,
        &format!("{head}ada@x.org,Ada,Lovelace,\ngrace@y.org,Grace,Hopper,\n"),
        100,
    ));
    assert_consistent(&store);
    // An update that renames and a create, then an undo of the first batch
    // is refused (changed since), so undo the second instead.
    let second = batch_id(import(
        &store,
        &format!("{head}ada@x.org,Augusta,King,Augusta King\nalan@z.org,Alan,Turing,\n"),
        200,
    ));
    assert_consistent(&store);
    let search = |text: &str| {
        let q = UserQuery {
            search: text.into(),
            ..UserQuery::default()
        };
        store
            .list_users(&q)
            .unwrap()
            .users
            .into_iter()
            .map(|u| u.email.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(search("augusta"), ["ada@x.org"]);
    assert!(search("lovelace").is_empty(), "old words are gone");
    let ada = store.user(&k("ada@x.org")).unwrap().unwrap();
    let cells = [(Field::LastName, "Byron")];
    let saved = store
        .edit_user(edit(&k("ada@x.org"), &cells, ada.version))
        .unwrap();
    assert!(matches!(saved, EditOutcome::Saved(_)), "{saved:?}");
    assert_consistent(&store);
    assert_eq!(search("byr"), ["ada@x.org"]);
    store
        .set_end_state(
            &k("grace@y.org"),
            EndState::Inactive,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
            300,
        )
        .unwrap();
    assert_consistent(&store);
    let inactive = UserQuery {
        end_state: Some(EndState::Inactive),
        ..UserQuery::default()
    };
    assert_eq!(store.list_users(&inactive).unwrap().total, 1);
    // The second batch touched ada, edited since: refused; the first too.
    assert!(matches!(
        store
            .undo_batch(second, &domain::By::parse("op@x.org"), Actor::Owner, 400)
            .unwrap(),
        domain::store::UndoOutcome::Refused { .. }
    ));
    let third = batch_id(import(
        &store,
        &format!("{head}new@x.org,New,Person,\n"),
        500,
    ));
    store
        .undo_batch(third, &domain::By::parse("op@x.org"), Actor::Owner, 600)
        .unwrap();
    assert_consistent(&store);
    assert!(
        search("new").is_empty(),
        "an undone create leaves the index"
    );
    let _ = first;
    let stats = store.user_stats().unwrap();
    assert_eq!((stats.total, stats.inactive, stats.csv), (3, 1, 3));
}

#[test]
fn the_list_pages_a_100k_store_as_the_rule_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let mut csv = String::from("email,first_name,last_name,title\n");
    for i in 0..100_000u32 {
        // Names in an order unlike the emails', a few shared words.
        let first = ["Ada", "Grace", "Alan", "Edsger", "Barbara"][(i % 5) as usize];
        csv.push_str(&format!(
            "user{i:06}@corp{}.example,{first},Last{:05},T\n",
            i % 7,
            (i * 7919) % 100_000
        ));
    }
    batch_id(import(&store, &csv, 1_000));
    // Deactivate a few, and touch some later, so filters and the updated
    // order have something to sort.
    for i in (0..100_000u32).step_by(9_973) {
        let key = k(&format!("user{i:06}@corp{}.example", i % 7));
        store
            .set_end_state(
                &key,
                EndState::Inactive,
                &domain::By::parse("op@x.org"),
                Actor::Owner,
                2_000 + i64::from(i),
            )
            .unwrap();
    }
    assert_consistent(&store);
    let all = store.list_users(&UserQuery::default()).unwrap();
    assert_eq!(all.total, 100_000);
    assert_eq!(all.users.len(), 50);
    assert_eq!(all.users[0].email.as_str(), "user000000@corp0.example");
    for query in [
        UserQuery {
            page: 1_999,
            ..UserQuery::default()
        },
        UserQuery {
            page: 2_000,
            ..UserQuery::default()
        },
        UserQuery {
            sort: UserSort::Name,
            page: 37,
            ..UserQuery::default()
        },
        UserQuery {
            sort: UserSort::Updated,
            ..UserQuery::default()
        },
        UserQuery {
            end_state: Some(EndState::Inactive),
            sort: UserSort::Name,
            ..UserQuery::default()
        },
        UserQuery {
            end_state: Some(EndState::Active),
            source: Some(Source::Csv),
            page: 3,
            ..UserQuery::default()
        },
        UserQuery {
            source: Some(Source::Manual),
            ..UserQuery::default()
        },
        UserQuery {
            search: "last0001".into(),
            sort: UserSort::Name,
            ..UserQuery::default()
        },
        UserQuery {
            search: "corp3 edsger last0001".into(),
            ..UserQuery::default()
        },
    ] {
        assert_same_as_rule(&store, &query);
    }
    let last = store
        .list_users(&UserQuery {
            page: 1_999,
            ..UserQuery::default()
        })
        .unwrap();
    assert_eq!(last.users.len(), 50);
    assert_eq!(last.users[49].email.as_str(), "user099999@corp4.example");
    // A query that matches more than a search collects says so.
    let broad = store
        .list_users(&UserQuery {
            search: "user".into(),
            ..UserQuery::default()
        })
        .unwrap();
    assert!(broad.capped);
    assert_eq!(broad.total, domain::directory::MAX_SEARCH_HITS as u64);
    // Two broad words: the index is read for the narrower one.
    let two = UserQuery {
        search: "grace corp3".into(),
        ..UserQuery::default()
    };
    let answer = store.list_users(&two).unwrap();
    assert!(answer.capped);
    assert!(
        answer
            .users
            .iter()
            .all(|u| u.key().as_str().contains("corp3") && u.profile.first_name() == "Grace")
    );
}

#[test]
fn an_edit_checks_the_version_the_privilege_rule_and_is_audited_with_its_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let head = "email,first_name,last_name,title\n";
    batch_id(import(
        &store,
        &format!("{head}ada@x.org,Ada,L,Engineer\n"),
        100,
    ));
    let key = k("ada@x.org");
    let v1 = store.user(&key).unwrap().unwrap().version;
    let cells = [(Field::Title, "Manager")];

    // Saved: one event, "Edit", with the field old → new.
    let saved = store.edit_user(edit(&key, &cells, v1)).unwrap();
    let EditOutcome::Saved(after) = saved else {
        panic!("{saved:?}")
    };
    assert_eq!(after.field(Field::Title), "Manager");
    assert_eq!(after.version, v1 + 1);
    let history = store.user_history(&key).unwrap();
    assert_eq!(history[0].action, AuditAction::OperatorEdit);
    assert_eq!(history[0].actor, "op@x.org");
    assert_eq!(
        domain::Change::describe_all(&history[0].changes),
        "title: Engineer → Manager"
    );
    let events = history.len();

    // A stale version: nothing written, the fresh record and the new diff.
    let stale = [(Field::Title, "Director")];
    match store.edit_user(edit(&key, &stale, v1)).unwrap() {
        EditOutcome::ChangedMeanwhile { current, changes } => {
            assert_eq!(current.field(Field::Title), "Manager");
            assert_eq!(changes[0].describe(), "Title: Manager → Director");
        }
        other => panic!("{other:?}"),
    }
    // Invalid input and no-op edits write nothing either.
    let bad = [(Field::Phone, "call me")];
    assert!(matches!(
        store.edit_user(edit(&key, &bad, v1 + 1)).unwrap(),
        EditOutcome::Invalid(_)
    ));
    assert!(matches!(
        store.edit_user(edit(&key, &cells, v1 + 1)).unwrap(),
        EditOutcome::Unchanged(_)
    ));
    assert_eq!(store.user_history(&key).unwrap().len(), events);
    assert_eq!(store.user(&key).unwrap().unwrap().version, v1 + 1);

    // Roles: an operator may not change them; an admin may, recorded as
    // "Role change".
    let admin_roles = Roles::of(&[Role::Admin]);
    let mut by_operator = edit(&key, &[], v1 + 1);
    by_operator.roles = Some(Roles::of(&[Role::SelfService]));
    assert!(matches!(
        store.edit_user(by_operator),
        Err(StoreError::Forbidden(_))
    ));
    let mut by_admin = edit(&key, &[], v1 + 1);
    by_admin.actor = Actor::User(admin_roles);
    by_admin.operator = domain::By::parse("root@x.org");
    by_admin.roles = Some(Roles::of(&[Role::SelfService, Role::Admin]));
    assert!(matches!(
        store.edit_user(by_admin).unwrap(),
        EditOutcome::Saved(_)
    ));
    let history = store.user_history(&key).unwrap();
    assert_eq!(history[0].action, AuditAction::RoleChange);
    assert_eq!(history[0].actor, "root@x.org");
    assert_eq!(history.len(), events + 1);

    // Now ada is an Admin: an operator cannot edit her at all, and the
    // refusal leaves no event.
    let v3 = store.user(&key).unwrap().unwrap().version;
    assert!(matches!(
        store.edit_user(edit(&key, &stale, v3)),
        Err(StoreError::Forbidden(_))
    ));
    // The last active admin cannot lose the role.
    let mut demote = edit(&key, &[], v3);
    demote.actor = Actor::User(admin_roles);
    demote.roles = Some(Roles::of(&[Role::Operator]));
    assert!(matches!(
        store.edit_user(demote),
        Err(StoreError::Forbidden(m)) if m.contains("no active administrator")
    ));
    assert_eq!(store.user_history(&key).unwrap().len(), events + 1);
    assert_eq!(store.user(&key).unwrap().unwrap().version, v3);
    assert_consistent(&store);

    // The audit log filters by actor, target and action.
    let log = |actor: &str, target: &str, action| {
        store
            .audit_matching(&AuditQuery {
                actor: actor.into(),
                target: target.into(),
                action,
                page: 0,
                within: None,
            })
            .unwrap()
            .len()
    };
    assert_eq!(log("root@", "", None), 1);
    assert_eq!(log("", "ada@x.org", Some(AuditAction::OperatorEdit)), 1);
    assert_eq!(log("", "ADA", None), events + 1);
    assert_eq!(log("", "nobody", None), 0);
    let page = store.audit_page(&AuditQuery::default()).unwrap();
    assert!(!page.more);
    assert_eq!(page.events.len(), events + 1);
}

#[test]
fn a_store_from_before_the_indexes_gets_them_when_opened() {
    use redb::{ReadableDatabase, TableDefinition, TableHandle};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        batch_id(import(
            &store,
            "email,first_name,last_name\nada@x.org,Ada,Lovelace\ngrace@y.org,Grace,Hopper\n",
            100,
        ));
        // Make it look like schema 2: no index tables, no counters.
        let txn = store.db().begin_write().unwrap();
        for name in [
            "users_by_email",
            "users_by_name",
            "users_by_updated",
            "user_words",
        ] {
            let def: TableDefinition<&str, &str> = TableDefinition::new(name);
            assert!(txn.delete_table(def).unwrap(), "{name} existed");
        }
        let counts: TableDefinition<&str, u64> = TableDefinition::new("user_counts");
        assert!(txn.delete_table(counts).unwrap());
        let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
        txn.open_table(meta)
            .unwrap()
            .insert("schema_version", 2)
            .unwrap();
        txn.commit().unwrap();
        let read = store.db().begin_read().unwrap();
        assert!(
            read.list_tables()
                .unwrap()
                .all(|t| t.name() != "user_words")
        );
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_consistent(&store);
    let found = store
        .list_users(&UserQuery {
            search: "hop".into(),
            ..UserQuery::default()
        })
        .unwrap();
    assert_eq!(found.users[0].email.as_str(), "grace@y.org");
    assert_eq!(store.user_stats().unwrap().total, 2);
}

#[test]
fn a_store_of_version_9_loses_the_words_its_sort_keys_start_with() {
    use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};
    let words: TableDefinition<&str, &str> = TableDefinition::new("user_words");
    let dir = tempfile::tempdir().unwrap();
    let count = |store: &RedbStore| {
        let txn = store.db().begin_read().unwrap();
        txn.open_table(words).unwrap().len().unwrap()
    };
    let lean = {
        let store = RedbStore::open(dir.path()).unwrap();
        batch_id(import(
            &store,
            "email,first_name,last_name\nlee@x.org,Ann,Lee\n",
            100,
        ));
        // "org" and "x"; "ann" starts the name key, "lee" the email key.
        let lean = count(&store);
        assert_eq!(lean, 2);
        // As version 9 wrote them.
        let txn = store.db().begin_write().unwrap();
        {
            let mut table = txn.open_table(words).unwrap();
            let facets = domain::directory::Facets {
                end_state: domain::EndState::Active,
                source: domain::Source::Csv,
            };
            for entry in ["ann\0lee@x.org", "lee\0lee@x.org"] {
                table.insert(entry, facets.code()).unwrap();
            }
            let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
            txn.open_table(meta)
                .unwrap()
                .insert("schema_version", 9)
                .unwrap();
        }
        txn.commit().unwrap();
        assert!(store.check_indexes().unwrap().is_err());
        lean
    };
    let store = RedbStore::open(dir.path()).unwrap();
    assert_consistent(&store);
    assert_eq!(count(&store), lean);
    for search in ["ann", "lee", "an le", "org"] {
        let page = store
            .list_users(&UserQuery {
                search: search.into(),
                ..UserQuery::default()
            })
            .unwrap();
        let emails: Vec<&str> = page.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, ["lee@x.org"], "{search}");
    }
}

#[test]
fn a_store_from_before_lean_words_gets_its_word_index_written_again() {
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
    let words: TableDefinition<&str, &str> = TableDefinition::new("user_words");
    let dir = tempfile::tempdir().unwrap();
    let lean = {
        let store = RedbStore::open(dir.path()).unwrap();
        batch_id(import(
            &store,
            "email,first_name,last_name\njo.johnson@jo.org,Jo,Johnson\nann@x.org,Ann,Anna\n",
            100,
        ));
        let entries = |store: &RedbStore| -> Vec<(String, String)> {
            let txn = store.db().begin_read().unwrap();
            let table = txn.open_table(words).unwrap();
            table
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value().to_string(), v.value().to_string())
                })
                .collect()
        };
        let lean = entries(&store);
        // As version 7 wrote them: also the words that start another of
        // the same user's.
        let facets = lean[0].1.clone();
        let txn = store.db().begin_write().unwrap();
        {
            let mut table = txn.open_table(words).unwrap();
            for entry in ["jo\0jo.johnson@jo.org", "ann\0ann@x.org"] {
                table.insert(entry, facets.as_str()).unwrap();
            }
            let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
            txn.open_table(meta)
                .unwrap()
                .insert("schema_version", 7)
                .unwrap();
        }
        txn.commit().unwrap();
        assert_eq!(entries(&store).len(), lean.len() + 2);
        assert!(store.check_indexes().unwrap().is_err());
        lean
    };
    let store = RedbStore::open(dir.path()).unwrap();
    assert_consistent(&store);
    let txn = store.db().begin_read().unwrap();
    assert_eq!(
        txn.open_table(words).unwrap().len().unwrap(),
        lean.len() as u64
    );
    for (search, found) in [("jo", "jo.johnson@jo.org"), ("ann", "ann@x.org")] {
        let page = store
            .list_users(&UserQuery {
                search: search.into(),
                ..UserQuery::default()
            })
            .unwrap();
        let emails: Vec<&str> = page.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, [found], "{search}");
    }
}
