#!/usr/bin/env bash
# Copies the built front-end assets from node_modules/ into app/static/vendor/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@uswds/uswds ] && [ -d node_modules/altcha ] || npm ci --no-audit --no-fund
dest=app/static/vendor
rm -rf "$dest"
mkdir -p "$dest/uswds" "$dest/socket.io" "$dest/altcha/workers"
cp -r node_modules/@uswds/uswds/dist/{css,fonts,img,js} "$dest/uswds/"
cp node_modules/socket.io-client/dist/socket.io.min.js{,.map} "$dest/socket.io/"
# ALTCHA's build for a strict CSP: no inline styles, its proof-of-work worker a file of its own.
cp node_modules/altcha/dist/external/altcha.{min.js,css} "$dest/altcha/"
cp node_modules/altcha/dist/workers/sha.js "$dest/altcha/workers/"
echo "vendor assets copied into $dest"
