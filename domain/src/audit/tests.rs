use super::*;
use proptest::prelude::*;

#[test]
fn security_events_carry_the_client_of_the_request_that_made_them() {
    let made = || AuditEvent::about(1, "op@x.org", "options", AuditAction::OptionsChanged);
    assert!(made().changes.is_empty(), "no request: no client");
    let inside = from_client(Some("192.0.2.9".into()), made);
    assert_eq!(
        (
            inside.changes[0].field.as_str(),
            inside.changes[0].new.as_str()
        ),
        ("client", "192.0.2.9")
    );
    assert!(
        made().changes.is_empty(),
        "the address does not outlive its request"
    );
    assert!(!AuditAction::Import.is_security() && AuditAction::RoleChange.is_security());
}

#[test]
fn stored_actions_keep_their_numbers() {
    // Stored events hold the variant's index: these must never move.
    let pinned = [
        (AuditAction::Import, 0u8),
        (AuditAction::RoleChange, 9),
        (AuditAction::SignIn, 10),
        (AuditAction::Rejected, 18),
        (AuditAction::PasswordRemoved, 19),
        (AuditAction::TokenCreated, 20),
        (AuditAction::TokenRevoked, 21),
        (AuditAction::ScimCreate, 22),
        (AuditAction::ScimUpdate, 23),
        (AuditAction::ScimRemove, 24),
        (AuditAction::SignInLinkEmailed, 25),
        (AuditAction::PasswordResetRequested, 26),
    ];
    for (action, index) in pinned {
        assert_eq!(
            postcard::to_allocvec(&action).unwrap(),
            [index],
            "{action:?}"
        );
    }
    assert_eq!(AuditAction::ALL.len(), 27);
}

#[test]
fn every_field_a_change_can_name_has_a_number() {
    for f in Field::ALL {
        assert!(STORED_FIELD_NAMES.contains(&f.column()), "{f:?}");
    }
    for name in ["roles", "end_state", "source"] {
        assert!(STORED_FIELD_NAMES.contains(&name));
    }
}

proptest! {
    #[test]
    fn a_stored_event_gives_back_the_event(
        at in any::<i64>(),
        id in any::<u64>(),
        actor in ".{0,20}",
        target in ".{0,20}",
        action in 0..AuditAction::ALL.len(),
        changes in prop::collection::vec(
            (prop_oneof![
                prop::sample::select(STORED_FIELD_NAMES.to_vec()).prop_map(String::from),
                ".{0,12}",
            ], ".{0,12}", ".{0,12}"),
            0..14,
        ),
        batch in any::<Option<u64>>(),
    ) {
        let event = AuditEvent {
            id,
            at,
            actor,
            target,
            action: AuditAction::ALL[action],
            changes: changes
                .into_iter()
                .map(|(field, old, new)| Change { field, old, new })
                .collect(),
            batch,
        };
        let stored = StoredEvent::of(&event);
        prop_assert_eq!(stored.into_event(id), Some(event.clone()));
    }
}

#[test]
fn action_keys_round_trip_and_the_filter_matches_parts_in_any_case() {
    for a in AuditAction::ALL {
        assert_eq!(AuditAction::parse(a.key()), Some(a));
    }
    let event = AuditEvent {
        id: 1,
        at: 0,
        actor: "Op@X.org".into(),
        target: "ada@x.org".into(),
        action: AuditAction::OperatorEdit,
        changes: Vec::new(),
        batch: None,
    };
    let q = |actor: &str, target: &str, action| AuditQuery {
        actor: actor.into(),
        target: target.into(),
        action,
        page: 0,
        within: None,
    };
    assert!(q("", "", None).accepts(&event));
    assert!(q("op@x", "ADA", Some(AuditAction::OperatorEdit)).accepts(&event));
    assert!(!q("someone", "", None).accepts(&event));
    assert!(!q("", "", Some(AuditAction::Import)).accepts(&event));
    let params = q("op", "ada", Some(AuditAction::RoleChange)).to_params();
    let back = AuditQuery::from_params(|k| {
        params
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    });
    assert_eq!(back, q("op", "ada", Some(AuditAction::RoleChange)));
}

#[test]
fn a_created_user_lists_every_field_it_has_and_removal_reverses_it() {
    let plan = crate::plan::plan(
        b"email,first_name,last_name,title\nada@x.org,Ada,L,Countess\n",
        &crate::plan::NoUsers,
        &crate::Options::default(),
        crate::Actor::Owner,
    )
    .unwrap();
    let ada = plan.creates().next().unwrap().1.clone();
    let c = created(&ada);
    let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "email",
            "first_name",
            "last_name",
            "display_name",
            "title",
            "roles",
            "end_state",
            "source"
        ]
    );
    assert!(c.iter().all(|c| c.old.is_empty()));
    let r = removed(&ada);
    assert!(r.iter().all(|c| c.new.is_empty()));
    assert_eq!(r[1].old, "Ada");
}
