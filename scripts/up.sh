#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running product on loopback with the offline default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
[ -f .env ] || { cp .env.example .env; echo "up: created .env from .env.example (loopback-only defaults)"; }
exec npm start
