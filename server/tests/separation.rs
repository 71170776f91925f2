//! Separation of duties, tried as one operator alone would try to get
//! round it: each scenario is a sequence of ordinary, allowed steps that
//! used to defeat a rule, run on both engines (a redb file and a fresh
//! PostgreSQL database, as the conformance suite does).

mod support;

use domain::Actor;
use domain::audit::AuditAction;
use domain::options;
use domain::store::{
    ApprovalOutcome, Decision, ImportOutcome, ImportRequest, StoreError, UserEdit,
};
use domain::user::{EndState, Role, Roles};
use server::engine::Engine;
use support::{Fresh, admin, k, operator};

const HEAD: &str = "email,first_name,last_name\n";
const NOW: i64 = 1_800_000_000;

fn import_as(store: &dyn Engine, who: &str, actor: Actor, csv: &str, now: i64) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "users.csv",
            operator: domain::By::parse(who),
            actor,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now,
        })
        .unwrap()
}

/// The machine owner (CLI) imports users: they are nobody's puppets.
fn seed(store: &dyn Engine, emails: &[&str]) {
    seed_at(store, emails, NOW - 100_000)
}

fn seed_at(store: &dyn Engine, emails: &[&str], at: i64) {
    let csv: String = emails.iter().map(|e| format!("{e},First,Last\n")).collect();
    match import_as(store, "cli", Actor::Owner, &format!("{HEAD}{csv}"), at) {
        ImportOutcome::Committed { .. } => {}
        other => panic!("{other:?}"),
    }
}

fn rows(prefix: &str, n: usize) -> String {
    let body: String = (0..n)
        .map(|i| format!("{prefix}{i}@x.org,R,{i}\n"))
        .collect();
    format!("{HEAD}{body}")
}

fn sent(outcome: ImportOutcome) -> domain::approval::ApprovalRequest {
    match outcome {
        ImportOutcome::SentForApproval { request, .. } => request,
        other => panic!("expected a request for approval, got {other:?}"),
    }
}

