//! Sync imports (the file decides who is active), on both engines: who is
//! a candidate, the safety valve at its boundary, returners, a person's
//! deactivation, undo, and a sync racing a manual edit.

mod support;

use domain::options;
use domain::plan::SyncSettings;
use domain::store::{ImportOutcome, ImportRequest, SyncRequest, UndoOutcome, UserEdit};
use domain::user::{EndState, Role, Source};
use domain::{Actor, Field};
use server::engine::Engine;
use support::{Fresh, admin, k, operator};

const HEAD: &str = "email,first_name,last_name,organization\n";
const NOW: i64 = 1_800_000_000;

/// A file listing these users (email, organization).
fn file(users: &[(&str, &str)]) -> String {
    let body: String = users
        .iter()
        .map(|(e, org)| format!("{e},First,Last,{org}\n"))
        .collect();
    format!("{HEAD}{body}")
}

fn request<'a>(csv: &'a str, actor: Actor, fingerprint: Option<&'a str>) -> ImportRequest<'a> {
    ImportRequest {
        bytes: csv.as_bytes(),
        file_name: "hr.csv",
        operator: domain::By::parse("op@x.org"),
        actor,
        expected_fingerprint: fingerprint,
        skip_invalid: false,
        corrected: None,
        now: NOW,
    }
}

fn sync(
    store: &dyn Engine,
    csv: &str,
    actor: Actor,
    scope: Option<&str>,
    force: bool,
    dry_run: bool,
) -> ImportOutcome {
    store
        .apply_sync_import(
            request(csv, actor, None),
            &SyncRequest {
                settings: SyncSettings {
                    scope_organization: scope.map(str::to_string),
                },
                force,
                dry_run,
            },
        )
        .unwrap()
}

fn plan_of(outcome: &ImportOutcome) -> &domain::ImportPlan {
    match outcome {
        ImportOutcome::Committed { plan, .. }
        | ImportOutcome::ChangedSincePreview { plan }
        | ImportOutcome::Blocked { plan }
        | ImportOutcome::NothingToWrite { plan }
        | ImportOutcome::SentForApproval { plan, .. }
        | ImportOutcome::TooManyDeactivations { plan, .. } => plan,
    }
}

fn deactivated(outcome: &ImportOutcome) -> Vec<String> {
    plan_of(outcome)
        .sync
        .as_ref()
        .unwrap()
        .deactivations
        .iter()
        .map(|d| d.before.email.as_str().to_string())
        .collect()
}

fn seed(store: &dyn Engine, users: &[(&str, &str)]) {
    match store
        .apply_import(request(&file(users), Actor::Owner, None))
        .unwrap()
    {
        ImportOutcome::Committed { .. } => {}
        other => panic!("{other:?}"),
    }
}

fn end_state(store: &dyn Engine, email: &str) -> EndState {
    store.user(&k(email)).unwrap().unwrap().end_state
}

fn allow_all(store: &dyn Engine) {
    store
        .set_option(
            options::SYNC_MAX_DEACTIVATE_PERCENT,
            "100",
            &domain::By::Cli,
            1,
        )
        .unwrap();
}

