//! The redb engine's tables and schema version, and what opening a store
//! does: create what is missing, seed the default options, and bring an
//! older store up to date (no offline migration).
//!
//! # Schema (version 10)
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `schema_version`, `next_batch_id` | u64 |
//! | `users` | email key (lower-cased) | encoded `User` |
//! | `options` | option key | text value (see `domain::options`) |
//! | `batches` | batch id | encoded `BatchRecord` |
//! | `credentials` | email key | argon2id PHC string |
//! | `links` | SHA-256 (hex) of a sign-in token | encoded `SignInLink` |
//! | `user_links` (multimap) | email key | SHA-256 (hex) of each of its link tokens |
//! | `password_epochs` | email key | Unix ms of the last password change |
//! | `sessions` | SHA-256 (hex) of a session id | JSON of the session's data and expiry (never its id) |
//! | `audit` | event id (in order) | encoded `domain::audit::AuditEvent` |
//! | `audit_by_user` (multimap) | email key | ids of that user's events |
//! | `users_by_*`, `user_words`, `user_counts` | see [`super::user_index`] | |
//! | `approvals` | request id | encoded `domain::approval::ApprovalRequest` |
//! | `approval_files` | request id | the file's bytes, until the request is decided |
//! | `batch_corrections` | batch id | encoded `Correction`: cells fixed in the preview, original SHA-256 |
//! | `secrets` | name (e.g. `device-cookie`) | 32 random bytes, made on first use |
//! | `api_tokens` | a token's public id (16 hex digits) | encoded `domain::token::ApiToken` (its secret's SHA-256, never the secret) |
//! | `scim_external_ids` | email key | the user's SCIM `externalId` |
//! | `scim_users_by_external_id` (multimap) | SCIM `externalId` | email keys |
//! | `outbox` | message id | encoded `domain::mail::OutboxMessage` (the link's token until sent) |
//! | `outbox_due` | (next attempt, Unix s; message id) of each queued message | () |
//!
//! Version 1 stored sessions as whole tower-sessions records, id included;
//! opening such a store removes them (everyone signs in again) and indexes
//! the existing links by user. Version 4 marks stores that hold records of
//! format 3 (an older roster refuses them). Version 5 added `api_tokens`
//! and the audit actions of tokens, which an older roster cannot read (it
//! refuses the file instead); a store of 4 or before gets the table when
//! opened, nothing else changes. Version 6 added the SCIM tables and the
//! audit action "Removed over SCIM", likewise; version 7 `outbox` and
//! `outbox_due` and the audit actions of mail, in the same way. Versions 1 and 2 had no user indexes:
//! opening such a store builds them. Version 8 keeps no search word that
//! starts another of the same user's words: opening a store of 3 to 7
//! writes its word index again. Version 9 stores the event of a user an
//! import creates without the user's values (`domain::audit::derived`),
//! which an older roster would show empty; nothing else changes.
//! Version 10 leaves out of the word index the words a search finds
//! through the email and name indexes (`domain::directory::index_words`):
//! opening a store of 3 to 9 writes its word index again, and an older
//! roster, whose search reads the word index alone, refuses the file.
//!
//! Encoded values are as both engines encode them
//! ([`crate::engine::codec`]): one format byte, then postcard.

use super::{RedbStore, backend};
use domain::options::Options;
use domain::store::StoreError;
use redb::{MultimapTableDefinition, ReadableTable, TableDefinition};

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
pub(super) const OPTIONS: TableDefinition<&str, &str> = TableDefinition::new("options");
pub(super) const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
pub(super) const CREDENTIALS: TableDefinition<&str, &str> = TableDefinition::new("credentials");
pub(super) const LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("links");
pub(super) const USER_LINKS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("user_links");
pub(super) const EPOCHS: TableDefinition<&str, i64> = TableDefinition::new("password_epochs");
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
pub(super) const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
pub(super) const AUDIT_BY_USER: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("audit_by_user");
pub(super) const APPROVALS: TableDefinition<u64, &[u8]> = TableDefinition::new("approvals");
pub(super) const APPROVAL_FILES: TableDefinition<u64, &[u8]> =
    TableDefinition::new("approval_files");
