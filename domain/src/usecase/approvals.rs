//! Imports waiting for a second person: the quota of waiting requests,
//! who may decide, and the decision.

use super::import::{Written, plan_parsed_in, write_plan};
use super::{Done, commit};
use crate::approval::{ApprovalError, ApprovalRequest, Lineage, Trail};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::options::Options;
use crate::plan::parse_file;
use crate::privilege::{self, Act, Actor};
use crate::store::{ApprovalOutcome, Decision, StoreError};
use crate::transaction::WriteTx;
use crate::user::EndState;
use crate::{Action, UserKey};

/// The audit trail and the users as a write transaction sees them.
pub(super) struct TxTrail<'t>(pub(super) &'t mut dyn WriteTx);

impl Trail for TxTrail<'_> {
    type Error = StoreError;
    fn history(&mut self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        self.0.user_history(key)
    }
    fn is_admin(&mut self, key: &UserKey) -> Result<bool, StoreError> {
        Ok(self
            .0
            .user(key)?
            .is_some_and(|u| u.roles.contains(crate::Role::Admin)))
    }
}

/// Refuses a request for approval that would take `operator` over the
/// options' quota of waiting imports (count and stored bytes).
pub(super) fn waiting_room(
    tx: &mut dyn WriteTx,
    options: &Options,
    operator: &By,
    bytes: u64,
) -> Result<(), StoreError> {
    let Some(sender) = operator.key() else {
        return Ok(());
    };
    let waiting = tx.waiting_files()?;
    let mut lineage = Lineage(TxTrail(tx));
    let (mut count, mut stored) = (0u64, 0u64);
    for (request, size) in waiting {
        // Requests of related accounts share the quota, as they share the
        // approval window.
        let Some(by) = request.sender_key() else {
            continue;
        };
        if lineage.related(&sender, &by)?.is_some() {
            count += 1;
            stored = stored.saturating_add(size);
        }
    }
    let max_bytes = u64::from(options.approval_max_waiting_mb) * 1_000_000;
    if count >= u64::from(options.approval_max_waiting) || stored.saturating_add(bytes) > max_bytes
    {
        return Err(StoreError::Invalid(format!(
            "You have {count} imports ({} MB) waiting for approval; at most {} imports and {} MB \
             may wait at once (options import.approval_max_waiting and \
             import.approval_max_waiting_mb). Ask an approver to decide them first. Nothing was \
             written.",
            stored / 1_000_000,
            options.approval_max_waiting,
            options.approval_max_waiting_mb
        )));
    }
    Ok(())
}

pub(super) fn approval_counts(request: &ApprovalRequest) -> String {
    format!(
        "request {}: {} ({} to create, {} to update)",
        request.id, request.file_name, request.counts.create, request.counts.update
    )
}

fn approval_error(e: ApprovalError) -> StoreError {
    match e {
        ApprovalError::OwnRequest => StoreError::Forbidden(e.to_string()),
        ApprovalError::NotWaiting(_) => StoreError::Conflict(e.to_string()),
        ApprovalError::ReasonRequired => StoreError::Invalid(e.to_string()),
        ApprovalError::NotIndependent(_) => StoreError::Forbidden(e.to_string()),
    }
}

