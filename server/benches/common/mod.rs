//! What the import benches share: the generated file, the request, the
//! median and the record for `make bench`'s table.

// Each bench uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

/// Rows of the generated file.
pub const ROWS: usize = 100_000;

/// A users file of [`ROWS`] new users (six columns).
pub fn file() -> Vec<u8> {
    file_of(ROWS)
}

/// A users file of `rows` new users, as [`file`].
pub fn file_of(rows: usize) -> Vec<u8> {
    let mut s = String::with_capacity(rows * 80);
    s.push_str("email,first_name,last_name,phone,title,department\n");
    for i in 0..rows {
        s.push_str(&format!(
            "user{i}@example.com,First{i},Last{i},+41 44 {i:06},Engineer,Dept {}\n",
            i % 50
        ));
    }
    s.into_bytes()
}

/// The import of `bytes` as the machine's owner makes it (the CLI).
pub fn request(bytes: &[u8]) -> domain::store::ImportRequest<'_> {
    domain::store::ImportRequest {
        bytes,
        file_name: "bench.csv",
        operator: domain::By::parse("bench"),
        actor: domain::Actor::Owner,
        expected_fingerprint: None,
        skip_invalid: false,
        corrected: None,
        now: 0,
    }
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Leaves this bench's numbers (milliseconds) for the one summary table
/// `make bench` prints at its end (`end2end/bench/browser.mjs`): a JSON
/// file named `name` in the folder ROSTER_BENCH_OUT names, when set.
pub fn record(name: &str, values: &[(&str, Duration)]) {
    let Ok(folder) = std::env::var("ROSTER_BENCH_OUT") else {
        return;
    };
    let fields: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(k, v)| (k.to_string(), (v.as_secs_f64() * 1e3).into()))
        .collect();
    let path = std::path::Path::new(&folder).join(format!("{name}.json"));
    std::fs::write(&path, serde_json::Value::Object(fields).to_string())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
