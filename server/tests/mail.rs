//! Mail through a real SMTP server: Python's aiosmtpd
//! (`scripts/smtp-sink.py`, installed by `make` into `.deps/smtp-venv`,
//! or by these tests when missing), started on a free port by each test.
//! The mails of a committed import arrive and none of a refused one; a
//! server that answers 4xx, then 5xx, leads to a retry, then "failed"
//! with its answer; a server killed (SIGKILL) after the commit sends the
//! mails after its restart, once.

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
