//! API tokens: the credentials with which other systems (SCIM provisioning
//! clients such as Entra ID and Okta) call Roster without a browser.
//!
//! A token is shown once, when it is made, as `roster_<id>_<secret>`: the
//! id (8 random bytes, hex) names the stored record and is looked up
//! directly; the secret (32 random bytes, hex) is never stored, only its
//! SHA-256, which is compared in constant time. A token acts with the
//! authority of its role ([`TokenRole::actor`]) under the privilege rule,
//! and is recorded in the audit trail as `token:<name>`.
//!
//! Everything here is pure; the use cases that make, revoke and check
//! tokens inside a store's transaction are in `crate::usecase::tokens`.

use crate::privilege::Actor;
use crate::user::{Role, Roles};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// What every token starts with, so that a leaked one is recognised (by
/// people, and by secret scanners).
pub const TOKEN_PREFIX: &str = "roster_";
/// Hex digits of a token's public id (8 random bytes).
pub const ID_HEX_DIGITS: usize = 16;
/// Hex digits of a token's secret (32 random bytes).
pub const SECRET_HEX_DIGITS: usize = 64;
/// The length of every token, in bytes: `roster_<id>_<secret>`.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + ID_HEX_DIGITS + 1 + SECRET_HEX_DIGITS;
/// Longest name, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest validity a token can be given, in days (ten years).
pub const MAX_DAYS: u32 = 3650;
/// "Last used" is written at most this often (seconds), so that a busy
/// client does not write to the store on every request.
pub const LAST_USED_EVERY: i64 = 60;

/// The authority a token acts with. Stored by position (postcard's
/// variant index): new roles are appended, never inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenRole {
    Operator,
    Admin,
}

impl TokenRole {
    pub const ALL: [TokenRole; 2] = [TokenRole::Operator, TokenRole::Admin];

    /// The name on the command line and in JSON.
    pub fn key(self) -> &'static str {
        match self {
            TokenRole::Operator => "operator",
            TokenRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<TokenRole> {
        TokenRole::ALL
            .into_iter()
            .find(|r| r.key().eq_ignore_ascii_case(s.trim()))
    }

    /// The roles a token of this role acts with: ranked as an operator or
    /// as an administrator by the privilege rule, nothing more.
    pub fn roles(self) -> Roles {
        match self {
            TokenRole::Operator => Roles::of(&[Role::Operator]),
            TokenRole::Admin => Roles::of(&[Role::Admin]),
        }
    }

    /// The actor a request made with such a token is.
    pub fn actor(self) -> Actor {
        Actor::User(self.roles())
    }
}

impl fmt::Display for TokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A token's name: what the token is for ("Entra ID provisioning"),
/// trimmed and NFC, 1–100 characters, none of them a control character or
/// one the character rule ([`crate::chars`]) refuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenName(String);

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenNameError {
    Empty,
    TooLong,
    ControlCharacter,
    Hidden(crate::chars::Hidden),
    /// An `@`: `token:NAME` must never read as a person's address.
    At,
}

impl fmt::Display for TokenNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenNameError::Empty => f.write_str("A token needs a name"),
            TokenNameError::TooLong => write!(
                f,
                "A token's name is at most {NAME_MAX_CHARS} characters long"
            ),
            TokenNameError::ControlCharacter => {
                f.write_str("A token's name contains a control character (such as a line break)")
            }
            TokenNameError::Hidden(h) => {
                write!(f, "A token's name contains {}", h.describe())
            }
            TokenNameError::At => f.write_str(
                "A token's name cannot contain @ (it would read as a person's email address)",
            ),
        }
    }
}

impl std::error::Error for TokenNameError {}

