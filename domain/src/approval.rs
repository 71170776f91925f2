//! Four-eyes approval of large imports: an import whose creates + updates
//! exceed `import.approval_above` is not written but sent for approval;
//! a second person with the Approval role approves it (the store then
//! plans the stored bytes again and commits only if the plan is the one
//! the sender saw) or rejects it with a reason. The sender never decides
//! on their own request.
//!
//! ```text
//! Waiting ──approve, plan unchanged──▶ Approved
//!    │  ├──approve, plan changed─────▶ Stale ("Changed since preview")
//!    │  └──reject with a reason──────▶ Rejected
//! ```
//! Every state but Waiting is final.

use crate::audit::AuditEvent;
use crate::email::{Email, UserKey};
use crate::plan::Counts;
use crate::privilege::Actor;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest rejection reason kept.
pub const MAX_REASON_CHARS: usize = 1000;

/// A request as stored (the file's bytes are stored beside it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: u64,
    pub file_name: String,
    /// SHA-256 of the bytes (hex).
    pub sha256: String,
    /// The fingerprint of the plan the sender saw and the server verified.
    pub fingerprint: String,
    /// Who sent it (email).
    pub operator: String,
    /// The authority the import is planned with: the sender's.
    pub actor: Actor,
    pub skip_invalid: bool,
    pub sent_at: i64,
    pub counts: Counts,
    pub state: ApprovalState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalState {
    Waiting,
    Approved {
        by: String,
        at: i64,
        batch: u64,
    },
    Rejected {
        by: String,
        at: i64,
        reason: String,
    },
    /// The users changed after sending: nothing written; the sender
    /// imports the file again to send a fresh request.
    Stale {
        by: String,
        at: i64,
    },
}

impl ApprovalState {
    /// What the state says, with who decided and when (UTC).
    pub fn label(&self) -> String {
        use crate::time::rfc3339;
        match self {
            ApprovalState::Waiting => "Waiting for approval".into(),
            ApprovalState::Approved { by, at, batch } => {
                format!("Approved by {by} (batch {batch}, {})", rfc3339(*at))
            }
            ApprovalState::Rejected { by, at, reason } => {
                format!("Rejected by {by}: {reason} ({})", rfc3339(*at))
            }
            ApprovalState::Stale { by, at } => format!(
                "Changed since preview (found by {by}, {}); import the file again",
                rfc3339(*at)
            ),
        }
    }
}

/// Why a decision is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalError {
    /// Decided already (the state's label).
    NotWaiting(String),
    /// The sender may not decide on their own request.
    OwnRequest,
    /// A rejection needs a reason.
    ReasonRequired,
    /// The approver is not independent of the sender.
    NotIndependent(NotIndependent),
}

/// Why an approver is not independent of the request's sender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotIndependent {
    /// The approver is the sender (same user key, however spelled).
    Sender,
    /// The sender (directly, or through `via`, an account the sender
    /// made or controls) created, enrolled, activated or gave roles to the
    /// approver.
    Controlled { via: String },
    /// The approver got the Approval role after the request was sent.
    RoleTooYoung,
    /// The approver's chain of accounts is longer than is checked.
    Undecidable,
}

impl fmt::Display for NotIndependent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotIndependent::Sender => {
                f.write_str("you sent this import: another person must approve or reject it")
            }
            NotIndependent::Controlled { via } => write!(
                f,
                "the sender of this import created, enrolled, activated or gave roles to \
                 {via}, so approving it would not be a second person's decision"
            ),
            NotIndependent::RoleTooYoung => f.write_str(
                "you were given the Approval role after this import was sent: \
                 another approver must decide it",
            ),
            NotIndependent::Undecidable => f.write_str(
                "who made your account cannot be traced far enough to show that you are \
                 independent of the sender: another approver must decide it",
            ),
        }
    }
}

/// How many users `operator` (compared by user key) created + updated in
/// `batches` recorded at or after `since`: the rows that count toward the
/// approval threshold. Undos and approved imports (which had their second
/// person) are left out.
pub fn rows_in_window(batches: &[crate::store::BatchSummary], operator: &str, since: i64) -> u64 {
    let Ok(operator) = Email::parse(operator) else {
        return 0;
    };
    batches
        .iter()
        .filter(|b| b.at >= since && b.undo_of.is_none() && b.approved_by.is_none())
        .filter(|b| Email::parse(&b.operator).is_ok_and(|e| e.key() == operator.key()))
        .map(|b| b.counts.writes())
        .fold(0u64, u64::saturating_add)
}

