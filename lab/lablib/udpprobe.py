"""Paced UDP streams with sequence numbers and send times, and what their receiver saw: the
WAN gate's traffic, run from the host in a container's network namespace (nsenter -n; the
lab image's python3 would do too). Containers share the host's CLOCK_MONOTONIC, so receive
time minus send time is the one-way delay.

    python3 udpprobe.py send DST SECONDS SIZE PORT:MBPS [PORT:MBPS ...]   (source port = PORT)
    python3 udpprobe.py recv IDLE PORT [PORT ...] > records               (until IDLE s quiet)

Rates count the bytes a link's shaper sees: UDP payload + 8 + IP 20 + Ethernet 14.
Records: (port, seq, sent ns, received ns) packed as RECORD. The analysis functions below
are pure (unit-tested)."""
import select
import socket
import struct
import sys
import time

HEADER = struct.Struct("!QQ")          # seq, send time (ns, CLOCK_MONOTONIC)
RECORD = struct.Struct("!HIQQ")        # port, seq, sent ns, received ns
OVERHEAD = 8 + 20 + 14


def send(dst, seconds, size, flows):
    """flows: [(port, Mbit/s)]; each paced on its own schedule, all from one loop."""
    socks, plan = [], []
    start = time.monotonic() + 0.05
    for port, mbps in flows:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        sock.bind(("0.0.0.0", port))
        sock.connect((dst, port))
        socks.append(sock)
        plan.append([(size + OVERHEAD) * 8 / (mbps * 1e6), 0])     # interval, next seq
    padding = b"\0" * (size - HEADER.size)
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        soonest = end
        for sock, entry in zip(socks, plan):
            interval = entry[0]
            due = start + entry[1] * interval
            while due <= now:           # behind (descheduled): catch up, as a sender would
                try:
                    sock.send(HEADER.pack(entry[1], time.monotonic_ns()) + padding)
                except OSError:
                    pass               # a full qdisc refuses (ENOBUFS): that packet is lost
                entry[1] += 1
                due = start + entry[1] * interval
            soonest = min(soonest, due)
        pause = soonest - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return [entry[1] for entry in plan]


def receive(idle, ports, out):
    socks = {}
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind(("0.0.0.0", port))
        sock.setblocking(False)
        socks[sock] = port
    sys.stderr.write("ready\n")
    sys.stderr.flush()
    records, last = [], None
    started = time.monotonic()
    while True:
        wait = idle if last is None else last + idle - time.monotonic()
        if last is None and time.monotonic() - started > 120:
            break
        if wait <= 0:
            break
        ready = select.select(list(socks), [], [], wait)[0]
        for sock in ready:
            while True:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    break
                received = time.monotonic_ns()
                seq, sent = HEADER.unpack_from(data)
                records.append(RECORD.pack(socks[sock], seq, sent, received))
                last = time.monotonic()
    out.write(b"".join(records))
    out.flush()


def records(data):
    """[(port, seq, sent s, received s)] from a receiver's output."""
    return [(port, seq, sent / 1e9, received / 1e9) for port, seq, sent, received in RECORD.iter_unpack(data)]


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def reordered(seqs):
    """How many packets arrived after one with a higher sequence number."""
    highest, count = -1, 0
    for seq in seqs:
        if seq < highest:
            count += 1
        else:
            highest = seq
    return count


def delivered_mbps(times, size, start, end):
    """Mbit/s (shaper bytes) received between start and end (seconds, receive times)."""
    count = sum(1 for t in times if start <= t < end)
    return count * (size + OVERHEAD) * 8 / (end - start) / 1e6


def main(argv):
    if argv[1] == "send":
        flows = [(int(p), float(r)) for p, r in (item.split(":") for item in argv[5:])]
        sent = send(argv[2], float(argv[3]), int(argv[4]), flows)
        sys.stdout.write(" ".join(map(str, sent)) + "\n")
    elif argv[1] == "recv":
        receive(float(argv[2]), [int(p) for p in argv[3:]], sys.stdout.buffer)
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
