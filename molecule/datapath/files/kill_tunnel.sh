#!/bin/sh
# Kills tunnel K's OpenVPN process (SIGKILL, as a crash would) and reports, in ms after the
# kill, when K left this host's live set, when systemd restarted the instance, and when K
# came back.  Usage: kill_tunnel.sh BOND K [LIMIT_MS]
set -eu
bond=$1 k=$2 limit_ms=${3:-30000}
unit="bonded-openvpn@$bond-$k.service"
live="/run/bonded-openvpn/balance/$bond.live"
now() { date +%s%3N; }
pid=$(systemctl show -p MainPID --value "$unit")
[ "$pid" -gt 0 ] || { echo "$unit has no main process" >&2; exit 1; }
start=$(now)
kill -9 "$pid"
out=null restarted=null back=null
while [ $(($(now) - start)) -lt "$limit_ms" ]; do
    t=$(($(now) - start))
    if grep -qx "$k" "$live"; then
        if [ "$out" != null ] && [ "$back" = null ]; then back=$t; fi
    elif [ "$out" = null ]; then
        out=$t
    fi
    if [ "$restarted" = null ]; then
        p=$(systemctl show -p MainPID --value "$unit")
        if [ "$p" -gt 0 ] && [ "$p" != "$pid" ]; then restarted=$t; fi
    fi
    if [ "$back" != null ]; then break; fi
    sleep 0.05
done
printf '{"killed_at": %s, "out_ms": %s, "restarted_ms": %s, "back_ms": %s}\n' "$start" "$out" "$restarted" "$back"
