#!/usr/bin/env bash
# Copies the built front-end assets from node_modules/ into app/static/vendor/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@uswds/uswds ] || npm ci --no-audit --no-fund
dest=app/static/vendor
rm -rf "$dest"
mkdir -p "$dest/uswds" "$dest/socket.io"
cp -r node_modules/@uswds/uswds/dist/{css,fonts,img,js} "$dest/uswds/"
cp node_modules/socket.io-client/dist/socket.io.min.js{,.map} "$dest/socket.io/"
echo "vendor assets copied into $dest"
