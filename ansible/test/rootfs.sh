#!/usr/bin/env bash
# Builds (once) the Debian 12 root the install test boots, and prints its path.
#   ansible/test/rootfs.sh [CACHE_DIR]      (default /var/cache/kyc-install-test)
# The root is a debootstrap minbase with what a bank's server has before the appliance (systemd, python3 for
# Ansible, sudo, iproute2), plus every Debian package the roles install, DOWNLOADED but not installed
# (apt-get -d): the container then installs them with no network at all, like an air-gapped server.
# The cache lives outside the repository and is keyed by the package lists and this script: change either and a
# new root is built beside the old one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-/var/cache/kyc-install-test}
suite=bookworm
mirror=${KYC_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${KYC_TEST_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
base=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,sudo,iproute2,procps,less
# What the roles install (kept in step with their defaults; the test fails at install if one is missing here).
staged=$(tr '\n' ' ' < "$here/staged-packages.txt")
key=$( { echo "$suite $base $staged"; cat "$0"; } | sha256sum | cut -c1-16)
root="$cache/rootfs-$key"
if [ -f "$root/.complete" ]; then
  echo "$root"
  exit 0
fi
for tool in debootstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || { echo "rootfs.sh: $tool missing (make system installs it)" >&2; exit 1; }
done
mkdir -p "$cache"
tmp="$cache/.build-$key.$$"
trap 'umount -R "$tmp/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT
echo "rootfs.sh: debootstrap $suite into $tmp" >&2
debootstrap --variant=minbase --include="$base" "$suite" "$tmp" "$mirror" >&2
cat > "$tmp/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
# No daemons start while packages are handled in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
export DEBIAN_FRONTEND=noninteractive
chroot "$tmp" apt-get update -q >&2
chroot "$tmp" apt-get -y -q dist-upgrade >&2
# shellcheck disable=SC2086
chroot "$tmp" apt-get install -y -q -d --no-install-recommends $staged >&2
rm -f "$tmp/usr/sbin/policy-rc.d"
# An image, not a machine: systemd makes a machine id at first boot; no host name of the builder.
: > "$tmp/etc/machine-id"
echo kyc-test > "$tmp/etc/hostname"
touch "$tmp/.complete"
mv "$tmp" "$root"
trap - EXIT
echo "$root"
