#!/bin/sh
# port-holder.sh PORT: prints "free", the systemd unit of the process listening on TCP PORT, or "pid:N".
set -eu
pid=$(ss -Hltnp "sport = :$1" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
if [ -z "$pid" ]; then
  if [ -n "$(ss -Hltn "sport = :$1")" ]; then echo "unknown"; else echo "free"; fi
  exit 0
fi
unit=$(sed -n 's#^0::.*/\([^/]*\.service\)$#\1#p; s#^1:name=systemd:.*/\([^/]*\.service\)$#\1#p' "/proc/$pid/cgroup" | head -n 1)
echo "${unit:-pid:$pid}"