/// Attack 1: the operator makes a puppet, enrols it and approves as it;
/// then a puppet's puppet. Both refused; an independent approver is not.
fn a_puppet_cannot_approve_its_makers_import(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["op@x.org", "boss@x.org"]);
    store
        .set_option(options::APPROVAL_ABOVE, "2", &domain::By::Cli, 1)
        .unwrap();
    // The puppet: manual input, then a sign-in link (no password yet:
    // allowed), redeemed with a password the operator chose.
    let puppet = domain::manual::manual_user(
        &[
            (domain::Field::Email, "puppet@x.org"),
            (domain::Field::FirstName, "P"),
            (domain::Field::LastName, "P"),
        ],
        &store.options().unwrap(),
    )
    .unwrap();
    store
        .create_user(puppet, &domain::By::parse("op@x.org"), operator(), NOW + 1)
        .unwrap();
    let token = store
        .create_link(
            &k("puppet@x.org"),
            NOW + 2,
            7,
            &domain::By::parse("op@x.org"),
            operator(),
        )
        .unwrap();
    assert!(
        store
            .redeem_link(&token, "$argon2id$fake", (NOW + 2) * 1000)
            .unwrap()
            .is_some()
    );
    let puppet_roles = store.user(&k("puppet@x.org")).unwrap().unwrap().roles;
    assert!(
        puppet_roles.contains(Role::Approval),
        "the design's default"
    );
    // The puppet's own import makes a second puppet.
    match import_as(
        store,
        "puppet@x.org",
        Actor::User(puppet_roles),
        &format!("{HEAD}puppet2@x.org,Q,Q\n"),
        NOW + 3,
    ) {
        ImportOutcome::Committed { .. } => {}
        other => panic!("{other:?}"),
    }
    // Only now the large import, so that both puppets' roles are older.
    let request = sent(import_as(
        store,
        "op@x.org",
        operator(),
        &rows("n", 3),
        NOW + 4,
    ));
    let err = store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("puppet@x.org"),
            Actor::User(puppet_roles),
            NOW + 5,
        )
        .unwrap_err();
    let StoreError::Forbidden(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("second person"), "{message}");
    let err = store
        .decide_approval(
            request.id,
            Decision::Reject {
                reason: "covering tracks".into(),
            },
            &domain::By::parse("puppet2@x.org"),
            Actor::User(puppet_roles),
            NOW + 6,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("or to an account that did so")),
        "{err:?}"
    );
    // Given the Approval role after the request: refused too.
    seed_at(store, &["late@x.org"], NOW + 6);
    let late = store.user(&k("late@x.org")).unwrap().unwrap();
    let err = store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("late@x.org"),
            Actor::User(late.roles),
            NOW + 6,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("after this import was sent")),
        "{err:?}"
    );
    // Nothing was written by the refusals.
    assert_eq!(store.user(&k("n0@x.org")).unwrap(), None);
    // Someone the owner made, long before, approves.
    match store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("boss@x.org"),
            operator(),
            NOW + 7,
        )
        .unwrap()
    {
        ApprovalOutcome::Approved { batch, .. } => {
            assert_eq!(batch.approved_by.as_deref(), Some("boss@x.org"));
            assert_eq!(batch.operator, "op@x.org");
            let listed = store.batches().unwrap();
            assert_eq!(
                listed
                    .iter()
                    .find(|b| b.id == batch.id)
                    .unwrap()
                    .approved_by,
                Some("boss@x.org".into()),
                "the stored batch names its approver"
            );
        }
        other => panic!("{other:?}"),
    }
    // The audit log has the request and the decision with both names.
    let log = store.audit_log().unwrap();
    let approved = log
        .iter()
        .find(|e| e.action == AuditAction::Approved)
        .unwrap();
    assert_eq!(
        (approved.actor.as_str(), approved.target.as_str()),
        ("boss@x.org", "op@x.org")
    );
    assert!(
        log.iter()
            .any(|e| e.action == AuditAction::ApprovalSent && e.actor == "op@x.org")
    );
}

/// Attack 2: the sender spelled with non-ASCII capitals.
fn the_sender_cannot_approve_under_another_spelling(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["JÖRG@x.org"]);
    store
        .set_option(options::APPROVAL_ABOVE, "1", &domain::By::Cli, 1)
        .unwrap();
    let request = sent(import_as(
        store,
        "JÖRG@x.org",
        operator(),
        &rows("s", 2),
        NOW,
    ));
    let err = store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("jörg@x.org"),
            operator(),
            NOW + 1,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("you sent this import")),
        "{err:?}"
    );
    assert_eq!(store.user(&k("s0@x.org")).unwrap(), None);
}

/// Attack 3: splitting a large file into imports under the threshold.
fn splitting_a_file_does_not_avoid_approval(f: &Fresh) {
    let store = &*f.store;
    store
        .set_option(options::APPROVAL_ABOVE, "3", &domain::By::Cli, 1)
        .unwrap();
    let ok = |o: ImportOutcome| assert!(matches!(o, ImportOutcome::Committed { .. }), "{o:?}");
    ok(import_as(store, "op@x.org", operator(), &rows("a", 2), NOW));
    // 2 + 1 = 3 is not above 3.
    ok(import_as(
        store,
        "op@x.org",
        operator(),
        &rows("b", 1),
        NOW + 10,
    ));
    // 3 + 1 is: it waits, however the operator spells the address.
    sent(import_as(
        store,
        "OP@x.org",
        operator(),
        &rows("c", 1),
        NOW + 20,
    ));
    // Another operator's window is their own.
    ok(import_as(
        store,
        "op2@x.org",
        operator(),
        &rows("d", 3),
        NOW + 30,
    ));
    // After the window (24 hours) the operator's count starts again.
    ok(import_as(
        store,
        "op@x.org",
        operator(),
        &rows("e", 3),
        NOW + 25 * 3600,
    ));
    // The machine owner is not held.
    ok(import_as(
        store,
        "cli",
        Actor::Owner,
        &rows("f", 10),
        NOW + 40,
    ));
}

