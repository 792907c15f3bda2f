"""Uplinks with a capacity: each wan network of a BondLab(wans=3) is one uplink.

On both gateways the egress of the device on wan u gets an HTB root whose default class
holds everything at the uplink's rate, over a byte-limited bfifo (links.py's quantum,
burst and queue: its notes on smoothness hold here too), so each direction of uplink u
is shaped by the gateway that sends it. Table inet bo_uplinks counts, per (wan device,
tunnel port), the UDP bytes leaving it in the output hook: where a tunnel's packets went,
whatever the routing tables said. A cut is either loss (an nft drop of everything
leaving that device on both gateways, ahead of the counting, so matrix() sees nothing)
or carrier loss (the client's device down: that flushes the client's routes through it,
and `up` restores only the connected route).

    uplinks = Uplinks(lab)                # lab = BondLab(..., wans=3), built
    uplinks.apply([30, 20, 10])           # Mbit/s per wan (and no GSO on the wan devices)
    uplinks.watch([1194, 1195, 1196])     # tunnel ports to count
    uplinks.matrix()    # {u: {port: bytes that left wan u on either gateway}}
    uplinks.cut(1, "loss"); uplinks.restore(1)
    uplinks.stats()     # {u: {"sent_bytes", "sent_packets", "queue_drops", "cut_drops"}}
"""
import json

from lablib.links import BURST, DEFAULT_QUEUE, QUANTUM
from lablib.podman import exec_in

TABLE = "bo_uplinks"


