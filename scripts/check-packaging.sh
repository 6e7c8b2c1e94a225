#!/usr/bin/env bash
# Checks plughub's packaging (packaging/; docs/operator-guide.md, "Packaging"), as far as this machine can:
# - the shell scripts pass shellcheck;
# - the systemd unit: `systemd-analyze verify` on the file as shipped, in a scratch root where plughub is
#   installed as the unit expects and plughub.sysusers and plughub.tmpfiles were applied; its bounding
#   set against the helper's capabilities in the code (HELPER_KEEPS in
#   crates/plughub-sandbox/src/privileges.rs, plus CAP_SETPCAP); the settings that would break the
#   sandbox kept out, no system call the helper needs in its SystemCallFilter= deny-list; its stop
#   timeout above plughub's shutdown deadline; `systemd-analyze security` under a threshold;
# - that bounding set in practice (as root): `plughub doctor` started with exactly that bounding set
#   starts its sandbox helper and a sandboxed worker, and the helper still fails without CAP_SETPCAP
#   (when it no longer does, the unit should drop it);
# - with PLUGHUB_CHECK_SYSTEMD=1 (about 2 minutes; as root): the unit run by a real systemd booted in a
#   container (packaging/systemd/test-in-container.sh);
# - with PLUGHUB_CHECK_IMAGE=1 (about 3 to 5 minutes; as root): the image is built
#   (packaging/image/build.sh) with the plughub built here, and `plughub doctor` and `plughub serve` are
#   run in it with Podman, on a network of its own with no interface but loopback.
# Both download Debian's packages, and install mmdebstrap, buildah and podman from them when absent.
# Not checked here: the unit on a machine booted with systemd (only in a container, opt-in), the image
# on a cgroup v2 machine. It closes with `packaging: N passed, M failed, K skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/harness.sh
harness_target

passed=0 failed=0 skipped=0
ok() {
  echo "ok: $*"
  passed=$((passed + 1))
}
fail() {
  echo "FAILED: $*"
  failed=$((failed + 1))
}
skip() {
  echo "skipped: $*"
  skipped=$((skipped + 1))
}
apt_install() { # $1: the command, $2: Debian's package
  if ! command -v "$1" >/dev/null; then
    echo "installing $2 from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  fi
}

unit=packaging/systemd/plughub.service
work=$(mktemp -d "${TMPDIR:-/tmp}/plughub-packaging.XXXXXX")
image_work=
cleanup() {
  rm -rf "$work"
  if [ -n "$image_work" ]; then
    podman rm -f plughub-packaging-check >/dev/null 2>&1 || true
    podman volume rm -f plughub-packaging-check >/dev/null 2>&1 || true
    rm -rf "$image_work"
  fi
}
trap cleanup EXIT

# PLUGHUB_BINARY: a plughub already built, instead of building one.
if [ -n "${PLUGHUB_BINARY:-}" ]; then
  plughub=$(realpath "$PLUGHUB_BINARY")
else
  cargo build --locked --quiet -p plughub
  plughub="$target/debug/plughub"
fi

# --- shellcheck -------------------------------------------------------------------------------------
apt_install shellcheck shellcheck
scripts=(scripts/check-packaging.sh packaging/helper-capabilities.sh packaging/apt-mirror.sh packaging/image/build.sh packaging/image/customize.sh packaging/systemd/test-in-container.sh)
if out=$(shellcheck -x "${scripts[@]}" 2>&1); then
  ok "shellcheck: ${scripts[*]}"
else
  fail "shellcheck:"
  echo "$out"
fi

# --- the unit's settings ----------------------------------------------------------------------------
# The value of a setting of the unit (the last one given), empty when absent.
setting() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
present() { grep -q "^$1=" "$unit"; }

expected=$({
  bash packaging/helper-capabilities.sh
  echo CAP_SETPCAP
} | sort -u)
actual=$(setting CapabilityBoundingSet | tr ' ' '\n' | sed '/^$/d' | sort -u)
if [ "$expected" = "$actual" ]; then
  ok "CapabilityBoundingSet= is the helper's capabilities (HELPER_KEEPS) and CAP_SETPCAP: $(echo "$actual" | paste -sd' ' -)"
else
  fail "CapabilityBoundingSet= differs from HELPER_KEEPS + CAP_SETPCAP: missing [$(comm -23 <(echo "$expected") <(echo "$actual") | paste -sd' ' -)], extra [$(comm -13 <(echo "$expected") <(echo "$actual") | paste -sd' ' -)]"
fi
if [ -z "$(setting AmbientCapabilities)" ]; then
  ok "AmbientCapabilities= is empty"
