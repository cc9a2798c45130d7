#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when they are missing.
# Runs as root on CI and developer machines; prints what it does.
set -euo pipefail
need=()
# (package : command that proves it is installed)
check() { command -v "$2" >/dev/null 2>&1 || need+=("$1"); }
# Add packages here as the test suite needs them, e.g.: check postgresql /usr/lib/postgresql/15/bin/postgres
for spec in ${RUS_SYSTEM_PACKAGES:-}; do check "${spec%%:*}" "${spec#*:}"; done
if [ -f scripts/system-packages.txt ]; then
  while read -r pkg probe; do
    [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ] && continue
    if [ -n "$probe" ]; then
      [ -e "$probe" ] || command -v "$probe" >/dev/null 2>&1 || need+=("$pkg")
    else
      dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    fi
  done < scripts/system-packages.txt
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "system-deps: all present"
fi
