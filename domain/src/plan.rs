//! The import plan: what a users CSV would do to the store.
//!
//! The stages, one file each: `decode` (bytes → text) → `header` (columns)
//! → `rows` (`parse_file`: cells validated, duplicates marked) → `plan`
//! (`plan_parsed`: each valid row compared with the stored user of the same
//! key, the options and the privilege rule applied) → `fingerprint`. The
//! browser runs them for the preview and the server runs them again inside
//! its write transaction: equal fingerprints mean both saw the same thing.
//!
//! Here: the plan's types and the diff; `compare` plans rows against the
//! stored users, `sync` adds a sync's deactivations. The tests (`tests.rs`)
//! test the whole pipeline through `plan`, with property tests for its
//! invariants.

pub use crate::rows::{
    LISTED_WARNINGS, MAX_COLUMNS, PROGRESS_ROWS, ParsedFile, ParsedRow, parse_file,
    parse_file_with_progress,
};

mod compare;
mod sync;

pub use compare::{PlanHead, plan_each, plan_parsed};
pub use sync::{Deactivation, SyncPlan, SyncSettings, add_sync, plan_sync};

use crate::decode::TextEncoding;
use crate::email::{Email, UserKey};
use crate::error::{FileError, RowError};
use crate::field::Field;
use crate::options::Options;
use crate::privilege::Actor;
use crate::user::{Decided, EndState, Roles, User};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One field (or roles, end state, source) that an update changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Canonical column name, or `roles`, `end_state`, `source`.
    pub field: String,
    pub old: String,
    pub new: String,
}

impl Change {
    /// The changed field as a form labels it ("Title", "End state").
    pub fn label(&self) -> &str {
        match self.field.as_str() {
            "roles" => "Roles",
            "end_state" => "End state",
            "source" => "Source",
            column => crate::field::Field::from_column(column)
                .map(|f| f.label())
                .unwrap_or(column),
        }
    }

    /// "Title: Engineer → Manager", as a form's confirmation shows it.
    pub fn describe(&self) -> String {
        let show = |v: &str| {
            if v.is_empty() {
                "(blank)".to_string()
            } else {
                v.to_string()
            }
        };
        format!(
            "{}: {} → {}",
            self.label(),
            show(&self.old),
            show(&self.new)
        )
    }

