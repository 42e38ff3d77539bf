#!/usr/bin/env bash
# setup.sh - installs what the google-authenticator-libpam shim needs from Debian's packages:
#   libpam-google-authenticator  the PAM module itself (pam_google_authenticator.so)
#   libpam0g-dev, gcc, libc6-dev  build pamcheck.c, which drives one login through PAM
#   python3                       runs verifier.py (standard library only)
# Idempotent and non-interactive: installs only what is missing, and runs
# apt-get update only when something must be installed. Needs root (or sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for pkg in python3 gcc libc6-dev libpam0g-dev libpam-google-authenticator; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "google-authenticator-libpam shim: all packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup.sh: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "google-authenticator-libpam shim: installing ${missing[*]}"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "google-authenticator-libpam shim: installed ${missing[*]}"
