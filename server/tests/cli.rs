//! The real `roster` binary: exit codes, JSON output, export round trip,
//! and crash safety under SIGKILL.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn roster(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("ROSTER_DATA")
        .output()
        .expect("roster runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

fn generated(rows: usize, offset: usize) -> String {
    let mut s = String::from("email,first_name,last_name,phone,department\n");
    for i in offset..offset + rows {
        s.push_str(&format!(
            "user{i}@example.com,First{i},Last{i},+41 {i},Dept {}\n",
            i % 7
        ));
    }
    s
}

#[test]
fn dry_run_json_shape_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let good = write(
        dir.path(),
        "good.csv",
        b"email,first_name,last_name\na@x.org,A,A\n",
    );
    let out = roster(&data, &["import", &good, "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["created"], 1);
    assert_eq!(v["updated"], 0);
    assert_eq!(v["unchanged"], 0);
    assert_eq!(v["invalid"], 0);
    assert!(v["warnings"].as_array().unwrap().is_empty());
    assert!(v["errors"].as_array().unwrap().is_empty());

    let bad = write(
        dir.path(),
        "bad.csv",
        b"email,first_name,last_name,shoe\na@x.org,A,A,9\nnope,B,B,1\n",
    );
    let out = roster(&data, &["import", &bad, "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["invalid"], 1);
    assert_eq!(v["errors"][0]["line"], 3);
    assert_eq!(v["errors"][0]["column"], "email");
    assert_eq!(v["errors"][0]["value"], "nope");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("@"));
    assert!(v["warnings"][0].as_str().unwrap().contains("shoe"));

    let missing = write(dir.path(), "missing.csv", b"first_name,last_name\nA,B\n");
    let out = roster(&data, &["import", &missing, "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("\"email\" is missing")
    );

    let garbage: Vec<u8> = (0..2000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let bin = write(dir.path(), "garbage.bin", &garbage);
    let out = roster(&data, &["import", &bin, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].is_string());

    let empty = write(dir.path(), "empty.csv", b"");
    let out = roster(&data, &["import", &empty, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].as_str().unwrap().contains("empty"));

    let out = roster(
        &data,
        &[
            "import",
            &dir.path().join("absent.csv").to_string_lossy(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));

    // Nothing of the above was written.
    let out = roster(&data, &["export", "-"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn import_commits_blocks_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = write(
        dir.path(),
        "bad.csv",
        b"email,first_name,last_name\na@x.org,A,A\nnope,B,B\n",
    );
    let out = roster(&data, &["import", &bad, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["committed"], false);
    let out = roster(
        &data,
        &[
            "import",
            &bad,
            "--json",
            "--skip-invalid",
            "--operator",
            "ops@x.org",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(
        (v["created"].as_u64(), v["batch"].as_u64()),
        (Some(1), Some(1))
    );
    // The same file again: a warning, nothing to write, no empty batch.
    let out = roster(&data, &["import", &bad, "--skip-invalid"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Unchanged 1"), "{text}");
    assert!(text.contains("already imported as batch 1"), "{text}");
    assert!(text.contains("Nothing to write"), "{text}");
    let out = roster(&data, &["import", &bad, "--dry-run", "--json"]);
    let warnings = json(&out)["warnings"].to_string();
    assert!(
        warnings.contains("batch 1") && !warnings.contains("batch 2"),
        "{warnings}"
    );
}

#[test]
fn options_get_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = roster(&data, &["options", "get"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("import.end_state = active"));
    let out = roster(&data, &["options", "set", "import.end_state", "inactive"]);
    assert_eq!(out.status.code(), Some(0));
    let out = roster(&data, &["options", "get", "import.end_state"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inactive");
    let out = roster(&data, &["options", "set", "import.end_state", "sideways"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("import.end_state"));
    let out = roster(&data, &["options", "get", "no.such"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn admin_create_with_password_and_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "--data",
            data.to_str().unwrap(),
            "admin",
            "create",
            "--email",
            "boss@x.org",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough secret\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = roster(
        &data,
        &["admin", "create", "--email", "boss@x.org", "--link"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/link/"), "{text}");
    let out = roster(&data, &["export", "-"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.contains("boss@x.org") && csv.contains("admin"), "{csv}");
    assert!(!csv.contains("argon2"), "no password hash in exports");
    let out = roster(
        &data,
        &["admin", "create", "--email", "not an email", "--link"],
    );
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn a_new_admin_link_uses_the_public_url_and_revokes_the_earlier_one() {
    use domain::store::Credentials;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let link = |public: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["--data", data.to_str().unwrap(), "--public-url", public])
            .args(["admin", "create", "--email", "boss@x.org", "--link"])
            .env_remove("ROSTER_PUBLIC_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.split_whitespace()
            .find(|w| w.contains("/link/"))
            .unwrap_or_else(|| panic!("{text}"))
            .to_string()
    };
    let first = link("https://roster.example.org/");
    assert!(
        first.starts_with("https://roster.example.org/link/"),
        "{first}"
    );
    let second = link("https://roster.example.org");
    let token =
        |url: &str| domain::link::LinkToken::new(url.rsplit('/').next().unwrap().to_string());
    let store = server::engine::redb::RedbStore::open(&data).unwrap();
    assert_eq!(store.peek_link(&token(&first), 1).unwrap(), None, "revoked");
    assert_eq!(
        store.peek_link(&token(&second), 1).unwrap().as_deref(),
        Some("boss@x.org")
    );
    drop(store);
    let out = roster(
        &data,
        &[
            "--public-url",
            "ftp://x",
            "admin",
            "create",
            "--email",
            "boss@x.org",
            "--link",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--public-url"));
}

#[test]
fn users_are_listed_deactivated_and_activated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = write(
        dir.path(),
        "u.csv",
        b"email,first_name,last_name\nada@x.org,Ada,Lovelace\ngrace@y.org,Grace,Hopper\n",
    );
    assert_eq!(roster(&data, &["import", &file]).status.code(), Some(0));
    let out = roster(&data, &["users", "deactivate", "ADA@x.org"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ada@x.org is inactive"));
    let list = json(&roster(&data, &["users", "list", "--json"]));
    assert_eq!(list[0]["email"], "ada@x.org");
    assert_eq!(list[0]["name"], "Ada Lovelace");
    assert_eq!(list[0]["end_state"], "inactive");
    assert_eq!(list[0]["source"], "CSV");
    assert_eq!(list[0]["roles"], "self-service,operator,approval");
    assert_eq!(
        roster(&data, &["users", "activate", "ada@x.org"])
            .status
            .code(),
        Some(0)
    );
    let text = roster(&data, &["users", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("ada@x.org\tAda Lovelace\tactive"));
    // The audit trail has the import, the deactivation and the activation.
    let trail = json(&roster(&data, &["audit", "--user", "ada@x.org", "--json"]));
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Activate", "Deactivate", "Import"]);
    assert_eq!(trail[1]["actor"], "cli");
    let text = roster(&data, &["audit"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Deactivation"));
    // Filters: search words, end state, source; a bad value is refused.
    let emails = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["users", "list", "--json"];
        all.extend_from_slice(args);
        json(&roster(&data, &all))
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(emails(&[]), ["ada@x.org", "grace@y.org"]);
    assert_eq!(emails(&["--filter", "hop"]), ["grace@y.org"]);
    assert_eq!(emails(&["--filter", "x.org"]), ["ada@x.org"]);
    assert_eq!(emails(&["--source", "manual"]), Vec::<String>::new());
    assert_eq!(
        emails(&["--end-state", "active", "--sort", "name"]),
        ["ada@x.org", "grace@y.org"]
    );
    let bad = roster(&data, &["users", "list", "--end-state", "gone"]);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("active or inactive"));
    let by_action = json(&roster(
        &data,
        &["audit", "--action", "deactivate", "--json"],
    ));
    assert_eq!(by_action.as_array().unwrap().len(), 1);
    let missing = roster(&data, &["users", "deactivate", "nobody@x.org"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("There is no user"));
}

#[test]
fn a_store_held_by_another_process_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = server::engine::redb::RedbStore::open(&data).unwrap();
    let out = roster(&data, &["options", "get"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another roster process"));
    drop(store);
    assert_eq!(roster(&data, &["options", "get"]).status.code(), Some(0));
}

#[test]
fn export_then_import_round_trips_100k_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = write(dir.path(), "users.csv", generated(100_000, 0).as_bytes());
    let out = roster(&data, &["import", &file, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["created"], 100_000);
    let exported = dir.path().join("out.csv");
    let out = roster(&data, &["export", exported.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(text.lines().count(), 100_001);
    assert!(text.contains("'+41 5,"), "phones are formula-neutralised");
    // Re-importing the export changes nothing.
    let out = roster(
        &data,
        &["import", exported.to_str().unwrap(), "--dry-run", "--json"],
    );
    let v = json(&out);
    assert_eq!(
        (
            v["unchanged"].as_u64(),
            v["created"].as_u64(),
            v["updated"].as_u64()
        ),
        (Some(100_000), Some(0), Some(0))
    );
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("end_state"))
    );
}

fn count_users(data: &Path) -> usize {
    let out = roster(data, &["export", "-"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "store opens after a kill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count() - 1
}

#[test]
fn sigkill_during_a_large_import_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let before = write(
        dir.path(),
        "before.csv",
        generated(50, 1_000_000).as_bytes(),
    );
    let big = write(dir.path(), "big.csv", generated(100_000, 0).as_bytes());
    // Time one full import, then kill others at moments spread over that
    // time, the last ones close to the commit.
    let timed = dir.path().join("timed");
    assert_eq!(roster(&timed, &["import", &before]).status.code(), Some(0));
    let t0 = std::time::Instant::now();
    assert_eq!(roster(&timed, &["import", &big]).status.code(), Some(0));
    let full = t0.elapsed().as_millis() as u64;
    let (mut interrupted, mut completed) = (0, 0);
    for (i, percent) in [5u64, 25, 50, 75, 90, 97, 100, 110].into_iter().enumerate() {
        let delay_ms = full * percent / 100;
        let data = dir.path().join(format!("data{i}"));
        assert_eq!(roster(&data, &["import", &before]).status.code(), Some(0));
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["--data", data.to_str().unwrap(), "import", &big])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        let n = count_users(&data);
        assert!(
            n == 50 || n == 100_050,
            "after a kill at {delay_ms} ms the store holds {n} users"
        );
        if n == 50 {
            interrupted += 1;
        } else {
            completed += 1;
        }
        let out = roster(&data, &["export", "-"]);
        let csv = String::from_utf8_lossy(&out.stdout);
        assert!(
            csv.contains("user1000049@example.com"),
            "earlier users survive"
        );
        let _ = finished;
    }
    eprintln!(
        "SIGKILL test: a full import takes {full} ms; {interrupted} imports killed before commit, {completed} completed"
    );
}

#[test]
fn approvals_are_listed_approved_and_rejected_from_the_command_line() {
    use domain::store::{ImportOutcome, ImportRequest, Store};
    use domain::user::{Role, Roles};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Two requests sent by a signed-in operator (through the store, as the
    // web app does: the command line's own imports are never held).
    {
        let store = server::engine::redb::RedbStore::open(&data).unwrap();
        store
            .set_option("import.approval_above", "1", &domain::By::Cli, 1)
            .unwrap();
        for tag in ["a", "b"] {
            let csv = format!("email,first_name,last_name\n{tag}1@x.org,A,B\n{tag}2@x.org,A,B\n");
            let outcome = store
                .apply_import(ImportRequest {
                    bytes: csv.as_bytes(),
                    file_name: &format!("{tag}.csv"),
                    operator: domain::By::parse("op@x.org"),
                    actor: domain::Actor::User(Roles::of(&[Role::Operator])),
                    expected_fingerprint: None,
                    skip_invalid: false,
                    corrected: None,
                    now: 100,
                })
                .unwrap();
            assert!(matches!(outcome, ImportOutcome::SentForApproval { .. }));
        }
    }
    let list = json(&roster(&data, &["approvals", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["state"], "Waiting");
    let out = roster(&data, &["approvals", "approve", "1"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("written as batch"));
    let no_reason = roster(&data, &["approvals", "reject", "2", "--reason", " "]);
    assert_eq!(no_reason.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&no_reason.stderr).contains("needs a reason"));
    let out = roster(
        &data,
        &["approvals", "reject", "2", "--reason", "duplicate"],
    );
    assert_eq!(out.status.code(), Some(0));
    let again = roster(&data, &["approvals", "approve", "2"]);
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not waiting"));
    let text = String::from_utf8_lossy(&roster(&data, &["approvals", "list"]).stdout).to_string();
    assert!(text.contains("Approved by cli"));
    assert!(text.contains("Rejected by cli: duplicate"));
    assert_eq!(count_users(&data), 2);
    // The command line's own import is not held.
    let file = write(
        dir.path(),
        "c.csv",
        b"email,first_name,last_name\nc1@x.org,A,B\nc2@x.org,A,B\n",
    );
    assert_eq!(roster(&data, &["import", &file]).status.code(), Some(0));
    assert_eq!(count_users(&data), 4);
}

#[test]
fn a_trusted_proxy_that_is_not_a_network_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["--data", &dir.path().display().to_string(), "serve"])
        .args(["--addr", "127.0.0.1:0"])
        .env("ROSTER_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example.org")
        .stdin(Stdio::null())
        .output()
        .expect("roster runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--trusted-proxies"), "{err}");
    assert!(
        err.contains("\"proxy.example.org\" is neither an address nor a network"),
        "{err}"
    );
    assert!(
        !dir.path().join("roster.redb").exists(),
        "nothing was started"
    );
}

#[test]
fn sync_prints_deactivated_refuses_with_exit_4_and_is_forced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let all = write(dir.path(), "all.csv", generated(10, 0).as_bytes());
    assert_eq!(
        roster(&data, &["import", &all, "--json"]).status.code(),
        Some(0)
    );
    // One of ten missing: 10 %, the default's limit.
    let nine = write(dir.path(), "nine.csv", generated(9, 1).as_bytes());
    let out = roster(&data, &["import", &nine, "--sync", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["deactivated"], 1);
    assert_eq!(v["deactivated_users"][0], "user0@example.com");
    assert_eq!(v["sync_candidates"], 10);
    assert_eq!(v["unchanged"], 9);
    // Two of ten: refused, with the numbers, exit 4, nothing written.
    let eight = write(dir.path(), "eight.csv", generated(8, 2).as_bytes());
    let out = roster(&data, &["import", &eight, "--sync", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let v = json(&out);
    assert_eq!(v["committed"], false);
    assert_eq!(v["deactivated"], 2);
    assert!(
        v["refused"]
            .as_str()
            .unwrap()
            .starts_with("This sync would deactivate 2 of 10 users (20%)"),
        "{v}"
    );
    let out = roster(&data, &["import", &eight, "--sync", "--dry-run"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force-deactivate"));
    let listed = roster(
        &data,
        &["users", "list", "--end-state", "inactive", "--json"],
    );
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("user0@"));
    // Confirmed: written.
    let out = roster(
        &data,
        &["import", &eight, "--sync", "--force-deactivate", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["committed"], true);
    assert_eq!(v["deactivated"], 2);
    let listed = roster(&data, &["users", "list", "--end-state", "inactive"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("user0@example.com") && text.contains("user1@example.com"));
    // The scope needs --sync; the text report lists who goes.
    assert_eq!(
        roster(&data, &["import", &all, "--scope-organization", "Acme"])
            .status
            .code(),
        Some(2),
        "clap's usage error"
    );
    let out = roster(&data, &["import", &nine, "--sync", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Deactivate 0 (of 8 imported users)"),
        "{text}"
    );
    // Without --sync, the JSON has no sync fields (as before).
    let out = roster(&data, &["import", &nine, "--dry-run", "--json"]);
    assert!(json(&out).get("deactivated").is_none());
}
