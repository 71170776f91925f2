//! For tests and benches only (the `test-support` feature): a throwaway
//! PostgreSQL cluster to run the PostgreSQL engine on, or the server
//! ROSTER_TEST_DATABASE_URL names.

/// Starts a throwaway PostgreSQL cluster in `dir` for tests and benches
/// (`scripts/pg-test-cluster`), stopped and removed by its watchdog when
/// this process ends; returns its connection string. With
/// ROSTER_TEST_DATABASE_URL set, that server instead, and nothing starts.
pub fn test_server(dir: &std::path::Path) -> Result<String, String> {
    if let Ok(url) = std::env::var("ROSTER_TEST_DATABASE_URL") {
        return Ok(url);
    }
    test_cluster(dir)
}

/// [`test_server`] without the environment's override: always a cluster of
/// its own (a test that stops it).
pub fn test_cluster(dir: &std::path::Path) -> Result<String, String> {
    let out = std::process::Command::new(TEST_CLUSTER_SCRIPT)
        .arg("start")
        .arg(dir)
        .arg(std::process::id().to_string())
        .output()
        .map_err(|e| format!("cannot run {TEST_CLUSTER_SCRIPT}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot start a PostgreSQL cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The script that makes throwaway clusters (in the source tree).
pub const TEST_CLUSTER_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-test-cluster");
