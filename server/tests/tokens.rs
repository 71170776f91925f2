//! API tokens on both engines: made, let in, refused once revoked or
//! expired, "last used" written at most once a minute, kept across a
//! restart, carried by `roster copy`, recorded in the audit trail, and
//! the `roster tokens` command line.

mod support;

use domain::audit::AuditAction;
use domain::store::{StoreError, TokenAuthError};
use domain::token::{ApiToken, LAST_USED_EVERY, TokenRole};
use domain::usecase::tokens::{CreatedToken, NewToken, RevokeOutcome};
use domain::{Actor, Rank};
use serde_json::{Value, json};
use server::engine::Engine;
use support::{Fresh, operator};

const NOW: i64 = 1_800_000_000;

fn create(store: &dyn Engine, name: &str, role: TokenRole, days: Option<u32>) -> CreatedToken {
    store
        .create_token(NewToken {
            name,
            role,
            days,
            by: &domain::By::parse("root@x.org"),
            actor: Actor::Owner,
            now: NOW,
        })
        .unwrap()
}

fn stored(store: &dyn Engine, id: &str) -> ApiToken {
    store.token(id).unwrap().unwrap()
}

fn a_token_lets_in_until_it_is_revoked(f: Fresh) {
    let store = &*f.store;
    let created = create(store, "Entra ID", TokenRole::Operator, Some(30));
    let text = created.text.as_bytes();
    let token = store.authenticate_token(text, NOW + 1).unwrap();
    assert_eq!(token.id, created.token.id);
    assert_eq!(token.actor(), TokenRole::Operator.actor());
    assert_eq!(Rank::of(token.role.roles()), Rank::Operator);
    assert_eq!(token.audit_name(), "token:Entra ID");

    // "Last used": written by the first use, then at most once a minute.
    assert_eq!(stored(store, &token.id).last_used_at, Some(NOW + 1));
    store
        .authenticate_token(text, NOW + LAST_USED_EVERY)
        .unwrap();
    assert_eq!(stored(store, &token.id).last_used_at, Some(NOW + 1));
    let later = NOW + 1 + LAST_USED_EVERY;
    store.authenticate_token(text, later).unwrap();
    assert_eq!(stored(store, &token.id).last_used_at, Some(later));
    // Checking alone writes nothing.
    store.check_token(text, later + 600).unwrap();
    assert_eq!(stored(store, &token.id).last_used_at, Some(later));

    // A wrong secret, another token's id, hostile bytes and an expired
    // token: one answer.
    let other = create(store, "Okta", TokenRole::Admin, None);
    let (id_part, _) = created.text.rsplit_once('_').unwrap();
    let (_, other_secret) = other.text.rsplit_once('_').unwrap();
    let wrong_secret = format!("{id_part}_{other_secret}");
    let expired_at = created.token.expires_at.unwrap();
    let refused: Vec<Result<ApiToken, TokenAuthError>> = vec![
        store.authenticate_token(wrong_secret.as_bytes(), NOW),
        store.authenticate_token(b"", NOW),
        store.authenticate_token(&[0xff; 88], NOW),
        store.authenticate_token(&vec![b'r'; 1 << 20], NOW),
        store.authenticate_token(text, expired_at),
    ];
    for r in refused {
        assert_eq!(r.unwrap_err(), TokenAuthError::Refused);
    }
    assert!(store.authenticate_token(other.text.as_bytes(), NOW).is_ok());

    // Revoked: refused alike, and revoking again changes nothing.
    let revoked = store
        .revoke_token(
            &token.id,
            &domain::By::parse("root@x.org"),
            Actor::Owner,
            NOW + 5_000,
        )
        .unwrap();
    let RevokeOutcome::Revoked(revoked) = revoked else {
        panic!("{revoked:?}")
    };
    assert_eq!(
        store.authenticate_token(text, NOW + 5_001).unwrap_err(),
        TokenAuthError::Refused
    );
    assert_eq!(
        store
            .revoke_token(&token.id, &domain::By::Cli, Actor::Owner, NOW + 6_000)
            .unwrap(),
        RevokeOutcome::AlreadyRevoked(revoked)
    );
    assert!(store.authenticate_token(other.text.as_bytes(), NOW).is_ok());
}

fn only_administrators_make_and_revoke_tokens(f: Fresh) {
    let store = &*f.store;
    let made_by = |actor| {
        store.create_token(NewToken {
            name: "x",
            role: TokenRole::Admin,
            days: None,
            by: &domain::By::parse("op@x.org"),
            actor,
            now: NOW,
        })
    };
    for actor in [operator(), TokenRole::Operator.actor()] {
        assert!(matches!(made_by(actor), Err(StoreError::Forbidden(_))));
    }
    assert!(store.tokens().unwrap().is_empty());
    let admin = support::admin();
    let made = made_by(admin).unwrap();
    let refused = store
        .revoke_token(
            &made.token.id,
            &domain::By::parse("op@x.org"),
            operator(),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(refused, StoreError::Forbidden(_)), "{refused:?}");
    let unknown = store
        .revoke_token("0000000000000000", &domain::By::Cli, Actor::Owner, NOW)
        .unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound(_)), "{unknown:?}");
    assert!(stored(store, &made.token.id).revoked.is_none());
}

