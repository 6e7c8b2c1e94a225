#!/usr/bin/env bash
# Runs plughub.service under a real systemd: a Debian root file system with systemd (mmdebstrap, from
# the mirror of this machine's apt), booted in a privileged Podman container with no network but
# loopback, with the unit, plughub.sysusers and plughub.tmpfiles installed as the unit's header says.
# Checks that:
# - `plughub doctor`, run by a copy of the unit (every hardening line kept, ExecStart= alone changed),
#   starts its sandbox helper and a sandboxed worker;
# - the unit itself starts: /readyz answers 200, the server runs as `plughub` with no capability and
#   no-new-privs, the helper keeps its capabilities; `systemctl stop` ends it within TimeoutStopSec=
#   with success;
# - the settings the unit leaves out on purpose do break the sandbox (ProtectHostname=yes,
#   RestrictSUIDSGID=yes, RestrictNamespaces=yes, ProtectControlGroups=yes, MemoryDenyWriteExecute=yes).
#
#   packaging/systemd/test-in-container.sh PLUGHUB_BINARY
#
# As root, with mmdebstrap, podman and runc or crun. Debian bookworm by default
# (PLUGHUB_SYSTEMD_TEST_SUITE): its systemd 252 still boots on a cgroup v1 machine, which trixie's does
# not; Node.js is this machine's when it is 20 or later and needs only the C and C++ runtimes, else
# Debian's. Prints one `ok:`/`FAILED:` line a check and exits non-zero when one failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=$(realpath "${1:?usage: test-in-container.sh PLUGHUB_BINARY}")
suite=${PLUGHUB_SYSTEMD_TEST_SUITE:-bookworm}
name=plughub-systemd-test
image=localhost/$name:latest
failed=0
ok() { echo "ok: $*"; }
fail() {
  echo "FAILED: $*"
  failed=1
}

. "$repo/packaging/apt-mirror.sh"
mirror=${PLUGHUB_IMAGE_MIRROR:-$(apt_mirror Debian)}
security=${PLUGHUB_IMAGE_SECURITY_MIRROR:-$(apt_mirror Debian-Security)}
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main")
[ -n "$security" ] && sources+=("deb $security $suite-security main")

work=$(mktemp -d "${TMPDIR:-/var/tmp}/plughub-systemd-test.XXXXXX")
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# This machine's Node.js when it is 20 or later and links nothing but the C and C++ runtimes.
packages=systemd,systemd-sysv,dbus,ca-certificates,libstdc++6
node=$(command -v node || true)
if [ -z "$node" ] || [ "$("$node" -p 'process.versions.node.split(".")[0]')" -lt 20 ] ||
  ldd "$node" | grep -vqE 'linux-vdso|ld-linux|lib(c|m|dl|pthread|rt|stdc\+\+|gcc_s)\.so'; then
  node=
  packages+=,nodejs
fi

# The unit's files where the unit's header installs them, a copy of it that runs doctor once, and a
# configuration with no catalogue sync (the container has no network).
cat >"$work/hook.sh" <<EOF
#!/bin/sh
set -e
root=\$1
install -m 0755 '$binary' "\$root/usr/local/bin/plughub"
[ -z '$node' ] || install -m 0755 '$node' "\$root/usr/local/bin/node"
install -d "\$root/etc/sysusers.d" "\$root/etc/tmpfiles.d" "\$root/etc/plughub"
install -m 0644 '$repo/packaging/systemd/plughub.service' "\$root/etc/systemd/system/plughub.service"
install -m 0644 '$repo/packaging/systemd/plughub.sysusers' "\$root/etc/sysusers.d/plughub.conf"
install -m 0644 '$repo/packaging/systemd/plughub.tmpfiles' "\$root/etc/tmpfiles.d/plughub.conf"
printf '[catalog]\nsync = false\n' >"\$root/etc/plughub/plughub.toml"
ln -sf /dev/null "\$root/etc/systemd/system/console-getty.service"
EOF
chmod +x "$work/hook.sh"
start=$(date +%s)
mmdebstrap --variant=apt --format=tar --quiet --aptopt='APT::Install-Recommends "false"' \
  --include="$packages" --customize-hook="$work/hook.sh \"\$1\"" \
  "$suite" "$work/rootfs.tar" "${sources[@]}"
