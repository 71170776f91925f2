//! The PostgreSQL engine's reads: the store port's queries
//! (`domain::store::Store`), each on a pooled connection, and `transact`,
//! which runs a use case in one write transaction ([`super::transaction`])
//! after taking the write lock.

use super::rows::{approval_in, event_of, filled, history_in, read_options};
use super::transaction::PgTx;
use super::{PgStore, WRITE_LOCK, pg, snapshot};
use crate::engine::codec::{decode, touched_count, with_deactivations};
use domain::approval::ApprovalRequest;
use domain::audit::{AuditEvent, AuditQuery};
use domain::directory::{Facets, UserPage, UserQuery};
use domain::options::Options;
use domain::store::{BatchSummary, Correction, Store, StoreError, UserStats};
use domain::transaction::{Finish, WriteTx};
use domain::{EndState, User, UserKey};

impl PgStore {
    /// The users' counters (`user_counts`), by end state and source.
    fn counts(&self) -> Result<Vec<(Facets, u64)>, StoreError> {
        let rows = self.read(|c| c.query("SELECT facets, n FROM user_counts", &[]))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let n: i64 = r.get(1);
                Facets::from_code(r.get(0)).map(|f| (f, n.max(0) as u64))
            })
            .collect())
    }

    /// The SQL condition of a query's filters (constants of the domain's
    /// enums, never text from the request).
    pub(super) fn filter_sql(query: &UserQuery) -> String {
        let mut parts = vec!["TRUE".to_string()];
        match query.end_state {
            Some(EndState::Active) => parts.push("u.active".into()),
            Some(EndState::Inactive) => parts.push("NOT u.active".into()),
            None => {}
        }
        if let Some(source) = query.source {
            parts.push(format!("u.source = '{}'", source.key()));
        }
        parts.join(" AND ")
    }
}

impl Store for PgStore {
    fn user_count(&self) -> Result<u64, StoreError> {
        Ok(self.counts()?.iter().map(|(_, n)| n).sum())
    }

    fn user(&self, key: &UserKey) -> Result<Option<User>, StoreError> {
        self.read(|c| c.query_opt("SELECT record FROM users WHERE key = $1", &[&key.as_str()]))?
            .map(|r| decode(r.get::<_, &[u8]>(0)))
            .transpose()
    }

    fn users_by_keys(&self, keys: &[UserKey]) -> Result<Vec<User>, StoreError> {
        let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(50_000) {
            let rows =
                self.read(|c| c.query("SELECT record FROM users WHERE key = ANY($1)", &[&chunk]))?;
            out.extend(Self::decode_rows::<User>(rows)?);
        }
        Ok(out)
    }

    fn all_users(&self) -> Result<Vec<User>, StoreError> {
        Self::decode_rows(self.read(|c| c.query("SELECT record FROM users ORDER BY key", &[]))?)
    }

    /// A search: see `search`. A list: the total from the counters; the
    /// page's keys from the sort order's index (only the index is read
    /// for the entries skipped), then only the page's records.
    fn list_users(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        use domain::directory::{UserSort, query_words};
        let words = query_words(&query.search);
        if !words.is_empty() {
            return self.search(&words, query);
        }
        let total: u64 = self
            .counts()?
            .iter()
            .filter(|(f, _)| query.accepts(*f))
            .map(|(_, n)| n)
            .sum();
        if query.offset() >= total {
            return Ok(UserPage {
                users: Vec::new(),
                total,
                capped: false,
            });
        }
        let (columns, order) = match query.sort {
            UserSort::Email => ("key", "key"),
            UserSort::Name => ("name_key, key", "name_key, key"),
            UserSort::Updated => ("updated_at, key", "updated_at DESC, key"),
        };
        let sql = format!(
            "WITH page AS MATERIALIZED (SELECT {columns} FROM users u WHERE {filter} \
             ORDER BY {order} LIMIT $1 OFFSET $2) \
             SELECT u.record FROM page JOIN users u USING (key) ORDER BY {outer}",
            filter = Self::filter_sql(query),
            outer = order
                .split(", ")
                .map(|c| format!("page.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let limit = i64::from(query.limit());
        let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);
        let rows = self.read(|c| c.query(&sql, &[&limit, &offset]))?;
        Ok(UserPage {
            users: Self::decode_rows(rows)?,
            total,
            capped: false,
        })
    }

    fn user_stats(&self) -> Result<UserStats, StoreError> {
        let mut stats = UserStats::default();
        for (facets, n) in self.counts()? {
            stats.add(facets, n);
        }
        Ok(stats)
    }

    fn options(&self) -> Result<Options, StoreError> {
        read_options(self.read(|c| c.query("SELECT key, value FROM options", &[]))?)
    }

    fn transact(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<Finish, StoreError>,
    ) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut t = client.transaction().map_err(pg)?;
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(pg)?;
        // Dropping the transaction unwritten rolls it back.
        match work(&mut PgTx { t: &mut t })? {
            Finish::Commit => t.commit().map_err(pg),
            Finish::Abort => t.rollback().map_err(pg),
        }
    }

    fn approvals(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        Self::decode_rows(
            self.read(|c| c.query("SELECT request FROM approvals ORDER BY id DESC", &[]))?,
        )
    }

    fn approval(&self, id: u64) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
        approval_in(&mut *self.client()?, id)
    }

