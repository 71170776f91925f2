//! Undoing a batch: the plan (what the undo would write, from the batch
//! and the users as they are now; no store needed) and its application in
//! one write transaction.

use super::{Done, abort, commit, keep_an_active_admin, record_batch};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::privilege::{self, Act, Actor};
use crate::store::{BatchSummary, StoreError, UndoOutcome};
use crate::transaction::{BatchRecord, Touched, UserWrite, WriteTx};
use crate::{Counts, User, UserKey};

/// What undoing a batch writes.
#[derive(Clone, Debug, PartialEq)]
pub struct UndoPlan {
    /// Each touched user as it is now and as the undo leaves it (`None`:
    /// absent), in the batch's order.
    pub users: Vec<(Option<User>, Option<User>)>,
    /// The undo batch's touched users (before-images: the users as now).
    pub touched: Vec<Touched>,
    pub events: Vec<AuditEvent>,
    pub counts: Counts,
    /// The users the batch created: removed, with their credentials and
    /// externalId.
    pub removed: Vec<UserKey>,
    /// Whether the undo takes an active administrator away (the store
    /// checks that one is left).
    pub admin_lost: bool,
}

/// Why a batch is not undone.
#[derive(Clone, Debug, PartialEq)]
pub enum NotUndone {
    /// Users changed since the batch (their emails): nothing is written.
    Changed(Vec<String>),
    /// Refused by a rule, or the store could not answer.
    Error(StoreError),
}

impl From<StoreError> for NotUndone {
    fn from(e: StoreError) -> NotUndone {
        NotUndone::Error(e)
    }
}

/// Whether a batch may be undone at all: not twice, and not an undo.
pub fn undoable(summary: &BatchSummary) -> Result<(), StoreError> {
    let id = summary.id;
    if let Some(by) = summary.undone_by {
        return Err(StoreError::Invalid(format!(
            "batch {id} was already undone by batch {by}"
        )));
    }
    if summary.undo_of.is_some() {
        return Err(StoreError::Invalid(format!(
            "batch {id} is itself an undo and cannot be undone"
        )));
    }
    Ok(())
}

/// Plans the undo of an [`undoable`] batch, given its touched users as
/// they are now (`current`, by key) and whether a user has a password
/// (asked only where it matters). Refused whole if any touched user
/// changed since, or if the privilege rule refuses any of them.
pub fn plan_undo(
    record: &BatchRecord,
    mut current: crate::UsersByKey,
    has_password: &mut dyn FnMut(&UserKey) -> Result<bool, StoreError>,
    operator: &By,
    actor: Actor,
    now: i64,
) -> Result<UndoPlan, NotUndone> {
    // Check every user first: refuse the whole undo if any changed.
    let mut changed = Vec::new();
    for t in &record.touched {
        let now_user = current.get(&t.key);
        if now_user.map(|u| u.version) != t.after_version {
            changed.push(
                now_user
                    .map(|u| u.email.to_string())
                    .unwrap_or_else(|| t.key.to_string()),
            );
        }
    }
    if !changed.is_empty() {
        return Err(NotUndone::Changed(changed));
    }
    // The privilege rule, on the user as it is and as it would be.
    let mut admin_lost = false;
    for t in &record.touched {
        let now_user = current.get(&t.key);
        // Removing a user who has set a password since would let the same
        // address be created again and given a fresh link: a password
        // reset, which only an administrator may do.
        if t.before.is_none()
            && now_user.is_some()
            && privilege::check(actor, Act::SignInLink { has_password: true }, None, None).is_err()
            && has_password(&t.key)?
        {
            return Err(NotUndone::Error(StoreError::Forbidden(format!(
                "Not undone: {} has set a password since this batch; removing the user \
                 would reset it, which only an administrator may do. Nothing was written.",
                now_user.map(|u| u.email.as_str()).unwrap_or(&t.key)
            ))));
        }
        privilege::check_change(actor, Act::Undo, now_user, t.before.as_ref()).map_err(
            |refusal| {
                StoreError::Forbidden(format!(
                    "Not undone: {} — {refusal}. Nothing was written.",
                    t.key
                ))
            },
        )?;
        admin_lost |= privilege::removes_active_admin(now_user, t.before.as_ref());
    }
    let mut touched = Vec::with_capacity(record.touched.len());
    let mut events = Vec::with_capacity(record.touched.len());
    let mut counts = Counts::default();
    let mut users = Vec::with_capacity(record.touched.len());
    let mut removed = Vec::new();
    for t in &record.touched {
        let now_user = current.remove(&t.key);
        match &t.before {
            None => {
                counts.create += 1;
                if let Some(gone) = &now_user {
                    events.push(AuditEvent::new(
                        now,
                        operator,
                        gone,
                        AuditAction::Undo,
                        crate::audit::removed(gone),
                    ));
                }
                touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user.clone(),
                    after_version: None,
                });
                users.push((now_user, None));
                removed.push(t.key.clone());
            }
            Some(before) => {
                // Restore the before-image as a new version, so that anyone
                // who read the imported state sees a change.
                let mut restored = before.clone();
                restored.version = now_user.as_ref().map(|u| u.version + 1).unwrap_or(1);
                // What people decided stands through an undo.
                if let Some(current) = &now_user {
                    restored.held = current.held.clone();
                }
                restored.updated_at = now;
                counts.update += 1;
                if let Some(current) = &now_user {
                    events.push(AuditEvent::new(
                        now,
                        operator,
                        &restored,
                        AuditAction::Undo,
                        crate::plan::diff(current, &restored),
                    ));
                }
                touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user.clone(),
                    after_version: Some(restored.version),
                });
                users.push((now_user, Some(restored)));
            }
        }
    }
    Ok(UndoPlan {
        users,
        touched,
        events,
        counts,
        removed,
        admin_lost,
    })
}

