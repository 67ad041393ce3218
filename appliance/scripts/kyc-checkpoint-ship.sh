#!/bin/sh
# kyc-checkpoint-ship: copies new signed audit checkpoints off the host and proves the copy (run by
# kyc-checkpoint-ship.service; installed as bin/kyc-checkpoint-ship in the release bundle).
#   CHECKPOINT_DIR                 source folder (written only by the checkpoint signer)
#   CHECKPOINT_SHIP_DEST           a mounted folder (/mnt/worm/kyc) or user@host:/path (rsync over ssh)
#   CHECKPOINT_SHIP_SSH_KEY        private key for ssh destinations (readable only by kyc-ship)
#   CHECKPOINT_SHIP_KNOWN_HOSTS    known_hosts file pinning the destination's host key (ssh destinations)
# Files already at the destination are never overwritten. After copying, every source file is compared by content
# (rsync --checksum) with the destination: a missing or different file fails the run with exit status 1 and
# names the files. Prints one JSON line: {"ok":true,"shipped":N,"verified":M,"dest":"..."}.
set -eu
src=${CHECKPOINT_DIR:-/var/lib/kyc/audit/checkpoints}
dest=${CHECKPOINT_SHIP_DEST:-}

fail() {
  printf '{"ok":false,"error":"%s"}\n' "$1"
  echo "kyc-checkpoint-ship: $1" >&2
  exit 1
}

[ -n "$dest" ] || fail "CHECKPOINT_SHIP_DEST is not set"
[ -d "$src" ] || fail "checkpoint folder $src does not exist"
command -v rsync >/dev/null 2>&1 || fail "rsync is not installed"

case "$dest" in
  *:*)
    key=${CHECKPOINT_SHIP_SSH_KEY:-}
    hosts=${CHECKPOINT_SHIP_KNOWN_HOSTS:-}
    [ -n "$key" ] && [ -r "$key" ] || fail "CHECKPOINT_SHIP_SSH_KEY must name a readable key for an ssh destination"
    [ -n "$hosts" ] && [ -r "$hosts" ] || fail "CHECKPOINT_SHIP_KNOWN_HOSTS must name a readable known_hosts file"
    set -- -e "ssh -F /dev/null -i $key -o UserKnownHostsFile=$hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes"
    ;;
  *)
    [ -d "$dest" ] || fail "destination $dest is not a folder (not mounted?)"
    set --
    ;;
esac

# Copy what is new; never touch what is already there (WORM destinations refuse it anyway).
shipped=$(rsync -r --ignore-existing --chmod=F0444 --out-format='%n' "$@" -- "$src/" "$dest/" 2>&1) ||
  fail "copy to $dest failed: $(printf '%s' "$shipped" | tr '\n"' ' _' | cut -c1-300)"
# Prove it: any file whose content differs (or is missing) at the destination is listed by this dry run.
differ=$(rsync -r --checksum --dry-run --out-format='%n' "$@" -- "$src/" "$dest/" 2>&1) ||
  fail "verification against $dest failed: $(printf '%s' "$differ" | tr '\n"' ' _' | cut -c1-300)"
differ=$(printf '%s\n' "$differ" | grep -v '/$' | grep -v '^$' || true)
[ -z "$differ" ] || fail "destination differs from the signed checkpoints: $(printf '%s' "$differ" | tr '\n"' ' _' | cut -c1-300)"

n_shipped=$(printf '%s\n' "$shipped" | grep -v '/$' | grep -c -v '^$' || true)
n_verified=$(find "$src" -type f | wc -l)
printf '{"ok":true,"shipped":%s,"verified":%s,"dest":"%s"}\n' "$n_shipped" "$n_verified" "$dest"
