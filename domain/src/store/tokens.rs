//! API tokens: the reads an engine implements and their use cases.

use super::{Store, StoreError, run};
use crate::by::By;
use crate::privilege::Actor;
use crate::token::{ApiToken, PresentedToken, TokenRefused};
use crate::usecase;
use crate::usecase::tokens::{CreatedToken, NewToken, RevokeOutcome};
use std::fmt;

/// API tokens ([`crate::token`]): the reads an engine implements, and the
/// use cases of [`usecase::tokens`], each in one write transaction.
pub trait Tokens: Store {
    /// The token with this id (one lookup by key).
    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Every token, revoked and expired ones too, in any order.
    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// Every token, oldest first.
    fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let mut tokens = self.tokens()?;
        tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tokens)
    }
    /// Makes a token (the machine owner and administrators only, else
    /// [`StoreError::Forbidden`]; a bad name or validity is
    /// [`StoreError::Invalid`]); the answer holds the token's text, which
    /// is not stored and cannot be shown again.
    fn create_token(&self, new: NewToken<'_>) -> Result<CreatedToken, StoreError> {
        run(self, |tx| usecase::tokens::create_token(tx, &new))
    }
    /// Revokes a token (the machine owner and administrators only);
    /// revoking it again changes nothing. [`StoreError::NotFound`] for an
    /// unknown id.
    fn revoke_token(
        &self,
        id: &str,
        by: &By,
        actor: Actor,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError> {
        run(self, |tx| {
            usecase::tokens::revoke_token(tx, id, by, actor, now)
        })
    }
    /// The token a client presented (any bytes), when it lets the client
    /// in at `now`; writes nothing. Unknown, malformed, wrong secret,
    /// revoked and expired are one answer, [`TokenAuthError::Refused`].
    fn check_token(&self, presented: &[u8], now: i64) -> Result<ApiToken, TokenAuthError> {
        let presented = PresentedToken::parse(presented).ok_or(TokenAuthError::Refused)?;
        let stored = self.token(presented.id())?;
        Ok(presented.admitted_by(stored, now)?)
    }
    /// [`Tokens::check_token`], and the use written down as "last used"
    /// when that is due (at most once a minute per token, so a busy
    /// client writes about once a minute: that write is a write
    /// transaction, and waits for a running one).
    fn authenticate_token(&self, presented: &[u8], now: i64) -> Result<ApiToken, TokenAuthError> {
        let token = self.check_token(presented, now)?;
        if !token.last_used_due(now) {
            return Ok(token);
        }
        // Admitted: the stored hash is the presented secret's.
        let secret_sha256 = token.secret_sha256;
        run(self, |tx| {
            usecase::tokens::record_use(tx, &token.id, &secret_sha256, now)
        })?
        .ok_or(TokenAuthError::Refused)
    }
}

/// Why a presented API token let nobody in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenAuthError {
    /// Not a valid token (which of the reasons is not said).
    Refused,
    /// The store could not answer (nothing was decided).
    Store(StoreError),
}

impl From<StoreError> for TokenAuthError {
    fn from(e: StoreError) -> Self {
        TokenAuthError::Store(e)
    }
}

impl From<TokenRefused> for TokenAuthError {
    fn from(_: TokenRefused) -> Self {
        TokenAuthError::Refused
    }
}

impl fmt::Display for TokenAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenAuthError::Refused => TokenRefused.fmt(f),
            TokenAuthError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TokenAuthError {}