class Uplinks(object):
    def __init__(self, lab):
        self.lab = lab
        self.devices = lab.uplink_devices()         # {gateway: [device on wan u]}
        self.rates, self.ports, self.cuts, self.created = [], [], {}, False

    def _each(self):
        for gateway, devices in self.devices.items():
            for u, device in enumerate(devices):
                yield gateway, u, device

    def apply(self, rates):
        """Replaces whatever shaping the wan devices had with these rates (Mbit/s)."""
        if len(rates) != len(self.lab.wans):
            raise ValueError("%d rates for %d wans" % (len(rates), len(self.lab.wans)))
        self.rates = list(rates)
        for gateway, u, device in self._each():
            exec_in(gateway, ["tc", "qdisc", "del", "dev", device, "root"], check=False)
            # TCP sent by the gateway itself (iperf3) reaches the qdisc as GSO packets of up
            # to 64 KB, which the 60 KB bfifo drops whole: one flow crawled at 0.6 Mbit/s.
            # One segment per packet, as on a real link; OpenVPN's UDP is the same either way.
            exec_in(gateway, ["ip", "link", "set", "dev", device, "gso_max_segs", "1"])
            lines = ["qdisc add dev %s root handle 1: htb default 10" % device,
                     "class add dev %s parent 1: classid 1:10 htb rate %gmbit ceil %gmbit quantum %d burst %d cburst %d"
                     % (device, rates[u], rates[u], QUANTUM, BURST, BURST),
                     "qdisc add dev %s parent 1:10 handle 10: bfifo limit %d" % (device, DEFAULT_QUEUE)]
            exec_in(gateway, ["tc", "-force", "-batch", "-"], stdin="\n".join(lines) + "\n")
        self._nft(create=True)

    def watch(self, ports):
        """Counts these tunnel ports from now on (counters start at zero)."""
        self.ports = list(ports)
        self._nft(create=True)

    def cut(self, u, how="loss"):
        if how == "down":
            exec_in(self.lab.client, ["ip", "link", "set", self.devices[self.lab.client][u], "down"])
        elif how != "loss":
            raise ValueError("cut how=%r: 'loss' or 'down'" % how)
        self.cuts[u] = how
        self._nft(create=False)

    def restore(self, u):
        if self.cuts.pop(u, None) == "down":
            exec_in(self.lab.client, ["ip", "link", "set", self.devices[self.lab.client][u], "up"])
        self._nft(create=False)

    def _nft(self, create):
        """Rewrites the chain: named counters keep their values across a rewrite, so cut
        and restore do not reset matrix()."""
        wans, create = range(len(self.lab.wans)), create or not self.created
        for gateway, devices in self.devices.items():
            lines = []
            if create:
                lines += ["table inet %s" % TABLE, "delete table inet %s" % TABLE, "table inet %s {" % TABLE]
                lines += ["  counter cut_%d {}" % u for u in wans]
                lines += ["  counter up%d_%d {}" % (u, port) for u in wans for port in self.ports]
                lines += ["  chain out { type filter hook output priority 0; policy accept; }", "}"]
            lines.append("flush chain inet %s out" % TABLE)
            for u in sorted(u for u, how in self.cuts.items() if how == "loss"):
                lines.append('add rule inet %s out oifname "%s" counter name "cut_%d" drop' % (TABLE, devices[u], u))
            for u in wans:
                for port in self.ports:
                    # A packet with both ports equal counts once.
                    for match in ("th sport %d" % port, "th dport %d th sport != %d" % (port, port)):
                        lines.append('add rule inet %s out oifname "%s" meta l4proto udp %s counter name "up%d_%d"'
                                     % (TABLE, devices[u], match, u, port))
            exec_in(gateway, ["nft", "-f", "-"], stdin="\n".join(lines) + "\n")
        self.created = True

    def _counters(self):
        totals = {}
        for gateway in self.devices:
            proc = exec_in(gateway, ["nft", "-j", "list", "counters", "table", "inet", TABLE], check=False)
            for item in json.loads(proc.stdout).get("nftables", []) if proc.returncode == 0 else []:
                counter = item.get("counter")
                if counter:
                    name = counter["name"]
                    totals[name] = totals.get(name, 0) + counter["bytes" if name.startswith("up") else "packets"]
        return totals

    def matrix(self):
        """{u: {port: UDP bytes of that tunnel port that left wan u}}, both gateways."""
        totals = self._counters()
        return dict((u, dict((port, totals.get("up%d_%d" % (u, port), 0)) for port in self.ports))
                    for u in range(len(self.lab.wans)))

    def stats(self):
        """Per wan u, both gateways added up: what its shaper sent, what its full queue
        dropped, and packets the loss cut dropped."""
        result = dict((u, {"sent_bytes": 0, "sent_packets": 0, "queue_drops": 0, "cut_drops": 0})
                      for u in range(len(self.lab.wans)))
        for gateway, u, device in self._each():
            for qdisc in json.loads(exec_in(gateway, ["tc", "-s", "-j", "qdisc", "show", "dev", device]).stdout):
                if qdisc.get("handle") == "10:":
                    result[u]["sent_bytes"] += qdisc.get("bytes", 0)
                    result[u]["sent_packets"] += qdisc.get("packets", 0)
                    result[u]["queue_drops"] += qdisc.get("drops", 0)
        for name, packets in self._counters().items():
            if name.startswith("cut_"):
                result[int(name[len("cut_"):])]["cut_drops"] += packets
        return result

    def clear(self):
        """Removes shaping, counters and cuts (a downed client device comes back up)."""
        for u in list(self.cuts):
            if self.cuts.pop(u) == "down":
                exec_in(self.lab.client, ["ip", "link", "set", self.devices[self.lab.client][u], "up"])
        for gateway, u, device in self._each():
            exec_in(gateway, ["tc", "qdisc", "del", "dev", device, "root"], check=False)
            exec_in(gateway, ["ip", "link", "set", "dev", device, "gso_max_segs", "65535"])
        for gateway in self.devices:
            exec_in(gateway, ["nft", "delete", "table", "inet", TABLE], check=False)
        self.rates, self.ports, self.created = [], [], False


def delta(before, after):
    """Difference of two matrix() or stats() results."""
    return dict((u, dict((key, value - before.get(u, {}).get(key, 0)) for key, value in row.items()))
                for u, row in after.items())
