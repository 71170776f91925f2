//! Mail through a real SMTP server: Python's aiosmtpd
//! (`scripts/smtp-sink.py`, installed by `make` into `.deps/smtp-venv`,
//! or by these tests when missing), started on a free port by each test.
//! The mails of a committed import arrive and none of a refused one; a
//! server that answers 4xx, then 5xx, leads to a retry, then "failed"
//! with its answer; a server killed (SIGKILL) after the commit sends the
//! mails after its restart, once; two servers on one PostgreSQL send each
//! mail once; `roster import` and an approved import queue their mails.

mod support;

use domain::Actor;
use domain::mail::{Delivery, MailState};
use domain::options;
use domain::store::{ImportOutcome, ImportRequest};
use server::engine::Engine;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::k;

const HEAD: &str = "email,first_name,last_name\n";
const NOW: i64 = 1_800_000_000;

/// The workspace's root (where `make` and `scripts/` are).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The SMTP sink on a free port, writing messages into a folder of its
/// own; stopped when dropped.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let python = root().join(".deps/smtp-venv/bin/python");
        // One test at a time installs it (tests run in parallel threads).
        static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _installing = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
        let ready = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !ready {
            let made = Command::new("make")
                .current_dir(root())
                .args(["-s", ".deps/smtp-venv/ok"])
                .status()
                .unwrap();
            assert!(
                made.success(),
                "cannot install aiosmtpd (make .deps/smtp-venv/ok)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&python)
            .arg(root().join("scripts/smtp-sink.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink did not start: {line:?}"));
        Sink { child, port, dir }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next answers, one a message ("451 …", "550 …").
    fn answer_with(&self, answers: &[&str]) {
        std::fs::write(self.dir.path().join("answers"), answers.join("\n") + "\n").unwrap();
    }

    /// The messages received so far, in order.
    fn received(&self) -> Vec<String> {
        let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| {
                let path = e.ok()?.path();
                let n = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".eml")?
                    .parse()
                    .ok()?;
                Some((n, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Waits (long: this is no timing test) until `n` messages arrived.
    fn wait_for(&self, n: usize) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > until {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Now, Unix seconds: the server's sender takes what is due by its clock.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn request(csv: &str) -> ImportRequest<'_> {
    ImportRequest {
        bytes: csv.as_bytes(),
        file_name: "users.csv",
        operator: domain::By::parse("op@x.org"),
        actor: Actor::Owner,
        expected_fingerprint: None,
        skip_invalid: false,
        corrected: None,
        now: now(),
    }
}

/// An import as the web app commits it with mail configured.
fn import_mailing(store: &dyn Engine, csv: &str) -> (ImportOutcome, u64) {
    let (outcome, queued) = store
        .apply_import_mailing(request(csv), None, true)
        .unwrap();
    (outcome, queued.map_or(0, |q| q.queued))
}

/// `roster serve` on `args` (a store), sending through `sink`.
fn serve(args: &[String], sink: &Sink) -> Child {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--public-url",
            "http://roster.test",
            "--smtp-url",
            &sink.url(),
            "--mail-from",
            "Roster <roster@x.org>",
            "serve",
        ])
        .env("ROSTER_ADMIN_PASSWORD", "an administrator's long password")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The token of the sign-in link in a received mail (its text part is
/// quoted-printable: long lines are broken with a soft "=").
fn token_in(mail: &str) -> domain::link::LinkToken {
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let at = mail.find("http://roster.test/link/").expect("a link") + 24;
    domain::link::LinkToken::new(
        mail[at..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect(),
    )
}

fn recipient(mail: &str) -> String {
    mail.lines()
        .next()
        .unwrap()
        .trim_start_matches("X-Envelope-To: ")
        .to_string()
}

#[test]
fn the_mails_of_a_committed_import_arrive_and_none_of_a_refused_one() {
    let sink = Sink::start();
    let f = support::redb();
    f.store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, NOW)
        .unwrap();
    let (o, q) = import_mailing(
        &*f.store,
        &format!("{HEAD}ada@x.org,Ada,Lovelace\nbob@x.org,Bob,B\n"),
    );
    assert!(matches!(o, ImportOutcome::Committed { .. }), "{o:?}");
    assert_eq!(q, 2);
    // Refused: an invalid row blocks the whole file.
    let (o, q) = import_mailing(&*f.store, &format!("{HEAD}cy@x.org,Cy,C\nnobody,D,D\n"));
    assert!(matches!(o, ImportOutcome::Blocked { .. }), "{o:?}");
    assert_eq!(q, 0);
    let (f, mails) = f.while_closed(|args| {
        let mut server = serve(args, &sink);
        let mails = sink.wait_for(2);
        // Time for a wrong third one to show (none is queued).
        std::thread::sleep(Duration::from_millis(500));
        let mails = if mails.len() == 2 {
            sink.received()
        } else {
            mails
        };
        server.kill().unwrap();
        server.wait().unwrap();
        mails
    });
    let mut to: Vec<String> = mails.iter().map(|m| recipient(m)).collect();
    to.sort();
    assert_eq!(to, ["ada@x.org", "bob@x.org"]);
    for mail in &mails {
        assert!(
            mail.contains("Subject: Your sign-in link for Roster"),
            "{mail}"
        );
        assert!(
            mail.contains("text/html") && mail.contains("text/plain"),
            "{mail}"
        );
        // The link works: it is the user's, unused.
        let token = token_in(mail);
        let user = f.store.peek_link(&token, now()).unwrap().unwrap();
        assert_eq!(user.as_str(), recipient(mail));
    }
    let (counts, _) = f.store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent, counts.failed), (0, 2, 0));
    let sent = f
        .store
        .user_history(&k("ada@x.org"))
        .unwrap()
        .into_iter()
        .find(|e| e.action == domain::audit::AuditAction::SignInLinkEmailed);
    assert!(sent.is_some(), "History shows Sign-in link emailed");
}

#[test]
fn a_server_answering_4xx_then_5xx_leads_to_a_retry_then_failed_with_its_answer() {
    let sink = Sink::start();
    sink.answer_with(&["451 4.3.0 Try again later", "550 5.1.1 No such mailbox"]);
    let f = support::redb();
    let store = &*f.store;
    store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, NOW)
        .unwrap();
    let (_, q) = import_mailing(store, &format!("{HEAD}ada@x.org,Ada,Lovelace\n"));
    assert_eq!(q, 1);
    let mailer = server::mail::Mailer::new(&sink.url(), "roster@x.org").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let send = |now: i64| {
        let mut claimed = store.claim_mail(now, 10).unwrap();
        assert_eq!(claimed.len(), 1, "one message due at {now}");
        let message = claimed.pop().unwrap();
        let (delivery, answer) = runtime.block_on(mailer.deliver(&message, "http://roster.test"));
        store
            .record_delivery(message.id, delivery, &answer, now)
            .unwrap();
        (delivery, answer, message.id)
    };
    let t = now();
    let (delivery, answer, id) = send(t);
    assert_eq!(delivery, Delivery::Temporary, "{answer}");
    assert!(answer.contains("Try again later"), "{answer}");
    let queued = store.outbox_message(id).unwrap().unwrap();
    assert_eq!((queued.state, queued.attempts), (MailState::Queued, 1));
    assert!(
        store.claim_mail(t + 1, 10).unwrap().is_empty(),
        "backing off"
    );
    let (delivery, answer, _) = send(t + 30);
    assert_eq!(delivery, Delivery::Permanent, "{answer}");
    let (counts, failed) = store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent, counts.failed), (0, 0, 1));
    let reason = failed[0].last_answer.clone().unwrap();
    assert!(reason.contains("No such mailbox"), "{reason}");
    assert!(sink.received().is_empty());
    // The import stands.
    assert!(store.user(&k("ada@x.org")).unwrap().is_some());
    // Retry: the server accepts it now.
    store.retry_mail(id, t + 40).unwrap();
    let (delivery, answer, _) = send(t + 40);
    assert_eq!(delivery, Delivery::Sent, "{answer}");
    assert_eq!(sink.received().len(), 1);
}

#[test]
fn after_a_kill_9_the_committed_mails_go_out_after_restart_once() {
    let sink = Sink::start();
    let f = support::postgres();
    f.store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, NOW)
        .unwrap();
    // The import commits; the server that made it died before sending.
    let (_, q) = import_mailing(
        &*f.store,
        &format!("{HEAD}ada@x.org,Ada,Lovelace\nbob@x.org,Bob,B\n"),
    );
    assert_eq!(q, 2);
    let mut server = serve(&f.args, &sink);
    let mails = sink.wait_for(2);
    assert_eq!(mails.len(), 2);
    let until = Instant::now() + Duration::from_secs(120);
    while f.store.outbox_overview(10).unwrap().0.sent < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    // A later import while it is down, then a restart: only the new mail
    // goes out.
    let (_, q) = import_mailing(&*f.store, &format!("{HEAD}cy@x.org,Cy,C\n"));
    assert_eq!(q, 1);
    let mut server = serve(&f.args, &sink);
    let mails = sink.wait_for(3);
    while f.store.outbox_overview(10).unwrap().0.sent < 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let mails = if mails.len() == 3 {
        sink.received()
    } else {
        mails
    };
    let mut to: Vec<String> = mails.iter().map(|m| recipient(m)).collect();
    to.sort();
    assert_eq!(to, ["ada@x.org", "bob@x.org", "cy@x.org"]);
    let (counts, _) = f.store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent, counts.failed), (0, 3, 0));
}