/// Only imported, active users the actor may change, in the scope, and
/// missing from the file: never manual input, the first administrator,
/// or (for an operator) an imported administrator.
fn candidates_are_imported_users_the_actor_may_change(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    seed(
        store,
        &[
            ("a@x.org", "Acme"),
            ("b@x.org", "Acme"),
            ("c@x.org", "Beta"),
            ("boss@x.org", "Acme"),
        ],
    );
    // An imported user made administrator.
    let boss = store.user(&k("boss@x.org")).unwrap().unwrap();
    store
        .edit_user(UserEdit {
            key: &k("boss@x.org"),
            cells: &[],
            roles: Some(boss.roles.with(Role::Admin)),
            expected_version: boss.version,
            operator: domain::By::Cli,
            actor: Actor::Owner,
            now: NOW,
        })
        .unwrap();
    // Manual input and the bootstrap administrator.
    let manual = domain::manual::manual_user(
        &[
            (Field::Email, "m@x.org"),
            (Field::FirstName, "M"),
            (Field::LastName, "M"),
            (Field::Organization, "Acme"),
        ],
        &store.options().unwrap(),
    )
    .unwrap();
    store
        .create_user(manual, &domain::By::Cli, Actor::Owner, NOW)
        .unwrap();
    server::commands::ensure_admin(
        store,
        &domain::Email::parse("root@x.org").unwrap(),
        Source::Bootstrap,
    )
    .unwrap();
    assert_eq!(
        store.user(&k("root@x.org")).unwrap().unwrap().source,
        Source::Bootstrap
    );

    let csv = file(&[("a@x.org", "Acme")]);
    let as_operator = sync(store, &csv, operator(), None, false, true);
    assert_eq!(deactivated(&as_operator), ["b@x.org", "c@x.org"]);
    assert_eq!(plan_of(&as_operator).sync.as_ref().unwrap().candidates, 3);
    let as_admin = sync(store, &csv, admin(), None, false, true);
    assert_eq!(deactivated(&as_admin), ["b@x.org", "boss@x.org", "c@x.org"]);
    assert_eq!(
        deactivated(&sync(
            store,
            &csv,
            Actor::Owner,
            Some(" ACME "),
            false,
            true
        )),
        ["b@x.org", "boss@x.org"]
    );
    assert_eq!(
        deactivated(&sync(store, &csv, operator(), Some("beta"), false, true)),
        ["c@x.org"]
    );
    // A dry run writes nothing.
    assert_eq!(end_state(store, "b@x.org"), EndState::Active);
    // The operator's sync leaves the administrator alone.
    match sync(store, &csv, operator(), None, false, false) {
        ImportOutcome::Committed { batch, plan } => {
            assert_eq!(plan.counts.deactivate, 2);
            assert!(batch.id > 0);
        }
        other => panic!("{other:?}"),
    }
    for (email, state) in [
        ("a@x.org", EndState::Active),
        ("b@x.org", EndState::Inactive),
        ("c@x.org", EndState::Inactive),
        ("boss@x.org", EndState::Active),
        ("m@x.org", EndState::Active),
        ("root@x.org", EndState::Active),
    ] {
        assert_eq!(end_state(store, email), state, "{email}");
    }
    // Nothing is deleted, and the deactivations are audited.
    assert!(store.user(&k("b@x.org")).unwrap().is_some());
    let history = store.user_history(&k("b@x.org")).unwrap();
    assert_eq!(
        history[0].action,
        domain::audit::AuditAction::Deactivate,
        "{history:?}"
    );
}

