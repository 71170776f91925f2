//! The audit trail: every change to a user, who made it, when, and what
//! changed (field by field, old → new; never a secret). The store appends
//! events in the same transaction as the change they describe.

use crate::field::Field;
use crate::plan::Change;
use crate::user::User;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

pub mod batch;
pub mod derived;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    /// Created or updated by an import; also an import's head event (one
    /// a batch, see [`batch`]).
    Import,
    /// Created by manual input.
    ManualCreate,
    /// Removed or restored by the undo of a batch; also the undo's head
    /// event.
    Undo,
    /// Changed by the user on My profile.
    ProfileEdit,
    Deactivate,
    Activate,
    /// A password was set or changed (never the password itself).
    PasswordSet,
    /// A one-time sign-in link was made (never the link itself).
    SignInLinkMade,
    /// Profile fields changed by an operator on the user's page.
    OperatorEdit,
    /// Roles changed by an administrator on the user's page.
    RoleChange,
    // Security events. Stored events name their action by its position
    // in this declaration (postcard's variant index; `ALL` below is the
    // display order): new actions are appended, never inserted.
    /// A successful sign-in.
    SignIn,
    /// A refused sign-in (unknown account, wrong password, inactive).
    SignInFailed,
    /// A sign-in refused by the throttle before any password was checked.
    SignInThrottled,
    /// A sign-in link was used to set a password.
    SignInLinkUsed,
    /// The user's earlier sign-in links were revoked (a new link, a role
    /// change).
    SignInLinksRevoked,
    /// Options changed by an administrator or the command line.
    OptionsChanged,
    /// An import above the threshold was sent for approval.
    ApprovalSent,
    /// An import waiting for approval was approved (and written).
    Approved,
    /// An import waiting for approval was rejected.
    Rejected,
    /// A password was removed (set through a link of someone who now
    /// ranks below the user).
    PasswordRemoved,
    /// An API token was made (never its secret); the target is the
    /// token's `token:<name>`.
    TokenCreated,
    /// An API token was revoked.
    TokenRevoked,
    /// Created by a provisioning client over SCIM (actor `token:NAME`).
    ScimCreate,
    /// Changed (fields, end state) by a provisioning client over SCIM.
    ScimUpdate,
    /// Removed by a provisioning client (SCIM DELETE): deactivated in
    /// Roster, gone for the client.
    ScimRemove,
    /// A mail with a sign-in (or reset) link went out to the user.
    SignInLinkEmailed,
    /// Someone asked "Forgot password?" for the user's address (a reset
    /// link was queued).
    PasswordResetRequested,
}

impl AuditAction {
    pub const ALL: [AuditAction; 27] = [
        AuditAction::Import,
        AuditAction::ManualCreate,
        AuditAction::ScimCreate,
        AuditAction::ScimUpdate,
        AuditAction::ScimRemove,
        AuditAction::Undo,
        AuditAction::ProfileEdit,
        AuditAction::OperatorEdit,
        AuditAction::RoleChange,
        AuditAction::Deactivate,
        AuditAction::Activate,
        AuditAction::PasswordSet,
        AuditAction::PasswordRemoved,
        AuditAction::SignInLinkMade,
        AuditAction::SignInLinkUsed,
        AuditAction::SignInLinksRevoked,
        AuditAction::SignInLinkEmailed,
        AuditAction::PasswordResetRequested,
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignInThrottled,
        AuditAction::OptionsChanged,
        AuditAction::ApprovalSent,
        AuditAction::Approved,
        AuditAction::Rejected,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
    ];

    /// A security event (who may act, sign in, decide): these carry the
    /// client address when a request caused them. Changes of records
    /// (imports, edits) do not, so that an import of many users stores
    /// nothing more per user.
    pub fn is_security(self) -> bool {
        use AuditAction::*;
        !matches!(
            self,
            Import
                | ManualCreate
                | Undo
                | ProfileEdit
                | OperatorEdit
                | ScimCreate
                | ScimUpdate
                | ScimRemove
        )
    }

