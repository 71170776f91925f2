//! Events whose changes are derived, not stored. An import that creates a
//! user used to store every value of the new user in the user's event
//! (about 150 of the ~240 bytes an imported user cost the audit trail).
//! It now stores the event with a mark in place of its changes, and the
//! values are read back from the store when the event is shown.
//!
//! The values a created user had are the user's values now, with every
//! later change of the user undone: each event that changes a user
//! records the old value of every field it changes (see
//! [`crate::plan::diff`]), so walking the user's History from the newest
//! event back to the creation takes the record back to what the import
//! wrote. [`fill_history`] does that walk; [`fill_listed`] does it for
//! events listed elsewhere (the Audit log, its export).

use super::{AuditAction, AuditEvent};
use crate::field::Field;
use crate::plan::Change;
use crate::user::User;
use std::collections::HashMap;

/// The field of the one change a marked event stores.
pub const MARK: &str = "derived";

/// The values a record has that History lists: the fields in their
/// order, then roles, end state and source (as [`super::created`] lists
/// them).
const TRACKED: usize = Field::ALL.len() + 3;

fn tracked(name: &str) -> Option<usize> {
    Field::ALL
        .iter()
        .position(|f| f.column() == name)
        .or(match name {
            "roles" => Some(Field::ALL.len()),
            "end_state" => Some(Field::ALL.len() + 1),
            "source" => Some(Field::ALL.len() + 2),
            _ => None,
        })
}

fn name(index: usize) -> &'static str {
    match Field::ALL.get(index) {
        Some(f) => f.column(),
        None => ["roles", "end_state", "source"][index - Field::ALL.len()],
    }
}

/// A record's tracked values as text.
type Values = [String; TRACKED];

fn values_of(user: &User) -> Values {
    let mut values: Values = Default::default();
    for change in super::created(user) {
        if let Some(i) = tracked(&change.field) {
            values[i] = change.new;
        }
    }
    values
}

/// What creating a record with `values` changed: [`super::created`] of it.
fn created_from(values: &Values) -> Vec<Change> {
    values
        .iter()
        .enumerate()
        .filter(|(i, v)| *i >= Field::ALL.len() || !v.is_empty())
        .map(|(i, v)| Change {
            field: name(i).into(),
            old: String::new(),
            new: v.clone(),
        })
        .collect()
}

impl AuditEvent {
    /// The event of a user created by an import, `changes` left to derive.
    pub fn created_by_import(at: i64, operator: impl std::fmt::Display, user: &User) -> AuditEvent {
        let mark = Change {
            field: MARK.into(),
            old: String::new(),
            new: String::new(),
        };
        AuditEvent::new(at, operator, user, AuditAction::Import, vec![mark])
    }

    /// Whether this event's changes are still to be derived.
    pub fn is_marked(&self) -> bool {
        matches!(self.changes.as_slice(), [c] if c.field == MARK)
    }
}

/// Fills the marked events of one user's History (`history`, newest
/// first) from `current`, the user as stored now (`None`: not stored).
/// A marked event whose values cannot be known (the user is gone and no
/// later event says what it held) is left with no changes.
pub fn fill_history(history: &mut [AuditEvent], current: Option<&User>) {
    // The tracked values after the event looked at; `None`: no record.
    let mut after: Option<Values> = current.map(values_of);
    for event in history.iter_mut() {
        if event.is_marked() {
            event.changes = after.as_ref().map(created_from).unwrap_or_default();
            after = None;
            continue;
        }
        let mut changed = false;
        for change in &event.changes {
            if let Some(i) = tracked(&change.field) {
                after.get_or_insert_with(Default::default)[i] = change.old.clone();
                changed = true;
            }
        }
        // An event that made the record (every old value blank) leaves
        // no record before it.
        if changed
            && after
                .as_ref()
                .is_some_and(|v| v.iter().all(String::is_empty))
        {
            after = None;
        }
    }
}

/// What [`fill_listed`] reads of a user in bulk: the id of the user's
/// newest event, and its record (`None`: not stored).
pub type Latest = (u64, Option<User>);

/// How many marked events [`fill_listed`] asks about at once.
const CHUNK: usize = 10_000;

/// Fills the marked events among `events` (of any users). `latest` reads,
/// for some users' keys, [`Latest`] (keys without events left out); a
/// marked event that is its user's newest takes the record's values (no
/// event changed the user since), any other reads its user's History
/// through `history_of` (filled by [`fill_history`]). So a listing of a
/// large import (its export) costs a bulk read, not a History per user.
pub fn fill_listed<E>(
    events: &mut [AuditEvent],
    mut latest: impl FnMut(&[String]) -> Result<HashMap<String, Latest>, E>,
    mut history_of: impl FnMut(&str) -> Result<Vec<AuditEvent>, E>,
) -> Result<(), E> {
    let marked: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].is_marked())
        .collect();
    for chunk in marked.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|&i| events[i].target_key()).collect();
        let known = latest(&keys)?;
        for (&i, key) in chunk.iter().zip(&keys) {
            let event = &mut events[i];
            event.changes = match known.get(key) {
                Some((newest, user)) if *newest == event.id => {
                    user.as_ref().map(super::created).unwrap_or_default()
                }
                _ => history_of(key)?
                    .into_iter()
                    .find(|e| e.id == event.id)
                    .map(|e| e.changes)
                    .unwrap_or_default(),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