/// Attack 4: an operator's import re-activates a user an administrator
/// deactivated, and re-adds a role the administrator removed.
fn a_persons_deactivation_and_removed_role_survive_imports(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["op2@x.org", "op3@x.org"]);
    store
        .set_end_state(
            &k("op2@x.org"),
            EndState::Inactive,
            &domain::By::parse("boss@x.org"),
            admin(),
            NOW,
        )
        .unwrap();
    let op3 = store.user(&k("op3@x.org")).unwrap().unwrap();
    let demoted = Roles::of(&[Role::SelfService, Role::Approval]);
    store
        .edit_user(UserEdit {
            key: &k("op3@x.org"),
            cells: &[],
            roles: Some(demoted),
            expected_version: op3.version,
            operator: domain::By::parse("boss@x.org"),
            actor: admin(),
            now: NOW,
        })
        .unwrap();
    let csv = format!("{HEAD}op2@x.org,First,Renamed\nop3@x.org,First,Renamed\n");
    let plan = store.preview(csv.as_bytes(), operator()).unwrap();
    let notes: Vec<String> = plan
        .rows
        .iter()
        .map(|r| domain::plan::HeldBack::describe_all(&r.held_back))
        .collect();
    assert!(
        notes[0].starts_with("stays inactive (deactivated by boss@x.org on "),
        "{notes:?}"
    );
    assert_eq!(notes[1], "role withheld: Operator");
    match import_as(store, "op@x.org", operator(), &csv, NOW + 1) {
        ImportOutcome::Committed { .. } => {}
        other => panic!("{other:?}"),
    }
    let op2 = store.user(&k("op2@x.org")).unwrap().unwrap();
    assert_eq!(op2.end_state, EndState::Inactive);
    assert_eq!(
        op2.profile.last_name(),
        "Renamed",
        "the rest of the row applies"
    );
    let op3 = store.user(&k("op3@x.org")).unwrap().unwrap();
    assert_eq!(op3.roles, demoted);
    // Decisions are undone only by the acts that made them: Activate, and
    // an administrator giving the role back.
    store
        .set_end_state(
            &k("op2@x.org"),
            EndState::Active,
            &domain::By::parse("boss@x.org"),
            admin(),
            NOW + 2,
        )
        .unwrap();
    let activated = store.user(&k("op2@x.org")).unwrap().unwrap();
    assert_eq!(activated.held.deactivated_by, None, "Activate clears it");
    store
        .set_end_state(
            &k("op2@x.org"),
            EndState::Inactive,
            &domain::By::Cli,
            Actor::Owner,
            NOW + 3,
        )
        .unwrap();
    let op2 = store.user(&k("op2@x.org")).unwrap().unwrap();
    assert_eq!(op2.held.deactivated_by.as_ref().unwrap().by, "cli");
    store
        .edit_user(UserEdit {
            key: &k("op3@x.org"),
            cells: &[],
            roles: Some(demoted.with(Role::Operator)),
            expected_version: op3.version,
            operator: domain::By::parse("boss@x.org"),
            actor: admin(),
            now: NOW + 4,
        })
        .unwrap();
    let op3 = store.user(&k("op3@x.org")).unwrap().unwrap();
    assert!(op3.held.withheld_roles.is_empty());
}

