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
# Debian packages and npm dependencies install side by side (one mostly waits on dpkg, the other on compilers):
# nothing npm builds needs a package from the list, only the local AI server's helper below does.
apt_pid=
apt_log=$(mktemp)
# Some packages are servers only the tests run, each on loopback with its own settings (nginx, Caddy, HAProxy,
# PostgreSQL, Docker): installing them must not leave a web server on port 80 of every interface of a PBX host.
# Debian's policy-rc.d (exit 101: "action forbidden") keeps their services from starting during the install, and
# the test-only ones are disabled afterwards; a policy-rc.d the host already has is left as it is.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: Debian packages: ${missing[*]}"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  (
    set +e
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    status=$?
    if [ -n "$own_policy" ]; then rm -f "$policy"; fi
    if [ -d /run/systemd/system ]; then systemctl disable --now nginx caddy haproxy postgresql 2>/dev/null || true; fi
    exit $status
  ) >"$apt_log" 2>&1 &
  apt_pid=$!
fi

echo "install: npm dependencies"
npm ci --no-audit --no-fund --loglevel=error

echo "install: admin web app (Vite build into admin-ui/dist/web)"
npm run --silent build -w admin-ui

echo "install: services (compiled into each workspace's dist/; npm start and npm test refresh it)"
node scripts/build-services.mjs

if [ -n "$apt_pid" ] && ! wait "$apt_pid"; then
  cat "$apt_log" >&2
  echo "install: installing the Debian packages failed (output above)" >&2
  exit 1
fi
rm -f "$apt_log"

if [ -f local-ai-server/package.json ] && node -e 'process.exit(require("./local-ai-server/package.json").scripts?.build ? 0 : 1)'; then
  echo "install: local AI server native helper and channel transform"
  npm run --silent build -w local-ai-server
fi
echo "install: done"
