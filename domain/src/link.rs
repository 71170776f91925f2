//! The secret of a one-time sign-in link: made by the store, put into
//! the link (shown once, or mailed through the outbox) and presented back
//! by the browser. The store keeps only its SHA-256
//! ([`crate::transaction::token_id`]).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A sign-in link's token. Its `Debug` does not show it, so that a
/// logged value never carries a working link.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LinkToken(String);

impl LinkToken {
    /// A token: fresh from the store's random source, or as presented.
    pub fn new(token: String) -> LinkToken {
        LinkToken(token)
    }

    /// The token's text, for the link itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token_and_serde_keeps_its_text() {
        let token = LinkToken::new("ab12".into());
        assert!(!format!("{token:?}").contains("ab12"));
        assert!(!format!("{:?}", Some(&token)).contains("ab12"));
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"ab12\"");
        assert_eq!(token.expose(), "ab12");
    }
}
