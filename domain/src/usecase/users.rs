//! One user at a time: manual creation, the self-service profile, the
//! end state and an operator's edit.

use super::{Done, abort, commit, forbidden, record_batch, replace_user, stored_user};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::privilege::{self, Act, Actor};
use crate::store::{BatchSummary, EditOutcome, StoreError, UserEdit};
use crate::transaction::{Touched, UserWrite, WriteTx};
use crate::user::{EndState, Profile};
use crate::{Counts, User, UserKey};

/// Creates one user (manual input), recorded as a batch so that history
/// shows it and it can be undone.
pub fn create_user(
    tx: &mut dyn WriteTx,
    user: User,
    operator: &By,
    actor: Actor,
    now: i64,
) -> Done<BatchSummary> {
    create_user_by(tx, user, Channel::Manual, operator, actor, now)
}

/// How a single user came to be created: its batch's name in Import
/// history and the action of its audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Manual,
    Scim,
}

/// [`create_user`] through `channel`.
pub fn create_user_by(
    tx: &mut dyn WriteTx,
    mut user: User,
    channel: Channel,
    operator: &By,
    actor: Actor,
    now: i64,
) -> Done<BatchSummary> {
    privilege::check_change(actor, Act::Change, None, Some(&user)).map_err(forbidden)?;
    if tx.user(user.key())?.is_some() {
        return Err(StoreError::Conflict(format!(
            "A user with the email {} exists already.",
            user.email
        )));
    }
    user.created_at = now;
    user.updated_at = now;
    user.version = 1;
    tx.write_users(&[UserWrite {
        before: None,
        after: Some(&user),
    }])?;
    let summary = record_batch(
        tx,
        BatchSummary {
            id: 0,
            operator: operator.to_string(),
            at: now,
            file_name: match channel {
                Channel::Manual => "Manual input",
                Channel::Scim => "SCIM",
            }
            .into(),
            // No file: nothing a later upload could match.
            sha256: String::new(),
            counts: Counts {
                create: 1,
                ..Counts::default()
            },
            undo_of: None,
            undone_by: None,
            approved_by: None,
        },
        vec![Touched {
            key: user.key().clone(),
            before: None,
            after_version: Some(1),
        }],
    )?;
    let event = AuditEvent::new(
        now,
        operator,
        &user,
        match channel {
            Channel::Manual => AuditAction::ManualCreate,
            Channel::Scim => AuditAction::ScimCreate,
        },
        crate::audit::created(&user),
    );
    tx.append_audit(vec![event], Some(summary.id))?;
    commit(summary)
}

/// Replaces a user's profile (self-service edit) if the stored version is
/// still `expected_version`. Roles, end state and source are never touched.
pub fn update_profile(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    profile: Profile,
    expected_version: u64,
    now: i64,
) -> Done<User> {
    let before = stored_user(tx, key)?;
    if before.version != expected_version {
        return Err(StoreError::Conflict(
            "Your record was changed meanwhile (by an import or an operator): \
             nothing was saved. Reload the page to see it."
                .into(),
        ));
    }
    if before.profile == profile {
        return abort(before);
    }
    let mut after = before.clone();
    after.profile = profile;
    replace_user(tx, &before, &mut after, now)?;
    let changes = crate::plan::diff(&before, &after);
    let event = AuditEvent::new(
        now,
        after.email.as_str(),
        &after,
        AuditAction::ProfileEdit,
        changes,
    );
    tx.append_audit(vec![event], None)?;
    commit(after)
}

/// Activates or deactivates a user under the privilege rule and the
/// last-administrator rule. Deactivating ends the user's sessions and
/// revokes their sign-in links.
pub fn set_end_state(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    end_state: EndState,
    operator: &By,
    actor: Actor,
    now: i64,
) -> Done<User> {
    let before = stored_user(tx, key)?;
    privilege::check_change(actor, Act::Change, Some(&before), Some(&before)).map_err(forbidden)?;
    if before.end_state == end_state {
        return abort(before);
    }
    let mut after = before.clone();
    after.end_state = end_state;
    // A person's decision: an import does not re-activate the user.
    after.held.deactivated_by = (end_state == EndState::Inactive).then(|| crate::user::Decided {
        by: operator.to_string(),
        at: now,
    });
    replace_user(tx, &before, &mut after, now)?;
    if end_state == EndState::Inactive {
        tx.revoke_links(key)?;
        tx.end_sessions(key)?;
    }
    let action = match end_state {
        EndState::Active => AuditAction::Activate,
        EndState::Inactive => AuditAction::Deactivate,
    };
    let changes = crate::plan::diff(&before, &after);
    tx.append_audit(
        vec![AuditEvent::new(now, operator, &after, action, changes)],
        None,
    )?;
    commit(after)
}

