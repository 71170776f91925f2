//! Records out of PostgreSQL rows, for the reads and the write
//! transaction alike.

use super::{PgStore, pg};
use crate::engine::codec::{Record, decode, decode_event};
use domain::approval::ApprovalRequest;
use domain::audit::AuditEvent;
use domain::options::Options;
use domain::store::StoreError;
use domain::transaction::SignInLink;
use std::collections::HashMap;

impl PgStore {
    pub(super) fn decode_rows<T: Record>(rows: Vec<postgres::Row>) -> Result<Vec<T>, StoreError> {
        rows.iter().map(|r| decode(r.get::<_, &[u8]>(0))).collect()
    }
}

/// The audit event of a row of `id, event`.
pub(super) fn event_of(row: &postgres::Row) -> Result<AuditEvent, StoreError> {
    decode_event(row.get::<_, i64>(0) as u64, row.get::<_, &[u8]>(1))
}

/// Every audit event about the user of `key`, newest first, with the
/// changes of marked events derived from the user as stored
/// (`domain::audit::derived`).
pub(super) fn history_in(
    c: &mut impl postgres::GenericClient,
    key: &str,
) -> Result<Vec<AuditEvent>, StoreError> {
    Ok(histories_in(c, &[key.to_string()])?
        .remove(key)
        .unwrap_or_default())
}

/// [`history_in`] of several users at once, in two statements (users
/// without events are left out).
fn histories_in(
    c: &mut impl postgres::GenericClient,
    keys: &[String],
) -> Result<HashMap<String, Vec<AuditEvent>>, StoreError> {
    let mut histories: HashMap<String, Vec<AuditEvent>> = HashMap::new();
    for row in c
        .query(
            "SELECT user_key, id, event FROM audit WHERE user_key = ANY($1) \
             ORDER BY user_key, id DESC",
            &[&keys],
        )
        .map_err(pg)?
    {
        let event = decode_event(row.get::<_, i64>(1) as u64, row.get::<_, &[u8]>(2))?;
        histories.entry(row.get(0)).or_default().push(event);
    }
    // The records only of users whose History has something to derive.
    let derive: Vec<&String> = histories
        .iter()
        .filter(|(_, h)| h.iter().any(AuditEvent::is_marked))
        .map(|(k, _)| k)
        .collect();
    if derive.is_empty() {
        return Ok(histories);
    }
    let mut users: HashMap<String, domain::User> = HashMap::new();
    for row in c
        .query(
            "SELECT key, record FROM users WHERE key = ANY($1)",
            &[&derive],
        )
        .map_err(pg)?
    {
        users.insert(row.get(0), decode(row.get::<_, &[u8]>(1))?);
    }
    for (key, history) in &mut histories {
        domain::audit::derived::fill_history(history, users.get(key));
    }
    Ok(histories)
}

/// `events` with their marked events' changes derived, their users'
/// Histories read [`domain::audit::derived::CHUNK`] users at a time (two
/// statements, not two a user: a large import's export lists one
/// marked event per user).
pub(super) fn filled(
    c: &mut impl postgres::GenericClient,
    mut events: Vec<AuditEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    domain::audit::derived::fill_listed(&mut events, |keys| histories_in(c, keys))?;
    Ok(events)
}

/// A stored link's user key, checked as a key.
pub(super) fn link_of(user_key: String, expires_at: i64) -> Result<SignInLink, StoreError> {
    let user_key = domain::Email::parse(&user_key)
        .map_err(|_| StoreError::Backend(format!("a stored link has the bad key {user_key:?}")))?
        .key()
        .clone();
    Ok(SignInLink {
        user_key,
        expires_at,
    })
}

/// A request for approval and, while it waits, its file, as `c` sees it
/// (the pool's connection for a read, the transaction for a use case).
pub(super) fn approval_in(
    c: &mut impl postgres::GenericClient,
    id: u64,
) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
    let row = c
        .query_opt(
            "SELECT request, file FROM approvals WHERE id = $1",
            &[&(id as i64)],
        )
        .map_err(pg)?;
    let Some(row) = row else { return Ok(None) };
    let file: Option<Vec<u8>> = row.get(1);
    Ok(Some((
        decode(row.get::<_, &[u8]>(0))?,
        file.unwrap_or_default(),
    )))
}

pub(super) fn read_options(rows: Vec<postgres::Row>) -> Result<Options, StoreError> {
    let pairs: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Options::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| StoreError::Backend(format!("stored options are invalid: {e}")))
}
