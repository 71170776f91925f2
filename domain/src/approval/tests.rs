use super::*;

fn request() -> ApprovalRequest {
    ApprovalRequest {
        id: 1,
        file_name: "f.csv".into(),
        sha256: "00".into(),
        fingerprint: "ff".into(),
        operator: "op@x.org".into(),
        actor: Actor::Owner,
        skip_invalid: false,
        sent_at: 10,
        counts: Counts::default(),
        state: ApprovalState::Waiting,
    }
}

#[test]
fn waiting_goes_to_exactly_one_final_state() {
    let mut r = request();
    r.approve(&crate::By::parse("boss@x.org"), 20, 7).unwrap();
    assert!(matches!(r.state, ApprovalState::Approved { batch: 7, .. }));
    for attempt in [
        r.clone().approve(&crate::By::parse("boss@x.org"), 30, 8),
        r.clone().reject(&crate::By::parse("boss@x.org"), 30, "no"),
        r.clone().mark_stale(&crate::By::parse("boss@x.org"), 30),
    ] {
        assert!(matches!(attempt, Err(ApprovalError::NotWaiting(_))));
    }

    let mut r = request();
    r.reject(&crate::By::parse("boss@x.org"), 20, "  wrong file\n")
        .unwrap();
    assert_eq!(
        r.state,
        ApprovalState::Rejected {
            by: "boss@x.org".into(),
            at: 20,
            reason: "wrong file".into()
        }
    );
    assert!(r.approve(&crate::By::parse("other@x.org"), 30, 1).is_err());

    let mut r = request();
    r.mark_stale(&crate::By::parse("boss@x.org"), 20).unwrap();
    assert!(r.state.label().starts_with("Changed since preview"));
    assert!(
        r.reject(&crate::By::parse("boss@x.org"), 30, "late")
            .is_err()
    );
}

#[test]
fn the_sender_never_decides_and_a_rejection_needs_a_reason() {
    let mut r = request();
    assert_eq!(
        r.approve(&crate::By::parse("OP@x.org"), 20, 1),
        Err(ApprovalError::OwnRequest)
    );
    assert_eq!(
        r.reject(&crate::By::parse("op@x.org"), 20, "x"),
        Err(ApprovalError::OwnRequest)
    );
    assert_eq!(
        r.reject(&crate::By::parse("boss@x.org"), 20, " \t "),
        Err(ApprovalError::ReasonRequired)
    );
    assert_eq!(r.state, ApprovalState::Waiting, "refusals change nothing");
    let long = "x".repeat(5000);
    r.reject(&crate::By::parse("boss@x.org"), 20, &long)
        .unwrap();
    let ApprovalState::Rejected { reason, .. } = &r.state else {
        panic!()
    };
    assert_eq!(reason.chars().count(), MAX_REASON_CHARS);
}

#[test]
fn the_threshold_counts_creates_and_updates() {
    let mut o = crate::Options::default();
    let counts = Counts {
        create: 2,
        update: 1,
        unchanged: 50,
        invalid: 3,
        deactivate: 0,
    };
    assert!(!o.needs_approval(&counts, 1000), "0 means never");
    o.approval_above = 3;
    assert!(!o.needs_approval(&counts, 0));
    o.approval_above = 2;
    assert!(o.needs_approval(&counts, 0));
    // What the operator wrote within the window counts too.
    o.approval_above = 10;
    assert!(!o.needs_approval(&counts, 7), "7 + 3 = 10 is not above 10");
    assert!(o.needs_approval(&counts, 8), "8 + 3 = 11 is");
    // A sync's deactivations count as writes.
    let sync = Counts {
        deactivate: 1,
        ..counts
    };
    assert!(o.needs_approval(&sync, 7), "7 + 3 + 1 = 11");
    assert_eq!(o.approval_window_start(100_000), 100_000 - 24 * 3600);
}

fn key(email: &str) -> UserKey {
    Email::parse(email).unwrap().key().clone()
}

/// An event by `actor` about `target` at `at` with these changes.
fn event(
    actor: &str,
    target: &str,
    at: i64,
    action: crate::audit::AuditAction,
    changes: &[(&str, &str, &str)],
) -> AuditEvent {
    let mut e = AuditEvent::about(at, actor, target, action);
    e.changes = changes
        .iter()
        .map(|(f, o, n)| crate::plan::Change {
            field: f.to_string(),
            old: o.to_string(),
            new: n.to_string(),
        })
        .collect();
    e
}

/// Judges independence over a trail of events (any order).
fn judge(
    trail: &[AuditEvent],
    sender: &str,
    approver: &str,
    sent_at: i64,
) -> Result<(), NotIndependent> {
    independent(
        &mut Lineage(Events(trail)),
        &key(sender),
        &key(approver),
        sent_at,
    )
    .unwrap()
}

/// A trail of events; accounts whose address starts with "admin" are
/// administrators.
struct Events<'a>(&'a [AuditEvent]);

impl Trail for Events<'_> {
    type Error = ();
    fn history(&mut self, k: &UserKey) -> Result<Vec<AuditEvent>, ()> {
        Ok(self
            .0
            .iter()
            .filter(|e| Email::parse(&e.target).unwrap().key() == k)
            .cloned()
            .collect())
    }
    fn is_admin(&mut self, k: &UserKey) -> Result<bool, ()> {
        Ok(k.starts_with("admin"))
    }
}

