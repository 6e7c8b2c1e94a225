#!/usr/bin/env bash
# The elizaOS bridge (clients/elizaos, @plughub/plugin-remote) end to end: real elizaOS agents
# (@elizaos/core's AgentRuntime with @elizaos/plugin-sql on PGlite) that carry the bridge, against a
# plughub server on loopback that runs the fixture plugin @fixture/plugin-conversation in its sandbox.
#
# - The package's dependencies (clients/elizaos/package-lock.json, which records no download addresses)
#   are installed with `npm ci` from the registry of your npm configuration, when node_modules is missing
#   or older than the lockfile; then `npm run build` (tsc) makes dist/.
# - The server runs on 127.0.0.1 with a fresh SQLite store in a temporary folder, installing from an npm
#   registry on loopback with the fixture plugins (scripts/api-contract-registry.py --serve:
#   @fixture/plugin-conversation, @fixture/plugin-echo-model). The command line sets up: organisation
#   acme, owner@acme.test (org_owner) with an API token for the bridge, agents eliza and eliza-models,
#   @fixture/plugin-conversation installed with its secret CONVERSATION_API_KEY set to a recognisable
#   value, storage.read and that secret granted, activated for both agents.
# - The tests (clients/elizaos/test/*.test.mjs, node:test, one process a file: one PGlite each) get the
#   server's address, the token, the organisation, the agents and the secret's value (to check that it
#   never reaches the agent) in their environment. Their traffic stays on loopback.
#
# Arguments, if any, name the test files to run (e.g. action.test.mjs); by default, all of them.
# `--bench` runs the benchmark instead (clients/elizaos/bench/proxied.mjs; scripts/bench-agent-bridge.sh),
# against a server that limits no executions.
#
# The last line says `bridge: N passed, M failed`, counting node:test's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bench=false
if [ "${1:-}" = --bench ]; then
  bench=true
  shift
