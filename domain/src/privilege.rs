//! Who may act on whom: the privilege rule.
//!
//! Every user has a rank, from the highest role held: Admin > Operator >
//! Self-Service (Approval alone ranks as Self-Service: it grants no power
//! over other users' records). An actor may change, deactivate, undo
//! changes to, approve changes to, or make a sign-in link for a user only
//! if the actor's rank is at least the user's rank both before and after
//! the change — so an Operator never touches an Admin, and never makes one.
//! A sign-in link for a user who already has a password is a password
//! reset, and needs an Admin. The command line runs with the machine
//! owner's authority ([`Actor::Owner`]) and is not limited by rank.
//!
//! Separately, no change may leave the store without an active Admin
//! ([`removes_active_admin`] tells the store when it must look).

use crate::user::{EndState, Role, Roles, User};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's standing, from the highest role held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rank {
    SelfService,
    Operator,
    Admin,
}

impl Rank {
    pub fn of(roles: Roles) -> Rank {
        if roles.contains(Role::Admin) {
            Rank::Admin
        } else if roles.contains(Role::Operator) {
            Rank::Operator
        } else {
            Rank::SelfService
        }
    }
}

/// Who asks for a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// The machine owner, through the command line: not limited by rank.
    Owner,
    /// A signed-in user with these roles.
    User(Roles),
}

impl Actor {
    fn rank(self) -> Rank {
        match self {
            Actor::Owner => Rank::Admin,
            Actor::User(roles) => Rank::of(roles),
        }
    }

    fn is_owner(self) -> bool {
        matches!(self, Actor::Owner)
    }

    /// The machine owner, or a user with the Admin role: who may confirm
    /// what the rules hold back for administrators (a sync above the
    /// safety valve, API tokens).
    pub fn ranks_as_admin(self) -> bool {
        self.rank() == Rank::Admin
    }
}

/// What the actor wants to do to a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Create, edit, import over, deactivate or activate.
    Change,
    /// Undo an earlier change.
    Undo,
    /// Approve someone else's change.
    Approve,
    /// Make a one-time sign-in link; `has_password` makes it a reset.
    SignInLink { has_password: bool },
}

/// Why the rule refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The user is (or would become) an Admin and the actor is not.
    AdminOnly,
    /// The user is (or would become) an Operator and the actor is below.
    OutRanked,
    /// A sign-in link for a user with a password (a reset) needs an Admin.
    ResetNeedsAdmin,
    /// Roles are given or taken on the user's page by an Admin only.
    RolesNeedAdmin,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::AdminOnly => "administrators can only be changed by an administrator",
            Refusal::OutRanked => {
                "operators can only be changed by an operator or an administrator"
            }
            Refusal::ResetNeedsAdmin => {
                "this user has a password already: a new sign-in link would reset it, \
                 which only an administrator may do"
            }
            Refusal::RolesNeedAdmin => "only an administrator may change a user's roles",
        })
    }
}

impl std::error::Error for Refusal {}

/// The privilege rule. `before` is the user's roles now (`None`: the user
/// does not exist yet); `after` the roles the change would leave (`None`:
/// unchanged or removed).
pub fn check(
    actor: Actor,
    act: Act,
    before: Option<Roles>,
    after: Option<Roles>,
) -> Result<(), Refusal> {
    if actor.is_owner() {
        return Ok(());
    }
    let target = before
        .into_iter()
        .chain(after)
        .map(Rank::of)
        .max()
        .unwrap_or(Rank::SelfService);
    if target > actor.rank() {
        return Err(match target {
            Rank::Admin => Refusal::AdminOnly,
            _ => Refusal::OutRanked,
        });
    }
    if act == (Act::SignInLink { has_password: true }) && actor.rank() < Rank::Admin {
        return Err(Refusal::ResetNeedsAdmin);
    }
    Ok(())
}

/// [`check`] for a change from one stored state of a user to another
/// (`None`: absent).
pub fn check_change(
    actor: Actor,
    act: Act,
    before: Option<&User>,
    after: Option<&User>,
) -> Result<(), Refusal> {
    check(actor, act, before.map(|u| u.roles), after.map(|u| u.roles))
}

/// An edit on the user's page: the privilege rule, and roles change only
/// by an administrator (or the machine owner). An import adds the roles
/// the administrator configured; that is not a role change by the actor.
pub fn check_edit(actor: Actor, before: &User, after: &User) -> Result<(), Refusal> {
    check_change(actor, Act::Change, Some(before), Some(after))?;
    if before.roles != after.roles && actor.rank() < Rank::Admin {
        return Err(Refusal::RolesNeedAdmin);
    }
    Ok(())
}

/// Whether a user counts as an active administrator.
pub fn is_active_admin(user: &User) -> bool {
    user.roles.contains(Role::Admin) && user.end_state == EndState::Active
}

