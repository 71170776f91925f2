//! The profile fields of a user: canonical CSV column, label, rules and the
//! header aliases under which other systems export them.

use crate::email::{Email, EmailError};
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// A column of the users CSV, in canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Email,
    FirstName,
    LastName,
    DisplayName,
    Phone,
    Mobile,
    EmployeeNumber,
    Title,
    Department,
    Organization,
}

/// A cell rejected by a field's rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub code: ErrorCode,
    pub message: String,
}

impl FieldError {
    pub(crate) fn wrong_type(field: Field, type_name: &str) -> FieldError {
        FieldError {
            code: ErrorCode::WrongField,
            message: format!("{} is not a field of type {type_name}", field.label()),
        }
    }
}

impl Field {
    /// Every field, in canonical column order.
    pub const ALL: [Field; 10] = [
        Field::Email,
        Field::FirstName,
        Field::LastName,
        Field::DisplayName,
        Field::Phone,
        Field::Mobile,
        Field::EmployeeNumber,
        Field::Title,
        Field::Department,
        Field::Organization,
    ];

    /// The fields a [`Profile`](crate::user::Profile) holds: every one
    /// but the email, in order.
    pub const PROFILE: [Field; 9] = {
        let mut fields = [Field::Email; 9];
        let mut i = 0;
        while i < fields.len() {
            fields[i] = Field::ALL[i + 1];
            i += 1;
        }
        fields
    };

    /// Position in [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Canonical CSV column name.
    pub fn column(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::DisplayName => "display_name",
            Field::Phone => "phone",
            Field::Mobile => "mobile",
            Field::EmployeeNumber => "employee_number",
            Field::Title => "title",
            Field::Department => "department",
            Field::Organization => "organization",
        }
    }

    /// Human label used in forms and tables.
    pub fn label(self) -> &'static str {
        match self {
            Field::Email => "Email",
            Field::FirstName => "First name",
            Field::LastName => "Last name",
            Field::DisplayName => "Display name",
            Field::Phone => "Phone",
            Field::Mobile => "Mobile",
            Field::EmployeeNumber => "Employee number",
            Field::Title => "Title",
            Field::Department => "Department",
            Field::Organization => "Organization",
        }
    }

    /// The field whose canonical column name is `name` (exactly).
    pub fn from_column(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.column() == name)
    }

    pub fn required(self) -> bool {
        matches!(self, Field::Email | Field::FirstName | Field::LastName)
    }

    /// Longest accepted value, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            Field::Email => crate::email::MAX_EMAIL_CHARS,
            Field::FirstName | Field::LastName => 100,
            Field::DisplayName => 200,
            Field::Phone | Field::Mobile => 32,
            Field::EmployeeNumber => 64,
            Field::Title | Field::Department | Field::Organization => 200,
        }
    }

    /// Header aliases, already normalised (see [`crate::header::normalize`]),
    /// best first: when a file has two columns for one field, the one whose
    /// alias comes first wins and the other is ignored with a warning.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Email => &[
                "email",
                "emailaddress",
                "mail",
                "primaryemail",
                "workemail",
                "emailaddr",
                "courriel",
                // Okta / Entra identifiers: often, not always, an address.
                "userprincipalname",
                "upn",
                "login",
                "username",
            ],
            Field::FirstName => &[
                "firstname",
                "givenname",
                "forename",
                "first",
                "fname",
                "vorname",
            ],
            Field::LastName => &[
                "lastname",
                "surname",
                "familyname",
                "sn",
                "last",
                "lname",
                "nachname",
            ],
            Field::DisplayName => &["displayname", "fullname", "name", "cn", "commonname"],
            Field::Phone => &[
                "phone",
                "phonenumber",
                "telephone",
                "telephonenumber",
                "officephone",
                "workphone",
                "businessphone",
                "primaryphone",
                "tel",
            ],
            Field::Mobile => &[
                "mobile",
                "mobilephone",
                "mobilenumber",
                "cellphone",
                "cell",
                "mobiletelephonenumber",
            ],
            Field::EmployeeNumber => &[
                "employeenumber",
                "employeeid",
                "usernumber",
                "employeeno",
                "staffnumber",
                "staffid",
                "personnelnumber",
            ],
            Field::Title => &["title", "jobtitle", "employeetitle", "position"],
            Field::Department => &[
                "department",
                "dept",
                "departmentname",
                "organizationalunit",
                "organisationalunit",
                "ou",
            ],
            Field::Organization => &[
                "organization",
                "organisation",
                "company",
                "companyname",
                "org",
            ],
        }
    }

    /// Checks an already trimmed cell against the field's rule and returns
    /// the value to store (NFC-normalised). Empty cells are the caller's
    /// business (required vs. keep-stored-value).
    pub fn validate<'a>(self, cell: &'a str) -> Result<Cow<'a, str>, FieldError> {
        if self == Field::Email {
            return match Email::parse(cell) {
                Ok(e) => Ok(Cow::Owned(e.as_str().to_string())),
                Err(e) => Err(email_error(e)),
            };
        }
        // Printable ASCII (most cells): NFC, no control or hidden
        // character, one byte a character. Checked in one pass.
        if cell.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return self.check_length_and_phone(Cow::Borrowed(cell));
        }
        self.validate_text(cell)
    }

    /// [`Self::validate`] for a non-email field, on any text (the path
    /// every cell but printable ASCII takes).
    fn validate_text(self, cell: &str) -> Result<Cow<'_, str>, FieldError> {
        let value = nfc(cell);
        let has_control = if value.is_ascii() {
            value.bytes().any(|b| b.is_ascii_control())
        } else {
            value.chars().any(char::is_control)
        };
        if has_control {
            return Err(FieldError {
                code: ErrorCode::ControlCharacter,
                message: format!(
                    "{} contains a control character (such as a line break)",
                    self.label()
                ),
            });
        }
        if let Some(hidden) = crate::chars::first_hidden(&value) {
            return Err(FieldError {
                code: ErrorCode::InvisibleCharacter,
                message: format!("{} contains {}", self.label(), hidden.describe()),
            });
        }
        self.check_length_and_phone(value)
    }

    /// The rest of [`Self::validate`], on text free of control and
    /// hidden characters.
    fn check_length_and_phone(self, value: Cow<'_, str>) -> Result<Cow<'_, str>, FieldError> {
        let max = self.max_chars();
        // Cheap byte check first: a string of at most `max` bytes has at most
        // `max` chars.
        if value.len() > max && value.chars().count() > max {
            return Err(FieldError {
                code: ErrorCode::TooLong,
                message: format!("{} is longer than {max} characters", self.label()),
            });
        }
        if matches!(self, Field::Phone | Field::Mobile) {
            let allowed =
                |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.');
            if !value.chars().all(allowed) || !value.chars().any(|c| c.is_ascii_digit()) {
                return Err(FieldError {
                    code: ErrorCode::InvalidPhone,
                    message: format!(
                        "{} may only contain digits, spaces and + - ( ) .",
                        self.label()
                    ),
                });
            }
        }
        Ok(value)
    }
}

