#!/usr/bin/env bash
# The web UI in a real browser: the tests in tests/browser (node:test, playwright-core driving Debian's
# Chromium, axe-core, Lighthouse) against a plughub server on loopback.
#
# - Chromium is Debian's (/usr/bin/chromium), installed with apt-get when absent. The tests launch it only
#   through tests/browser/helpers.mjs, whose flags keep it from resolving any name but loopback's: nothing
#   leaves the machine.
# - The test packages (exact versions, tests/browser/package-lock.json, which records no download
#   addresses) are installed with `npm ci` from the registry of your npm configuration, when
#   node_modules is missing or older than the lockfile.
# - The server runs on 127.0.0.1 with a fresh SQLite store in a temporary folder, installing from an npm
#   registry on loopback with the fixture plugins (scripts/api-contract-registry.py --serve:
#   @fixture/plugin-hello 1.0.0 and 1.0.1, plugin-echo-model, plugin-hostile-readme and the three
#   plugin-compat-* fixtures of the compatibility run). The command line
#   sets up: organisation acme (enterprise), owner@acme.test (org_owner), user@acme.test (org_user),
#   account@acme.test (org_user, for the account page's tests), root@plughub.test (platform_owner),
#   agent eliza; the tests get the address and the passwords in their environment.
# - The catalogue: the starter one it carries, then one sync (tests/browser/fixture-registry.json, a
#   registry list in the official shape naming the fixtures, and the loopback registry) and an analysis
#   of the fixtures' packages. The loopback registry answers 404 for every other plugin, so the sync
#   drops the starter's npm data (versions) and marks deprecated those only the registry's main list
#   named; the server then starts with --no-sync.
# - Screenshots (PNG), axe-core's and Lighthouse's results go to $CARGO_TARGET_DIR/browser-artifacts
#   (target/browser-artifacts), emptied at each run.
#
# Arguments, if any, name the test files to run (e.g. install-flow.test.mjs); by default, all of them.
#
# The last line says `browser: N passed, M failed`, counting node:test's tests; the line before it, the
# tests marked todo (what the UI does not do yet: they run and report, and count neither way).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)
files=("$@")

. scripts/lib/harness.sh
harness_target
artifacts="$target/browser-artifacts"
rm -rf "$artifacts"
mkdir -p "$artifacts"

export CHROME_PATH=/usr/bin/chromium
if [ ! -x "$CHROME_PATH" ]; then
  echo "installing chromium from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "$("$CHROME_PATH" --version 2>/dev/null)"

harness_node "the browser tests (playwright-core)"

# The test packages, at the lockfile's versions, from the registry of the npm configuration in use.
tests=tests/browser
harness_npm_ci "$tests"

cargo build --locked --quiet -p plughub
plughub="$target/debug/plughub"

harness_tmp

# An npm registry on loopback with the fixture plugins, for the server to install from.
fixtures=crates/plughub-testkit/fixtures
harness_registry "$fixtures/plugin-hello" "$fixtures/plugin-hello@1.0.1" "$fixtures/plugin-echo-model" \
  "$fixtures/plugin-hostile-readme" "$fixtures/plugin-compat-limit" "$fixtures/plugin-compat-markup" \
  "$fixtures/plugin-compat-launcher"

# The people and the organisation, with the command line on the store the server then serves. With
# people in it, the server's first start makes no platform owner of its own: the set-up makes one.
data="$tmp/data"
harness_pnpm "$target/browser-tools" "$data"
cli() { "$plughub" --data-dir "$data" "$@" >>"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; exit 1; }; }
password() { python3 -c 'import secrets; print(secrets.token_urlsafe(18))'; }
owner_password=$(password)
user_password=$(password)
platform_password=$(password)
account_password=$(password)
cli admin create-org acme --plan enterprise
cli admin create-org platform --plan enterprise
echo "$owner_password" | cli admin create-user owner@acme.test --name "Olga Owner" --org acme --role org_owner --password-stdin
echo "$user_password" | cli admin create-user user@acme.test --name "Ulla User" --org acme --role org_user --password-stdin
echo "$platform_password" | cli admin create-user root@plughub.test --name "Platform owner" --org platform --role platform_owner --password-stdin
echo "$account_password" | cli admin create-user account@acme.test --name "Ada Account" --org acme --role org_user --password-stdin
cli agent create eliza --org acme
# The fixture plugins in the catalogue: a registry file in the official one's shape that lists them, and
# their package documents (versions, README) from the loopback registry; then what their packages ask for.
cli catalog sync --from "$tests/fixture-registry.json" --npm-registry "$registry" --force
cli catalog analyze @fixture/plugin-hello @fixture/plugin-echo-model @fixture/plugin-hostile-readme \
  --npm-registry "$registry"
# A compatibility run over five fixtures, in the OS sandbox, against the loopback registry: hello and
# echo-model init, compat-limit stops at the sandbox's open-file limit, compat-markup fails at init with a
# message that is markup, compat-launcher needs to run Chromium. hostile-readme stays untried.
cli compat run @fixture/plugin-hello @fixture/plugin-echo-model @fixture/plugin-compat-limit \
  @fixture/plugin-compat-markup @fixture/plugin-compat-launcher --npm-registry "$registry"
echo "set up: organisation acme, owner@acme.test (org_owner), user@acme.test and account@acme.test (org_user), root@plughub.test (platform_owner), agent eliza; the fixture plugins in the catalogue; five of them tried"

# Webhooks made in the pages go to loopback (nothing listens there).
harness_serve --data-dir "$data" serve --listen 127.0.0.1:0 --no-sync --webhook-allow-loopback

# node:test runs one file at a time (--test-concurrency=1): Lighthouse's performance score must not
# share the two cores with another file's browser. Spec output to the terminal, TAP to count.
status=0
(
  cd "$tests"
  [ ${#files[@]} -gt 0 ] || files=(./*.test.mjs)
  BASE_URL=$server BROWSER_ARTIFACTS=$artifacts BROWSER_ORG=acme \
    OWNER_EMAIL=owner@acme.test OWNER_PASSWORD=$owner_password \
    USER_EMAIL=user@acme.test USER_PASSWORD=$user_password \
    PLATFORM_OWNER_EMAIL=root@plughub.test PLATFORM_OWNER_PASSWORD=$platform_password \
    ACCOUNT_EMAIL=account@acme.test ACCOUNT_PASSWORD=$account_password \
    node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/results.tap" \
    "${files[@]}"
) || status=$?
cp "$tmp/server.log" "$artifacts/server.log"

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server ended during the tests:"
  tail -n 40 "$tmp/server.log"
  status=1
fi
echo "browser tests: $(($(date +%s) - started)) s (artifacts in $artifacts)"
# node:test's own summary: todo tests count in neither pass nor fail; cancelled ones (a hook that
# failed) are failures. A todo test that passes is named, to take its mark off.
awk -v status="$status" '
  /^# pass / { p = $3 } /^# fail / { f = $3 } /^# cancelled / { c = $3 } /^# todo / { t = $3 }
  /^ *ok [0-9]+ - .* # TODO/ { sub(/^ *ok [0-9]+ - /, ""); sub(/ # TODO.*/, ""); done = done "\n  passes now, still marked todo: " $0 }
  END {
    f += c
    if (status != 0 && f == 0) f = 1
    printf "browser todo: %d%s\n", t, done
    printf "browser: %d passed, %d failed\n", p, f
  }' "$tmp/results.tap" 2>/dev/null || echo "browser: 0 passed, 1 failed"
exit "$status"