fn the_audit_trail_says_who_made_and_revoked_which(f: Fresh) {
    let store = &*f.store;
    let created = create(store, "Entra ID", TokenRole::Operator, None);
    store
        .revoke_token(&created.token.id, &domain::By::Cli, Actor::Owner, NOW + 1)
        .unwrap();
    let events: Vec<_> = store
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| {
            matches!(
                e.action,
                AuditAction::TokenCreated | AuditAction::TokenRevoked
            )
        })
        .collect();
    // Newest first.
    let facts: Vec<_> = events
        .iter()
        .map(|e| (e.action, e.actor.as_str(), e.target.as_str(), e.at))
        .collect();
    assert_eq!(
        facts,
        [
            (AuditAction::TokenRevoked, "cli", "token:Entra ID", NOW + 1),
            (
                AuditAction::TokenCreated,
                "root@x.org",
                "token:Entra ID",
                NOW
            ),
        ]
    );
    for event in &events {
        let described = domain::plan::Change::describe_all(&event.changes);
        assert!(described.contains(&created.token.id), "{described}");
        let (_, secret) = created.text.rsplit_once('_').unwrap();
        assert!(!described.contains(secret));
    }
    let query = domain::audit::AuditQuery {
        action: Some(AuditAction::TokenCreated),
        ..Default::default()
    };
    assert_eq!(store.audit_matching(&query).unwrap().len(), 1);
}

/// Two tokens: one used (live), one revoked (gone).
fn live_and_gone(store: &dyn Engine) -> (CreatedToken, CreatedToken) {
    let live = create(store, "Entra ID", TokenRole::Operator, Some(30));
    let gone = create(store, "Okta", TokenRole::Admin, None);
    store
        .authenticate_token(live.text.as_bytes(), NOW + 10)
        .unwrap();
    store
        .revoke_token(&gone.token.id, &domain::By::Cli, Actor::Owner, NOW + 20)
        .unwrap();
    (live, gone)
}

fn tokens_survive_a_restart(f: Fresh) {
    let (live, gone) = live_and_gone(&*f.store);
    let before = f.store.list_tokens().unwrap();
    assert_eq!(before.len(), 2);
    let (f, ()) = f.while_closed(|_| ());
    assert_eq!(f.store.list_tokens().unwrap(), before);
    assert!(f.store.check_token(live.text.as_bytes(), NOW + 30).is_ok());
    assert_eq!(
        f.store
            .check_token(gone.text.as_bytes(), NOW + 30)
            .unwrap_err(),
        TokenAuthError::Refused
    );
}