/// How many accounts the independence check follows at most.
pub const MAX_TRACED_ACCOUNTS: usize = 256;

/// Whether `approver` is independent of `sender` for a request sent at
/// `sent_at`: not the sender, not given the Approval role after the
/// request was sent, and not reachable from the sender through acts that
/// give a hold over an account (creating it, enrolling it with a sign-in
/// link, activating it, giving it roles, setting its password — see
/// `AuditEvent::gives_control`), followed back from the approver through
/// every account that did such an act. So an operator's puppet, and a
/// puppet's puppet, never approve the operator's import. `history` gives a
/// user's audit events (any order). The command line (`cli`) is the
/// machine owner and is not followed.
pub fn independent<E>(
    sender: &UserKey,
    approver: &UserKey,
    sent_at: i64,
    history: &mut dyn FnMut(&UserKey) -> Result<Vec<AuditEvent>, E>,
) -> Result<Result<(), NotIndependent>, E> {
    if sender == approver {
        return Ok(Err(NotIndependent::Sender));
    }
    let mut seen = vec![approver.clone()];
    let mut next = 0;
    while next < seen.len() {
        let account = seen[next].clone();
        next += 1;
        for event in history(&account)? {
            if account == *approver && event.grants_approval() && event.at >= sent_at {
                return Ok(Err(NotIndependent::RoleTooYoung));
            }
            if !event.gives_control() {
                continue;
            }
            let Ok(actor) = Email::parse(&event.actor) else {
                continue; // `cli`: the machine owner
            };
            let actor = actor.key();
            if actor == sender {
                return Ok(Err(NotIndependent::Controlled {
                    via: if account == *approver {
                        "your account".into()
                    } else {
                        account.to_string()
                    },
                }));
            }
            if actor != &account && !seen.contains(actor) {
                if seen.len() >= MAX_TRACED_ACCOUNTS {
                    return Ok(Err(NotIndependent::Undecidable));
                }
                seen.push(actor.clone());
            }
        }
    }
    Ok(Ok(()))
}

impl fmt::Display for ApprovalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApprovalError::NotWaiting(state) => {
                write!(f, "this request is not waiting any more: {state}")
            }
            ApprovalError::OwnRequest => {
                f.write_str("you sent this import: another person must approve or reject it")
            }
            ApprovalError::ReasonRequired => f.write_str("a rejection needs a reason"),
            ApprovalError::NotIndependent(why) => why.fmt(f),
        }
    }
}

impl std::error::Error for ApprovalError {}

impl ApprovalRequest {
    /// Whether `by` may decide now (waiting, and not the sender's own).
    /// People compare by user key (the address lower-cased as every key
    /// is, not its spelling); the full independence rule is
    /// [`independent`], checked by the store.
    pub fn may_decide(&self, by: &str) -> Result<(), ApprovalError> {
        if self.state != ApprovalState::Waiting {
            return Err(ApprovalError::NotWaiting(self.state.label()));
        }
        if self
            .sender_key()
            .is_some_and(|sender| Email::parse(by).is_ok_and(|by| by.key() == &sender))
            || self.operator.trim() == by.trim()
        {
            return Err(ApprovalError::OwnRequest);
        }
        Ok(())
    }

    /// The sender's user key (`None` for a sender that is not an address).
    pub fn sender_key(&self) -> Option<UserKey> {
        Email::parse(&self.operator).ok().map(|e| e.key().clone())
    }

    pub fn approve(&mut self, by: &str, at: i64, batch: u64) -> Result<(), ApprovalError> {
        self.may_decide(by)?;
        self.state = ApprovalState::Approved {
            by: by.to_string(),
            at,
            batch,
        };
        Ok(())
    }

