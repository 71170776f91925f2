//! The non-web subcommands. They print results on stdout (text or JSON) and
//! return the process exit code. `roster import` is in [`import`],
//! `roster tokens` in [`tokens`]; the others, and the administrator every
//! start makes sure of, are here.

mod import;
mod tokens;

pub use import::import;
pub use tokens::tokens;

use crate::cli::{AdminCommand, ApprovalsCommand, OptionsCommand, UsersCommand};
use crate::engine::Engine;
use domain::store::AppStore;
use domain::store::StoreError;
use domain::user::{EndState, Profile, Role, Roles, Source, User};
use domain::{Actor, By, Email, Field};
use serde_json::json;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

pub use app::context::now_s as now;

/// Exit codes of `roster import` (listed in the README).
pub const EXIT_OK: u8 = 0;
pub const EXIT_INVALID_ROWS: u8 = 1;
pub const EXIT_BAD_FILE: u8 = 2;
/// Anything else: store locked or unreadable, I/O error, bad arguments.
pub const EXIT_OTHER: u8 = 3;
/// A sync refused by the safety valve (import.sync_max_deactivate_percent).
pub const EXIT_TOO_MANY_DEACTIVATIONS: u8 = 4;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("roster: {message}");
    ExitCode::from(EXIT_OTHER)
}