/// At most `import.sync_max_deactivate_percent` (10) of the candidates:
/// exactly 10 % passes, one more is refused with the numbers, unless an
/// administrator (or the owner) confirms; an operator cannot.
fn the_valve_refuses_more_than_its_share(f: &Fresh) {
    let store = &*f.store;
    let users: Vec<(String, &str)> = (0..10).map(|i| (format!("u{i}@x.org"), "")).collect();
    let users: Vec<(&str, &str)> = users.iter().map(|(e, o)| (e.as_str(), *o)).collect();
    seed(store, &users);
    let missing_one = file(&users[1..]);
    let missing_two = file(&users[2..]);
    assert!(matches!(
        sync(store, &missing_one, operator(), None, false, true),
        ImportOutcome::NothingToWrite { .. }
    ));
    let refused = sync(store, &missing_two, operator(), None, false, false);
    match &refused {
        ImportOutcome::TooManyDeactivations { message, .. } => assert!(
            message.starts_with(
                "This sync would deactivate 2 of 10 users (20%); at most 10% may be \
                 deactivated at once (import.sync_max_deactivate_percent)"
            ),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // An operator's confirmation does not count.
    assert!(matches!(
        sync(store, &missing_two, operator(), None, true, false),
        ImportOutcome::TooManyDeactivations { .. }
    ));
    assert_eq!(end_state(store, "u0@x.org"), EndState::Active);
    assert_eq!(end_state(store, "u1@x.org"), EndState::Active);
    // Exactly the share passes.
    assert!(matches!(
        sync(store, &missing_one, operator(), None, false, false),
        ImportOutcome::Committed { .. }
    ));
    assert_eq!(end_state(store, "u0@x.org"), EndState::Inactive);
    // Now 9 candidates: one more is 11 % — an administrator confirms it.
    assert!(matches!(
        sync(store, &missing_two, operator(), None, false, false),
        ImportOutcome::TooManyDeactivations { .. }
    ));
    assert!(matches!(
        sync(store, &missing_two, admin(), None, true, false),
        ImportOutcome::Committed { .. }
    ));
    assert_eq!(end_state(store, "u1@x.org"), EndState::Inactive);
}

/// A user a sync deactivated is re-activated by a later file that lists
/// it; one a person deactivated stays inactive.
fn returners_come_back_but_a_persons_deactivation_stays(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    seed(store, &[("a@x.org", ""), ("b@x.org", ""), ("c@x.org", "")]);
    store
        .set_end_state(
            &k("c@x.org"),
            EndState::Inactive,
            &domain::By::parse("boss@x.org"),
            admin(),
            NOW,
        )
        .unwrap();
    let only_a = file(&[("a@x.org", "")]);
    let gone = sync(store, &only_a, operator(), None, false, false);
    assert_eq!(deactivated(&gone), ["b@x.org"], "c is inactive already");
    let b = store.user(&k("b@x.org")).unwrap().unwrap();
    assert_eq!(b.end_state, EndState::Inactive);
    assert!(b.held.deactivated_by.is_none(), "a sync is no person");
    let all = file(&[("a@x.org", ""), ("b@x.org", ""), ("c@x.org", "")]);
    let back = sync(store, &all, operator(), None, false, false);
    let plan = plan_of(&back);
    assert!(matches!(back, ImportOutcome::Committed { .. }));
    let (_, _, _, changes) = plan
        .updates()
        .find(|(_, before, _, _)| before.email.as_str() == "b@x.org")
        .unwrap();
    assert_eq!(
        domain::Change::describe_all(changes),
        "end_state: Inactive → Active"
    );
    assert_eq!(end_state(store, "b@x.org"), EndState::Active);
    assert_eq!(end_state(store, "c@x.org"), EndState::Inactive);
    assert!(deactivated(&back).is_empty());
}

/// Undo re-activates exactly the users the sync deactivated; their links
/// were revoked by the sync.
fn undo_reactivates(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    seed(store, &[("a@x.org", ""), ("b@x.org", ""), ("c@x.org", "")]);
    let token = store
        .create_link(&k("b@x.org"), NOW, 7, &domain::By::Cli, Actor::Owner)
        .unwrap();
    let batch = match sync(
        store,
        &file(&[("a@x.org", "")]),
        operator(),
        None,
        false,
        false,
    ) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        store
            .redeem_link(&token, "$argon2id$x", NOW * 1000)
            .unwrap(),
        None
    );
    assert_eq!(end_state(store, "b@x.org"), EndState::Inactive);
    assert_eq!(end_state(store, "c@x.org"), EndState::Inactive);
    match store
        .undo_batch(
            batch.id,
            &domain::By::parse("op@x.org"),
            operator(),
            NOW + 1,
        )
        .unwrap()
    {
        UndoOutcome::Undone { .. } => {}
        other => panic!("{other:?}"),
    }
    for email in ["a@x.org", "b@x.org", "c@x.org"] {
        assert_eq!(end_state(store, email), EndState::Active, "{email}");
    }
}

/// A candidate edited between the preview and the commit: "changed since
/// preview", nothing written.
fn a_sync_racing_an_edit_is_changed_since_preview(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    seed(store, &[("a@x.org", ""), ("b@x.org", "")]);
    let csv = file(&[("a@x.org", "")]);
    let settings = SyncRequest {
        settings: SyncSettings::default(),
        force: false,
        dry_run: true,
    };
    let preview = store
        .apply_sync_import(request(&csv, operator(), None), &settings)
        .unwrap();
    let fingerprint = plan_of(&preview).fingerprint.clone();
    // The same file without sync plans differently.
    assert_ne!(
        fingerprint,
        store
            .preview(csv.as_bytes(), operator())
            .unwrap()
            .fingerprint
    );
    let b = store.user(&k("b@x.org")).unwrap().unwrap();
    store
        .edit_user(UserEdit {
            key: &k("b@x.org"),
            cells: &[(Field::Title, "Manager")],
            roles: None,
            expected_version: b.version,
            operator: domain::By::parse("boss@x.org"),
            actor: admin(),
            now: NOW,
        })
        .unwrap();
    let commit = SyncRequest {
        dry_run: false,
        ..settings
    };
    let outcome = store
        .apply_sync_import(request(&csv, operator(), Some(&fingerprint)), &commit)
        .unwrap();
    assert!(
        matches!(outcome, ImportOutcome::ChangedSincePreview { .. }),
        "{outcome:?}"
    );
    assert_eq!(end_state(store, "b@x.org"), EndState::Active);
    // The fresh plan commits.
    let fresh = plan_of(&outcome).fingerprint.clone();
    assert!(matches!(
        store
            .apply_sync_import(request(&csv, operator(), Some(&fresh)), &commit)
            .unwrap(),
        ImportOutcome::Committed { .. }
    ));
    assert_eq!(end_state(store, "b@x.org"), EndState::Inactive);
}

/// A sync never leaves the store without an active administrator, and an
/// operator's sync above the approval threshold is refused, not sent for
/// approval (a request would store the file, not the sync).
fn the_last_administrator_and_the_approval_threshold(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    seed(store, &[("a@x.org", ""), ("boss@x.org", "")]);
    let boss = store.user(&k("boss@x.org")).unwrap().unwrap();
    store
        .edit_user(UserEdit {
            key: &k("boss@x.org"),
            cells: &[],
            roles: Some(boss.roles.with(Role::Admin)),
            expected_version: boss.version,
            operator: domain::By::Cli,
            actor: Actor::Owner,
            now: NOW,
        })
        .unwrap();
    let err = store
        .apply_sync_import(
            request(&file(&[("a@x.org", "")]), Actor::Owner, None),
            &SyncRequest::default(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        domain::store::StoreError::Forbidden(domain::privilege::LAST_ADMIN.into())
    );
    assert_eq!(end_state(store, "boss@x.org"), EndState::Active);

    seed(store, &[("c@x.org", ""), ("d@x.org", "")]);
    store
        .set_option(options::APPROVAL_ABOVE, "1", &domain::By::Cli, 1)
        .unwrap();
    let err = store
        .apply_sync_import(
            request(&file(&[("a@x.org", "")]), operator(), None),
            &SyncRequest::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, domain::store::StoreError::Invalid(m) if m.contains("not sent for approval")),
        "{err:?}"
    );
    assert!(store.approvals().unwrap().is_empty());
    assert_eq!(end_state(store, "c@x.org"), EndState::Active);
}

/// A sync's deactivations count toward the approval threshold over its
/// window, as created and updated users do: small syncs one after the
/// other add up (a batch's stored counts lack them; the engines count
/// them from its touched users).
fn small_syncs_add_up_in_the_approval_window(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    let everyone = [
        ("a@x.org", ""),
        ("b@x.org", ""),
        ("c@x.org", ""),
        ("d@x.org", ""),
        ("e@x.org", ""),
        ("f@x.org", ""),
    ];
    seed(store, &everyone);
    // The seed counts too (same operator): the threshold leaves room for 3.
    let seeded = store
        .rows_written_by(&domain::By::parse("op@x.org"), 0)
        .unwrap();
    store
        .set_option(
            options::APPROVAL_ABOVE,
            &(seeded + 3).to_string(),
            &domain::By::Cli,
            1,
        )
        .unwrap();
    let first = sync(store, &file(&everyone[2..]), operator(), None, false, false);
    assert!(
        matches!(first, ImportOutcome::Committed { .. }),
        "{first:?}"
    );
    assert_eq!(
        store
            .rows_written_by(&domain::By::parse("op@x.org"), 0)
            .unwrap(),
        seeded + 2
    );
    let err = store
        .apply_sync_import(
            request(&file(&everyone[4..]), operator(), None),
            &SyncRequest::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, domain::store::StoreError::Invalid(m) if m.contains("not sent for approval")),
        "2 + 2 is above 3: {err:?}"
    );
    assert_eq!(end_state(store, "c@x.org"), EndState::Active);
    // The history shows the batch as it was written: its deactivations too.
    let batch = store.batches().unwrap();
    assert_eq!(batch[0].counts.deactivate, 2);
}

