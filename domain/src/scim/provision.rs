//! SCIM writes as use cases in one write transaction: the same rules as
//! every other way a user is written — the field rules (already applied
//! by [`ScimUserInput`]), the privilege rule for the client's authority,
//! the last-administrator rule, a person's deactivation standing, the
//! audit trail (actor `token:NAME`), and deactivation ending the user's
//! sessions and sign-in links.

use super::{ScimError, ScimType, ScimUserInput};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::options::ScimDelete;
use crate::privilege::{self, Act};
use crate::store::StoreError;
use crate::transaction::UserWrite;
use crate::transaction::{Finish, WriteTx};
use crate::usecase::keep_an_active_admin;
use crate::usecase::{Channel, Done, create_user_by, replace_user, stored_user};
use crate::user::Decided;
use crate::{Actor, EndState, Role, Roles, Source, User, UserKey};

/// Who writes over SCIM: the client's `token:NAME` (the audit trail's
/// actor), the authority of its token, and the time (Unix seconds).
#[derive(Clone, Copy, Debug)]
pub struct Client<'a> {
    pub name: &'a By,
    pub actor: Actor,
    pub now: i64,
}

/// Creates the user a POST describes: Source = SCIM, Self-Service only
/// (a machine's say-so gives nobody power: an administrator grants
/// Operator or Approval), active unless the body says not. A user a
/// client removed (see [`remove`]) comes back: the body replaces its
/// profile and it is active again, with the roles it had.
pub fn create(tx: &mut dyn WriteTx, input: &ScimUserInput, by: Client<'_>) -> Done<User> {
    let Client {
        name: client,
        actor,
        now,
    } = by;
    let user = input.new_user(Roles::of(&[Role::SelfService]), Source::Scim);
    let key = user.key().clone();
    if let Some(removed) = tx.user(&key)?.filter(is_removed) {
        return restore(tx, input, removed, by);
    }
    let (finish, _) = create_user_by(tx, user, Channel::Scim, client, actor, now)?;
    // Always written: a user undone away may have left one behind.
    tx.set_external_id(&key, input.external_id.as_deref())?;
    Ok((finish, stored_user(tx, &key)?))
}

/// Whether a provisioning client removed the user (a SCIM DELETE): it is
/// inactive in Roster, deactivated "by" that client's `token:NAME`, and
/// the SCIM service answers for it as for a user it never had.
pub fn is_removed(user: &User) -> bool {
    user.held
        .deactivated_by
        .as_ref()
        .is_some_and(|d| crate::token::is_token_actor(&d.by))
}

/// A SCIM DELETE. By default (`scim.delete` = `deactivate`) the user is
/// deactivated (sessions ended, links revoked), the client's removal
/// recorded as a decision an import does not undo (as a person's
/// deactivation), and the resource is gone for every client while Roster
/// keeps the user for its history and undo; a person's "Activate" brings
/// it back, as does a later POST of the same address. With `delete`, see
/// [`delete`]. A user a person deactivated is left as that person left it.
pub fn remove(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    if_match: Option<&str>,
    by: Client<'_>,
) -> Done<Replaced> {
    let Client {
        name: client,
        actor,
        now,
    } = by;
    let before = stored_user(tx, key)?;
    if is_removed(&before) {
        return Err(StoreError::NotFound(key.to_string()));
    }
    if if_match.is_some_and(|m| !super::etag_matches(m, &before)) {
        return Ok((Finish::Abort, Replaced::Stale(before)));
    }
    // A person's deactivation stands and stays theirs: the client's
    // removal must not take its place (a later POST would otherwise
    // re-activate a user a person deactivated). The user stays inactive
    // and, as any user a person deactivated, readable over SCIM.
    if before.held.deactivated_by.is_some() {
        return Ok((Finish::Abort, Replaced::Unchanged(before)));
    }
    if tx.options()?.scim_delete == ScimDelete::Delete {
        return delete(tx, before, by);
    }
    let mut after = before.clone();
    after.end_state = EndState::Inactive;
    after.held.deactivated_by = Some(Decided {
        by: client.to_string(),
        at: now,
    });
    privilege::check_change(actor, Act::Change, Some(&before), Some(&after))
        .map_err(|r| StoreError::Forbidden(r.to_string()))?;
    replace_user(tx, &before, &mut after, now)?;
    let mut events = Vec::with_capacity(2);
    if tx.revoke_links(key)? > 0 {
        events.push(
            AuditEvent::new(
                now,
                client,
                &after,
                AuditAction::SignInLinksRevoked,
                Vec::new(),
            )
            .with("reason", "removed over SCIM"),
        );
    }
    tx.end_sessions(key)?;
    let changes = crate::plan::diff(&before, &after);
    events.push(AuditEvent::new(
        now,
        client,
        &after,
        AuditAction::ScimRemove,
        changes,
    ));
    tx.append_audit(events, None)?;
    Ok((Finish::Commit, Replaced::Saved(after)))
}

