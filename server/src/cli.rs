//! The `roster` command line (see the README's Command line).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Roster identity manager: web app, CSV import and administration"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Debug, Args)]
pub struct Common {
    /// Data folder holding the redb store (created if missing).
    #[arg(long, global = true, env = "ROSTER_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// A PostgreSQL database to use instead of the redb file in --data
    /// (postgres://user:password@host:port/database): several servers can
    /// share it.
    #[arg(
        long,
        global = true,
        env = "ROSTER_DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Address the web app listens on.
    #[arg(
        long,
        global = true,
        env = "ROSTER_ADDR",
        default_value = "127.0.0.1:3000"
    )]
    pub addr: SocketAddr,
    /// The address people reach the web app at (e.g. https://roster.example.org):
    /// the base of one-time sign-in links. Default: http:// and --addr.
    #[arg(long, global = true, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The mail server sign-in links and resets are sent through:
    /// smtp://[user:password@]host[:port] (plain; add ?tls=required for
    /// STARTTLS) or smtps://… (TLS from the start). Without it, no mail
    /// is sent: links are shown and downloaded.
    #[arg(
        long,
        global = true,
        env = "ROSTER_SMTP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub smtp_url: Option<String>,
    /// The sender of mails (e.g. "Roster <roster@example.org>"); needed
    /// with --smtp-url.
    #[arg(long, global = true, env = "ROSTER_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Reverse proxies in front of the web app (comma-separated networks
    /// or addresses, e.g. 10.0.0.0/8,::1): a request from one of them is
    /// taken to come from the client its X-Forwarded-For names (the
    /// right-most entry that is not a trusted proxy). Without it,
    /// X-Forwarded-For is ignored.
    #[arg(
        long,
        global = true,
        env = "ROSTER_TRUSTED_PROXIES",
        value_name = "CIDR,…",
        value_parser = crate::web::proxies::TrustedProxies::parse
    )]
    pub trusted_proxies: Option<crate::web::proxies::TrustedProxies>,
    /// Behind HTTPS: cookies are `Secure` with the `__Host-` prefix, and
    /// HSTS is sent. Plain http on localhost is the default.
    /// (`1`, `true`, `yes` or `on`, as `ROSTER_SECURE_COOKIES=1`).
    #[arg(
        long,
        global = true,
        env = "ROSTER_SECURE_COOKIES",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub secure_cookies: bool,
    /// Requests a second each API token may make to /scim/v2 on average
    /// (twice that at once); beyond it a client is answered 429 with
    /// Retry-After. Counted in each server process.
    #[arg(
        long,
        global = true,
        env = "ROSTER_SCIM_REQUESTS_PER_SECOND",
        value_name = "N",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    pub scim_requests_per_second: u32,
    /// The first administrator's address, made on first start when the
    /// store has no administrator.
    #[arg(
        long,
        global = true,
        env = "ROSTER_ADMIN_EMAIL",
        default_value = "admin@localhost"
    )]
    pub admin_email: String,
    /// Sets the first administrator's password on start when it has none
    /// (instead of printing a sign-in link): ROSTER_ADMIN_PASSWORD, read
    /// from the environment only (`skip`: no flag), since a command line
    /// is visible to every user of the machine.
    #[arg(skip = std::env::var("ROSTER_ADMIN_PASSWORD").ok())]
    pub admin_password: Option<String>,
    /// Most connections a server keeps to PostgreSQL.
    #[arg(long, global = true, env = "ROSTER_DATABASE_POOL", default_value_t = crate::engine::postgres::DEFAULT_POOL)]
    pub database_pool: u32,
    /// `json`: one JSON object a line, for log collectors (security events
    /// carry their fields: action, actor, target, client); `text` (the
    /// default) for people.
    #[arg(long, global = true, env = "ROSTER_LOG", default_value = "text", value_parser = ["text", "json"], ignore_case = true)]
    pub log: String,
    /// The folder the web app's files (wasm, JS, CSS) are served from.
    #[arg(
        long,
        global = true,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site"
    )]
    pub site_root: String,
    /// Leptos's environment: DEV reloads in development; anything else is
    /// production.
    #[arg(
        long,
        global = true,
        env = "LEPTOS_ENV",
        default_value = "PROD",
        hide = true
    )]
    pub leptos_env: String,
}

impl Common {
    /// The mail server, when one is configured; an error names what is
    /// wrong with the settings.
    pub fn mailer(&self) -> Result<Option<crate::mail::Mailer>, String> {
        match (&self.smtp_url, &self.mail_from) {
            (None, _) => Ok(None),
            (Some(_), None) => Err(
                "--smtp-url / ROSTER_SMTP_URL needs --mail-from / ROSTER_MAIL_FROM \
                 (the sender's address)"
                    .into(),
            ),
            (Some(url), Some(from)) => crate::mail::Mailer::new(url, from).map(Some),
        }
    }

