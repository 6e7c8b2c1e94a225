#!/usr/bin/env bash
# HTTP load benchmark of `plughub serve`, driven by wrk from a second process on loopback.
#
#   scripts/bench-load.sh [--pg URL] [--connections N] [--duration 10s] [--threads 2]
#
# It builds the release binary, sets up a throwaway data directory with the command line (an enterprise
# organisation `bench`, a user with the org_user role and an API token, the fixture plugin
# `@fixture/plugin-hello` installed from its folder, configured and run once), starts the server on a free
# port of 127.0.0.1 and loads it with wrk:
#   1. search:  GET /api/plugins?q=openai (the starter catalogue the binary carries)
#   2. run:     POST /api/orgs/bench/plugins/@fixture%2Fplugin-hello/run {"action":"REGISTERED_IN_INIT"}
#   3. run again with as many connections as the plan has concurrent slots (10), to see the latency
#      without the queue in front of the slots;
#   4. run-agents: the same, each request for one of 10 agents in turn (agent "bench-0" … "bench-9"):
#      a warm worker per agent, so several workers start and record at once;
#   4b. run-cached: the provider GREETING_STYLE, declared cacheable in the copy of the fixture the bench
#      installs, with the plan's connections: every run after the first is a cache hit (no worker), each
#      still checked (quota, rate) and recorded; against run-slots, the cost of a hit and of a warm run;
#   5. 300 runs one after another over one connection (curl), to see each run's own time and the runs
#      that wait for a worker's cold start.
# Then the three ratios issue 20 sets as goals, printed together at the end (`== ratios`):
#   6. cold start: a plugin's first run on the server against plain Node importing the same installed
#      package. Each run is for a fresh agent ("cold-1" …), so that it starts a worker (checked in
#      /metrics), one at a time with a second's pause; the import is `node -e "import(<entry>)"` of the
#      package's folder in the data directory, its entry as package.json's exports or main say. COLD_RUNS of
#      each, alternated so that the machine's noise hits both alike; the medians (curl's time_total for the
#      run, the wall time of the node process for the import). Goal: first run <= 1.0 x the import. A run
#      that is not answered 200 or starts no worker, or an import that fails, is left out and is an error.
#   7. recycling: the server restarted on the same data directory with `--recycle-after 0` (its workers
#      checked gone), the run load with the plan's connections (as 3), then restarted with the recycling
#      of the loads above (the server's default: a fresh worker every 100 runs) and that load again; the
#      second's runs/s against the first's. Goal: >= 80 %.
#   8. agents: run-agents (4) against run-slots (3), and run-agents' p99. Goals: >= 80 %, p99 < 30 ms.
# After each load it reads the server's memory (/proc/PID/status), its CPU time, the machine's CPU and a
# `top` frame taken during the load, and counts the answers that were not 2xx (wrk's "Non-2xx or 3xx
# responses", socket errors, and for the runs a tally by status code). A load with errors is reported as
# such and makes the script exit with 3 after the summary.
#
# The server runs with `--executions-per-minute 0`: the per-plugin rate limit (100 a minute by default)
# would refuse nearly all runs at once. `--no-sync`: the starter catalogue, no network.
# `--pg URL`: the server (and the set-up commands) use a fresh database made on that PostgreSQL server
# (CREATE DATABASE, dropped at exit) instead of the embedded SQLite.
# wrk and the server share the machine's cores: read the figures with the `top` frames. Environment:
# THREADS (2), CONNECTIONS (64), SLOT_CONNECTIONS (10), DURATION (10s), AGENTS (10), WRK_TIMEOUT (30s),
# RECYCLE_AFTER (unset: the server's default, a fresh worker every 100 executions; 0: never; with 0 the
# recycling ratio compares the default against it), COLD_RUNS (15).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
SLOT_CONNECTIONS=${SLOT_CONNECTIONS:-10}
DURATION=${DURATION:-10s}
AGENTS=${AGENTS:-10}
COLD_RUNS=${COLD_RUNS:-15}
# A request unanswered this long counts as a socket error (timeout); below it, its time is in the latency.
WRK_TIMEOUT=${WRK_TIMEOUT:-30s}
PG_URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --pg) PG_URL=${2:?--pg needs a URL}; shift 2 ;;
    --pg=*) PG_URL=${1#--pg=}; shift ;;
    --connections) CONNECTIONS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    -h|--help) awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ORG=bench
EMAIL=bench@bench.test
PLUGIN=@fixture/plugin-hello
PLUGIN_PATH=@fixture%2Fplugin-hello
FIXTURE=$ROOT/crates/plughub-testkit/fixtures/plugin-hello
ACTION=REGISTERED_IN_INIT   # registered by the plugin's init; its handler returns at once
SEARCH_QUERY=openai

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench-load: $*" >&2; exit 1; }

