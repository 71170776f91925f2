//! Undoing a batch.

use super::{Done, abort, commit, keep_an_active_admin, record_batch};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::privilege::{self, Act, Actor};
use crate::store::{BatchSummary, StoreError, UndoOutcome};
use crate::transaction::{Touched, UserWrite, WriteTx};
use crate::{Counts, UserKey};

/// Undoes a batch, unless a touched user changed since. Undoing a create
/// also removes that user's password, sign-in links and sessions.
pub fn undo_batch(
    tx: &mut dyn WriteTx,
    id: u64,
    operator: &By,
    actor: Actor,
    now: i64,
) -> Done<UndoOutcome> {
    let mut record = tx
        .batch(id)?
        .ok_or_else(|| StoreError::NotFound(format!("there is no batch {id}")))?;
    if let Some(by) = record.summary.undone_by {
        return Err(StoreError::Invalid(format!(
            "batch {id} was already undone by batch {by}"
        )));
    }
    if record.summary.undo_of.is_some() {
        return Err(StoreError::Invalid(format!(
            "batch {id} is itself an undo and cannot be undone"
        )));
    }
    // Check every user first: refuse the whole undo if any changed.
    let keys: Vec<&UserKey> = record.touched.iter().map(|t| &t.key).collect();
    let mut current = tx.users(&keys)?;
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
        return abort(UndoOutcome::Refused { changed });
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
            && tx.has_password(&t.key)?
        {
            return Err(StoreError::Forbidden(format!(
                "Not undone: {} has set a password since this batch; removing the user \
                 would reset it, which only an administrator may do. Nothing was written.",
                now_user.map(|u| u.email.as_str()).unwrap_or(&t.key)
            )));
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
    let mut undo_touched = Vec::with_capacity(record.touched.len());
    let mut events = Vec::with_capacity(record.touched.len());
    let mut counts = Counts::default();
    let mut restored_users = Vec::with_capacity(record.touched.len());
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
                undo_touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user.clone(),
                    after_version: None,
                });
                restored_users.push((now_user, None));
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
                undo_touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user.clone(),
                    after_version: Some(restored.version),
                });
                restored_users.push((now_user, Some(restored)));
            }
        }
    }
    let writes: Vec<UserWrite<'_>> = restored_users
        .iter()
        .filter(|(before, after)| before.is_some() || after.is_some())
        .map(|(before, after)| UserWrite {
            before: before.as_ref(),
            after: after.as_ref(),
        })
        .collect();
    tx.write_users(&writes)?;
    for t in record.touched.iter().filter(|t| t.before.is_none()) {
        // A removed user leaves nothing behind that a later user of the
        // same address could inherit: no password, link or session, and
        // no externalId a provisioning client would find it by.
        tx.forget_credentials(&t.key)?;
        tx.set_external_id(&t.key, None)?;
    }
    keep_an_active_admin(tx, admin_lost)?;
    let summary = record_batch(
        tx,
        BatchSummary {
            id: 0,
            operator: operator.to_string(),
            at: now,
            file_name: record.summary.file_name.clone(),
            sha256: record.summary.sha256.clone(),
            counts,
            undo_of: Some(id),
            undone_by: None,
            approved_by: None,
        },
        undo_touched,
    )?;
    tx.append_audit(events, Some(summary.id))?;
    record.summary.undone_by = Some(summary.id);
    tx.put_batch(&record)?;
    commit(UndoOutcome::Undone { batch: summary })
}
