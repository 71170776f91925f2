//! The use cases of API tokens ([`crate::token`]), over one write
//! transaction: make one, revoke one, and write down a use. Checking a
//! presented token needs no transaction (`Tokens::check_token` reads the
//! token and asks [`crate::token::PresentedToken::admitted_by`]).

use super::{Done, abort, commit};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::privilege::Actor;
use crate::store::StoreError;
use crate::token::{
    ApiToken, ID_HEX_DIGITS, MAX_DAYS, PresentedToken, Revocation, SECRET_HEX_DIGITS, TokenName,
    TokenRole, is_token_id, token_text,
};
use crate::transaction::WriteTx;

/// What making a token asks for.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub role: TokenRole,
    /// Valid this many days from `now` (1 to [`MAX_DAYS`]); `None`: until
    /// revoked.
    pub days: Option<u32>,
    /// Who makes it (an email, or `cli`), for the audit trail.
    pub by: &'a By,
    pub actor: Actor,
    pub now: i64,
}

/// A token just made: its record as stored, and the token itself, which is
/// shown this once (the store keeps only its secret's SHA-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub text: String,
}

/// The result of [`revoke_token`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(ApiToken),
    /// Revoked before: nothing written (revoking is idempotent).
    AlreadyRevoked(ApiToken),
}

/// Who may make and revoke tokens.
const ONLY_ADMINS: &str = "Only an administrator may make or revoke API tokens.";

/// How often a fresh id is drawn when the one drawn is taken (64 random
/// bits: a clash is all but impossible, and would replace a token).
const ID_DRAWS: usize = 4;

fn no_such_token(id: &str) -> StoreError {
    StoreError::NotFound(format!(
        "There is no API token {}.",
        crate::chars::shown(id, 40)
    ))
}

/// `digits` random hex digits from the engine's secure source.
fn random_hex(tx: &mut dyn WriteTx, digits: usize) -> Result<String, StoreError> {
    let random = tx.new_token();
    match random.get(..digits) {
        Some(part) if part.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(part.to_lowercase()),
        _ => Err(StoreError::Backend(
            "the store's random source gave too short a token".into(),
        )),
    }
}

/// Makes a token: only the machine owner and administrators may. The
/// audit trail records who made which (id, role, expiry), never the
/// secret.
pub fn create_token(tx: &mut dyn WriteTx, new: &NewToken<'_>) -> Done<CreatedToken> {
    if !new.actor.ranks_as_admin() {
        return Err(StoreError::Forbidden(ONLY_ADMINS.into()));
    }
    let name = TokenName::parse(new.name).map_err(|e| StoreError::Invalid(format!("{e}.")))?;
    let expires_at = match new.days {
        None => None,
        Some(days) if (1..=MAX_DAYS).contains(&days) => Some(new.now + i64::from(days) * 86_400),
        Some(_) => {
            return Err(StoreError::Invalid(format!(
                "A token is valid for 1 to {MAX_DAYS} days, or until it is revoked."
            )));
        }
    };
    let mut id = None;
    for _ in 0..ID_DRAWS {
        let drawn = random_hex(tx, ID_HEX_DIGITS)?;
        if tx.token(&drawn)?.is_none() {
            id = Some(drawn);
            break;
        }
    }
    let id = id.ok_or_else(|| StoreError::Backend("no free API token id was drawn".into()))?;
    let secret = random_hex(tx, SECRET_HEX_DIGITS)?;
    let text = token_text(&id, &secret);
    let presented = PresentedToken::parse(text.as_bytes())
        .ok_or_else(|| StoreError::Backend("a new API token is not of its shape".into()))?;
    let token = ApiToken {
        id,
        name,
        role: new.role,
        secret_sha256: presented.secret_sha256(),
        created_at: new.now,
        created_by: new.by.to_string(),
        expires_at,
        last_used_at: None,
        revoked: None,
    };
    tx.put_token(&token)?;
    let event = AuditEvent::about(
        new.now,
        new.by,
        &token.audit_name(),
        AuditAction::TokenCreated,
    )
    .with("id", token.id.clone())
    .with("role", token.role.key())
    .with(
        "expires",
        expires_at.map_or_else(|| "never".to_string(), crate::time::rfc3339),
    );
    tx.append_audit(vec![event], None)?;
    commit(CreatedToken { token, text })
}