# --- 1. wrk ------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  say "installing wrk from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
command -v wrk >/dev/null || die "wrk is not installed"
command -v curl >/dev/null || die "curl is needed"
command -v node >/dev/null || die "Node.js is needed to run plugins (and npm, for pnpm)"

# --- 2. the release binary ---------------------------------------------------------------------------
say "building the release binary (may wait for another cargo's lock)"
cargo build --release -p plughub --locked
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/plughub
[ -x "$BIN" ] || die "no binary at $BIN"

# --- 3. a throwaway store, an organisation, a user, a token, the plugin ------------------------------
WORK=$(mktemp -d -t plughub-bench.XXXXXX)
# The server, started as root, serves as an ordinary account, which must reach its data folder in here.
chmod 711 "$WORK"
SERVER_PID=""
PG_DB=""
PG_ADMIN_URL=""
cleanup() {
  local rc=$?
  stop_server || true
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN_URL" -qtAc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 ||
      echo "bench-load: could not drop the database $PG_DB" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process under PID (children first level and below), one a line.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2; pids[NR] = $1 }
    END {
      for (i = 1; i <= NR; i++) {
        p = pids[i]; q = parent[p]; depth = 0
        while (q != "" && q != root && q > 1 && depth < 64) { q = parent[q]; depth++ }
        if (q == root && p != root) print p
      }
    }'
}
# A process's start time (clock ticks since boot) and its state, or nothing when it is gone: with the
# machine's pids reused quickly (builds run beside the bench), a pid is only taken for the same process
# when its start time is the same.
proc_start() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null || true; }
proc_state() { awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null || true; }