fi
files=("$@")

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
target=$(cd "$target" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js and npm from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "the bridge needs Node.js 20 or later (@elizaos/core), not $(node --version)"
  exit 1
fi

# The package's dependencies. The lockfile must not say where packages come from: they come from the
# registry of the npm configuration in use (clients/elizaos/.npmrc keeps npm from writing addresses).
client=clients/elizaos
if grep -q '"resolved"' "$client/package-lock.json"; then
  echo "$client/package-lock.json records download addresses (\"resolved\"): regenerate it with the .npmrc there"
  exit 1
fi
stamp="$client/node_modules/.plughub-installed"
wanted=$(cat "$client/package.json" "$client/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "npm ci in $client"
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" >"$stamp"
fi
(cd "$client" && npm run --silent build)

cargo build --locked --quiet -p plughub
plughub="$target/debug/plughub"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# An npm registry on loopback with the fixture plugins, for the server to install from.
fixtures=crates/plughub-testkit/fixtures
python3 scripts/api-contract-registry.py --serve "$tmp/registry" \
  "$fixtures/plugin-conversation" "$fixtures/plugin-echo-model" >"$tmp/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^serving ' "$tmp/registry.log" && break; sleep 0.1; done
registry=$(sed -n 's/^serving //p' "$tmp/registry.log")
[ -n "$registry" ] || { cat "$tmp/registry.log"; exit 1; }

data="$tmp/data"
mkdir -p "$data/packages"
# pnpm, with which plughub installs plugins' dependencies: fetched here with npm (from the registry of
# your npm configuration; the loopback registry has no pnpm), once, and kept under the target folder.
tools="$target/agent-bridge-tools"
if ! "$tools/node_modules/.bin/pnpm" --version >/dev/null 2>&1; then
  echo "installing pnpm into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --ignore-scripts --no-audit --no-fund --loglevel=error pnpm@9 >/dev/null
fi
ln -s "$tools" "$data/packages/tools"
cli() { "$plughub" --data-dir "$data" "$@" >>"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; exit 1; }; }
field() { python3 -c "import json, sys; print(json.load(sys.stdin)[\"$1\"])"; }
owner_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
# Recognisable, so that the tests can look for it in everything the agent received.
secret="conversation-secret-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
cli admin create-org acme --plan enterprise
echo "$owner_password" | cli admin create-user owner@acme.test --name "Olga Owner" --org acme --role org_owner --password-stdin
token=$("$plughub" --data-dir "$data" admin create-token owner@acme.test --name agent-bridge --json 2>>"$tmp/setup.log" | field token) || {
  cat "$tmp/setup.log"
  exit 1
}
cli agent create eliza --org acme
cli agent create eliza-models --org acme
cli install @fixture/plugin-conversation --org acme --npm-registry "$registry"
cli grant @fixture/plugin-conversation --org acme --permission storage.read --secret CONVERSATION_API_KEY
cli configure @fixture/plugin-conversation --org acme "CONVERSATION_API_KEY=$secret"
cli activate @fixture/plugin-conversation --org acme --agent eliza
cli activate @fixture/plugin-conversation --org acme --agent eliza-models
echo "set up: organisation acme, owner@acme.test (org_owner) with a token, agents eliza and eliza-models, @fixture/plugin-conversation active for both"

limits=()
if $bench; then limits=(--executions-per-minute 0); fi
NPM_CONFIG_REGISTRY=$registry "$plughub" --data-dir "$data" serve --listen 127.0.0.1:0 --no-sync "${limits[@]}" \
  >"$tmp/server.log" 2>&1 &
server_pid=$!
pids+=($server_pid)
# A first start builds the catalogue's search index: up to a minute on a busy machine.
for _ in $(seq 1 600); do
  grep -q 'plughub listening on' "$tmp/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
server=$(grep -o 'http://[0-9.:]*' "$tmp/server.log" | head -n 1) || {
  cat "$tmp/server.log"
  exit 1
}
echo "plughub serving on $server"

if $bench; then
  cd "$client"
  LOG_LEVEL=${LOG_LEVEL:-error} \
    PLUGHUB_URL=$server PLUGHUB_TOKEN=$token PLUGHUB_ORG=acme PLUGHUB_AGENT=eliza \
    npm run --silent bench
  exit
fi

# One file at a time (one PGlite per process, and the machine's cores for the agent and the sandbox).
# Spec output to the terminal, TAP to count.
status=0
(
  cd "$client"
  [ ${#files[@]} -gt 0 ] || files=(test/*.test.mjs)
  for i in "${!files[@]}"; do case "${files[$i]}" in test/*) ;; *) files[$i]="test/${files[$i]}" ;; esac; done
  LOG_LEVEL=${LOG_LEVEL:-warn} \
    PLUGHUB_URL=$server PLUGHUB_TOKEN=$token PLUGHUB_ORG=acme PLUGHUB_AGENT=eliza \
    PLUGHUB_MODELS_AGENT=eliza-models PLUGHUB_TEST_SECRET=$secret \
    node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/results.tap" \
    "${files[@]}"
) || status=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server ended during the tests:"
  tail -n 40 "$tmp/server.log"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "the server's log, last lines:"
  tail -n 40 "$tmp/server.log"
fi
echo "bridge tests: $(($(date +%s) - started)) s"
# node:test's own summary; cancelled tests (a hook that failed) are failures, and so are skipped ones:
# the tests skip only without a server, which the harness always gives them.
awk -v status="$status" '
  /^# pass / { p = $3 } /^# fail / { f = $3 } /^# cancelled / { c = $3 } /^# skipped / { s = $3 }
  END {
    f += c + s
    if (status != 0 && f == 0) f = 1
    printf "bridge: %d passed, %d failed\n", p, f
  }' "$tmp/results.tap" 2>/dev/null || echo "bridge: 0 passed, 1 failed"
exit "$status"
