#!/usr/bin/env bash
# The example plugins (examples/plugin-*) under `plughub dev test`, as a plugin author runs them.
#
# - examples/ is one npm workspace: its dependencies (tsup, typescript, @elizaos/core at the exact
#   versions of examples/package-lock.json, which records no download addresses) are installed with
#   `npm ci` from the registry of your npm configuration, when node_modules is missing or older than the
#   lockfile; then each example is built (`npm run build -w <example>`: tsup to dist/index.js).
# - `plughub dev test --dir examples/<example> --junit <target>/examples-junit/<example>.xml` runs each
#   example's own tests (its plugin's `tests`) with the settings, HTTP stubs and scripted model answers of
#   its plughub.dev.json. The HTTP stubs answer through plughub's egress path on loopback: nothing leaves
#   the machine. Without root, plughub runs them without the OS sandbox and says so.
#
# Arguments, if any, name the examples to run (e.g. plugin-weather); by default, all five.
#
# The development store is a fresh folder under the target dir each run (`--data-dir`), shared by the
# examples (one pnpm store): never the author's own development store, and no state from an earlier run.
#
# The last line says `examples: N passed, M failed`, counting the tests in the JUnit reports; an example
# that cannot be built or loaded (no report) or has no tests counts as one failed test. The exit status is
# non-zero when any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

. scripts/lib/harness.sh
harness_target

examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(plugin-hello-world plugin-weather plugin-sentiment plugin-balance plugin-full)

harness_node "the example plugins (tsup)"

# The examples' dependencies, at the lockfile's versions, from the registry of the npm configuration.
harness_npm_ci examples

cargo build --locked --quiet -p plughub
plughub="$target/debug/plughub"

reports="$target/examples-junit"
rm -rf "$reports"
mkdir -p "$reports"
data="$target/examples-data"
rm -rf "$data"
mkdir -p "$data"

status=0
for example in "${examples[@]}"; do
  echo "== $example"
  rm -f "$reports/$example.xml"
  if ! (cd examples && npm run --silent build -w "$example" >"$reports/$example.build.log" 2>&1); then
    cat "$reports/$example.build.log"
    echo "$example: the build failed"
    status=1
    continue
  fi
  "$plughub" --data-dir "$data" dev test --dir "examples/$example" --junit "$reports/$example.xml" || status=1
done

echo "examples tests: $(($(date +%s) - started)) s"
# A test is a <testcase>; it failed when it holds a <failure> or an <error>. An example without a report
# never got to its tests: one failure.
python3 - "$reports" "${examples[@]}" <<'PY' || status=1
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

reports, names = Path(sys.argv[1]), sys.argv[2:]
passed = failed = 0
for name in names:
    report = reports / f"{name}.xml"
    try:
        cases = list(ET.parse(report).getroot().iter("testcase"))
    except (OSError, ET.ParseError) as e:
        print(f"{name}: no JUnit report ({e})")
        failed += 1
        continue
    bad = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
    if not cases:
        print(f"{name}: the report holds no tests")
        failed += 1
    passed += len(cases) - bad
    failed += bad
print(f"examples: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
exit "$status"
