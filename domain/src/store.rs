//! The store port: what the app needs from persistence. An engine (redb,
//! PostgreSQL, in `server`) implements the reads and one write transaction
//! ([`Store::transact`] over [`crate::transaction::WriteTx`]); every change
//! is a provided method here that runs a use case of [`crate::usecase`] in
//! that transaction, so the rules are the same on every engine.

use crate::by::By;
use crate::email::UserKey;
use crate::plan::{Counts, ImportPlan};
use crate::privilege::Actor;
use crate::user::User;
use serde::{Deserialize, Serialize};
use std::fmt;

mod credentials;
mod port;
mod tokens;

pub use credentials::{Credentials, LinkRefused};
pub use port::{SESSION_USER, Store, run};
pub use tokens::{TokenAuthError, Tokens};

/// What an import asks the store to do.
#[derive(Clone, Debug)]
pub struct ImportRequest<'a> {
    pub bytes: &'a [u8],
    pub file_name: &'a str,
    pub operator: By,
    /// Whose authority the import runs with: rows the actor may not apply
    /// are Invalid (the privilege rule).
    pub actor: Actor,
    /// The fingerprint of the plan the operator saw, if any: when the plan
    /// recomputed inside the transaction differs, nothing is written.
    pub expected_fingerprint: Option<&'a str>,
    /// Commit the valid rows and skip the invalid ones, instead of refusing
    /// the whole file when any row is invalid.
    pub skip_invalid: bool,
    /// The bytes are a file corrected in the preview: recorded with the
    /// batch.
    pub corrected: Option<Correction>,
    /// Current time, Unix seconds.
    pub now: i64,
}

/// A sync import's request beyond the file (see `usecase::apply_sync_import`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub settings: crate::plan::SyncSettings,
    /// Confirms a sync the safety valve refuses (honoured for the machine
    /// owner and administrators only).
    pub force: bool,
    /// Plan inside the transaction and write nothing (the answer is
    /// `NothingToWrite`, or the valve's refusal).
    pub dry_run: bool,
}

/// Cells the operator corrected in the preview before committing, and the
/// SHA-256 of the file as it was chosen (the batch's own SHA-256 is the
/// corrected file's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub cells: u32,
    pub original_sha256: String,
}

/// A committed import or undo, as history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub id: u64,
    pub operator: String,
    pub at: i64,
    pub file_name: String,
    pub sha256: String,
    pub counts: Counts,
    /// Set when this batch is the undo of another.
    pub undo_of: Option<u64>,
    /// Set when this batch was undone by a later one.
    pub undone_by: Option<u64>,
    /// Who approved it, when it waited for approval (the sender is
    /// `operator`).
    pub approved_by: Option<String>,
}

impl BatchSummary {
    /// The warning shown before a file with this batch's SHA-256 is
    /// imported again (CLI and web alike).
    pub fn reimport_warning(&self) -> String {
        format!(
            "This file was already imported as batch {} ({} by {}{}).",
            self.id,
            crate::time::rfc3339(self.at),
            self.operator,
            if self.undone_by.is_some() {
                ", since undone"
            } else {
                ""
            }
        )
    }
}

/// The result of `apply_import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportOutcome {
    /// Written, in one transaction.
    Committed {
        batch: BatchSummary,
        plan: ImportPlan,
    },
    /// The store changed since the preview: nothing written; here is the
    /// fresh plan.
    ChangedSincePreview { plan: ImportPlan },
    /// Invalid rows and no `skip_invalid`: nothing written.
    Blocked { plan: ImportPlan },
    /// No row creates or changes a user (all unchanged, or only skipped
    /// invalid rows), or a sync's dry run: nothing written, and no batch
    /// recorded.
    NothingToWrite { plan: ImportPlan },
    /// A sync would deactivate more than `import.sync_max_deactivate_percent`
    /// of its candidates and was not confirmed: nothing written.
    TooManyDeactivations { plan: ImportPlan, message: String },
    /// More creates + updates than `import.approval_above`: nothing
    /// written; the file waits for a second person's approval.
    SentForApproval {
        request: crate::approval::ApprovalRequest,
        plan: ImportPlan,
    },
}

/// What an approver decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// The result of `decide_approval`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// One per approval decision: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum ApprovalOutcome {
    /// Written as this batch.
    Approved {
        batch: BatchSummary,
        /// The sign-in link mails queued with it (`None`: no mail server,
        /// or `enrolment.email_on_import` off).
        mailed: Option<crate::usecase::mail::Queued>,
    },
    Rejected,
    /// The users changed since the request was sent: nothing written; the
    /// request is closed as "Changed since preview".
    Stale,
}

