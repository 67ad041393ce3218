#!/usr/bin/env bash
# Installs the Debian packages the install test needs on the test machine (only those missing): debootstrap and
# systemd-container for the booted Debian 12 container, ansible (collections included) and ansible-lint.
set -euo pipefail
packages=(debootstrap systemd-container ansible ansible-lint curl util-linux)
# Two tests may call this at once on a fresh machine (the lint test in the suite, the install test beside it): the
# second waits for the first, then finds nothing missing.
if [ "$(id -u)" -eq 0 ]; then
  mkdir -p /run/lock
  exec 9>/run/lock/kyc-test-system-packages.lock
  flock 9
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]} — run as root (or install them with apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
