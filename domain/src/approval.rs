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
        }
    }
}

impl std::error::Error for ApprovalError {}

impl ApprovalRequest {
    /// Whether `by` may decide now (waiting, and not the sender's own).
    /// Emails compare case-insensitively.
    pub fn may_decide(&self, by: &str) -> Result<(), ApprovalError> {
        if self.state != ApprovalState::Waiting {
            return Err(ApprovalError::NotWaiting(self.state.label()));
        }
        if self.operator.eq_ignore_ascii_case(by.trim()) {
            return Err(ApprovalError::OwnRequest);
        }
        Ok(())
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
        };
        assert!(!o.needs_approval(&counts), "0 means never");
        o.approval_above = 3;
        assert!(!o.needs_approval(&counts));
        o.approval_above = 2;
        assert!(o.needs_approval(&counts));
    }
}
