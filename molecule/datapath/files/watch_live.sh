#!/bin/sh
# Reports the times (ms since the epoch) when tunnel K leaves this host's live set and when
# it returns.  Usage: watch_live.sh BOND K [LIMIT_MS]
set -eu
bond=$1 k=$2 limit_ms=${3:-30000}
live="/run/bonded-openvpn/balance/$bond.live"
now() { date +%s%3N; }
start=$(now)
out=null back=null
while [ $(($(now) - start)) -lt "$limit_ms" ]; do
    if grep -qx "$k" "$live"; then
        if [ "$out" != null ]; then back=$(now); break; fi
    elif [ "$out" = null ]; then
        out=$(now)
    fi
    sleep 0.05
done
printf '{"out_at": %s, "back_at": %s}\n' "$out" "$back"
