"""The WAN emulator's delay stage: one process per receiving gateway, run in that gateway's
network namespace (wan.py starts it from the host under `nsenter -n`), holding each link's
packets in its own NFQUEUE and releasing them on the link's schedule (wanmodel.Release).

    python3 -m lablib.delayer        (lab/ on sys.path; commands on stdin, one JSON a line)

    {"op": "link", "queue": 4701, "delay": 0.02, "jitter": 0.002, "limit": 20000, "seed": 7}   add or change
    {"op": "stats"}                                                                  counters
    {"op": "quit"}
Each command gets one JSON line back on stdout.

Only packet ids cross into userspace (copy mode META): the payload stays in the kernel.
A link releases in arrival order, so one NFQNL_MSG_VERDICT_BATCH ("accept every id up to
X") lets out everything that is due at once, one message per link and wake-up instead of
one per packet. Standard library only, for the same reason as the watchdog.
"""
import collections
import errno
import json
import os
import select
import sys
import time

try:
    from lablib import nfqueue, wanmodel
except ImportError:       # run as a plain script from lab/lablib
    import nfqueue
    import wanmodel

KERNEL_MAXLEN = 1 << 16    # what the kernel may hold per queue; our own limit is per link
RECEIVE_BUDGET = 256       # socket reads between two releases


class Link(object):
    def __init__(self, queue, seed):
        self.queue = queue
        self.release = wanmodel.Release(0.0, 0.0, seed=seed)
        self.held = collections.deque()
        self.limit = 20000
        self.counts = {"received": 0, "released": 0, "full_drops": 0, "max_held": 0, "late_max_ms": 0.0,
                       "late_sum_ms": 0.0}

    def stats(self):
        result = dict(self.counts, held=len(self.held), delay_ms=1000 * self.release.delay,
                      jitter_ms=1000 * self.release.jitter.stdev, limit=self.limit)
        result["late_mean_ms"] = result.pop("late_sum_ms") / (self.counts["released"] or 1)
        return result


class Delayer(object):
    def __init__(self, sock, clock=time.monotonic):
        self.sock, self.clock, self.links, self.seq = sock, clock, {}, 100
        self.buffer = bytearray(1 << 16)
        self.overruns = 0

    def configure(self, queue, delay=None, jitter=None, limit=None, seed=None):
        link = self.links.get(queue)
        if link is None:
            link = self.links[queue] = Link(queue, seed=queue if seed is None else seed)
            self._bind(queue)
        link.release.set(delay, jitter)
        if limit is not None:
            link.limit = int(limit)

    def _bind(self, queue):
        messages = nfqueue.bind(queue, KERNEL_MAXLEN, self.seq)
        self.seq += len(messages)
        for data in messages:
            self.sock.send(data)
        acks, deadline = 0, self.clock() + 5
        while acks < len(messages):
            if not select.select([self.sock], [], [], max(0, deadline - self.clock()))[0]:
                raise RuntimeError("queue %d: no answer from nfnetlink_queue" % queue)
            size = self.sock.recv_into(self.buffer)
            for item in nfqueue.parse(self.buffer, size):
                if item[0] == "error":
                    if item[1]:
                        raise RuntimeError("queue %d: binding failed: %s" % (queue, os.strerror(item[1])))
                    acks += 1
                elif item[2] is not None:     # a packet already: nothing delays it yet
                    self.sock.send(nfqueue.verdict(item[1], item[2]))

    def receive(self, budget=RECEIVE_BUDGET):
        """Reads waiting packet notices and schedules them, at most ``budget`` socket reads: a
        flood that arrives as fast as it is read must not keep release() and the driver's
        commands waiting (seen: a saturated stage held every packet and answered nothing)."""
        for dummy in range(budget):
            try:
                size = self.sock.recv_into(self.buffer)
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno == errno.ENOBUFS:     # the socket overflowed: the kernel dropped packets
                    self.overruns += 1
                    continue
                raise
            now = self.clock()
            for kind, queue, packet_id in nfqueue.parse(self.buffer, size):
                if packet_id is not None:
                    self._hold(queue, packet_id, now)

    def _hold(self, queue, packet_id, now):
        link = self.links.get(queue)
        if link is None:
            self.sock.send(nfqueue.verdict(queue, packet_id))
            return
        link.counts["received"] += 1
        if len(link.held) >= link.limit:
            link.counts["full_drops"] += 1
            self.sock.send(nfqueue.verdict(queue, packet_id, accept=False))
            return
        link.held.append((link.release.at(now), packet_id))
        if len(link.held) > link.counts["max_held"]:
            link.counts["max_held"] = len(link.held)

    def release(self):
        """Lets out what is due; returns seconds until the next packet is (None: nothing held)."""
        now, soonest = self.clock(), None
        for link in self.links.values():
            held, last, late = link.held, None, 0.0
            while held and held[0][0] <= now:
                due, last = held.popleft()
                late = max(late, now - due)
                link.counts["late_sum_ms"] += 1000 * (now - due)
                link.counts["released"] += 1
            if last is not None:
                self.sock.send(nfqueue.verdict_batch(link.queue, last))
                link.counts["late_max_ms"] = max(link.counts["late_max_ms"], 1000 * late)
            if held and (soonest is None or held[0][0] < soonest):
                soonest = held[0][0]
        return None if soonest is None else max(0.0, soonest - now)

    def stats(self):
        kernel = _kernel_counters()
        links = {}
        for queue, link in self.links.items():
            links[str(queue)] = dict(link.stats(), **kernel.get(queue, {}))
        return {"links": links, "socket_overruns": self.overruns}


def _kernel_counters():
    """Per queue: packets the kernel dropped because its queue was full (queue_dropped) or
    our socket's buffer was (user_dropped)."""
    found = {}
    try:
        with open("/proc/self/net/netfilter/nfnetlink_queue") as handle:
            for line in handle:
                fields = line.split()
                found[int(fields[0])] = {"kernel_queue_drops": int(fields[5]), "kernel_socket_drops": int(fields[6])}
    except (OSError, ValueError, IndexError):
        pass
    return found


def command(delayer, line):
    request = json.loads(line)
    op = request.get("op")
    if op == "link":
        delayer.configure(int(request["queue"]), request.get("delay"), request.get("jitter"), request.get("limit"),
                          request.get("seed"))
        return {"ok": True}
    if op == "stats":
        return delayer.stats()
    if op == "quit":
        return None
    raise ValueError("unknown op %r" % op)


def main():
    sock = nfqueue.open_socket()
    sock.setblocking(False)
    delayer, pending = Delayer(sock), b""
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    timeout = None
    while True:
        readable = select.select([sock, stdin], [], [], timeout)[0]
        if sock in readable:
            delayer.receive()
        if stdin in readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return 0          # the driver went away: stop (the kernel then drops what is held)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    answer = command(delayer, line)
                except Exception as error:  # one bad command must not stop the links
                    answer = {"error": str(error)}
                if answer is None:
                    return 0
                sys.stdout.write(json.dumps(answer) + "\n")
                sys.stdout.flush()
        timeout = delayer.release()


if __name__ == "__main__":
    sys.exit(main())
