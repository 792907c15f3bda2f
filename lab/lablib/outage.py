"""One TCP flow through a bond while one client tunnel dies (kill -9 of its OpenVPN) and
comes back: the receiver's throughput second by second, with the watchdog's and systemd's
own times. Used by the links gate and bench/links for bonds with mptcp.

The receiver's figures (iperf3 --get-server-output) are the ones that count: behind an
MPTCP relay the sender only sees its own hop to the relay on its gateway.
"""
import json
import re
import statistics
import subprocess
import time

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout, metrics
from lablib import bondlab
from lablib.podman import exec_in


# A second of the lab's iperf3 server (text mode): "[  5]   3.00-4.00   sec  10.6 MBytes  89.0 Mbits/sec";
# the totals at the end say "receiver" and are left out.
INTERVAL = re.compile(r"^\[\s*\d+\]\s+([\d.]+)-([\d.]+)\s+sec\s+[\d.]+\s+\w*Bytes\s+([\d.]+)\s+([KMG]?)bits/sec\s*$")
SCALE = {"": 1e-6, "K": 1e-3, "M": 1.0, "G": 1e3}


def _intervals(report):
    found = []
    for line in (report.get("server_output_text") or "").splitlines():
        match = INTERVAL.match(line.strip())
        if match:
            found.append((float(match.group(1)), float(match.group(3)) * SCALE[match.group(4)]))
    return found


def kill_during_transfer(lab, tunnel, seconds=30, kill_at=8.0, down_for=10.0):
    """kill -9 of the client's OpenVPN of ``tunnel`` ``kill_at`` s into a one-flow transfer
    of ``seconds``; the unit is kept stopped (systemd would restart it within 2 s) for
    ``down_for`` s, then started. Returns a dict of the timeline: ``series`` [(second,
    Mbit/s received)], the times (s from the transfer's start) of the kill, of the watchdog
    taking the tunnel out and putting it back, ``error`` (iperf3's, e.g. a reset), the
    medians before the kill, while the tunnel was out, and once it was back, and
    ``late_metrics``: the client watchdog's metrics JSON 3 s before the end."""
    unit = layout.INSTANCE_UNIT % ("%s-%d" % (bondlab.BOND, tunnel))
    started = time.time()
    iperf = subprocess.Popen(
        ["podman", "exec", lab.sender, "iperf3", "--client", lab.lan_b + ".10", "--time", str(seconds),
         "--interval", "1", "--json", "--get-server-output"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    time.sleep(kill_at)
    killed = time.time()
    exec_in(lab.client, ["systemctl", "kill", "--signal", "KILL", unit])
    exec_in(lab.client, ["systemctl", "stop", unit], check=False)
    time.sleep(down_for)
    restarted = time.time()
    exec_in(lab.client, ["systemctl", "start", unit])
    # The watchdog's figures near the end, while the connection is still open.
    time.sleep(max(0.0, started + seconds - 3 - time.time()))
    late_metrics = exec_in(lab.client, ["cat", metrics.json_path(bondlab.BOND, layout.BALANCE_RUN_DIR)],
                           check=False).stdout
    out, err = iperf.communicate(timeout=seconds + 60)
    try:
        report = json.loads(out)
    except ValueError:
        report = {"error": "no JSON from iperf3 (rc %d): %s %s" % (iperf.returncode, out[-300:], err[-300:])}
    events = bondlab.watchdog_events(lab.client, started)
    name = "tunnel %d (%s-%d)" % (tunnel, "bo-" + bondlab.BOND, tunnel)
    out_at = bondlab.first(events, name + " down", after=killed)
    back_at = bondlab.first(events, name + " up", after=restarted)
    # The transfer starts once iperf3 connected, a moment after the command: offsets are
    # to the command, so a second's interval may lean a fraction early.

    def rel(at):
        return None if at is None else at - started

    series = _intervals(report)
    try:
        late = json.loads(late_metrics)
    except ValueError:
        late = None
    timeline = {"series": series, "kill": rel(killed), "out": rel(out_at), "restart": rel(restarted),
                "back": rel(back_at), "error": report.get("error"), "tunnel": tunnel, "late_metrics": late}
    timeline.update(summarize(timeline))
    return timeline


def summarize(timeline):
    """Medians of the receiver's seconds: before the kill, from 3 s after it until the
    tunnel is started again, and from 3 s after the watchdog put it back; ``lowest`` is the
    lowest second after the kill (0: the transfer stalled)."""
    series, kill, restart, back = timeline["series"], timeline["kill"], timeline["restart"], timeline["back"]

    def pick(low, high):
        return [mbps for at, mbps in series if low <= at and at + 1 <= high]

    def median(values):
        return statistics.median(values) if values else None

    before = pick(1, kill)
    during = pick(kill + 3, restart)
    after = pick(back + 3, float("inf")) if back is not None else []
    rest = pick(kill, float("inf"))
    return {"before": median(before), "during": median(during), "after": median(after),
            "lowest": min(rest) if rest else None}


def _f(value):
    return "?" if value is None else "%.1f" % value


def describe(timeline):
    f = _f
    return ("kill -9 at %s s, out of rotation at %s s, started again at %s s, back at %s s; Mbit/s received: "
            "%s before, %s while out, %s once back, lowest second after the kill %s; %s; per second: %s"
            % (f(timeline["kill"]), f(timeline["out"]), f(timeline["restart"]), f(timeline["back"]),
               f(timeline["before"]), f(timeline["during"]), f(timeline["after"]), f(timeline["lowest"]),
               "iperf3 error: %s" % timeline["error"] if timeline["error"] else "no reset",
               " ".join("%.0f" % mbps for _at, mbps in timeline["series"])))
