//! `roster tokens create | list | revoke`: API tokens, made and revoked
//! with the machine owner's authority and recorded as `cli`. The token
//! itself is printed once, by `create`; nothing prints its secret's hash.

use super::{fail, now};
use crate::cli::TokensCommand;
use domain::store::AppStore;
use domain::token::{ApiToken, TokenRole};
use domain::usecase::tokens::{NewToken, RevokeOutcome};
use domain::{Actor, By};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

pub fn tokens(store: &dyn AppStore, cmd: &TokensCommand) -> ExitCode {
    match cmd {
        TokensCommand::Create {
            name,
            role,
            days,
            json,
        } => create(store, name, role, *days, *json),
        TokensCommand::List { json } => list(store, *json),
        TokensCommand::Revoke { id } => revoke(store, id),
    }
}

/// A time as the text output shows it, or `none`.
fn shown_time(at: Option<i64>, none: &str) -> String {
    at.map_or_else(|| none.to_string(), domain::time::rfc3339)
}

fn create(store: &dyn AppStore, name: &str, role: &str, days: Option<u32>, json: bool) -> ExitCode {
    let Some(role) = TokenRole::parse(role) else {
        return fail("--role: operator or admin");
    };
    let made = store.create_token(NewToken {
        name,
        role,
        days,
        by: &By::Cli,
        actor: Actor::Owner,
        now: now(),
    });
    let created = match made {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let t = &created.token;
    if json {
        println!(
            "{}",
            json!({
                "id": t.id,
                "name": t.name.as_str(),
                "role": t.role.key(),
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "token": created.text,
            })
        );
    } else {
        println!(
            "API token {} \"{}\" ({}, expires {}).",
            t.id,
            t.name,
            t.role,
            shown_time(t.expires_at, "never")
        );
        println!("It is shown this once; give it to the client now:");
        println!("{}", created.text);
    }
    ExitCode::SUCCESS
}

/// A token as `list --json` prints it: everything but the secret's hash.
fn listed(t: &ApiToken) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name.as_str(),
        "role": t.role.key(),
        "created_at": t.created_at,
        "created_by": t.created_by,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked.as_ref().map(|r| r.at),
        "revoked_by": t.revoked.as_ref().map(|r| r.by.as_str()),
    })
}

fn list(store: &dyn AppStore, json: bool) -> ExitCode {
    let tokens = match store.list_tokens() {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if json {
        println!(
            "{}",
            serde_json::Value::Array(tokens.iter().map(listed).collect())
        );
        return ExitCode::SUCCESS;
    }
    let mut out = std::io::stdout().lock();
    for t in &tokens {
        let revoked = t.revoked.as_ref().map_or_else(
            || "-".to_string(),
            |r| format!("revoked {} by {}", domain::time::rfc3339(r.at), r.by),
        );
        let line = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            t.id,
            t.name,
            t.role,
            domain::time::rfc3339(t.created_at),
            shown_time(t.expires_at, "never expires"),
            shown_time(t.last_used_at, "never used"),
            revoked
        );
        if let Err(e) = line {
            return fail(e);
        }
    }
    ExitCode::SUCCESS
}

fn revoke(store: &dyn AppStore, id: &str) -> ExitCode {
    match store.revoke_token(id.trim(), &By::Cli, Actor::Owner, now()) {
        Ok(RevokeOutcome::Revoked(t)) => {
            println!("Revoked API token {} \"{}\".", t.id, t.name);
            ExitCode::SUCCESS
        }
        Ok(RevokeOutcome::AlreadyRevoked(t)) => {
            let (at, by) = t
                .revoked
                .as_ref()
                .map(|r| (domain::time::rfc3339(r.at), r.by.as_str()))
                .unwrap_or_default();
            println!(
                "API token {} \"{}\" was already revoked ({at} by {by}).",
                t.id, t.name
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
