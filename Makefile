# Roster: `make run` and `make test` work on a fresh machine (they install
# what is missing) and are fast when nothing changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# npm's binaryen (wasm-opt 132) must win over Debian's wasm-opt (binaryen
# 108 breaks hydration), and cargo-installed tools must be found.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

ADDR ?= 127.0.0.1:3000
DATA ?= ./data

.PHONY: help deps run build release release-frontend test lint unit e2e bench clean scim-compliance

help:
	@echo "make run      build and serve on http://$(ADDR) (data in $(DATA))"
	@echo "make test     fmt, clippy, Rust tests, wasm build, Playwright"
	@echo "make release  optimised server and wasm (target/release/roster, target/site-release)"
	@echo "make bench    benchmarks (plan; commit on redb and PostgreSQL; sync; SCIM; layout per user; Users page over 1M users; 100k/1M imports in Chromium)"
	@echo "make clean    remove build output"

# ---- installing what is missing (idempotent, quick when present) ----------
deps: .deps/wasm-target .deps/cargo-leptos .deps/wasm-bindgen .deps/chromium end2end/node_modules/.installed .deps/smtp-venv/ok

.deps/wasm-target:
	@mkdir -p .deps
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@touch $@

.deps/cargo-leptos:
	@mkdir -p .deps
	@cargo leptos --version 2>/dev/null | grep -q ' 0\.3\.10' || cargo install cargo-leptos --version 0.3.10 --locked
	@touch $@

.deps/wasm-bindgen:
	@mkdir -p .deps
	@wasm-bindgen --version 2>/dev/null | grep -q ' 0\.2\.130' || cargo install wasm-bindgen-cli --version 0.2.130
	@touch $@

.deps/chromium:
	@mkdir -p .deps
	@test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	@touch $@

# PostgreSQL's server binaries, for the tests and benches only (`make run`
# needs nothing but redb): the conformance suite, the two-server e2e test
# and the bench start throwaway clusters of their own
# (scripts/pg-test-cluster). Debian's package may create and start its own
# default cluster; the tests do not use it.
.deps/postgresql:
	@mkdir -p .deps
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; }
	@touch $@

# A real SMTP server for the mail tests (scripts/smtp-sink.py): aiosmtpd
# from PyPI in a venv of its own.
.deps/smtp-venv/ok:
	@mkdir -p .deps
	@python3 -c "import ensurepip" 2>/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; }
	@{ test -x .deps/smtp-venv/bin/python && .deps/smtp-venv/bin/python -c "import aiosmtpd" 2>/dev/null; } || \
	  { rm -rf .deps/smtp-venv && python3 -m venv .deps/smtp-venv && .deps/smtp-venv/bin/pip install --quiet "aiosmtpd==1.4.6"; }
	@touch $@

end2end/node_modules/.installed: end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

# ---- building ---------------------------------------------------------------
build: deps
	cargo leptos build

# The optimised wasm goes to its own site folder so the debug site stays intact.
release-frontend: deps
	LEPTOS_SITE_ROOT=target/site-release cargo leptos build --release --frontend-only

release: deps
	LEPTOS_SITE_ROOT=target/site-release cargo leptos build --release

run: build
	LEPTOS_SITE_ROOT=target/site ./target/debug/roster --data "$(DATA)" --addr "$(ADDR)" serve

# ---- testing ----------------------------------------------------------------
lint: deps
	cargo fmt --all --check
	cargo clippy -p domain -p app -p server --all-targets -- -D warnings
	cargo clippy -p domain --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

unit: deps .deps/postgresql
	cargo test -p domain -p app -p server

e2e: build release-frontend .deps/postgresql
	cd end2end && npx playwright test

test: lint unit e2e scim-compliance

# The independent SCIM compliance checker (scim2-tester, PyPI) on the
# built binary over a fresh store: every check passes but the deviations
# Roster chose, which scripts/scim-compliance.py lists with their reasons.
scim-compliance: build
	scripts/scim-compliance

# Native benchmarks, then the import in headless Chromium on the release
# build (100k and 1M rows; files are generated into a temporary folder).
# The native benches leave their numbers in $(BENCH_OUT); the browser bench
# ends with one table of every target from all of them.
BENCH_OUT := $(CURDIR)/target/bench
bench: release .deps/postgresql
	rm -rf $(BENCH_OUT) target/criterion/import && mkdir -p $(BENCH_OUT)
	cargo bench -p domain --bench plan
	ROSTER_BENCH_OUT=$(BENCH_OUT) cargo bench -p server --bench import
	ROSTER_BENCH_OUT=$(BENCH_OUT) cargo bench -p server --bench postgres
	ROSTER_BENCH_OUT=$(BENCH_OUT) cargo bench -p server --bench sync
	ROSTER_BENCH_OUT=$(BENCH_OUT) cargo bench -p server --bench scim
	ROSTER_BENCH_OUT=$(BENCH_OUT) cargo bench -p server --bench layout
	cargo bench -p server --bench users
	cd end2end && ROSTER_BENCH_OUT=$(BENCH_OUT) node bench/browser.mjs 100000 1000000

clean:
	cargo clean
	rm -rf .deps end2end/node_modules end2end/test-results end2end/playwright-report
