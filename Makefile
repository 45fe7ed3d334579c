# tollgate: `make run` serves the app, `make test` runs every check.
# Each tool is installed only when it is missing, so a warm machine skips it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO_LEPTOS_VERSION := 0.3.10
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p;}' Cargo.lock)
BINARYEN_VERSION := 132.0.0
# The OpenAPI checks' tools (PyPI), in a venv of their own.
SCHEMATHESIS_VERSION := 4.32.5
OPENAPI_SPEC_VALIDATOR_VERSION := 0.9.0
OPENAPI_VENV := .venv/openapi
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN := $(abspath $(TARGET_DIR)/release/tollgate)

.PHONY: all tools proxy-deps openapi-deps openapi build run watch test lint unit e2e e2e-deps csr-check fmt clean fuzz bench bench-tools bench-load bench-search bench-audit

all: build

## ---- tools -------------------------------------------------------------------

# cargo-leptos is installed without its release profile's fat LTO and single
# codegen unit: the same program (README, "How long the first run takes"),
# compiled in a fraction of the time.

tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q ' $(CARGO_LEPTOS_VERSION)$$' \
	  || { echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 12 minutes on 2 cores)"; \
	       CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	       cargo install cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked; }
	@wasm-bindgen --version 2>/dev/null | grep -q ' $(WASM_BINDGEN_VERSION)' \
	  || { echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 4 minutes)"; \
	       cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); }
	@# Debian's binaryen (108) produces a WASM that fails in the browser: use npm's.
	@wasm-opt --version 2>/dev/null | grep -q 'version 132' \
	  || { if dpkg -s binaryen >/dev/null 2>&1; then apt-get remove -y binaryen; fi; \
	       npm install -g --no-audit --no-fund binaryen@$(BINARYEN_VERSION); }

# What the tests drive besides tollgate: the real reverse proxies of the
# forward-auth tests (tests/integration/proxies.rs), curl and promtool.
proxy-deps:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx; }
	@command -v caddy >/dev/null \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y caddy; }
	@command -v curl >/dev/null \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y curl; }
	@# promtool (Debian's prometheus 2.42) checks the metrics scrape (tests/integration/metrics.rs).
	@command -v promtool >/dev/null \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

# Schemathesis and openapi-spec-validator, pinned, in $(OPENAPI_VENV).
openapi-deps:
	@$(OPENAPI_VENV)/bin/schemathesis --version 2>/dev/null | grep -q '$(SCHEMATHESIS_VERSION)' \
	  && $(OPENAPI_VENV)/bin/pip show openapi-spec-validator 2>/dev/null | grep -qx 'Version: $(OPENAPI_SPEC_VALIDATOR_VERSION)' \
	  || { python3 -m venv $(OPENAPI_VENV) 2>/dev/null \
	         || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
	              && python3 -m venv $(OPENAPI_VENV); }; \
	       $(OPENAPI_VENV)/bin/pip install -q schemathesis==$(SCHEMATHESIS_VERSION) \
	         openapi-spec-validator==$(OPENAPI_SPEC_VALIDATOR_VERSION); }

## ---- build and run ----------------------------------------------------------

# The release binary, with its WASM, JS, CSS and public files embedded.
# cargo-leptos gzips with libflate, about 15% bigger than `gzip -9`: build the
# site, redo its .gz copies, then build the server that embeds them.
build: tools
	cargo leptos build --release --precompress --split --frontend-only
	find target/site -type f ! -name '*.gz' ! -name '*.br' -exec gzip -9 -n -k -f {} +
	cargo leptos build --release --server-only
	@test -x $(BIN)
	@echo "Built $(BIN)"

run: build
	$(BIN) serve

# The dev loop: rebuilds server and WASM on every change and reloads the page.
# --split is needed by the lazy admin routes (see DEVELOPERS.md).
watch: tools
	cargo leptos watch --split

## ---- checks ------------------------------------------------------------------

test: tools lint unit csr-check e2e openapi

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	python3 scripts/module-graph.py
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

# The client-only dev loop (Trunk.toml) must keep building.
csr-check:
	cargo check --bin tollgate --no-default-features --features csr --target wasm32-unknown-unknown

# Compiles the benchmarks (without running them), runs the unit tests and the
# integration suite on SQLite, then the integration suite again on PostgreSQL
# (each test on a database of its own, created and dropped). The forward-auth
# tests run nginx and Caddy in front of the server.
unit: proxy-deps
	cargo bench --features ssr --benches --no-run
	cargo test --features ssr
	TOLLGATE_TEST_DB=postgres cargo test --features ssr --test integration

## ---- benchmarks (not part of `make test`; `make test` only compiles them) ----

bench-tools:
	@command -v wrk >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }

# The quick ones: the verify micro-benchmark and the SQLite load run.
bench: build bench-tools
	cargo bench --features ssr --bench verify
	TOLLGATE_BIN=$(BIN) scripts/bench-load.sh sqlite

# The load runs on both backends.
bench-load: build bench-tools
	TOLLGATE_BIN=$(BIN) scripts/bench-load.sh sqlite
	TOLLGATE_BIN=$(BIN) scripts/bench-load.sh postgres

# Live search at a million tokens (seeds bench/1m.db once, about a minute or two).
bench-search: build
	@test -f bench/1m.db || $(BIN) dev seed --users 1000 --tokens 1000000 --database-url sqlite://bench/1m.db
	TOLLGATE_BENCH_DB=sqlite://bench/1m.db cargo bench --features ssr --bench search

# The admin audit search at a million events, on SQLite and on PostgreSQL
# (seeds bench/audit-1m.db and the database tollgate_bench_audit once, about
# a minute and a half each).
BENCH_PG := postgres://postgres@127.0.0.1:5432
bench-audit: build
	@test -f bench/audit-1m.db || $(BIN) dev seed --users 1000 --tokens 0 --events 1000000 --database-url sqlite://bench/audit-1m.db
	TOLLGATE_BENCH_DB=sqlite://bench/audit-1m.db cargo bench --features ssr --bench audit
	@psql $(BENCH_PG)/postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'tollgate_bench_audit'" | grep -q 1 \
	  || { psql $(BENCH_PG)/postgres -c 'CREATE DATABASE tollgate_bench_audit' \
	       && $(BIN) dev seed --users 1000 --tokens 0 --events 1000000 --database-url $(BENCH_PG)/tollgate_bench_audit; }
	TOLLGATE_BENCH_DB=$(BENCH_PG)/tollgate_bench_audit cargo bench --features ssr --bench audit

# The long fuzz run: 25,000 random cases per property, 100,000 in all.
fuzz:
	PROPTEST_CASES=25000 TOLLGATE_FUZZ_RANDOM=1 cargo test --release --features ssr --test integration fuzz -- --nocapture

# The OpenAPI document (/go/api/openapi.json) against the live release binary:
# validated, then Schemathesis on SQLite and on PostgreSQL (scripts/schemathesis.sh).
openapi: build openapi-deps
	TOLLGATE_BIN=$(BIN) scripts/schemathesis.sh sqlite
	TOLLGATE_BIN=$(BIN) scripts/schemathesis.sh postgres

e2e-deps:
	@command -v chromium >/dev/null \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	@# npm ci again whenever a dev dependency is missing (axe came after Playwright).
	@test -d end2end/node_modules/@playwright/test -a -d end2end/node_modules/@axe-core/playwright \
	  || (cd end2end && npm ci --no-audit --no-fund)

e2e: build e2e-deps
	cd end2end && TOLLGATE_BIN=$(BIN) npx playwright test

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/.tmp
