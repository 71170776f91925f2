//! One PostgreSQL write transaction, as the domain's use cases see it
//! (`domain::transaction::WriteTx`). `Store::transact` (in `reads`) opens
//! it and takes the write lock first.

use super::copy::{backend_io, copy_bytea, copy_text};
use super::pg;
use super::rows::{approval_in, link_of, read_options};
use super::search::{word_entries, words_of_users};
use crate::engine::codec::{
    decode, encode, encode_event_into, new_token, touched_count, with_deactivations,
};
use domain::approval::ApprovalRequest;
use domain::audit::AuditEvent;
use domain::directory::Facets;
use domain::mail::{MailState, OutboxCounts, OutboxMessage};
use domain::options::Options;
use domain::privilege;
use domain::store::{BatchSummary, Correction, StoreError};
use domain::token::ApiToken;
use domain::transaction::{BatchRecord, Sequence, SignInLink, UserWrite, WriteTx};
use domain::{EndState, User, UserKey, UsersByKey};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use std::io::Write;

/// Rows per multi-row statement.
const CHUNK: usize = 5_000;

/// One PostgreSQL write transaction, as the domain's use cases see it.
pub(super) struct PgTx<'a, 'c> {
    pub(super) t: &'a mut Transaction<'c>,
}

impl PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.t.execute(sql, params).map_err(pg)
    }
}

impl WriteTx for PgTx<'_, '_> {
    fn options(&mut self) -> Result<Options, StoreError> {
        read_options(
            self.t
                .query("SELECT key, value FROM options", &[])
                .map_err(pg)?,
        )
    }

    fn put_option(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO options (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )
        .map(drop)
    }

    fn user(&mut self, key: &UserKey) -> Result<Option<User>, StoreError> {
        let key = key.as_str();
        self.t
            .query_opt("SELECT record FROM users WHERE key = $1", &[&key])
            .map_err(pg)?
            .map(|r| decode(r.get::<_, &[u8]>(0)))
            .transpose()
    }

    fn users(&mut self, keys: &[&UserKey]) -> Result<UsersByKey, StoreError> {
        let mut out = UsersByKey::default();
        for chunk in keys.chunks(50_000) {
            let chunk: Vec<&str> = chunk.iter().map(|k| k.as_str()).collect();
            let rows = self
                .t
                .query(
                    "SELECT key, record FROM users WHERE key = ANY($1)",
                    &[&chunk],
                )
                .map_err(pg)?;
            for row in rows {
                out.insert(UserKey::stored(row.get(0)), decode(row.get::<_, &[u8]>(1))?);
            }
        }
        Ok(out)
    }

