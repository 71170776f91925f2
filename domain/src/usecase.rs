//! The store's use cases, written once over a write transaction
//! ([`WriteTx`]): every engine runs exactly these rules. Each function
//! returns how the transaction ends and the answer; an `Err` aborts it.

use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::options::Options;
use crate::privilege;
use crate::store::{BatchSummary, StoreError};
use crate::transaction::{BatchRecord, Finish, Sequence, Touched, UserWrite, WriteTx};
use crate::user::EndState;
use crate::{User, UserKey};

mod approvals;
mod credentials;
mod import;
mod load;
pub mod mail;
pub mod tokens;
mod undo;
mod users;

pub use approvals::decide_approval;
use credentials::create_links_of;
pub use credentials::{create_links, redeem_link, set_password};
pub use import::{
    apply_import, apply_sync_import, may_force, plan_import_in, preview_sync, rows_written_by,
};
pub use load::{LoadCounts, Loader};
pub use undo::{NotUndone, UndoPlan, plan_undo, undo_batch, undoable};
pub(crate) use users::write_edit;
pub use users::{Channel, create_user, create_user_by, edit_user, set_end_state, update_profile};

/// A use case's answer and whether its writes are kept.
pub type Done<T> = Result<(Finish, T), StoreError>;

fn commit<T>(value: T) -> Done<T> {
    Ok((Finish::Commit, value))
}

fn abort<T>(value: T) -> Done<T> {
    Ok((Finish::Abort, value))
}

fn forbidden(refusal: privilege::Refusal) -> StoreError {
    StoreError::Forbidden(refusal.to_string())
}

fn no_such_user(key: &str) -> StoreError {
    StoreError::NotFound(format!("There is no user {key}."))
}

/// Validates and stores several options: all of them or, when any is
/// invalid, none; records what changed (old → new) as done `by`. Returns
/// the options after the change.
pub fn set_options(
    tx: &mut dyn WriteTx,
    pairs: &[(&str, &str)],
    by: &By,
    now: i64,
) -> Done<Options> {
    let before = tx.options()?;
    let mut options = before.clone();
    // Every value is checked before anything is written.
    for (key, value) in pairs {
        options
            .set(key, value)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    for (key, _) in pairs {
        let stored = options
            .get(key)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        tx.put_option(key, &stored)?;
    }
    let changes: Vec<crate::plan::Change> = pairs
        .iter()
        .filter_map(|(key, _)| {
            let old = before.get(key).ok()?;
            let new = options.get(key).ok()?;
            (old != new).then(|| crate::plan::Change {
                field: key.to_string(),
                old,
                new,
            })
        })
        .collect();
    if !changes.is_empty() {
        let mut event = AuditEvent::about(now, by, "options", AuditAction::OptionsChanged);
        event.changes = changes;
        tx.append_audit(vec![event], None)?;
    }
    commit(options)
}

/// Inserts or replaces one user outside an import (the bootstrap
/// administrator): the next version of an existing user.
pub fn put_user(tx: &mut dyn WriteTx, mut user: User, now: i64) -> Done<User> {
    let old = tx.user(user.key())?;
    match &old {
        Some(old) => {
            user.created_at = old.created_at;
            user.version = old.version + 1;
        }
        None => {
            user.created_at = now;
            user.version = 1;
        }
    }
    user.updated_at = now;
    tx.write_users(&[UserWrite {
        before: old.as_ref(),
        after: Some(&user),
    }])?;
    commit(user)
}

/// Makes the user of `new`'s address an active administrator with the
/// Self-Service role, creating it as `new` when there is none. With
/// `first_only`, an existing administrator (active or not) is answered
/// instead and nothing is written: the first start of several servers on
/// one database creates one administrator.
pub fn ensure_admin(tx: &mut dyn WriteTx, new: User, first_only: bool, now: i64) -> Done<User> {
    use crate::user::Role;
    if first_only && let Some(admin) = tx.first_admin()? {
        return abort(admin);
    }
    match tx.user(new.key())? {
        Some(u) if u.roles.contains(Role::Admin) && u.end_state == EndState::Active => abort(u),
        Some(before) => {
            let mut after = before.clone();
            after.roles = after.roles.with(Role::Admin).with(Role::SelfService);
            after.end_state = EndState::Active;
            after.held.deactivated_by = None;
            let (finish, after) = put_user(tx, after, now)?;
            // Audited as every change of a user is (History also derives
            // an imported user's first values through these changes): the
            // roles given, and the activation, which clears a person's
            // deactivation as "Activate" does.
            let (roles, end_state): (Vec<_>, Vec<_>) = crate::plan::diff(&before, &after)
                .into_iter()
                .partition(|c| c.field == "roles");
            let events = [
                (AuditAction::RoleChange, roles),
                (AuditAction::Activate, end_state),
            ]
            .into_iter()
            .filter(|(_, changes)| !changes.is_empty())
            .map(|(action, changes)| {
                AuditEvent::new(now, By::Cli, &after, action, changes)
                    .with("reason", "made an administrator from the command line")
            })
            .collect();
            tx.append_audit(events, None)?;
            Ok((finish, after))
        }
        None => put_user(tx, new, now),
    }
}

/// Refuses a change that took away an active administrator when none is
/// left.
pub(crate) fn keep_an_active_admin(
    tx: &mut dyn WriteTx,
    admin_lost: bool,
) -> Result<(), StoreError> {
    if admin_lost && !tx.has_active_admin()? {
        return Err(StoreError::Forbidden(privilege::LAST_ADMIN.into()));
    }
    Ok(())
}

/// Writes `after` over `before` (the user as stored now) as its next
/// version at `now`, and refuses the change if it took away the last
/// active administrator.
pub(crate) fn replace_user(
    tx: &mut dyn WriteTx,
    before: &User,
    after: &mut User,
    now: i64,
) -> Result<(), StoreError> {
    after.version = before.version + 1;
    after.updated_at = now;
    tx.write_users(&[UserWrite {
        before: Some(before),
        after: Some(after),
    }])?;
    keep_an_active_admin(
        tx,
        privilege::removes_active_admin(Some(before), Some(after)),
    )
}

pub(crate) fn stored_user(tx: &mut dyn WriteTx, key: &UserKey) -> Result<User, StoreError> {
    tx.user(key)?.ok_or_else(|| no_such_user(key.as_str()))
}

/// Gives `summary` the next batch id and stores it with its touched users.
fn record_batch(
    tx: &mut dyn WriteTx,
    mut summary: BatchSummary,
    touched: Vec<Touched>,
) -> Result<BatchSummary, StoreError> {
    summary.id = tx.next_id(Sequence::Batch)?;
    tx.put_batch(&BatchRecord {
        summary: summary.clone(),
        touched,
    })?;
    Ok(summary)
}
