#!/usr/bin/env bash
# Starts the real roster binary for Playwright on a fresh data folder,
# seeded through the CLI: a self-service user and an inactive one.
# Usage: serve.sh DATA_DIR PORT SITE_ROOT   (run from the repository root)
# The server's stderr goes to DATA_DIR.log too: the global teardown fails
# the run when any server logged a panic.
set -euo pipefail
data="$1" port="$2" site="$3"
roster=./target/debug/roster
$roster --data "$data" options set import.roles self-service >/dev/null
$roster --data "$data" import end2end/fixtures/self-service.csv >/dev/null
$roster --data "$data" options set import.end_state inactive >/dev/null
$roster --data "$data" import end2end/fixtures/inactive.csv >/dev/null
$roster --data "$data" options set import.end_state active >/dev/null
$roster --data "$data" options set import.roles self-service,operator,approval >/dev/null
LEPTOS_SITE_ROOT="$site" exec $roster --data "$data" --addr "127.0.0.1:$port" serve \
  2> >(tee -a "$data.log" >&2)
