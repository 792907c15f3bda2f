"""Links like WANs: each tunnel's path gets a rate, a queue, a loss rate, a one-way delay
with jitter and, if wanted, a capacity that follows a trace.

On every gateway, the egress of its underlay device (the one towards the peer) gets an
HTB qdisc with one class per tunnel port (u32 on the UDP/TCP source or destination port,
so each direction is shaped by the gateway that sends it) holding a byte-limited bfifo:
the link's rate and queue. `quantum 1514` and `burst 3000` keep the shaper smooth; HTB's
default quantum made it bursty and cost a single flow a quarter of its throughput.
Loss is an nftables rule in the output hook (`numgen random`). A loss of 1 cuts the link.
This kernel has no netem: delay and jitter come from a userspace stage on the receiving
gateway (wan.py, delayer.py; RTT = 2 x the one-way delay), and a trace is replayed by
changing the HTB rate at each step.

    links = Links({"gw-a": "172.31.80.12", "gw-b": "172.31.80.11"})   # gateway: its peer
    links.apply([Link(1194, 20), Link(1195, 20)])     # Mbit/s; queue 60 KB, no loss
    links.set(1195, rate=5)                          # degrade one link at run time
    links.set(1195, loss=1)                          # cut it
    links.stats()    # {port: {"sent_bytes", "sent_packets", "queue_drops", "loss_drops"}}

    links.apply([Link(1194, 40, delay=5), Link(1195, 10, delay=30, jitter=5),   # one-way ms
                 Link(1196, 20, trace=wanmodel.lte_trace(seed=1, seconds=120))])
    links.set(1195, delay=150)                       # delay and jitter change at run time too
    links.delay_stats()  # {port: {"received", "released", "held", "max_held", "full_drops", ...}}
"""
import json
import threading

from lablib import wan
from lablib.podman import exec_in

TABLE = "bo_links"
QUANTUM, BURST = 1514, 3000
DEFAULT_QUEUE = 60000
LOSS_SCALE = 1000000        # loss resolution: one in a million


class Link(object):
    """rate Mbit/s, queue bytes, loss 0..1, delay and jitter one-way ms (each direction), trace
    [(seconds, Mbit/s)] from apply() on (the rate then starts at the trace's first step)."""

    def __init__(self, port, rate, queue=DEFAULT_QUEUE, loss=0.0, delay=0.0, jitter=0.0, trace=None):
        if rate <= 0 or queue < 1514 or not 0 <= loss <= 1 or delay < 0 or jitter < 0:
            raise ValueError("link on port %d: rate %r Mbit/s must be > 0, queue %r bytes >= 1514, loss %r "
                             "between 0 and 1, delay %r and jitter %r ms >= 0" % (port, rate, queue, loss, delay, jitter))
        if trace is not None and (not trace or trace[0][0] != 0 or any(r <= 0 for dummy, r in trace)):
            raise ValueError("link on port %d: a trace is [(seconds, Mbit/s > 0)] starting at 0 s" % port)
        self.port, self.rate, self.queue, self.loss = port, trace[0][1] if trace else rate, queue, loss
        self.delay, self.jitter, self.trace = delay, jitter, trace

    def describe(self):
        text = "%g Mbit/s" % self.rate if not self.trace else "trace %g-%g Mbit/s" % (
            min(r for dummy, r in self.trace), max(r for dummy, r in self.trace))
        if self.delay or self.jitter:
            text += " %g ms" % self.delay + (" +-%g" % self.jitter if self.jitter else "")
        return text + (", cut" if self.loss >= 1 else ", %g%% loss" % (100 * self.loss) if self.loss else "")


def equal(first_port, count, rate, queue=DEFAULT_QUEUE, loss=0.0):
    return [Link(first_port + k, rate, queue, loss) for k in range(count)]


def of_rates(first_port, rates, queue=DEFAULT_QUEUE):
    return [Link(first_port + k, rate, queue) for k, rate in enumerate(rates)]


def _classid(index):
    return "1:%x" % (0x10 + index)


