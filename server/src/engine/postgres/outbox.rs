//! The mail outbox on PostgreSQL: the table `outbox` (migration 8), one
//! row a message with its state and next attempt beside the encoded
//! record. A sender claims due messages with `FOR UPDATE SKIP LOCKED`,
//! so several servers on one database share the outbox and each message
//! is taken by one of them (write transactions are also serialised by
//! the write lock; the row locks keep the claim exclusive without it).

use super::pg;
use crate::engine::codec::{decode, encode};
use domain::mail::{MailState, OutboxCounts, OutboxMessage};
use domain::store::StoreError;
use postgres::GenericClient;

fn decode_rows(rows: Vec<postgres::Row>) -> Result<Vec<OutboxMessage>, StoreError> {
    rows.iter().map(|r| decode(r.get::<_, &[u8]>(0))).collect()
}

pub(super) fn message_in(
    c: &mut impl GenericClient,
    id: u64,
) -> Result<Option<OutboxMessage>, StoreError> {
    c.query_opt("SELECT record FROM outbox WHERE id = $1", &[&(id as i64)])
        .map_err(pg)?
        .map(|r| decode(r.get::<_, &[u8]>(0)))
        .transpose()
}

pub(super) fn put_in(c: &mut impl GenericClient, m: &OutboxMessage) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO outbox (id, state, next_attempt_at, user_key, record) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
         SET state = EXCLUDED.state, next_attempt_at = EXCLUDED.next_attempt_at, \
             user_key = EXCLUDED.user_key, record = EXCLUDED.record",
        &[
            &(m.id as i64),
            &m.state.key(),
            &m.next_attempt_at,
            &m.user_key.as_str(),
            &encode(m)?,
        ],
    )
    .map_err(pg)?;
    Ok(())
}

pub(super) fn due_in(
    c: &mut impl GenericClient,
    now: i64,
    limit: usize,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let limit = limit.min(i64::MAX as usize) as i64;
    decode_rows(
        c.query(
            "SELECT record FROM outbox WHERE state = 'queued' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&now, &limit],
        )
        .map_err(pg)?,
    )
}

pub(super) fn counts_in(c: &mut impl GenericClient) -> Result<OutboxCounts, StoreError> {
    let mut counts = OutboxCounts::default();
    for row in c
        .query("SELECT state, count(*) FROM outbox GROUP BY state", &[])
        .map_err(pg)?
    {
        let n = row.get::<_, i64>(1) as u64;
        match MailState::parse(row.get::<_, &str>(0)) {
            Some(MailState::Queued) => counts.queued += n,
            Some(MailState::Sent) => counts.sent += n,
            Some(MailState::Failed) => counts.failed += n,
            None => {}
        }
    }
    Ok(counts)
}

pub(super) fn in_state(
    c: &mut impl GenericClient,
    state: MailState,
    limit: usize,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let limit = limit.min(i64::MAX as usize) as i64;
    decode_rows(
        c.query(
            "SELECT record FROM outbox WHERE state = $1 ORDER BY id DESC LIMIT $2",
            &[&state.key(), &limit],
        )
        .map_err(pg)?,
    )
}