    /// A short stable name (CLI filters, the Audit log's address).
    pub fn key(self) -> &'static str {
        match self {
            AuditAction::Import => "import",
            AuditAction::ManualCreate => "manual-create",
            AuditAction::Undo => "undo",
            AuditAction::ProfileEdit => "profile-edit",
            AuditAction::OperatorEdit => "edit",
            AuditAction::RoleChange => "role-change",
            AuditAction::Deactivate => "deactivate",
            AuditAction::Activate => "activate",
            AuditAction::PasswordSet => "password-set",
            AuditAction::SignInLinkMade => "sign-in-link",
            AuditAction::SignIn => "sign-in",
            AuditAction::SignInFailed => "sign-in-failed",
            AuditAction::SignInThrottled => "sign-in-throttled",
            AuditAction::SignInLinkUsed => "sign-in-link-used",
            AuditAction::SignInLinksRevoked => "sign-in-links-revoked",
            AuditAction::OptionsChanged => "options",
            AuditAction::ApprovalSent => "approval-sent",
            AuditAction::Approved => "approved",
            AuditAction::Rejected => "rejected",
            AuditAction::PasswordRemoved => "password-removed",
            AuditAction::TokenCreated => "token-created",
            AuditAction::TokenRevoked => "token-revoked",
            AuditAction::ScimCreate => "scim-create",
            AuditAction::ScimUpdate => "scim-update",
            AuditAction::ScimRemove => "scim-remove",
            AuditAction::SignInLinkEmailed => "sign-in-link-emailed",
            AuditAction::PasswordResetRequested => "password-reset-requested",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.key() == s.trim())
    }

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
            AuditAction::OperatorEdit => "Edit",
            AuditAction::RoleChange => "Role change",
            AuditAction::SignIn => "Sign-in",
            AuditAction::SignInFailed => "Sign-in failed",
            AuditAction::SignInThrottled => "Sign-in throttled",
            AuditAction::SignInLinkUsed => "Sign-in link used",
            AuditAction::SignInLinksRevoked => "Sign-in links revoked",
            AuditAction::OptionsChanged => "Options changed",
            AuditAction::ApprovalSent => "Sent for approval",
            AuditAction::Approved => "Approved",
            AuditAction::Rejected => "Rejected",
            AuditAction::PasswordRemoved => "Password removed",
            AuditAction::TokenCreated => "API token created",
            AuditAction::TokenRevoked => "API token revoked",
            AuditAction::ScimCreate => "Created over SCIM",
            AuditAction::ScimUpdate => "Changed over SCIM",
            AuditAction::ScimRemove => "Removed over SCIM",
            AuditAction::SignInLinkEmailed => "Sign-in link emailed",
            AuditAction::PasswordResetRequested => "Password reset requested",
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

std::thread_local! {
    /// The client address of the request being served on this thread (see
    /// [`from_client`]).
    static CLIENT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `work` so that every audit event made meanwhile on this thread
/// carries `client` (the address of the request that caused it) as a
/// "client" fact: the web app runs its store calls this way, so that the
/// use cases need not pass the address through every signature. Events
/// made elsewhere (the command line) carry none.
pub fn from_client<T>(client: Option<String>, work: impl FnOnce() -> T) -> T {
    let before = CLIENT.with(|c| c.replace(client));
    let answer = work();
    CLIENT.with(|c| *c.borrow_mut() = before);
    answer
}

/// The "client" fact of events made now, if a request is being served.
fn current_client() -> Vec<Change> {
    CLIENT.with(|c| {
        c.borrow()
            .as_ref()
            .map(|ip| Change {
                field: "client".into(),
                old: String::new(),
                new: ip.clone(),
            })
            .into_iter()
            .collect()
    })
}

impl AuditEvent {
    /// An event about something other than one stored user (a sign-in with
    /// the address as typed, the options); `id` is set by the store.
    pub fn about(
        at: i64,
        actor: impl fmt::Display,
        target: &str,
        action: AuditAction,
    ) -> AuditEvent {
        AuditEvent {
            id: 0,
            at,
            actor: actor.to_string(),
            target: target.chars().take(254).collect(),
            action,
            changes: current_client(),
            batch: None,
        }
    }

    /// Adds a fact shown beside the changes (the client's address, the
    /// outcome): a change from nothing to `value`.
    pub fn with(mut self, field: &str, value: impl Into<String>) -> AuditEvent {
        self.changes.push(Change {
            field: field.to_string(),
            old: String::new(),
            new: value.into(),
        });
        self
    }

    /// Whether the actor of this event gained a hold over its target: made
    /// it, gave it roles or a sign-in link, activated it, set its
    /// password. Edits of profile fields and deactivations give none.
    /// (Independence of an approver is judged by these.)
    pub fn gives_control(&self) -> bool {
        use AuditAction::*;
        match self.action {
            ManualCreate | SignInLinkMade | Activate | RoleChange | PasswordSet => true,
            // Made, given roles or activated by an import or an undo (a
            // deactivation gives no hold).
            Import | Undo => self.changes.iter().any(|c| {
                c.field == "roles"
                    || (c.field == "end_state" && c.new == crate::EndState::Active.to_string())
            }),
            _ => false,
        }
    }

    /// Whether this event gave its target the Approval role.
    pub fn grants_approval(&self) -> bool {
        let has = |text: &str| text.split(", ").any(|r| r == crate::Role::Approval.label());
        self.changes
            .iter()
            .any(|c| c.field == "roles" && has(&c.new) && !has(&c.old))
    }
}

impl AuditEvent {
    /// An event about `target`; `id` is set by the store.
    pub fn new(
        at: i64,
        actor: impl fmt::Display,
        target: &User,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> AuditEvent {
        let mut changes = changes;
        if action.is_security() {
            changes.extend(current_client());
        }
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

    /// The key of the user the event is about (what an engine indexes
    /// events by): the target's lower-cased address.
    pub fn target_key(&self) -> String {
        crate::Email::parse(&self.target)
            .map(|e| e.key().to_string())
            .unwrap_or_else(|_| self.target.clone())
    }
}

/// A filter over the audit trail (the Audit log page, `roster audit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Part of the actor's email (or `cli`), any case.
    pub actor: String,
    /// Part of the changed user's email, any case.
    pub target: String,
    pub action: Option<AuditAction>,
    /// From 0, newest first.
    pub page: u32,
    /// The id of a batch's head event: the batch's per-user events only
    /// (see [`batch`]).
    #[serde(default)]
    pub within: Option<u64>,
}

/// Events of one page of the Audit log.
pub const AUDIT_PAGE_SIZE: u32 = 50;

impl AuditQuery {
    /// A query from the Audit log's address parameters (`actor`, `target`,
    /// `action`, `page`); malformed values mean "any".
    pub fn from_params<'a>(get: impl Fn(&str) -> Option<&'a str>) -> AuditQuery {
        let text = |k| {
            get(k)
                .unwrap_or_default()
                .trim()
                .chars()
                .take(254)
                .collect::<String>()
        };
        AuditQuery {
            actor: text("actor"),
            target: text("target"),
            action: get("action").and_then(AuditAction::parse),
            page: get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
            within: get("within").and_then(|p| p.parse().ok()),
        }
    }

    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.actor.is_empty() {
            out.push(("actor", self.actor.clone()));
        }
        if !self.target.is_empty() {
            out.push(("target", self.target.clone()));
        }
        if let Some(a) = self.action {
            out.push(("action", a.key().to_string()));
        }
        if let Some(head) = self.within {
            out.push(("within", head.to_string()));
        }
        if self.page > 0 {
            out.push(("page", self.page.to_string()));
        }
        out
    }

    pub fn accepts(&self, event: &AuditEvent) -> bool {
        let has = |text: &str, part: &str| {
            part.is_empty() || text.to_lowercase().contains(&part.to_lowercase())
        };
        self.action.is_none_or(|a| a == event.action)
            && has(&event.actor, &self.actor)
            && has(&event.target, &self.target)
    }
}

