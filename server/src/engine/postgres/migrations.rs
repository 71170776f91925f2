//! The PostgreSQL engine's schema: SQL migrations applied in order at
//! open, under an advisory lock (two servers starting at once migrate one
//! after the other), and recorded in `roster_schema`. A migration once
//! released is never changed; a change of the schema is a new one at the
//! end.

use super::{PgStore, WRITE_LOCK, pg};
use domain::options::Options;
use domain::store::StoreError;

/// The schema, one migration a step; a store records how many it applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (name text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE options (key text PRIMARY KEY, value text NOT NULL);
-- Keys and sort keys compare byte by byte (COLLATE "C"), as the domain's
-- sort does: the Users page reads its pages from these indexes.
CREATE TABLE users (
    key text COLLATE "C" PRIMARY KEY,
    record bytea NOT NULL,
    active_admin boolean NOT NULL,
    active boolean NOT NULL,
    source text NOT NULL,
    name_key text COLLATE "C" NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX users_active_admin ON users (key) WHERE active_admin;
CREATE INDEX users_by_name ON users (name_key, key);
CREATE INDEX users_by_updated ON users (updated_at DESC, key);
-- The words a user is found by ("Search users"), read as a prefix range.
CREATE TABLE user_words (
    word text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    PRIMARY KEY (word, key)
);
CREATE TABLE batches (
    id bigint PRIMARY KEY,
    sha256 text NOT NULL,
    undo_of bigint,
    summary bytea NOT NULL,
    touched bytea NOT NULL
);
CREATE INDEX batches_sha256 ON batches (sha256);
CREATE TABLE batch_corrections (batch bigint PRIMARY KEY, record bytea NOT NULL);
CREATE TABLE audit (id bigint PRIMARY KEY, user_key text NOT NULL, event bytea NOT NULL);
CREATE INDEX audit_user_key ON audit (user_key, id);
CREATE TABLE approvals (id bigint PRIMARY KEY, request bytea NOT NULL, file bytea);
CREATE TABLE credentials (key text PRIMARY KEY, phc text NOT NULL);
CREATE TABLE password_epochs (key text PRIMARY KEY, epoch_ms bigint NOT NULL);
CREATE TABLE links (id text PRIMARY KEY, user_key text NOT NULL, expires_at bigint NOT NULL);
CREATE INDEX links_user_key ON links (user_key);
CREATE TABLE sessions (
    id text PRIMARY KEY,
    user_key text,
    expires bigint NOT NULL,
    data bytea NOT NULL
);
CREATE INDEX sessions_user_key ON sessions (user_key);
CREATE TABLE throttle (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    until_ms bigint NOT NULL,
    last_ms bigint NOT NULL
);
CREATE INDEX throttle_last_ms ON throttle (last_ms);
"#,
    r#"
-- The remaining user-key columns compare byte by byte too. On a database
-- whose default collation is a language's (en-US, say) their indexes
-- otherwise compare by that locale's rules: 100 000 audit events took
-- 0.9-1.0 s to insert there instead of 0.65-0.8 s. Equality is the same
-- under either collation, so no query's answer changes.
ALTER TABLE audit ALTER COLUMN user_key TYPE text COLLATE "C";
ALTER TABLE links ALTER COLUMN user_key TYPE text COLLATE "C";
ALTER TABLE sessions ALTER COLUMN user_key TYPE text COLLATE "C";
ALTER TABLE credentials ALTER COLUMN key TYPE text COLLATE "C";
ALTER TABLE password_epochs ALTER COLUMN key TYPE text COLLATE "C";
"#,
    r#"
-- Server secrets (the key that signs device cookies), made on first use
-- and shared by every server on the database.
CREATE TABLE secrets (name text PRIMARY KEY, value bytea NOT NULL);
"#,
    r#"
-- A sync import reads the active imported users (its candidates) from
-- this index instead of every user.
CREATE INDEX IF NOT EXISTS users_sync_candidates ON users (key) WHERE active AND source = 'CSV';
"#,
    r#"
-- API tokens (SCIM clients and other systems), by their public id; the
-- record holds the SHA-256 of the secret, never the secret.
CREATE TABLE api_tokens (id text COLLATE "C" PRIMARY KEY, record bytea NOT NULL);
"#,
    r#"
-- The externalId a SCIM client keeps for a user (case-exact, not
-- unique), found by its value for the filter externalId eq "...". This
-- version also brings the audit action "Removed over SCIM", which an
-- older roster cannot read: it refuses the newer schema instead.
CREATE TABLE scim_external_ids (
    user_key text COLLATE "C" PRIMARY KEY,
    external_id text COLLATE "C" NOT NULL
);
CREATE INDEX scim_external_ids_by_value ON scim_external_ids (external_id);
"#,
    r#"
-- How many users have each end state and source (the two-letter codes of
-- domain::directory::Facets: a/i, then c/m/b/s), kept by every write
-- transaction that writes users: the Users page's totals and the start
-- page's numbers come from here instead of counting rows. Filled once from
-- the users stored.
CREATE TABLE user_counts (facets text COLLATE "C" PRIMARY KEY, n bigint NOT NULL);
INSERT INTO user_counts (facets, n)
SELECT (CASE WHEN active THEN 'a' ELSE 'i' END)
       || (CASE source WHEN 'CSV' THEN 'c' WHEN 'Manual' THEN 'm'
                       WHEN 'Bootstrap' THEN 'b' WHEN 'SCIM' THEN 's' END),
       count(*)
FROM users GROUP BY 1;
"#,
    r#"
-- The mail outbox: a message is written in the transaction of the act
-- that causes it; senders claim the due ones (FOR UPDATE SKIP LOCKED).
-- The record holds the link's token until the message is sent.
CREATE TABLE outbox (
    id bigint PRIMARY KEY,
    state text NOT NULL,
    next_attempt_at bigint NOT NULL,
    user_key text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX outbox_state ON outbox (state, id);
"#,
    r#"
-- A search matches word starts, so a word that starts another of the same
-- user's words finds nobody the longer one does not: such words are no
-- longer kept (domain::directory::search_words), one entry fewer each.
DELETE FROM user_words w USING user_words o
WHERE o.key = w.key AND o.word > w.word AND starts_with(o.word, w.word);
"#,
    r#"
-- The audit event of a user an import creates no longer holds the user's
-- values: they are derived from the record when shown
-- (domain::audit::derived). An older roster would show such events
-- empty, so it refuses this schema instead. No table changes.
SELECT 1;
"#,
    r#"
-- A filter by a rare facet (inactive users; users not from a CSV file)
-- reads an index of those users alone, in each sort order, instead of
-- walking the whole order past everyone else (10 million users: 1.9 s
-- for the inactive 1 % in email order). Users of the common facets
-- (active, from a file) are in none of them, so an import of such users
-- writes nothing more. Building them reads the users table six times
-- inside the migration's transaction: writes to users wait meanwhile
-- (reads do not).
CREATE INDEX IF NOT EXISTS users_inactive_by_key ON users (key) WHERE NOT active;
CREATE INDEX IF NOT EXISTS users_inactive_by_name ON users (name_key, key) WHERE NOT active;
CREATE INDEX IF NOT EXISTS users_inactive_by_updated ON users (updated_at DESC, key) WHERE NOT active;
CREATE INDEX IF NOT EXISTS users_not_csv_by_key ON users (key) WHERE source <> 'CSV';
CREATE INDEX IF NOT EXISTS users_not_csv_by_name ON users (name_key, key) WHERE source <> 'CSV';
CREATE INDEX IF NOT EXISTS users_not_csv_by_updated ON users (updated_at DESC, key) WHERE source <> 'CSV';
"#,
    r#"
-- A search finds a user by the start of its email key and of its name
-- key too (their indexes are there for the sort orders), so the word
-- index no longer keeps an ASCII word (the words are lower-cased letters
-- and digits: ASCII ones are [a-z0-9]) that either starts with
-- (domain::directory::index_words): one or two entries fewer a user.
-- An older roster, whose search reads the word index alone, refuses this
-- schema.
DELETE FROM user_words w USING users u
WHERE u.key = w.key
  AND w.word ~ '^[a-z0-9]+$'
  AND (starts_with(u.key, w.word) OR starts_with(u.name_key, w.word));
"#,
];

/// The schema version this roster migrates a database to.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

impl PgStore {
    pub(super) fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut t = client.transaction().map_err(pg)?;
        // Two servers starting at once migrate one after the other.
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&(WRITE_LOCK + 1)])
            .map_err(pg)?;
        t.batch_execute("CREATE TABLE IF NOT EXISTS roster_schema (version integer NOT NULL)")
            .map_err(pg)?;
        let applied: i32 = match t
            .query_opt("SELECT version FROM roster_schema", &[])
            .map_err(pg)?
        {
            Some(row) => row.get(0),
            None => {
                t.execute("INSERT INTO roster_schema VALUES (0)", &[])
                    .map_err(pg)?;
                0
            }
        };
        if applied as usize > MIGRATIONS.len() {
            return Err(StoreError::Backend(format!(
                "the database has schema version {applied}, newer than this roster ({})",
                MIGRATIONS.len()
            )));
        }
        for sql in &MIGRATIONS[applied as usize..] {
            t.batch_execute(sql).map_err(pg)?;
        }
        t.execute(
            "UPDATE roster_schema SET version = $1",
            &[&(MIGRATIONS.len() as i32)],
        )
        .map_err(pg)?;
        for (k, v) in Options::default().to_pairs() {
            t.execute(
                "INSERT INTO options (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&k, &v],
            )
            .map_err(pg)?;
        }
        t.commit().map_err(pg)
    }
}
