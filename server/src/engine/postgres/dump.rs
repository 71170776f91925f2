//! Every record of a PostgreSQL store but sessions, read in one
//! snapshot, for `roster copy`.

use super::rows::{event_of, link_of};
use super::{PgStore, pg, snapshot};
use crate::engine::Dump;
use crate::engine::codec::decode;
use domain::UserKey;
use domain::store::StoreError;
use domain::transaction::{BatchRecord, Item};

impl Dump for PgStore {
    /// Every record of the store but sessions, for `roster copy`, read in
    /// one snapshot.
    fn dump(&self, out: &mut dyn FnMut(Item) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut t = snapshot(&mut client)?;
        for r in t.query("SELECT key, value FROM options", &[]).map_err(pg)? {
            out(Item::Option {
                key: r.get(0),
                value: r.get(1),
            })?;
        }
        let mut each =
            |sql: &str, out: &mut dyn FnMut(&postgres::Row) -> Result<(), StoreError>| {
                let portal = t.bind(sql, &[]).map_err(pg)?;
                loop {
                    let rows = t.query_portal(&portal, 10_000).map_err(pg)?;
                    if rows.is_empty() {
                        return Ok::<(), StoreError>(());
                    }
                    for row in &rows {
                        out(row)?;
                    }
                }
            };
        each("SELECT record FROM users ORDER BY key", &mut |r| {
            out(Item::User(decode(r.get::<_, &[u8]>(0))?))
        })?;
        each(
            "SELECT summary, touched FROM batches ORDER BY id",
            &mut |r| {
                out(Item::Batch(BatchRecord {
                    summary: decode(r.get::<_, &[u8]>(0))?,
                    touched: decode(r.get::<_, &[u8]>(1))?,
                }))
            },
        )?;
        each(
            "SELECT batch, record FROM batch_corrections ORDER BY batch",
            &mut |r| {
                out(Item::Correction {
                    batch: r.get::<_, i64>(0) as u64,
                    correction: decode(r.get::<_, &[u8]>(1))?,
                })
            },
        )?;
        each("SELECT id, event FROM audit ORDER BY id", &mut |r| {
            out(Item::Audit(event_of(r)?))
        })?;
        each(
            "SELECT request, file FROM approvals ORDER BY id",
            &mut |r| {
                out(Item::Approval {
                    request: decode(r.get::<_, &[u8]>(0))?,
                    file: r.get(1),
                })
            },
        )?;
        each(
            "SELECT c.key, c.phc, coalesce(e.epoch_ms, 0) FROM credentials c \
             LEFT JOIN password_epochs e ON e.key = c.key ORDER BY c.key",
            &mut |r| {
                out(Item::Password {
                    key: UserKey::stored(r.get(0)),
                    phc: r.get(1),
                    epoch_ms: r.get(2),
                })
            },
        )?;
        each(
            "SELECT id, user_key, expires_at FROM links ORDER BY id",
            &mut |r| {
                out(Item::Link {
                    token_id: r.get(0),
                    link: link_of(r.get(1), r.get(2))?,
                })
            },
        )?;
        each("SELECT record FROM api_tokens ORDER BY id", &mut |r| {
            out(Item::Token(decode(r.get::<_, &[u8]>(0))?))
        })?;
        each("SELECT record FROM outbox ORDER BY id", &mut |r| {
            out(Item::Mail(decode(r.get::<_, &[u8]>(0))?))
        })?;
        each(
            "SELECT user_key, external_id FROM scim_external_ids ORDER BY user_key",
            &mut |r| {
                out(Item::ExternalId {
                    key: UserKey::stored(r.get(0)),
                    external_id: r.get(1),
                })
            },
        )?;
        Ok(())
    }
}
