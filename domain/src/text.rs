//! Validated profile values: one type per field of the user record, so a
//! `Profile` can only hold text that passed its field's rule (trimmed, NFC,
//! within the length, allowed characters), and a value of one field cannot
//! be put into another (a compile error, not a check at run time). The empty value means "not
//! given" (optional fields; required ones are checked per row or form).
//!
//! Deserialising does not validate again: values come from our own store
//! or our own server. Everything typed or uploaded goes through `parse`
//! (or through `Field::validate` in the plan, which is the same rule).

use crate::field::{Field, FieldError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Deref;

macro_rules! validated_text {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The field whose values this type holds.
            pub const FIELD: Field = Field::$name;

            /// Validates a cell under this field's rule (and message).
            /// Blank gives the empty value.
            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                if raw.trim().is_empty() {
                    return Ok(Self::default());
                }
                Self::FIELD.validate(raw.trim()).map(|v| Self(v.into_owned()))
            }

            /// Text that `Field::validate` accepted for this field (a
            /// `ProfilePatch` validates each cell once), or that is made of
            /// such text.
            pub(crate) fn validated(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

validated_text!(
    /// First name: at most 100 characters, no control characters.
    FirstName
);
validated_text!(
    /// Last name: at most 100 characters, no control characters.
    LastName
);
validated_text!(
    /// Display name: at most 200 characters, no control characters (also
    /// the one derived from first and last name when none is given).
    DisplayName
);
validated_text!(
    /// Phone: digits, spaces and + - ( ) . only, at most 32.
    Phone
);
validated_text!(
    /// Mobile: as a phone.
    Mobile
);
validated_text!(
    /// Employee number: at most 64 characters.
    EmployeeNumber
);
validated_text!(
    /// Title: at most 200 characters.
    Title
);
validated_text!(
    /// Department: at most 200 characters.
    Department
);
validated_text!(
    /// Organization: at most 200 characters.
    Organization
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn parse_applies_the_fields_rule_and_blank_is_empty() {
        let n = FirstName::parse("  Zoe\u{0308} ").unwrap();
        assert_eq!(n, "Zoë", "trimmed and NFC");
        assert!(LastName::parse("").unwrap().is_empty());
        let long = "x".repeat(101);
        let e = LastName::parse(&long).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLong);
        assert!(e.message.starts_with("Last name"), "{}", e.message);
        assert_eq!(
            Mobile::parse("call me").unwrap_err().code,
            ErrorCode::InvalidPhone
        );
        assert_eq!(
            Title::parse("a\u{7}b").unwrap_err().code,
            ErrorCode::ControlCharacter
        );
        assert_eq!(Department::FIELD, Field::Department);
    }
}
