#!/bin/sh
# make-key.sh FILE OWNER: creates FILE (mode 0600, owned by OWNER) holding 32 random bytes as hex, unless it exists.
# Prints "created" or "present". Never overwrites: a key that encrypts data must survive every re-run.
set -eu
file=$1
owner=$2
if [ -e "$file" ]; then
  echo present
  exit 0
fi
umask 077
python3 -c 'import secrets; print(secrets.token_hex(32))' > "$file.new"
chown "$owner:$owner" "$file.new"
mv -n "$file.new" "$file"
echo created