/// Runs `roster` on the store `args` reach.
fn roster(args: &[String], more: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .args(more)
        .env_remove("ROSTER_DATA")
        .env_remove("ROSTER_DATABASE_URL")
        .output()
        .expect("roster runs")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn the_command_line_makes_lists_and_revokes_tokens(f: Fresh) {
    let (f, (token, id)) = f.while_closed(|args| {
        let create = [
            "tokens", "create", "--name", "Entra ID", "--role", "operator", "--days", "30",
            "--json",
        ];
        let out = roster(args, &create);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let made: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(made["name"], "Entra ID");
        assert_eq!(made["role"], "operator");
        let id = made["id"].as_str().unwrap().to_string();
        let token = made["token"].as_str().unwrap().to_string();
        assert!(token.starts_with(&format!("roster_{id}_")), "{token}");
        let expires = made["expires_at"].as_i64().unwrap() - made["created_at"].as_i64().unwrap();
        assert_eq!(expires, 30 * 86_400);

        // Text: the token on a line of its own, last.
        let out = roster(
            args,
            &["tokens", "create", "--name", "Okta", "--role", "Admin"],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let text = stdout(&out);
        assert!(text.contains("expires never"), "{text}");
        assert!(
            text.trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("roster_")
        );

        // Refused: a role that is none, a name that is empty or hides a
        // character, a validity out of bounds (exit 3, as other commands).
        for bad in [
            ["--name", "x", "--role", "owner", "--days", "1"],
            ["--name", " ", "--role", "admin", "--days", "1"],
            ["--name", "a\u{202E}b", "--role", "admin", "--days", "1"],
            ["--name", "x", "--role", "admin", "--days", "0"],
        ] {
            let out = roster(args, &[&["tokens", "create"][..], &bad].concat());
            assert_eq!(out.status.code(), Some(3), "{bad:?}: {out:?}");
            assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
        }

        let out = roster(args, &["tokens", "revoke", &id]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(stdout(&out).starts_with("Revoked API token"), "{out:?}");
        let out = roster(args, &["tokens", "revoke", &id]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(stdout(&out).contains("already revoked"), "{out:?}");
        let out = roster(args, &["tokens", "revoke", "ffffffffffffffff"]);
        assert_eq!(out.status.code(), Some(3), "{out:?}");

        // The list: everything but the secret and its hash.
        let out = roster(args, &["tokens", "list", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        // Both made within a second: in either order.
        let (revoked, okta) = match list[0]["id"] == id.as_str() {
            true => (&list[0], &list[1]),
            false => (&list[1], &list[0]),
        };
        assert_eq!(
            (&revoked["id"], &revoked["revoked_by"]),
            (&json!(id), &json!("cli"))
        );
        assert_eq!(okta["role"], "admin");
        assert_eq!(
            (&okta["revoked_at"], &okta["last_used_at"]),
            (&Value::Null, &Value::Null)
        );
        let (_, secret) = token.rsplit_once('_').unwrap();
        let hash = hex::encode(domain::token::secret_sha256(secret));
        let text = roster(args, &["tokens", "list"]);
        for listed in [stdout(&out), stdout(&text)] {
            assert!(!listed.contains(secret) && !listed.contains(&hash));
        }
        let lines = stdout(&text);
        let line = lines.lines().find(|l| l.starts_with(&id)).unwrap();
        let columns: Vec<&str> = line.split('\t').collect();
        assert_eq!(columns[..3], [id.as_str(), "Entra ID", "operator"]);
        assert_eq!(columns[5], "never used");
        assert!(columns[6].starts_with("revoked "), "{columns:?}");

        let out = roster(args, &["audit", "--action", "token-created", "--json"]);
        let events: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(events.as_array().unwrap().len(), 2);
        assert_eq!(events[0]["actor"], "cli");
        (token, id)
    });
    // What the command line made, the store reads.
    assert_eq!(
        f.store
            .check_token(token.as_bytes(), server::commands::now())
            .unwrap_err(),
        TokenAuthError::Refused
    );
    assert!(stored(&*f.store, &id).revoked.is_some());
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $( #[test] fn $name() { super::$name(super::support::redb()) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::support::postgres()) } )*
        }
    };
}

on_both_engines!(
    a_token_lets_in_until_it_is_revoked,
    only_administrators_make_and_revoke_tokens,
    the_audit_trail_says_who_made_and_revoked_which,
    tokens_survive_a_restart,
    the_command_line_makes_lists_and_revokes_tokens,
);

#[test]
fn a_copy_from_redb_to_postgres_carries_the_tokens() {
    let (from, to) = (support::redb(), support::postgres());
    let (live, gone) = live_and_gone(&*from.store);
    let n = server::engine::copy(&*from.store, &*to.store).unwrap();
    assert_eq!(n.tokens, 2);
    assert_eq!(
        to.store.list_tokens().unwrap(),
        from.store.list_tokens().unwrap()
    );
    let token = to
        .store
        .authenticate_token(live.text.as_bytes(), NOW + 100)
        .unwrap();
    assert_eq!(
        (token.id, token.last_used_at),
        (live.token.id, Some(NOW + 100))
    );
    assert_eq!(
        to.store
            .check_token(gone.text.as_bytes(), NOW + 100)
            .unwrap_err(),
        TokenAuthError::Refused
    );
    let copied_events = |store: &dyn Engine| {
        store
            .audit_log()
            .unwrap()
            .into_iter()
            .filter(|e| e.action == AuditAction::TokenRevoked)
            .count()
    };
    assert_eq!(copied_events(&*to.store), 1);
}

#[test]
fn a_redb_store_of_schema_4_gets_the_newer_tables_when_opened() {
    use ::redb::{ReadableDatabase, TableDefinition, TableHandle};
    use domain::store::Tokens;
    use server::engine::redb::RedbStore;
    let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        // As schema 4 left it: no tokens table, no SCIM tables.
        let txn = store.db().begin_write().unwrap();
        let tokens: TableDefinition<&str, &[u8]> = TableDefinition::new("api_tokens");
        assert!(txn.delete_table(tokens).unwrap());
        let external_ids: TableDefinition<&str, &str> = TableDefinition::new("scim_external_ids");
        assert!(txn.delete_table(external_ids).unwrap());
        // Nor the mail outbox (schema 7).
        for name in ["outbox", "outbox_due"] {
            assert!(
                txn.delete_table(TableDefinition::<u64, u64>::new(name))
                    .unwrap()
            );
        }
        txn.open_table(meta)
            .unwrap()
            .insert("schema_version", 4)
            .unwrap();
        txn.commit().unwrap();
    }
    let store = RedbStore::open(dir.path()).unwrap();
    let read = store.db().begin_read().unwrap();
    assert!(
        read.list_tables()
            .unwrap()
            .any(|t| t.name() == "api_tokens")
    );
    assert!(
        read.list_tables()
            .unwrap()
            .any(|t| t.name() == "scim_external_ids")
    );
    assert!(read.list_tables().unwrap().any(|t| t.name() == "outbox"));
    let version = read.open_table(meta).unwrap().get("schema_version");
    assert_eq!(version.unwrap().unwrap().value(), 10);
    assert!(store.list_tokens().unwrap().is_empty());
    let made = create(&store, "Entra ID", TokenRole::Operator, None);
    assert!(store.check_token(made.text.as_bytes(), NOW).is_ok());
}
