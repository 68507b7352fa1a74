#!/usr/bin/env bash
# Builds the web dashboard: web/ (Vite project) → web/dist, which the binary embeds and serves at `/`.
# Idempotent: `npm ci` installs exactly package-lock.json, `vite build` empties and rewrites web/dist.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-web.sh: '$tool' is missing: install Node.js >= 20.19 with npm (Debian 12's nodejs package is too old) to build the dashboard" >&2
    exit 1
  }
done
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "build-web.sh: Node.js $(node --version) is too old for Vite 7: install Node.js >= 20.19" >&2
  exit 1
}
cd "$ROOT/web"
npm ci --no-audit --no-fund
npx --no-install vite build
echo "build-web.sh: dashboard built in $ROOT/web/dist"