/// Attack 5: a password reset through undo (remove the user, create it
/// again, make a fresh link) needs an administrator.
fn undoing_a_create_after_a_password_needs_an_administrator(f: &Fresh) {
    let store = &*f.store;
    let batch = match import_as(
        store,
        "op@x.org",
        operator(),
        &format!("{HEAD}x@x.org,X,X\n"),
        NOW,
    ) {
        ImportOutcome::Committed { batch, .. } => batch,
        other => panic!("{other:?}"),
    };
    let token = store
        .create_link(
            &k("x@x.org"),
            NOW,
            7,
            &domain::By::parse("op@x.org"),
            operator(),
        )
        .unwrap();
    store
        .redeem_link(&token, "$argon2id$fake", (NOW + 1) * 1000)
        .unwrap()
        .unwrap();
    let err = store
        .undo_batch(
            batch.id,
            &domain::By::parse("op@x.org"),
            operator(),
            NOW + 2,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("x@x.org") && m.contains("password")),
        "{err:?}"
    );
    assert!(store.user(&k("x@x.org")).unwrap().is_some());
    store
        .undo_batch(batch.id, &domain::By::parse("boss@x.org"), admin(), NOW + 3)
        .unwrap();
    assert!(store.user(&k("x@x.org")).unwrap().is_none());
}

/// Attack 6: a link kept past a promotion; and one link per user.
fn a_link_does_not_outlive_a_promotion(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["x@x.org"]);
    let old = store
        .create_link(
            &k("x@x.org"),
            NOW,
            7,
            &domain::By::parse("op@x.org"),
            operator(),
        )
        .unwrap();
    let kept = store
        .create_link(
            &k("x@x.org"),
            NOW,
            7,
            &domain::By::parse("op@x.org"),
            operator(),
        )
        .unwrap();
    assert_eq!(
        store.peek_link(&old, NOW).unwrap(),
        None,
        "a new link voids the old one"
    );
    assert!(store.peek_link(&kept, NOW).unwrap().is_some());
    let x = store.user(&k("x@x.org")).unwrap().unwrap();
    store
        .edit_user(UserEdit {
            key: &k("x@x.org"),
            cells: &[],
            roles: Some(x.roles.with(Role::Admin)),
            expected_version: x.version,
            operator: domain::By::parse("boss@x.org"),
            actor: admin(),
            now: NOW + 1,
        })
        .unwrap();
    assert_eq!(store.peek_link(&kept, NOW + 1).unwrap(), None);
    assert_eq!(
        store
            .redeem_link(&kept, "$argon2id$fake", (NOW + 2) * 1000)
            .unwrap(),
        None,
        "the operator's link does not open an administrator's account"
    );
    let history = store.user_history(&k("x@x.org")).unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.action == AuditAction::SignInLinksRevoked)
    );

    // A link used at once: the operator knows the password it set. When
    // the user is promoted above the operator, the password goes.
    seed(store, &["y@x.org", "z@x.org"]);
    let promote = |email: &str, role: Role| {
        let u = store.user(&k(email)).unwrap().unwrap();
        store
            .edit_user(UserEdit {
                key: &k(email),
                cells: &[],
                roles: Some(u.roles.with(role)),
                expected_version: u.version,
                operator: domain::By::parse("boss@x.org"),
                actor: admin(),
                now: NOW + 3,
            })
            .unwrap();
    };
    let token = store
        .create_link(
            &k("y@x.org"),
            NOW,
            7,
            &domain::By::parse("op@x.org"),
            operator(),
        )
        .unwrap();
    store
        .redeem_link(&token, "$argon2id$known-to-op", NOW * 1000)
        .unwrap()
        .unwrap();
    promote("y@x.org", Role::Admin);
    assert_eq!(store.password_hash(&k("y@x.org")).unwrap(), None);
    // A password set through the machine owner's link stays.
    let token = store
        .create_link(&k("z@x.org"), NOW, 7, &domain::By::Cli, Actor::Owner)
        .unwrap();
    store
        .redeem_link(&token, "$argon2id$own", NOW * 1000)
        .unwrap()
        .unwrap();
    promote("z@x.org", Role::Admin);
    assert!(store.password_hash(&k("z@x.org")).unwrap().is_some());
}

