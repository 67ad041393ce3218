#!/bin/sh
# install-release.sh BUNDLE RELEASES_DIR VERSION: unpacks a release bundle into a staging folder, verifies every
# file against MANIFEST.sha256 (all listed files present and intact, nothing unlisted), and only then moves it to
# RELEASES_DIR/VERSION. Prints "present" when that release is already installed and verified, "installed" otherwise.
set -eu
bundle=$1
releases=$2
version=$3
dest="$releases/$version"
if [ -f "$dest/.verified" ]; then
  echo present
  exit 0
fi
stage=$(mktemp -d "$releases/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tar -xzf "$bundle" -C "$stage" --no-same-owner --no-same-permissions
top="$stage/kyc-appliance-$version"
if [ "$(ls -A "$stage")" != "kyc-appliance-$version" ] || [ ! -f "$top/MANIFEST.sha256" ]; then
  echo "bundle does not hold exactly kyc-appliance-$version/ with a MANIFEST.sha256" >&2
  exit 1
fi
if [ "$(cat "$top/VERSION")" != "$version" ]; then
  echo "VERSION says $(cat "$top/VERSION"), the bundle's name $version" >&2
  exit 1
fi
cd "$top"
if ! sha256sum --check --strict --quiet MANIFEST.sha256 >&2; then
  echo "checksums do not match MANIFEST.sha256: the bundle is damaged or altered" >&2
  exit 1
fi
# The same set as make release lists: regular files and links to files (workspace links to folders are not files).
sed 's/^[0-9a-f]\{64\}  //' MANIFEST.sha256 | LC_ALL=C sort > "$stage/listed"
find . \( -type f -o -type l \) -xtype f ! -name MANIFEST.sha256 -printf '%P\n' | LC_ALL=C sort > "$stage/present"
if ! cmp -s "$stage/listed" "$stage/present"; then
  echo "files present but not listed in MANIFEST.sha256:" >&2
  LC_ALL=C comm -13 "$stage/listed" "$stage/present" >&2
  exit 1
fi
cd /
chown -R root:root "$top"
chmod -R go-w "$top"
touch "$top/.verified"
rm -rf "$dest"
mv "$top" "$dest"
echo installed