/// `roster approvals list | approve ID | reject ID --reason TEXT`, with
/// the machine owner's authority, recorded as `cli`.
/// `mail` as for `roster import`: an approved import's created users are
/// mailed their sign-in links when `enrolment.email_on_import` is on.
pub fn approvals(store: &dyn AppStore, cmd: &ApprovalsCommand, mail: bool) -> ExitCode {
    use domain::store::{ApprovalOutcome, Decision};
    let (id, decision) = match cmd {
        ApprovalsCommand::List { json } => {
            let list = match store.approvals() {
                Ok(l) => l,
                Err(e) => return fail(e),
            };
            if *json {
                match serde_json::to_string(&list) {
                    Ok(text) => println!("{text}"),
                    Err(e) => return fail(e),
                }
            } else {
                for r in &list {
                    println!(
                        "{}\t{}\t{}\t{}\tcreate {} update {}\t{}",
                        r.id,
                        domain::time::rfc3339(r.sent_at),
                        r.operator,
                        r.file_name,
                        r.counts.create,
                        r.counts.update,
                        r.state.label()
                    );
                }
            }
            return ExitCode::SUCCESS;
        }
        ApprovalsCommand::Approve { id } => (*id, Decision::Approve),
        ApprovalsCommand::Reject { id, reason } => (
            *id,
            Decision::Reject {
                reason: reason.clone(),
            },
        ),
    };
    match store.decide_approval_mailing(id, decision, &By::Cli, Actor::Owner, now(), mail) {
        Ok(ApprovalOutcome::Approved { batch, mailed }) => {
            println!(
                "Approved request {id}: written as batch {} ({} created, {} updated).{}",
                batch.id,
                batch.counts.create,
                batch.counts.update,
                mailed.map(|q| q.sentence()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(ApprovalOutcome::Rejected) => {
            println!("Rejected request {id}.");
            ExitCode::SUCCESS
        }
        Ok(ApprovalOutcome::Stale) => {
            eprintln!(
                "roster: request {id} changed since preview: its users were changed after it \
                 was sent. Nothing was written; the sender must import the file again."
            );
            ExitCode::from(EXIT_INVALID_ROWS)
        }
        Err(e) => fail(e),
    }
}

pub fn export(store: &dyn AppStore, file: &Path) -> ExitCode {
    let users = match store.all_users() {
        Ok(u) => u,
        Err(e) => return fail(e),
    };
    let csv = domain::csv_out::users_csv(&users);
    let written = if file.as_os_str() == "-" {
        std::io::stdout().write_all(csv.as_bytes())
    } else {
        std::fs::write(file, csv.as_bytes())
    };
    match written {
        Ok(()) => {
            if file.as_os_str() != "-" {
                eprintln!("Exported {} users to {}.", users.len(), file.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("cannot write {}: {e}", file.display())),
    }
}

pub fn users(store: &dyn AppStore, cmd: &UsersCommand) -> ExitCode {
    let (email, end_state) = match cmd {
        UsersCommand::List {
            json,
            filter,
            end_state,
            source,
            sort,
        } => {
            return list_users(
                store,
                ListArgs {
                    json: *json,
                    filter: filter.as_deref(),
                    end_state: end_state.as_deref(),
                    source: source.as_deref(),
                    sort: sort.as_deref(),
                },
            );
        }
        UsersCommand::Deactivate { email } => (email, EndState::Inactive),
        UsersCommand::Activate { email } => (email, EndState::Active),
    };
    let email = match Email::parse(email) {
        Ok(e) => e,
        Err(e) => return fail(format!("EMAIL: {e}")),
    };
    match store.set_end_state(email.key(), end_state, &By::Cli, Actor::Owner, now()) {
        Ok(user) => {
            println!("{} is {}.", user.email, user.end_state.key());
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

pub fn audit(
    store: &dyn AppStore,
    user: Option<&str>,
    actor: Option<&str>,
    action: Option<&str>,
    json: bool,
) -> ExitCode {
    let mut query = domain::audit::AuditQuery {
        actor: actor.unwrap_or_default().to_string(),
        ..Default::default()
    };
    if let Some(email) = user {
        match Email::parse(email) {
            Ok(e) => query.target = e.to_string(),
            Err(e) => return fail(format!("--user: {e}")),
        }
    }
    if let Some(action) = action {
        match domain::audit::AuditAction::parse(action) {
            Some(a) => query.action = Some(a),
            None => {
                let keys: Vec<&str> = domain::audit::AuditAction::ALL
                    .iter()
                    .map(|a| a.key())
                    .collect();
                return fail(format!("--action: one of {}", keys.join(", ")));
            }
        }
    }
    let events = match store.audit_matching(&query) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    if json {
        match serde_json::to_string(&events) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(e),
        }
    } else {
        for e in &events {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                domain::time::rfc3339(e.at),
                e.actor,
                e.target,
                e.what(),
                domain::plan::Change::describe_all(&e.changes)
            );
        }
    }
    ExitCode::SUCCESS
}

/// The filters of `roster users list`.
struct ListArgs<'a> {
    json: bool,
    filter: Option<&'a str>,
    end_state: Option<&'a str>,
    source: Option<&'a str>,
    sort: Option<&'a str>,
}

/// `roster users list`: the Users page's query, every page of it.
fn list_users(store: &dyn AppStore, args: ListArgs<'_>) -> ExitCode {
    use domain::directory::{MAX_PAGE_SIZE, UserQuery, UserSort};
    let mut query = UserQuery {
        search: args.filter.unwrap_or_default().to_string(),
        page_size: MAX_PAGE_SIZE,
        ..UserQuery::default()
    };
    if let Some(v) = args.end_state {
        match EndState::parse(v) {
            Some(e) => query.end_state = Some(e),
            None => return fail("--end-state: active or inactive"),
        }
    }
    if let Some(v) = args.source {
        match Source::parse(v) {
            Some(s) => query.source = Some(s),
            None => return fail("--source: csv, manual or bootstrap"),
        }
    }
    if let Some(v) = args.sort {
        match UserSort::parse(v) {
            Some(s) => query.sort = s,
            None => return fail("--sort: email, name or updated"),
        }
    }
    if query.search.trim().chars().count() > 0
        && let Ok(page) = store.list_users(&query)
        && page.capped
    {
        eprintln!(
            "roster: more than {} users match; listing the first found (narrow the filter)",
            domain::directory::MAX_SEARCH_HITS
        );
    }
    let users = match store.matching_users(&query) {
        Ok(u) => u,
        Err(e) => return fail(e),
    };
    if args.json {
        let list: Vec<serde_json::Value> = users
            .iter()
            .map(|u| {
                json!({
                    "email": u.email.as_str(),
                    "name": u.name(),
                    "end_state": u.end_state.key(),
                    "source": u.source.key(),
                    "roles": u.roles.to_keys(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        let mut out = std::io::stdout().lock();
        for u in &users {
            let line = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                u.email,
                u.name(),
                u.end_state.key(),
                u.source.key(),
                u.roles.to_keys()
            );
            if let Err(e) = line {
                return fail(e);
            }
        }
    }
    ExitCode::SUCCESS
}

pub fn options(store: &dyn AppStore, cmd: &OptionsCommand) -> ExitCode {
    match cmd {
        OptionsCommand::Get { key: None } => match store.options() {
            Ok(o) => {
                for (k, v) in o.to_pairs() {
                    println!("{k} = {v}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        OptionsCommand::Get { key: Some(key) } => match store.options().map(|o| o.get(key)) {
            Ok(Ok(v)) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            Ok(Err(e)) => fail(e),
            Err(e) => fail(e),
        },
        OptionsCommand::Set { key, value } => match store.set_option(key, value, &By::Cli, now()) {
            Ok(o) => {
                println!("{key} = {}", o.get(key).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

/// `roster copy --to TARGET`.
pub fn copy(source: &dyn Engine, to: &str) -> ExitCode {
    let copied =
        crate::engine::open_target(to).and_then(|target| crate::engine::copy(source, &*target));
    match copied {
        Ok(n) => {
            println!(
                "Copied {} users, {} batches, {} audit events, {} approval requests, \
                 {} passwords, {} sign-in links, {} API tokens, {} SCIM external ids and {} mails of the \
                 outbox (sessions are not copied: everyone signs in again).",
                n.users,
                n.batches,
                n.audit_events,
                n.approvals,
                n.passwords,
                n.links,
                n.tokens,
                n.external_ids,
                n.mails
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("roster: nothing was copied: {e}");
            ExitCode::from(EXIT_OTHER)
        }
    }
}

/// Creates an administrator, or gives an existing user the Admin role.
pub fn ensure_admin(
    store: &dyn AppStore,
    email: &Email,
    source: Source,
) -> Result<User, StoreError> {
    let new = new_admin(email, source)?;
    domain::store::run(store, |tx| {
        domain::usecase::ensure_admin(tx, new, false, now())
    })
}

/// The first start's administrator: `email`'s, unless the store has an
/// administrator already (decided in one transaction, so that several
/// servers starting at once on one database make one).
pub fn first_admin(store: &dyn AppStore, email: &Email) -> Result<User, StoreError> {
    let new = new_admin(email, Source::Bootstrap)?;
    domain::store::run(store, |tx| {
        domain::usecase::ensure_admin(tx, new, true, now())
    })
}

/// A new administrator with this address.
fn new_admin(email: &Email, source: Source) -> Result<User, StoreError> {
    let now = now();
    Ok(User {
        email: email.clone(),
        profile: {
            let mut p = Profile::default();
            p.set(Field::FirstName, "Roster")
                .and_then(|()| p.set(Field::LastName, "Administrator"))
                .and_then(|()| p.set(Field::DisplayName, "Roster Administrator"))
                .map_err(|e| StoreError::Invalid(e.message))?;
            p
        },
        roles: Roles::of(&[Role::Admin, Role::SelfService]),
        end_state: EndState::Active,
        source,
        created_at: now,
        updated_at: now,
        version: 1,
        held: Default::default(),
    })
}

/// The address a one-time link is handed out as: `base` is the configured
/// public URL (`--public-url`) or else `http://` and the listen address.
pub fn admin(store: &dyn AppStore, cmd: &AdminCommand, base: &str) -> ExitCode {
    let AdminCommand::Create {
        email,
        password_stdin,
        link,
    } = cmd;
    let email = match Email::parse(email) {
        Ok(e) => e,
        Err(e) => return fail(format!("--email: {e}")),
    };
    let password = if *password_stdin {
        let mut input = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut input) {
            return fail(format!("cannot read the password from standard input: {e}"));
        }
        let pw = input.strip_suffix('\n').unwrap_or(&input);
        let pw = pw.strip_suffix('\r').unwrap_or(pw).to_string();
        match app::security::hash_password(&pw) {
            Ok(h) => Some(h),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let user = match ensure_admin(store, &email, Source::Manual) {
        Ok(u) => u,
        Err(e) => return fail(e),
    };
    if let Some(hash) = password {
        if let Err(e) = store.set_password(user.key(), &hash, app::context::now_ms(), &By::Cli) {
            return fail(e);
        }
        println!(
            "Administrator {} is ready; the password is set.",
            user.email
        );
    }
    if *link {
        let days = store.options().map(|o| o.link_days).unwrap_or(7);
        // A new link replaces any earlier one (and revokes it).
        let made = store
            .revoke_links(user.key())
            .and_then(|_| store.create_link(user.key(), now(), days, &By::Cli, Actor::Owner));
        match made {
            Ok(token) => {
                println!(
                    "Administrator {} is ready. One-time sign-in link (valid {days} days):",
                    user.email
                );
                println!("{}", domain::mail::link_url(base, &token));
            }
            Err(e) => return fail(e),
        }
    }
    ExitCode::SUCCESS
}
