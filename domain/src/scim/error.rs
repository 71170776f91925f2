//! SCIM errors as data (RFC 7644 §3.12): an HTTP status, an optional
//! `scimType` keyword and a message a person can act on. Everything in
//! `scim` returns these, so the wiring sends `to_json()` with `status` as
//! the HTTP status and nothing else to decide.

use serde_json::{Value, json};
use std::fmt;

/// The schema URI of an error response.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12, Table 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed SCIM request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> ScimError {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`: the one status every `scimType` of Table 9
    /// is defined for.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> ScimError {
        ScimError::new(400, Some(scim_type), detail)
    }

    /// 409 `uniqueness`: a user with this `userName` exists (RFC 7644 §3.3).
    pub fn uniqueness(detail: impl Into<String>) -> ScimError {
        ScimError::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 404: no resource with this id.
    pub fn not_found(id: &str) -> ScimError {
        ScimError::new(404, None, format!("Resource {id} not found"))
    }

    /// 412: the `If-Match` version is not the stored one.
    pub fn precondition_failed(detail: impl Into<String>) -> ScimError {
        ScimError::new(412, None, detail)
    }

    /// The response body (RFC 7644 §3.12): `status` is a JSON string.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::from(t.as_str());
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {t}: {}", self.status, self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_rfc_7644_section_3_12() {
        let e = ScimError::bad_request(ScimType::Mutability, "Attribute 'id' is readOnly");
        assert_eq!(
            e.to_json(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "scimType": "mutability",
                "detail": "Attribute 'id' is readOnly",
                "status": "400"
            })
        );
        let missing = ScimError::not_found("2819c223").to_json();
        assert_eq!(missing["status"], "404");
        assert!(missing.get("scimType").is_none(), "optional: left out");
        assert_eq!(missing["detail"], "Resource 2819c223 not found");
        assert_eq!(ScimError::uniqueness("taken").status, 409);
        assert_eq!(e.to_string(), "400 mutability: Attribute 'id' is readOnly");
    }
}
