#!/usr/bin/env bash
# mmdebstrap's customize hook for plughub's image (packaging/image/build.sh runs it): puts plughub into
# the root file system ROOT that Debian's packages were installed in.
#   customize.sh ROOT PLUGHUB_BINARY
set -euo pipefail
root=$1
binary=$2
here=$(cd "$(dirname "$0")" && pwd)
# The account plughub serve becomes once its sandbox helper runs: uid and gid 65532, the id plughub falls
# back to anyway, which no Debian account has. Written directly: the `passwd` tools are not in the image.
id=65532
if ! grep -q '^plughub:' "$root/etc/passwd"; then
  echo "plughub:x:$id:$id:plughub server:/var/lib/plughub:/usr/sbin/nologin" >>"$root/etc/passwd"
  echo "plughub:x:$id:" >>"$root/etc/group"
  echo "plughub:!*:20000::::::" >>"$root/etc/shadow"
  echo "plughub:!::" >>"$root/etc/gshadow"
fi
install -m 0755 "$binary" "$root/usr/local/bin/plughub"
install -d -m 0755 "$root/etc/plughub"
install -m 0644 "$here/plughub.toml" "$root/etc/plughub/plughub.toml"
# The data directory: the account's, closed to others (workers reach what they need through the mounts
# the sandbox helper makes). A volume in the image's configuration.
install -d -m 0750 -o "$id" -g "$id" "$root/var/lib/plughub"
# What the package manager leaves that an image does not need (mmdebstrap already empties apt's lists and
# cache): its logs, dpkg's backups of its databases.
rm -f "$root"/var/log/apt/* "$root/var/log/dpkg.log" "$root/var/log/alternatives.log" \
  "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