    /// As the redb engine: a whole address reads that user's events, a
    /// batch opened (`within`) the ids its head folds, and with `fold` the
    /// scan jumps from a head to the events before its batch.
    fn audit_scan(
        &self,
        query: &AuditQuery,
        limit: usize,
        fold: bool,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut client = self.client()?;
        let by_user = domain::Email::parse(&query.target).ok();
        // One snapshot: the events and the records their marked events'
        // values are derived from (`filled`).
        let mut t = snapshot(&mut client)?;
        // Which ids to read: [start, end); within a batch, its events only.
        let (mut start, mut end) = (i64::MIN, i64::MAX);
        let mut batch = None;
        if let Some(head) = query.within {
            let head = i64::try_from(head).unwrap_or(i64::MAX);
            let head = match t
                .query_opt("SELECT id, event FROM audit WHERE id = $1", &[&head])
                .map_err(pg)?
            {
                Some(row) => Some(event_of(&row)?),
                None => None,
            };
            let folded = head.as_ref().and_then(|h| h.folded()).unwrap_or(0..0);
            (start, end) = (folded.start as i64, folded.end as i64);
            batch = head.and_then(|h| h.batch);
        }
        let fold = fold && by_user.is_none() && query.within.is_none();
        let mut out = Vec::new();
        'scan: loop {
            // Rows stream in (a portal), so a short page does not read the
            // whole trail.
            let portal = match &by_user {
                Some(email) => t.bind(
                    "SELECT id, event FROM audit WHERE user_key = $1 AND id >= $2 AND id < $3 \
                     ORDER BY id DESC",
                    &[&email.key().as_str(), &start, &end],
                ),
                None => t.bind(
                    "SELECT id, event FROM audit WHERE id >= $1 AND id < $2 ORDER BY id DESC",
                    &[&start, &end],
                ),
            }
            .map_err(pg)?;
            // Folding, a head is often the first row: fetch a few, not a
            // thousand of its batch's users to jump over.
            let chunk = if fold { 64 } else { 1_000 };
            loop {
                let rows = t.query_portal(&portal, chunk).map_err(pg)?;
                if rows.is_empty() {
                    break 'scan;
                }
                for row in rows {
                    let event = event_of(&row)?;
                    let folded = fold.then(|| event.folded()).flatten();
                    if query.within.is_some() && event.batch != batch {
                        continue;
                    }
                    if query.accepts(&event) {
                        out.push(event);
                        if out.len() >= limit {
                            break 'scan;
                        }
                    }
                    if let Some(folded) = folded {
                        end = folded.start as i64;
                        continue 'scan;
                    }
                }
            }
        }
        filled(&mut t, out)
    }

    fn user_history(&self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        // One snapshot: the events and the record they are derived from.
        let mut client = self.client()?;
        let mut t = snapshot(&mut client)?;
        history_in(&mut t, key.as_str())
    }

    fn batches(&self) -> Result<Vec<BatchSummary>, StoreError> {
        // With the touched list's length: a sync's deactivations (see
        // `codec::with_deactivations`).
        let rows = self.read(|c| {
            c.query(
                "SELECT summary, substring(touched from 1 for 11) FROM batches ORDER BY id DESC",
                &[],
            )
        })?;
        rows.iter()
            .map(|row| {
                Ok(with_deactivations(
                    decode(row.get::<_, &[u8]>(0))?,
                    touched_count(row.get::<_, &[u8]>(1)),
                ))
            })
            .collect()
    }

    fn recent_batches(&self, n: usize) -> Result<Vec<BatchSummary>, StoreError> {
        Self::decode_rows(self.read(|c| {
            c.query(
                "SELECT summary FROM batches ORDER BY id DESC LIMIT $1",
                &[&(n.min(i64::MAX as usize) as i64)],
            )
        })?)
    }

    fn corrections(&self) -> Result<Vec<(u64, Correction)>, StoreError> {
        let rows = self.read(|c| {
            c.query(
                "SELECT batch, record FROM batch_corrections ORDER BY batch",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| Ok((r.get::<_, i64>(0) as u64, decode(r.get::<_, &[u8]>(1))?)))
            .collect()
    }

    fn batches_with_hash(&self, sha256: &str) -> Result<Vec<BatchSummary>, StoreError> {
        Self::decode_rows(self.read(|c| {
            c.query(
                "SELECT summary FROM batches WHERE sha256 = $1 AND undo_of IS NULL \
                 ORDER BY id DESC",
                &[&sha256],
            )
        })?)
    }
}
