#!/usr/bin/env bash
# The elizaOS bridge's benchmark: @fixture/plugin-conversation's REPORT_STEPS through an agent's
# processActions, proxied to plughub's sandbox, against the same plugin in the agent's process (latency
# p50/p99, runs a second one at a time and 8 at once). Sets up as scripts/agent-bridge-tests.sh does (a
# server on loopback, the fixture active for agent eliza; no execution limit) and runs
# clients/elizaos/bench/proxied.mjs. BENCH_RUNS (default 200) and BENCH_WARMUP (20) size it.
set -euo pipefail
exec bash "$(dirname "$0")/agent-bridge-tests.sh" --bench "$@"