# Stops the server and makes sure no process of it outlives it. SIGTERM: it gives its execution slots back
# (on PostgreSQL a killed server's leases would hold the slots until they expire, and the next server's
# runs would wait) and ends its warm workers. Each worker's keeper is a child of the server and the worker
# dies with its keeper (parent-death signal), but a worker may start while the server stops (a recycled
# one's successor): the tree is read again until the server is gone, and what is left of it is killed, then
# checked gone. Returns 1 when something survived; STOPPED_SEEN: how many processes of it were seen.
STOPPED_SEEN=0
stop_server() {
  local pid=$SERVER_PID seen="" p start left="" deadline _
  [ -n "$pid" ] || return 0
  SERVER_PID=""
  if kill -0 "$pid" 2>/dev/null; then
    for p in $(descendants "$pid" || true); do seen="$seen $p:$(proc_start "$p")"; done
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      for p in $(descendants "$pid" || true); do seen="$seen $p:$(proc_start "$p")"; done
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "bench-load: the server (pid $pid) did not stop within 10 s of SIGTERM: killed" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  for p in $seen; do
    start=${p#*:}; p=${p%%:*}
    if [ -n "$start" ] && [ "$(proc_start "$p")" = "$start" ]; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  for _ in $(seq 1 50); do
    left=""
    for p in $seen; do
      start=${p#*:}; p=${p%%:*}
      # A zombie is dead (it waits for init to reap it).
      if [ -n "$start" ] && [ "$(proc_start "$p")" = "$start" ] && [ "$(proc_state "$p")" != Z ]; then
        left="$left $p"
      fi
    done
    [ -z "$left" ] && break
    sleep 0.1
  done
  if [ -n "$left" ]; then
    echo "bench-load: processes of the stopped server (pid $pid) still alive:$left" >&2
    return 1
  fi
  STOPPED_SEEN=$(for p in $seen; do echo "${p%%:*}"; done | sort -u | grep -c . || true)
  # Last, a check (nothing is killed by name): no process may be left whose command line names this data
  # directory (the server and the keepers have it as --data-dir, a worker its host script there), which
  # would be one that left the tree before it was read. pgrep leaves itself out; zombies have no command line.
  local strays
  strays=$(pgrep -f -- "$(printf '%s' "$WORK/data/" | sed 's/[][\.*^$+?(){}|]/\\&/g')" | tr '\n' ' ' || true)
  if [ -n "$strays" ]; then
    echo "bench-load: processes naming $WORK/data still alive after the server stopped: $strays" >&2
    return 1
  fi
}

DB_ARGS=()
if [ -n "$PG_URL" ]; then
  command -v psql >/dev/null || die "--pg needs psql to make a fresh database"
  PG_ADMIN_URL=$PG_URL
  PG_DB=plughub_bench_$$
  psql "$PG_ADMIN_URL" -qtAc "CREATE DATABASE $PG_DB" >/dev/null ||
    die "cannot CREATE DATABASE on $PG_URL (the role needs CREATEDB)"
  # The same URL with the fresh database as its path (query string kept).
  base=${PG_URL%%\?*}; query=""; [ "$base" != "$PG_URL" ] && query="?${PG_URL#*\?}"
  rest=${base#*://}
  if [[ "$rest" == */* ]]; then base=${base%/*}; fi
  DB_ARGS=(--database-url "$base/$PG_DB$query")
fi
STORE_NAME=$([ -n "$PG_URL" ] && echo "PostgreSQL (fresh database $PG_DB)" || echo "SQLite (embedded)")

plughub() { "$BIN" --data-dir "$WORK/data" "${DB_ARGS[@]}" "$@"; }

say "setting up: store $STORE_NAME, data dir $WORK/data"
plughub admin create-org "$ORG" --plan enterprise
plughub admin create-user "$EMAIL" --name "Load bench" >/dev/null   # its made password is not needed
plughub admin set-role "$EMAIL" --org "$ORG" --role org_user
TOKEN=$(plughub admin create-token "$EMAIL" --name load-bench --days 1 --json |
  sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || die "no token in the output of create-token"
echo "token made for $EMAIL (org_user in $ORG)"
# A copy of the fixture whose provider is declared cacheable (the run-cached load).
cp -r "$FIXTURE" "$WORK/plugin-hello"
node -e 'const f = process.argv[1]; const p = JSON.parse(require("fs").readFileSync(f));
  p.plughub = { ...(p.plughub || {}), cacheable: ["GREETING_STYLE"] };
  require("fs").writeFileSync(f, JSON.stringify(p, null, 2));' "$WORK/plugin-hello/package.json"
plughub install "$WORK/plugin-hello" --org "$ORG" --grant
plughub configure "$PLUGIN" --org "$ORG" HELLO_API_KEY=load-bench-key
plughub run "$PLUGIN" "$ACTION" --org "$ORG" --text hi

# --- 4. the server -----------------------------------------------------------------------------------
# Started again on the same data directory for the recycling ratio, with its options as arguments; each
# start logs to a file of its own (log_news reads the current one) and gets a new port.
SERVER_STARTS=0
SERVER_LOG=""
LOG_SEEN=0
start_server() { # [serve options]
  SERVER_STARTS=$((SERVER_STARTS + 1))
  SERVER_LOG=$WORK/server-$SERVER_STARTS.log
  LOG_SEEN=0
  # Port 0: the kernel picks a free port; the server prints the address it got.
  "$BIN" --data-dir "$WORK/data" "${DB_ARGS[@]}" serve --listen 127.0.0.1:0 --no-sync \
    --executions-per-minute 0 "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  ADDR=""
  for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; die "the server stopped"; }
    ADDR=$(sed -n 's|.*plughub listening on http://\([0-9.:]*\).*|\1|p' "$SERVER_LOG" | head -n 1)
    [ -n "$ADDR" ] && break
    sleep 0.1
  done
  [ -n "$ADDR" ] || { cat "$SERVER_LOG" >&2; die "the server did not say where it listens"; }
  case "$ADDR" in 127.0.0.1:*) ;; *) die "the server listens on $ADDR, not on 127.0.0.1" ;; esac
  BASE=http://$ADDR
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break; sleep 0.1; done
  curl -fsS "$BASE/healthz" >"$WORK/healthz.json" || die "GET /healthz does not answer"
  echo "server pid $SERVER_PID on $BASE ($(tr -d '\n' <"$WORK/healthz.json" | cut -c1-160))"
  SEARCH_URL="$BASE/api/plugins?q=$SEARCH_QUERY"
  RUN_URL="$BASE/api/orgs/$ORG/plugins/$PLUGIN_PATH/run"
}
say "starting the server"
start_server ${RECYCLE_AFTER:+--recycle-after "$RECYCLE_AFTER"}

RUN_BODY="{\"action\": \"$ACTION\", \"text\": \"hi\"}"

say "checking both requests once"
code=$(curl -sS -o "$WORK/search.json" -w '%{http_code}' "$SEARCH_URL")
[ "$code" = 200 ] || { cat "$WORK/search.json" >&2; die "search answered $code"; }
results=$(grep -o '"name":' "$WORK/search.json" | wc -l)
[ "$results" -gt 0 ] || { cat "$WORK/search.json" >&2; die "search for '$SEARCH_QUERY' found nothing"; }
echo "search: 200, $(wc -c <"$WORK/search.json") bytes, ${results} \"name\" fields"
# The first run starts the warm worker.
code=$(curl -sS -o "$WORK/run.json" -w '%{http_code}' -X POST "$RUN_URL" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$RUN_BODY")
[ "$code" = 200 ] || { cat "$WORK/run.json" >&2; echo >&2; die "run answered $code"; }
echo "run: 200, $(cut -c1-200 <"$WORK/run.json")"

# The runs' wrk scripts: POST with the token; answers tallied by status code, and the whole seconds in
# which nothing was answered (a stall: wrk drops the requests still waiting at the end without a word).
tally='
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; seconds = {}; started = os.time() end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local now = os.time()
  seconds[now] = (seconds[now] or 0) + 1
end
function done(summary, latency, requests)
  local all, answered, first = {}, {}, nil
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do all[status] = (all[status] or 0) + n end
    for second, n in pairs(t:get("seconds")) do answered[second] = (answered[second] or 0) + n end
    local s = t:get("started")
    if first == nil or s < first then first = s end
  end
  local line = "  answers by status:"
  for status, n in pairs(all) do line = line .. " " .. status .. "=" .. n end
  print(line)
  local silent = 0
  for second = first + 1, os.time() - 1 do
    if not answered[second] then silent = silent + 1 end
  end
  print("  whole seconds without any answer: " .. silent)
end'
cat >"$WORK/run.lua" <<EOF
wrk.method = "POST"
wrk.body = '$RUN_BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
$tally
EOF
# The same runs for $AGENTS agents in turn: a warm worker each (workers are kept per instance and agent).
cat >"$WORK/run-agents.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, nil, nil,
    '{"action": "$ACTION", "text": "hi", "agent": "bench-' .. (n % $AGENTS) .. '"}')
end
$tally
EOF

cat >"$WORK/run-cached.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"provider": "GREETING_STYLE", "text": "hi"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
$tally
EOF

# --- 5, 6. the loads ---------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
server_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }   # utime+stime
machine_ticks() { awk '/^cpu / { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print total, idle }' /proc/stat; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
workers_kb() {
  local total=0 pid kb
  for pid in $(descendants "$SERVER_PID"); do
    kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
# wrk's latency figure (1.23us, 4.5ms, 1.2s, 1.5m) in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN {
  n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
  printf "%.3f", n }'; }

declare -A RPS OK_RPS P50 P99 MAXLAT NON2XX SOCKERR SILENT REQS RSS HWM WRSS SCPU MCPU LOGW DRAIN
ERRORS=0
# The server's warnings and errors logged since the last call (into LOG_COUNT and log-news.txt) (sqlx's slow statements and slow pool
# acquires, failed requests), counted and shown by message.
log_news() {
  local total
  total=$(wc -l <"$SERVER_LOG")
  tail -n +"$((LOG_SEEN + 1))" "$SERVER_LOG" | head -n "$((total - LOG_SEEN))" |
    sed -e $'s/\x1b\\[[0-9;]*m//g' | grep -E '^[^ ]+ +(WARN|ERROR) ' >"$WORK/log-news.txt" || true
  LOG_SEEN=$total
  LOG_COUNT=$(wc -l <"$WORK/log-news.txt")
}
show_log_news() {
  # The message without its time and the statement's details, counted.
  sed -E -e 's/^[^ ]+ +//' -e 's/ (db\.statement|rows_affected|aquired_after_secs|elapsed)=.*//' \
    "$WORK/log-news.txt" | cut -c1-200 | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/    /'
}
load() { # name connections url [lua script]
  local name=$1 conns=$2 url=$3 script=${4:-}
  say "load: $name ($THREADS threads, $conns connections, $DURATION)"
  local s0 m0 top_pid out
  s0=$(server_ticks); m0=$(machine_ticks)
  # One top frame over 3 s in the middle of the load (the first frame of top counts since boot).
  (sleep 3; top -b -d 3 -n 2 -w 200 2>/dev/null | awk '/^top -/ { frame++ } frame == 2' | head -n 14 \
    >"$WORK/top-$name.txt") &
  top_pid=$!
  out="$WORK/wrk-$name.txt"
  if [ -n "$script" ]; then
    wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -s "$script" "$url" | tee "$out"
  else
    wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency "$url" | tee "$out"
  fi
  wait "$top_pid" || true
  if [ -n "$script" ]; then
    # Executions still running when wrk stopped go on in the server (and hold the organisation's slots):
    # one more run, timed, waits for them, so that the next load starts on a quiet server.
    local p0 p1 code
    p0=$(date +%s.%N)
    code=$(curl -sS -m 60 -o /dev/null -w '%{http_code}' -X POST "$RUN_URL" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' -d "$RUN_BODY" || true)
    p1=$(date +%s.%N)
    DRAIN[$name]=$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    echo "  one more run right after the load: ${code:-none} in ${DRAIN[$name]} ms"
    if [ "$code" != 200 ]; then ERRORS=1; echo "  !! the run after the load answered ${code:-nothing}"; fi
  fi
  local s1 m1
  s1=$(server_ticks); m1=$(machine_ticks)
  RSS[$name]=$(status_kb VmRSS); HWM[$name]=$(status_kb VmHWM); WRSS[$name]=$(workers_kb)
  read -r mt0 mi0 <<<"$m0"; read -r mt1 mi1 <<<"$m1"
  # Server CPU in cores (1.00 = one core busy), machine CPU busy in percent of all cores.
  SCPU[$name]=$(awk -v a="$s0" -v b="$s1" -v t0="$mt0" -v t1="$mt1" -v n="$(nproc)" \
    'BEGIN { wall = (t1 - t0) / n; printf "%.2f", (wall > 0 ? (b - a) / wall : 0) }')
  MCPU[$name]=$(awk -v t0="$mt0" -v t1="$mt1" -v i0="$mi0" -v i1="$mi1" \
    'BEGIN { printf "%.0f", (t1 > t0 ? 100 * (1 - (i1 - i0) / (t1 - t0)) : 0) }')
  echo "  top, during the load:"
  sed 's/^/    /' "$WORK/top-$name.txt"

  RPS[$name]=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  REQS[$name]=$(awk '/ requests in / { print $1 }' "$out")
  NON2XX[$name]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  NON2XX[$name]=${NON2XX[$name]:-0}
  SOCKERR[$name]=$(awk -F'[ ,]+' '/Socket errors:/ { print $5 + $7 + $9 + $11 }' "$out")
  SOCKERR[$name]=${SOCKERR[$name]:-0}
  SILENT[$name]=$(awk '/whole seconds without any answer:/ { print $NF }' "$out")
  SILENT[$name]=${SILENT[$name]:--}
  log_news
  LOGW[$name]=$LOG_COUNT
  P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  MAXLAT[$name]=$(to_ms "$(awk '$1 == "Latency" && NF >= 4 { print $4; exit }' "$out")")
  # Requests/s that were answered 2xx.
  OK_RPS[$name]=$(awk -v r="${RPS[$name]:-0}" -v n="${REQS[$name]:-0}" -v e="${NON2XX[$name]}" \
    'BEGIN { printf "%.0f", (n > 0 ? r * (n - e) / n : 0) }')
  if [ "${NON2XX[$name]}" != 0 ] || [ "${SOCKERR[$name]}" != 0 ]; then
    ERRORS=1
    echo "  !! $name: ${NON2XX[$name]} answers not 2xx/3xx and ${SOCKERR[$name]} socket errors of ${REQS[$name]} requests"
  fi
  if [ "${SILENT[$name]}" != - ] && [ "${SILENT[$name]}" != 0 ]; then
    ERRORS=1
    echo "  !! $name: the server answered nothing for ${SILENT[$name]} whole seconds of the load"
  fi
  if [ "${LOGW[$name]}" != 0 ]; then
    echo "  !! $name: the server logged ${LOGW[$name]} warnings or errors during the load:"
    show_log_news
    if grep -q ' ERROR ' "$WORK/log-news.txt"; then ERRORS=1; fi
  fi
  echo "  server: VmRSS ${RSS[$name]} kB, VmHWM ${HWM[$name]} kB, CPU ${SCPU[$name]} cores;" \
    "its workers: RSS ${WRSS[$name]} kB; machine busy ${MCPU[$name]} %"
}

load search "$CONNECTIONS" "$SEARCH_URL"
load run "$CONNECTIONS" "$RUN_URL" "$WORK/run.lua"
load run-slots "$SLOT_CONNECTIONS" "$RUN_URL" "$WORK/run.lua"
load run-agents "$SLOT_CONNECTIONS" "$RUN_URL" "$WORK/run-agents.lua"
load run-cached "$SLOT_CONNECTIONS" "$RUN_URL" "$WORK/run-cached.lua"

# One run after another over one connection: no queue, so each run's own time shows, and the runs that
# wait for a cold start (a warm worker is retired after 100 executions) stand out.
SEQ_RUNS=300
say "sequential: $SEQ_RUNS runs one after another over one connection (curl)"
body_escaped=${RUN_BODY//\"/\\\"}
for i in $(seq 1 "$SEQ_RUNS"); do
  [ "$i" -gt 1 ] && echo next
  printf 'url = "%s"\nrequest = "POST"\nheader = "Authorization: Bearer %s"\n' "$RUN_URL" "$TOKEN"
  printf 'header = "Content-Type: application/json"\ndata = "%s"\noutput = "/dev/null"\n' "$body_escaped"
  printf 'write-out = "%%{http_code} %%{time_total}\\n"\n'
done >"$WORK/sequential.cfg"
curl -sS -K "$WORK/sequential.cfg" >"$WORK/sequential.txt" || true
# Percentiles from the sorted times (any awk); the slow runs by their place in the sequence.
seq_pct=$(awk '{ print $2 * 1000 }' "$WORK/sequential.txt" | sort -n |
  awk '{ t[NR] = $1 } END { printf "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms", t[int(NR * 0.5)], t[int(NR * 0.9)], t[int(NR * 0.99)] }')
SEQ_SUMMARY=$(awk -v pct="$seq_pct" '
  { n++; if ($1 !~ /^2/) bad++; ms = $2 * 1000; total += ms
    if (ms > 20) { slow++; list = list sprintf(" #%d %.0f ms", n, ms) } }
  END { printf "%d runs, %d not 2xx, mean %.2f ms, %s; %d over 20 ms:%s", n, bad, total / n, pct, slow, list }' \
  "$WORK/sequential.txt")
echo "$SEQ_SUMMARY"
case "$SEQ_SUMMARY" in *" 0 not 2xx"*) ;; *) ERRORS=1; echo "  !! some sequential runs were not answered 2xx" ;; esac

# Every run is recorded as an execution in the store: the count should be the 2xx runs plus the checks.
say "executions recorded in the store"
t0=$(date +%s.%N)
code=$(curl -sS -o "$WORK/executions.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  "$BASE/api/orgs/$ORG/executions?per_page=1")
t1=$(date +%s.%N)
if [ "$code" = 200 ]; then
  recorded=$(sed -n 's/.*"total": *\([0-9]*\).*/\1/p' "$WORK/executions.json" | tail -n 1)
  answered=$(( SEQ_RUNS + 2 + 4 ))   # the checks, the sequence and the run after each load
  for name in run run-slots run-agents run-cached; do answered=$(( answered + ${REQS[$name]:-0} - ${NON2XX[$name]} )); done
  echo "recorded: $recorded; 2xx runs answered: $answered (wrk counts only completed requests," \
    "so a few in flight at the end may be recorded too); GET .../executions?per_page=1 took" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f ms", (b - a) * 1000 }')"
else
  echo "GET /api/orgs/$ORG/executions answered $code"
fi

# --- 7. issue 20's ratios: cold start, recycling, agents ------------------------------------------------
# Cold start: the fixture as installed in the data directory (pkgs/<name, / as +>@<version>, with a
# marker and a random suffix for a local install) and its entry as Node resolves an import of the package:
# exports ("." then import, node, default), else main, else index.js.
PKG_DIRS=$(find "$WORK/data" -type d -path "*/pkgs/${PLUGIN//\//+}@*" -prune -print)
[ -n "$PKG_DIRS" ] || die "no installed copy of $PLUGIN under $WORK/data"
[ "$(printf '%s\n' "$PKG_DIRS" | wc -l)" = 1 ] || die "several installed copies of $PLUGIN: $PKG_DIRS"
PKG_DIR=$PKG_DIRS
ENTRY_URL=$(node -e '
  const fs = require("fs"), path = require("path"), url = require("url");
  const dir = process.argv[1];
  const p = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const pick = (e) => typeof e === "string" ? e : Array.isArray(e) ? pick(e[0])
    : e && typeof e === "object" ? ("." in e ? pick(e["."]) : pick(e.import ?? e.node ?? e.default ?? e.require))
    : undefined;
  const entry = (p.exports !== undefined ? pick(p.exports) : undefined) ?? p.main ?? "index.js";
  console.log(url.pathToFileURL(path.resolve(dir, entry)).href);' "$PKG_DIR") ||
  die "cannot read the entry of $PKG_DIR/package.json"
node -e "import(\"$ENTRY_URL\")" || die "plain Node cannot import $ENTRY_URL"
# The server's counters of workers started and of their cold-start time (GET /metrics is open).
# (awk reads it all: leaving early would fail curl's write, and with it the pipe.)
metric() { curl -fsS "$BASE/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { print v }'; }
say "cold start: a plugin's first run on the server ($COLD_RUNS, each for a fresh agent) against plain Node importing it"
echo "package: $PKG_DIR"
echo "import:  node -e \"import(\\\"$ENTRY_URL\\\")\""
: >"$WORK/cold-run.txt"; : >"$WORK/cold-import.txt"
COLD_BAD=0
cold_run() { # n: one run for agent cold-n, which no worker serves yet
  local n=$1 started0 started1 out code secs
  started0=$(metric plughub_workers_started_total)
  out=$(curl -sS -m 60 -o "$WORK/cold.json" -w '%{http_code} %{time_total}' -X POST "$RUN_URL" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"action\": \"$ACTION\", \"text\": \"hi\", \"agent\": \"cold-$n\"}" || echo "000 0")
  started1=$(metric plughub_workers_started_total)
  code=${out%% *}; secs=${out#* }
  COLD_MS=$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }')
  if [ "$code" != 200 ]; then
    COLD_BAD=$((COLD_BAD + 1)); COLD_MS="answered $code: $(head -c 160 "$WORK/cold.json" 2>/dev/null || true)"
  elif [ "$((started1 - started0))" != 1 ]; then
    # Not a cold start then (or another worker started meanwhile): left out of the median.
    COLD_BAD=$((COLD_BAD + 1)); COLD_MS="$COLD_MS ms, but $((started1 - started0)) workers started"
  else
    echo "$COLD_MS" >>"$WORK/cold-run.txt"; COLD_MS="$COLD_MS ms"
  fi
}
node_import() {
  local t0 t1
  # Bash's own clock (no process of its own around node's); microseconds.
  t0=${EPOCHREALTIME/[.,]/}
  if node -e "import(\"$ENTRY_URL\")"; then
    t1=${EPOCHREALTIME/[.,]/}
    IMPORT_MS=$(awk -v us="$((t1 - t0))" 'BEGIN { printf "%.1f", us / 1000 }')
    echo "$IMPORT_MS" >>"$WORK/cold-import.txt"; IMPORT_MS="$IMPORT_MS ms"
  else
    COLD_BAD=$((COLD_BAD + 1)); IMPORT_MS="failed"
  fi
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END {
  if (NR == 0) print "-"; else if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cold_sum0=$(metric plughub_worker_cold_start_seconds_sum); cold_count0=$(metric plughub_worker_cold_start_seconds_count)
for i in $(seq 1 "$COLD_RUNS"); do
  # Alternated: the run first on odd turns, the import first on even ones; a second's pause after each.
  if [ $((i % 2)) = 1 ]; then cold_run "$i"; sleep 1; node_import; sleep 1
  else node_import; sleep 1; cold_run "$i"; sleep 1; fi
  printf '  %2d: first run (agent cold-%s) %s; node import %s\n' "$i" "$i" "$COLD_MS" "$IMPORT_MS"
done
cold_sum1=$(metric plughub_worker_cold_start_seconds_sum); cold_count1=$(metric plughub_worker_cold_start_seconds_count)
COLD_RUN_MS=$(median "$WORK/cold-run.txt")
COLD_IMPORT_MS=$(median "$WORK/cold-import.txt")
COLD_X=$(awk -v a="$COLD_RUN_MS" -v b="$COLD_IMPORT_MS" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-" }')
echo "medians: first run $COLD_RUN_MS ms ($(wc -l <"$WORK/cold-run.txt") runs), node import $COLD_IMPORT_MS ms" \
  "($(wc -l <"$WORK/cold-import.txt") imports); the server's own worker start (worker_cold_start_seconds)," \
  "mean over these: $(awk -v s0="$cold_sum0" -v s1="$cold_sum1" -v c0="$cold_count0" -v c1="$cold_count1" \
    'BEGIN { if (c1 > c0) printf "%.1f ms over %d starts", (s1 - s0) * 1000 / (c1 - c0), c1 - c0; else print "none" }')"
if [ "$COLD_BAD" != 0 ]; then
  ERRORS=1
  echo "  !! $COLD_BAD cold-start measurements failed or started no worker (left out of the medians)"
fi

# Stops the server and starts it again on the same data directory with other options; the first run
# starts its warm worker (as the checks did for the first server), outside the load that follows.
restart_server() { # [serve options]
  local old=$SERVER_PID
  stop_server || die "a process of the server stopped (pid $old) outlived it"
  # What the old server logged since its last load, its shutdown included.
  log_news
  if [ "$LOG_COUNT" != 0 ]; then
    echo "  !! the stopped server logged $LOG_COUNT warnings or errors after its last load:"
    show_log_news
    if grep -q ' ERROR ' "$WORK/log-news.txt"; then ERRORS=1; fi
  fi
  echo "server pid $old stopped; none of its $STOPPED_SEEN processes (workers and their keepers) left"
  start_server "$@"
  local code
  code=$(curl -sS -m 60 -o "$WORK/run.json" -w '%{http_code}' -X POST "$RUN_URL" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$RUN_BODY" || true)
  [ "$code" = 200 ] || { cat "$WORK/run.json" >&2; echo >&2; die "the first run on the restarted server answered $code"; }
}
# Recycling: the same load (3) on two servers started alike on the same data directory, one after the
# other, which differ only in the recycling: off, then on as for the loads above (RECYCLE_AFTER, or the
# server's default when that is unset or 0).
RECYCLE_ON_ARGS=()
if [ -n "${RECYCLE_AFTER:-}" ] && [ "$RECYCLE_AFTER" != 0 ]; then RECYCLE_ON_ARGS=(--recycle-after "$RECYCLE_AFTER"); fi
say "recycling: the server restarted with --recycle-after 0 (workers never recycled)"
restart_server --recycle-after 0
load run-slots-off "$SLOT_CONNECTIONS" "$RUN_URL" "$WORK/run.lua"
say "recycling: the server restarted with ${RECYCLE_ON_ARGS[*]:-the default recycling}"
restart_server "${RECYCLE_ON_ARGS[@]}"
load run-slots-on "$SLOT_CONNECTIONS" "$RUN_URL" "$WORK/run.lua"

# --- 8. the summary ----------------------------------------------------------------------------------
goal() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
case "${RECYCLE_AFTER:-}" in
  "") recycling="a fresh worker every 100 executions (the default)" ;;
  0) recycling="workers never recycled" ;;
  *) recycling="a fresh worker every $RECYCLE_AFTER executions" ;;
esac
say "summary ($(nproc) cores shared by wrk and the server; store: $STORE_NAME; $recycling; $(date -u +%F))"
printf '%-13s %5s %9s %7s %8s %8s %8s %7s %7s %6s %8s %7s %8s %8s %10s %5s\n' load conns 'req/s' \
  '2xx/s' 'p50 ms' 'p99 ms' 'max ms' non-2xx sockerr silent log-warn 'next ms' 'RSS kB' 'peak kB' \
  'workers kB' cpu
for name in search run run-slots run-agents run-cached run-slots-off run-slots-on; do
  case "$name" in search|run) conns=$CONNECTIONS ;; *) conns=$SLOT_CONNECTIONS ;; esac
  printf '%-13s %5s %9s %7s %8s %8s %8s %7s %7s %6s %8s %7s %8s %8s %10s %5s\n' "$name" "$conns" \
    "${RPS[$name]}" "${OK_RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${MAXLAT[$name]}" \
    "${NON2XX[$name]}" "${SOCKERR[$name]}" "${SILENT[$name]}" "${LOGW[$name]}" "${DRAIN[$name]:--}" \
    "${RSS[$name]}" "${HWM[$name]}" "${WRSS[$name]}" "${SCPU[$name]}"
done
echo "(silent: whole seconds in which nothing was answered; log-warn: warnings and errors the server logged;"
echo " next ms: one more run right after the load; cpu: the server's own CPU time during the load, in cores;"
echo " its workers are other processes; run-slots-off and run-slots-on: run-slots on the server restarted"
echo " with workers never recycled, then with $recycling)"
echo "sequential: $SEQ_SUMMARY"
search_ok=$(awk -v r="${OK_RPS[search]}" -v p="${P99[search]}" 'BEGIN { print (r > 10000 && p < 10) ? 1 : 0 }')
best_run=run
for name in run-slots run-agents; do
  if [ "${OK_RPS[$name]}" -gt "${OK_RPS[$best_run]}" ]; then best_run=$name; fi
done
run_ok=$(awk -v r="${OK_RPS[$best_run]}" 'BEGIN { print (r > 2000) ? 1 : 0 }')
echo "goal: search > 10,000 req/s with p99 < 10 ms: $(goal "$search_ok")" \
  "(${OK_RPS[search]} req/s, p99 ${P99[search]} ms)"
echo "goal: trivial action > 2,000 executions/s: $(goal "$run_ok")" \
  "(best: ${OK_RPS[$best_run]} 2xx/s in $best_run; run ${OK_RPS[run]}, run-slots ${OK_RPS[run-slots]}," \
  "run-agents ${OK_RPS[run-agents]})"

say "ratios (the goals of issue 20)"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.0f", 100 * a / b; else print "-" }'; }
rec_pct=$(pct "${OK_RPS[run-slots-on]}" "${OK_RPS[run-slots-off]}")
agents_pct=$(pct "${OK_RPS[run-agents]}" "${OK_RPS[run-slots]}")
rec_ok=$(awk -v p="$rec_pct" 'BEGIN { print (p != "-" && p >= 80) ? 1 : 0 }')
agents_ok=$(awk -v p="$agents_pct" -v l="${P99[run-agents]}" 'BEGIN { print (p != "-" && p >= 80 && l < 30) ? 1 : 0 }')
cold_ok=$(awk -v x="$COLD_X" 'BEGIN { print (x != "-" && x <= 1.0) ? 1 : 0 }')
echo "recycling on / off: ${OK_RPS[run-slots-on]} /s / ${OK_RPS[run-slots-off]} /s = $rec_pct %" \
  "(goal >= 80 %: $(goal "$rec_ok"))"
echo "$AGENTS agents / $SLOT_CONNECTIONS slots: ${OK_RPS[run-agents]} /s / ${OK_RPS[run-slots]} /s = $agents_pct %," \
  "p99 ${P99[run-agents]} ms (goals >= 80 %, p99 < 30 ms: $(goal "$agents_ok"))"
echo "cold start: first run $COLD_RUN_MS ms / node import $COLD_IMPORT_MS ms = $COLD_X x (goal <= 1.0: $(goal "$cold_ok"))"
echo "(2xx runs/s; recycling: run-slots-on against run-slots-off, the same load on servers restarted alike;"
echo " agents: run-agents against run-slots; cold start: medians of $COLD_RUNS, alternated)"
if [ "$ERRORS" = 1 ]; then
  echo "!! errors or stalls in the loads above (answers not 2xx, socket errors, seconds without an answer," \
    "errors in the server's log): the figures include them"
  exit 3
fi
