//! The mail outbox on the redb engine: `outbox` (message id → encoded
//! `domain::mail::OutboxMessage`) and `outbox_due` ((next attempt, id) of
//! each queued message), so that a sender finds the due messages without
//! reading the sent ones. redb has one writer at a time: a claim is
//! exclusive by itself.

use super::backend;
use super::schema::{OUTBOX, OUTBOX_DUE};
use crate::engine::codec::{decode, encode};
use domain::mail::{MailState, OutboxCounts, OutboxMessage};
use domain::store::StoreError;
use redb::ReadableTable;

pub(super) fn message_in(
    txn: &redb::WriteTransaction,
    id: u64,
) -> Result<Option<OutboxMessage>, StoreError> {
    let table = txn.open_table(OUTBOX).map_err(backend)?;
    let found = table.get(id).map_err(backend)?;
    found.map(|v| decode(v.value())).transpose()
}

pub(super) fn put_in(
    txn: &redb::WriteTransaction,
    message: &OutboxMessage,
) -> Result<(), StoreError> {
    let before = message_in(txn, message.id)?;
    let mut due = txn.open_table(OUTBOX_DUE).map_err(backend)?;
    if let Some(before) = before.filter(|b| b.state == MailState::Queued) {
        due.remove((before.next_attempt_at, before.id))
            .map_err(backend)?;
    }
    if message.state == MailState::Queued {
        due.insert((message.next_attempt_at, message.id), ())
            .map_err(backend)?;
    }
    let mut table = txn.open_table(OUTBOX).map_err(backend)?;
    table
        .insert(message.id, encode(message)?.as_slice())
        .map_err(backend)?;
    Ok(())
}

pub(super) fn due_in(
    txn: &redb::WriteTransaction,
    now: i64,
    limit: usize,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let ids: Vec<u64> = {
        let due = txn.open_table(OUTBOX_DUE).map_err(backend)?;
        let mut ids = Vec::new();
        for entry in due
            .range((i64::MIN, 0u64)..=(now, u64::MAX))
            .map_err(backend)?
            .take(limit)
        {
            ids.push(entry.map_err(backend)?.0.value().1);
        }
        ids
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(m) = message_in(txn, id)? {
            out.push(m);
        }
    }
    Ok(out)
}

pub(super) fn counts_in(txn: &redb::WriteTransaction) -> Result<OutboxCounts, StoreError> {
    let table = txn.open_table(OUTBOX).map_err(backend)?;
    let mut counts = OutboxCounts::default();
    for entry in table.iter().map_err(backend)? {
        let message: OutboxMessage = decode(entry.map_err(backend)?.1.value())?;
        counts.add(message.state);
    }
    Ok(counts)
}

pub(super) fn in_state(
    txn: &redb::WriteTransaction,
    state: MailState,
    limit: usize,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let table = txn.open_table(OUTBOX).map_err(backend)?;
    let mut out = Vec::new();
    for entry in table.iter().map_err(backend)?.rev() {
        if out.len() >= limit {
            break;
        }
        let message: OutboxMessage = decode(entry.map_err(backend)?.1.value())?;
        if message.state == state {
            out.push(message);
        }
    }
    Ok(out)
}