/// Attack 8 (in the store): options changes are audited, old → new.
fn option_changes_are_audited(f: &Fresh) {
    let store = &*f.store;
    store
        .set_options(
            &[(options::APPROVAL_ABOVE, "5"), (options::LINK_DAYS, "7")],
            &domain::By::parse("boss@x.org"),
            NOW,
        )
        .unwrap();
    let log = store.audit_log().unwrap();
    let event = log
        .iter()
        .find(|e| e.action == AuditAction::OptionsChanged)
        .unwrap();
    assert_eq!(event.actor, "boss@x.org");
    assert_eq!(event.changes.len(), 1, "an unchanged value is not listed");
    let c = &event.changes[0];
    assert_eq!(
        (c.field.as_str(), c.old.as_str(), c.new.as_str()),
        (options::APPROVAL_ABOVE, "0", "5")
    );
}

/// An administrator's import that raises a user's rank ends the user's
/// sessions and voids the user's links, as a promotion on the user's page
/// does.
fn a_promotion_by_import_ends_sessions_and_links(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["u@x.org"]);
    let data = br#"{"data":{"user":{"key":"u@x.org"}},"expires":2000000000}"#;
    assert!(
        store
            .insert_session("s-u", Some("u@x.org"), 2_000_000_000, data)
            .unwrap()
    );
    let link = store
        .create_link(
            &k("u@x.org"),
            NOW,
            7,
            &domain::By::parse("op@x.org"),
            operator(),
        )
        .unwrap();
    store
        .set_option(options::ROLES, "self-service,admin", &domain::By::Cli, 1)
        .unwrap();
    match import_as(
        store,
        "boss@x.org",
        admin(),
        &format!("{HEAD}u@x.org,First,Last\n"),
        NOW + 1,
    ) {
        ImportOutcome::Committed { .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(
        store
            .user(&k("u@x.org"))
            .unwrap()
            .unwrap()
            .roles
            .contains(Role::Admin)
    );
    assert!(store.session("s-u").unwrap().is_none(), "the session ended");
    assert_eq!(
        store.peek_link(&link, NOW + 1).unwrap(),
        None,
        "the link is void"
    );
}

/// A sender deactivated after sending lends the import no authority.
fn a_deactivated_senders_import_is_not_written(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["op@x.org", "boss@x.org"]);
    store
        .set_option(options::APPROVAL_ABOVE, "1", &domain::By::Cli, 1)
        .unwrap();
    let request = sent(import_as(store, "op@x.org", operator(), &rows("d", 2), NOW));
    store
        .set_end_state(
            &k("op@x.org"),
            EndState::Inactive,
            &domain::By::Cli,
            Actor::Owner,
            NOW + 1,
        )
        .unwrap();
    let err = store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("boss@x.org"),
            operator(),
            NOW + 2,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Forbidden(m) if m.contains("no longer an active operator")),
        "{err:?}"
    );
    assert_eq!(store.user(&k("d0@x.org")).unwrap(), None);
    // It can still be rejected.
    store
        .decide_approval(
            request.id,
            Decision::Reject {
                reason: "sender left".into(),
            },
            &domain::By::parse("boss@x.org"),
            operator(),
            NOW + 3,
        )
        .unwrap();
}

/// Stored files waiting for approval are bounded per sender.
fn waiting_imports_are_bounded(f: &Fresh) {
    let store = &*f.store;
    store
        .set_options(
            &[
                (options::APPROVAL_ABOVE, "1"),
                (options::APPROVAL_MAX_WAITING, "1"),
            ],
            &domain::By::Cli,
            1,
        )
        .unwrap();
    let first = sent(import_as(store, "op@x.org", operator(), &rows("a", 2), NOW));
    let err = store
        .apply_import(ImportRequest {
            bytes: rows("b", 2).as_bytes(),
            file_name: "second.csv",
            operator: domain::By::parse("Op@x.org"),
            actor: operator(),
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: NOW + 1,
        })
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("1 imports") && m.contains("waiting")),
        "{err:?}"
    );
    // Another sender has room of their own; once decided, so has the first.
    sent(import_as(
        store,
        "op2@x.org",
        operator(),
        &rows("c", 2),
        NOW + 2,
    ));
    store
        .decide_approval(
            first.id,
            Decision::Reject {
                reason: "later".into(),
            },
            &domain::By::parse("boss@x.org"),
            admin(),
            NOW + 3,
        )
        .unwrap();
    sent(import_as(
        store,
        "op@x.org",
        operator(),
        &rows("b", 2),
        NOW + 4,
    ));
    // A file larger than the bytes quota is refused too.
    store
        .set_options(
            &[
                (options::APPROVAL_MAX_WAITING, "5"),
                (options::APPROVAL_MAX_WAITING_MB, "1"),
            ],
            &domain::By::Cli,
            1,
        )
        .unwrap();
    let big = rows("big", 70_000);
    assert!(big.len() > 1_000_000);
    assert!(matches!(
        store.apply_import(ImportRequest {
            bytes: big.as_bytes(),
            file_name: "big.csv",
            operator: domain::By::parse("op@x.org"),
            actor: operator(),
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: NOW + 5,
        }),
        Err(StoreError::Invalid(m)) if m.contains("MB")
    ));
}

