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
# RECYCLE_AFTER (unset: the server's default, a fresh worker every 100 executions; 0: never).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
SLOT_CONNECTIONS=${SLOT_CONNECTIONS:-10}
DURATION=${DURATION:-10s}
AGENTS=${AGENTS:-10}
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
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
SERVER_PID=""
PG_DB=""
PG_ADMIN_URL=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    # The server's workers (Node processes under it), to be sure none outlives it.
    local kids
    kids=$(descendants "$SERVER_PID" || true)
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
  fi
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
say "starting the server"
# Port 0: the kernel picks a free port; the server prints the address it got.
"$BIN" --data-dir "$WORK/data" "${DB_ARGS[@]}" serve --listen 127.0.0.1:0 --no-sync \
  --executions-per-minute 0 ${RECYCLE_AFTER:+--recycle-after "$RECYCLE_AFTER"} >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server stopped"; }
  ADDR=$(sed -n 's|.*plughub listening on http://\([0-9.:]*\).*|\1|p' "$WORK/server.log" | head -n 1)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$WORK/server.log" >&2; die "the server did not say where it listens"; }
case "$ADDR" in 127.0.0.1:*) ;; *) die "the server listens on $ADDR, not on 127.0.0.1" ;; esac
BASE=http://$ADDR
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break; sleep 0.1; done
curl -fsS "$BASE/healthz" >"$WORK/healthz.json" || die "GET /healthz does not answer"
echo "server pid $SERVER_PID on $BASE ($(tr -d '\n' <"$WORK/healthz.json" | cut -c1-160))"

SEARCH_URL="$BASE/api/plugins?q=$SEARCH_QUERY"
RUN_URL="$BASE/api/orgs/$ORG/plugins/$PLUGIN_PATH/run"
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
LOG_SEEN=0
log_news() {
  local total
  total=$(wc -l <"$WORK/server.log")
  tail -n +"$((LOG_SEEN + 1))" "$WORK/server.log" | head -n "$((total - LOG_SEEN))" |
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

# --- 7. the summary ----------------------------------------------------------------------------------
goal() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
case "${RECYCLE_AFTER:-}" in
  "") recycling="a fresh worker every 100 executions (the default)" ;;
  0) recycling="workers never recycled" ;;
  *) recycling="a fresh worker every $RECYCLE_AFTER executions" ;;
esac
say "summary ($(nproc) cores shared by wrk and the server; store: $STORE_NAME; $recycling; $(date -u +%F))"
printf '%-10s %5s %9s %7s %8s %8s %8s %7s %7s %6s %8s %7s %8s %8s %10s %5s\n' load conns 'req/s' \
  '2xx/s' 'p50 ms' 'p99 ms' 'max ms' non-2xx sockerr silent log-warn 'next ms' 'RSS kB' 'peak kB' \
  'workers kB' cpu
for name in search run run-slots run-agents run-cached; do
  case "$name" in search|run) conns=$CONNECTIONS ;; *) conns=$SLOT_CONNECTIONS ;; esac
  printf '%-10s %5s %9s %7s %8s %8s %8s %7s %7s %6s %8s %7s %8s %8s %10s %5s\n' "$name" "$conns" \
    "${RPS[$name]}" "${OK_RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${MAXLAT[$name]}" \
    "${NON2XX[$name]}" "${SOCKERR[$name]}" "${SILENT[$name]}" "${LOGW[$name]}" "${DRAIN[$name]:--}" \
    "${RSS[$name]}" "${HWM[$name]}" "${WRSS[$name]}" "${SCPU[$name]}"
done
echo "(silent: whole seconds in which nothing was answered; log-warn: warnings and errors the server logged;"
echo " next ms: one more run right after the load; cpu: the server's own CPU time during the load, in cores;"
echo " its workers are other processes)"
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
if [ "$ERRORS" = 1 ]; then
  echo "!! errors or stalls in the loads above (answers not 2xx, socket errors, seconds without an answer," \
    "errors in the server's log): the figures include them"
  exit 3
fi
