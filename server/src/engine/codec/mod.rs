//! How both engines encode what they store, so that a record reads the
//! same from redb and from PostgreSQL and `roster copy` moves it as it is.
//!
//! Encoded values are one format byte (`FORMAT`) followed by postcard. A
//! change of a record type bumps the byte and keeps a decoder for the old
//! one, so a store never needs an offline migration: format 3 (users with
//! what people decided about them, batches with their approver) is
//! written now; format 1 is still read ([`format1`]); audit events
//! have a format of their own (2). A session at rest has its own JSON
//! ([`session`]).

pub mod format1;
pub mod session;

use domain::audit::{AuditEvent, StoredEvent};
use domain::store::{BatchSummary, StoreError};
use domain::token::ApiToken;
use domain::transaction::BatchRecord;
use rand::RngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Format byte in front of every encoded value written now: users carry
/// what people decided about them, batches their approver.
const FORMAT: u8 = 3;
/// The format before that, still read (see [`format1`]).
const FORMAT_1: u8 = 1;

/// A record type the engines store. `from_format_1` reads the layout of
/// format 1; for types whose layout has not changed since, that is the
/// current layout.
pub trait Record: DeserializeOwned {
    fn from_format_1(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    encode_into(Vec::new(), value)
}

/// [`encode`] into a buffer that is cleared first, so a loop can reuse one
/// allocation.
pub fn encode_into<T: Serialize>(mut buf: Vec<u8>, value: &T) -> Result<Vec<u8>, StoreError> {
    buf.clear();
    buf.push(FORMAT);
    postcard::to_extend(value, buf).map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

/// First written in format 3: there is no format-1 layout of a token.
impl Record for ApiToken {}

/// First written in format 3, as tokens.
impl Record for domain::mail::OutboxMessage {}

pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, StoreError> {
    let read = |e| StoreError::Backend(format!("decode: {e}"));
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(read),
        Some((&FORMAT_1, rest)) => T::from_format_1(rest).map_err(read),
        Some((other, _)) => Err(StoreError::Backend(format!(
            "unknown record format {other}"
        ))),
        None => Err(StoreError::Backend("empty record".into())),
    }
}

/// Format byte of an audit event stored as a `domain::audit::StoredEvent`
/// (events written before it are whole `AuditEvent`s, format 1; both are
/// read).
const EVENT_FORMAT: u8 = 2;

/// An audit event as both engines store it, into a cleared `buf`.
pub fn encode_event_into(mut buf: Vec<u8>, event: &AuditEvent) -> Result<Vec<u8>, StoreError> {
    buf.clear();
    buf.push(EVENT_FORMAT);
    postcard::to_extend(&StoredEvent::of(event), buf)
        .map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

/// The audit event stored under `id`, in either format.
pub fn decode_event(id: u64, bytes: &[u8]) -> Result<AuditEvent, StoreError> {
    match bytes.split_first() {
        Some((&EVENT_FORMAT, rest)) => postcard::from_bytes::<StoredEvent>(rest)
            .map_err(|e| StoreError::Backend(format!("decode: {e}")))?
            .into_event(id)
            .ok_or_else(|| StoreError::Backend(format!("audit event {id}: unknown field"))),
        Some((&FORMAT_1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Backend(format!("decode: {e}")))
        }
        Some((other, _)) => Err(StoreError::Backend(format!(
            "audit event {id}: unknown record format {other}"
        ))),
        None => Err(StoreError::Backend(format!(
            "audit event {id}: empty record"
        ))),
    }
}

/// The summary of a stored [`BatchRecord`] without its before-images
/// (which come after it, and may be a million users long).
pub fn decode_batch_summary(bytes: &[u8]) -> Result<BatchSummary, StoreError> {
    let read = |e| StoreError::Backend(format!("decode: {e}"));
    match bytes.split_first() {
        // The touched users follow the summary: their number is the next
        // varint, read without decoding them.
        Some((&FORMAT, rest)) => postcard::take_from_bytes::<BatchSummary>(rest)
            .map(|(summary, touched)| {
                let count = postcard::take_from_bytes::<u64>(touched).ok();
                with_deactivations(summary, count.map(|(n, _)| n))
            })
            .map_err(read),
        Some((&FORMAT_1, rest)) => format1::batch_summary(rest).map_err(read),
        _ => decode::<BatchRecord>(bytes).map(|r| r.summary),
    }
}

/// How many users a batch touched, from the start of its encoded
/// touched list (a batch's `touched` as stored apart, on PostgreSQL).
pub fn touched_count(encoded_touched: &[u8]) -> Option<u64> {
    match encoded_touched.split_first() {
        Some((&FORMAT, rest)) => postcard::take_from_bytes::<u64>(rest).ok().map(|(n, _)| n),
        _ => None,
    }
}

/// `summary` with its sync's deactivations counted: a batch's counts are
/// stored without them (their layout predates syncs), but every user a
/// batch deactivated is among its touched users beside those it created
/// and updated. An undo's touched users are what it restored: nothing is
/// counted for it.
pub fn with_deactivations(mut summary: BatchSummary, touched: Option<u64>) -> BatchSummary {
    if summary.undo_of.is_none()
        && let Some(n) = touched
    {
        summary.counts.deactivate = n.saturating_sub(summary.counts.create + summary.counts.update);
    }
    summary
}

/// A new random token, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A stored secret's bytes, which must be 32.
pub fn secret_of(name: &str, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("the secret {name} is not 32 bytes long")))
}
