#!/bin/sh
# Drops tunnel K's IPv6 underlay packets (its UDP port, both ways) on this host for HOLD_MS,
# then lets them through again; prints when K left this host's live set and when it came
# back, in ms after the cut.  Usage: cut_underlay.sh BOND K PORT HOLD_MS [LIMIT_MS]
set -eu
bond=$1 k=$2 port=$3 hold_ms=$4 limit_ms=${5:-30000}
live="/run/bonded-openvpn/balance/$bond.live"
now() { date +%s%3N; }
nft -f - <<NFT
table ip6 underlay6_cut {
	chain output { type filter hook output priority 0; udp dport $port drop; }
	chain input { type filter hook input priority 0; udp sport $port drop; }
}
NFT
cut=$(now)
out=null back=null healed=null
while [ $(($(now) - cut)) -lt "$limit_ms" ]; do
    if [ "$healed" = null ] && [ $(($(now) - cut)) -ge "$hold_ms" ]; then
        nft delete table ip6 underlay6_cut
        healed=$(($(now) - cut))
    fi
    if grep -qx "$k" "$live"; then
        if [ "$out" != null ] && [ "$healed" != null ]; then back=$(($(now) - cut)); break; fi
    elif [ "$out" = null ]; then
        out=$(($(now) - cut))
    fi
    sleep 0.05
done
[ "$healed" != null ] || nft delete table ip6 underlay6_cut
printf '{"cut_at": %s, "out_ms": %s, "healed_ms": %s, "back_ms": %s}\n' "$cut" "$out" "$healed" "$back"
