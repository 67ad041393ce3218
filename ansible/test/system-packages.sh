#!/usr/bin/env bash
# Installs the Debian packages the install test needs on the test machine (only those missing): debootstrap and
# systemd-container for the booted Debian 12 container, ansible (collections included) and ansible-lint.
set -euo pipefail
packages=(debootstrap systemd-container ansible ansible-lint curl util-linux)
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
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
