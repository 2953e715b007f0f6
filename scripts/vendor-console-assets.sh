#!/usr/bin/env bash
# Copies the parts of Det Fælles Designsystem (npm package `dkfds`) that the caseworker
# console uses into src/console/assets/dkfds/, and axe-core's axe.min.js into
# tests/console_support/ for the accessibility check. The copied files are committed and
# embedded in the binary (src/console/assets.rs), so neither a build nor a run needs npm.
#
# Copied from dkfds 11.2.0 and axe-core 4.14.1:
#     scripts/vendor-console-assets.sh 11.2.0 4.14.1
set -euo pipefail
DKFDS_VERSION="${1:-11.2.0}"
AXE_VERSION="${2:-4.14.1}"
cd "$(dirname "$0")/.."
repo="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund \
    "dkfds@$DKFDS_VERSION" "axe-core@$AXE_VERSION" >/dev/null)

src="$work/node_modules/dkfds/dist"
dst="$repo/src/console/assets/dkfds"
rm -rf "$dst"
mkdir -p "$dst/css" "$dst/fonts/IBMPlexSans/complete/woff2" "$dst/img/svg-icons"
cp "$src/css/dkfds.min.css" "$dst/css/"
for face in Regular Medium SemiBold Bold; do
    cp "$src/fonts/IBMPlexSans/complete/woff2/IBMPlexSans-$face.woff2" \
        "$dst/fonts/IBMPlexSans/complete/woff2/"
done
# The icons the console's components draw (the CSS names many more; the rest are not served).
for icon in error info success warning check chevron-down chevron-right close print; do
    cp "$src/img/svg-icons/$icon.svg" "$dst/img/svg-icons/"
done
cp "$work/node_modules/dkfds/LICENSE.md" "$dst/LICENSE.md"
echo "dkfds $DKFDS_VERSION (npm), dist/ subset copied by scripts/vendor-console-assets.sh" > "$dst/VERSION"

axe="$repo/tests/console_support/axe"
rm -rf "$axe"
mkdir -p "$axe"
cp "$work/node_modules/axe-core/axe.min.js" "$axe/"
cp "$work/node_modules/axe-core/LICENSE" "$axe/LICENSE"
echo "axe-core $AXE_VERSION (npm), copied by scripts/vendor-console-assets.sh" > "$axe/VERSION"
