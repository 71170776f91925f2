//! The hostile-file corpus (`end2end/fixtures/hostile/corpus.json`)
//! through the real `roster import --dry-run --json`: every file gets its
//! clear answer, the right exit code, and no panic, within a bounded time.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/fixtures/hostile")
}

/// The file's bytes: stored, or made from its `generate` recipe.
fn bytes_of(entry: &Value) -> Vec<u8> {
    match entry.get("generate") {
        Some(g) => {
            let times = g["times"].as_u64().unwrap() as usize;
            let mut out = g["head"].as_str().unwrap().to_string();
            out.push_str(&g["repeat"].as_str().unwrap().repeat(times));
            out.push_str(g["tail"].as_str().unwrap());
            out.into_bytes()
        }
        None => std::fs::read(corpus_dir().join(entry["file"].as_str().unwrap())).unwrap(),
    }
}

/// Runs the command; a run that outlives `limit` is killed and fails the
/// test (a hang guard, not a timing measurement).
fn run_bounded(cmd: &mut Command, limit: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("roster did not answer within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), out.join().unwrap(), err.join().unwrap())
}

#[test]
fn every_hostile_file_gets_its_clear_answer() {
    let corpus: Vec<Value> =
        serde_json::from_slice(&std::fs::read(corpus_dir().join("corpus.json")).unwrap()).unwrap();
    assert!(corpus.len() >= 12);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for entry in &corpus {
        let name = entry["file"].as_str().unwrap();
        let file = dir.path().join(name);
        std::fs::write(&file, bytes_of(entry)).unwrap();
        let (code, stdout, stderr) = run_bounded(
            Command::new(env!("CARGO_BIN_EXE_roster"))
                .arg("--data")
                .arg(&data)
                .args(["import", "--dry-run", "--json"])
                .arg(&file)
                .env_remove("ROSTER_DATA"),
            Duration::from_secs(60),
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        let answer: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout:.300}"));
        assert!(
            stdout.len() < 100_000,
            "{name}: answer of {} bytes",
            stdout.len()
        );
        if let Some(expected) = entry.get("error") {
            assert_eq!(code, Some(2), "{name}: {stdout:.300}");
            let message = answer["error"].as_str().unwrap_or_default();
            assert!(
                message.contains(expected.as_str().unwrap()),
                "{name}: {message}"
            );
        } else {
            let counts: Vec<u64> = ["created", "updated", "unchanged", "invalid"]
                .iter()
                .map(|k| answer[k].as_u64().unwrap())
                .collect();
            let expected: Vec<u64> = entry["counts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(counts, expected, "{name}: {stdout:.300}");
            let invalid = expected[3] > 0;
            assert_eq!(code, Some(if invalid { 1 } else { 0 }), "{name}");
            if let Some(m) = entry.get("message") {
                assert!(
                    stdout.contains(m.as_str().unwrap()),
                    "{name}: {stdout:.500}"
                );
            }
        }
    }
}