    fn write_users(&mut self, writes: &[UserWrite<'_>]) -> Result<(), StoreError> {
        let gone: Vec<&str> = writes
            .iter()
            .filter(|w| w.after.is_none())
            .filter_map(|w| w.before.map(|u| u.key().as_str()))
            .collect();
        for chunk in gone.chunks(CHUNK) {
            self.exec("DELETE FROM users WHERE key = ANY($1)", &[&chunk])?;
        }
        // The words of removed and replaced users go (found by the
        // before-image: the index needs no second key); replaced users'
        // words are made again below.
        let old: Vec<&User> = writes.iter().filter_map(|w| w.before).collect();
        for chunk in old.chunks(CHUNK) {
            let (words, owners) = words_of_users(chunk);
            self.exec(
                "DELETE FROM user_words WHERE (word, key) IN \
                 (SELECT * FROM UNNEST($1::text[], $2::text[]))",
                &[&words, &owners],
            )?;
        }
        // New users go in with COPY (write transactions are serialised, so
        // nobody can have made them meanwhile); replaced ones with a
        // multi-row upsert.
        let (new, replaced): (Vec<&UserWrite<'_>>, Vec<&UserWrite<'_>>) = writes
            .iter()
            .filter(|w| w.after.is_some())
            .partition(|w| w.before.is_none());
        if !new.is_empty() {
            let mut copy = self
                .t
                .copy_in(
                    "COPY users (key, record, active_admin, active, source, name_key, updated_at) \
                     FROM STDIN",
                )
                .map_err(pg)?;
            let mut line = Vec::new();
            for user in new.iter().filter_map(|w| w.after) {
                line.clear();
                copy_text(&mut line, user.key().as_str());
                line.push(b'\t');
                copy_bytea(&mut line, &encode(user)?);
                let flag = |yes: bool| if yes { "t" } else { "f" };
                write!(
                    line,
                    "\t{}\t{}\t{}\t",
                    flag(privilege::is_active_admin(user)),
                    flag(user.end_state == EndState::Active),
                    user.source.key()
                )
                .map_err(backend_io)?;
                copy_text(&mut line, &domain::directory::name_key(user));
                writeln!(line, "\t{}", user.updated_at).map_err(backend_io)?;
                copy.write_all(&line).map_err(backend_io)?;
            }
            copy.finish().map_err(pg)?;
            let words = word_entries(new.iter().filter_map(|w| w.after));
            let copy = self
                .t
                .copy_in("COPY user_words (word, key) FROM STDIN (FORMAT binary)")
                .map_err(pg)?;
            let mut copy = BinaryCopyInWriter::new(copy, &[Type::TEXT, Type::TEXT]);
            for (word, key) in &words {
                copy.write(&[word, key]).map_err(pg)?;
            }
            copy.finish().map_err(pg)?;
        }
        let puts: Vec<&User> = replaced.iter().filter_map(|w| w.after).collect();
        for chunk in puts.chunks(CHUNK) {
            let keys: Vec<&str> = chunk.iter().map(|u| u.key().as_str()).collect();
            let records = chunk.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
            let admins: Vec<bool> = chunk
                .iter()
                .map(|u| privilege::is_active_admin(u))
                .collect();
            let active: Vec<bool> = chunk
                .iter()
                .map(|u| u.end_state == EndState::Active)
                .collect();
            let sources: Vec<&str> = chunk.iter().map(|u| u.source.key()).collect();
            let names: Vec<String> = chunk
                .iter()
                .map(|u| domain::directory::name_key(u))
                .collect();
            let updated: Vec<i64> = chunk.iter().map(|u| u.updated_at).collect();
            self.exec(
                "INSERT INTO users (key, record, active_admin, active, source, name_key, updated_at) \
                 SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::bool[], $4::bool[], $5::text[], \
                                      $6::text[], $7::bigint[]) \
                 ON CONFLICT (key) DO UPDATE \
                 SET record = EXCLUDED.record, active_admin = EXCLUDED.active_admin, \
                     active = EXCLUDED.active, source = EXCLUDED.source, \
                     name_key = EXCLUDED.name_key, updated_at = EXCLUDED.updated_at",
                &[&keys, &records, &admins, &active, &sources, &names, &updated],
            )?;
            // A word left by a server of an older rule (kept prefixes) may
            // already be there: not an error.
            let (words, owners) = words_of_users(chunk);
            self.exec(
                "INSERT INTO user_words (word, key) \
                 SELECT * FROM UNNEST($1::text[], $2::text[]) \
                 ON CONFLICT DO NOTHING",
                &[&words, &owners],
            )?;
        }
        count_users(self.t, writes)
    }

    fn sync_candidates(&mut self, scope: Option<&str>) -> Result<Vec<User>, StoreError> {
        let scope = scope.map(str::to_lowercase);
        let mut out = Vec::new();
        for row in self
            .t
            .query(
                "SELECT record FROM users WHERE active AND source = 'CSV' ORDER BY key",
                &[],
            )
            .map_err(pg)?
        {
            let user: User = decode(row.get::<_, &[u8]>(0))?;
            if scope
                .as_deref()
                .is_none_or(|s| user.profile.organization().trim().to_lowercase() == s)
            {
                out.push(user);
            }
        }
        Ok(out)
    }

    fn first_admin(&mut self) -> Result<Option<User>, StoreError> {
        for row in self
            .t
            .query("SELECT record FROM users ORDER BY key", &[])
            .map_err(pg)?
        {
            let user: User = decode(row.get::<_, &[u8]>(0))?;
            if user.roles.contains(domain::Role::Admin) {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    fn has_active_admin(&mut self) -> Result<bool, StoreError> {
        Ok(self
            .t
            .query_opt("SELECT 1 FROM users WHERE active_admin LIMIT 1", &[])
            .map_err(pg)?
            .is_some())
    }

    fn user_history(&mut self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        super::rows::history_in(&mut *self.t, key.as_str())
    }

    fn batches_since(&mut self, since: i64) -> Result<Vec<BatchSummary>, StoreError> {
        // Newest first, a page at a time, until one is older than `since`
        // (the time is inside the summary, not a column).
        const PAGE: i64 = 64;
        let mut out = Vec::new();
        let mut below = i64::MAX;
        loop {
            let rows = self
                .t
                .query(
                    // The touched list's first bytes hold its length
                    // (a format byte and a varint): the deactivations.
                    "SELECT id, summary, substring(touched from 1 for 11) FROM batches \
                     WHERE id < $1 ORDER BY id DESC LIMIT $2",
                    &[&below, &PAGE],
                )
                .map_err(pg)?;
            for row in &rows {
                below = row.get::<_, i64>(0);
                let summary = with_deactivations(
                    decode(row.get::<_, &[u8]>(1))?,
                    touched_count(row.get::<_, &[u8]>(2)),
                );
                if summary.at < since {
                    return Ok(out);
                }
                out.push(summary);
            }
            if (rows.len() as i64) < PAGE {
                return Ok(out);
            }
        }
    }

    fn next_id(&mut self, sequence: Sequence) -> Result<u64, StoreError> {
        let name = match sequence {
            Sequence::Batch => "next_batch_id",
            Sequence::Approval => "next_approval_id",
            Sequence::Outbox => "next_outbox_id",
        };
        next_counter(self.t, name, 1).map(|id| id as u64)
    }

    fn put_batch(&mut self, record: &BatchRecord) -> Result<(), StoreError> {
        let id = record.summary.id as i64;
        let undo_of = record.summary.undo_of.map(|i| i as i64);
        self.exec(
            "INSERT INTO batches (id, sha256, undo_of, summary, touched) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
             SET sha256 = EXCLUDED.sha256, undo_of = EXCLUDED.undo_of, \
                 summary = EXCLUDED.summary, touched = EXCLUDED.touched",
            &[
                &id,
                &record.summary.sha256,
                &undo_of,
                &encode(&record.summary)?,
                &encode(&record.touched)?,
            ],
        )
        .map(drop)
    }

    fn batch(&mut self, id: u64) -> Result<Option<BatchRecord>, StoreError> {
        let Some(row) = self
            .t
            .query_opt(
                "SELECT summary, touched FROM batches WHERE id = $1",
                &[&(id as i64)],
            )
            .map_err(pg)?
        else {
            return Ok(None);
        };
        Ok(Some(BatchRecord {
            summary: decode(row.get::<_, &[u8]>(0))?,
            touched: decode(row.get::<_, &[u8]>(1))?,
        }))
    }

    fn put_correction(&mut self, batch: u64, correction: &Correction) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO batch_corrections (batch, record) VALUES ($1, $2)",
            &[&(batch as i64), &encode(correction)?],
        )
        .map(drop)
    }

    fn append_audit(
        &mut self,
        events: Vec<AuditEvent>,
        batch: Option<u64>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let first = next_counter(self.t, "next_audit_id", events.len() as i64)?;
        let copy = self
            .t
            .copy_in("COPY audit (id, user_key, event) FROM STDIN (FORMAT binary)")
            .map_err(pg)?;
        let mut copy = BinaryCopyInWriter::new(copy, &[Type::INT8, Type::TEXT, Type::BYTEA]);
        let mut buf = Vec::new();
        for (n, mut event) in events.into_iter().enumerate() {
            let id = first + n as i64;
            event.id = id as u64;
            event.batch = batch;
            buf = encode_event_into(buf, &event)?;
            copy.write(&[&id, &event.target_key(), &buf.as_slice()])
                .map_err(pg)?;
        }
        copy.finish().map_err(pg)?;
        Ok(())
    }

    fn approval(&mut self, id: u64) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
        approval_in(self.t, id)
    }

    fn waiting_files(&mut self) -> Result<Vec<(ApprovalRequest, u64)>, StoreError> {
        self.t
            .query(
                "SELECT request, octet_length(file) FROM approvals WHERE file IS NOT NULL",
                &[],
            )
            .map_err(pg)?
            .iter()
            .map(|row| Ok((decode(row.get::<_, &[u8]>(0))?, row.get::<_, i32>(1) as u64)))
            .collect()
    }

    fn put_approval(
        &mut self,
        request: &ApprovalRequest,
        file: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO approvals (id, request, file) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET request = EXCLUDED.request, file = EXCLUDED.file",
            &[&(request.id as i64), &encode(request)?, &file],
        )
        .map(drop)
    }

