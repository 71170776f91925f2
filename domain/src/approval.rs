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
use crate::by::By;
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
    /// Who sent it (a person, or the command line).
    pub operator: By,
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
    /// The sender holds the approver's account (see [`Lineage`]).
    HeldBySender,
    /// The approver holds the sender's account.
    HoldsSender,
    /// Both accounts are held by `via`, an account below administrator.
    SharedHolder { via: String },
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
            NotIndependent::HeldBySender => f.write_str(
                "the sender of this import created, enrolled, activated or gave roles to your \
                 account (or to an account that did so), so approving it would not be a second \
                 person's decision",
            ),
            NotIndependent::HoldsSender => f.write_str(
                "you created, enrolled, activated or gave roles to the sender of this import (or \
                 to an account that did so), so approving it would not be a second person's \
                 decision",
            ),
            NotIndependent::SharedHolder { via } => write!(
                f,
                "you and the sender of this import were both created, enrolled, activated or \
                 given roles by {via}, so approving it would not be a second person's decision"
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

/// How many accounts the independence check follows at most.
pub const MAX_TRACED_ACCOUNTS: usize = 256;

/// Who has a hold over whom, read from the audit trail: an account is
/// held by the accounts that created it, made its sign-in link, activated
/// it, gave it roles or set its password (`AuditEvent::gives_control`),
/// and by everyone who holds those, up to an administrator (trusted to
/// act as one person) or the machine owner (`cli`, not followed).
///
/// Two accounts are *related* when one holds the other or both are held
/// by the same account below an administrator: then one person may be
/// behind both, and neither approves the other's import nor escapes the
/// other's approval window.
pub struct Lineage<T: Trail>(pub T);

/// What [`Lineage`] reads: a user's audit events (any order) and whether a
/// user is an administrator now.
pub trait Trail {
    type Error;
    fn history(&mut self, key: &UserKey) -> Result<Vec<AuditEvent>, Self::Error>;
    fn is_admin(&mut self, key: &UserKey) -> Result<bool, Self::Error>;
}

/// An account and every account that holds it, below administrators
/// (`None`: more than [`MAX_TRACED_ACCOUNTS`]).
type Holders = Option<Vec<UserKey>>;

impl<T: Trail> Lineage<T> {
    /// `account` and the accounts that hold it, nearest first.
    fn holders(&mut self, account: &UserKey) -> Result<Holders, T::Error> {
        let mut seen = vec![account.clone()];
        let mut next = 0;
        while next < seen.len() {
            let current = seen[next].clone();
            next += 1;
            if next > 1 && self.0.is_admin(&current)? {
                continue; // an administrator is trusted: not followed further
            }
            for event in self.0.history(&current)? {
                if !event.gives_control() {
                    continue;
                }
                let Ok(actor) = Email::parse(&event.actor) else {
                    continue; // `cli`: the machine owner
                };
                let actor = actor.key();
                if actor != &current && !seen.contains(actor) {
                    if seen.len() >= MAX_TRACED_ACCOUNTS {
                        return Ok(None);
                    }
                    seen.push(actor.clone());
                }
            }
        }
        Ok(Some(seen))
    }

    /// Why `a` (a sender) and `b` (an approver, or another sender) may be
    /// one person, or `None` when they are independent.
    pub fn related(
        &mut self,
        a: &UserKey,
        b: &UserKey,
    ) -> Result<Option<NotIndependent>, T::Error> {
        if a == b {
            return Ok(Some(NotIndependent::Sender));
        }
        let (Some(of_a), Some(of_b)) = (self.holders(a)?, self.holders(b)?) else {
            return Ok(Some(NotIndependent::Undecidable));
        };
        if of_b.contains(a) {
            return Ok(Some(NotIndependent::HeldBySender));
        }
        if of_a.contains(b) {
            return Ok(Some(NotIndependent::HoldsSender));
        }
        for shared in of_a.iter().filter(|k| of_b.contains(k)) {
            if !self.0.is_admin(shared)? {
                return Ok(Some(NotIndependent::SharedHolder {
                    via: shared.to_string(),
                }));
            }
        }
        Ok(None)
    }
}

/// Whether `approver` may decide a request of `sender` sent at `sent_at`:
/// not related to the sender ([`Lineage::related`]) and not given the
/// Approval role at or after the moment the request was sent.
pub fn independent<T: Trail>(
    lineage: &mut Lineage<T>,
    sender: &UserKey,
    approver: &UserKey,
    sent_at: i64,
) -> Result<Result<(), NotIndependent>, T::Error> {
    if let Some(why) = lineage.related(sender, approver)? {
        return Ok(Err(why));
    }
    let young = lineage
        .0
        .history(approver)?
        .iter()
        .any(|e| e.grants_approval() && e.at >= sent_at);
    if young {
        return Ok(Err(NotIndependent::RoleTooYoung));
    }
    Ok(Ok(()))
}

/// How many users accounts related to `operator` ([`Lineage::related`]:
/// the operator, accounts it holds, accounts that hold it or share a
/// holder with it) created + updated in `batches` recorded at or after
/// `since`: the rows that count toward the approval threshold, so that
/// accounts made for the purpose do not each bring a fresh allowance.
/// Undos and approved imports (which had their second person) are left
/// out.
pub fn rows_in_window<T: Trail>(
    lineage: &mut Lineage<T>,
    batches: &[crate::store::BatchSummary],
    operator: &By,
    since: i64,
) -> Result<u64, T::Error> {
    let Some(operator) = operator.key() else {
        return Ok(0);
    };
    let mut verdicts: Vec<(UserKey, bool)> = Vec::new();
    let mut rows = 0u64;
    for b in batches {
        if b.at < since || b.undo_of.is_some() || b.approved_by.is_some() {
            continue;
        }
        let Ok(by) = Email::parse(&b.operator) else {
            continue; // `cli`: the machine owner
        };
        let counts = match verdicts.iter().find(|(k, _)| k == by.key()) {
            Some((_, counts)) => *counts,
            None => {
                let counts = lineage.related(&operator, by.key())?.is_some();
                verdicts.push((by.key().clone(), counts));
                counts
            }
        };
        if counts {
            rows = rows.saturating_add(b.counts.writes());
        }
    }
    Ok(rows)
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
    pub fn may_decide(&self, by: &By) -> Result<(), ApprovalError> {
        if self.state != ApprovalState::Waiting {
            return Err(ApprovalError::NotWaiting(self.state.label()));
        }
        if self.operator.is(by) {
            return Err(ApprovalError::OwnRequest);
        }
        Ok(())
    }

    /// The sender's user key (`None` for a sender that is not an address).
    pub fn sender_key(&self) -> Option<UserKey> {
        self.operator.key()
    }

    pub fn approve(&mut self, by: &By, at: i64, batch: u64) -> Result<(), ApprovalError> {
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
    pub fn reject(&mut self, by: &By, at: i64, reason: &str) -> Result<(), ApprovalError> {
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
    pub fn mark_stale(&mut self, by: &By, at: i64) -> Result<(), ApprovalError> {
        self.may_decide(by)?;
        self.state = ApprovalState::Stale {
            by: by.to_string(),
            at,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests;