/// Users by end state and source (the start page's overview).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStats {
    pub total: u64,
    pub active: u64,
    pub inactive: u64,
    pub csv: u64,
    pub manual: u64,
    pub bootstrap: u64,
    pub scim: u64,
}

impl UserStats {
    pub fn count(&mut self, user: &User) {
        self.add(crate::directory::Facets::of(user), 1);
    }

    /// Adds `n` users of these facets (an engine's counter).
    pub fn add(&mut self, facets: crate::directory::Facets, n: u64) {
        use crate::user::{EndState, Source};
        self.total += n;
        match facets.end_state {
            EndState::Active => self.active += n,
            EndState::Inactive => self.inactive += n,
        }
        match facets.source {
            Source::Csv => self.csv += n,
            Source::Manual => self.manual += n,
            Source::Bootstrap => self.bootstrap += n,
            Source::Scim => self.scim += n,
        }
    }
}

/// An operator's edit of one user (the user's page, or the CLI).
#[derive(Clone, Debug)]
pub struct UserEdit<'a> {
    pub key: &'a UserKey,
    /// The form's fields (the email is not editable: it is the key).
    pub cells: &'a [(crate::Field, &'a str)],
    /// New roles (administrators only), or `None` to keep them.
    pub roles: Option<crate::Roles>,
    /// The version the editor saw: when the stored one differs, nothing is
    /// written and the fresh record comes back.
    pub expected_version: u64,
    pub operator: By,
    pub actor: Actor,
    pub now: i64,
}

/// The result of `edit_user`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EditOutcome {
    /// Written; the record as stored now.
    Saved(User),
    /// Nothing differs: nothing written.
    Unchanged(User),
    /// The user changed since the editor read it: nothing written; the
    /// record as it is now, and the changes the edit would make to it.
    ChangedMeanwhile {
        current: User,
        changes: Vec<crate::plan::Change>,
    },
    /// Nothing written: what is wrong, field by field.
    Invalid(Vec<crate::error::RowError>),
}

/// The result of `undo_batch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UndoOutcome {
    Undone {
        batch: BatchSummary,
    },
    /// Users changed after the batch: nothing written. Their emails.
    Refused {
        changed: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreError {
    /// The file is not a users CSV (nothing written).
    File(crate::error::FileError),
    NotFound(String),
    Invalid(String),
    /// The privilege rule (or the last-administrator rule) refuses.
    Forbidden(String),
    /// Someone changed the record meanwhile, or it exists already.
    Conflict(String),
    /// The database is held by another process (e.g. a running server).
    Locked(String),
    /// The database cannot be reached (a database server that is down):
    /// nothing was written; asking again later may work.
    Unavailable(String),
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::File(e) => e.fmt(f),
            StoreError::NotFound(m)
            | StoreError::Invalid(m)
            | StoreError::Forbidden(m)
            | StoreError::Conflict(m)
            | StoreError::Locked(m)
            | StoreError::Unavailable(m) => f.write_str(m),
            StoreError::Backend(m) => write!(f, "storage error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}
/// What provisioning clients keep beside a user: its SCIM `externalId`
/// (the client's own id for the user; not unique, case-exact), apart
/// from the user record, which no other path reads.
pub trait ExternalIds {
    fn external_id(&self, key: &UserKey) -> Result<Option<String>, StoreError>;
    /// Every user's `externalId`, by user key (for a list that reads
    /// every user anyway).
    fn all_external_ids(&self) -> Result<std::collections::HashMap<String, String>, StoreError>;
    /// The users with exactly this `externalId` (at most `limit`).
    fn users_with_external_id(
        &self,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
}

/// Everything the web app needs: the users store, credentials, API
/// tokens and what provisioning clients keep.
pub trait AppStore: Store + Credentials + Tokens + ExternalIds {}
impl<T: Store + Credentials + Tokens + ExternalIds> AppStore for T {}

/// Hex SHA-256 of a file, as recorded in batches.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    // In slices, not in one call: a browser's wasm engine optimises a
    // function for its next call, and one call over 150 MB ran entirely
    // in its slow first tier (measured in Chromium: 4 s instead of 0.5 s
    // for a million rows).
    for slice in bytes.chunks(1 << 20) {
        hasher.update(slice);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_fed_in_slices_is_the_hash_of_the_whole() {
        use sha2::{Digest, Sha256};
        // Larger than one slice, not a multiple of it.
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let whole = sha256_hex(&bytes);
        assert_eq!(whole, hex::encode(Sha256::digest(&bytes)));
        // The known value of the empty input.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(sha256_hex(&bytes[1..]), whole);
    }
}
