//! Events whose changes are derived, not stored. An import that creates a
//! user used to store every value of the new user in the user's event
//! (on redb 210 of the ~640 bytes an imported user cost the store). It
//! now stores the event with a mark as its only change, and the values
//! are read back from the store when the event is shown.
//!
//! The values a created user had are the user's values now, with every
//! later change of the user undone. This rests on one rule the use cases
//! keep: every write of a user is audited in the same transaction, by an
//! event that records the old value of every field it changes (see
//! [`crate::plan::diff`]; a removal lists every value the user had, see
//! [`super::removed`]). Walking the user's History from the newest event
//! back to the creation then takes the record back to what the import
//! wrote. [`fill_history`] does that walk; [`fill_listed`] does it for
//! events listed elsewhere (the Audit log, its export).

use super::{AuditAction, AuditEvent};
use crate::field::Field;
use crate::plan::Change;
use crate::user::User;
use std::collections::HashMap;

/// The field of the one change a marked event stores.
pub const MARK: &str = "derived";

/// What History lists of a record besides its fields, after them (as
/// [`super::created`] lists them).
const BESIDE_FIELDS: [&str; 3] = ["roles", "end_state", "source"];

/// The values a record has that History lists: the fields in their
/// order, then [`BESIDE_FIELDS`].
const TRACKED: usize = Field::ALL.len() + BESIDE_FIELDS.len();

/// The position of the end state among the tracked values.
const END_STATE: usize = Field::ALL.len() + 1;

fn tracked(name: &str) -> Option<usize> {
    Field::ALL
        .iter()
        .position(|f| f.column() == name)
        .or_else(|| {
            BESIDE_FIELDS
                .iter()
                .position(|n| *n == name)
                .map(|i| Field::ALL.len() + i)
        })
}

fn name(index: usize) -> &'static str {
    match Field::ALL.get(index) {
        Some(f) => f.column(),
        None => BESIDE_FIELDS[index - Field::ALL.len()],
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
        let tracked_changes: Vec<(usize, &Change)> = event
            .changes
            .iter()
            .filter_map(|c| Some((tracked(&c.field)?, c)))
            .collect();
        if tracked_changes.is_empty() {
            continue;
        }
        // A record always has an end state: one changed to blank was
        // removed, and its event lists every value it had (the others
        // were blank), whatever exists under its key now.
        if tracked_changes
            .iter()
            .any(|(i, c)| *i == END_STATE && c.new.is_empty())
        {
            after = Some(Default::default());
        }
        let values = after.get_or_insert_with(Default::default);
        for (i, change) in tracked_changes {
            values[i] = change.old.clone();
        }
        // An event that made the record (its end state was blank before)
        // leaves no record before it.
        if values[END_STATE].is_empty() {
            after = None;
        }
    }
}

/// Fills the marked events among `events` (of any users). `histories`
/// reads the Histories of some users at once, each filled by
/// [`fill_history`] (keys with no events may be left out), so that a
/// listing of a large import (its export) costs a bulk read per
/// [`CHUNK`] users, not a read per user.
pub fn fill_listed<E>(
    events: &mut [AuditEvent],
    mut histories: impl FnMut(&[String]) -> Result<HashMap<String, Vec<AuditEvent>>, E>,
) -> Result<(), E> {
    let marked: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].is_marked())
        .collect();
    for chunk in marked.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|&i| events[i].target_key()).collect();
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let read = histories(&distinct)?;
        for (&i, key) in chunk.iter().zip(&keys) {
            let event = &mut events[i];
            let found = read
                .get(key)
                .and_then(|h| h.iter().find(|e| e.id == event.id));
            event.changes = found.map(|e| e.changes.clone()).unwrap_or_default();
        }
    }
    Ok(())
}

/// How many users' Histories [`fill_listed`] reads at once.
pub const CHUNK: usize = 10_000;

#[cfg(test)]
mod tests;
