#!/usr/bin/env bash
# Measures how plugin dependencies install with plain npm (one folder per plugin) against pnpm with one
# shared store: time, disk, and whether each plugin then loads in Node.js. Both run with --ignore-scripts
# against the registry of your npm configuration. Prints one line per plugin and the totals.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
PLUGINS=${PLUGINS:-"@elizaos/plugin-openai @elizaos/plugin-anthropic @elizaos/plugin-bootstrap @elizaos/plugin-sql @elizaos/plugin-discord @elizaos/plugin-telegram @elizaos/plugin-knowledge @elizaos/plugin-evm"}
npm install --prefix "$work/tools" --ignore-scripts --no-audit --no-fund --loglevel=error pnpm@9 >/dev/null
PNPM="$work/tools/node_modules/.bin/pnpm"
mkdir -p npm pnpm
for tool in npm pnpm; do
  start_all=$(date +%s.%N)
  for p in $PLUGINS; do
    d=$tool/$(echo "$p" | tr '/@' '__'); mkdir -p "$d"
    echo '{"name":"x","version":"1.0.0","private":true,"type":"module"}' > "$d/package.json"
    s=$(date +%s.%N)
    if [ "$tool" = npm ]; then (cd "$d" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "$p" >/dev/null 2>&1); rc=$?
    else (cd "$d" && "$PNPM" add --ignore-scripts --store-dir "$work/pnpm-store" --reporter=silent "$p" >/dev/null 2>&1); rc=$?; fi
    e=$(date +%s.%N)
    load=$(cd "$d" && timeout 60 node -e "import('$p').then(m=>console.log('loads,', Object.keys(m).length, 'exports')).catch(e=>console.log('fails:', String(e).slice(0,100)))" 2>&1 | tail -1)
    printf '%-5s %-28s exit %s  %6.1f s  %s\n' "$tool" "$p" "$rc" "$(echo "$e - $s" | bc)" "$load"
  done
  printf '%-5s total %.1f s\n' "$tool" "$(echo "$(date +%s.%N) - $start_all" | bc)"
done
echo "disk npm: $(du -sm npm | cut -f1) MB"
echo "disk pnpm, folders and store (hard links counted once): $(du -sm pnpm pnpm-store | awk '{s+=$1} END {print s}') MB"
