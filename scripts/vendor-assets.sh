#!/usr/bin/env bash
# Copies the built front-end assets from node_modules/ into app/static/vendor/ (git-ignored), and
# builds the USWDS stylesheet the pages load: only the rules whose classes the templates and the
# browser modules use (PurgeCSS, scripts/purgecss.config.cjs). The full stylesheet is ~527 KB,
# the subset ~60 KB. `make run` and `make test` run it each time, so a class added to a template
# is in the stylesheet at the next start.
# PURGECSS may name another purgecss executable (default: the pinned one in node_modules/.bin).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@uswds/uswds ] && [ -d node_modules/altcha ] && { [ -e node_modules/.bin/purgecss ] || [ -n "${PURGECSS:-}" ]; } \
  || npm ci --no-audit --no-fund
purgecss="${PURGECSS:-node_modules/.bin/purgecss}"
dest=app/static/vendor
rm -rf "$dest"
mkdir -p "$dest/uswds/css" "$dest/socket.io" "$dest/altcha/workers"
cp -r node_modules/@uswds/uswds/dist/{fonts,img,js} "$dest/uswds/"
# PurgeCSS 8 drops "a:where(:not(.usa-button))" (link colours inside .usa-form) even when both
# classes are used: such rules (a dozen) are marked to be kept as they are.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -E 's/(:where\(:not\([^{}]*\{)/\1\/* purgecss ignore current *\//g' \
  node_modules/@uswds/uswds/dist/css/uswds.min.css >"$work/uswds.min.css"
"$purgecss" --config scripts/purgecss.config.cjs --css "$work/uswds.min.css" --output "$dest/uswds/css/"
# The subset no longer matches USWDS's source map: drop the comment that points to it.
sed -i 's@/\*# sourceMappingURL=[^*]*\*/@@' "$dest/uswds/css/uswds.min.css"
cp node_modules/socket.io-client/dist/socket.io.min.js{,.map} "$dest/socket.io/"
# ALTCHA's build for a strict CSP: no inline styles, its proof-of-work worker a file of its own.
cp node_modules/altcha/dist/external/altcha.{min.js,css} "$dest/altcha/"
cp node_modules/altcha/dist/workers/sha.js "$dest/altcha/workers/"
echo "vendor assets copied into $dest ($(wc -c <"$dest/uswds/css/uswds.min.css") bytes of USWDS CSS in use)"