/// One page of the audit trail, and whether older events follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub more: bool,
}

impl AuditEvent {
    /// "Import (batch 3)", "Edit": what happened, as tables show it.
    pub fn what(&self) -> String {
        match self.batch {
            Some(b) => format!("{} (batch {b})", self.action.label()),
            None => self.action.label().to_string(),
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

/// The names a stored change refers to by number (its position here).
/// Append only: stored events hold these numbers.
const STORED_FIELD_NAMES: [&str; 17] = [
    "email",
    "first_name",
    "last_name",
    "display_name",
    "phone",
    "mobile",
    "employee_number",
    "title",
    "department",
    "organization",
    "roles",
    "end_state",
    "source",
    "client",
    "outcome",
    "reason",
    derived::MARK,
];

/// An audit event as the engines store it: the same facts in fewer bytes.
/// The id is the record's key and is not repeated; a change names its
/// field by number. A created user's event lists every field, and the
/// names were a third of it (100 000 imported users: 30.8 MB of events).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent<'a> {
    at: i64,
    actor: Cow<'a, str>,
    target: Cow<'a, str>,
    action: AuditAction,
    changes: Vec<StoredChange<'a>>,
    batch: Option<u64>,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredChange<'a> {
    field: StoredField<'a>,
    old: Cow<'a, str>,
    new: Cow<'a, str>,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
enum StoredField<'a> {
    /// A position in [`STORED_FIELD_NAMES`].
    Known(u8),
    Other(Cow<'a, str>),
}

impl<'a> StoredEvent<'a> {
    /// `event` to store (borrowed: nothing is copied).
    pub fn of(event: &'a AuditEvent) -> StoredEvent<'a> {
        StoredEvent {
            at: event.at,
            actor: Cow::Borrowed(&event.actor),
            target: Cow::Borrowed(&event.target),
            action: event.action,
            changes: event
                .changes
                .iter()
                .map(|c| StoredChange {
                    field: match STORED_FIELD_NAMES.iter().position(|n| *n == c.field) {
                        Some(i) => StoredField::Known(i as u8),
                        None => StoredField::Other(Cow::Borrowed(&c.field)),
                    },
                    old: Cow::Borrowed(&c.old),
                    new: Cow::Borrowed(&c.new),
                })
                .collect(),
            batch: event.batch,
        }
    }

    /// The event stored under `id`; `None` when a change's field number
    /// is unknown (a record this code did not write).
    pub fn into_event(self, id: u64) -> Option<AuditEvent> {
        let changes = self
            .changes
            .into_iter()
            .map(|c| {
                let field = match c.field {
                    StoredField::Known(i) => STORED_FIELD_NAMES.get(i as usize)?.to_string(),
                    StoredField::Other(name) => name.into_owned(),
                };
                Some(Change {
                    field,
                    old: c.old.into_owned(),
                    new: c.new.into_owned(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(AuditEvent {
            id,
            at: self.at,
            actor: self.actor.into_owned(),
            target: self.target.into_owned(),
            action: self.action,
            changes,
            batch: self.batch,
        })
    }
}

#[cfg(test)]
mod tests;
