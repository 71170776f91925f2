//! Records as format 1 stored them, before users carried what people
//! decided about them (`User::held`) and batches named their approver:
//! read, converted, never written. Postcard has no field names or
//! lengths per struct, so an old record can only be read with the old
//! layout.

use super::Record;
use domain::approval::ApprovalRequest;
use domain::store::{BatchSummary, Correction};
use domain::transaction::{BatchRecord, SignInLink, Touched};
use domain::user::{EndState, Profile, Roles, Source};
use domain::{Counts, Email, User, UserKey};
use serde::Deserialize;

#[derive(Deserialize)]
struct UserV1 {
    email: Email,
    profile: Profile,
    roles: Roles,
    end_state: EndState,
    source: Source,
    created_at: i64,
    updated_at: i64,
    version: u64,
}

impl From<UserV1> for User {
    fn from(u: UserV1) -> User {
        User {
            email: u.email,
            profile: u.profile,
            roles: u.roles,
            end_state: u.end_state,
            source: u.source,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
            held: Default::default(),
        }
    }
}

#[derive(Deserialize)]
struct BatchSummaryV1 {
    id: u64,
    operator: String,
    at: i64,
    file_name: String,
    sha256: String,
    counts: Counts,
    undo_of: Option<u64>,
    undone_by: Option<u64>,
}

impl From<BatchSummaryV1> for BatchSummary {
    fn from(b: BatchSummaryV1) -> BatchSummary {
        BatchSummary {
            id: b.id,
            operator: b.operator,
            at: b.at,
            file_name: b.file_name,
            sha256: b.sha256,
            counts: b.counts,
            undo_of: b.undo_of,
            undone_by: b.undone_by,
            approved_by: None,
        }
    }
}

#[derive(Deserialize)]
struct TouchedV1 {
    key: String,
    before: Option<UserV1>,
    after_version: Option<u64>,
}

impl From<TouchedV1> for Touched {
    fn from(t: TouchedV1) -> Touched {
        Touched {
            key: UserKey::stored(t.key),
            before: t.before.map(User::from),
            after_version: t.after_version,
        }
    }
}

#[derive(Deserialize)]
struct BatchRecordV1 {
    summary: BatchSummaryV1,
    touched: Vec<TouchedV1>,
}

/// The summary at the start of a format-1 batch record.
pub fn batch_summary(bytes: &[u8]) -> Result<BatchSummary, postcard::Error> {
    postcard::take_from_bytes::<BatchSummaryV1>(bytes).map(|(s, _)| s.into())
}

impl Record for User {
    fn from_format_1(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes::<UserV1>(bytes).map(User::from)
    }
}

impl Record for BatchSummary {
    fn from_format_1(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes::<BatchSummaryV1>(bytes).map(BatchSummary::from)
    }
}

impl Record for Vec<Touched> {
    fn from_format_1(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes::<Vec<TouchedV1>>(bytes)
            .map(|t| t.into_iter().map(Touched::from).collect())
    }
}

impl Record for BatchRecord {
    fn from_format_1(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes::<BatchRecordV1>(bytes).map(|b| BatchRecord {
            summary: b.summary.into(),
            touched: b.touched.into_iter().map(Touched::from).collect(),
        })
    }
}

impl Record for SignInLink {}
impl Record for Correction {}
impl Record for ApprovalRequest {}