/// [`remove`] when the option `scim.delete` is `delete`: the user's
/// record, password, links, sessions and externalId go, under the
/// privilege rule and the last-administrator rule; the audit trail keeps
/// its fields ("Removed over SCIM", with `scim.delete: delete`).
fn delete(tx: &mut dyn WriteTx, before: User, by: Client<'_>) -> Done<Replaced> {
    privilege::check_change(by.actor, Act::Change, Some(&before), None)
        .map_err(|r| StoreError::Forbidden(r.to_string()))?;
    let key = before.key();
    tx.write_users(&[UserWrite {
        before: Some(&before),
        after: None,
    }])?;
    keep_an_active_admin(tx, privilege::removes_active_admin(Some(&before), None))?;
    tx.forget_credentials(key)?;
    tx.set_external_id(key, None)?;
    let event = AuditEvent::new(
        by.now,
        by.name,
        &before,
        AuditAction::ScimRemove,
        crate::audit::removed(&before),
    )
    .with("scim.delete", "delete");
    tx.append_audit(vec![event], None)?;
    Ok((Finish::Commit, Replaced::Saved(before)))
}

/// A POST for a user a client removed: written like a PUT, and active
/// again unless the body says not.
fn restore(
    tx: &mut dyn WriteTx,
    input: &ScimUserInput,
    before: User,
    by: Client<'_>,
) -> Done<User> {
    let Client {
        name: client,
        actor,
        now,
    } = by;
    let mut after = input
        .replace(&before)
        .map_err(|e| StoreError::Invalid(e.detail))?;
    after.end_state = input.end_state().unwrap_or(EndState::Active);
    after.held.deactivated_by = None;
    after.roles = before.roles;
    after.source = before.source;
    after.held.withheld_roles = before.held.withheld_roles;
    after.version = before.version;
    after.created_at = before.created_at;
    after.updated_at = before.updated_at;
    privilege::check_change(actor, Act::Change, Some(&before), Some(&after))
        .map_err(|r| StoreError::Forbidden(r.to_string()))?;
    replace_user(tx, &before, &mut after, now)?;
    tx.set_external_id(before.key(), input.external_id.as_deref())?;
    let changes = crate::plan::diff(&before, &after);
    let event = AuditEvent::new(now, client, &after, AuditAction::ScimCreate, changes);
    tx.append_audit(vec![event], None)?;
    Ok((Finish::Commit, after))
}

/// What a replace (PUT, PATCH, DELETE) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replaced {
    /// Written: the user as stored now.
    Saved(User),
    /// Nothing differs: nothing written.
    Unchanged(User),
    /// The client's `If-Match` names another version: nothing written.
    Stale(User),
}

