//! The `roster` binary's library. `main.rs` only calls [`run`].
//!
//! - [`cli`]: the command line (clap);
//! - [`commands`]: the subcommands but `serve`;
//! - [`web`]: `roster serve`, the HTTP stack around the Leptos app;
//! - [`engine`]: the storage engines (redb, PostgreSQL) and what an
//!   engine implements;
//! - `test_support`: a throwaway PostgreSQL for tests and benches (the
//!   `test-support` feature).
//!
//! The command line and the web server use the engines; the engines use
//! only the domain.

pub mod cli;
pub mod commands;
pub mod engine;
pub mod mail;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod web;

use clap::Parser;
use cli::{Cli, Command};
use engine::Engine;
use std::process::ExitCode;
use std::sync::Arc;

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let serving = matches!(command, Command::Serve);
    // Logs go to stderr; subcommands keep stdout for their (JSON) output.
    let default_level = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let _ = if cli.common.log.eq_ignore_ascii_case("json") {
        logs.json().try_init()
    } else {
        logs.try_init()
    };
    let open = || {
        engine::open(
            cli.common.database.as_deref(),
            &cli.common.data,
            cli.common.database_pool,
        )
    };
    // Whether a mail server is set, as `serve` checks it: an import or an
    // approval then queues its sign-in link mails for a server to send.
    let mail = match (&command, cli.common.mailer()) {
        (_, Ok(mailer)) => mailer.is_some(),
        (Command::Import(_) | Command::Approvals(_), Err(e)) => {
            eprintln!("roster: {e}");
            return ExitCode::from(commands::EXIT_OTHER);
        }
        (_, Err(_)) => false,
    };
    match &command {
        Command::Import(args) => commands::import(open(), args, mail),
        other => {
            let store = match open() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("roster: {e}");
                    return ExitCode::from(commands::EXIT_OTHER);
                }
            };
            match other {
                Command::Serve => serve(store, &cli.common),
                Command::Admin(cmd) => match cli.common.public_base(&cli.common.addr) {
                    Ok(base) => commands::admin(&*store, cmd, &base),
                    Err(e) => {
                        eprintln!("roster: {e}");
                        ExitCode::from(commands::EXIT_OTHER)
                    }
                },
                Command::Options(cmd) => commands::options(&*store, cmd),
                Command::Export { file } => commands::export(&*store, file),
                Command::Copy { to } => commands::copy(&*store, to),
                Command::Users(cmd) => commands::users(&*store, cmd),
                Command::Approvals(cmd) => commands::approvals(&*store, cmd, mail),
                Command::Tokens(cmd) => commands::tokens(&*store, cmd),
                Command::Audit {
                    user,
                    actor,
                    action,
                    json,
                } => commands::audit(
                    &*store,
                    user.as_deref(),
                    actor.as_deref(),
                    action.as_deref(),
                    *json,
                ),
                Command::Import(_) => unreachable!("handled above"),
            }
        }
    }
}

fn serve(store: Arc<dyn Engine>, common: &cli::Common) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("roster: cannot start the runtime: {e}");
            return ExitCode::from(commands::EXIT_OTHER);
        }
    };
    match runtime.block_on(web::serve(store, common)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {e}");
            ExitCode::from(commands::EXIT_OTHER)
        }
    }
}
