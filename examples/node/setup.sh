#!/usr/bin/env bash
# Installs what examples/node needs on a Debian machine: Node.js and npm
# (Debian packages, if missing) and the one npm package of package-lock.json
# (lossless-json), with npm ci.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
npm ci --no-audit --no-fund --silent
node -e 'require("lossless-json")' || { echo "examples/node: lossless-json did not install" >&2; exit 1; }
echo "examples/node: $(node --version), lossless-json $(node -p 'JSON.parse(require("fs").readFileSync("node_modules/lossless-json/package.json", "utf8")).version')"
