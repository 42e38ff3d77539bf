#!/usr/bin/env bash
# setup.sh - installs what the django-otp shim needs from Debian's packages:
#   python3, python3-django-otp  Debian's Python and django-otp (with Django)
# Idempotent and non-interactive: installs only what is missing, and runs
# apt-get update only when something must be installed. Needs root (or sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for pkg in python3 python3-django-otp; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "django-otp shim: all packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup.sh: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "django-otp shim: installing ${missing[*]}"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "django-otp shim: installed ${missing[*]}"
