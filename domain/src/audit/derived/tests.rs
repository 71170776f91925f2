use super::*;
use crate::plan::diff;
use crate::scim::ada;
use crate::user::{EndState, Role};
use proptest::prelude::*;

/// An event of `user`'s History numbered `id`.
fn numbered(mut event: AuditEvent, id: u64) -> AuditEvent {
    event.id = id;
    event
}

fn changed(before: &User, after: &User, action: AuditAction, id: u64) -> AuditEvent {
    numbered(
        AuditEvent::new(id as i64, "op@x.org", after, action, diff(before, after)),
        id,
    )
}

#[test]
fn a_created_user_reads_as_it_was_created_whatever_changed_since() {
    let created = ada();
    let mut edited = created.clone();
    edited.profile.set(Field::Title, "Engineer").unwrap();
    edited.profile.set(Field::Mobile, "+44 2").unwrap();
    let mut promoted = edited.clone();
    promoted.roles = promoted.roles.with(Role::Admin);
    let mut inactive = promoted.clone();
    inactive.end_state = EndState::Inactive;
    // Newest first, as History lists them; events that change no field
    // (a sign-in link) pass unread.
    let mut history = vec![
        changed(&promoted, &inactive, AuditAction::Deactivate, 5),
        numbered(
            AuditEvent::new(
                4,
                "op@x.org",
                &promoted,
                AuditAction::SignInLinkMade,
                vec![],
            ),
            4,
        ),
        changed(&edited, &promoted, AuditAction::RoleChange, 3),
        changed(&created, &edited, AuditAction::OperatorEdit, 2),
        numbered(AuditEvent::created_by_import(1, "op@x.org", &created), 1),
    ];
    assert!(history[4].is_marked());
    fill_history(&mut history, Some(&inactive));
    assert_eq!(history[4].changes, super::super::created(&created));
    assert!(!history[4].is_marked());
    // Stored changes are left as they were.
    assert_eq!(history[0].changes, diff(&promoted, &inactive));
}

#[test]
fn a_user_created_twice_reads_each_creation_with_its_own_values() {
    let first = ada();
    let mut second = ada();
    second.profile.set(Field::Title, "Analyst").unwrap();
    second.profile.set(Field::Phone, "").unwrap();
    let removed = super::super::removed(&first);
    let mut history = vec![
        numbered(AuditEvent::created_by_import(3, "op@x.org", &second), 3),
        numbered(
            AuditEvent::new(2, "op@x.org", &first, AuditAction::Undo, removed),
            2,
        ),
        numbered(AuditEvent::created_by_import(1, "op@x.org", &first), 1),
    ];
    fill_history(&mut history, Some(&second));
    assert_eq!(history[0].changes, super::super::created(&second));
    assert_eq!(history[2].changes, super::super::created(&first));
}

#[test]
fn a_creation_nothing_tells_the_values_of_reads_as_no_changes() {
    // The user is gone and no event says what it held (a record removed
    // without an event): nothing is made up.
    let mut history = vec![numbered(
        AuditEvent::created_by_import(1, "op@x.org", &ada()),
        1,
    )];
    fill_history(&mut history, None);
    assert!(history[0].changes.is_empty());
}

#[test]
fn marked_events_listed_elsewhere_are_filled_from_their_users_histories() {
    // Ada unchanged since her import, Bob edited since; their Histories
    // are read together, once.
    let ada = ada();
    let bob_created = crate::manual::manual_user(
        &[
            (Field::Email, "bob@x.org"),
            (Field::FirstName, "Bob"),
            (Field::LastName, "Bee"),
            (Field::Title, "Clerk"),
        ],
        &crate::Options::default(),
    )
    .unwrap();
    let mut bob = bob_created.clone();
    bob.profile.set(Field::Title, "Chief").unwrap();
    let mut listed = vec![
        numbered(
            AuditEvent::about(3, "cli", "options", AuditAction::OptionsChanged),
            3,
        ),
        numbered(
            AuditEvent::created_by_import(1, "op@x.org", &bob_created),
            2,
        ),
        numbered(AuditEvent::created_by_import(1, "op@x.org", &ada), 1),
        // Listed twice (a page and its export overlap): filled twice.
        numbered(AuditEvent::created_by_import(1, "op@x.org", &ada), 1),
    ];
    let mut reads = Vec::new();
    fill_listed(&mut listed, |keys| {
        reads.push(keys.to_vec());
        let mut bob_history = vec![
            changed(&bob_created, &bob, AuditAction::OperatorEdit, 4),
            numbered(
                AuditEvent::created_by_import(1, "op@x.org", &bob_created),
                2,
            ),
        ];
        fill_history(&mut bob_history, Some(&bob));
        let mut ada_history = vec![numbered(
            AuditEvent::created_by_import(1, "op@x.org", &ada),
            1,
        )];
        fill_history(&mut ada_history, Some(&ada));
        Ok::<_, ()>(HashMap::from([
            ("bob@x.org".to_string(), bob_history),
            ("ada@example.org".to_string(), ada_history),
        ]))
    })
    .unwrap();
    assert_eq!(reads, [["ada@example.org", "bob@x.org"]]);
    assert_eq!(listed[3].changes, super::super::created(&ada));
    assert_eq!(listed[2].changes, super::super::created(&ada));
    assert_eq!(listed[1].changes, super::super::created(&bob_created));
    assert!(listed[0].changes.is_empty());
}

