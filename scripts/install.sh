#!/usr/bin/env bash
# Installs everything the product and its tests need on Debian 12 with Node 20: Debian packages listed in
# scripts/apt-packages.txt, npm dependencies from the lockfile, the admin web app, and the local AI server's native
# helper.
# Idempotent: safe to run again after an update.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install: run as root (it installs Debian packages)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

mapfile -t packages < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt | sort -u)
missing=()
for p in "${packages[@]}"; do
  # A host that already runs Docker (Docker CE's docker-ce conflicts with Debian's docker.io) keeps its own: the
  # tests only need a dockerd binary.
  if [ "$p" = docker.io ] && command -v dockerd >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "install: npm dependencies"
npm ci --no-audit --no-fund --loglevel=error

echo "install: admin web app (Vite build into admin-ui/dist/web)"
npm run --silent build -w admin-ui

if [ -f local-ai-server/package.json ] && node -e 'process.exit(require("./local-ai-server/package.json").scripts?.build ? 0 : 1)'; then
  echo "install: local AI server native helper and channel transform"
  npm run --silent build -w local-ai-server
fi
echo "install: done"