else
  fail "AmbientCapabilities= must stay empty: plughub execs npm, pnpm and Node"
fi

# Settings that break the sandbox or the privilege split, each with why: refused() says whether a value
# of it is one that does.
forbidden=(
  "User|the server starts as root and becomes the account itself"
  "Group|the server starts as root and becomes the account itself"
  "DynamicUser|the server starts as root and becomes the account itself"
  "ProtectControlGroups|it makes /sys/fs/cgroup read-only: no worker cgroups"
  "ProtectHostname|it denies sethostname(2), which every worker calls in its own UTS namespace"
  "RestrictNamespaces|the helper and workers make mount, net, ipc, uts, user and pid namespaces"
  "PrivateUsers|the helper's capabilities would not reach cgroups and mounts"
  "MemoryDenyWriteExecute|Node's JIT writes and executes code"
  "ProtectProc|the server reads workers' /proc/<pid>/statm"
  "ProcSubset|Node reads /proc/meminfo and /proc/cpuinfo"
  "UMask|workers (uids of their own) read installed packages as others"
  "PrivateNetwork|the server serves HTTP and reaches the npm registry"
  "RestrictSUIDSGID|its filter denies openat2(2), with which the helper opens each package to mount it"
)
refused() { # $1: setting, $2: value
  case "$1" in
  User | Group) [ -n "$2" ] ;;
  ProtectProc) [ "$2" != default ] ;;
  ProcSubset) [ "$2" = pid ] ;;
  UMask) [ $((8#${2:-22} & 8#005)) -ne 0 ] ;; # others could not read or enter
  *) ! [[ "$2" =~ ^(no|false|off|0|)$ ]] ;;
  esac
}
bad=0
for entry in "${forbidden[@]}"; do
  IFS='|' read -r name why <<<"$entry"
  if present "$name" && refused "$name" "$(setting "$name")"; then
    fail "$name=$(setting "$name") must not be set: $why"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && ok "no setting that breaks the sandbox or the privilege split (${#forbidden[@]} looked for)"

if [ "$(setting KillMode)" = mixed ]; then
  ok "KillMode=mixed: SIGTERM to the server alone, then SIGKILL to the rest"
else
  fail "KillMode= must be mixed, not '$(setting KillMode)'"
fi
deadline=$(grep -A 6 'env = "PLUGHUB_SHUTDOWN_DEADLINE"' crates/plughub/src/cli.rs | sed -n 's/.*default_value_t = \([0-9]*\).*/\1/p' | head -n 1)
stop=$(setting TimeoutStopSec | sed 's/s$//')
if [ -n "$deadline" ] && [ -n "$stop" ] && [ "$stop" -gt "$deadline" ] 2>/dev/null; then
  ok "TimeoutStopSec=${stop}s is above the default shutdown deadline (${deadline} s)"
else
  fail "TimeoutStopSec= ('$(setting TimeoutStopSec)', in seconds) must be above the shutdown deadline (${deadline:-not found in cli.rs} s)"
fi

apt_install systemd-analyze systemd
# Every system call the helper or a worker's start needs, against the groups the deny-list names.
needed="mount umount2 unshare setns pivot_root chroot sethostname setrlimit prlimit64 setresuid setresgid setgroups capset prctl seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self clone clone3 setpriority"
filter=$(setting SystemCallFilter)
if [ -n "$filter" ] && [ "${filter#\~}" = "$filter" ]; then
  fail "SystemCallFilter= must be a deny-list (~...): an allow-list denies what the helper needs"
else
  # A group's system calls, its groups' too.
  expand() {
    local item
    for item in "$@"; do
      if [ "${item#@}" != "$item" ]; then
        # shellcheck disable=SC2046 # one name a line
        expand $(systemd-analyze syscall-filter "$item" | sed -n 's/^    \([@a-z0-9_-]*\)$/\1/p')
      else
        echo "$item"
      fi
    done
  }
  # shellcheck disable=SC2086 # the list is words
  denied=$(expand ${filter#\~} | sort -u)
  clash=$(comm -12 <(echo "$denied") <(echo "$needed" | tr ' ' '\n' | sort -u) | paste -sd' ' -)
  if [ -z "$clash" ]; then
    ok "SystemCallFilter= denies none of the $(echo "$needed" | wc -w) system calls the sandbox needs ($(echo "$denied" | wc -l) denied)"
  else
    fail "SystemCallFilter= denies what the sandbox needs: $clash"
  fi
fi

# --- systemd-analyze verify, sysusers, tmpfiles, in a scratch root ----------------------------------
# The unit as shipped, with plughub where it expects it (/usr/local/bin), the machine's own units beside
# it (its dependencies), and the account and data directory made by the files shipped with it.
root="$work/root"
mkdir -p "$root/etc/systemd/system" "$root/usr/local/bin" "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$unit" "$root/etc/systemd/system/plughub.service"
ln "$plughub" "$root/usr/local/bin/plughub" 2>/dev/null || cp "$plughub" "$root/usr/local/bin/plughub"
if out=$(systemd-analyze verify --root="$root" plughub.service 2>&1) && [ -z "$out" ]; then
  ok "systemd-analyze verify: plughub.service"
else
  fail "systemd-analyze verify: plughub.service:"
  echo "$out"
fi
# Installed as the unit's header says.
mkdir -p "$root/etc/sysusers.d" "$root/etc/tmpfiles.d"
cp packaging/systemd/plughub.sysusers "$root/etc/sysusers.d/plughub.conf"
cp packaging/systemd/plughub.tmpfiles "$root/etc/tmpfiles.d/plughub.conf"
if out=$(systemd-sysusers --root="$root" plughub.conf 2>&1) &&
  account=$(grep '^plughub:' "$root/etc/passwd") &&
  out=$(systemd-tmpfiles --root="$root" --create plughub.conf 2>&1) &&
  [ "$(stat -c '%u %a' "$root/var/lib/plughub")" = "$(echo "$account" | cut -d: -f3) 750" ]; then
  ok "plughub.sysusers makes the account ($account), plughub.tmpfiles its data directory (0750, its own)"
else
  fail "plughub.sysusers / plughub.tmpfiles: $out"
fi
# The exposure score of the hardening (0 best, 10 worst); a root service that builds sandboxes cannot
# reach the scores of an unprivileged one. 5.0 is the bar: a weaker unit fails.
if out=$(systemd-analyze security --offline=yes --root="$root" --threshold=50 plughub.service 2>&1); then
  ok "systemd-analyze security: $(echo "$out" | sed -n 's/.*Overall exposure level for plughub.service: //p')"
else
  fail "systemd-analyze security over 5.0: $(echo "$out" | sed -n 's/.*Overall exposure level for plughub.service: //p')"
fi

# --- the bounding set in practice -------------------------------------------------------------------
# setpriv starts `plughub doctor` with the unit's bounding set, as systemd would (the rest of the unit's
# sandboxing needs systemd itself): the helper must start and so must a sandboxed worker.
doctor_with() { # $1: the bounding set (setpriv's form); prints doctor's JSON
  PLUGHUB_DATA_DIR="$work/doctor-data" setpriv --bounding-set "$1" --inh-caps -all -- "$plughub" doctor --json 2>/dev/null
}
if [ "$(id -u)" -ne 0 ]; then
  skip "the bounding set in practice: needs root"
elif ! command -v node >/dev/null; then
  skip "the bounding set in practice: needs Node.js"
else
  caps=$(setting CapabilityBoundingSet | tr ' ' '\n' | sed '/^$/d; s/^CAP_//' | tr '[:upper:]' '[:lower:]' | sed 's/^/+/' | paste -sd, -)
  json=$(doctor_with "-all,$caps" || true)
  if echo "$json" | grep -q '"why_not": null' && echo "$json" | grep -q '"started": true'; then
    ok "plughub doctor with the unit's bounding set: the helper and a sandboxed worker start"
  elif echo "$json" | grep -q '"started": true' || ! doctor_with "+all" | grep -q '"started": true'; then
    skip "the bounding set in practice: no sandboxed worker starts on this machine even with every capability"
  else
    fail "plughub doctor with the unit's bounding set:"
    echo "$json" | grep -E '"why_not"|"error"'
  fi
  without=$(echo "$caps" | sed 's/,+setpcap//; s/+setpcap,//')
  if doctor_with "-all,$without" | grep -q '"why_not": null'; then
    fail "the helper starts without CAP_SETPCAP now: drop it from the unit's CapabilityBoundingSet= and from this check"
  else
    ok "the helper still needs CAP_SETPCAP (to drop the rest of its bounding set)"
  fi
fi

# --- the unit under systemd (opt-in) ----------------------------------------------------------------
# What the opt-in checks need, from Debian's packages when absent (runc where crun cannot run: a cgroup v1
# machine with controllers on its v2 hierarchy).
container_tools() { # $@: the commands
  local tool
  for tool in "$@"; do apt_install "$tool" "$tool"; done
  if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then apt_install runc runc; fi
}
if [ "${PLUGHUB_CHECK_SYSTEMD:-}" != 1 ]; then
  skip "the unit under systemd: set PLUGHUB_CHECK_SYSTEMD=1 to boot systemd in a container (slow)"
elif [ "$(id -u)" -ne 0 ]; then
  skip "the unit under systemd: needs root"
else
  container_tools mmdebstrap podman
  out=$(bash packaging/systemd/test-in-container.sh "$plughub" 2>&1) || true
  echo "$out" | grep -vE '^(ok|FAILED):' || true
  while IFS= read -r line; do
    case "$line" in
    ok:*) ok "under systemd: ${line#ok: }" ;;
    FAILED:*) fail "under systemd: ${line#FAILED: }" ;;
    esac
  done <<<"$out"
  echo "$out" | grep -qE '^ok:' || fail "the unit under systemd: no check ran"
fi

# --- the image (opt-in) -----------------------------------------------------------------------------
if [ "${PLUGHUB_CHECK_IMAGE:-}" != 1 ]; then
  skip "the image: set PLUGHUB_CHECK_IMAGE=1 to build it (slow)"
elif [ "$(id -u)" -ne 0 ]; then
  skip "the image: needs root"
else
  container_tools mmdebstrap buildah podman
  image_work=$(mktemp -d "${TMPDIR:-/var/tmp}/plughub-image-check.XXXXXX")
  image=localhost/plughub:packaging-check
  # The debug build, without its debugging sections: what is checked is the packaging, not the binary.
  strip -o "$image_work/plughub" "$plughub"
  start=$(date +%s)
  if PLUGHUB_IMAGE=$image bash packaging/image/build.sh "$image_work/plughub" >"$image_work/build.log" 2>&1; then
    ok "the image builds: $(tail -n 1 "$image_work/build.log")"
  else
    fail "the image does not build (after $(($(date +%s) - start)) s):"
    tail -n 30 "$image_work/build.log"
  fi
  if buildah images -q "$image" >/dev/null 2>&1; then
    caps=$(setting CapabilityBoundingSet | tr ' ' '\n' | sed '/^$/d; s/^CAP_//' | paste -sd, -)
    # Within this machine's hard limits where they are below Podman's defaults.
    limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=32768:32768")
    runtime=()
    # crun refuses a cgroup v1 hierarchy mixed with v2 controllers; runc takes it.
    if ! podman run --rm --network=none "${limits[@]}" --entrypoint /usr/local/bin/plughub "$image" --version >/dev/null 2>&1 &&
      command -v runc >/dev/null; then
      runtime=(--runtime runc)
    fi
    run=(podman "${runtime[@]}" run --network=none "${limits[@]}" --cap-drop=all "--cap-add=$caps")
    json=$("${run[@]}" --rm --entrypoint /usr/local/bin/plughub "$image" doctor --json 2>/dev/null || true)
    if echo "$json" | grep -q '"why_not": null' && echo "$json" | grep -q '"started": true'; then
      ok "plughub doctor in the image with the helper's capabilities: a sandboxed worker starts (cgroup: $(echo "$json" | sed -n 's/.*"cgroup": \(.*\),$/\1/p'))"
    else
      fail "plughub doctor in the image:"
      echo "$json" | grep -E '"why_not"|"error"' || echo "no answer"
    fi
    ready=
    if "${run[@]}" -d --name plughub-packaging-check -v plughub-packaging-check:/var/lib/plughub "$image" --no-sync >/dev/null; then
      for _ in $(seq 1 60); do
        if podman exec plughub-packaging-check node -e "fetch('http://127.0.0.1:8080/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null; then
          ready=1
          break
        fi
        sleep 1
      done
    fi
    if [ -n "$ready" ] && podman top plughub-packaging-check user comm | awk '$1 == "plughub" && $2 == "plughub" { found = 1 } END { exit !found }'; then
      ok "plughub serve in the image: /readyz answers 200, the server runs as plughub beside its helper"
    else
      fail "plughub serve in the image did not become ready:"
      podman logs plughub-packaging-check 2>&1 | tail -n 20 || true
    fi
    if podman stop -t 45 plughub-packaging-check >/dev/null 2>&1 &&
      [ "$(podman inspect plughub-packaging-check --format '{{.State.ExitCode}}')" = 0 ]; then
      ok "plughub serve in the image stops on SIGTERM with exit code 0"
    else
      fail "plughub serve in the image did not stop cleanly"
    fi
    podman rmi -f "$image" >/dev/null 2>&1 || true
  fi
fi

echo "packaging: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
