//! Passwords and one-time sign-in links.

use super::{Done, abort, commit};
use crate::UserKey;
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::link::LinkToken;
use crate::privilege::{self, Act, Actor};
use crate::store::LinkRefused;
use crate::transaction::{SignInLink, WriteTx, token_id};

/// Stores a new password hash and epoch, revokes the user's links and
/// records it in the audit trail (never the hash).
pub fn set_password(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    phc: &str,
    now_ms: i64,
    by: &By,
) -> Done<()> {
    if let Some(user) = tx.user(key)? {
        let event = AuditEvent::new(
            now_ms.div_euclid(1000),
            by,
            &user,
            AuditAction::PasswordSet,
            Vec::new(),
        );
        tx.append_audit(vec![event], None)?;
    }
    tx.put_password(key, phc, now_ms)?;
    tx.revoke_links(key)?;
    commit(())
}

/// Makes a sign-in link for each of these users the privilege rule lets
/// `actor` make one for: for each key its token, or why not.
pub fn create_links(
    tx: &mut dyn WriteTx,
    user_keys: &[UserKey],
    now: i64,
    days: u32,
    by: &By,
    actor: Actor,
) -> Done<Vec<Result<LinkToken, LinkRefused>>> {
    create_links_of(tx, user_keys, now, days, by, actor, None)
}

/// [`create_links`]; with `batch`, the links of the users an import
/// created, whose events go under a head of their own (one row in the
/// Audit log, see [`crate::audit::batch`]).
pub(super) fn create_links_of(
    tx: &mut dyn WriteTx,
    user_keys: &[UserKey],
    now: i64,
    days: u32,
    by: &By,
    actor: Actor,
    batch: Option<&crate::store::BatchSummary>,
) -> Done<Vec<Result<LinkToken, LinkRefused>>> {
    let expires_at = now + i64::from(days) * 86_400;
    let mut events = Vec::new();
    let mut out = Vec::with_capacity(user_keys.len());
    let keys: Vec<&UserKey> = user_keys.iter().collect();
    let mut users = tx.users(&keys)?;
    for key in user_keys {
        let Some(user) = users.remove(key) else {
            out.push(Err(LinkRefused::NoSuchUser));
            continue;
        };
        let act = Act::SignInLink {
            has_password: tx.has_password(key)?,
        };
        if let Err(refusal) = privilege::check_change(actor, act, Some(&user), None) {
            out.push(Err(LinkRefused::NotAllowed(refusal)));
            continue;
        }
        // One open link per user: a new one voids the earlier ones.
        if tx.revoke_links(key)? > 0 {
            events.push(
                AuditEvent::new(now, by, &user, AuditAction::SignInLinksRevoked, Vec::new())
                    .with("reason", "a new link was made"),
            );
        }
        let token = LinkToken::new(tx.new_token());
        tx.put_link(
            &token_id(&token),
            &SignInLink {
                user_key: key.clone(),
                expires_at,
            },
        )?;
        events.push(AuditEvent::new(
            now,
            by,
            &user,
            AuditAction::SignInLinkMade,
            Vec::new(),
        ));
        out.push(Ok(token));
    }
    match batch {
        Some(summary) => {
            let events =
                crate::audit::batch::with_head(events, summary, AuditAction::SignInLinkMade);
            tx.append_audit(events, Some(summary.id))?;
        }
        None => tx.append_audit(events, None)?,
    }
    commit(out)
}

/// Uses a link up, sets the password (revoking the user's other links) and
/// returns the user; `None`, with nothing written, when the link was not
/// valid or its user is gone.
pub fn redeem_link(
    tx: &mut dyn WriteTx,
    token: &LinkToken,
    phc: &str,
    now_ms: i64,
) -> Done<Option<UserKey>> {
    let valid = tx
        .take_link(&token_id(token))?
        .filter(|link| link.expires_at > now_ms.div_euclid(1000));
    let Some(link) = valid else {
        return abort(None);
    };
    if tx.user(&link.user_key)?.is_none() {
        return abort(None);
    }
    // The link's holder sets their own password.
    let key = link.user_key;
    if let Some(user) = tx.user(&key)? {
        tx.append_audit(
            vec![AuditEvent::new(
                now_ms.div_euclid(1000),
                key.as_str(),
                &user,
                AuditAction::SignInLinkUsed,
                Vec::new(),
            )],
            None,
        )?;
    }
    set_password(tx, &key, phc, now_ms, &By::parse(key.as_str()))?;
    commit(Some(key))
}
