//! Sync imports: candidates, scope, the fingerprint and the valve.

use super::*;

fn stored(email: &str, org: &str, source: Source, roles: Roles) -> User {
    let mut u = plan_str(&format!("{HEAD}{email},F,L,,,,,,,{org}\n"), &HashMap::new())
        .creates()
        .next()
        .unwrap()
        .1
        .clone();
    u.source = source;
    u.roles = roles;
    u.version = 3;
    u
}

fn sync_of(csv: &str, users: &[User], scope: Option<&str>, actor: crate::Actor) -> ImportPlan {
    let store: HashMap<UserKey, User> =
        users.iter().map(|u| (u.key().clone(), u.clone())).collect();
    let parsed = parse_file(csv.as_bytes(), &opts()).unwrap();
    let in_file: std::collections::HashSet<String> = parsed
        .keys()
        .iter()
        .map(|k| k.as_str().to_string())
        .collect();
    let mut p = plan_parsed(parsed, &store, &opts(), actor);
    add_sync(
        &mut p,
        &|k| in_file.contains(k),
        users.to_vec(),
        &SyncSettings {
            scope_organization: scope.map(str::to_string),
        },
        actor,
    );
    p
}

fn gone(p: &ImportPlan) -> Vec<&str> {
    p.sync
        .as_ref()
        .unwrap()
        .deactivations
        .iter()
        .map(|d| d.before.email.as_str())
        .collect()
}

#[test]
fn a_sync_deactivates_imported_users_missing_from_the_file() {
    let staff = Roles::of(&[Role::SelfService]);
    let mut inactive = stored("i@x.org", "Acme", Source::Csv, staff);
    inactive.end_state = EndState::Inactive;
    let users = [
        stored("b@x.org", "Acme", Source::Csv, staff),
        stored("a@x.org", "Acme", Source::Csv, staff),
        stored("c@x.org", "Beta", Source::Csv, staff),
        stored("m@x.org", "Acme", Source::Manual, staff),
        stored(
            "r@x.org",
            "Acme",
            Source::Bootstrap,
            Roles::of(&[Role::Admin]),
        ),
        stored("z@x.org", "Acme", Source::Csv, Roles::of(&[Role::Admin])),
        stored("bad@x.org", "Acme", Source::Csv, staff),
        inactive,
    ];
    // A row with a mistake still names its user: not deactivated.
    let csv = format!("{HEAD}x@x.org,X,X,,,,,,,\nbad@x.org,,,,,,,,,\n");
    let operator = crate::Actor::User(Roles::of(&[Role::Operator]));
    let p = sync_of(&csv, &users, None, operator);
    assert_eq!(gone(&p), ["a@x.org", "b@x.org", "c@x.org"]);
    assert_eq!(p.sync.as_ref().unwrap().candidates, 4);
    assert_eq!(p.counts.deactivate, 3);
    assert_eq!(p.counts.writes(), 4, "x@x.org is created");
    let d = &p.sync.as_ref().unwrap().deactivations[0];
    assert_eq!(d.after.end_state, EndState::Inactive);
    assert_eq!(d.after.version, 4);
    assert!(d.after.held.deactivated_by.is_none());
    // An administrator's sync reaches imported administrators; never
    // manual or bootstrap users.
    let admin = crate::Actor::User(Roles::of(&[Role::Admin]));
    assert_eq!(
        gone(&sync_of(&csv, &users, None, admin)),
        ["a@x.org", "b@x.org", "c@x.org", "z@x.org"]
    );
    // The scope, in any case and spacing.
    assert_eq!(
        gone(&sync_of(&csv, &users, Some(" beta"), operator)),
        ["c@x.org"]
    );
    // The deactivations are part of the fingerprint.
    let plain = plan_str(&csv, &HashMap::new()).fingerprint;
    assert_ne!(p.fingerprint, plan_str(&csv, &HashMap::new()).fingerprint);
    assert_eq!(plain, plan_str(&csv, &HashMap::new()).fingerprint);
    let mut edited = users.clone();
    edited[0].version += 1;
    assert_ne!(
        p.fingerprint,
        sync_of(&csv, &edited, None, operator).fingerprint
    );
    assert_eq!(
        p.fingerprint,
        sync_of(&csv, &users, None, operator).fingerprint
    );
}

