//! What the import benches share: the generated file and the median.

use std::time::Duration;

/// Rows of the generated file.
pub const ROWS: usize = 100_000;

/// A users file of [`ROWS`] new users (six columns).
pub fn file() -> Vec<u8> {
    let mut s = String::from("email,first_name,last_name,phone,title,department\n");
    for i in 0..ROWS {
        s.push_str(&format!(
            "user{i}@example.com,First{i},Last{i},+41 44 {i:06},Engineer,Dept {}\n",
            i % 50
        ));
    }
    s.into_bytes()
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