/// Writes `after` (the stored user as the request leaves it, see
/// [`ScimUserInput::replace`]) and its `external_id` (none: cleared) over
/// the user `key`, if its version is still `if_version` (when the client
/// sent `If-Match`). A user a person
/// deactivated stays inactive whatever the client says (as with an
/// import); a deactivation ends the user's sessions and revokes its
/// sign-in links.
pub fn replace(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    mut after: User,
    external_id: Option<&str>,
    if_match: Option<&str>,
    by: Client<'_>,
) -> Done<Replaced> {
    let Client {
        name: client,
        actor,
        now,
    } = by;
    let before = stored_user(tx, key)?;
    if is_removed(&before) {
        return Err(StoreError::NotFound(key.to_string()));
    }
    if if_match.is_some_and(|m| !super::etag_matches(m, &before)) {
        return Ok((Finish::Abort, Replaced::Stale(before)));
    }
    if before.held.deactivated_by.is_some() {
        after.end_state = EndState::Inactive;
    }
    // Roles, source and decisions are not a provisioning client's to
    // change: only the profile and the end state move.
    after.roles = before.roles;
    after.source = before.source;
    after.held = before.held.clone();
    after.version = before.version;
    after.created_at = before.created_at;
    after.updated_at = before.updated_at;
    let new_external_id = tx.external_id(key)?.as_deref() != external_id;
    if after == before && !new_external_id {
        return Ok((Finish::Abort, Replaced::Unchanged(before)));
    }
    privilege::check_change(actor, Act::Change, Some(&before), Some(&after))
        .map_err(|r| StoreError::Forbidden(r.to_string()))?;
    // A new externalId alone is a new version too: the resource changed.
    replace_user(tx, &before, &mut after, now)?;
    if new_external_id {
        tx.set_external_id(key, external_id)?;
    }
    if after.end_state == EndState::Inactive && before.end_state == EndState::Active {
        tx.revoke_links(key)?;
        tx.end_sessions(key)?;
    }
    let changes = crate::plan::diff(&before, &after);
    let mut event = AuditEvent::new(now, client, &after, AuditAction::ScimUpdate, changes);
    if new_external_id {
        event = event.with("externalId", external_id.unwrap_or("(none)"));
    }
    tx.append_audit(vec![event], None)?;
    Ok((Finish::Commit, Replaced::Saved(after)))
}

/// A PATCH of a group's members: each user made a member of `role`'s
/// group or not, in one write transaction (all or nothing), each as a role
/// change by the client — under the privilege rule (only an
/// administrator's token changes roles), the last-administrator rule, and
/// with what a role change brings (links voided, sessions ended, audited).
/// An id that names no user (or one a client removed) refuses the whole
/// request.
pub fn set_members(
    tx: &mut dyn WriteTx,
    role: Role,
    membership: &super::Membership,
    by: Client<'_>,
) -> Done<usize> {
    let Client {
        name: client,
        actor,
        now,
    } = by;
    // Only an administrator changes roles: refused before any user is
    // read (the wiring refuses it before the transaction, too).
    if !actor.ranks_as_admin() {
        return Err(StoreError::Forbidden(
            privilege::Refusal::RolesNeedAdmin.to_string(),
        ));
    }
    let decided = membership
        .decided()
        .map_err(|e| StoreError::Invalid(e.detail))?;
    let mut changed = 0;
    for (key, member) in decided {
        let no_user = || StoreError::Invalid(super::group::no_user(&key).detail);
        let before = tx
            .user(&key)?
            .filter(|u| !is_removed(u))
            .ok_or_else(no_user)?;
        let mut after = before.clone();
        after.roles = if member {
            before.roles.with(role)
        } else {
            before.roles.without(Roles::of(&[role]))
        };
        if after.roles == before.roles {
            continue;
        }
        privilege::check_edit(actor, &before, &after)
            .map_err(|r| StoreError::Forbidden(r.to_string()))?;
        crate::usecase::write_edit(tx, &before, after, client, now)?;
        changed += 1;
    }
    let finish = if changed > 0 {
        Finish::Commit
    } else {
        Finish::Abort
    };
    Ok((finish, changed))
}

/// A store error as SCIM answers it.
pub fn scim_error(error: StoreError) -> ScimError {
    match error {
        StoreError::NotFound(m) => ScimError::new(404, None, m),
        StoreError::Conflict(m) => ScimError::uniqueness(m),
        StoreError::Forbidden(m) => ScimError::new(403, None, m),
        StoreError::Invalid(m) => ScimError::bad_request(ScimType::InvalidValue, m),
        StoreError::File(e) => ScimError::bad_request(ScimType::InvalidValue, e.to_string()),
        StoreError::Locked(_) | StoreError::Unavailable(_) => {
            ScimError::new(503, None, "The store is not available; try again later.")
        }
        StoreError::Backend(_) => {
            ScimError::new(500, None, "The store could not be read or written.")
        }
    }
}
