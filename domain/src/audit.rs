//! The audit trail: every change to a user, who made it, when, and what
//! changed (field by field, old → new; never a secret). The store appends
//! events in the same transaction as the change they describe.

use crate::field::Field;
use crate::plan::Change;
use crate::user::User;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    /// Created or updated by an import.
    Import,
    /// Created by manual input.
    ManualCreate,
    /// Removed or restored by the undo of a batch.
    Undo,
    /// Changed by the user on My profile.
    ProfileEdit,
    Deactivate,
    Activate,
    /// A password was set or changed (never the password itself).
    PasswordSet,
    /// A one-time sign-in link was made (never the link itself).
    SignInLinkMade,
}

impl AuditAction {
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Import => "Import",
            AuditAction::ManualCreate => "Manual input",
            AuditAction::Undo => "Undo",
            AuditAction::ProfileEdit => "Profile edit",
            AuditAction::Deactivate => "Deactivation",
            AuditAction::Activate => "Activation",
            AuditAction::PasswordSet => "Password set",
            AuditAction::SignInLinkMade => "Sign-in link made",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Set by the store: events are numbered in the order they happened.
    pub id: u64,
    /// Unix seconds.
    pub at: i64,
    /// Who made the change: an email, or `cli` for the command line.
    pub actor: String,
    /// The user changed (their email).
    pub target: String,
    pub action: AuditAction,
    pub changes: Vec<Change>,
    /// The batch that made the change (imports, manual input, undo).
    pub batch: Option<u64>,
}

impl AuditEvent {
    /// An event about `target`; `id` is set by the store.
    pub fn new(
        at: i64,
        actor: &str,
        target: &User,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> AuditEvent {
        AuditEvent {
            id: 0,
            at,
            actor: actor.to_string(),
            target: target.email.to_string(),
            action,
            changes,
            batch: None,
        }
    }
}

/// The changes that creating `user` makes: every field it has, from blank.
pub fn created(user: &User) -> Vec<Change> {
    let from_blank = |field: &str, new: String| Change {
        field: field.into(),
        old: String::new(),
        new,
    };
    let mut changes: Vec<Change> = Field::ALL
        .into_iter()
        .filter(|f| !user.field(*f).is_empty())
        .map(|f| from_blank(f.column(), user.field(f).to_string()))
        .collect();
    changes.push(from_blank("roles", user.roles.to_string()));
    changes.push(from_blank("end_state", user.end_state.to_string()));
    changes.push(from_blank("source", user.source.to_string()));
    changes
}

/// The changes that removing `user` makes: every field it had, to blank.
pub fn removed(user: &User) -> Vec<Change> {
    created(user)
        .into_iter()
        .map(|c| Change {
            field: c.field,
            old: c.new,
            new: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_user_lists_every_field_it_has_and_removal_reverses_it() {
        let plan = crate::plan::plan(
            b"email,first_name,last_name,title\nada@x.org,Ada,L,Countess\n",
            &crate::plan::NoUsers,
            &crate::Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        let ada = plan.creates().next().unwrap().1.clone();
        let c = created(&ada);
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "email",
                "first_name",
                "last_name",
                "display_name",
                "title",
                "roles",
                "end_state",
                "source"
            ]
        );
        assert!(c.iter().all(|c| c.old.is_empty()));
        let r = removed(&ada);
        assert!(r.iter().all(|c| c.new.is_empty()));
        assert_eq!(r[1].old, "Ada");
    }
}