/// Makes `email` by manual input as `maker`, and sets its password through
/// a link the maker made: an account the maker controls.
fn puppet(store: &dyn Engine, maker: &str, email: &str, now: i64) -> Actor {
    let user = domain::manual::manual_user(
        &[
            (domain::Field::Email, email),
            (domain::Field::FirstName, "P"),
            (domain::Field::LastName, "P"),
        ],
        &store.options().unwrap(),
    )
    .unwrap();
    store
        .create_user(user, &domain::By::parse(maker), operator(), now)
        .unwrap();
    let token = store
        .create_link(&k(email), now, 7, &domain::By::parse(maker), operator())
        .unwrap();
    store
        .redeem_link(&token, "$argon2id$fake", now * 1000)
        .unwrap()
        .unwrap();
    Actor::User(store.user(&k(email)).unwrap().unwrap().roles)
}

/// The puppets' side: a puppet sends and its maker, or a sibling puppet,
/// approves; puppets do not bring fresh approval windows either.
fn a_puppets_import_is_approved_by_neither_its_maker_nor_a_sibling(f: &Fresh) {
    let store = &*f.store;
    seed(store, &["op@x.org", "boss@x.org"]);
    store
        .set_option(options::APPROVAL_ABOVE, "3", &domain::By::Cli, 1)
        .unwrap();
    let p1 = puppet(store, "op@x.org", "p1@x.org", NOW);
    puppet(store, "op@x.org", "p2@x.org", NOW + 1);
    // op wrote 2 users (the puppets); p1's import of 2 makes 4 in all.
    let request = sent(import_as(store, "p1@x.org", p1, &rows("w", 2), NOW + 2));
    for (approver, reason) in [
        ("op@x.org", "you created, enrolled"),
        (
            "p2@x.org",
            "were both created, enrolled, activated or given roles by op@x.org",
        ),
    ] {
        let err = store
            .decide_approval(
                request.id,
                Decision::Approve,
                &domain::By::parse(approver),
                operator(),
                NOW + 3,
            )
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Forbidden(m) if m.contains(reason)),
            "{approver}: {err:?}"
        );
    }
    assert_eq!(store.user(&k("w0@x.org")).unwrap(), None);
    match store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("boss@x.org"),
            operator(),
            NOW + 4,
        )
        .unwrap()
    {
        ApprovalOutcome::Approved { .. } => {}
        other => panic!("{other:?}"),
    }
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
    a_puppet_cannot_approve_its_makers_import,
    the_sender_cannot_approve_under_another_spelling,
    splitting_a_file_does_not_avoid_approval,
    a_persons_deactivation_and_removed_role_survive_imports,
    undoing_a_create_after_a_password_needs_an_administrator,
    a_link_does_not_outlive_a_promotion,
    option_changes_are_audited,
    waiting_imports_are_bounded,
    a_puppets_import_is_approved_by_neither_its_maker_nor_a_sibling,
    a_deactivated_senders_import_is_not_written,
    a_promotion_by_import_ends_sessions_and_links,
);
