#!/bin/sh
# render-janus.sh RELEASE_DIR CONFIG_DIR [kyc-janus options...]: renders the appliance's Janus configuration with
# the release's kyc-janus into a fresh folder and puts it in place only when it differs; prints "changed" then,
# with the names of the files that differ (never their contents: they hold secrets).
set -eu
release=$1
dir=$2
shift 2
new="$dir.new"
rm -rf "$new"
mkdir -p "$new"
"$release/bin/kyc-janus" render --config-dir "$new" "$@" >/dev/null
chown -R root:kyc-janus "$new"
chmod 0750 "$new"
find "$new" -type f -exec chmod 0640 {} +
if [ -d "$dir" ] && diff -r -q "$dir" "$new" >/dev/null 2>&1; then
  rm -rf "$new"
  echo unchanged
else
  if [ -d "$dir" ]; then
    differ=$(diff -r -q "$dir" "$new" 2>&1 | sed "s|$new|NEW|g; s|$dir|CURRENT|g" || true)
  else
    differ="no configuration yet"
  fi
  rm -rf "$dir.old"
  [ -d "$dir" ] && mv "$dir" "$dir.old"
  mv "$new" "$dir"
  rm -rf "$dir.old"
  echo changed
  echo "$differ"
fi
