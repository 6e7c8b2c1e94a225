#!/usr/bin/env bash
# Runs plughub's whole test suite, then the API's contract check (scripts/api-contract.sh), then the web
# UI's tests in a real browser (scripts/browser-tests.sh), then the elizaOS bridge's tests with real
# elizaOS agents (scripts/agent-bridge-tests.sh), then the example plugins under `plughub dev test`
# (scripts/examples-tests.sh), first starting what the tests need:
# - a PostgreSQL server on 127.0.0.1:5432 (the store suite runs on SQLite and on PostgreSQL); when none
#   answers, it is installed from Debian's packages and started, as on a fresh machine;
# - Node.js and npm (plugins load in Node; pnpm, which installs their dependencies, comes through npm),
#   installed from Debian's packages when absent.
# Set PLUGHUB_TEST_DATABASE_URL to use another server (it must allow CREATE DATABASE).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_postgres() {
  if [ -n "${PLUGHUB_TEST_DATABASE_URL:-}" ]; then
    echo "tests use PostgreSQL at PLUGHUB_TEST_DATABASE_URL"
    return
  fi
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL answers on 127.0.0.1:5432"
  else
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      echo "installing PostgreSQL from Debian's packages"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 1
    done
    pg_isready -h 127.0.0.1 -p 5432
  fi
  # A server we may not log in to without a password (a fresh Debian install asks for one on TCP):
  # give the postgres role a password for the tests and say so.
  if ! psql "postgres://postgres@127.0.0.1:5432/postgres" -qtAc 'select 1' >/dev/null 2>&1; then
    as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'plughub-tests'\"" >/dev/null
    export PLUGHUB_TEST_DATABASE_URL="postgres://postgres:plughub-tests@127.0.0.1:5432/postgres"
    echo "tests log in to PostgreSQL as postgres with a test password"
  fi
}

ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing Node.js and npm from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "Node.js $(node --version), npm $(npm --version)"
}

ensure_postgres
ensure_node

# cargo prints one result line per test binary, the last often a doc-test run of none: close with the sum.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# --no-fail-fast: a failing test binary does not hide the results of the others.
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "workspace: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
# schemathesis against a server on loopback, every operation of the OpenAPI document; it closes with a
# line of its own, `schemathesis: N passed, M failed`.
contract=$(mktemp)
trap 'rm -f "$log" "$contract"' EXIT
bash scripts/api-contract.sh 2>&1 | tee "$contract" || status=$?
# The web UI in Chromium against a server on loopback; it closes with `browser: N passed, M failed`, after
# `browser todo: K` (tests of what the UI does not do yet, counted here as skipped).
browser=$(mktemp)
trap 'rm -f "$log" "$contract" "$browser"' EXIT
bash scripts/browser-tests.sh 2>&1 | tee "$browser" || status=$?
# The elizaOS bridge (clients/elizaos): real elizaOS agents against a server on loopback; it closes with
# `bridge: N passed, M failed`.
bridge=$(mktemp)
trap 'rm -f "$log" "$contract" "$browser" "$bridge"' EXIT
bash scripts/agent-bridge-tests.sh 2>&1 | tee "$bridge" || status=$?
# The example plugins (examples/), built and run with `plughub dev test`; it closes with
# `examples: N passed, M failed`.
examples=$(mktemp)
trap 'rm -f "$log" "$contract" "$browser" "$bridge" "$examples"' EXIT
bash scripts/examples-tests.sh 2>&1 | tee "$examples" || status=$?
# The packaging (packaging/): the systemd unit against the code and under its bounding set; with
# PLUGHUB_CHECK_SYSTEMD=1 and PLUGHUB_CHECK_IMAGE=1 also run by systemd in a container and built into an
# image. It closes with `packaging: N passed, M failed, K skipped`.
packaging=$(mktemp)
trap 'rm -f "$log" "$contract" "$browser" "$bridge" "$examples" "$packaging"' EXIT
bash scripts/check-packaging.sh 2>&1 | tee "$packaging" || status=$?
# The last line counts them all: the workspace's tests, the contract check's, the browser's, the bridge's,
# the examples' and the packaging's.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     /^schemathesis: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
     /^browser: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
     /^browser todo: [0-9]+/ { s += $3 }
     /^bridge: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
     /^examples: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
     /^packaging: [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4; s += $6 }
     END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s }' "$log" "$contract" "$browser" "$bridge" "$examples" "$packaging"
exit "$status"
