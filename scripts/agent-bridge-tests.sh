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

. scripts/lib/harness.sh
harness_target

harness_node "the bridge (@elizaos/core)"

# The package's dependencies, at the lockfile's versions, from the registry of the npm configuration.
client=clients/elizaos
harness_npm_ci "$client"
(cd "$client" && npm run --silent build)

cargo build --locked --quiet -p plughub
plughub="$target/debug/plughub"

harness_tmp

# An npm registry on loopback with the fixture plugins, for the server to install from.
fixtures=crates/plughub-testkit/fixtures
harness_registry "$fixtures/plugin-conversation" "$fixtures/plugin-echo-model"

data="$tmp/data"
harness_pnpm "$target/agent-bridge-tools" "$data"
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
harness_serve --data-dir "$data" serve --listen 127.0.0.1:0 --no-sync "${limits[@]}"

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
