# What the test harnesses that start a plughub server on loopback share (scripts/api-contract.sh,
# browser-tests.sh, agent-bridge-tests.sh): sourced, from the repository's root, after `set -euo pipefail`.
# Each function says what it sets.

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The cargo target folder, absolute: sets `target`.
harness_target() {
  target=${CARGO_TARGET_DIR:-target}
  mkdir -p "$target"
  target=$(cd "$target" && pwd)
}

# Node.js 20 or later (installed from Debian's packages when absent); $1 says what needs it.
harness_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing Node.js and npm from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "$1 needs Node.js 20 or later, not $(node --version)"
    exit 1
  fi
}

# `npm ci` in folder $1 when its node_modules is missing or older than its lockfile. The lockfile must
# not say where packages come from: they come from the registry of the npm configuration in use (the
# folder's .npmrc keeps npm from writing addresses). A workspace's own packages are recorded as links
# ("resolved": "plugin-x", a folder): those are no addresses.
harness_npm_ci() {
  local dir=$1 stamp wanted
  if grep -Eq '"resolved": "[a-z+]+:' "$dir/package-lock.json"; then
    echo "$dir/package-lock.json records download addresses (\"resolved\"): regenerate it with the .npmrc there"
    exit 1
  fi
  stamp="$dir/node_modules/.plughub-installed"
  wanted=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$wanted" >"$stamp"
  fi
}

# A temporary folder and the background processes started in it, both gone when the script exits: sets
# `tmp` and `pids` (add each process started to it).
harness_tmp() {
  tmp=$(mktemp -d)
  # A server started as root serves as an ordinary account, which must reach its data folder in here.
  chmod 711 "$tmp"
  pids=()
  trap harness_cleanup EXIT
}

harness_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}

# An npm registry on loopback serving the fixture plugin folders given (FOLDER or FOLDER@VERSION, see
# scripts/api-contract-registry.py), until the script exits: sets `registry` (its URL).
harness_registry() {
  python3 scripts/api-contract-registry.py --serve "$tmp/registry" "$@" >"$tmp/registry.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^serving ' "$tmp/registry.log" && break; sleep 0.1; done
  registry=$(sed -n 's/^serving //p' "$tmp/registry.log")
  [ -n "$registry" ] || { cat "$tmp/registry.log"; exit 1; }
}

# pnpm, with which plughub installs plugins' dependencies, for the data folder $2: plughub fetches it with
# npm on first use, but a server installing from a loopback registry finds none there. Fetched with npm
# (from the registry of your npm configuration) once into $1, kept between runs, and copied in (a server
# started as root serves as an account that may not reach the target folder).
harness_pnpm() {
  local tools=$1 data=$2
  if ! "$tools/node_modules/.bin/pnpm" --version >/dev/null 2>&1; then
    echo "installing pnpm into $tools"
    mkdir -p "$tools"
    npm install --prefix "$tools" --ignore-scripts --no-audit --no-fund --loglevel=error pnpm@9 >/dev/null
  fi
  mkdir -p "$data/packages"
  cp -a "$tools" "$data/packages/tools"
}

# `plughub … serve` on a free port of 127.0.0.1, with the arguments given (the data folder and serve's
# options), installing from `registry`; waits until it listens: sets `server` (its URL) and `server_pid`.
harness_serve() {
  NPM_CONFIG_REGISTRY=$registry "$plughub" "$@" >"$tmp/server.log" 2>&1 &
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
}