/// Approves or rejects a request. Approving plans the stored bytes again
/// with the sender's authority and writes them as a batch only if the
/// plan's fingerprint is the one sent, and only if the privilege rule lets
/// the approver act on every user it changes. With `mail` (a mail server
/// is configured) and `enrolment.email_on_import` on, the users it creates
/// are mailed their sign-in links — the sender's, made with the sender's
/// authority — queued in the same transaction.
#[allow(clippy::too_many_arguments)]
pub fn decide_approval(
    tx: &mut dyn WriteTx,
    id: u64,
    decision: Decision,
    by: &By,
    actor: Actor,
    now: i64,
    mail: bool,
) -> Done<ApprovalOutcome> {
    let (mut request, bytes) = tx
        .approval(id)?
        .ok_or_else(|| StoreError::NotFound(format!("There is no approval request {id}.")))?;
    request.may_decide(by).map_err(approval_error)?;
    // A person (not the machine owner) must be independent of the sender.
    if actor != Actor::Owner
        && let (Some(sender), Some(approver)) = (request.sender_key(), by.key())
    {
        let verdict = crate::approval::independent(
            &mut Lineage(TxTrail(tx)),
            &sender,
            &approver,
            request.sent_at,
        )?;
        verdict.map_err(|why| approval_error(ApprovalError::NotIndependent(why)))?;
    }
    let outcome = match decision {
        Decision::Reject { reason } => {
            request.reject(by, now, &reason).map_err(approval_error)?;
            let event = AuditEvent::about(
                now,
                by,
                &request.operator.to_string(),
                AuditAction::Rejected,
            )
            .with("outcome", approval_counts(&request))
            .with("reason", reason.trim());
            tx.append_audit(vec![event], None)?;
            ApprovalOutcome::Rejected
        }
        Decision::Approve => {
            let sender = sender_authority_now(tx, &request)?;
            let options = tx.options()?;
            let parsed = parse_file(&bytes, &options).map_err(StoreError::File)?;
            let mut plan = plan_parsed_in(tx, parsed, &options, sender)?;
            if plan.fingerprint != request.fingerprint {
                request.mark_stale(by, now).map_err(approval_error)?;
                ApprovalOutcome::Stale
            } else {
                // The approver vouches for every change: the privilege rule
                // applies to them as to the sender.
                for row in &plan.rows {
                    let (before, after) = match &row.action {
                        Action::Create(u) => (None, Some(&**u)),
                        Action::Update { before, after, .. } => (Some(&**before), Some(&**after)),
                        _ => continue,
                    };
                    privilege::check_change(actor, Act::Approve, before, after).map_err(
                        |refusal| {
                            StoreError::Forbidden(format!(
                                "Not approved: {} — {refusal}. Nothing was written.",
                                after.or(before).map(|u| u.email.as_str()).unwrap_or("?")
                            ))
                        },
                    )?;
                }
                let batch = write_plan(
                    tx,
                    &mut plan,
                    Written {
                        operator: &request.operator,
                        file_name: &request.file_name,
                        sha256: request.sha256.clone(),
                        corrected: None,
                        approved_by: Some(by),
                        now,
                    },
                )?;
                request.approve(by, now, batch.id).map_err(approval_error)?;
                // The links are the sender's, as with an import that needed
                // no approval: made with the sender's authority as it is
                // now, and recorded as the sender's.
                let mailed = if mail {
                    let sender_name = request.operator.clone();
                    super::mail::queue_with_import(tx, &plan, &batch, now, &sender_name, sender)?
                } else {
                    None
                };
                let event = AuditEvent::about(
                    now,
                    by,
                    &request.operator.to_string(),
                    AuditAction::Approved,
                )
                .with("outcome", approval_counts(&request));
                tx.append_audit(vec![event], Some(batch.id))?;
                ApprovalOutcome::Approved { batch, mailed }
            }
        }
    };
    // Decided: the stored file is not needed any more (its SHA-256 stays
    // with the request and the batch).
    tx.put_approval(&request, None)?;
    commit(outcome)
}

/// The authority a waiting import is written with: the sender's as it is
/// now, not as it was when the request was sent — a sender deactivated or
/// no longer an operator meanwhile has none left to lend the import.
fn sender_authority_now(
    tx: &mut dyn WriteTx,
    request: &ApprovalRequest,
) -> Result<Actor, StoreError> {
    if request.actor == Actor::Owner {
        return Ok(Actor::Owner);
    }
    let sender = match request.sender_key() {
        Some(key) => tx.user(&key)?,
        None => None,
    };
    match sender {
        // Not a stored user (an address the store does not hold): the
        // authority recorded with the request, which can only be less.
        None => Ok(request.actor),
        Some(u) if u.end_state == EndState::Active && u.roles.can_operate() => {
            Ok(Actor::User(u.roles))
        }
        Some(_) => Err(StoreError::Forbidden(format!(
            "Not approved: the sender {} is no longer an active operator, so the import \
             has no authority to be written with. Reject it. Nothing was written.",
            request.operator
        ))),
    }
}
