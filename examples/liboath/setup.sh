#!/usr/bin/env bash
# setup.sh - installs what the liboath shim needs from Debian's packages:
#   liboath0  the library itself (liboath.so.0, what pam_oath links)
#   oathtool  the command-line tool, handy for computing codes by hand
#   python3   runs verifier.py (standard library only)
#   gcc, libc6-dev  build timeshim.c, which feeds the request's time to liboath
# Idempotent and non-interactive: installs only what is missing, and runs
# apt-get update only when something must be installed. Needs root (or sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
# The library's package is liboath0 on Debian 12 and liboath0t64 from Debian 13.
if ! ldconfig -p 2>/dev/null | grep -q 'liboath\.so\.0 '; then
  missing+=(LIBOATH)
fi
for pkg in oathtool python3 gcc libc6-dev; do
  installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "liboath shim: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup.sh: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi

$sudo apt-get update -qq
for i in "${!missing[@]}"; do
  if [ "${missing[$i]}" = LIBOATH ]; then
    if apt-cache show liboath0t64 >/dev/null 2>&1; then missing[$i]=liboath0t64; else missing[$i]=liboath0; fi
  fi
done
echo "liboath shim: installing ${missing[*]}"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "liboath shim: installed ${missing[*]}"