class Links(object):
    def __init__(self, gateways, proto="udp"):
        """gateways: {container: address of its peer on the underlay}."""
        self.gateways, self.proto = dict(gateways), proto
        self.links, self.devices = [], {}
        self.delays, self.player, self.lock, self.pids = None, None, threading.Lock(), {}

    def _device(self, gateway):
        if gateway not in self.devices:
            out = exec_in(gateway, ["ip", "-o", "route", "get", self.gateways[gateway]]).stdout.split()
            self.devices[gateway] = out[out.index("dev") + 1]
        return self.devices[gateway]

    def _index(self, port):
        for index, link in enumerate(self.links):
            if link.port == port:
                return index
        raise KeyError("no link on port %d (links: %s)" % (port, ", ".join(str(l.port) for l in self.links)))

    def _tc(self, gateway, lines):
        exec_in(gateway, ["tc", "-force", "-batch", "-"], stdin="\n".join(lines) + "\n")

    def _class_lines(self, device, index, verb):
        link, classid = self.links[index], _classid(index)
        return ["class %s dev %s parent 1: classid %s htb rate %gmbit ceil %gmbit quantum %d burst %d cburst %d"
                % (verb, device, classid, link.rate, link.rate, QUANTUM, BURST, BURST),
                "qdisc replace dev %s parent %s handle %x: bfifo limit %d" % (device, classid, 0x10 + index, link.queue)]

    def apply(self, links):
        """Replaces whatever shaping the gateways had with these links."""
        self._stop_wan()
        self.links, self.pids = list(links), {}
        protocol = {"udp": 17, "tcp": 6}[self.proto]
        for gateway in self.gateways:
            device = self._device(gateway)
            exec_in(gateway, ["tc", "qdisc", "del", "dev", device, "root"], check=False)
            lines = ["qdisc add dev %s root handle 1: htb" % device]
            for index, link in enumerate(self.links):
                lines += self._class_lines(device, index, "add")
                for field in ("sport", "dport"):
                    lines.append("filter add dev %s parent 1: protocol ip prio 1 u32 match ip protocol %d 0xff "
                                 "match ip %s %d 0xffff flowid %s" % (device, protocol, field, link.port, _classid(index)))
            self._tc(gateway, lines)
        self._nft(create=True)
        self._start_wan()

    def _start_wan(self):
        for index, link in enumerate(self.links):
            if link.delay or link.jitter:
                if self.delays is None:
                    self.delays = wan.Delays(self.gateways, self.proto)
                self.delays.configure(index, link)
        traces = dict((link.port, link.trace) for link in self.links if link.trace)
        if traces:
            for gateway in self.gateways:      # looked up now: podman takes long enough to miss a step
                self.pids[gateway] = wan.container_pid(gateway)
                self._device(gateway)
            self.player = wan.TracePlayer(self._trace_rate)
            self.player.start(traces)

    def close(self):
        """Stops the trace player and the delay stages (host processes) and leaves the rest:
        for a lab about to be removed."""
        self._stop_wan()

    def _stop_wan(self):
        if self.player is not None:
            self.player.stop()
            self.player = None
        if self.delays is not None:
            self.delays.clear()
            self.delays = None

    def _trace_rate(self, port, rate):
        """A trace step: the HTB rate through nsenter, which takes milliseconds."""
        with self.lock:
            index = self._index(port)
            self.links[index].rate = rate
            for gateway in self.gateways:
                wan.nsenter(self.pids[gateway], ["tc", "-force", "-batch", "-"],
                            stdin="\n".join(self._class_lines(self._device(gateway), index, "change")[:1]) + "\n")

    def packet_queues(self, limit):
        """Gives every link a queue of ``limit`` packets (pfifo) instead of bytes, as many
        routers have: a full one then drops a small ICMP echo as it drops a full-size data
        packet, where a byte-limited queue still takes it. Until the next apply() or set() of a
        rate or queue."""
        for gateway in self.gateways:
            device = self._device(gateway)
            # tc cannot replace a qdisc by one of another kind under the same handle.
            lines = []
            for index in range(len(self.links)):
                lines += ["qdisc del dev %s parent %s" % (device, _classid(index)),
                          "qdisc add dev %s parent %s handle %x: pfifo limit %d" % (device, _classid(index), 0x10 + index, limit)]
            self._tc(gateway, lines)

    def set(self, port, rate=None, queue=None, loss=None, delay=None, jitter=None):
        """Changes one link at run time: its rate (Mbit/s), queue (bytes), loss (0..1), delay
        or jitter (one-way ms). A rate set here holds until the link's trace's next step."""
        with self.lock:
            index = self._index(port)
            old = self.links[index]
            self.links[index] = Link(port, old.rate if rate is None else rate, old.queue if queue is None else queue,
                                     old.loss if loss is None else loss, old.delay if delay is None else delay,
                                     old.jitter if jitter is None else jitter)
            self.links[index].trace = old.trace
            if rate is not None or queue is not None:
                for gateway in self.gateways:
                    self._tc(gateway, self._class_lines(self._device(gateway), index, "change"))
            if loss is not None:
                self._nft(create=False)
            if delay is not None or jitter is not None:
                if self.delays is None:
                    self.delays = wan.Delays(self.gateways, self.proto)
                self.delays.configure(index, self.links[index])

    def delay_stats(self):
        """What the delay stages did, per port (both gateways): packets received, released,
        held now, max_held, full_drops (their own queue full), kernel_queue_drops and
        kernel_socket_drops, late_max_ms (the latest release behind schedule). Empty
        without delays."""
        return self.delays.stats(self.links) if self.delays is not None else {}

    def delay_cpu_seconds(self):
        """{gateway: CPU seconds its delay stage used} (empty without delays)."""
        return self.delays.cpu_seconds() if self.delays is not None else {}

    def _nft(self, create):
        """Loss rules; named counters survive a rule change, so drops add up over a run."""
        lines = []
        if create:
            lines += ["table inet %s" % TABLE, "delete table inet %s" % TABLE, "table inet %s {" % TABLE]
            lines += ["  counter loss_%d {}" % link.port for link in self.links]
            lines += ["  chain out { type filter hook output priority 0; policy accept; }", "}"]
        lines.append("flush chain inet %s out" % TABLE)
        for link in self.links:
            if not link.loss:
                continue
            chance = "" if link.loss >= 1 else "numgen random mod %d < %d " % (LOSS_SCALE, round(link.loss * LOSS_SCALE))
            for field in ("sport", "dport"):
                lines.append('add rule inet %s out meta l4proto %s th %s %d %scounter name "loss_%d" drop'
                             % (TABLE, self.proto, field, link.port, chance, link.port))
        for gateway in self.gateways:
            exec_in(gateway, ["nft", "-f", "-"], stdin="\n".join(lines) + "\n")

    def stats(self):
        """What the shaper itself did, both gateways added up, per port: bytes and packets
        it sent, packets its queue dropped (full) and packets the loss rule dropped."""
        result = dict((link.port, {"sent_bytes": 0, "sent_packets": 0, "queue_drops": 0, "loss_drops": 0})
                      for link in self.links)
        by_handle = dict(("%x:" % (0x10 + index), link.port) for index, link in enumerate(self.links))
        for gateway in self.gateways:
            qdiscs = json.loads(exec_in(gateway, ["tc", "-s", "-j", "qdisc", "show", "dev", self._device(gateway)]).stdout)
            for qdisc in qdiscs:
                port = by_handle.get(qdisc.get("handle"))
                if port is not None:
                    result[port]["sent_bytes"] += qdisc.get("bytes", 0)
                    result[port]["sent_packets"] += qdisc.get("packets", 0)
                    result[port]["queue_drops"] += qdisc.get("drops", 0)
            listing = json.loads(exec_in(gateway, ["nft", "-j", "list", "counters", "table", "inet", TABLE]).stdout)
            for item in listing.get("nftables", []):
                counter = item.get("counter")
                if counter and counter["name"].startswith("loss_"):
                    port = int(counter["name"][len("loss_"):])
                    if port in result:
                        result[port]["loss_drops"] += counter["packets"]
        return result

    def clear(self):
        self._stop_wan()
        for gateway in self.gateways:
            exec_in(gateway, ["tc", "qdisc", "del", "dev", self._device(gateway), "root"], check=False)
            exec_in(gateway, ["nft", "delete", "table", "inet", TABLE], check=False)
        self.links = []

    def describe(self):
        return " / ".join(link.describe() for link in self.links)


def delta(before, after):
    """Per-port difference of two stats() results, and the totals under 'total'."""
    result = {}
    for port, counters in after.items():
        result[port] = dict((key, value - before.get(port, {}).get(key, 0)) for key, value in counters.items())
    result["total"] = dict((key, sum(result[port][key] for port in after)) for key in
                           ("sent_bytes", "sent_packets", "queue_drops", "loss_drops"))
    return result