/// An operator's edit of a user's fields (and, for administrators, roles).
pub fn edit_user(tx: &mut dyn WriteTx, edit: &UserEdit<'_>) -> Done<EditOutcome> {
    let before = stored_user(tx, edit.key)?;
    let after = match crate::manual::operator_edit(&before, edit.cells, edit.roles) {
        Ok(after) => after,
        Err(errors) => return abort(EditOutcome::Invalid(errors)),
    };
    if before.version != edit.expected_version {
        let changes = crate::plan::diff(&before, &after);
        return abort(EditOutcome::ChangedMeanwhile {
            current: before,
            changes,
        });
    }
    privilege::check_edit(edit.actor, &before, &after).map_err(forbidden)?;
    if after == before {
        return abort(EditOutcome::Unchanged(before));
    }
    let after = write_edit(tx, &before, after, &edit.operator, edit.now)?;
    commit(EditOutcome::Saved(after))
}

/// Writes an edit the caller has authorised (fields and roles, see
/// [`edit_user`]) with what a change of roles brings: roles taken away
/// stay away from imports, a rank rise ends sessions and voids links and
/// a password a lower-ranked maker's link set, each audited. The roles
/// given over SCIM (Groups) go through here too.
pub(crate) fn write_edit(
    tx: &mut dyn WriteTx,
    before: &User,
    mut after: User,
    operator: &By,
    now: i64,
) -> Result<User, StoreError> {
    let key = before.key();
    // Roles an administrator takes away stay away from imports; given
    // back, they are no longer withheld.
    let removed = before.roles.without(after.roles);
    let added = after.roles.without(before.roles);
    after.held.withheld_roles = before.held.withheld_roles.union(removed).without(added);
    replace_user(tx, before, &mut after, now)?;
    if before.roles != after.roles {
        // A link made for the user's old rank is void; a session keeps no
        // power the user lost.
        let about = |action, reason: &str| {
            AuditEvent::new(now, operator, &after, action, Vec::new()).with("reason", reason)
        };
        if tx.revoke_links(key)? > 0 {
            let event = about(AuditAction::SignInLinksRevoked, "roles changed");
            tx.append_audit(vec![event], None)?;
        }
        let rank = |u: &User| privilege::Rank::of(u.roles);
        if !removed.is_empty() || rank(&after) > rank(before) {
            tx.end_sessions(key)?;
        }
        // A password set through a link made by someone of lower rank than
        // the user has now may be known to that person: it goes, and an
        // administrator enrols the user again.
        if rank(&after) > rank(before)
            && let Some(maker) = password_link_maker(tx, key)?
            && maker < rank(&after)
        {
            tx.forget_credentials(key)?;
            let event = about(
                AuditAction::PasswordRemoved,
                "set through a link made by someone who ranks below the user now",
            );
            tx.append_audit(vec![event], None)?;
        }
    }
    let (roles, fields): (Vec<_>, Vec<_>) = crate::plan::diff(before, &after)
        .into_iter()
        .partition(|c| c.field == "roles");
    let mut events = Vec::with_capacity(2);
    for (action, changes) in [
        (AuditAction::OperatorEdit, fields),
        (AuditAction::RoleChange, roles),
    ] {
        if !changes.is_empty() {
            events.push(AuditEvent::new(now, operator, &after, action, changes));
        }
    }
    tx.append_audit(events, None)?;
    Ok(after)
}

/// The rank of whoever made the sign-in link through which the user's
/// current password was set (the machine owner ranks as an
/// administrator); `None` when the password was not set through a link.
fn password_link_maker(
    tx: &mut dyn WriteTx,
    key: &UserKey,
) -> Result<Option<privilege::Rank>, StoreError> {
    let history = tx.user_history(key)?;
    let mut newest_first = history.iter();
    let Some(set) = newest_first.find(|e| e.action == AuditAction::PasswordSet) else {
        return Ok(None);
    };
    let by_self = crate::Email::parse(&set.actor).is_ok_and(|a| a.key() == key);
    if !by_self {
        return Ok(None);
    }
    let Some(made) = newest_first.find(|e| e.action == AuditAction::SignInLinkMade) else {
        return Ok(None);
    };
    Ok(Some(match crate::Email::parse(&made.actor) {
        Err(_) => privilege::Rank::Admin, // `cli`
        Ok(maker) => tx
            .user(maker.key())?
            .map_or(privilege::Rank::SelfService, |u| {
                privilege::Rank::of(u.roles)
            }),
    }))
}
