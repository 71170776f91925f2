//! The conformance suite: every storage engine passes these same
//! scenarios unchanged — on a redb file in a temporary folder and on a
//! fresh PostgreSQL database (see `support`). Atomic imports, stale
//! previews, history and undo, options, sign-in links used once under
//! concurrency, sessions, concurrent imports over the same users, and a
//! `roster import` killed mid-way.

mod support;

use domain::Actor;
use domain::options;
use domain::store::{
    ApprovalOutcome, Decision, ImportOutcome, ImportRequest, StoreError, UndoOutcome, sha256_hex,
};
use domain::user::{EndState, Role, Roles, Source};
use server::engine::Engine;
use std::sync::{Arc, Barrier};
use support::Fresh;

/// The key of an address, made the one way keys are made.
fn k(email: &str) -> domain::UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

const HEAD: &str = "email,first_name,last_name,phone,title\n";

fn import(store: &dyn Engine, csv: &str) -> ImportOutcome {
    import_with(store, csv, None, false)
}

fn import_with(
    store: &dyn Engine,
    csv: &str,
    fingerprint: Option<&str>,
    skip_invalid: bool,
) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            expected_fingerprint: fingerprint,
            skip_invalid,
            ..request(csv)
        })
        .unwrap()
}

fn committed(o: ImportOutcome) -> (domain::store::BatchSummary, domain::ImportPlan) {
    match o {
        ImportOutcome::Committed { batch, plan } => (batch, plan),
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn create_update_reimport_is_idempotent(f: &Fresh) {
    let store = &*f.store;
    let (b1, p1) = committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    assert_eq!((p1.counts.create, b1.id), (2, 1));
    let a = store.user(&k("a@x.org")).unwrap().unwrap();
    assert_eq!(
        (a.version, a.created_at, a.updated_at),
        (1, 1_800_000_000, 1_800_000_000)
    );

    let csv2 = format!("{HEAD}a@x.org,Ada,L,+1 2,Dr\nb@x.org,Bob,B,,\n");
    let (_, p2) = committed(import(store, &csv2));
    assert_eq!((p2.counts.update, p2.counts.unchanged), (1, 1));
    assert_eq!(store.user(&k("a@x.org")).unwrap().unwrap().version, 2);

    // The same file again: nothing to write, and no empty batch.
    let p3 = match import(store, &csv2) {
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
fn ada_like(store: &dyn Engine, email: &str) -> domain::User {
    let mut u = store.user(&k("ada@x.org")).unwrap().unwrap();
    u.email = domain::Email::parse(email).unwrap();
    u
}

fn matching_blank_cells_roles_end_state_source_and_options(f: &Fresh) {
    let store = &*f.store;
    committed(import(store, &format!("{HEAD}Ada@X.org,Ada,L,+1 2,Dr\n")));
    // Give Ada Admin and a manual source: an import adds roles, never removes.
    let mut ada = store.user(&k("ada@x.org")).unwrap().unwrap();
    ada.roles = Roles::of(&[Role::Admin]);
    ada.source = Source::Manual;
    store.put_user(ada, 1).unwrap();
    // Another active administrator, so that Ada may be deactivated.
    let mut keeper = ada_like(store, "keeper@x.org");
    keeper.roles = Roles::of(&[Role::Admin]);
    store.put_user(keeper, 1).unwrap();
    store
        .set_option(options::END_STATE, "inactive", &domain::By::Cli, 1)
        .unwrap();
    store
        .set_option(options::ROLES, "self-service", &domain::By::Cli, 1)
        .unwrap();

    let (_, p) = committed(import(store, &format!("{HEAD}ada@x.org,Ada,L,,\n")));
    assert_eq!(p.counts.update, 1);
    let ada = store.user(&k("ada@x.org")).unwrap().unwrap();
    assert_eq!(
        ada.profile.phone(),
        "+1 2",
        "blank cell keeps the stored value"
    );
    assert_eq!(ada.profile.title(), "Dr");
    assert_eq!(ada.roles, Roles::of(&[Role::Admin, Role::SelfService]));
    assert_eq!(ada.end_state, EndState::Inactive);
    assert_eq!(ada.source, Source::Csv);
    assert_eq!(
        ada.email.as_str(),
        "ada@x.org",
        "email case follows the file"
    );

    committed(import(store, &format!("{HEAD}new@x.org,N,N,,\n")));
    let new = store.user(&k("new@x.org")).unwrap().unwrap();
    assert_eq!(
        (new.roles, new.end_state),
        (Roles::of(&[Role::SelfService]), EndState::Inactive)
    );
}

fn stale_preview_writes_nothing_and_returns_a_fresh_plan(f: &Fresh) {
    let store = &*f.store;
    committed(import(store, &format!("{HEAD}a@x.org,Ada,L,,\n")));
    let csv = format!("{HEAD}a@x.org,Ada,L,,Eng\nc@x.org,C,C,,\n");
    let preview = store.preview(csv.as_bytes(), Actor::Owner).unwrap();
    // Someone edits Ada between preview and commit.
    let mut ada = store.user(&k("a@x.org")).unwrap().unwrap();
    ada.profile
        .set(domain::Field::LastName, "Lovelace")
        .unwrap();
    store.put_user(ada.clone(), 5).unwrap();
    let before_batches = store.batches().unwrap().len();

    match import_with(store, &csv, Some(&preview.fingerprint), false) {
        ImportOutcome::ChangedSincePreview { plan } => {
            assert_ne!(plan.fingerprint, preview.fingerprint);
            let (_, before, _, _) = plan.updates().next().unwrap();
            assert_eq!(before.profile.last_name(), "Lovelace");
        }
        other => panic!("expected changed-since-preview, got {other:?}"),
    }
    assert_eq!(store.user(&k("c@x.org")).unwrap(), None);
    assert_eq!(
        store.user(&k("a@x.org")).unwrap().unwrap().profile.title(),
        ""
    );
    assert_eq!(store.batches().unwrap().len(), before_batches);

    // With the fresh plan's fingerprint it goes through.
    let fresh = store.preview(csv.as_bytes(), Actor::Owner).unwrap();
    committed(import_with(store, &csv, Some(&fresh.fingerprint), false));
    assert_eq!(store.user_count().unwrap(), 2);
}

fn invalid_rows_block_unless_skipped(f: &Fresh) {
    let store = &*f.store;
    let csv = format!("{HEAD}a@x.org,Ada,L,,\nbroken,B,B,,\n");
    assert!(matches!(import(store, &csv), ImportOutcome::Blocked { .. }));
    assert_eq!(store.user_count().unwrap(), 0);
    assert!(store.batches().unwrap().is_empty());
    let (batch, plan) = committed(import_with(store, &csv, None, true));
    assert_eq!((batch.counts.create, batch.counts.invalid), (1, 1));
    assert_eq!(plan.errors().next().unwrap().line, 3);
    assert_eq!(store.user_count().unwrap(), 1);
}

fn file_errors_write_nothing(f: &Fresh) {
    let store = &*f.store;
    let e = store
        .apply_import(ImportRequest {
            bytes: b"first_name\nA\n",
            file_name: "x.csv",
            operator: domain::By::parse("op"),
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

fn undo_restores_exactly_the_before_state(f: &Fresh) {
    let store = &*f.store;
    committed(import(store, &format!("{HEAD}a@x.org,Ada,L,+1,Dr\n")));
    let before_a = store.user(&k("a@x.org")).unwrap().unwrap();
    let csv = format!("{HEAD}a@x.org,Ada,Lovelace,,Eng\nb@x.org,Bob,B,,\n");
    let (batch, _) = committed(import(store, &csv));
    assert_eq!(
        store
            .batches_with_hash(&sha256_hex(csv.as_bytes()))
            .unwrap()[0]
            .id,
        batch.id
    );

    let undo = match store
        .undo_batch(
            batch.id,
            &domain::By::parse("op2"),
            Actor::Owner,
            1_900_000_000,
        )
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
        store.undo_batch(batch.id, &domain::By::parse("op"), Actor::Owner, 0),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.undo_batch(undo.id, &domain::By::parse("op"), Actor::Owner, 0),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.undo_batch(99, &domain::By::parse("op"), Actor::Owner, 0),
        Err(StoreError::NotFound(_))
    ));
}

fn undo_is_refused_after_a_later_edit(f: &Fresh) {
    let store = &*f.store;
    let (batch, _) = committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    committed(import(store, &format!("{HEAD}b@x.org,Bob,Builder,,\n")));
    match store
        .undo_batch(batch.id, &domain::By::parse("op"), Actor::Owner, 0)
        .unwrap()
    {
        UndoOutcome::Refused { changed } => assert_eq!(changed, ["b@x.org"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.user_count().unwrap(), 2, "nothing undone");
}

fn a_manual_user_is_created_once_and_can_be_undone(f: &Fresh) {
    let store = &*f.store;
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
        .create_user(
            user.clone(),
            &domain::By::parse("op@example.org"),
            Actor::Owner,
            1_700_000_000,
        )
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
        .create_user(again, &domain::By::parse("op@example.org"), Actor::Owner, 1)
        .unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(store.user(&k("max@example.org")).unwrap().unwrap(), stored);
    assert_eq!(store.batches().unwrap().len(), 1);

    // It is in history and undoes like an import.
    match store
        .undo_batch(
            batch.id,
            &domain::By::parse("op@example.org"),
            Actor::Owner,
            2,
        )
        .unwrap()
    {
        domain::store::UndoOutcome::Undone { .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(store.user(&k("max@example.org")).unwrap().is_none());
}

fn several_options_are_set_all_or_nothing(f: &Fresh) {
    let store = &*f.store;
    let err = store
        .set_options(
            &[
                (options::END_STATE, "inactive"),
                (options::LINK_DAYS, "9999"),
            ],
            &domain::By::Cli,
            1,
        )
        .unwrap_err();
    assert!(err.to_string().contains(options::LINK_DAYS), "{err}");
    assert_eq!(store.options().unwrap(), domain::Options::default());
    let after = store
        .set_options(
            &[(options::END_STATE, "inactive"), (options::LINK_DAYS, "3")],
            &domain::By::Cli,
            1,
        )
        .unwrap();
    assert_eq!(after.end_state, EndState::Inactive);
    assert_eq!(after.link_days, 3);
    assert_eq!(store.options().unwrap(), after);
}

fn a_profile_edit_checks_the_version_and_touches_only_the_profile(f: &Fresh) {
    let store = &*f.store;
    committed(import(store, &format!("{HEAD}ada@x.org,Ada,L,+41 1,CEO\n")));
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
    assert_eq!(after.profile.phone(), "+41 2");
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

/// Runs each scenario on every engine: `redb::<name>` and `postgres::<name>`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $( #[test] fn $name() { super::$name(&super::support::redb()) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(&super::support::postgres()) } )*
        }
    };
}

conformance!(
    create_update_reimport_is_idempotent,
    matching_blank_cells_roles_end_state_source_and_options,
    stale_preview_writes_nothing_and_returns_a_fresh_plan,
    invalid_rows_block_unless_skipped,
    file_errors_write_nothing,
    undo_restores_exactly_the_before_state,
    undo_is_refused_after_a_later_edit,
    a_manual_user_is_created_once_and_can_be_undone,
    several_options_are_set_all_or_nothing,
    a_profile_edit_checks_the_version_and_touches_only_the_profile,
    keys_are_case_insensitive,
    batches_are_found_by_their_file_hash,
    a_sign_in_link_is_used_once_under_concurrency,
    sessions_are_stored_hashed_and_end_with_deactivation,
    of_two_concurrent_imports_over_the_same_users_one_wins,
    a_large_import_waits_for_approval_and_is_written_when_approved,
    the_last_active_administrator_stays,
    a_second_server_on_the_same_store_sees_every_change,
    an_import_killed_mid_way_writes_all_or_nothing,
    sign_in_failures_are_counted_by_every_server,
    the_user_counts_follow_every_change,
    the_users_list_answers_as_the_rule_says,
    a_server_secret_is_made_once_and_shared,
    a_device_cookie_from_one_server_passes_the_lock_out_on_another,
    mail_is_queued_with_a_committed_import_only,
    the_outbox_sends_retries_fails_and_drops_the_token,
    a_reset_is_queued_only_for_active_users_with_a_password,
    two_senders_claim_each_message_once,
    a_mail_whose_link_was_replaced_is_not_sent_and_templates_are_the_options,
    the_audit_log_lists_a_batch_as_one_row_that_opens_to_its_users,
    a_created_users_import_shows_what_it_wrote_after_later_changes,
    a_capped_search_counts_what_its_filters_let_through,
    a_search_finds_sort_keys_that_go_on_with_any_character,
);

const T0: i64 = 1_800_000_000;

fn mailing(store: &dyn Engine, csv: &str, mail: bool) -> (ImportOutcome, Option<u64>) {
    let (outcome, queued) = store
        .apply_import_mailing(request(csv), None, mail)
        .unwrap();
    (outcome, queued.map(|q| q.queued))
}

fn mail_is_queued_with_a_committed_import_only(f: &Fresh) {
    use domain::mail::{MailKind, MailState};
    let store = &*f.store;
    // Off by default: a committed import queues nothing.
    let (o, q) = mailing(store, &format!("{HEAD}a@x.org,Ada,L,,\n"), true);
    committed(o);
    assert_eq!(q, None);
    store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, T0)
        .unwrap();
    // No mail server: nothing queued either.
    let (o, q) = mailing(store, &format!("{HEAD}b@x.org,Bob,B,,\n"), false);
    committed(o);
    assert_eq!(q, None);
    // A refused import (an invalid row) writes no user and no mail.
    let (o, q) = mailing(
        store,
        &format!("{HEAD}c@x.org,Cy,C,,\nnot-an-address,D,D,,\n"),
        true,
    );
    assert!(matches!(o, ImportOutcome::Blocked { .. }), "{o:?}");
    assert_eq!(q, None);
    assert_eq!(store.outbox_overview(10).unwrap().0.queued, 0);
    // A committed one: one mail for each created user, none for the
    // updated one.
    let (o, q) = mailing(
        store,
        &format!("{HEAD}c@x.org,Cy,C,,\nd@x.org,Di,D,,\na@x.org,Ada,L,+1,\n"),
        true,
    );
    let (_, plan) = committed(o);
    assert_eq!((plan.counts.create, plan.counts.update), (2, 1));
    assert_eq!(q, Some(2));
    let (counts, failed) = store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent, counts.failed), (2, 0, 0));
    assert!(failed.is_empty());
    let claimed = store.claim_mail(T0, 10).unwrap();
    let mut to: Vec<&str> = claimed.iter().map(|m| m.recipient.as_str()).collect();
    to.sort();
    assert_eq!(to, ["c@x.org", "d@x.org"]);
    for m in &claimed {
        assert_eq!(
            (m.kind, m.state, m.attempts),
            (MailKind::SignInLink, MailState::Queued, 1)
        );
        // The queued token is a valid link of its user.
        let token = m.token.as_ref().unwrap();
        assert_eq!(
            store.peek_link(token, T0).unwrap(),
            Some(m.user_key.clone())
        );
        let (text, html) = m.bodies("http://roster.test").unwrap();
        assert!(
            text.contains(&format!("http://roster.test/link/{}", token.expose())),
            "{text}"
        );
        assert!(html.contains("Roster"), "{html}");
    }
    // Explicitly: "Email sign-in links" for users who have no password.
    let hash = app::security::hash_password("correct horse battery").unwrap();
    store
        .set_password(&k("a@x.org"), &hash, 1, &domain::By::Cli)
        .unwrap();
    let q = store
        .queue_sign_in_links(
            &[k("a@x.org"), k("b@x.org"), k("zz@x.org")],
            T0,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
        )
        .unwrap();
    assert_eq!(q.queued, 1);
    assert_eq!(q.left_out.len(), 2, "{:?}", q.left_out);
    assert_eq!(store.outbox_overview(10).unwrap().0.queued, 3);
}

fn the_outbox_sends_retries_fails_and_drops_the_token(f: &Fresh) {
    use domain::audit::AuditAction;
    use domain::mail::{Delivery, MAX_ATTEMPTS, MailState};
    let store = &*f.store;
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    let q = store
        .queue_sign_in_links(
            &[k("a@x.org"), k("b@x.org")],
            T0,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
        )
        .unwrap();
    assert_eq!(q.queued, 2);
    let claimed = store.claim_mail(T0, 10).unwrap();
    assert_eq!(claimed.len(), 2);
    // Held by its sender: a second claim gets nothing.
    assert!(store.claim_mail(T0 + 1, 10).unwrap().is_empty());
    let (a, b) = if claimed[0].recipient == "a@x.org" {
        (&claimed[0], &claimed[1])
    } else {
        (&claimed[1], &claimed[0])
    };
    store
        .record_delivery(a.id, Delivery::Sent, "250 OK", T0 + 2)
        .unwrap();
    let sent = store.outbox_message(a.id).unwrap().unwrap();
    assert_eq!((sent.state, sent.token.clone()), (MailState::Sent, None));
    assert!(
        store
            .user_history(&k("a@x.org"))
            .unwrap()
            .iter()
            .any(|e| e.action == AuditAction::SignInLinkEmailed)
    );
    // 4xx: due again after the backoff, not before.
    store
        .record_delivery(b.id, Delivery::Temporary, "451 try later", T0 + 2)
        .unwrap();
    assert!(store.claim_mail(T0 + 31, 10).unwrap().is_empty());
    let again = store.claim_mail(T0 + 32, 10).unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    // 5xx: failed, with the answer, token kept for a retry.
    store
        .record_delivery(b.id, Delivery::Permanent, "550 no such mailbox", T0 + 40)
        .unwrap();
    let (counts, failed) = store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent, counts.failed), (0, 1, 1));
    assert_eq!(
        failed[0].last_answer.as_deref(),
        Some("550 no such mailbox")
    );
    // Retry queues it again; a sent message cannot be retried.
    assert!(store.retry_mail(a.id, T0 + 50).is_err());
    store.retry_mail(b.id, T0 + 50).unwrap();
    assert_eq!(store.outbox_overview(10).unwrap().0.queued, 1);
    // Temporary refusals until the attempts run out: failed.
    for i in 0..MAX_ATTEMPTS {
        let now = T0 + 10_000 * i64::from(i + 1);
        let c = store.claim_mail(now, 10).unwrap();
        assert_eq!(c.len(), 1, "attempt {i}");
        store
            .record_delivery(b.id, Delivery::Temporary, "421 busy", now)
            .unwrap();
    }
    let last = store.outbox_message(b.id).unwrap().unwrap();
    assert_eq!(
        (last.state, last.attempts),
        (MailState::Failed, MAX_ATTEMPTS)
    );
    // A deactivated user's queued mail fails at the claim, without its
    // token.
    store.retry_mail(b.id, T0 + 90_000).unwrap();
    store
        .set_end_state(
            &k("b@x.org"),
            EndState::Inactive,
            &domain::By::parse("op"),
            Actor::Owner,
            T0 + 90_001,
        )
        .unwrap();
    assert!(store.claim_mail(T0 + 90_002, 10).unwrap().is_empty());
    let gone = store.outbox_message(b.id).unwrap().unwrap();
    assert_eq!((gone.state, gone.token), (MailState::Failed, None));
}

fn a_reset_is_queued_only_for_active_users_with_a_password(f: &Fresh) {
    use domain::mail::MailKind;
    let store = &*f.store;
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    let email = |e: &str| domain::Email::parse(e).unwrap();
    assert!(!store.request_reset(&email("nobody@x.org"), T0).unwrap());
    // No password yet: enrolment, not a reset.
    assert!(!store.request_reset(&email("a@x.org"), T0).unwrap());
    let hash = app::security::hash_password("correct horse battery").unwrap();
    store
        .set_password(&k("a@x.org"), &hash, 1, &domain::By::Cli)
        .unwrap();
    store
        .set_password(&k("b@x.org"), &hash, 1, &domain::By::Cli)
        .unwrap();
    store
        .set_end_state(
            &k("b@x.org"),
            EndState::Inactive,
            &domain::By::parse("op"),
            Actor::Owner,
            T0,
        )
        .unwrap();
    assert!(!store.request_reset(&email("b@x.org"), T0).unwrap());
    assert_eq!(store.outbox_overview(10).unwrap().0.queued, 0);
    store
        .set_option(options::RESET_MINUTES, "15", &domain::By::Cli, T0)
        .unwrap();
    assert!(store.request_reset(&email("A@X.org"), T0).unwrap());
    let m = store.claim_mail(T0, 10).unwrap().pop().unwrap();
    assert_eq!((m.kind, m.recipient.as_str()), (MailKind::Reset, "a@x.org"));
    assert_eq!(m.link_expires_at, T0 + 15 * 60);
    let token = m.token.unwrap();
    assert_eq!(
        store.peek_link(&token, T0 + 899).unwrap(),
        Some(k("a@x.org"))
    );
    assert_eq!(store.peek_link(&token, T0 + 900).unwrap(), None);
}

fn a_mail_whose_link_was_replaced_is_not_sent_and_templates_are_the_options(f: &Fresh) {
    use domain::mail::{MailKind, MailState};
    let store = &*f.store;
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    store
        .set_options(
            &[
                ("mail.sign_in.subject", "Welcome, {name}"),
                ("mail.sign_in.text", "Hi {name}: {link} (until {expires})"),
            ],
            &domain::By::Cli,
            T0,
        )
        .unwrap();
    // "Email sign-in links" pressed twice: the second link replaces the
    // first, so only the second mail may go out.
    let queue = |now| {
        store
            .queue_sign_in_links(
                &[k("a@x.org")],
                now,
                &domain::By::parse("op@x.org"),
                Actor::Owner,
            )
            .unwrap()
            .queued
    };
    assert_eq!((queue(T0), queue(T0 + 1)), (1, 1));
    // A reset asked twice, likewise.
    let hash = app::security::hash_password("correct horse battery").unwrap();
    store
        .set_password(&k("b@x.org"), &hash, 1, &domain::By::Cli)
        .unwrap();
    let b = domain::Email::parse("b@x.org").unwrap();
    assert!(store.request_reset(&b, T0 + 2).unwrap());
    assert!(store.request_reset(&b, T0 + 3).unwrap());
    let claimed = store.claim_mail(T0 + 4, 10).unwrap();
    let kinds: Vec<_> = claimed.iter().map(|m| (m.kind, m.created_at)).collect();
    assert_eq!(
        kinds,
        [(MailKind::SignInLink, T0 + 1), (MailKind::Reset, T0 + 3)]
    );
    let (counts, failed) = store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.failed), (2, 2));
    for m in &failed {
        assert_eq!(m.token, None);
        assert!(
            m.last_answer
                .as_deref()
                .unwrap()
                .contains("replaced by a newer one"),
            "{:?}",
            m.last_answer
        );
        assert!(store.retry_mail(m.id, T0 + 5).is_err());
    }
    // Stored, a message holds no text: it is filled at the claim.
    let stored = store.outbox_message(claimed[0].id).unwrap().unwrap();
    assert_eq!((stored.subject.as_str(), stored.text.as_str()), ("", ""));
    // The edited sign-in template was used; the reset one is Roster's.
    let sign_in = &claimed[0];
    assert_eq!(sign_in.subject, "Welcome, Ada L");
    assert!(sign_in.text.starts_with("Hi Ada L: "), "{}", sign_in.text);
    assert!(sign_in.text.ends_with(" UTC)"), "{}", sign_in.text);
    assert_eq!(claimed[1].subject, "Reset your password for Roster");
    assert_eq!(
        store.outbox_message(failed[0].id).unwrap().unwrap().state,
        MailState::Failed
    );
    // Revoked by an operator, or used up, before the sender came: not sent.
    assert_eq!(queue(T0 + 6), 1);
    store.revoke_links(&k("a@x.org")).unwrap();
    assert_eq!(queue(T0 + 7), 1);
    // The newest message's token (ids count up from 1), as the sender
    // would read it; redeemed by whoever holds it.
    let (counts, _) = store.outbox_overview(0).unwrap();
    let newest = counts.queued + counts.sent + counts.failed;
    let token = store
        .outbox_message(newest)
        .unwrap()
        .unwrap()
        .token
        .unwrap();
    store
        .redeem_link(&token, &hash, T0 * 1000 + 8_000)
        .unwrap()
        .unwrap();
    assert!(store.claim_mail(T0 + 9, 10).unwrap().is_empty());
    let (counts, _) = store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.failed), (2, 4));
}

