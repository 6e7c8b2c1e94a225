#!/usr/bin/env bash
# Prints the capabilities plughub's sandbox helper keeps, one a line (CAP_CHOWN, ...), read from their
# source of truth, HELPER_KEEPS in crates/plughub-sandbox/src/privileges.rs, so that the systemd unit's
# bounding set (scripts/check-packaging.sh) and the image's label (packaging/image/build.sh) cannot drift
# from the code. Fails when the list cannot be found.
set -euo pipefail
source_file="$(cd "$(dirname "$0")/.." && pwd)/crates/plughub-sandbox/src/privileges.rs"
caps=$(awk '/^const HELPER_KEEPS/ { inside = 1; next }
            inside && /^\];/ { exit }
            inside { while (match($0, /"CAP_[A-Z_]+"/)) { print substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH) } }' "$source_file")
if [ -z "$caps" ]; then
  echo "no HELPER_KEEPS list found in $source_file" >&2
  exit 1
fi
printf '%s\n' "$caps"
