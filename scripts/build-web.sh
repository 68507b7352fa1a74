#!/usr/bin/env bash
# Builds the web dashboard: web/ (Vite project) → web/dist, which the binary embeds and serves at `/`.
# Idempotent: `npm ci` installs exactly package-lock.json, `vite build` empties and rewrites web/dist.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-web.sh: '$tool' is missing: install Node.js 20 and npm (e.g. apt-get install nodejs npm) to build the dashboard" >&2
    exit 1
  }
done
cd "$ROOT/web"
npm ci --no-audit --no-fund
npx --no-install vite build
echo "build-web.sh: dashboard built in $ROOT/web/dist"