/// Revokes a token (only the machine owner and administrators may): from
/// now on it lets nobody in. A token revoked before stays as it was.
pub fn revoke_token(
    tx: &mut dyn WriteTx,
    id: &str,
    by: &By,
    actor: Actor,
    now: i64,
) -> Done<RevokeOutcome> {
    if !actor.ranks_as_admin() {
        return Err(StoreError::Forbidden(ONLY_ADMINS.into()));
    }
    if !is_token_id(id) {
        return Err(no_such_token(id));
    }
    let mut token = tx.token(id)?.ok_or_else(|| no_such_token(id))?;
    if token.revoked.is_some() {
        return abort(RevokeOutcome::AlreadyRevoked(token));
    }
    token.revoked = Some(Revocation {
        at: now,
        by: by.to_string(),
    });
    tx.put_token(&token)?;
    let event = AuditEvent::about(now, by, &token.audit_name(), AuditAction::TokenRevoked)
        .with("id", token.id.clone());
    tx.append_audit(vec![event], None)?;
    commit(RevokeOutcome::Revoked(token))
}

/// Writes down that the token `id` was used at `now`, when its "last used"
/// is due ([`ApiToken::last_used_due`]); checks it again first, as it is
/// now: `None` (nothing written) when it no longer lets a secret with this
/// SHA-256 in (revoked meanwhile).
pub fn record_use(
    tx: &mut dyn WriteTx,
    id: &str,
    secret_sha256: &[u8; 32],
    now: i64,
) -> Done<Option<ApiToken>> {
    let Some(mut token) = tx.token(id)? else {
        return abort(None);
    };
    if !token.accepts(secret_sha256, now) {
        return abort(None);
    }
    // Another request may have written it since this one read it.
    if !token.last_used_due(now) {
        return abort(Some(token));
    }
    token.last_used_at = Some(now);
    tx.put_token(&token)?;
    commit(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserKey;
    use crate::approval::ApprovalRequest;
    use crate::options::Options;
    use crate::store::{BatchSummary, Correction};
    use crate::token::{LAST_USED_EVERY, TokenRefused};
    use crate::transaction::{BatchRecord, Finish, Sequence, SignInLink, UserWrite};
    use crate::user::{Role, Roles, User};
    use std::collections::HashMap;

    /// A transaction over tokens and the audit trail only (what these use
    /// cases touch), counting the writes of tokens.
    #[derive(Default)]
    struct TokenTx {
        tokens: HashMap<String, ApiToken>,
        events: Vec<AuditEvent>,
        token_writes: usize,
        draws: u64,
    }

    fn untouched<T>() -> Result<T, StoreError> {
        Err(StoreError::Backend(
            "not used by the use cases of tokens".into(),
        ))
    }

    impl WriteTx for TokenTx {
        fn external_id(&mut self, _: &UserKey) -> Result<Option<String>, StoreError> {
            untouched()
        }
        fn set_external_id(&mut self, _: &UserKey, _: Option<&str>) -> Result<(), StoreError> {
            untouched()
        }
        fn options(&mut self) -> Result<Options, StoreError> {
            untouched()
        }
        fn put_option(&mut self, _: &str, _: &str) -> Result<(), StoreError> {
            untouched()
        }
        fn user(&mut self, _: &UserKey) -> Result<Option<User>, StoreError> {
            untouched()
        }
        fn users(&mut self, _: &[&UserKey]) -> Result<crate::UsersByKey, StoreError> {
            untouched()
        }
        fn write_users(&mut self, _: &[UserWrite<'_>]) -> Result<(), StoreError> {
            untouched()
        }
        fn sync_candidates(&mut self, _: Option<&str>) -> Result<Vec<User>, StoreError> {
            untouched()
        }
        fn first_admin(&mut self) -> Result<Option<User>, StoreError> {
            untouched()
        }
        fn has_active_admin(&mut self) -> Result<bool, StoreError> {
            untouched()
        }
        fn next_id(&mut self, _: Sequence) -> Result<u64, StoreError> {
            untouched()
        }
        fn put_batch(&mut self, _: &BatchRecord) -> Result<(), StoreError> {
            untouched()
        }
        fn batch(&mut self, _: u64) -> Result<Option<BatchRecord>, StoreError> {
            untouched()
        }
        fn put_correction(&mut self, _: u64, _: &Correction) -> Result<(), StoreError> {
            untouched()
        }
        fn append_audit(
            &mut self,
            events: Vec<AuditEvent>,
            _: Option<u64>,
        ) -> Result<(), StoreError> {
            self.events.extend(events);
            Ok(())
        }
        fn user_history(&mut self, _: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
            untouched()
        }
        fn batches_since(&mut self, _: i64) -> Result<Vec<BatchSummary>, StoreError> {
            untouched()
        }
        fn approval(&mut self, _: u64) -> Result<Option<(ApprovalRequest, Vec<u8>)>, StoreError> {
            untouched()
        }
        fn waiting_files(&mut self) -> Result<Vec<(ApprovalRequest, u64)>, StoreError> {
            untouched()
        }
        fn put_approval(
            &mut self,
            _: &ApprovalRequest,
            _: Option<&[u8]>,
        ) -> Result<(), StoreError> {
            untouched()
        }
        fn has_password(&mut self, _: &UserKey) -> Result<bool, StoreError> {
            untouched()
        }
        fn put_password(&mut self, _: &UserKey, _: &str, _: i64) -> Result<(), StoreError> {
            untouched()
        }
        fn put_link(&mut self, _: &str, _: &SignInLink) -> Result<(), StoreError> {
            untouched()
        }
        fn link(&mut self, _: &str) -> Result<Option<SignInLink>, StoreError> {
            untouched()
        }
        fn take_link(&mut self, _: &str) -> Result<Option<SignInLink>, StoreError> {
            untouched()
        }
        fn revoke_links(&mut self, _: &UserKey) -> Result<u64, StoreError> {
            untouched()
        }
        fn purge_expired_links(&mut self, _: i64) -> Result<u64, StoreError> {
            untouched()
        }
        fn end_sessions(&mut self, _: &UserKey) -> Result<(), StoreError> {
            untouched()
        }
        fn forget_credentials(&mut self, _: &UserKey) -> Result<(), StoreError> {
            untouched()
        }
        fn new_token(&mut self) -> String {
            // Distinct, and of the engines' shape (64 hex digits).
            self.draws += 1;
            format!("{:016x}", self.draws).repeat(4)
        }
        fn token(&mut self, id: &str) -> Result<Option<ApiToken>, StoreError> {
            Ok(self.tokens.get(id).cloned())
        }
        fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError> {
            self.token_writes += 1;
            self.tokens.insert(token.id.clone(), token.clone());
            Ok(())
        }
        fn put_outbox(&mut self, _: &crate::mail::OutboxMessage) -> Result<(), StoreError> {
            untouched()
        }
        fn outbox_message(
            &mut self,
            _: u64,
        ) -> Result<Option<crate::mail::OutboxMessage>, StoreError> {
            untouched()
        }
        fn due_outbox(
            &mut self,
            _: i64,
            _: usize,
        ) -> Result<Vec<crate::mail::OutboxMessage>, StoreError> {
            untouched()
        }
        fn outbox_counts(&mut self) -> Result<crate::mail::OutboxCounts, StoreError> {
            untouched()
        }
        fn outbox_in(
            &mut self,
            _: crate::mail::MailState,
            _: usize,
        ) -> Result<Vec<crate::mail::OutboxMessage>, StoreError> {
            untouched()
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn new_token<'a>(name: &'a str, actor: Actor, days: Option<u32>) -> NewToken<'a> {
        NewToken {
            name,
            role: TokenRole::Operator,
            days,
            by: &crate::By::Cli,
            actor,
            now: NOW,
        }
    }

    fn made(tx: &mut TokenTx, days: Option<u32>) -> CreatedToken {
        let (finish, created) =
            create_token(tx, &new_token("Entra ID", Actor::Owner, days)).unwrap();
        assert_eq!(finish, Finish::Commit);
        created
    }

    /// Checks a presented token as `Tokens::check_token` does.
    fn check(tx: &mut TokenTx, text: &str, now: i64) -> Result<ApiToken, TokenRefused> {
        let presented = PresentedToken::parse(text.as_bytes()).ok_or(TokenRefused)?;
        let stored = tx.token(presented.id()).unwrap();
        presented.admitted_by(stored, now)
    }

    #[test]
    fn a_made_token_lets_in_its_text_and_is_stored_without_its_secret() {
        let mut tx = TokenTx::default();
        let created = made(&mut tx, Some(30));
        let token = &created.token;
        assert_eq!(tx.tokens[&token.id], *token);
        assert_eq!(token.expires_at, Some(NOW + 30 * 86_400));
        assert_eq!((token.created_at, token.created_by.as_str()), (NOW, "cli"));
        let secret = created.text.rsplit('_').next().unwrap();
        assert_eq!(secret.len(), SECRET_HEX_DIGITS);
        let stored = format!("{:?}", tx.tokens);
        assert!(!stored.contains(secret), "the secret is not stored");
        assert_eq!(check(&mut tx, &created.text, NOW).as_ref(), Ok(token));
        // The audit trail says who made which, and never the secret.
        let event = &tx.events[0];
        assert_eq!(event.action, AuditAction::TokenCreated);
        assert_eq!(
            (event.actor.as_str(), event.target.as_str()),
            ("cli", "token:Entra ID")
        );
        let facts = crate::plan::Change::describe_all(&event.changes);
        assert!(
            facts.contains(&token.id) && facts.contains("operator"),
            "{facts}"
        );
        assert!(!facts.contains(secret));
    }

    #[test]
    fn wrong_secret_other_id_revoked_and_expired_are_refused_alike() {
        let mut tx = TokenTx::default();
        let created = made(&mut tx, Some(1));
        let other = made(&mut tx, None);
        let (prefix_and_id, secret) = created.text.rsplit_once('_').unwrap();
        let other_id = other.token.id.as_str();
        let wrong_secret = format!("{prefix_and_id}_{}", "0".repeat(SECRET_HEX_DIGITS));
        let other_ids_record = created.text.replace(&created.token.id, other_id);
        assert_ne!(secret, "0".repeat(SECRET_HEX_DIGITS));
        for text in [wrong_secret.as_str(), &other_ids_record, "roster_", ""] {
            assert_eq!(check(&mut tx, text, NOW), Err(TokenRefused), "{text}");
        }
        let expired = NOW + 86_400;
        assert_eq!(check(&mut tx, &created.text, expired), Err(TokenRefused));
        assert!(check(&mut tx, &created.text, expired - 1).is_ok());
        revoke_token(
            &mut tx,
            &created.token.id,
            &crate::By::Cli,
            Actor::Owner,
            NOW + 5,
        )
        .unwrap();
        assert_eq!(check(&mut tx, &created.text, NOW + 6), Err(TokenRefused));
        assert!(check(&mut tx, &other.text, NOW + 6).is_ok());
    }

    #[test]
    fn last_used_is_written_at_most_once_a_minute() {
        let mut tx = TokenTx::default();
        let created = made(&mut tx, None);
        let id = created.token.id.clone();
        let hash = created.token.secret_sha256;
        let writes = tx.token_writes;
        let uses = |tx: &mut TokenTx, at: i64| {
            let (finish, token) = record_use(tx, &id, &hash, at).unwrap();
            (finish, token.unwrap().last_used_at)
        };
        assert_eq!(uses(&mut tx, NOW), (Finish::Commit, Some(NOW)));
        for at in [NOW, NOW + 1, NOW + LAST_USED_EVERY - 1] {
            assert_eq!(uses(&mut tx, at), (Finish::Abort, Some(NOW)));
        }
        let next = NOW + LAST_USED_EVERY;
        assert_eq!(uses(&mut tx, next), (Finish::Commit, Some(next)));
        assert_eq!(tx.token_writes, writes + 2);
        // A revoked token is not written down.
        revoke_token(&mut tx, &id, &crate::By::Cli, Actor::Owner, next).unwrap();
        let writes = tx.token_writes;
        let (finish, token) = record_use(&mut tx, &id, &hash, next + 600).unwrap();
        assert_eq!((finish, token), (Finish::Abort, None));
        assert_eq!(tx.token_writes, writes);
    }

    #[test]
    fn only_the_owner_and_administrators_make_and_revoke_tokens() {
        let mut tx = TokenTx::default();
        let operator = Actor::User(Roles::of(&[
            Role::SelfService,
            Role::Operator,
            Role::Approval,
        ]));
        let admin = Actor::User(Roles::of(&[Role::SelfService, Role::Admin]));
        let refused = create_token(&mut tx, &new_token("x", operator, None)).unwrap_err();
        assert_eq!(refused, StoreError::Forbidden(ONLY_ADMINS.into()));
        // An Operator-role token is an operator: it makes none either.
        let by_token = create_token(&mut tx, &new_token("x", TokenRole::Operator.actor(), None));
        assert!(matches!(by_token, Err(StoreError::Forbidden(_))));
        assert!(tx.tokens.is_empty() && tx.events.is_empty());
        let (_, created) = create_token(
            &mut tx,
            &NewToken {
                role: TokenRole::Admin,
                by: &crate::By::parse("root@x.org"),
                ..new_token("Okta", admin, None)
            },
        )
        .unwrap();
        assert_eq!(created.token.role, TokenRole::Admin);
        let id = created.token.id.clone();
        let refused =
            revoke_token(&mut tx, &id, &crate::By::parse("op@x.org"), operator, NOW).unwrap_err();
        assert!(matches!(refused, StoreError::Forbidden(_)));
        assert!(tx.tokens[&id].revoked.is_none());
    }

    #[test]
    fn revoking_is_idempotent_and_recorded_once() {
        let mut tx = TokenTx::default();
        let id = made(&mut tx, None).token.id;
        let (finish, first) = revoke_token(
            &mut tx,
            &id,
            &crate::By::parse("root@x.org"),
            Actor::Owner,
            NOW + 1,
        )
        .unwrap();
        assert_eq!(finish, Finish::Commit);
        let RevokeOutcome::Revoked(token) = first else {
            panic!("{first:?}")
        };
        let revocation = Revocation {
            at: NOW + 1,
            by: "root@x.org".into(),
        };
        assert_eq!(token.revoked.as_ref(), Some(&revocation));
        let (finish, again) =
            revoke_token(&mut tx, &id, &crate::By::Cli, Actor::Owner, NOW + 2).unwrap();
        assert_eq!(finish, Finish::Abort);
        assert_eq!(again, RevokeOutcome::AlreadyRevoked(token));
        let revoked: Vec<_> = tx
            .events
            .iter()
            .filter(|e| e.action == AuditAction::TokenRevoked)
            .collect();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].actor, "root@x.org");
        // Unknown ids, and text that is no id at all.
        for unknown in ["ffffffffffffffff", "", "../etc", &"a".repeat(10_000)] {
            let e = revoke_token(&mut tx, unknown, &crate::By::Cli, Actor::Owner, NOW).unwrap_err();
            assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
        }
    }

    #[test]
    fn a_name_or_a_validity_out_of_bounds_is_refused() {
        let mut tx = TokenTx::default();
        for (name, days) in [
            ("", None),
            ("a\u{202E}b", None),
            ("ok", Some(0)),
            ("ok", Some(MAX_DAYS + 1)),
        ] {
            let e = create_token(&mut tx, &new_token(name, Actor::Owner, days)).unwrap_err();
            assert!(
                matches!(e, StoreError::Invalid(_)),
                "{name:?} {days:?}: {e:?}"
            );
        }
        assert!(tx.tokens.is_empty());
        let longest = made(&mut tx, Some(MAX_DAYS)).token;
        assert_eq!(longest.expires_at, Some(NOW + i64::from(MAX_DAYS) * 86_400));
    }
}