    fn has_password(&mut self, key: &UserKey) -> Result<bool, StoreError> {
        let key = key.as_str();
        Ok(self
            .t
            .query_opt("SELECT 1 FROM credentials WHERE key = $1", &[&key])
            .map_err(pg)?
            .is_some())
    }

    fn put_password(&mut self, key: &UserKey, phc: &str, epoch_ms: i64) -> Result<(), StoreError> {
        let key = key.as_str();
        self.exec(
            "INSERT INTO credentials (key, phc) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET phc = EXCLUDED.phc",
            &[&key, &phc],
        )?;
        self.exec(
            "INSERT INTO password_epochs (key, epoch_ms) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET epoch_ms = EXCLUDED.epoch_ms",
            &[&key, &epoch_ms],
        )
        .map(drop)
    }

    fn put_link(&mut self, token_id: &str, link: &SignInLink) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO links (id, user_key, expires_at) VALUES ($1, $2, $3)",
            &[&token_id, &link.user_key.as_str(), &link.expires_at],
        )
        .map(drop)
    }

    fn link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError> {
        let row = self
            .t
            .query_opt(
                "SELECT user_key, expires_at FROM links WHERE id = $1",
                &[&token_id],
            )
            .map_err(pg)?;
        row.map(|r| link_of(r.get(0), r.get(1))).transpose()
    }

    fn take_link(&mut self, token_id: &str) -> Result<Option<SignInLink>, StoreError> {
        let row = self
            .t
            .query_opt(
                "DELETE FROM links WHERE id = $1 RETURNING user_key, expires_at",
                &[&token_id],
            )
            .map_err(pg)?;
        row.map(|r| link_of(r.get(0), r.get(1))).transpose()
    }

    fn revoke_links(&mut self, key: &UserKey) -> Result<u64, StoreError> {
        let key = key.as_str();
        self.exec("DELETE FROM links WHERE user_key = $1", &[&key])
    }

    fn purge_expired_links(&mut self, now: i64) -> Result<u64, StoreError> {
        self.exec("DELETE FROM links WHERE expires_at <= $1", &[&now])
    }

    fn end_sessions(&mut self, key: &UserKey) -> Result<(), StoreError> {
        let key = key.as_str();
        self.exec("DELETE FROM sessions WHERE user_key = $1", &[&key])
            .map(drop)
    }

    fn forget_credentials(&mut self, key: &UserKey) -> Result<(), StoreError> {
        let text = key.as_str();
        self.exec("DELETE FROM credentials WHERE key = $1", &[&text])?;
        self.exec("DELETE FROM password_epochs WHERE key = $1", &[&text])?;
        self.revoke_links(key)?;
        self.end_sessions(key)
    }

    fn new_token(&mut self) -> String {
        new_token()
    }

    fn token(&mut self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        super::tokens::token_in(self.t, id)
    }

    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError> {
        super::tokens::put_token_in(self.t, token)
    }

    fn external_id(&mut self, key: &UserKey) -> Result<Option<String>, StoreError> {
        let key = key.as_str();
        super::external_ids::external_id_in(self.t, key)
    }

    fn set_external_id(
        &mut self,
        key: &UserKey,
        external_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = key.as_str();
        super::external_ids::set_external_id_in(self.t, key, external_id)
    }

    fn put_outbox(&mut self, message: &OutboxMessage) -> Result<(), StoreError> {
        super::outbox::put_in(self.t, message)
    }

    fn outbox_message(&mut self, id: u64) -> Result<Option<OutboxMessage>, StoreError> {
        super::outbox::message_in(self.t, id)
    }

    fn due_outbox(&mut self, now: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        super::outbox::due_in(self.t, now, limit)
    }

    fn outbox_counts(&mut self) -> Result<OutboxCounts, StoreError> {
        super::outbox::counts_in(self.t)
    }

    fn outbox_in(
        &mut self,
        state: MailState,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        super::outbox::in_state(self.t, state, limit)
    }
}