#[test]
fn an_approver_is_independent_of_the_sender() {
    use crate::audit::AuditAction::*;
    let made = [("roles", "", "Self-Service, Operator, Approval")];
    let trail = vec![
        // The administrator made both operators long ago.
        event("admin@x.org", "op@x.org", 10, Import, &made),
        event("admin@x.org", "boss@x.org", 10, Import, &made),
        // The operator made a puppet and enrolled it …
        event("op@x.org", "puppet@x.org", 20, ManualCreate, &made),
        // … and the puppet made a puppet of its own.
        event("puppet@x.org", "puppet2@x.org", 30, Import, &made),
        // The operator only edited boss's title: no hold.
        event(
            "op@x.org",
            "boss@x.org",
            40,
            OperatorEdit,
            &[("title", "", "Boss")],
        ),
        // The operator made a link for a user an administrator made.
        event("admin@x.org", "enrolled@x.org", 10, ManualCreate, &made),
        event("op@x.org", "enrolled@x.org", 50, SignInLinkMade, &[]),
        event("enrolled@x.org", "enrolled@x.org", 51, PasswordSet, &[]),
        // A user whose Approval role is younger than the request.
        event(
            "admin@x.org",
            "late@x.org",
            10,
            ManualCreate,
            &[("roles", "", "Self-Service")],
        ),
        event(
            "admin@x.org",
            "late@x.org",
            200,
            RoleChange,
            &[("roles", "Self-Service", "Self-Service, Approval")],
        ),
        // Re-activated by the operator.
        event("admin@x.org", "back@x.org", 10, ManualCreate, &made),
        event("admin@x.org", "back@x.org", 11, Deactivate, &[]),
        event("op@x.org", "back@x.org", 12, Activate, &[]),
        // A second puppet of the operator's: a sibling of the first.
        event("op@x.org", "sibling@x.org", 20, ManualCreate, &made),
    ];
    assert_eq!(judge(&trail, "op@x.org", "boss@x.org", 100), Ok(()));
    assert_eq!(
        judge(&trail, "op@x.org", "OP@X.ORG", 100),
        Err(NotIndependent::Sender)
    );
    assert_eq!(
        judge(&trail, "op@x.org", "puppet@x.org", 100),
        Err(NotIndependent::HeldBySender)
    );
    assert_eq!(
        judge(&trail, "op@x.org", "puppet2@x.org", 100),
        Err(NotIndependent::HeldBySender),
        "a puppet's puppet is the sender's too"
    );
    // The other way round: a puppet sends, its maker approves …
    assert_eq!(
        judge(&trail, "puppet@x.org", "op@x.org", 100),
        Err(NotIndependent::HoldsSender)
    );
    // … or a sibling puppet approves: both are the operator's.
    assert_eq!(
        judge(&trail, "puppet@x.org", "sibling@x.org", 100),
        Err(NotIndependent::SharedHolder {
            via: "op@x.org".into()
        })
    );
    assert_eq!(
        judge(&trail, "puppet2@x.org", "sibling@x.org", 100),
        Err(NotIndependent::SharedHolder {
            via: "op@x.org".into()
        })
    );
    assert_eq!(
        judge(&trail, "op@x.org", "enrolled@x.org", 100),
        Err(NotIndependent::HeldBySender),
        "a link made is a hold"
    );
    assert_eq!(
        judge(&trail, "op@x.org", "late@x.org", 100),
        Err(NotIndependent::RoleTooYoung)
    );
    assert_eq!(judge(&trail, "op@x.org", "late@x.org", 300), Ok(()));
    assert_eq!(
        judge(&trail, "op@x.org", "back@x.org", 100),
        Err(NotIndependent::HeldBySender),
        "an activation is a hold"
    );
    // Another operator is independent of the first.
    assert_eq!(judge(&trail, "boss@x.org", "op@x.org", 100), Ok(()));
}

#[test]
fn the_sender_is_compared_by_key_not_by_spelling() {
    let mut r = request();
    r.operator = "JÖRG@x.org".into();
    assert_eq!(
        r.approve(&crate::By::parse("jörg@x.org"), 20, 1),
        Err(ApprovalError::OwnRequest)
    );
    assert_eq!(
        r.approve(&crate::By::parse(" Jörg@X.org"), 20, 1),
        Err(ApprovalError::OwnRequest)
    );
    assert!(
        r.clone()
            .approve(&crate::By::parse("jorg@x.org"), 20, 1)
            .is_ok()
    );
}

#[test]
fn a_long_chain_is_refused_not_followed_forever() {
    use crate::audit::AuditAction::*;
    // u0 made by u1, u1 by u2, … : longer than is traced.
    let trail: Vec<AuditEvent> = (0..MAX_TRACED_ACCOUNTS + 5)
        .map(|i| {
            event(
                &format!("u{}@x.org", i + 1),
                &format!("u{i}@x.org"),
                1,
                ManualCreate,
                &[],
            )
        })
        .collect();
    assert_eq!(
        judge(&trail, "op@x.org", "u0@x.org", 100),
        Err(NotIndependent::Undecidable)
    );
}