#[test]
fn two_servers_on_one_postgres_send_each_mail_once() {
    let sink = Sink::start();
    let f = support::postgres();
    f.store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, NOW)
        .unwrap();
    let mut csv = String::from(HEAD);
    for i in 0..30 {
        csv.push_str(&format!("u{i}@x.org,U,{i}\n"));
    }
    let (_, q) = import_mailing(&*f.store, &csv);
    assert_eq!(q, 30);
    let mut servers = [serve(&f.args, &sink), serve(&f.args, &sink)];
    let until = Instant::now() + Duration::from_secs(120);
    while f.store.outbox_overview(10).unwrap().0.sent < 30 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Time for a duplicate to show, if one were sent.
    std::thread::sleep(Duration::from_millis(500));
    for server in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let mut to: Vec<String> = sink.received().iter().map(|m| recipient(m)).collect();
    to.sort();
    let n = to.len();
    to.dedup();
    assert_eq!((n, to.len()), (30, 30));
    let (counts, _) = f.store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent, counts.failed), (0, 30, 0));
}

/// `roster` with `arguments` on a closed store, with or without a mail
/// server set: its stdout.
fn roster(store: &[String], arguments: &[&str], smtp: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command.args(store).args(arguments);
    command
        .env_remove("ROSTER_SMTP_URL")
        .env_remove("ROSTER_MAIL_FROM");
    if smtp {
        command
            .env("ROSTER_SMTP_URL", "smtp://127.0.0.1:25")
            .env("ROSTER_MAIL_FROM", "roster@x.org");
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn roster_import_and_roster_approvals_approve_queue_the_mails_of_what_they_create() {
    use domain::store::ImportOutcome::SentForApproval;
    let f = support::redb();
    f.store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, NOW)
        .unwrap();
    // An import above the approval threshold, sent by an operator (the
    // command line's own imports need none): it waits, with no mail.
    f.store
        .set_option(options::APPROVAL_ABOVE, "2", &domain::By::Cli, NOW)
        .unwrap();
    let csv = format!("{HEAD}dee@x.org,Dee,D\neve@x.org,Eve,E\nfay@x.org,Fay,F\n");
    let operator = Actor::User(domain::Roles::of(&[domain::Role::Operator]));
    let (o, q) = f
        .store
        .apply_import_mailing(
            ImportRequest {
                actor: operator,
                ..request(&csv)
            },
            None,
            true,
        )
        .unwrap();
    let SentForApproval { request, .. } = o else {
        panic!("{o:?}")
    };
    assert_eq!(q, None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    let file = file.to_str().unwrap();
    let (f, said) = f.while_closed(|args| {
        std::fs::write(file, format!("{HEAD}ann@x.org,Ann,A\n")).unwrap();
        // Without a mail server nothing is queued, as on the web.
        let quiet = roster(args, &["import", file], false);
        std::fs::write(file, format!("{HEAD}ben@x.org,Ben,B\ncy@x.org,Cy,C\n")).unwrap();
        let imported = roster(args, &["import", file], true);
        let approved = roster(
            args,
            &["approvals", "approve", &request.id.to_string()],
            true,
        );
        (quiet, imported, approved)
    });
    assert!(!said.0.contains("queued"), "{}", said.0);
    assert!(
        said.1.contains(". 2 sign-in link mails queued."),
        "{}",
        said.1
    );
    assert!(
        said.2
            .contains("(3 created, 0 updated). 3 sign-in link mails queued."),
        "{}",
        said.2
    );
    let mut queued: Vec<(String, String)> = f
        .store
        .claim_mail(now(), 100)
        .unwrap()
        .into_iter()
        .map(|m| (m.recipient, m.by))
        .collect();
    queued.sort();
    // The approved import's links are its sender's.
    assert_eq!(
        queued,
        [
            ("ben@x.org".to_string(), "cli".to_string()),
            ("cy@x.org".into(), "cli".into()),
            ("dee@x.org".into(), "op@x.org".into()),
            ("eve@x.org".into(), "op@x.org".into()),
            ("fay@x.org".into(), "op@x.org".into()),
        ]
    );
}

/// `roster copy` carries the outbox: a queued message is still sent from
/// the copy (with its link, which the copy carries too), a sent one keeps
/// its state, and new messages take ids after the copied ones.
fn a_copy_carries_the_outbox(from: support::Fresh, to: support::Fresh) {
    from.store
        .set_option(options::EMAIL_ON_IMPORT, "true", &domain::By::Cli, NOW)
        .unwrap();
    let (_, q) = import_mailing(
        &*from.store,
        &format!("{HEAD}ada@x.org,Ada,Lovelace\nbob@x.org,Bob,B\n"),
    );
    assert_eq!(q, 2);
    let first = from.store.claim_mail(now(), 1).unwrap().pop().unwrap();
    from.store
        .record_delivery(first.id, Delivery::Sent, "250 ok", now())
        .unwrap();
    let n = server::engine::copy(&*from.store, &*to.store).unwrap();
    assert_eq!(n.mails, 2);
    let (counts, _) = to.store.outbox_overview(10).unwrap();
    assert_eq!((counts.queued, counts.sent), (1, 1));
    let left = to.store.claim_mail(now(), 10).unwrap();
    assert_eq!(left.len(), 1);
    let token = left[0].token.clone().unwrap();
    assert_eq!(
        to.store.peek_link(&token, now()).unwrap().unwrap().as_str(),
        left[0].recipient
    );
    let (_, q) = import_mailing(&*to.store, &format!("{HEAD}cy@x.org,Cy,C\n"));
    assert_eq!(q, 1);
    let newest = to.store.claim_mail(now(), 10).unwrap().pop().unwrap();
    assert_eq!(newest.id, 3);
    assert_eq!(
        to.store.outbox_message(1).unwrap().unwrap().state,
        MailState::Sent
    );
}

#[test]
fn a_copy_from_redb_to_postgres_carries_the_outbox() {
    a_copy_carries_the_outbox(support::redb(), support::postgres());
}

#[test]
fn a_copy_from_postgres_to_redb_carries_the_outbox() {
    a_copy_carries_the_outbox(support::postgres(), support::redb());
}
