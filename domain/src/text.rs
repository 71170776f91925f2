//! Validated profile values: one type per rule family of the user record, so a
//! `Profile` can only hold text that passed its field's rule (trimmed, NFC,
//! within the length, allowed characters). The empty value means "not
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
    ($(#[$doc:meta])* $name:ident: $($field:ident)|+) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The fields whose values this type holds.
            pub const FIELDS: &'static [Field] = &[$(Field::$field),+];

            /// Validates a cell for `field` (one of [`Self::FIELDS`]; the
            /// rule and the message are that field's). Blank gives the
            /// empty value.
            pub fn parse(field: Field, raw: &str) -> Result<Self, FieldError> {
                if !Self::FIELDS.contains(&field) {
                    return Err(FieldError::wrong_type(field, stringify!($name)));
                }
                if raw.trim().is_empty() {
                    return Ok(Self::default());
                }
                field.validate(raw.trim()).map(|v| Self(v.into_owned()))
            }

            /// Text that `Field::validate` accepted for one of this type's
            /// fields (the plan validates each cell once), or that is made
            /// of such text.
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
    /// First or last name: at most 100 characters, no control characters.
    Name: FirstName | LastName
);
validated_text!(
    /// Display name: at most 200 characters, no control characters (also
    /// the one derived from first and last name when none is given).
    DisplayName: DisplayName
);
validated_text!(
    /// Phone or mobile: digits, spaces and + - ( ) . only, at most 32.
    Phone: Phone | Mobile
);
validated_text!(
    /// Employee number: at most 64 characters.
    EmployeeNumber: EmployeeNumber
);
validated_text!(
    /// Title, department or organization: at most 200 characters.
    Text: Title | Department | Organization
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn parse_applies_the_fields_rule_and_blank_is_empty() {
        let n = Name::parse(Field::FirstName, "  Zoe\u{0308} ").unwrap();
        assert_eq!(n, "Zoë", "trimmed and NFC");
        assert!(Name::parse(Field::LastName, "").unwrap().is_empty());
        let long = "x".repeat(101);
        assert_eq!(
            Name::parse(Field::LastName, &long).unwrap_err().code,
            ErrorCode::TooLong
        );
        assert_eq!(
            Phone::parse(Field::Mobile, "call me").unwrap_err().code,
            ErrorCode::InvalidPhone
        );
        assert_eq!(
            Text::parse(Field::Title, "a\u{7}b").unwrap_err().code,
            ErrorCode::ControlCharacter
        );
    }

    #[test]
    fn a_value_of_another_field_is_refused() {
        let e = Phone::parse(Field::Title, "+41").unwrap_err();
        assert!(e.message.contains("Title"), "{}", e.message);
    }
}
