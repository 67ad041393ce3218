#!/usr/bin/env bash
# `make release [VERSION=x.y.z] [VERSION_SUFFIX=-rc1]`: builds the offline release bundle
# dist/kyc-appliance-<version>.tar.gz from this checkout's built output (run `make build` first; the Makefile
# target does). Layout: systemd/README.md. Production dependencies come from package-lock.json through
# `npm ci --omit=dev --prefer-offline` (the npm cache filled by `make deps`); nothing else is downloaded.
# The development identity provider (appliance/dist/dev-idp, oidc-provider, koa) never enters the bundle.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

version=${VERSION:-}
[ -n "$version" ] || version=$(node -p "require('./appliance/package.json').version")
version="$version${VERSION_SUFFIX:-}"
if ! [[ "$version" =~ ^[0-9A-Za-z][0-9A-Za-z._+-]*$ ]]; then
  echo "release: invalid version '$version' (letters, digits, . _ + - only)" >&2
  exit 2
fi
out=${RELEASE_OUT:-$root/dist}
name="kyc-appliance-$version"

for built in compliance/dist appliance/dist/server.js appliance/dist/worker.js web/build/index.html; do
  [ -e "$built" ] || { echo "release: $built missing — run make build first" >&2; exit 2; }
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/kyc-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT
b="$stage/$name"
app="$b/app"
mkdir -p "$app" "$b/runtime" "$b/bin" "$b/systemd"

# Production dependencies, resolved exactly as the lockfile says, into the staging tree.
cp package.json package-lock.json "$app/"
for ws in compliance appliance web; do
  mkdir -p "$app/$ws"
  cp "$ws/package.json" "$app/$ws/"
done
(cd "$app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
rm -rf "$app/node_modules/.bin" "$app/node_modules/.package-lock.json"
# Source maps of dependencies serve no one on a server (TF.js alone ships about 140 MB of them).
find "$app/node_modules" -type f -name '*.map' -delete
# Native addons (unix-dgram, which janode imports) were compiled by `make deps` for this same Node.js, which the
# bundle carries: take their compiled output from the checkout instead of compiling (or downloading headers) here.
while IFS= read -r -d '' gyp; do
  pkg=${gyp#"$app/"}
  pkg=${pkg%/binding.gyp}
  [ -d "$pkg/build/Release" ] || { echo "release: $pkg has no compiled addon (run make deps)" >&2; exit 2; }
  mkdir -p "$app/$pkg/build/Release"
  find "$pkg/build/Release" -maxdepth 1 -name '*.node' -exec cp -t "$app/$pkg/build/Release" {} +
done < <(find "$app/node_modules" -name binding.gyp -not -path '*/node_modules/*/node_modules/*/test/*' -print0)

# Built output without type declarations, source maps, test helpers or the dev IdP.
copy_tree() { # copy_tree SRC DEST [rsync-style excludes as find -path patterns...]
  local src=$1 dest=$2
  shift 2
  mkdir -p "$dest"
  (cd "$src" && find . -type f ! -name '*.d.ts' ! -name '*.map' "$@" -print0) |
    (cd "$src" && xargs -0 cp --parents -t "$dest")
}
copy_tree compliance/dist "$app/compliance/dist" ! -path './testing/*'
copy_tree appliance/dist "$app/appliance/dist" ! -path './dev-idp/*'
cp -r compliance/migrations "$app/compliance/"
cp -r appliance/migrations "$app/appliance/"
mkdir -p "$app/appliance/janus" "$app/appliance/keycloak"
cp -r appliance/janus/templates "$app/appliance/janus/"
cp appliance/keycloak/realm-kyc.json "$app/appliance/keycloak/"
mkdir -p "$app/web"
cp -r web/build "$app/web/"

cp systemd/*.service systemd/*.timer systemd/README.md "$b/systemd/"

node_bin=$(node -p process.execPath)
cp "$node_bin" "$b/runtime/node"
chmod 0755 "$b/runtime/node"

wrapper() { # wrapper NAME SCRIPT (relative to app/)
  cat > "$b/bin/$1" <<WRAP
#!/bin/sh
# $1: runs the bundled Node.js on app/$2 (release $version).
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/../runtime/node" "\$here/../app/$2" "\$@"
WRAP
  chmod 0755 "$b/bin/$1"
}
wrapper kyc-migrate appliance/dist/cli/migrate.js
wrapper kyc-archive appliance/dist/cli/kyc-archive.js
wrapper kyc-audit compliance/dist/cli/kyc-audit.js
wrapper kyc-janus appliance/dist/cli/kyc-janus.js
install -m 0755 appliance/scripts/kyc-checkpoint-ship.sh "$b/bin/kyc-checkpoint-ship"

printf '%s\n' "$version" > "$b/VERSION"
chmod -R u+rwX,go+rX,go-w "$b"
(cd "$b" && find . \( -type f -o -type l \) ! -name MANIFEST.sha256 -xtype f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 sha256sum > MANIFEST.sha256)

mkdir -p "$out"
tarball="$out/$name.tar.gz"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" \
  -cf - "$name" | gzip -n -${RELEASE_GZIP_LEVEL:-6} > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "$tarball"
