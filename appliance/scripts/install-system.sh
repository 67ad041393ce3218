#!/usr/bin/env bash
# Installs the Debian packages the appliance needs on this host, only those that are missing.
set -euo pipefail
packages=(postgresql janus janus-tools libjs-janus-gateway ffmpeg chromium fonts-dejavu-core fonts-wqy-microhei iproute2 openssl curl rsync tesseract-ocr softhsm2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]} — run as root (or install them with apt-get)" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian enables its own janus.service on /etc/janus; the appliance runs Janus with its own config.
if systemctl is-enabled janus >/dev/null 2>&1; then
  systemctl disable --now janus >/dev/null 2>&1 || true
fi