#[test]
fn a_removal_resets_what_a_later_unaudited_record_holds() {
    // Imported, removed (its event lists what it held), and a record made
    // under the same key by a write that left no event: the creation
    // still reads as imported, blank fields blank.
    let imported = ada();
    let mut other = ada();
    other.profile.set(Field::Mobile, "+44 9").unwrap();
    other.profile.set(Field::Title, "").unwrap();
    let mut history = vec![
        numbered(
            AuditEvent::new(
                2,
                "op@x.org",
                &imported,
                AuditAction::Undo,
                super::super::removed(&imported),
            ),
            2,
        ),
        numbered(AuditEvent::created_by_import(1, "op@x.org", &imported), 1),
    ];
    fill_history(&mut history, Some(&other));
    assert_eq!(history[1].changes, super::super::created(&imported));
}

#[test]
fn a_marked_event_is_stored_in_a_few_bytes_and_reads_back_marked() {
    let event = numbered(AuditEvent::created_by_import(1, "op@x.org", &ada()), 9);
    let stored = postcard::to_allocvec(&super::super::StoredEvent::of(&event)).unwrap();
    let back: super::super::StoredEvent = postcard::from_bytes(&stored).unwrap();
    let back = back.into_event(9).unwrap();
    assert!(back.is_marked());
    assert_eq!(back, event);
    // at, actor, target, action, one change of a numbered field, batch.
    assert!(stored.len() < 40, "{} bytes", stored.len());
}

/// An edit of one user: which tracked value, and its new text.
fn edits() -> impl Strategy<Value = Vec<(usize, String)>> {
    prop::collection::vec((1usize..Field::ALL.len() + 2, "[a-z]{0,3}"), 0..12)
}

proptest! {
    /// Whatever sequence of edits, role changes and end-state changes
    /// follows a creation, the creation reads as what was created.
    #[test]
    fn the_derived_creation_equals_the_stored_one(steps in edits()) {
        let created = ada();
        let mut now = created.clone();
        let mut history = vec![numbered(AuditEvent::created_by_import(1, "op@x.org", &created), 1)];
        for (i, (what, text)) in steps.into_iter().enumerate() {
            let mut next = now.clone();
            match Field::ALL.get(what) {
                Some(f) => {
                    // A value the field refuses is skipped, as a form would.
                    if next.profile.set(*f, &text).is_err() {
                        continue;
                    }
                }
                None if what == Field::ALL.len() => {
                    next.roles = if text.is_empty() { next.roles.with(Role::Admin) } else { next.roles.without(crate::user::Roles::EMPTY.with(Role::Admin)) };
                }
                None => {
                    next.end_state = if text.is_empty() { EndState::Inactive } else { EndState::Active };
                }
            }
            history.insert(0, changed(&now, &next, AuditAction::OperatorEdit, i as u64 + 2));
            now = next;
        }
        fill_history(&mut history, Some(&now));
        prop_assert_eq!(&history.last().unwrap().changes, &super::super::created(&created));
    }
}

#[test]
fn a_listing_larger_than_a_chunk_reads_its_users_a_chunk_at_a_time() {
    let user = ada();
    let n = CHUNK + 1;
    let mut listed: Vec<AuditEvent> = (0..n as u64)
        .map(|id| numbered(AuditEvent::created_by_import(1, "op@x.org", &user), id))
        .collect();
    let mut reads = 0;
    fill_listed(&mut listed, |keys| {
        reads += 1;
        // One user, listed n times: one key a chunk.
        assert_eq!(keys, ["ada@example.org"]);
        let mut history: Vec<AuditEvent> = (0..n as u64)
            .rev()
            .map(|id| numbered(AuditEvent::created_by_import(1, "op@x.org", &user), id))
            .collect();
        fill_history(&mut history, Some(&user));
        Ok::<_, ()>(HashMap::from([(keys[0].clone(), history)]))
    })
    .unwrap();
    assert_eq!(reads, 2);
    // The newest creation has the record's values; the older ones none
    // (nothing says what those records held).
    assert_eq!(listed[n - 1].changes, super::super::created(&user));
    assert!(listed[..n - 1].iter().all(|e| e.changes.is_empty()));
}
