//! Who did something, as the store records it: a person, the command line
//! or an API token. Stored as text exactly as before (an address, `cli`,
//! `token:NAME`), so records keep their format; [`By::parse`] reads any
//! stored text back to the same text.

use crate::email::{Email, UserKey};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who made a change: the actor of an audit event, the operator of a
/// batch or of an approval request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum By {
    /// A person, by their address (as stored, e.g. `Ada@Example.org`).
    Person(Email),
    /// The command line, acting with the machine owner's authority.
    Cli,
    /// An API token, by its name (recorded as `token:NAME`).
    Token(String),
    /// Any other text: a name given to `roster import --operator`, or an
    /// address not written as the address rule writes it.
    Named(String),
}

const CLI: &str = "cli";
const TOKEN: &str = "token:";

impl By {
    /// Reads recorded text; `By::parse(t).to_string() == t` for any `t`.
    pub fn parse(text: &str) -> By {
        if text == CLI {
            By::Cli
        } else if crate::token::is_token_actor(text) {
            By::Token(text[TOKEN.len()..].to_string())
        } else {
            match Email::parse(text) {
                // Only an address as written would be written back: the
                // recorded text stays byte for byte.
                Ok(email) if email.as_str() == text => By::Person(email),
                _ => By::Named(text.to_string()),
            }
        }
    }

    /// The user key of a person (of named text that is an address, too).
    pub fn key(&self) -> Option<UserKey> {
        match self {
            By::Person(email) => Some(email.key().clone()),
            By::Named(text) => Email::parse(text).ok().map(|e| e.key().clone()),
            By::Cli | By::Token(_) => None,
        }
    }

    /// Whether two are one identity: people by their user key, anything
    /// else by its recorded text (spaces around it aside).
    pub fn is(&self, other: &By) -> bool {
        match (self.key(), other.key()) {
            (Some(a), Some(b)) if a == b => true,
            _ => self.to_string().trim() == other.to_string().trim(),
        }
    }

    /// Whether this is an API token.
    pub fn is_token(&self) -> bool {
        matches!(self, By::Token(_))
    }
}

impl From<&Email> for By {
    fn from(email: &Email) -> By {
        By::Person(email.clone())
    }
}

impl fmt::Display for By {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            By::Person(email) => f.write_str(email.as_str()),
            By::Cli => f.write_str(CLI),
            By::Token(name) => write!(f, "{TOKEN}{name}"),
            By::Named(text) => f.write_str(text),
        }
    }
}

impl std::str::FromStr for By {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<By, Self::Err> {
        Ok(By::parse(text))
    }
}

impl From<&str> for By {
    fn from(text: &str) -> By {
        By::parse(text)
    }
}

impl From<String> for By {
    fn from(text: String) -> By {
        By::parse(&text)
    }
}

impl From<By> for String {
    fn from(by: By) -> String {
        by.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_kind_reads_back_as_itself() {
        assert_eq!(By::parse("cli"), By::Cli);
        assert_eq!(By::parse("token:Entra ID"), By::Token("Entra ID".into()));
        assert!(matches!(By::parse("Ada@Example.org"), By::Person(_)));
        // A token's name never holds an address: that is a person's.
        assert!(matches!(By::parse("token:ada@example.org"), By::Person(_)));
        assert_eq!(
            By::parse(" ada@example.org"),
            By::Named(" ada@example.org".into())
        );
        assert_eq!(By::parse("ops team"), By::Named("ops team".into()));
    }

    #[test]
    fn people_are_one_by_their_key() {
        let a = By::parse("Ada@Example.org");
        assert!(a.is(&By::parse("ada@example.org")));
        assert!(a.is(&By::parse(" ada@example.org ")));
        assert!(!a.is(&By::parse("bob@example.org")));
        assert!(By::Cli.is(&By::parse("cli")));
        assert!(!By::Cli.is(&By::Token("cli".into())));
    }

    #[test]
    fn serialised_as_the_text() {
        let by = By::Token("x".into());
        assert_eq!(serde_json::to_string(&by).unwrap(), "\"token:x\"");
        assert_eq!(serde_json::from_str::<By>("\"cli\"").unwrap(), By::Cli);
    }

    proptest! {
        #[test]
        fn any_text_reads_back_byte_for_byte(text in "\\PC{0,40}") {
            prop_assert_eq!(By::parse(&text).to_string(), text);
        }
    }
}