impl TokenName {
    pub fn parse(raw: &str) -> Result<TokenName, TokenNameError> {
        let value = crate::field::nfc(raw.trim());
        if value.is_empty() {
            return Err(TokenNameError::Empty);
        }
        if value.chars().count() > NAME_MAX_CHARS {
            return Err(TokenNameError::TooLong);
        }
        if value.chars().any(char::is_control) {
            return Err(TokenNameError::ControlCharacter);
        }
        if let Some(hidden) = crate::chars::first_hidden(&value) {
            return Err(TokenNameError::Hidden(hidden));
        }
        // A token acts as `token:NAME`; without an `@` that can never be
        // taken for a person's address.
        if value.contains('@') {
            return Err(TokenNameError::At);
        }
        Ok(TokenName(value.into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When and by whom a token was revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Unix seconds.
    pub at: i64,
    /// An email, or `cli`.
    pub by: String,
}

/// A stored API token: everything but its secret, of which only the
/// SHA-256 is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// The public id (hex, [`ID_HEX_DIGITS`] long): the key it is stored
    /// and looked up under.
    pub id: String,
    pub name: TokenName,
    pub role: TokenRole,
    /// SHA-256 of the secret part of the token as shown.
    pub secret_sha256: [u8; 32],
    /// Unix seconds.
    pub created_at: i64,
    /// An email, or `cli`.
    pub created_by: String,
    /// Unix seconds; `None`: never expires.
    pub expires_at: Option<i64>,
    /// Unix seconds of the last use written down; uses are written at
    /// most once every [`LAST_USED_EVERY`] seconds, so this may be up to
    /// that much behind. `None`: never used.
    pub last_used_at: Option<i64>,
    pub revoked: Option<Revocation>,
}

/// Whether an actor's name (`Decided::by`, an audit event's actor) is an
/// API token's `token:NAME` rather than a person's address or `cli`.
pub fn is_token_actor(by: &str) -> bool {
    by.starts_with("token:") && !by.contains('@')
}

impl ApiToken {
    /// The name this token acts under in the audit trail.
    pub fn audit_name(&self) -> String {
        self.by().to_string()
    }

    /// Who a request made with this token is, as the store records it.
    pub fn by(&self) -> crate::By {
        crate::By::Token(self.name.to_string())
    }

    /// The actor a request made with this token is.
    pub fn actor(&self) -> Actor {
        self.role.actor()
    }

    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether this token lets in a request that presents a secret with
    /// this SHA-256 at `now`: the secret is its own (compared in constant
    /// time), and it is neither revoked nor expired.
    pub fn accepts(&self, secret_sha256: &[u8; 32], now: i64) -> bool {
        use subtle::ConstantTimeEq;
        // The secret is compared first and whole, whatever the outcome of
        // the other checks, so that its comparison says nothing by its
        // timing.
        let same: bool = self.secret_sha256.ct_eq(secret_sha256).into();
        same && self.revoked.is_none() && !self.is_expired(now)
    }

    /// Whether a use at `now` is to be written down ("last used" moves at
    /// most once every [`LAST_USED_EVERY`] seconds).
    pub fn last_used_due(&self, now: i64) -> bool {
        self.last_used_at
            .is_none_or(|at| now.saturating_sub(at) >= LAST_USED_EVERY)
    }
}

/// A token as a client presented it, taken apart. Only the shape is
/// checked here; whether it is valid is the store's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentedToken<'a> {
    id: &'a str,
    secret: &'a str,
}

impl<'a> PresentedToken<'a> {
    /// `roster_<16 hex>_<64 hex>` (lower case), or `None`. Any bytes of any
    /// length are fine: the length is checked first, so no more than
    /// [`TOKEN_LEN`] bytes are ever looked at.
    pub fn parse(presented: &'a [u8]) -> Option<PresentedToken<'a>> {
        if presented.len() != TOKEN_LEN {
            return None;
        }
        let rest = presented.strip_prefix(TOKEN_PREFIX.as_bytes())?;
        let (id, rest) = rest.split_at(ID_HEX_DIGITS);
        let secret = rest.strip_prefix(b"_")?;
        if !is_lower_hex(id) || !is_lower_hex(secret) {
            return None;
        }
        // Hex digits are ASCII: both are UTF-8.
        Some(PresentedToken {
            id: std::str::from_utf8(id).ok()?,
            secret: std::str::from_utf8(secret).ok()?,
        })
    }

    /// The id to look the token up by.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The SHA-256 of the secret, to compare with the stored one.
    pub fn secret_sha256(&self) -> [u8; 32] {
        secret_sha256(self.secret)
    }

    /// `stored` (what the store holds under this token's id) when it lets
    /// this token in at `now`.
    pub fn admitted_by(
        &self,
        stored: Option<ApiToken>,
        now: i64,
    ) -> Result<ApiToken, TokenRefused> {
        let presented = self.secret_sha256();
        match stored {
            Some(token) if token.id == self.id && token.accepts(&presented, now) => Ok(token),
            _ => Err(TokenRefused),
        }
    }
}

/// A presented token that lets nobody in: not a token, unknown, the wrong
/// secret, revoked or expired. One answer for all of them, so that a
/// caller learns nothing about which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenRefused;

impl fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("This API token is not valid.")
    }
}

impl std::error::Error for TokenRefused {}

/// The SHA-256 a token's secret is stored as.
pub fn secret_sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The token as it is shown once: `roster_<id>_<secret>`.
pub fn token_text(id: &str, secret: &str) -> String {
    format!("{TOKEN_PREFIX}{id}_{secret}")
}