    /// Rejects with a reason (trimmed, at most [`MAX_REASON_CHARS`], no
    /// control characters).
    pub fn reject(&mut self, by: &str, at: i64, reason: &str) -> Result<(), ApprovalError> {
        self.may_decide(by)?;
        let reason: String = reason
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_REASON_CHARS)
            .collect();
        if reason.trim().is_empty() {
            return Err(ApprovalError::ReasonRequired);
        }
        self.state = ApprovalState::Rejected {
            by: by.to_string(),
            at,
            reason,
        };
        Ok(())
    }

    /// The plan changed since sending: final, nothing was written.
    pub fn mark_stale(&mut self, by: &str, at: i64) -> Result<(), ApprovalError> {
        self.may_decide(by)?;
        self.state = ApprovalState::Stale {
            by: by.to_string(),
            at,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
        r.approve("boss@x.org", 20, 7).unwrap();
        assert!(matches!(r.state, ApprovalState::Approved { batch: 7, .. }));
        for attempt in [
            r.clone().approve("boss@x.org", 30, 8),
            r.clone().reject("boss@x.org", 30, "no"),
            r.clone().mark_stale("boss@x.org", 30),
        ] {
            assert!(matches!(attempt, Err(ApprovalError::NotWaiting(_))));
        }

        let mut r = request();
        r.reject("boss@x.org", 20, "  wrong file\n").unwrap();
        assert_eq!(
            r.state,
            ApprovalState::Rejected {
                by: "boss@x.org".into(),
                at: 20,
                reason: "wrong file".into()
            }
        );
        assert!(r.approve("other@x.org", 30, 1).is_err());

        let mut r = request();
        r.mark_stale("boss@x.org", 20).unwrap();
        assert!(r.state.label().starts_with("Changed since preview"));
        assert!(r.reject("boss@x.org", 30, "late").is_err());
    }

    #[test]
    fn the_sender_never_decides_and_a_rejection_needs_a_reason() {
        let mut r = request();
        assert_eq!(r.approve("OP@x.org", 20, 1), Err(ApprovalError::OwnRequest));
        assert_eq!(
            r.reject("op@x.org", 20, "x"),
            Err(ApprovalError::OwnRequest)
        );
        assert_eq!(
            r.reject("boss@x.org", 20, " \t "),
            Err(ApprovalError::ReasonRequired)
        );
        assert_eq!(r.state, ApprovalState::Waiting, "refusals change nothing");
        let long = "x".repeat(5000);
        r.reject("boss@x.org", 20, &long).unwrap();
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
        let mut history = |k: &UserKey| -> Result<Vec<AuditEvent>, ()> {
            Ok(trail
                .iter()
                .filter(|e| Email::parse(&e.target).unwrap().key() == k)
                .cloned()
                .collect())
        };
        independent(&key(sender), &key(approver), sent_at, &mut history).unwrap()
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
        ];
        assert_eq!(judge(&trail, "op@x.org", "boss@x.org", 100), Ok(()));
        assert_eq!(
            judge(&trail, "op@x.org", "OP@X.ORG", 100),
            Err(NotIndependent::Sender)
        );
        assert!(matches!(
            judge(&trail, "op@x.org", "puppet@x.org", 100),
            Err(NotIndependent::Controlled { .. })
        ));
        assert_eq!(
            judge(&trail, "op@x.org", "puppet2@x.org", 100),
            Err(NotIndependent::Controlled {
                via: "puppet@x.org".into()
            }),
            "a puppet's puppet is the sender's too"
        );
        assert!(judge(&trail, "op@x.org", "enrolled@x.org", 100).is_err());
        assert_eq!(
            judge(&trail, "op@x.org", "late@x.org", 100),
            Err(NotIndependent::RoleTooYoung)
        );
        assert_eq!(judge(&trail, "op@x.org", "late@x.org", 300), Ok(()));
        assert!(judge(&trail, "op@x.org", "back@x.org", 100).is_err());
        // Another operator is independent of the first.
        assert_eq!(judge(&trail, "boss@x.org", "op@x.org", 100), Ok(()));
    }

    #[test]
    fn the_sender_is_compared_by_key_not_by_spelling() {
        let mut r = request();
        r.operator = "JÖRG@x.org".into();
        assert_eq!(
            r.approve("jörg@x.org", 20, 1),
            Err(ApprovalError::OwnRequest)
        );
        assert_eq!(
            r.approve(" Jörg@X.org", 20, 1),
            Err(ApprovalError::OwnRequest)
        );
        assert!(r.clone().approve("jorg@x.org", 20, 1).is_ok());
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
}