/// Whether going from `before` to `after` takes away an active
/// administrator: then the store must make sure another one remains.
pub fn removes_active_admin(before: Option<&User>, after: Option<&User>) -> bool {
    before.is_some_and(is_active_admin) && !after.is_some_and(is_active_admin)
}

/// The message when a change would leave no active administrator.
pub const LAST_ADMIN: &str = "this change would leave no active administrator: \
     make another user an active administrator first";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::Role::*;

    fn roles(r: &[Role]) -> Roles {
        Roles::of(r)
    }

    #[test]
    fn rank_comes_from_the_highest_role() {
        assert_eq!(Rank::of(roles(&[SelfService])), Rank::SelfService);
        assert_eq!(Rank::of(roles(&[Approval])), Rank::SelfService);
        assert_eq!(
            Rank::of(roles(&[SelfService, Operator, Approval])),
            Rank::Operator
        );
        assert_eq!(Rank::of(roles(&[Admin])), Rank::Admin);
        assert_eq!(Rank::of(Roles::EMPTY), Rank::SelfService);
    }

    /// The whole table: actor rank × target rank × act.
    #[test]
    fn privilege_table() {
        let admin = roles(&[Admin]);
        let op = roles(&[SelfService, Operator, Approval]);
        let me = roles(&[SelfService]);
        let approver = roles(&[SelfService, Approval]);
        use Refusal::*;
        let acts = [
            Act::Change,
            Act::Undo,
            Act::Approve,
            Act::SignInLink {
                has_password: false,
            },
        ];
        // (actor, target, expected for every act but a reset link)
        let table: [(Roles, Roles, Result<(), Refusal>); 12] = [
            (admin, admin, Ok(())),
            (admin, op, Ok(())),
            (admin, me, Ok(())),
            (op, admin, Err(AdminOnly)),
            (op, op, Ok(())),
            (op, me, Ok(())),
            (op, approver, Ok(())),
            (me, admin, Err(AdminOnly)),
            (me, op, Err(OutRanked)),
            (me, me, Ok(())),
            (approver, op, Err(OutRanked)),
            (approver, approver, Ok(())),
        ];
        for (actor, target, expected) in table {
            for act in acts {
                assert_eq!(
                    check(Actor::User(actor), act, Some(target), None),
                    expected,
                    "{actor} on {target}: {act:?}"
                );
            }
            // A reset link: only an Admin, and only where the rank allows.
            let reset = check(
                Actor::User(actor),
                Act::SignInLink { has_password: true },
                Some(target),
                None,
            );
            let expected_reset = match expected {
                Err(e) => Err(e),
                Ok(()) if Rank::of(actor) == Rank::Admin => Ok(()),
                Ok(()) => Err(ResetNeedsAdmin),
            };
            assert_eq!(reset, expected_reset, "{actor} resets {target}");
            // The owner (command line) may do everything.
            for act in acts {
                assert_eq!(check(Actor::Owner, act, Some(target), None), Ok(()));
            }
        }
    }

    #[test]
    fn the_state_after_the_change_counts_too() {
        let op = Actor::User(roles(&[Operator]));
        let me = roles(&[SelfService]);
        assert_eq!(
            check(
                op,
                Act::Change,
                Some(me),
                Some(roles(&[SelfService, Admin]))
            ),
            Err(Refusal::AdminOnly),
            "an operator never makes an administrator"
        );
        assert_eq!(
            check(op, Act::Change, None, Some(roles(&[Admin]))),
            Err(Refusal::AdminOnly),
            "nor creates one"
        );
        assert_eq!(check(op, Act::Change, None, Some(me)), Ok(()));
        assert_eq!(
            check(
                Actor::User(roles(&[Admin])),
                Act::Change,
                None,
                Some(roles(&[Admin]))
            ),
            Ok(())
        );
    }

    #[test]
    fn losing_an_active_admin_is_noticed() {
        let plan = crate::plan::plan(
            b"email,first_name,last_name\na@x.org,A,B\n",
            &crate::plan::NoUsers,
            &crate::Options::default(),
            Actor::Owner,
        )
        .unwrap();
        let mut admin = plan.creates().next().unwrap().1.clone();
        admin.roles = roles(&[Admin]);
        let mut inactive = admin.clone();
        inactive.end_state = EndState::Inactive;
        let mut demoted = admin.clone();
        demoted.roles = roles(&[Operator]);
        assert!(removes_active_admin(Some(&admin), None));
        assert!(removes_active_admin(Some(&admin), Some(&inactive)));
        assert!(removes_active_admin(Some(&admin), Some(&demoted)));
        assert!(!removes_active_admin(Some(&admin), Some(&admin)));
        assert!(!removes_active_admin(Some(&inactive), None));
        assert!(!removes_active_admin(None, Some(&admin)));
    }
}