#[test]
fn the_browser_makes_a_syncs_fingerprint_as_the_server_does() {
    // The browser plans the rows itself and asks the server for the
    // sync part only (`plan_sync`, its digest); the two together must
    // be the fingerprint the server's whole plan has.
    let staff = Roles::of(&[Role::SelfService]);
    let users = [
        stored("a@x.org", "Acme", Source::Csv, staff),
        stored("b@x.org", "Acme", Source::Csv, staff),
    ];
    let csv = format!("{HEAD}a@x.org,A,A,,,,,,,\nn@x.org,N,N,,,,,,,\n");
    let operator = crate::Actor::User(Roles::of(&[Role::Operator]));
    let server = sync_of(&csv, &users, Some("acme"), operator);
    let store: HashMap<UserKey, User> =
        users.iter().map(|u| (u.key().clone(), u.clone())).collect();
    let parsed = parse_file(csv.as_bytes(), &opts()).unwrap();
    let keys: Vec<String> = parsed.keys().iter().map(|k| k.to_string()).collect();
    let rows = plan_parsed(parsed, &store, &opts(), operator).fingerprint;
    let part = plan_sync(
        &|k| keys.iter().any(|f| f == k),
        users.to_vec(),
        &SyncSettings {
            scope_organization: Some("acme".into()),
        },
        operator,
    );
    assert_eq!(part.deactivations.len(), 1);
    assert_eq!(
        crate::fingerprint::with_sync_digest(&rows, &crate::fingerprint::sync_digest(&part)),
        server.fingerprint
    );
    assert_ne!(rows, server.fingerprint);
}

#[test]
fn the_valve_passes_its_share_and_refuses_one_more() {
    let staff = Roles::of(&[Role::SelfService]);
    let users: Vec<User> = (0..20)
        .map(|i| stored(&format!("u{i:02}@x.org"), "", Source::Csv, staff))
        .collect();
    let listing = |from: usize| {
        let body: String = users[from..]
            .iter()
            .map(|u| format!("{},F,L,,,,,,,\n", u.email.as_str()))
            .collect();
        format!("{HEAD}{body}")
    };
    let o = opts();
    assert_eq!(o.sync_max_deactivate_percent, 10);
    let two = sync_of(&listing(2), &users, None, crate::Actor::Owner);
    assert_eq!(
        two.sync.as_ref().unwrap().refusal(&o),
        None,
        "2 of 20 = 10%"
    );
    let three = sync_of(&listing(3), &users, None, crate::Actor::Owner);
    assert_eq!(
        three.sync.as_ref().unwrap().refusal(&o).unwrap(),
        "This sync would deactivate 3 of 20 users (15%); at most 10% may be deactivated \
         at once (import.sync_max_deactivate_percent). Check that the file is complete; \
         an administrator may confirm it anyway. Nothing was written."
    );
    let none = sync_of(&listing(0), &users, None, crate::Actor::Owner);
    assert_eq!(none.sync.as_ref().unwrap().refusal(&o), None);
    let mut zero = opts();
    zero.set(options::SYNC_MAX_DEACTIVATE_PERCENT, "0").unwrap();
    assert!(two.sync.as_ref().unwrap().refusal(&zero).is_some());
    assert!(
        zero.set(options::SYNC_MAX_DEACTIVATE_PERCENT, "101")
            .is_err()
    );
    assert!(crate::usecase::may_force(crate::Actor::Owner));
    assert!(crate::usecase::may_force(crate::Actor::User(Roles::of(&[
        Role::Admin
    ]))));
    assert!(!crate::usecase::may_force(crate::Actor::User(Roles::of(
        &[Role::Operator]
    ))));
}