fn email_error(e: EmailError) -> FieldError {
    let code = match e {
        EmailError::Empty => ErrorCode::Required,
        EmailError::TooLong => ErrorCode::TooLong,
        EmailError::Invalid(_) => ErrorCode::InvalidEmail,
        EmailError::Invisible(_) => ErrorCode::InvisibleCharacter,
    };
    FieldError {
        code,
        message: e.to_string(),
    }
}

/// NFC-normalises without allocating when the text already is NFC (the
/// common case).
pub fn nfc(s: &str) -> Cow<'_, str> {
    // ASCII is always NFC; it is by far the most common case.
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The printable-ASCII shortcut answers exactly as the full rule
        /// (value, error code and message) for any ASCII text, control
        /// characters, tab and DEL included.
        #[test]
        fn the_ascii_shortcut_is_the_full_rule(text in "[\\x00-\\x7f]{0,40}", i in 1..Field::ALL.len()) {
            let field = Field::ALL[i];
            proptest::prop_assert_eq!(field.validate(&text), field.validate_text(&text));
        }
    }

    #[test]
    fn the_ascii_shortcut_leaves_tab_and_del_to_the_full_rule() {
        for text in ["a\tb", "a\u{7f}b"] {
            assert_eq!(
                Field::Title.validate(text).unwrap_err().code,
                ErrorCode::ControlCharacter
            );
        }
        assert_eq!(Field::Title.validate("~ !").unwrap(), "~ !");
    }

    #[test]
    fn canonical_columns_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::from_column(f.column()), Some(f));
            assert_eq!(Field::ALL[f.index()], f);
        }
        assert_eq!(Field::from_column("nope"), None);
    }

    #[test]
    fn aliases_are_unique_across_fields_and_normalised() {
        let mut seen = std::collections::HashSet::new();
        for f in Field::ALL {
            for a in f.aliases() {
                assert!(seen.insert(*a), "alias {a} used twice");
                assert_eq!(crate::header::normalize(a), *a);
            }
        }
    }

    #[test]
    fn length_limits_count_characters_not_bytes() {
        let hundred = "é".repeat(100);
        assert!(Field::FirstName.validate(&hundred).is_ok());
        let err = Field::FirstName
            .validate(&format!("{hundred}x"))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::TooLong);
    }

    #[test]
    fn control_characters_are_refused() {
        let err = Field::LastName.validate("Smi\nth").unwrap_err();
        assert_eq!(err.code, ErrorCode::ControlCharacter);
        assert!(Field::Title.validate("a\u{0}b").is_err());
    }

    #[test]
    fn phone_rules() {
        for ok in ["+41 44 123 45 67", "(555) 123-4567", "030.1234"] {
            assert!(Field::Phone.validate(ok).is_ok(), "{ok}");
        }
        for bad in ["call me", "+41 44 x", "--", &"1".repeat(33)] {
            assert!(Field::Mobile.validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_nfc_normalised() {
        let v = Field::FirstName.validate("Zo\u{65}\u{308}").unwrap();
        assert_eq!(v, "Zo\u{eb}");
        assert!(matches!(
            Field::FirstName.validate("Zoë").unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn email_cell_errors_have_codes() {
        assert_eq!(
            Field::Email.validate("x").unwrap_err().code,
            ErrorCode::InvalidEmail
        );
        assert_eq!(
            Field::Email.validate("").unwrap_err().code,
            ErrorCode::Required
        );
    }
}
