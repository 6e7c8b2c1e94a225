# Sourced (packaging/image/build.sh, packaging/systemd/test-in-container.sh): apt_mirror LABEL prints
# the mirror this machine's apt uses for Debian's archive (LABEL Debian) or its security archive
# (Debian-Security), found by the labels of their Release files, else by the URIs of the apt sources.
# shellcheck shell=bash
apt_mirror() { # $1: the Release file's label (Debian, Debian-Security)
  local uri
  # shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
  uri=$(apt-get indextargets --format '$(LABEL) $(REPO_URI)' 'Created-By: Packages' 2>/dev/null |
    awk -v label="$1" '$1 == label { print $2; exit }')
  if [ -z "$uri" ]; then
    local pattern='/debian/?$'
    [ "$1" = Debian-Security ] && pattern='/debian-security/?$'
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i } /^deb / { print ($2 ~ /^\[/) ? $3 : $2 }' |
      grep -E "$pattern" | head -n 1 || true)
  fi
  printf '%s' "${uri%/}"
}
