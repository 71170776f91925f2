//! Roster's domain: the user record, its validation rules, the CSV import
//! pipeline (decode → headers → rows → plan) and the store port.
//!
//! Everything here is pure and runs unchanged natively (server, CLI) and in
//! the browser (wasm32), so that the preview an operator sees and the plan the
//! server commits are computed by the same function.

pub mod approval;
pub mod audit;
pub mod by;
pub mod chars;
pub mod correct;
pub mod csv_out;
pub mod decode;
pub mod directory;
pub mod email;
pub mod error;
pub mod field;
pub mod fingerprint;
pub mod header;
pub mod link;
pub mod mail;
pub mod manual;
pub mod options;
pub mod password;
pub mod patch;
pub mod plan;
pub mod privilege;
pub mod rows;
pub mod scim;
pub mod store;
pub mod throttle;
pub mod time;
pub mod token;
pub mod transaction;
pub mod usecase;
pub mod user;

pub use by::By;
pub use email::{Email, UserKey};
pub use error::{ErrorCode, FileError, RowError};
pub use field::Field;
pub use options::{OptionError, Options};
pub use plan::{
    Action, Change, Counts, ImportPlan, PlannedRow, UsersByKey, parse_file, plan, plan_parsed,
};
pub use privilege::{Act, Actor, Rank, Refusal};
pub use user::{EndState, Profile, Role, Roles, Source, User};
