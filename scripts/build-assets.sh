#!/usr/bin/env bash
# Installs the portal's static assets from the npm registry (package-lock.json) and copies the
# files the pages use into src/rus/portal/static/vendor/ (git-ignored). Served locally: no CDN.
# Idempotent; the portal still starts without them (with a warning, and no map widget).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=src/rus/portal/static/vendor
if ! command -v npm >/dev/null 2>&1; then
  echo "build-assets: npm not found; the portal will run without vendor assets" >&2
  exit 0
fi
if [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi
NM=node_modules
tmp="$(mktemp -d "${DEST%/*}/.vendor.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/leaflet/images" "$tmp/leaflet-draw/images" "$tmp/pico" "$tmp/htmx" "$tmp/swagger-ui"
cp "$NM/@picocss/pico/css/pico.min.css" "$tmp/pico/"
cp "$NM/htmx.org/dist/htmx.min.js" "$tmp/htmx/"
cp "$NM/leaflet/dist/leaflet.js" "$NM/leaflet/dist/leaflet.css" "$tmp/leaflet/"
cp "$NM"/leaflet/dist/images/* "$tmp/leaflet/images/"
cp "$NM/leaflet-draw/dist/leaflet.draw.js" "$NM/leaflet-draw/dist/leaflet.draw.css" "$tmp/leaflet-draw/"
cp "$NM"/leaflet-draw/dist/images/* "$tmp/leaflet-draw/images/"
cp "$NM/swagger-ui-dist/swagger-ui-bundle.js" "$NM/swagger-ui-dist/swagger-ui.css" "$tmp/swagger-ui/"
for pkg in @picocss/pico htmx.org leaflet leaflet-draw swagger-ui-dist; do
  node -e "const p=require('./$NM/$pkg/package.json');console.log(p.name+' '+p.version+' '+p.license)"
done > "$tmp/VERSIONS.txt"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "build-assets: vendor assets in $DEST:"
cat "$DEST/VERSIONS.txt"