    /// The base of sign-in links for a server listening on `listening`.
    pub fn public_base(&self, listening: &SocketAddr) -> Result<String, String> {
        match &self.public_url {
            None => Ok(format!("http://{listening}")),
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
                        Ok(url.to_string())
                    }
                    _ => Err(format!(
                        "--public-url / ROSTER_PUBLIC_URL must start with http:// or https:// \
                         and name a host, not {url:?}"
                    )),
                }
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app (the default).
    Serve,
    /// Import users from a CSV file.
    Import(ImportArgs),
    /// Administrator accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Read or change options.
    #[command(subcommand)]
    Options(OptionsCommand),
    /// Write all users to a CSV file (`-` for standard output).
    Export { file: PathBuf },
    /// Copy the whole store — users, import history, audit trail,
    /// approvals, passwords, sign-in links, API tokens and options; not
    /// sessions — into an empty store, in one transaction (e.g. from the
    /// redb file to PostgreSQL).
    Copy {
        /// A PostgreSQL address (postgres://…) or a data folder.
        #[arg(long)]
        to: String,
    },
    /// List, activate or deactivate users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Imports waiting for a second person's approval.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
    /// API tokens: the credentials other systems (SCIM clients) call
    /// Roster with.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// The audit trail: every change to a user, newest first.
    Audit {
        /// Only the changes to this user.
        #[arg(long)]
        user: Option<String>,
        /// Only the changes made by actors whose email contains this (or `cli`).
        #[arg(long)]
        actor: Option<String>,
        /// Only this kind of change: import, manual-create, undo,
        /// profile-edit, edit, role-change, deactivate, activate,
        /// password-set, sign-in-link.
        #[arg(long)]
        action: Option<String>,
        /// Print one JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Users (all, or those the filters match): email, name, end state,
    /// source, roles.
    List {
        /// Print one JSON array instead of text.
        #[arg(long)]
        json: bool,
        /// Words that start the user's name or email words, as in the
        /// web app's "Search users" (e.g. "ada lov", "example.org").
        #[arg(long)]
        filter: Option<String>,
        /// `active` or `inactive`.
        #[arg(long)]
        end_state: Option<String>,
        /// `csv`, `manual`, `bootstrap` or `scim`.
        #[arg(long)]
        source: Option<String>,
        /// `email` (default), `name` or `updated` (newest first).
        #[arg(long)]
        sort: Option<String>,
    },
    /// Deactivate a user: their sessions end and their sign-in links are
    /// revoked at once.
    Deactivate { email: String },
    /// Activate a user again.
    Activate { email: String },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Every request, newest first: id, sent, sender, file, counts, state.
    List {
        /// Print one JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve a waiting request: its file is planned again and written
    /// if nothing changed since it was sent (exit 1 when it did).
    Approve { id: u64 },
    /// Reject a waiting request, with the reason the sender will read.
    Reject {
        id: u64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token: prints it once (only its SHA-256 is kept), and its id.
    Create {
        /// What the token is for (1 to 100 characters), e.g. "Entra ID".
        #[arg(long)]
        name: String,
        /// The authority it acts with: `operator` or `admin`.
        #[arg(long)]
        role: String,
        /// Valid this many days (1 to 3650); without it, until revoked.
        #[arg(long)]
        days: Option<u32>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Every token, oldest first: id, name, role, created, expires, last
    /// used, revoked (never the secret).
    List {
        /// Print one JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: from now on it lets nobody in (revoking it again
    /// changes nothing).
    Revoke { id: String },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// Plan only: print what would happen and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Commit the valid rows and skip the invalid ones.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Who is recorded as the operator of the batch.
    #[arg(long, default_value_t = domain::By::Cli)]
    pub operator: domain::By,
    /// Sync: also deactivate the active imported users (Source = CSV) this
    /// file does not list.
    #[arg(long)]
    pub sync: bool,
    /// With --sync: only users of this organization are deactivated.
    #[arg(long, requires = "sync", value_name = "VALUE")]
    pub scope_organization: Option<String>,
    /// With --sync: deactivate even more than
    /// import.sync_max_deactivate_percent of the candidates.
    #[arg(long, requires = "sync")]
    pub force_deactivate: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create (or promote) an administrator.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input.
        #[arg(long, conflicts_with = "link", required_unless_present = "link")]
        password_stdin: bool,
        /// Print a one-time sign-in link to set the password.
        #[arg(long)]
        link: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OptionsCommand {
    /// Print one option, or all of them.
    Get { key: Option<String> },
    /// Change an option.
    Set { key: String, value: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_are_on_with_the_flag_or_with_one_in_the_environment() {
        assert!(
            !Cli::try_parse_from(["roster"])
                .unwrap()
                .common
                .secure_cookies
        );
        assert!(
            Cli::try_parse_from(["roster", "--secure-cookies"])
                .unwrap()
                .common
                .secure_cookies
        );
        // SAFETY: no other test of this crate reads or writes this
        // variable; it is removed before the assertion.
        unsafe { std::env::set_var("ROSTER_SECURE_COOKIES", "1") };
        let parsed = Cli::try_parse_from(["roster"]);
        unsafe { std::env::remove_var("ROSTER_SECURE_COOKIES") };
        assert!(
            parsed.unwrap().common.secure_cookies,
            "as the README says: =1"
        );
    }
}