/// The browser previews a sync in two parts: its own plan of the rows,
/// and the sync part the server finds (`Store::preview_sync`, written
/// nothing). Together they make the fingerprint that the commit checks,
/// and the commit deactivates whom the preview listed.
fn the_browsers_two_part_preview_is_what_the_commit_writes(f: &Fresh) {
    let store = &*f.store;
    allow_all(store);
    seed(
        store,
        &[
            ("a@x.org", "Acme"),
            ("b@x.org", "Acme"),
            ("c@x.org", "Beta"),
        ],
    );
    let csv = file(&[("a@x.org", "Acme"), ("n@x.org", "Acme")]);
    let rows = store.preview(csv.as_bytes(), operator()).unwrap();
    let parsed = domain::plan::parse_file(csv.as_bytes(), &store.options().unwrap()).unwrap();
    let keys: Vec<String> = parsed.keys().iter().map(|k| k.to_string()).collect();
    let settings = SyncSettings {
        scope_organization: Some(" acme ".into()),
    };
    let part = store
        .preview_sync(&|key| keys.iter().any(|k| k == key), &settings, operator())
        .unwrap();
    let listed: Vec<&str> = part
        .deactivations
        .iter()
        .map(|d| d.before.email.as_str())
        .collect();
    assert_eq!(listed, ["b@x.org"]);
    assert_eq!(part.candidates, 2);
    assert_eq!(
        end_state(store, "b@x.org"),
        EndState::Active,
        "nothing written"
    );
    let fingerprint = domain::fingerprint::with_sync_digest(
        &rows.fingerprint,
        &domain::fingerprint::sync_digest(&part),
    );
    let outcome = store
        .apply_sync_import(
            request(&csv, operator(), Some(&fingerprint)),
            &SyncRequest {
                settings,
                force: false,
                dry_run: false,
            },
        )
        .unwrap();
    assert!(
        matches!(outcome, ImportOutcome::Committed { .. }),
        "{outcome:?}"
    );
    assert_eq!(deactivated(&outcome), ["b@x.org"]);
    assert_eq!(end_state(store, "b@x.org"), EndState::Inactive);
    assert_eq!(end_state(store, "c@x.org"), EndState::Active);
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $( #[test] fn $name() { super::$name(&super::support::redb()) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(&super::support::postgres()) } )*
        }
    };
}

on_both_engines!(
    candidates_are_imported_users_the_actor_may_change,
    the_valve_refuses_more_than_its_share,
    returners_come_back_but_a_persons_deactivation_stays,
    undo_reactivates,
    a_sync_racing_an_edit_is_changed_since_preview,
    the_last_administrator_and_the_approval_threshold,
    the_browsers_two_part_preview_is_what_the_commit_writes,
    small_syncs_add_up_in_the_approval_window,
);
