//! SCIM 2.0 provisioning (RFC 7643, RFC 7644), the pure part: the filter
//! language, the mapping between a [`User`](crate::User) and a SCIM User
//! resource (core schema and enterprise extension), PATCH, errors, list
//! responses and the discovery documents. No HTTP, no storage: the wiring
//! reads bodies and query parameters, calls these functions and sends
//! what they return.
//!
//! A resource's `id` is whatever the wiring passes (the user's key), and
//! `externalId` is carried in and out but stored nowhere (`User` has no
//! field for it).

mod doc;
pub mod error;
pub mod filter;
pub mod group;
pub mod list;
pub mod patch;
pub mod provision;
pub mod schema;
pub mod user;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use group::{GROUP_URN, Membership};
pub use list::{ListResponse, Page};
pub use patch::PatchRequest;
pub use schema::{resource_types, schemas, service_provider_config};
pub use user::{ScimUserInput, Write, etag, etag_matches, project, user_resource};

/// The core User schema.
pub const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension.
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The user the tests describe: Ada, with a phone, a title, an employee
/// number and a department, version 3, created 2010-01-23T04:56:22Z and
/// last changed 2011-05-13T04:42:34Z.
#[cfg(test)]
pub(crate) fn ada() -> crate::User {
    let mut ada = crate::manual::manual_user(
        &[
            (crate::Field::Email, "Ada@Example.org"),
            (crate::Field::FirstName, "Ada"),
            (crate::Field::LastName, "Lovelace"),
            (crate::Field::Title, "Countess"),
            (crate::Field::Phone, "+44 1"),
            (crate::Field::EmployeeNumber, "E-1"),
            (crate::Field::Department, "Maths"),
        ],
        &crate::Options::default(),
    )
    .unwrap();
    ada.created_at = 1_264_222_582; // 2010-01-23T04:56:22Z
    ada.updated_at = 1_305_261_754; // 2011-05-13T04:42:34Z
    ada.version = 3;
    ada
}