    /// "title: Engineer → Manager; phone: (blank) → +41 1", as previews
    /// and histories show a change.
    pub fn describe_all(changes: &[Change]) -> String {
        let show = |v: &str| {
            if v.is_empty() {
                "(blank)".to_string()
            } else {
                v.to_string()
            }
        };
        changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, show(&c.old), show(&c.new)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a row does.
// Users are boxed: rows stay small (a Vec of 100k rows is moved and
// dropped as a whole), which measured faster than inline users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create(Box<User>),
    Update {
        before: Box<User>,
        after: Box<User>,
        changes: Vec<Change>,
    },
    /// The stored user already matches the row: its email, name and the
    /// stored version the plan was made against.
    Unchanged {
        email: Email,
        name: String,
        version: u64,
    },
    Invalid {
        email: String,
        errors: Vec<RowError>,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Update { .. } => "update",
            Action::Unchanged { .. } => "unchanged",
            Action::Invalid { .. } => "invalid",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRow {
    pub line: u64,
    pub action: Action,
    /// What the import would have changed but a person's decision holds
    /// back (empty for most rows).
    pub held_back: Vec<HeldBack>,
}

/// A change an import does not make because a person decided otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeldBack {
    /// Deactivated by a person: the import leaves the user inactive.
    StaysInactive(Decided),
    /// Roles an administrator removed: the import does not add them.
    RolesWithheld(Roles),
}

impl HeldBack {
    /// As the preview and the result say it.
    pub fn describe(&self) -> String {
        match self {
            HeldBack::StaysInactive(d) => format!(
                "stays inactive (deactivated by {} on {})",
                d.by,
                crate::time::rfc3339(d.at)
            ),
            HeldBack::RolesWithheld(roles) => format!("role withheld: {roles}"),
        }
    }

    /// What the import holds back for `before`: a person's deactivation
    /// when the import would activate, roles an administrator removed
    /// that the import would add.
    pub fn of(before: &User, options: &Options) -> Vec<HeldBack> {
        let mut out = Vec::new();
        if let Some(d) = &before.held.deactivated_by
            && options.end_state == EndState::Active
        {
            out.push(HeldBack::StaysInactive(d.clone()));
        }
        let withheld = options
            .roles
            .without(before.roles)
            .both(before.held.withheld_roles);
        if !withheld.is_empty() {
            out.push(HeldBack::RolesWithheld(withheld));
        }
        out
    }

    /// Every note of a row, joined ("" when none).
    pub fn describe_all(held: &[HeldBack]) -> String {
        held.iter()
            .map(HeldBack::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The roles an import leaves `before` with: the options' roles added,
/// but not those an administrator took away.
pub fn roles_after_import(before: &User, options: &Options) -> Roles {
    before
        .roles
        .union(options.roles.without(before.held.withheld_roles))
}

/// The end state an import leaves `before` in: the options' end state,
/// unless a person deactivated the user.
pub fn end_state_after_import(before: &User, options: &Options) -> EndState {
    if before.held.deactivated_by.is_some() {
        before.end_state
    } else {
        options.end_state
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: u64,
    pub update: u64,
    pub unchanged: u64,
    pub invalid: u64,
    /// Users a sync deactivates (not rows of the file). Not serialised:
    /// counts are part of stored batches and approval requests, whose
    /// layout stays as it is; a batch's deactivations are its audit events
    /// and before-images.
    #[serde(skip)]
    pub deactivate: u64,
}

impl Counts {
    /// The file's rows (deactivations are not rows).
    pub fn total(&self) -> u64 {
        self.create + self.update + self.unchanged + self.invalid
    }

    /// Users the plan writes: created, updated and deactivated.
    pub fn writes(&self) -> u64 {
        self.create + self.update + self.deactivate
    }
}

/// The whole plan of an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan {
    pub encoding: TextEncoding,
    /// The delimiter, as a character.
    pub delimiter: char,
    /// (header as found, canonical column) for every used column.
    pub mapped: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub rows: Vec<PlannedRow>,
    pub counts: Counts,
    /// SHA-256 over what the plan would write and what it was based on
    /// (stored versions): equal fingerprints mean equal plans.
    pub fingerprint: String,
    /// A sync's deactivations (`None` for an ordinary import).
    #[serde(default)]
    pub sync: Option<SyncPlan>,
}

impl ImportPlan {
    pub fn creates(&self) -> impl Iterator<Item = (u64, &User)> {
        self.rows.iter().filter_map(|r| match &r.action {
            Action::Create(u) => Some((r.line, &**u)),
            _ => None,
        })
    }

    pub fn updates(&self) -> impl Iterator<Item = (u64, &User, &User, &[Change])> {
        self.rows.iter().filter_map(|r| match &r.action {
            Action::Update {
                before,
                after,
                changes,
            } => Some((r.line, &**before, &**after, changes.as_slice())),
            _ => None,
        })
    }

    pub fn invalid(&self) -> impl Iterator<Item = (u64, &str, &[RowError])> {
        self.rows.iter().filter_map(|r| match &r.action {
            Action::Invalid { email, errors } => Some((r.line, email.as_str(), errors.as_slice())),
            _ => None,
        })
    }

    /// Every row error, in file order.
    pub fn errors(&self) -> impl Iterator<Item = &RowError> {
        self.invalid().flat_map(|(_, _, e)| e.iter())
    }
}

/// Stored users by key, as a plan looks them up (once a row): a fast
/// hasher, seeded per map, so a file cannot be prepared in advance to make
/// its keys collide (foldhash's protection is minimal, not
/// cryptographic).
pub type UsersByKey = HashMap<UserKey, User, foldhash::fast::RandomState>;

/// The stored users a plan is compared with.
pub trait ExistingUsers {
    fn get(&self, key: &UserKey) -> Option<&User>;
}

impl<S: std::hash::BuildHasher> ExistingUsers for HashMap<UserKey, User, S> {
    fn get(&self, key: &UserKey) -> Option<&User> {
        HashMap::get(self, key)
    }
}

/// No stored users (a fresh store).
pub struct NoUsers;

impl ExistingUsers for NoUsers {
    fn get(&self, _: &UserKey) -> Option<&User> {
        None
    }
}

/// The differences between two versions of a user, field by field, then
/// roles, end state and source.
pub fn diff(before: &User, after: &User) -> Vec<Change> {
    let mut changes = Vec::new();
    for field in Field::ALL {
        let (old, new) = (before.field(field), after.field(field));
        if old != new {
            changes.push(Change {
                field: field.column().into(),
                old: old.into(),
                new: new.into(),
            });
        }
    }
    if before.roles != after.roles {
        changes.push(Change {
            field: "roles".into(),
            old: before.roles.to_string(),
            new: after.roles.to_string(),
        });
    }
    if before.end_state != after.end_state {
        changes.push(Change {
            field: "end_state".into(),
            old: before.end_state.to_string(),
            new: after.end_state.to_string(),
        });
    }
    if before.source != after.source {
        changes.push(Change {
            field: "source".into(),
            old: before.source.to_string(),
            new: after.source.to_string(),
        });
    }
    changes
}

/// Decodes, validates and plans a file in one call.
pub fn plan(
    bytes: &[u8],
    existing: &dyn ExistingUsers,
    options: &Options,
    actor: Actor,
) -> Result<ImportPlan, FileError> {
    Ok(plan_parsed(
        parse_file(bytes, options)?,
        existing,
        options,
        actor,
    ))
}

#[cfg(test)]
mod tests;
