"""The WAN part of the lab's links: one-way delay and jitter per link and direction, and a
capacity that follows a trace. links.Links drives it; use Links, not this module.

This kernel has no netem (nor fq, etf, cake, sfq), so the delay comes from userspace: the
*receiving* gateway queues each link's packets in PREROUTING (`iptables -j NFQUEUE`, one
queue number per link; nftables' `queue` statement is not built in) and a delay stage
(delayer.py, one process per gateway, run from the host in the gateway's network namespace
with nsenter: the lab image has no iptables, the host has) releases them on the link's
schedule. Holding them on the receiver, after the sender's shaper, keeps the held packets
out of the sending socket's buffer (which capped a delay in OUTPUT at 24.5 Mbit/s) and
gives the order a real path has: queue and serialisation at the sender, then propagation.
A link with no delay and no jitter gets no queue rule at all: today's path.

A trace ([(seconds, Mbit/s)], see wanmodel.lte_trace) is replayed by a thread that changes
the link's HTB rate on both gateways at each step, through nsenter (milliseconds, where
`podman exec` takes a few hundred on a busy machine).
"""
import json
import os
import subprocess
import sys
import threading
import time
import zlib

from lablib.podman import run

QUEUE_BASE = 4700          # NFQUEUE numbers: QUEUE_BASE + the link's index
CHAIN = "BO_WAN"
HOLD_LIMIT = 20000         # packets a link holds before its delay stage drops (its own queue full)
LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Real-time priority keeps a release on time while the machine is busy (CI runs other
# stages beside this); the stage sleeps between packets and the kernel's RT throttling
# still bounds it. Without it the busiest moments of a shared 2-core host add milliseconds.
PRIORITY = ["chrt", "--fifo", "10"]


def jitter_seed(gateway, port):
    """The seed of a link's jitter on the gateway that receives it: reproducible (the gate
    runs the same model to know each packet's expected delay), and the two directions of a
    link jitter independently."""
    return zlib.crc32(("%s:%d" % (gateway, port)).encode())


def container_pid(container):
    return run(["podman", "inspect", "--format", "{{.State.Pid}}", container]).stdout.strip()


def nsenter(pid, argv, stdin=None, check=True):
    """Runs a host tool in a container's network namespace."""
    return run(["nsenter", "-t", str(pid), "-n"] + list(argv), stdin=stdin, check=check)


def _rule(proto, field, port, queue):
    return ["-p", proto, "--" + field, str(port), "-j", "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]


class Stage(object):
    """One gateway's delay stage: its queue rules and its delayer process."""

    def __init__(self, gateway, proto):
        self.gateway, self.proto = gateway, proto
        self.pid = container_pid(gateway)
        self.process, self.lock, self.queued = None, threading.Lock(), set()

    def _iptables(self, args, check=True):
        return nsenter(self.pid, ["iptables", "-w", "-t", "mangle"] + args, check=check)

    def start(self):
        self.stop()
        self._iptables(["-N", CHAIN], check=False)
        self._iptables(["-F", CHAIN])
        if self._iptables(["-C", "PREROUTING", "-j", CHAIN], check=False).returncode != 0:
            self._iptables(["-I", "PREROUTING", "-j", CHAIN])
        env = dict(os.environ, PYTHONPATH=LAB)
        argv = ["nsenter", "-t", str(self.pid), "-n", sys.executable, "-m", "lablib.delayer"]
        if run(PRIORITY + ["true"], check=False).returncode == 0:
            argv = PRIORITY + argv
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=LAB)

    def request(self, **fields):
        with self.lock:
            self.process.stdin.write(json.dumps(fields) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("%s: the delay stage stopped (rc %s)" % (self.gateway, self.process.poll()))
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError("%s: delay stage: %s" % (self.gateway, answer["error"]))
        return answer

    def configure(self, index, link):
        """Sets the link's delay and jitter; its queue rule goes in on first use (the stage
        is bound first, so no packet meets a queue nobody reads)."""
        queue = QUEUE_BASE + index
        self.request(op="link", queue=queue, delay=link.delay / 1000.0, jitter=link.jitter / 1000.0, limit=HOLD_LIMIT,
                     seed=jitter_seed(self.gateway, link.port))
        if queue not in self.queued:
            for field in ("sport", "dport"):
                self._iptables(["-A", CHAIN] + _rule(self.proto, field, link.port, queue))
            self.queued.add(queue)

    def stats(self):
        return self.request(op="stats")

    def cpu_seconds(self):
        """user + system CPU of the delay stage so far (0 when not running)."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        try:
            with open("/proc/%d/stat" % self.process.pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def stop(self):
        # Rules first: with --queue-bypass a queue nobody reads passes packets, but the
        # rules must not outlive the lab's links.
        self._iptables(["-D", "PREROUTING", "-j", CHAIN], check=False)
        self._iptables(["-F", CHAIN], check=False)
        self._iptables(["-X", CHAIN], check=False)
        self.queued = set()
        if self.process is not None and self.process.poll() is None:
            try:
                self.request(op="quit")
            except (RuntimeError, OSError, ValueError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Delays(object):
    """Every gateway's delay stage; a link's delay on one gateway delays what it receives."""

    def __init__(self, gateways, proto="udp"):
        self.gateways, self.proto, self.stages = list(gateways), proto, {}

    def _stage(self, gateway):
        if gateway not in self.stages:
            stage = Stage(gateway, self.proto)
            stage.start()
            self.stages[gateway] = stage
        return self.stages[gateway]

    def configure(self, index, link):
        """Applies a link's delay and jitter on every gateway (a link without either that
        never had them gets nothing)."""
        for gateway in self.gateways:
            if link.delay or link.jitter or gateway in self.stages:
                stage = self._stage(gateway)
                if link.delay or link.jitter or QUEUE_BASE + index in stage.queued:
                    stage.configure(index, link)

    def stats(self, links):
        """{port: counters summed over the gateways (max_held and late_max_ms: the largest)}."""
        by_queue = dict((QUEUE_BASE + index, link.port) for index, link in enumerate(links))
        result = {}
        for stage in self.stages.values():
            for queue, counters in stage.stats()["links"].items():
                port = by_queue.get(int(queue))
                if port is None:
                    continue
                into = result.setdefault(port, {})
                for key, value in counters.items():
                    if key in ("max_held", "late_max_ms", "delay_ms", "jitter_ms", "limit"):
                        into[key] = max(into.get(key, 0), value)
                    elif key == "late_mean_ms":
                        into.setdefault("late_mean_ms_by_gateway", []).append(round(value, 3))
                    else:
                        into[key] = into.get(key, 0) + value
        return result

    def cpu_seconds(self):
        return dict((gateway, stage.cpu_seconds()) for gateway, stage in self.stages.items())

    def clear(self):
        for stage in self.stages.values():
            stage.stop()
        self.stages = {}


class TracePlayer(object):
    """Replays each traced link's [(seconds, Mbit/s)] from start(): calls set_rate(port,
    Mbit/s) at every step (the last step's rate holds). stop() ends it."""

    def __init__(self, set_rate):
        self.set_rate, self.thread, self.stopping = set_rate, None, threading.Event()
        self.applied = []          # (seconds after start, port, Mbit/s) as really applied

    def start(self, traces):
        """traces: {port: [(seconds, Mbit/s)]}."""
        self.stop()
        events = sorted((at, port, rate) for port, trace in traces.items() for at, rate in trace)
        if not events:
            return
        self.stopping, self.applied = threading.Event(), []
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._play, args=(events,), daemon=True)
        self.thread.start()

    def _play(self, events):
        for at, port, rate in events:
            if self.stopping.wait(max(0.0, self.started + at - time.monotonic())):
                return
            try:
                self.set_rate(port, rate)
            except RuntimeError:       # the lab went away under us
                return
            self.applied.append((round(time.monotonic() - self.started, 3), port, rate))

    def stop(self):
        if self.thread is not None:
            self.stopping.set()
            self.thread.join()
            self.thread = None
