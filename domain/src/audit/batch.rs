//! A batch's events under one head. An import (an approved one, a sync, an
//! undo) records one event per user it touched, for that user's History,
//! and after them one *head* event for the batch: who, when, the file and
//! how many users. The sign-in links mailed with an import to the users it
//! created are a second head of the same batch. The Audit log lists the head alone (an import of 10 000
//! users is one row, not 200 pages) and opens it to its users; a user's
//! History, a search by a whole address and the CSV export still show the
//! per-user events.
//!
//! The per-user events are the `n` events just before the head: the store
//! appends them in one call, in one write transaction, so their ids are
//! consecutive (a copy to another store keeps the order, so it keeps them
//! so). Nothing new is stored per user: a store written before heads
//! existed reads as before, each event its own row.

use super::{AuditAction, AuditEvent, AuditQuery};
use crate::store::BatchSummary;
use std::ops::Range;

/// The actions a head can have: an import's, an undo's, and the sign-in
/// links an import's created users were mailed.
const BATCH_ACTIONS: [AuditAction; 3] = [
    AuditAction::Import,
    AuditAction::Undo,
    AuditAction::SignInLinkMade,
];

/// The head's fact that says how many events it folds.
pub const USERS_FACT: &str = "users";

/// `events` (a batch's per-user events) followed by the batch's head.
pub fn with_head(
    mut events: Vec<AuditEvent>,
    summary: &BatchSummary,
    action: AuditAction,
) -> Vec<AuditEvent> {
    let mut head = AuditEvent::about(summary.at, &summary.operator, "", action)
        .with("file", summary.file_name.clone());
    if let Some(by) = &summary.approved_by {
        head = head.with("approved by", by.clone());
    }
    if action == AuditAction::Import {
        let counts = &summary.counts;
        head = head
            .with("created", counts.create.to_string())
            .with("updated", counts.update.to_string());
        if counts.deactivate > 0 {
            head = head.with("deactivated", counts.deactivate.to_string());
        }
    }
    // A change of roles is what an administrator looks for first: said on
    // the row itself, not only inside the batch.
    let roles = events
        .iter()
        .filter(|e| {
            e.changes
                .iter()
                .any(|c| c.field == "roles" && !c.old.is_empty())
        })
        .count();
    if roles > 0 {
        head = head.with("roles changed", roles.to_string());
    }
    if let Some(undone) = summary.undo_of {
        head = head.with("undoes batch", undone.to_string());
    }
    head = head.with(USERS_FACT, events.len().to_string());
    events.push(head);
    events
}

impl AuditEvent {
    /// For a batch's head (once the store has numbered it): the ids of the
    /// per-user events it folds.
    pub fn folded(&self) -> Option<Range<u64>> {
        let batch_action = BATCH_ACTIONS.contains(&self.action);
        if !batch_action || !self.target.is_empty() || self.batch.is_none() {
            return None;
        }
        let n: u64 = self
            .changes
            .iter()
            .rev()
            .find(|c| c.field == USERS_FACT && c.old.is_empty())?
            .new
            .parse()
            .ok()?;
        Some(self.id.checked_sub(n)?..self.id)
    }
}

impl AuditQuery {
    /// Whether a listing of this query shows each batch as its head alone:
    /// the plain Audit log, its filter by actor and by the batches' own
    /// actions (import, undo, sign-in link made). A filter by target looks for users, and one
    /// by another action (a sync's deactivations) for what was done to
    /// them, so those show the users' events; so does a batch opened.
    pub fn folds(&self) -> bool {
        self.target.is_empty()
            && self.within.is_none()
            && self.action.is_none_or(|a| BATCH_ACTIONS.contains(&a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> BatchSummary {
        BatchSummary {
            id: 7,
            operator: "op@example.com".into(),
            at: 1_800_000_000,
            file_name: "people.csv".into(),
            sha256: String::new(),
            counts: Default::default(),
            undo_of: None,
            undone_by: None,
            approved_by: Some("admin@example.com".into()),
        }
    }

    fn numbered(mut events: Vec<AuditEvent>, first: u64, batch: u64) -> Vec<AuditEvent> {
        for (i, e) in events.iter_mut().enumerate() {
            e.id = first + i as u64;
            e.batch = Some(batch);
        }
        events
    }

    #[test]
    fn a_head_folds_the_events_just_before_it() {
        let users: Vec<AuditEvent> = (0..3)
            .map(|i| {
                AuditEvent::about(
                    1,
                    "op@example.com",
                    &format!("u{i}@example.com"),
                    AuditAction::Import,
                )
            })
            .collect();
        let events = numbered(with_head(users, &summary(), AuditAction::Import), 10, 7);
        let head = events.last().unwrap();
        assert_eq!(head.folded(), Some(10..13));
        assert!(events[..3].iter().all(|e| e.folded().is_none()));
        assert_eq!(head.actor, "op@example.com");
        assert!(
            head.changes
                .iter()
                .any(|c| c.field == "approved by" && c.new == "admin@example.com")
        );
        assert!(
            head.changes
                .iter()
                .any(|c| c.field == "file" && c.new == "people.csv")
        );
    }

    #[test]
    fn events_of_old_stores_and_hostile_facts_fold_nothing() {
        // Only an import's or an undo's head folds.
        let e = AuditEvent::about(1, "cli", "", AuditAction::Import).with(USERS_FACT, "3");
        assert_eq!(numbered(vec![e.clone()], 5, 1)[0].folded(), Some(2..5));
        let options =
            AuditEvent::about(1, "cli", "", AuditAction::OptionsChanged).with(USERS_FACT, "3");
        assert_eq!(numbered(vec![options], 5, 1)[0].folded(), None);
        // Not a batch's event: no batch.
        let mut no_batch = e.clone();
        no_batch.id = 5;
        assert_eq!(no_batch.folded(), None);
        // A count larger than the ids before it, or not a number.
        let big = AuditEvent::about(1, "cli", "", AuditAction::Import).with(USERS_FACT, "9");
        assert_eq!(numbered(vec![big], 5, 1)[0].folded(), None);
        let text = AuditEvent::about(1, "cli", "", AuditAction::Import).with(USERS_FACT, "many");
        assert_eq!(numbered(vec![text], 5, 1)[0].folded(), None);
        // An event about a user is never a head.
        let user =
            AuditEvent::about(1, "cli", "a@example.com", AuditAction::Import).with(USERS_FACT, "1");
        assert_eq!(numbered(vec![user], 5, 1)[0].folded(), None);
    }

    #[test]
    fn only_the_plain_log_folds() {
        assert!(AuditQuery::default().folds());
        assert!(
            AuditQuery {
                actor: "op".into(),
                ..Default::default()
            }
            .folds()
        );
        assert!(
            !AuditQuery {
                target: "ada".into(),
                ..Default::default()
            }
            .folds()
        );
        assert!(
            !AuditQuery {
                within: Some(3),
                ..Default::default()
            }
            .folds()
        );
        let action = |a| AuditQuery {
            action: Some(a),
            ..Default::default()
        };
        assert!(action(AuditAction::Import).folds());
        assert!(action(AuditAction::Undo).folds());
        assert!(!action(AuditAction::Deactivate).folds());
    }
}