/// Whether `id` has the shape of a token's id (and may be looked up).
pub fn is_token_id(id: &str) -> bool {
    id.len() == ID_HEX_DIGITS && is_lower_hex(id.as_bytes())
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "0123456789abcdef";

    fn secret() -> String {
        "5e".repeat(32)
    }

    fn token(expires_at: Option<i64>) -> ApiToken {
        ApiToken {
            id: ID.into(),
            name: TokenName::parse("Entra ID").unwrap(),
            role: TokenRole::Operator,
            secret_sha256: secret_sha256(&secret()),
            created_at: 1_000,
            created_by: "cli".into(),
            expires_at,
            last_used_at: None,
            revoked: None,
        }
    }

    #[test]
    fn a_token_is_its_prefix_id_and_secret() {
        let text = token_text(ID, &secret());
        assert_eq!(text.len(), TOKEN_LEN);
        let presented = PresentedToken::parse(text.as_bytes()).unwrap();
        assert_eq!(presented.id(), ID);
        assert_eq!(presented.secret_sha256(), secret_sha256(&secret()));
        assert!(is_token_id(ID));
        assert!(!is_token_id("0123456789ABCDEF") && !is_token_id("0123"));
    }

    #[test]
    fn a_token_actor_never_reads_as_a_persons_address() {
        assert_eq!(TokenName::parse("hr@corp.example"), Err(TokenNameError::At));
        assert!(is_token_actor("token:entra"));
        // A person may have an address that starts so; it has an `@`.
        assert!(crate::Email::parse("token:ada@example.org").is_ok());
        assert!(!is_token_actor("token:ada@example.org"));
        assert!(!is_token_actor("cli") && !is_token_actor("ada@example.org"));
    }

    #[test]
    fn anything_but_the_exact_shape_is_no_token() {
        let good = token_text(ID, &secret());
        let refused = [
            String::new(),
            "roster_".into(),
            good[..TOKEN_LEN - 1].to_string(),
            format!("{good}0"),
            format!(" {}", &good[1..]),
            good.replacen("roster_", "Roster_", 1),
            good.replacen("roster_", "rooster", 1),
            good.to_uppercase(),
            // The separator moved, the id one digit short.
            format!("roster_{}_0{}", &ID[..15], secret()),
            // A non-hex letter in the id, then in the secret.
            good.replacen('a', "g", 1),
            format!("{}g", &good[..TOKEN_LEN - 1]),
            // The right length in multi-byte characters.
            "é".repeat(TOKEN_LEN / 2),
        ];
        for text in refused {
            assert_eq!(PresentedToken::parse(text.as_bytes()), None, "{text:?}");
        }
        assert_eq!(PresentedToken::parse(&[0xff; TOKEN_LEN]), None);
        // Ten megabytes are refused by their length alone.
        assert_eq!(PresentedToken::parse(&vec![b'a'; 10 << 20]), None);
    }

    proptest! {
        #[test]
        fn parsing_any_bytes_never_panics(bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            prop::collection::vec(any::<u8>(), TOKEN_LEN),
            // Of the right length and nearly the right alphabet.
            prop::collection::vec(prop::sample::select(b"0123456789abcdefgroster_".to_vec()), TOKEN_LEN),
        ]) {
            if let Some(p) = PresentedToken::parse(&bytes) {
                prop_assert!(is_token_id(p.id()));
            }
        }

        /// Bytes changed in a valid token: parsed or refused, never a panic,
        /// and what parses is of the exact shape.
        #[test]
        fn a_token_with_bytes_changed_parses_only_in_shape(
            changes in prop::collection::vec((0..TOKEN_LEN, any::<u8>()), 1..4),
        ) {
            let mut bytes = token_text(ID, &secret()).into_bytes();
            for (at, byte) in changes {
                bytes[at] = byte;
            }
            if let Some(p) = PresentedToken::parse(&bytes) {
                prop_assert!(is_token_id(p.id()));
                prop_assert!(bytes.starts_with(TOKEN_PREFIX.as_bytes()));
            }
        }

        #[test]
        fn names_never_panic_and_what_passes_keeps_the_rule(raw in "\\PC{0,120}|.{0,120}") {
            if let Ok(name) = TokenName::parse(&raw) {
                let n = name.as_str().chars().count();
                prop_assert!((1..=NAME_MAX_CHARS).contains(&n));
                prop_assert!(crate::chars::first_hidden(name.as_str()).is_none());
                prop_assert!(!name.as_str().chars().any(char::is_control));
                let actor = format!("token:{}", name.as_str());
                prop_assert!(is_token_actor(&actor));
            }
        }
    }

    #[test]
    fn the_right_secret_is_accepted_and_everything_else_refused_alike() {
        let t = token(Some(5_000));
        let right = secret_sha256(&secret());
        assert!(t.accepts(&right, 1_000));
        assert!(t.accepts(&right, 4_999));
        let mut wrong = right;
        wrong[31] ^= 1;
        assert!(!t.accepts(&wrong, 1_000), "wrong secret");
        assert!(!t.accepts(&right, 5_000), "expired at its time");
        let mut revoked = t.clone();
        revoked.revoked = Some(Revocation {
            at: 2_000,
            by: "cli".into(),
        });
        assert!(!revoked.accepts(&right, 1_000), "revoked");
        assert!(token(None).accepts(&right, i64::MAX), "never expires");
    }

    #[test]
    fn a_presented_token_is_admitted_by_its_own_record_only() {
        let text = token_text(ID, &secret());
        let presented = PresentedToken::parse(text.as_bytes()).unwrap();
        let t = token(Some(5_000));
        assert_eq!(presented.admitted_by(Some(t.clone()), 1_000), Ok(t.clone()));
        let mut other = t.clone();
        other.id = "fedcba9876543210".into();
        let mut revoked = t.clone();
        revoked.revoked = Some(Revocation {
            at: 2_000,
            by: "cli".into(),
        });
        let wrong_text = token_text(ID, &"5f".repeat(32));
        let wrong = PresentedToken::parse(wrong_text.as_bytes()).unwrap();
        // Unknown, another id's record, expired, revoked, wrong secret: one
        // answer.
        let refusals = [
            presented.admitted_by(None, 1_000),
            presented.admitted_by(Some(other), 1_000),
            presented.admitted_by(Some(t.clone()), 5_000),
            presented.admitted_by(Some(revoked), 1_000),
            wrong.admitted_by(Some(t), 1_000),
        ];
        assert_eq!(refusals, [const { Err(TokenRefused) }; 5]);
    }

    #[test]
    fn last_used_is_due_once_a_minute() {
        let mut t = token(None);
        assert!(t.last_used_due(1_000), "never used");
        t.last_used_at = Some(1_000);
        assert!(!t.last_used_due(1_000));
        assert!(!t.last_used_due(1_000 + LAST_USED_EVERY - 1));
        assert!(t.last_used_due(1_000 + LAST_USED_EVERY));
        assert!(!t.last_used_due(0), "a clock that went back writes nothing");
        t.last_used_at = Some(i64::MIN);
        assert!(t.last_used_due(i64::MAX), "no overflow");
    }

    #[test]
    fn names_follow_the_character_rule() {
        assert_eq!(
            TokenName::parse("  Okta sync ").unwrap().as_str(),
            "Okta sync"
        );
        assert_eq!(
            TokenName::parse("Zoe\u{0308}").unwrap().as_str(),
            "Zoë",
            "NFC"
        );
        assert_eq!(TokenName::parse("   "), Err(TokenNameError::Empty));
        assert!(TokenName::parse(&"x".repeat(NAME_MAX_CHARS)).is_ok());
        assert!(TokenName::parse(&"é".repeat(NAME_MAX_CHARS)).is_ok());
        assert_eq!(
            TokenName::parse(&"x".repeat(NAME_MAX_CHARS + 1)),
            Err(TokenNameError::TooLong)
        );
        assert_eq!(
            TokenName::parse(&"x".repeat(1 << 20)),
            Err(TokenNameError::TooLong)
        );
        assert_eq!(
            TokenName::parse("a\nb"),
            Err(TokenNameError::ControlCharacter)
        );
        let e = TokenName::parse("Entra\u{202E}DI").unwrap_err();
        assert!(matches!(e, TokenNameError::Hidden(h) if h.ch == '\u{202E}'));
        assert!(e.to_string().contains("U+202E"), "{e}");
        assert!(matches!(
            TokenName::parse("a\u{200B}b"),
            Err(TokenNameError::Hidden(_))
        ));
    }

    #[test]
    fn roles_map_to_the_authority_of_the_privilege_rule() {
        use crate::privilege::{Act, Rank, check};
        assert_eq!(TokenRole::parse(" Admin "), Some(TokenRole::Admin));
        assert_eq!(TokenRole::parse("operator"), Some(TokenRole::Operator));
        assert_eq!(TokenRole::parse("self-service"), None);
        assert_eq!(Rank::of(TokenRole::Operator.roles()), Rank::Operator);
        assert_eq!(Rank::of(TokenRole::Admin.roles()), Rank::Admin);
        let admin = Roles::of(&[Role::Admin]);
        assert!(check(TokenRole::Operator.actor(), Act::Change, Some(admin), None).is_err());
        assert!(check(TokenRole::Admin.actor(), Act::Change, Some(admin), None).is_ok());
        assert_eq!(token(None).audit_name(), "token:Entra ID");
    }
}