fn two_senders_claim_each_message_once(f: &Fresh) {
    let store = &*f.store;
    let mut csv = String::from(HEAD);
    for i in 0..40 {
        csv.push_str(&format!("u{i}@x.org,U,{i},,\n"));
    }
    store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, T0)
        .unwrap();
    let (o, q) = mailing(store, &csv, true);
    committed(o);
    assert_eq!(q, Some(40));
    // A second server on the same store (PostgreSQL), or a second sender
    // in the one process (redb).
    let second = if f.args[0] == "--database" {
        f.reopen()
    } else {
        f.store.clone()
    };
    let barrier = Arc::new(Barrier::new(2));
    let senders: Vec<_> = [f.store.clone(), second]
        .into_iter()
        .map(|s| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut ids = Vec::new();
                loop {
                    let got = s.claim_mail(T0, 3).unwrap();
                    if got.is_empty() {
                        break ids;
                    }
                    ids.extend(got.iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut all: Vec<u64> = senders
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!((n, all.len()), (40, 40));
}

fn a_device_cookie_from_one_server_passes_the_lock_out_on_another(f: &Fresh) {
    use app::context::{SignInRefused, authenticate_with};
    use domain::throttle::FREE_FAILURES;
    committed(import(&*f.store, &format!("{HEAD}ada@x.org,Ada,L,,\n")));
    let hash = app::security::hash_password("correct horse battery").unwrap();
    f.store
        .set_password(&k("ada@x.org"), &hash, 1, &domain::By::Cli)
        .unwrap();
    let second = if f.args[0] == "--database" {
        f.reopen()
    } else {
        f.store.clone()
    };
    // Made by the first server, as after a sign-in there.
    let secret = f.store.secret(app::device::SECRET_NAME).unwrap();
    let cookie = app::device::new_value(&secret, &k("ada@x.org"), app::context::now_s());
    let attempt = |store: &Arc<dyn Engine>, password: &str, from: u8, cookies: Vec<String>| {
        let app_store: app::context::AppStore = store.clone();
        let counters = store.throttles().sign_in;
        let password = password.to_string();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(authenticate_with(
            app_store,
            counters,
            "ada@x.org",
            password,
            Some(std::net::IpAddr::from([192, 0, 2, from])),
            cookies,
        ))
    };
    // Guesses on the first server lock the account on both …
    for i in 0..FREE_FAILURES {
        let r = attempt(&f.store, "guess", 100 + i as u8, Vec::new());
        assert_eq!(r.unwrap_err(), SignInRefused::WrongCredentials);
    }
    let r = attempt(&second, "correct horse battery", 1, Vec::new());
    assert!(matches!(r, Err(SignInRefused::Throttled(_))), "{r:?}");
    // … but not for the browser that holds the first server's cookie.
    let ada = attempt(&second, "correct horse battery", 1, vec![cookie]).unwrap();
    assert_eq!(ada.key(), "ada@x.org");
}

fn a_server_secret_is_made_once_and_shared(f: &Fresh) {
    // redb: one process holds the file, so "another server" is the same
    // store; PostgreSQL: two stores open at once, as two app servers.
    let postgres = f.args[0] == "--database";
    let second = if postgres {
        f.reopen()
    } else {
        f.store.clone()
    };
    // Eight callers at once, half on each server, on a secret nobody made
    // yet: all get the same one.
    let barrier = Arc::new(Barrier::new(8));
    let secrets: Vec<[u8; 32]> = (0..8)
        .map(|n| {
            let store = if n % 2 == 0 {
                f.store.clone()
            } else {
                second.clone()
            };
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                store.secret("device-cookie").unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(secrets.iter().all(|s| *s == secrets[0]), "{secrets:?}");
    assert_ne!(secrets[0], [0; 32]);
    assert_ne!(f.store.secret("another").unwrap(), secrets[0]);
    assert_eq!(
        second.secret("another").unwrap(),
        f.store.secret("another").unwrap()
    );
    if postgres {
        // A server started later (or after a restart) reads the same.
        assert_eq!(f.reopen().secret("device-cookie").unwrap(), secrets[0]);
    }
}

fn keys_are_case_insensitive(f: &Fresh) {
    let store = &*f.store;
    committed(import(store, &format!("{HEAD}Ada.L@Example.ORG,Ada,L,,\n")));
    let ada = store.user(&k("ada.l@example.org")).unwrap().unwrap();
    assert_eq!(ada.email.as_str(), "Ada.L@Example.ORG");
    let (_, plan) = committed(import(
        store,
        &format!("{HEAD}ADA.L@EXAMPLE.org,Ada,Lovelace,,\n"),
    ));
    assert_eq!((plan.counts.create, plan.counts.update), (0, 1));
    assert_eq!(store.user_count().unwrap(), 1);
    assert_eq!(
        store
            .users_by_keys(&[k("ADA.L@example.org")])
            .unwrap()
            .len(),
        1
    );
}

fn batches_are_found_by_their_file_hash(f: &Fresh) {
    let store = &*f.store;
    let csv = format!("{HEAD}a@x.org,Ada,L,,\n");
    let (batch, _) = committed(import(store, &csv));
    let other = format!("{HEAD}b@x.org,Bob,B,,\n");
    committed(import(store, &other));
    let found = store
        .batches_with_hash(&sha256_hex(csv.as_bytes()))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, batch.id);
    assert_eq!(
        store.batches_with_hash("0".repeat(64).as_str()).unwrap(),
        []
    );
    assert_eq!(store.recent_batches(1).unwrap()[0].file_name, "users.csv");
    assert_eq!(store.batches().unwrap().len(), 2);
}

fn a_sign_in_link_is_used_once_under_concurrency(f: &Fresh) {
    let store = &f.store;
    committed(import(&**store, &format!("{HEAD}a@x.org,Ada,L,,\n")));
    let token = store
        .create_link(
            &k("a@x.org"),
            1_800_000_000,
            7,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
        )
        .unwrap();
    assert_eq!(
        store.peek_link(&token, 1_800_000_001).unwrap(),
        Some(k("a@x.org"))
    );
    let barrier = Arc::new(Barrier::new(8));
    let redeemed: Vec<Option<domain::UserKey>> = (0..8)
        .map(|n| {
            let (store, token, barrier) = (store.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store
                    .redeem_link(&token, &format!("phc-{n}"), 1_800_000_002_000)
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(
        redeemed.iter().filter(|r| r.is_some()).count(),
        1,
        "{redeemed:?}"
    );
    assert_eq!(store.peek_link(&token, 1_800_000_003).unwrap(), None);
    assert!(
        store
            .password_hash(&k("a@x.org"))
            .unwrap()
            .unwrap()
            .starts_with("phc-")
    );
    assert_eq!(
        store.password_epoch(&k("a@x.org")).unwrap(),
        1_800_000_002_000
    );
    // Expired links are refused and purged.
    let old = store
        .create_link(
            &k("a@x.org"),
            1_000,
            1,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
        )
        .unwrap();
    assert_eq!(
        store.redeem_link(&old, "phc", 1_800_000_004_000).unwrap(),
        None
    );
    assert_eq!(store.purge_expired_links(1_800_000_000).unwrap(), 1);
}

fn sessions_are_stored_hashed_and_end_with_deactivation(f: &Fresh) {
    let store = &*f.store;
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    let data =
        |who: &str| format!(r#"{{"data":{{"user":{{"key":"{who}"}}}},"expires":2000000000}}"#);
    assert!(
        store
            .insert_session(
                "s1",
                Some("a@x.org"),
                2_000_000_000,
                data("a@x.org").as_bytes()
            )
            .unwrap()
    );
    assert!(
        !store
            .insert_session("s1", Some("b@x.org"), 2_000_000_000, b"{}")
            .unwrap(),
        "an id is never overwritten"
    );
    assert!(
        store
            .insert_session(
                "s2",
                Some("b@x.org"),
                2_000_000_000,
                data("b@x.org").as_bytes()
            )
            .unwrap()
    );
    assert!(
        store
            .insert_session("old", None, 1, br#"{"data":{},"expires":1}"#)
            .unwrap()
    );
    assert_eq!(
        store.session("s1").unwrap().unwrap(),
        data("a@x.org").as_bytes()
    );
    store
        .put_session(
            "s2",
            Some("b@x.org"),
            2_000_000_001,
            data("b@x.org").as_bytes(),
        )
        .unwrap();
    assert_eq!(store.delete_expired_sessions(1_800_000_000).unwrap(), 1);
    // Deactivating a user ends their sessions, and only theirs.
    store
        .set_end_state(
            &k("a@x.org"),
            EndState::Inactive,
            &domain::By::parse("op"),
            Actor::Owner,
            5,
        )
        .unwrap();
    assert_eq!(store.session("s1").unwrap(), None);
    assert!(store.session("s2").unwrap().is_some());
    store.delete_session("s2").unwrap();
    assert_eq!(store.session("s2").unwrap(), None);
}

fn of_two_concurrent_imports_over_the_same_users_one_wins(f: &Fresh) {
    let store = &f.store;
    committed(import(&**store, &format!("{HEAD}a@x.org,Ada,L,,\n")));
    let files = [
        format!("{HEAD}a@x.org,Ada,One,,\nb@x.org,Bob,One,,\n"),
        format!("{HEAD}a@x.org,Ada,Two,,\nb@x.org,Bob,Two,,\n"),
    ];
    // Both previewed against the same store, then committed at once.
    let previews: Vec<String> = files
        .iter()
        .map(|csv| {
            store
                .preview(csv.as_bytes(), Actor::Owner)
                .unwrap()
                .fingerprint
        })
        .collect();
    let barrier = Arc::new(Barrier::new(2));
    let outcomes: Vec<ImportOutcome> = files
        .into_iter()
        .zip(previews)
        .map(|(csv, fp)| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                import_with(&*store, &csv, Some(&fp), false)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let won: Vec<usize> = (0..2)
        .filter(|&i| matches!(outcomes[i], ImportOutcome::Committed { .. }))
        .collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    let lost = 1 - won[0];
    assert!(
        matches!(outcomes[lost], ImportOutcome::ChangedSincePreview { .. }),
        "{:?}",
        outcomes[lost]
    );
    let name = ["One", "Two"][won[0]];
    assert_eq!(
        store
            .user(&k("a@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .last_name(),
        name
    );
    assert_eq!(
        store
            .user(&k("b@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .last_name(),
        name
    );
    assert_eq!(store.batches().unwrap().len(), 2);
}

fn a_large_import_waits_for_approval_and_is_written_when_approved(f: &Fresh) {
    let store = &*f.store;
    store
        .set_option(options::APPROVAL_ABOVE, "1", &domain::By::Cli, 1)
        .unwrap();
    let operator = Actor::User(Roles::of(&[Role::Operator, Role::SelfService]));
    let csv = format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n");
    let request = match store
        .apply_import(ImportRequest {
            actor: operator,
            ..request(&csv)
        })
        .unwrap()
    {
        ImportOutcome::SentForApproval { request, .. } => request,
        other => panic!("expected a request for approval, got {other:?}"),
    };
    assert_eq!(store.user_count().unwrap(), 0);
    let (waiting, bytes) = store.approval(request.id).unwrap().unwrap();
    assert_eq!(
        (waiting, bytes.as_slice()),
        (request.clone(), csv.as_bytes())
    );
    let approver = Actor::User(Roles::of(&[Role::Approval, Role::Operator]));
    assert!(matches!(
        store.decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("op@x.org"),
            approver,
            9
        ),
        Err(StoreError::Forbidden(_))
    ));
    match store
        .decide_approval(
            request.id,
            Decision::Approve,
            &domain::By::parse("ap@x.org"),
            approver,
            9,
        )
        .unwrap()
    {
        ApprovalOutcome::Approved { batch, .. } => assert_eq!(batch.counts.create, 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.user_count().unwrap(), 2);
    let (decided, bytes) = store.approval(request.id).unwrap().unwrap();
    assert!(bytes.is_empty(), "the file is dropped once decided");
    assert!(matches!(
        store.decide_approval(
            decided.id,
            Decision::Approve,
            &domain::By::parse("ap@x.org"),
            approver,
            10
        ),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.approvals().unwrap().len(), 1);
}

fn the_last_active_administrator_stays(f: &Fresh) {
    let store = &*f.store;
    let admin = server::commands::ensure_admin(
        store,
        &domain::Email::parse("root@x.org").unwrap(),
        Source::Bootstrap,
    )
    .unwrap();
    // The first start's check finds this one and makes no other.
    let first = server::commands::first_admin(store, &domain::Email::parse("other@x.org").unwrap())
        .unwrap();
    assert_eq!(first, admin);
    assert_eq!(store.user_count().unwrap(), 1);
    let err = store
        .set_end_state(
            admin.key(),
            EndState::Inactive,
            &domain::By::Cli,
            Actor::Owner,
            5,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err:?}");
    assert_eq!(store.user(admin.key()).unwrap().unwrap(), admin);
    assert!(
        store
            .audit_log()
            .unwrap()
            .iter()
            .all(|e| e.action != domain::audit::AuditAction::Deactivate)
    );
}

fn a_second_server_on_the_same_store_sees_every_change(f: &Fresh) {
    // redb: one process holds the file; a reopen after the first closed.
    // PostgreSQL: two stores open at once, as two app servers.
    let first = &f.store;
    committed(import(&**first, &format!("{HEAD}a@x.org,Ada,L,,\n")));
    let csv = format!("{HEAD}a@x.org,Ada,Lovelace,,\n");
    let stale = first.preview(csv.as_bytes(), Actor::Owner).unwrap();
    if f.args[0] == "--data" {
        return; // the redb file cannot be opened twice (see the store tests)
    }
    let second = f.reopen();
    assert_eq!(second.user_count().unwrap(), 1);
    committed(import(&*second, &format!("{HEAD}a@x.org,Ada,Byron,,\n")));
    assert_eq!(
        first
            .user(&k("a@x.org"))
            .unwrap()
            .unwrap()
            .profile
            .last_name(),
        "Byron"
    );
    assert!(matches!(
        import_with(&**first, &csv, Some(&stale.fingerprint), false),
        ImportOutcome::ChangedSincePreview { .. }
    ));
    assert!(
        first
            .insert_session("s", Some("a@x.org"), 2_000_000_000, b"{}")
            .unwrap()
    );
    assert!(second.session("s").unwrap().is_some());
    second
        .set_option(options::LINK_DAYS, "3", &domain::By::Cli, 1)
        .unwrap();
    assert_eq!(first.options().unwrap().link_days, 3);
}

fn an_import_killed_mid_way_writes_all_or_nothing(f: &Fresh) {
    const ROWS: usize = 60_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    let mut csv = String::from(HEAD);
    for i in 0..ROWS {
        csv.push_str(&format!("user{i}@x.org,First{i},Last{i},,\n"));
    }
    std::fs::write(&file, csv).unwrap();
    // redb allows one process per file: the child gets a folder of its
    // own, opened here only between runs.
    let own = tempfile::tempdir().unwrap();
    let (args, count): (Vec<String>, Box<dyn Fn() -> u64>) = if f.args[0] == "--data" {
        let data = own.path().to_path_buf();
        (
            vec!["--data".into(), data.display().to_string()],
            Box::new(move || {
                domain::store::Store::user_count(
                    &server::engine::redb::RedbStore::open(&data).unwrap(),
                )
                .unwrap()
            }),
        )
    } else {
        (f.args.clone(), Box::new(|| f.store.user_count().unwrap()))
    };
    let roster = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
        c.args(&args)
            .arg("import")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    // A dry run reads, parses and plans without writing: kills after about
    // that long land in the write transaction.
    let started = std::time::Instant::now();
    assert!(roster().arg("--dry-run").status().unwrap().success());
    let plan_time = started.elapsed();
    let mut seen = Vec::new();
    for factor in [1.1, 1.5, 2.5, 4.0] {
        let mut child = roster().spawn().unwrap();
        std::thread::sleep(plan_time.mul_f64(factor));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let count = count();
        assert!(
            count == 0 || count == ROWS as u64,
            "killed after {factor} × the plan time: {count} users"
        );
        seen.push(count);
        if count == ROWS as u64 {
            break;
        }
    }
    // Whatever the kills left, a whole run writes every user.
    assert!(roster().status().unwrap().success());
    assert_eq!(count(), ROWS as u64);
    eprintln!("users after each kill: {seen:?}");
}

fn request(csv: &str) -> ImportRequest<'_> {
    ImportRequest {
        bytes: csv.as_bytes(),
        file_name: "users.csv",
        operator: domain::By::parse("op@x.org"),
        actor: Actor::Owner,
        expected_fingerprint: None,
        skip_invalid: false,
        corrected: None,
        now: 1_800_000_000,
    }
}

fn sign_in_failures_are_counted_by_every_server(f: &Fresh) {
    use domain::throttle::FREE_FAILURES;
    // redb's counters are in the process (one process holds the file);
    // PostgreSQL's in the database, for a second server too.
    let second = if f.args[0] == "--data" {
        f.store.clone()
    } else {
        f.reopen()
    };
    let (one, two) = (f.store.throttles(), second.throttles());
    // A key of this store only (tests may share in-process counters).
    let account = format!("account:{}@x.org", f.args[1].replace(['/', ' ', '='], "-"));
    for _ in 1..FREE_FAILURES {
        assert_eq!(one.sign_in.begin_now(&[&account]).unwrap(), Ok(()));
    }
    // The last free failure, on the other server: from now on both wait.
    assert_eq!(two.sign_in.begin_now(&[&account]).unwrap(), Ok(()));
    for throttle in [&one.sign_in, &two.sign_in] {
        let wait = throttle.begin_now(&[&account]).unwrap().unwrap_err();
        assert!(wait > std::time::Duration::ZERO && wait <= std::time::Duration::from_secs(1));
    }
    // The links throttle counts apart.
    assert_eq!(two.links.begin_now(&[&account]).unwrap(), Ok(()));
    // A success on one server clears the account on both.
    two.sign_in.succeeded_now(&[&account], &[]).unwrap();
    assert_eq!(one.sign_in.begin_now(&[&account]).unwrap(), Ok(()));
}

/// Fills a store with one of everything: imports (one corrected, one
/// undone), an operator edit, a request waiting for approval with its
/// file, a password, a sign-in link and a changed option. Returns the
/// link's token.
fn one_of_everything(store: &dyn Engine) -> domain::link::LinkToken {
    store
        .set_option(options::LINK_DAYS, "3", &domain::By::Cli, 1)
        .unwrap();
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    let (undone, _) = committed(import(store, &format!("{HEAD}c@x.org,Cy,C,,\n")));
    store
        .undo_batch(undone.id, &domain::By::parse("op@x.org"), Actor::Owner, 5)
        .unwrap();
    let csv = format!("{HEAD}a@x.org,Ada,Lovelace,,\n");
    committed(
        store
            .apply_import(ImportRequest {
                corrected: Some(domain::store::Correction {
                    cells: 1,
                    original_sha256: "0".repeat(64),
                }),
                ..request(&csv)
            })
            .unwrap(),
    );
    store
        .set_option(options::APPROVAL_ABOVE, "1", &domain::By::Cli, 1)
        .unwrap();
    let big = format!("{HEAD}d@x.org,D,D,,\ne@x.org,E,E,,\n");
    let operator = Actor::User(Roles::of(&[Role::Operator]));
    assert!(matches!(
        store
            .apply_import(ImportRequest {
                actor: operator,
                ..request(&big)
            })
            .unwrap(),
        ImportOutcome::SentForApproval { .. }
    ));
    store
        .set_password(&k("a@x.org"), "phc-a", 1_800_000_000_123, &domain::By::Cli)
        .unwrap();
    store
        .create_link(
            &k("b@x.org"),
            1_800_000_000,
            3,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
        )
        .unwrap()
}

/// Everything `roster copy` carries, as the store answers it.
fn everything(
    store: &dyn Engine,
    token: &domain::link::LinkToken,
) -> impl PartialEq + std::fmt::Debug {
    (
        store.all_users().unwrap(),
        store.options().unwrap(),
        store.batches().unwrap(),
        store.audit_log().unwrap(),
        store.corrections().unwrap(),
        store.approvals().unwrap(),
        store.approval(1).unwrap(),
        store.password_hash(&k("a@x.org")).unwrap(),
        store.password_epoch(&k("a@x.org")).unwrap(),
        store.peek_link(token, 1_800_000_001).unwrap(),
    )
}

fn a_copy_carries_everything_and_goes_on_numbering(from: Fresh, to: Fresh) {
    let token = one_of_everything(&*from.store);
    let n = server::engine::copy(&*from.store, &*to.store).unwrap();
    assert_eq!(
        (n.users, n.batches, n.approvals, n.passwords, n.links),
        (2, 4, 1, 1, 1)
    );
    assert_eq!(
        everything(&*from.store, &token),
        everything(&*to.store, &token)
    );
    // Undo works on copied history, and new ids follow the copied ones.
    let last = to.store.batches().unwrap()[0].id;
    let events = to.store.audit_log().unwrap().len();
    let csv = format!("{HEAD}f@x.org,F,F,,\n");
    let (batch, _) = committed(import(&*to.store, &csv));
    assert_eq!(batch.id, last + 1);
    // Its user's event, then its head.
    assert_eq!(to.store.audit_log().unwrap()[0].id as usize, events + 2);
    assert!(matches!(
        to.store
            .undo_batch(1, &domain::By::parse("op@x.org"), Actor::Owner, 9)
            .unwrap(),
        UndoOutcome::Refused { .. }
    ));
    // A store that is not empty is refused, and nothing is written.
    let again = server::engine::copy(&*from.store, &*to.store).unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");
    assert_eq!(to.store.batches().unwrap().len(), 5);
}

#[test]
fn a_copy_from_redb_to_postgres_carries_everything() {
    a_copy_carries_everything_and_goes_on_numbering(support::redb(), support::postgres());
}

#[test]
fn a_copy_from_postgres_to_redb_carries_everything() {
    a_copy_carries_everything_and_goes_on_numbering(support::postgres(), support::redb());
}

fn the_user_counts_follow_every_change(f: &Fresh) {
    let store = &*f.store;
    let expect = |store: &dyn Engine| {
        let mut stats = domain::store::UserStats::default();
        for user in store.all_users().unwrap() {
            stats.count(&user);
        }
        stats
    };
    server::commands::ensure_admin(
        store,
        &domain::Email::parse("root@x.org").unwrap(),
        Source::Bootstrap,
    )
    .unwrap();
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,\nb@x.org,Bob,B,,\n"),
    ));
    let manual = domain::manual::manual_user(
        &[
            (domain::Field::Email, "m@x.org"),
            (domain::Field::FirstName, "M"),
            (domain::Field::LastName, "M"),
        ],
        &store.options().unwrap(),
    )
    .unwrap();
    store
        .create_user(manual, &domain::By::parse("op@x.org"), Actor::Owner, 3)
        .unwrap();
    store
        .set_end_state(
            &k("b@x.org"),
            EndState::Inactive,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
            4,
        )
        .unwrap();
    let stats = store.user_stats().unwrap();
    assert_eq!(stats, expect(store));
    assert_eq!(
        (
            stats.total,
            stats.active,
            stats.inactive,
            stats.csv,
            stats.manual,
            stats.bootstrap
        ),
        (4, 3, 1, 2, 1, 1)
    );
    // The counters after each kind of write equal a count of the users,
    // and give every filter's total on the Users page.
    let check = |store: &dyn Engine, step: &str| {
        let real = expect(store);
        assert_eq!(store.user_stats().unwrap(), real, "{step}");
        assert_eq!(store.user_count().unwrap(), real.total, "{step}");
        let all = store.all_users().unwrap();
        for end_state in [None, Some(EndState::Active), Some(EndState::Inactive)] {
            for source in [
                None,
                Some(Source::Csv),
                Some(Source::Manual),
                Some(Source::Scim),
            ] {
                let query = domain::directory::UserQuery {
                    end_state,
                    source,
                    ..Default::default()
                };
                assert_eq!(
                    store.list_users(&query).unwrap(),
                    domain::directory::page_of(all.clone(), &query, false),
                    "{step}: {query:?}"
                );
            }
        }
    };
    check(store, "created, imported, deactivated");
    // An update (a changed title, and a manual user the file lists).
    committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,Boss\nm@x.org,M,M,,Clerk\n"),
    ));
    check(store, "updated");
    // An import undone.
    let (batch, _) = committed(import(
        store,
        &format!("{HEAD}c@x.org,C,C,,\nd@x.org,D,D,,\nb@x.org,Bob,B,,Again\n"),
    ));
    check(store, "imported again");
    assert!(matches!(
        store
            .undo_batch(batch.id, &domain::By::parse("op@x.org"), Actor::Owner, 5)
            .unwrap(),
        UndoOutcome::Undone { .. }
    ));
    check(store, "undone");
    // A sync that deactivates the imported users the file leaves out.
    committed(import(
        store,
        &format!("{HEAD}e@x.org,E,E,,\nf@x.org,F,F,,\n"),
    ));
    let synced = store
        .apply_sync_import(
            ImportRequest {
                now: 6,
                ..request(&format!("{HEAD}a@x.org,Ada,L,,Boss\n"))
            },
            &domain::store::SyncRequest {
                force: true,
                ..Default::default()
            },
        )
        .unwrap();
    committed(synced);
    assert!(store.user_stats().unwrap().inactive >= 3);
    check(store, "synced");
    // A reactivation.
    store
        .set_end_state(
            &k("e@x.org"),
            EndState::Active,
            &domain::By::parse("op@x.org"),
            Actor::Owner,
            7,
        )
        .unwrap();
    check(store, "reactivated");
}

fn the_users_list_answers_as_the_rule_says(f: &Fresh) {
    use domain::directory::{UserQuery, UserSort, page_of};
    let store = &*f.store;
    // Names and addresses whose byte order differs from a locale's order.
    let mut csv = String::from("email,first_name,last_name,display_name\n");
    for (i, (first, last)) in [
        ("Zoë", "Ångström"),
        ("ada", "Lovelace"),
        ("Ada", "lovelace"),
        ("Émile", "Zola"),
        ("bob", "B"),
        ("Bob", "b"),
        ("_x", "Y"),
        ("Grace", "Hopper"),
    ]
    .iter()
    .enumerate()
    {
        csv.push_str(&format!("U{i}.{first}@Ex-{}.org,{first},{last},\n", i % 3));
    }
    committed(import(store, &csv));
    store
        .set_end_state(
            &k("u3.émile@ex-0.org"),
            EndState::Inactive,
            &domain::By::parse("op"),
            Actor::Owner,
            1_900_000_000,
        )
        .unwrap();
    // A renamed user: found by the new name ("nobody" below).
    committed(import(
        store,
        &format!("{HEAD}u7.grace@ex-1.org,Nobody,Known,,\n"),
    ));
    let all = store.all_users().unwrap();
    for sort in UserSort::ALL {
        for (end_state, source) in [
            (None, None),
            (Some(EndState::Active), None),
            (Some(EndState::Inactive), None),
            (None, Some(Source::Csv)),
            (Some(EndState::Active), Some(Source::Manual)),
        ] {
            for (page, page_size) in [(0, 50), (0, 3), (1, 3), (2, 3), (9, 3)] {
                for search in [
                    "", "ada", "ex 0", "LOVE ad", "zo", "émi", "nobody", "u1 ex", "u ex org",
                    "x y z",
                ] {
                    let query = UserQuery {
                        search: search.into(),
                        end_state,
                        source,
                        sort,
                        page,
                        page_size,
                    };
                    assert_eq!(
                        store.list_users(&query).unwrap(),
                        page_of(all.clone(), &query, false),
                        "{query:?}"
                    );
                }
            }
        }
    }
}

/// An import and its undo are one row each in the Audit log, opening to
/// their users (paged); History, a search by address and the export still
/// show every user's event.
fn the_audit_log_lists_a_batch_as_one_row_that_opens_to_its_users(f: &Fresh) {
    use domain::audit::{AuditAction, AuditEvent, AuditQuery};
    let store = &*f.store;
    let page = |q: AuditQuery| store.audit_page(&q).unwrap();
    let csv1 = format!("{HEAD}a@x.org,Ada,L,,Eng\n");
    let (b1, _) = committed(import(store, &csv1));
    store
        .record_events(vec![AuditEvent::about(
            T0,
            "someone@x.org",
            "someone@x.org",
            AuditAction::SignInFailed,
        )])
        .unwrap();
    let (b2, _) = committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,,Manager\nb@x.org,Bob,B,,\n"),
    ));
    let undo = match store
        .undo_batch(b2.id, &domain::By::parse("op2@x.org"), Actor::Owner, T0 + 1)
        .unwrap()
    {
        UndoOutcome::Undone { batch } => batch,
        other => panic!("{other:?}"),
    };

    // The log: one row a batch, newest first, each naming how many users.
    let log = page(AuditQuery::default());
    let rows: Vec<(AuditAction, Option<u64>, Option<u64>)> = log
        .events
        .iter()
        .map(|e| (e.action, e.batch, e.folded().map(|r| r.end - r.start)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (AuditAction::Undo, Some(undo.id), Some(2)),
            (AuditAction::Import, Some(b2.id), Some(2)),
            (AuditAction::SignInFailed, None, None),
            (AuditAction::Import, Some(b1.id), Some(1)),
        ]
    );
    assert!(!log.more);
    assert_eq!(log.events[1].actor, "op@x.org");
    assert_eq!(log.events[0].actor, "op2@x.org");
    // Filtered by action, still one row a batch.
    let imports = page(AuditQuery {
        action: Some(AuditAction::Import),
        ..Default::default()
    });
    assert_eq!(imports.events.len(), 2);

    // Opened: the batch's users, with their changes.
    let opened = page(AuditQuery {
        within: Some(log.events[1].id),
        ..Default::default()
    });
    let mut targets: Vec<&str> = opened.events.iter().map(|e| e.target.as_str()).collect();
    targets.sort();
    assert_eq!(targets, ["a@x.org", "b@x.org"]);
    assert!(opened.events.iter().all(|e| e.batch == Some(b2.id)));
    let a = opened
        .events
        .iter()
        .find(|e| e.target == "a@x.org")
        .unwrap();
    assert!(
        a.changes
            .iter()
            .any(|c| c.old == "Eng" && c.new == "Manager"),
        "{a:?}"
    );
    // An event that is not a head opens to nothing.
    let none = page(AuditQuery {
        within: Some(log.events[2].id),
        ..Default::default()
    });
    assert!(none.events.is_empty());

    // A user's History and a search by address: every event of theirs.
    let history = store.user_history(&k("a@x.org")).unwrap();
    assert_eq!(
        history.iter().map(|e| e.batch).collect::<Vec<_>>(),
        [Some(undo.id), Some(b2.id), Some(b1.id)]
    );
    let by_address = page(AuditQuery {
        target: "a@x.org".into(),
        ..Default::default()
    });
    assert_eq!(by_address.events, history);
    // The export: everything, heads and users.
    assert_eq!(store.audit_log().unwrap().len(), 1 + 1 + 1 + 2 + 1 + 2 + 1);

    // A batch larger than a page opens to pages of its users.
    let mut csv = String::from(HEAD);
    for i in 0..120 {
        csv.push_str(&format!("p{i}@x.org,P,{i},,\n"));
    }
    committed(import(store, &csv));
    let head = page(AuditQuery::default()).events[0].clone();
    assert_eq!(head.folded().map(|r| r.end - r.start), Some(120));
    let opened = |n: u32| {
        page(AuditQuery {
            within: Some(head.id),
            page: n,
            ..Default::default()
        })
    };
    let (p0, p2, p3) = (opened(0), opened(2), opened(3));
    assert_eq!((p0.events.len(), p0.more), (50, true));
    assert_eq!((p2.events.len(), p2.more), (20, false));
    assert!(p3.events.is_empty());
    assert_eq!(
        page(AuditQuery::default()).events.len(),
        5,
        "the 120 users are one row"
    );

    // An import that mails its created users their links: the links are a
    // second row of the batch, not one a user.
    store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, T0)
        .unwrap();
    let (o, q) = mailing(
        store,
        &format!(
            "{HEAD}m1@x.org,M,1,,
m2@x.org,M,2,,
"
        ),
        true,
    );
    let (mailed, _) = committed(o);
    assert_eq!(q, Some(2));
    let log = page(AuditQuery::default());
    let top: Vec<(AuditAction, Option<u64>, Option<u64>)> = log.events[..2]
        .iter()
        .map(|e| (e.action, e.batch, e.folded().map(|r| r.end - r.start)))
        .collect();
    assert_eq!(
        top,
        [
            (AuditAction::SignInLinkMade, Some(mailed.id), Some(2)),
            (AuditAction::Import, Some(mailed.id), Some(2)),
        ]
    );
    assert!(log.events.iter().all(|e| !e.target.starts_with('m')));
    let links = page(AuditQuery {
        within: Some(log.events[0].id),
        ..Default::default()
    });
    assert!(
        links
            .events
            .iter()
            .all(|e| e.action == AuditAction::SignInLinkMade && e.target.starts_with('m'))
    );
    assert_eq!(store.user_history(&k("m1@x.org")).unwrap().len(), 2);
}

/// A user an import created keeps, in History, the Audit log and the
/// export, the values the import wrote, however the user changed since:
/// the event stores none of them (they are derived from the record and
/// the later events), and the facts shown are the ones stored before.
fn a_created_users_import_shows_what_it_wrote_after_later_changes(f: &Fresh) {
    use domain::audit::{AuditAction, AuditQuery, created};
    let store = &*f.store;
    let op = domain::By::parse("op@x.org");
    let (b1, _) = committed(import(
        store,
        &format!("{HEAD}a@x.org,Ada,L,+1 555,Eng\nb@x.org,Bob,B,,\n"),
    ));
    let as_imported = store.user(&k("a@x.org")).unwrap().unwrap();
    // Changed since: by its user, by a later import, by an operator.
    let mut profile = as_imported.profile.clone();
    profile.set(domain::Field::Phone, "").unwrap();
    profile.set(domain::Field::Mobile, "+1 556").unwrap();
    store
        .update_profile(&k("a@x.org"), profile, as_imported.version, T0 + 1)
        .unwrap();
    committed(import(store, &format!("{HEAD}a@x.org,Ada,Lee,,Manager\n")));
    store
        .set_end_state(&k("a@x.org"), EndState::Inactive, &op, Actor::Owner, T0 + 2)
        .unwrap();
    // Made an administrator from the command line: audited too.
    let admin = server::commands::ensure_admin(
        store,
        &domain::Email::parse("a@x.org").unwrap(),
        Source::Manual,
    )
    .unwrap();
    assert!(admin.roles.contains(Role::Admin) && admin.end_state == EndState::Active);
    let wrote = created(&as_imported);

    let history = store.user_history(&k("a@x.org")).unwrap();
    let newest: Vec<(AuditAction, &str)> = history[..2]
        .iter()
        .map(|e| (e.action, e.actor.as_str()))
        .collect();
    assert_eq!(
        newest,
        [
            (AuditAction::Activate, "cli"),
            (AuditAction::RoleChange, "cli")
        ]
    );
    let first = history.last().unwrap();
    assert_eq!(
        (first.action, first.batch, &first.changes),
        (AuditAction::Import, Some(b1.id), &wrote)
    );
    assert!(history.iter().all(|e| !e.is_marked()));
    // The batch opened, a search by part of an address, the export.
    let head = store
        .audit_page(&AuditQuery::default())
        .unwrap()
        .events
        .into_iter()
        .find(|e| e.batch == Some(b1.id))
        .unwrap();
    let opened = store
        .audit_page(&AuditQuery {
            within: Some(head.id),
            ..Default::default()
        })
        .unwrap()
        .events;
    let bob = created(&store.user(&k("b@x.org")).unwrap().unwrap());
    assert_eq!(
        opened.iter().map(|e| &e.changes).collect::<Vec<_>>(),
        [&bob, &wrote]
    );
    let searched = store
        .audit_page(&AuditQuery {
            target: "a@x".into(),
            ..Default::default()
        })
        .unwrap()
        .events;
    assert_eq!(searched, history);
    let exported = store.audit_log().unwrap();
    assert!(exported.contains(first) && exported.iter().all(|e| !e.is_marked()));

    // Undone and imported again with other values: each creation reads
    // with its own.
    let (b3, _) = committed(import(store, &format!("{HEAD}c@x.org,Cy,C,,One\n")));
    let one = created(&store.user(&k("c@x.org")).unwrap().unwrap());
    store.undo_batch(b3.id, &op, Actor::Owner, T0 + 3).unwrap();
    committed(import(store, &format!("{HEAD}c@x.org,Cy,C,+1 557,Two\n")));
    let two = created(&store.user(&k("c@x.org")).unwrap().unwrap());
    assert_ne!(one, two);
    let history = store.user_history(&k("c@x.org")).unwrap();
    let changes: Vec<_> = history.iter().map(|e| (e.action, &e.changes)).collect();
    assert_eq!(changes[0], (AuditAction::Import, &two));
    assert_eq!(changes[1].0, AuditAction::Undo);
    assert_eq!(changes[2], (AuditAction::Import, &one));
}

/// A search whose words have more entries than a search collects, with a
/// filter: the cap counts the users the filter lets through (a rare
/// filter is not hidden behind thousands of users it leaves out), and
/// both engines pick the same word and say the same.
fn a_search_finds_sort_keys_that_go_on_with_any_character(f: &Fresh) {
    use domain::directory::{UserQuery, UserSort, page_of};
    let store = &*f.store;
    // "ann" starts each user's email key or name key, followed by the last
    // code point, a character, a letter or a digit: found through those
    // indexes, not the word index.
    committed(import(
        store,
        "email,first_name,last_name,display_name\n\
         ann\u{10FFFF}@x.org,Bob,Smith,\n\
         bob@x.org,Bob,Smith,Ann\u{10FFFF}\n\
         ann.b@x.org,Cy,Doe,\n\
         annz@x.org,Dee,Roe,\n\
         cy@x.org,Ann9,Roe,\n\
         ano@x.org,Ed,Poe,\n",
    ));
    let all = store.all_users().unwrap();
    for sort in [UserSort::Email, UserSort::Name, UserSort::Updated] {
        for search in ["ann", "an", "ann smith", "ano", "ann9", "annz"] {
            let query = UserQuery {
                search: search.into(),
                sort,
                ..Default::default()
            };
            assert_eq!(
                store.list_users(&query).unwrap(),
                page_of(all.clone(), &query, false),
                "{search} {sort:?}"
            );
        }
    }
    let ann = store
        .list_users(&UserQuery {
            search: "ann".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ann.total, 5, "every user but ano@");
}

/// What a search of one word, capped, shows: the rule the engines
/// follow, made from the domain's functions over every user.
fn capped_page(
    all: &[domain::User],
    query: &domain::directory::UserQuery,
) -> domain::directory::UserPage {
    use domain::directory::{Facets, MAX_SEARCH_HITS, index_words, name_key, page_of, query_words};
    let [word] = &query_words(&query.search)[..] else {
        panic!("one word")
    };
    let mut entries: Vec<(u8, String, String)> = Vec::new();
    for user in all.iter().filter(|u| query.accepts(Facets::of(u))) {
        let key = user.key().as_str().to_string();
        for w in index_words(user)
            .into_iter()
            .filter(|w| w.starts_with(word.as_str()))
        {
            entries.push((0, w, key.clone()));
        }
        if key.starts_with(word.as_str()) {
            entries.push((1, key.clone(), key.clone()));
        }
        let name = name_key(user);
        if name.starts_with(word.as_str()) && !key.starts_with(word.as_str()) {
            entries.push((2, name, key));
        }
    }
    entries.sort();
    assert!(entries.len() > MAX_SEARCH_HITS, "capped");
    let keys: std::collections::HashSet<String> = entries
        .into_iter()
        .take(MAX_SEARCH_HITS)
        .map(|(_, _, key)| key)
        .collect();
    let found = all
        .iter()
        .filter(|u| keys.contains(u.key().as_str()))
        .cloned()
        .collect();
    page_of(found, query, true)
}

fn a_capped_search_counts_what_its_filters_let_through(f: &Fresh) {
    use domain::directory::{UserQuery, page_of};
    let store = &*f.store;
    // 3 000 active users with four entries starting with "z" each (12 000:
    // the words "zed…", "zu" and "zz", and the name key "zara… zed… zu"),
    // then 10 inactive.
    let people = |from: usize, to: usize| {
        let mut csv = String::from("email,first_name,last_name,display_name\n");
        for i in from..to {
            csv.push_str(&format!("a{i}@zz.org,Zara{i},Zed{i},Zara{i} Zed{i} Zu\n"));
        }
        csv
    };
    committed(import(store, &people(0, 3_000)));
    store
        .set_option("import.end_state", "inactive", &domain::By::Cli, T0)
        .unwrap();
    committed(import(store, &people(3_000, 3_010)));
    let all = store.all_users().unwrap();
    for (search, end_state, capped) in [
        ("z", Some(EndState::Inactive), false),
        ("zara zed", Some(EndState::Inactive), false),
        ("z", None, true),
        ("zz zed300", None, false),
    ] {
        let query = UserQuery {
            search: search.into(),
            end_state,
            ..Default::default()
        };
        let page = store.list_users(&query).unwrap();
        assert_eq!(page.capped, capped, "{search} {end_state:?}");
        if !capped {
            // Not capped: exactly what the rule finds among all users.
            assert_eq!(page, page_of(all.clone(), &query, false), "{search}");
        } else {
            assert_eq!(page.users.len(), 50, "{search}");
            // Capped: the first MAX_SEARCH_HITS entries of the word, from
            // the word index, then the email keys, then the name keys
            // (this file's "z" has entries in all three), each in its
            // order; the page is of those users.
            assert_eq!(page, capped_page(&all, &query), "{search}");
        }
    }
    let inactive = store
        .list_users(&UserQuery {
            search: "z".into(),
            end_state: Some(EndState::Inactive),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(inactive.total, 10);
    // A word found through the sort keys alone: 6 000 addresses start with
    // "q", 6 000 names do (their word index has no "q" word). The cap
    // takes every address and the first 4 000 names in name order.
    let mut csv = String::from("email,first_name,last_name\n");
    for i in 0..6_000 {
        csv.push_str(&format!("q{i}@a.org,Bo,Smith\nb{i}@a.org,Quinn{i},Smith\n"));
    }
    committed(import(store, &csv));
    let all = store.all_users().unwrap();
    for page in [0, 1, 150] {
        let query = UserQuery {
            search: "Q".into(),
            page,
            ..Default::default()
        };
        let found = store.list_users(&query).unwrap();
        assert!(found.capped);
        assert_eq!(found, capped_page(&all, &query), "page {page}");
    }
    // 6 000 users whose address and name start with "ro": one entry each,
    // not capped.
    let mut csv = String::from("email,first_name,last_name\n");
    for i in 0..6_000 {
        csv.push_str(&format!("ro.{i}@b.org,Ro,Lee{i}\n"));
    }
    committed(import(store, &csv));
    let ro = store
        .list_users(&UserQuery {
            search: "ro".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(!ro.capped);
    assert_eq!(ro.total, 6_000);
}
