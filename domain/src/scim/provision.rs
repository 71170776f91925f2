//! SCIM writes as use cases in one write transaction: the same rules as
//! every other way a user is written — the field rules (already applied
//! by [`ScimUserInput`]), the privilege rule for the client's authority,
//! the last-administrator rule, a person's deactivation standing, the
//! audit trail (actor `token:NAME`), and deactivation ending the user's
//! sessions and sign-in links.

use super::{ScimError, ScimType, ScimUserInput};
use crate::audit::{AuditAction, AuditEvent};
use crate::privilege::{self, Act};
use crate::store::StoreError;
use crate::transaction::{Finish, WriteTx};
use crate::usecase::{Channel, Done, create_user_by, replace_user, stored_user};
use crate::{Actor, EndState, Role, Roles, Source, User, UserKey};

/// Creates the user a POST describes: Source = SCIM, Self-Service only
/// (a machine's say-so gives nobody power: an administrator grants
/// Operator or Approval), active unless the body says not.
pub fn create(
    tx: &mut dyn WriteTx,
    input: &ScimUserInput,
    client: &str,
    actor: Actor,
    now: i64,
) -> Done<User> {
    let user = input.new_user(Roles::of(&[Role::SelfService]), Source::Scim);
    let key = user.key().clone();
    let (finish, _) = create_user_by(tx, user, Channel::Scim, client, actor, now)?;
    Ok((finish, stored_user(tx, &key)?))
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
/// [`ScimUserInput::replace`]) over the user `key`, if its version is
/// still `if_version` (when the client sent `If-Match`). A user a person
/// deactivated stays inactive whatever the client says (as with an
/// import); a deactivation ends the user's sessions and revokes its
/// sign-in links.
pub fn replace(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    mut after: User,
    if_match: Option<&str>,
    client: &str,
    actor: Actor,
    now: i64,
) -> Done<Replaced> {
    let before = stored_user(tx, key)?;
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
    if after == before {
        return Ok((Finish::Abort, Replaced::Unchanged(before)));
    }
    privilege::check_change(actor, Act::Change, Some(&before), Some(&after))
        .map_err(|r| StoreError::Forbidden(r.to_string()))?;
    replace_user(tx, &before, &mut after, now)?;
    if after.end_state == EndState::Inactive && before.end_state == EndState::Active {
        tx.revoke_links(key.as_str())?;
        tx.end_sessions(key.as_str())?;
    }
    let changes = crate::plan::diff(&before, &after);
    let event = AuditEvent::new(now, client, &after, AuditAction::ScimUpdate, changes);
    tx.append_audit(vec![event], None)?;
    Ok((Finish::Commit, Replaced::Saved(after)))
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