/// Undoes a batch, unless a touched user changed since. Undoing a create
/// also removes that user's password, sign-in links and sessions.
pub fn undo_batch(
    tx: &mut dyn WriteTx,
    id: u64,
    operator: &By,
    actor: Actor,
    now: i64,
) -> Done<UndoOutcome> {
    let record = tx
        .batch(id)?
        .ok_or_else(|| StoreError::NotFound(format!("there is no batch {id}")))?;
    undoable(&record.summary)?;
    let keys: Vec<&UserKey> = record.touched.iter().map(|t| &t.key).collect();
    let current = tx.users(&keys)?;
    let has_password = &mut |key: &UserKey| tx.has_password(key);
    match plan_undo(&record, current, has_password, operator, actor, now) {
        Ok(plan) => write_undo(tx, record, plan, operator, now),
        Err(NotUndone::Changed(changed)) => abort(UndoOutcome::Refused { changed }),
        Err(NotUndone::Error(e)) => Err(e),
    }
}

/// Writes a planned undo: the users, what removed users leave behind, the
/// undo's batch and events, and the undone batch marked.
fn write_undo(
    tx: &mut dyn WriteTx,
    mut record: BatchRecord,
    plan: UndoPlan,
    operator: &By,
    now: i64,
) -> Done<UndoOutcome> {
    let writes: Vec<UserWrite<'_>> = plan
        .users
        .iter()
        .filter(|(before, after)| before.is_some() || after.is_some())
        .map(|(before, after)| UserWrite {
            before: before.as_ref(),
            after: after.as_ref(),
        })
        .collect();
    tx.write_users(&writes)?;
    for key in &plan.removed {
        // A removed user leaves nothing behind that a later user of the
        // same address could inherit: no password, link or session, and
        // no externalId a provisioning client would find it by.
        tx.forget_credentials(key)?;
        tx.set_external_id(key, None)?;
    }
    keep_an_active_admin(tx, plan.admin_lost)?;
    let summary = record_batch(
        tx,
        BatchSummary {
            id: 0,
            operator: operator.to_string(),
            at: now,
            file_name: record.summary.file_name.clone(),
            sha256: record.summary.sha256.clone(),
            counts: plan.counts,
            undo_of: Some(record.summary.id),
            undone_by: None,
            approved_by: None,
        },
        plan.touched,
    )?;
    let events = crate::audit::batch::with_head(plan.events, &summary, AuditAction::Undo);
    tx.append_audit(events, Some(summary.id))?;
    record.summary.undone_by = Some(summary.id);
    tx.put_batch(&record)?;
    commit(UndoOutcome::Undone { batch: summary })
}

#[cfg(test)]
mod tests;