podman import --quiet "$work/rootfs.tar" "$image" >/dev/null
echo "root file system with systemd ($suite) in $(($(date +%s) - start)) s"

# crun refuses a cgroup v1 machine with controllers on its v2 hierarchy; runc takes it. Within this
# machine's hard limits where they are below Podman's defaults.
runtime=()
if podman info --format '{{.Host.CgroupsVersion}}' | grep -q v1 && command -v runc >/dev/null; then
  runtime=(--runtime runc)
fi
podman "${runtime[@]}" run -d --name "$name" --privileged --systemd=always --network=none \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768 "$image" /sbin/init >/dev/null
inside() { podman exec "$name" "$@"; }
for _ in $(seq 1 60); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 1
done
echo "systemd $(inside systemctl --version | head -n 1 | awk '{ print $2 }') in the container: $state"

# A copy of the unit that runs doctor once, with lines added ($2...); prints doctor's JSON.
doctor_unit() {
  local unit=$1
  shift
  sed -e 's|^Type=exec|Type=oneshot|' -e '/^ExecStartPre=/d' -e '/^Restart=/d' \
    -e 's|^ExecStart=/usr/local/bin/plughub serve$|ExecStart=/usr/local/bin/plughub doctor --json|' \
    "$repo/packaging/systemd/plughub.service" | awk -v extra="$(printf '%s\n' "$@")" \
    '/^\[Install\]/ && extra != "" { print extra } { print }' >"$work/$unit.service"
  podman cp "$work/$unit.service" "$name:/etc/systemd/system/$unit.service"
  inside systemctl daemon-reload
  inside systemctl start "$unit.service" >/dev/null 2>&1 || true
  inside journalctl -u "$unit" -o cat --no-pager
}
json=$(doctor_unit plughub-doctor)
if echo "$json" | grep -q '"why_not": null' && echo "$json" | grep -q '"started": true'; then
  ok "plughub doctor under the unit: the helper and a sandboxed worker start"
else
  fail "plughub doctor under the unit: $(echo "$json" | grep -E '"why_not"|"error"' | tr -s ' \n' ' ')"
fi
n=0
for setting in ProtectHostname=yes RestrictSUIDSGID=yes RestrictNamespaces=yes ProtectControlGroups=yes MemoryDenyWriteExecute=yes; do
  n=$((n + 1))
  if doctor_unit "plughub-doctor-$n" "$setting" | grep -q '"started": true'; then
    fail "$setting does not break the sandbox (any more): the unit's comments and scripts/check-packaging.sh say it does"
  else
    ok "$setting stops workers from starting, as the unit says"
  fi
done

inside systemctl start plughub.service || true
ready=
for _ in $(seq 1 30); do
  if inside /bin/sh -c "node -e \"fetch('http://127.0.0.1:8080/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))\"" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 1
done
main=$(inside systemctl show -p MainPID --value plughub)
status=$(inside cat "/proc/$main/status" 2>/dev/null || true)
if [ -n "$ready" ] && echo "$status" | grep -q '^CapEff:[[:space:]]*0*$' &&
  echo "$status" | grep -q '^NoNewPrivs:[[:space:]]*1' &&
  [ "$(echo "$status" | awk '/^Uid:/ { print $2 }')" = "$(inside id -u plughub)" ]; then
  ok "plughub.service: /readyz answers 200; the server runs as plughub, no capability, no-new-privs"
else
  fail "plughub.service did not start as it should:"
  inside systemctl status plughub --no-pager || true
fi
start=$(date +%s)
inside systemctl stop plughub.service
if [ "$(inside systemctl show -p Result --value plughub)" = success ]; then
  ok "plughub.service stops with success in $(($(date +%s) - start)) s"
else
  fail "plughub.service stopped with $(inside systemctl show -p Result --value plughub)"
fi
exit "$failed"
