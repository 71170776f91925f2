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
pub mod list;
pub mod patch;
pub mod schema;
pub mod user;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use list::{ListResponse, Page};
pub use patch::PatchRequest;
pub use schema::{resource_types, schemas, service_provider_config};
pub use user::{ScimUserInput, Write, etag, etag_matches, project, user_resource};

/// The core User schema.
pub const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension.
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