pub(super) const CORRECTIONS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("batch_corrections");
pub(super) const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
pub(super) const API_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_tokens");
pub(super) const EXTERNAL_IDS: TableDefinition<&str, &str> =
    TableDefinition::new("scim_external_ids");
pub(super) const USERS_BY_EXTERNAL_ID: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("scim_users_by_external_id");
pub(super) const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
pub(super) const OUTBOX_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("outbox_due");

/// 4: records of format 3 (see [`crate::engine::codec`]); 5: API tokens
/// and their audit actions; 6: SCIM externalIds and "Removed over SCIM";
/// 7: the mail outbox and the audit actions of mail; 8: no search word
/// that starts another of its user's (an older roster would leave such
/// words behind when a user changes); 9: an imported user's creation
/// event without its values; 10: no word-index entry for the first word
/// of a user's address or name (found through their indexes).
/// An older roster refuses the file instead of failing at the first
/// record it cannot read.
const SCHEMA_VERSION: u64 = 10;

impl RedbStore {
    pub(super) fn init(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let mut rebuild_indexes = false;
        let mut rebuild_words = false;
        {
            let mut meta = txn.open_table(META).map_err(backend)?;
            let version = meta
                .get("schema_version")
                .map_err(backend)?
                .map(|v| v.value());
            match version {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(backend)?;
                    meta.insert("next_batch_id", 1).map_err(backend)?;
                }
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::Backend(format!(
                        "the store has schema version {v}, newer than this roster ({SCHEMA_VERSION})"
                    )));
                }
                Some(old) if old < SCHEMA_VERSION => {
                    if old < 2 {
                        super::sessions::clear_all(&txn)?;
                        super::credentials::index_links_by_user(&txn)?;
                    }
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(backend)?;
                    // Version 3 had the indexes; 4 changed only records,
                    // 5, 6 and 7 added tables (opened below); 8 keeps
                    // fewer search words; 9 only marks the events; 10
                    // keeps fewer search words again.
                    rebuild_indexes = old < 3;
                    rebuild_words = old < 10 && !rebuild_indexes;
                }
                Some(_) => {}
            }
            super::user_index::ensure(&txn, rebuild_indexes)?;
            if rebuild_words {
                super::user_index::rebuild_words(&txn)?;
            }
            txn.open_table(BATCHES).map_err(backend)?;
            txn.open_table(CREDENTIALS).map_err(backend)?;
            txn.open_table(LINKS).map_err(backend)?;
            txn.open_multimap_table(USER_LINKS).map_err(backend)?;
            txn.open_table(AUDIT).map_err(backend)?;
            txn.open_multimap_table(AUDIT_BY_USER).map_err(backend)?;
            txn.open_table(APPROVALS).map_err(backend)?;
            txn.open_table(APPROVAL_FILES).map_err(backend)?;
            txn.open_table(CORRECTIONS).map_err(backend)?;
            txn.open_table(SECRETS).map_err(backend)?;
            txn.open_table(API_TOKENS).map_err(backend)?;
            txn.open_table(EXTERNAL_IDS).map_err(backend)?;
            txn.open_multimap_table(USERS_BY_EXTERNAL_ID)
                .map_err(backend)?;
            txn.open_table(OUTBOX).map_err(backend)?;
            txn.open_table(OUTBOX_DUE).map_err(backend)?;
            txn.open_table(EPOCHS).map_err(backend)?;
            txn.open_table(SESSIONS).map_err(backend)?;
            let mut options = txn.open_table(OPTIONS).map_err(backend)?;
            for (k, v) in Options::default().to_pairs() {
                if options.get(k.as_str()).map_err(backend)?.is_none() {
                    options.insert(k.as_str(), v.as_str()).map_err(backend)?;
                }
            }
        }
        txn.commit().map_err(backend)
    }
}
