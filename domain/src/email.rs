//! The email address: the match key of every user.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

/// Longest address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A syntactically checked email address, kept as given (trimmed, NFC), with
/// its case-insensitive key. Most addresses are written in lower case: then
/// the key is the address and only one string is kept (a file of a million
/// rows makes a million of these).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email {
    key: UserKey,
    /// The address as given, when it differs from the key.
    given: Option<Box<str>>,
}

/// The match key of a user: the email address, NFC-normalised and
/// lower-cased. Made only by [`Email::parse`] (through [`Email::key`]) or
/// read back from records Roster wrote itself (store, sessions), so no
/// code builds a key by hand and skips a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserKey(String);

impl UserKey {
    /// A key as a store kept it: Roster wrote it from [`Email::key`].
    pub fn stored(key: String) -> UserKey {
        UserKey(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for UserKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for UserKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for UserKey {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for UserKey {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Why a string is not an acceptable email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    Invalid(&'static str),
    /// A bidi control or invisible format character (see `crate::chars`).
    Invisible(crate::chars::Hidden),
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmailError::Empty => f.write_str("email is required"),
            EmailError::TooLong => {
                write!(f, "email is longer than {MAX_EMAIL_CHARS} characters")
            }
            EmailError::Invalid(why) => write!(f, "not a valid email address: {why}"),
            EmailError::Invisible(h) => {
                write!(f, "not a valid email address: it contains {}", h.describe())
            }
        }
    }
}

impl Email {
    /// Parses an address: trims it, NFC-normalises it and checks its syntax
    /// (one `@`, non-empty local part, a domain with a dot and no empty
    /// labels, no spaces or control characters, at most 254 characters).
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let trimmed = crate::chars::trim(raw);
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        let value: String =
            if is_nfc_quick(trimmed.chars()) == unicode_normalization::IsNormalized::Yes {
                trimmed.to_string()
            } else {
                trimmed.nfc().collect()
            };
        if value.len() > MAX_EMAIL_CHARS && value.chars().count() > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong);
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Invalid(
                "it contains a space or a control character",
            ));
        }
        if let Some(hidden) = crate::chars::first_hidden(&value) {
            return Err(EmailError::Invisible(hidden));
        }
        let mut parts = value.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) => (l, d),
            (_, None, _) => return Err(EmailError::Invalid("it has no @")),
            _ => return Err(EmailError::Invalid("it has more than one @")),
        };
        if local.is_empty() {
            return Err(EmailError::Invalid("nothing before the @"));
        }
        // `localhost` is accepted as the one dot-less domain: the first
        // administrator is admin@localhost.
        if !domain.contains('.') && !domain.eq_ignore_ascii_case("localhost") {
            return Err(EmailError::Invalid("the domain after the @ has no dot"));
        }
        if domain.split('.').any(str::is_empty) {
            return Err(EmailError::Invalid("the domain has an empty part"));
        }
        let key = if value.is_ascii() {
            value.to_ascii_lowercase()
        } else {
            value.to_lowercase()
        };
        let given = (key != value).then(|| value.into_boxed_str());
        Ok(Email {
            key: UserKey(key),
            given,
        })
    }

    /// The address as given (trimmed, NFC).
    pub fn as_str(&self) -> &str {
        self.given.as_deref().unwrap_or(self.key.as_str())
    }

    /// The case-insensitive match key (lower-cased).
    pub fn key(&self) -> &UserKey {
        &self.key
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_keys_case_insensitively() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(e.key(), "ada.lovelace@example.com");
        assert_eq!(e.to_string(), "Ada.Lovelace@Example.COM");
        // Lower case as given: one string serves as both.
        let l = Email::parse("ada@example.com").unwrap();
        assert_eq!(
            (l.as_str(), l.key().as_str()),
            ("ada@example.com", "ada@example.com")
        );
        assert!(l.given.is_none());
        let upper = Email::parse("ADA@example.com").unwrap();
        assert_ne!(upper, l, "the spelling is part of the address");
        assert_eq!(upper.key(), l.key());
        // Both round-trip through serde as the address as given.
        for email in [e, l] {
            let json = serde_json::to_string(&email).unwrap();
            assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), email);
        }
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "",
            "   ",
            "plain",
            "a@b",
            "a@localhostx",
            "@b.com",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@b..com",
            "a@.b.com",
            "a@b.com.",
            "a\u{7}@b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn localhost_is_the_one_dotless_domain() {
        assert_eq!(
            Email::parse("admin@localhost").unwrap().key(),
            "admin@localhost"
        );
    }

    #[test]
    fn length_limit_is_254_characters() {
        let ok = format!("{}@example.com", "a".repeat(254 - 12));
        assert_eq!(ok.chars().count(), 254);
        assert!(Email::parse(&ok).is_ok());
        let long = format!("a{ok}");
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn unicode_is_nfc_normalised_and_lowercased() {
        // "É" written as E + combining acute accent.
        let e = Email::parse("E\u{301}lise@exemple.fr").unwrap();
        assert_eq!(e.as_str(), "\u{c9}lise@exemple.fr");
        assert_eq!(e.key(), "\u{e9}lise@exemple.fr");
    }

    #[test]
    fn serde_round_trip() {
        let e = Email::parse("X@Y.org").unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, "\"X@Y.org\"");
        let back: Email = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_key_is_lowercase(s in "\\PC{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(e.key().as_str(), e.as_str().to_lowercase());
                prop_assert!(e.as_str().contains('@'));
            }
        }

        #[test]
        fn case_changes_keep_the_key(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}\\.[a-zA-Z]{2,6}") {
            let raw = format!("{local}@{domain}");
            let a = Email::parse(&raw).unwrap();
            let b = Email::parse(&raw.to_uppercase()).unwrap();
            prop_assert_eq!(a.key(), b.key());
        }
    }
}