/// Moves the users' counters (`user_counts`, by end state and source) by
/// what these writes change: one statement, inside the writing
/// transaction (writers are serialised by the write lock).
fn count_users(t: &mut Transaction<'_>, writes: &[UserWrite<'_>]) -> Result<(), StoreError> {
    let mut deltas = [0i64; Facets::COUNT];
    let every = Facets::every();
    let mut count = |user: &User, delta: i64| {
        if let Some(i) = every.iter().position(|f| *f == Facets::of(user)) {
            deltas[i] += delta;
        }
    };
    for w in writes {
        if let Some(before) = w.before {
            count(before, -1);
        }
        if let Some(after) = w.after {
            count(after, 1);
        }
    }
    let (codes, deltas): (Vec<&str>, Vec<i64>) = every
        .iter()
        .zip(deltas)
        .filter(|(_, d)| *d != 0)
        .map(|(f, d)| (f.code(), d))
        .unzip();
    if codes.is_empty() {
        return Ok(());
    }
    t.execute(
        "INSERT INTO user_counts (facets, n) SELECT * FROM UNNEST($1::text[], $2::bigint[]) \
         ON CONFLICT (facets) DO UPDATE SET n = user_counts.n + EXCLUDED.n",
        &[&codes, &deltas],
    )
    .map_err(pg)?;
    Ok(())
}

/// Takes `n` numbers from a counter in `meta`; returns the first.
fn next_counter(t: &mut Transaction<'_>, name: &str, n: i64) -> Result<i64, StoreError> {
    let row = t
        .query_one(
            "INSERT INTO meta (name, value) VALUES ($1, 1 + $2::bigint) \
             ON CONFLICT (name) DO UPDATE SET value = meta.value + $2::bigint \
             RETURNING value - $2::bigint",
            &[&name, &n],
        )
        .map_err(pg)?;
    Ok(row.get(0))
}
