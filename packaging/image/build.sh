#!/usr/bin/env bash
# Builds plughub's container image with no base image pulled from anywhere: the root file system is made
# from Debian's packages with mmdebstrap (from the Debian mirror of this machine's apt configuration),
# then turned into an image with buildah. Run as root (mmdebstrap's root mode, buildah's own storage).
#
#   packaging/image/build.sh [PLUGHUB_BINARY]
#
# Without PLUGHUB_BINARY, plughub is built with `cargo build --release --locked -p plughub` (in
# CARGO_TARGET_DIR if set). The environment may set:
#   PLUGHUB_IMAGE         the image's name                    (localhost/plughub:latest)
#   PLUGHUB_IMAGE_SUITE   the Debian release of the image     (trixie: Node.js 20; bookworm's is 18, which
#                                                              lacks the permission model workers use)
#   PLUGHUB_IMAGE_FORMAT  oci or docker (docker keeps the HEALTHCHECK, which OCI images cannot carry)
#   PLUGHUB_IMAGE_MIRROR, PLUGHUB_IMAGE_SECURITY_MIRROR
#                         Debian's mirror and its security mirror (default: those apt uses here)
#   PLUGHUB_IMAGE_ROOTFS  also keep the root file system's tarball at this path
# Needs: mmdebstrap and buildah (apt-get install mmdebstrap buildah). docs/operator-guide.md, "Packaging",
# says how to run the image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

image=${PLUGHUB_IMAGE:-localhost/plughub:latest}
suite=${PLUGHUB_IMAGE_SUITE:-trixie}
format=${PLUGHUB_IMAGE_FORMAT:-oci}
case "$format" in oci | docker) ;; *)
  echo "PLUGHUB_IMAGE_FORMAT must be oci or docker, not $format" >&2
  exit 2
  ;;
esac

for tool in mmdebstrap buildah; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is missing: apt-get install mmdebstrap buildah" >&2
    exit 1
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: mmdebstrap's root mode and buildah's storage need it" >&2
  exit 1
fi

# The Debian mirror and security mirror apt is configured with here.
. "$repo/packaging/apt-mirror.sh"
mirror=${PLUGHUB_IMAGE_MIRROR:-$(apt_mirror Debian)}
security=${PLUGHUB_IMAGE_SECURITY_MIRROR:-$(apt_mirror Debian-Security)}
if [ -z "$mirror" ]; then
  echo "no Debian mirror in apt's configuration (run apt-get update?): set PLUGHUB_IMAGE_MIRROR" >&2
  exit 1
fi
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main")
[ -n "$security" ] && sources+=("deb $security $suite-security main")

binary=${1:-}
if [ -z "$binary" ]; then
  target=${CARGO_TARGET_DIR:-$repo/target}
  (cd "$repo" && cargo build --release --locked -p plughub)
  binary=$target/release/plughub
fi
binary=$(realpath "$binary")
version=$("$binary" --version | awk '{ print $2 }')
# The capabilities the sandbox helper keeps, from the code (HELPER_KEEPS), and CAP_SETPCAP, which it needs
# to drop the others from its bounding set.
caps=$({
  bash "$repo/packaging/helper-capabilities.sh"
  echo CAP_SETPCAP
} | sed 's/^CAP_//' | paste -sd, -)

work=$(mktemp -d "${TMPDIR:-/var/tmp}/plughub-image.XXXXXX")
container=
cleanup() {
  [ -n "$container" ] && buildah rm "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck disable=SC2016 # "$1" is for mmdebstrap, which gives the hook the root's path
hook=$(printf '%q "$1" %q' "$here/customize.sh" "$binary")
echo "== root file system: Debian $suite from $mirror (security: ${security:-none}), plughub $version"
start=$(date +%s)
# --variant=apt: the Essential packages and apt (to extend the image later), then the image's own:
# Node.js and npm (workers run in Node; plughub fetches pnpm with npm), the CA certificates (plughub's
# TLS uses the system's roots), tini (PID 1: forwards SIGTERM to plughub serve and reaps orphans).
# Documentation and translations are left out, copyright files kept.
mmdebstrap --variant=apt --format=tar --quiet \
  --aptopt='APT::Install-Recommends "false"' \
  --include=ca-certificates,nodejs,npm,tini \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook="$hook" \
  "$suite" "$work/rootfs.tar" "${sources[@]}"
echo "root file system: $(du -h "$work/rootfs.tar" | cut -f1) in $(($(date +%s) - start)) s"
if [ -n "${PLUGHUB_IMAGE_ROOTFS:-}" ]; then
  cp "$work/rootfs.tar" "$PLUGHUB_IMAGE_ROOTFS"
fi

echo "== image $image ($format)"
container=$(buildah from scratch)
buildah add --quiet "$container" "$work/rootfs.tar" /
config=(
  --os linux
  --arch "$(dpkg --print-architecture)"
  --entrypoint '["/usr/bin/tini", "--", "/usr/local/bin/plughub", "serve"]'
  --cmd ''
  --workingdir /var/lib/plughub
  --port 8080/tcp
  --volume /var/lib/plughub
  --stop-signal SIGTERM
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  --env LANG=C.UTF-8
  --label org.opencontainers.image.title=plughub
  --label "org.opencontainers.image.description=plughub, a plugin platform for elizaOS agents"
  --label "org.opencontainers.image.version=$version"
  --label "org.opencontainers.image.base.name=debian:$suite (mmdebstrap)"
  # Read by people and scripts, not by podman: the container must be started as root with these
  # capabilities (the sandbox helper's, and CAP_SETPCAP to drop the rest), and gets per-worker cgroups
  # only where its cgroup is writable. docs/operator-guide.md, "Packaging".
  --label "io.plughub.sandbox.capabilities=$caps"
  --label "io.plughub.run=podman run -d --name plughub --cap-drop=all --cap-add=$caps --stop-timeout=45 --memory=4g -p 127.0.0.1:8080:8080 -v plughub:/var/lib/plughub IMAGE"
)
if [ "$format" = docker ]; then
  # Node is in the image: it asks /readyz (200 ready, 503 not).
  config+=(--healthcheck "CMD node -e \"fetch('http://127.0.0.1:8080/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))\""
    --healthcheck-interval 30s --healthcheck-timeout 5s --healthcheck-start-period 60s --healthcheck-retries 3)
fi
buildah config "${config[@]}" "$container"
buildah commit --quiet --format "$format" --rm "$container" "$image" >/dev/null
container=
echo "image $image: $(buildah images --format '{{.Size}}' "$image" | head -n 1), built in $(($(date +%s) - start)) s"
