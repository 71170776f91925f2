//! The last stage: the fingerprint of a plan, by which the server knows
//! that the plan it recomputed inside its transaction is the one the
//! operator saw.

use crate::field::Field;
use crate::plan::{Action, PlannedRow};
use crate::user::User;
use sha2::{Digest, Sha256};

/// SHA-256 over each row's line, action and what it writes; an update or
/// unchanged row is tied to the stored version it was planned against.
/// Fields are separated by 0x1f (not in validated text); no allocation per
/// row. Made row by row, as the plan is made.
#[derive(Default)]
pub(crate) struct Fingerprint(Sha256);

impl Fingerprint {
    pub(crate) fn add(&mut self, row: &PlannedRow) {
        fn text(h: &mut Sha256, s: &str) {
            h.update(s.as_bytes());
            h.update([0x1f]);
        }
        fn user(h: &mut Sha256, u: &User) {
            for f in Field::ALL {
                text(h, u.field(f));
            }
            h.update([u.roles.bits(), u.end_state as u8, u.source as u8]);
            h.update(u.version.to_le_bytes());
        }
        let h = &mut self.0;
        h.update(row.line.to_le_bytes());
        text(h, row.action.name());
        match &row.action {
            Action::Create(u) => user(h, u),
            Action::Unchanged { email, version, .. } => {
                text(h, email.as_str());
                h.update(version.to_le_bytes());
            }
            Action::Update { before, after, .. } => {
                h.update(before.version.to_le_bytes());
                user(h, after);
            }
            Action::Invalid { email, errors } => {
                text(h, email);
                for e in errors {
                    text(h, &e.column);
                    text(h, &e.message);
                }
            }
        }
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// A plan's fingerprint extended by its sync (see [`sync_digest`]).
pub(crate) fn with_sync(rows: &str, sync: &crate::plan::SyncPlan) -> String {
    with_sync_digest(rows, &sync_digest(sync))
}

/// The digest of a sync's part of a plan: the scope, the number of
/// candidates and each deactivated user's key and stored version (a user
/// edited since the preview changes it). The server makes it for the
/// browser's preview of a sync, which combines it with the fingerprint of
/// its own plan of the rows ([`with_sync_digest`]) as the server does when
/// it commits.
pub fn sync_digest(sync: &crate::plan::SyncPlan) -> String {
    let mut h = Sha256::new();
    h.update(
        sync.settings
            .scope()
            .unwrap_or("")
            .to_lowercase()
            .as_bytes(),
    );
    h.update([0x1f]);
    h.update(sync.candidates.to_le_bytes());
    for d in &sync.deactivations {
        h.update(d.before.key().as_str().as_bytes());
        h.update([0x1f]);
        h.update(d.before.version.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// The fingerprint of the rows' plan `rows` extended by a sync's digest.
pub fn with_sync_digest(rows: &str, digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(rows.as_bytes());
    h.update(b"\x1fsync\x1f");
    h.update(digest.as_bytes());
    hex::encode(h.finalize())
}
