#!/usr/bin/env bash
# `make dev`: runs the dev identity provider and the appliance on this host, with the project's own PostgreSQL
# cluster (started by `make db`). Reuses everything under var/ from an earlier run. Ctrl-C stops what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
data="$root/var"
mkdir -p "$data/secrets" "$data/dev-idp"
chmod 700 "$data" "$data/secrets"

secret="$data/secrets/oidc-client-secret"
if [ ! -f "$secret" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$secret")
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped"
}
trap cleanup INT TERM EXIT

node appliance/dist/dev-idp/main.js --port 8180 --public-url https://127.0.0.1:8443 \
  --client-secret-file "$secret" --data-dir "$data/dev-idp" > "$data/dev-idp.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS http://127.0.0.1:8180/realms/kyc/.well-known/openid-configuration >/dev/null 2>&1 && break
  sleep 0.2
done

# The appliance's own Janus (its own config folder and ports, never Debian's /etc/janus service).
media_args=()
[ -n "${KYC_MEDIA_INTERFACE:-}" ] && media_args=(--media-interface "$KYC_MEDIA_INTERFACE")
node appliance/dist/cli/kyc-janus.js run --config-dir "$data/janus" --room-key-file "$data/secrets/janus-room-key" \
  --admin-secret-file "$data/secrets/janus-admin-secret" "${media_args[@]}" > "$data/janus-run.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  [ -f "$data/secrets/janus-room-key" ] && break
  sleep 0.2
done

export KYC_PROFILE=development KYC_DATA_DIR="$data" KYC_OIDC_CLIENT_SECRET_FILE="$secret" \
  KYC_JANUS_WS_URL=ws://127.0.0.1:8288 KYC_JANUS_ROOM_KEY_FILE="$data/secrets/janus-room-key"
node appliance/dist/server.js > >(tee -a "$data/appliance.log") 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS --cacert "$data/pki/ca.crt" https://127.0.0.1:8443/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
# The demonstration products (a wealth-management sale, an account opening), created through the API as admin1.
NODE_EXTRA_CA_CERTS="$data/pki/ca.crt" node appliance/dist/cli/kyc-dev-seed.js \
  --appliance https://127.0.0.1:8443 --issuer http://127.0.0.1:8180/realms/kyc || echo "product seed failed (see above)"

cat <<INFO

  KYC appliance (development)
  URL:             https://127.0.0.1:8443
  readiness:       https://127.0.0.1:8443/readyz
  API docs:        https://127.0.0.1:8443/docs
  CA certificate:  $data/pki/ca.crt   (import into the browser / distribute to branch PCs)
  identity (dev):  http://127.0.0.1:8180/realms/kyc
  demo users:      teller1, teller2, auditor1, admin1 — each password equals the user name (dev only)
  token for scripts: curl -s -d grant_type=password -d client_id=kyc-cli -d username=teller1 -d password=teller1 \\
                     http://127.0.0.1:8180/realms/kyc/protocol/openid-connect/token
  logs:            $data/appliance.log, $data/dev-idp.log, $data/janus-run.log
  Ctrl-C stops everything.

INFO
wait -n "${pids[@]}"
