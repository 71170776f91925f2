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
/// row.
pub(crate) fn fingerprint(rows: &[PlannedRow]) -> String {
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
    let mut h = Sha256::new();
    for row in rows {
        h.update(row.line.to_le_bytes());
        text(&mut h, row.action.name());
        match &row.action {
            Action::Create(u) => user(&mut h, u),
            Action::Unchanged { email, version, .. } => {
                text(&mut h, email.as_str());
                h.update(version.to_le_bytes());
            }
            Action::Update { before, after, .. } => {
                h.update(before.version.to_le_bytes());
                user(&mut h, after);
            }
            Action::Invalid { email, errors } => {
                text(&mut h, email);
                for e in errors {
                    text(&mut h, &e.column);
                    text(&mut h, &e.message);
                }
            }
        }
    }
    hex::encode(h.finalize())
}
