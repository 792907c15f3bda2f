# -*- coding: utf-8 -*-
"""The per-bond watchdog: ``python3 -m bonded_openvpn_balance.balance_watchdog BOND``.

Run by ``bonded-openvpn-watchdog@BOND.service``. At start it builds the bond's whole data
path from its spec (so a reboot needs nothing else); then, about once a second, it pings
every tunnel's peer transfer address out of that tunnel's interface and keeps the nftables
map (packet) or the multipath route (flow) to the tunnels that answer. It re-adds a
tunnel's routes when its interface comes back, re-checks everything every few seconds,
and writes the set it spreads over to ``/run/bonded-openvpn/balance/BOND.live``.
Stopping it leaves the data path as it is.

Standard library only: installed on the host by the balance_datapath module.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import socket
import subprocess
import sys
import time

from . import balance_kernel as kernel
from . import balance_liveness as liveness
from . import balance_render as render
from . import balance_spec as bspec
from . import probe

INFO, WARNING, ERROR = 6, 4, 3
SYS_NET = "/sys/class/net"


def log(level, message):
    # The journal reads the <N> prefix as the priority of the line.
    sys.stdout.write("<%d>%s\n" % (level, message))
    sys.stdout.flush()


def run_command(argv, data=None):
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True)
    out, err = process.communicate(data)
    return process.returncode, out, err


def notify(message):
    """sd_notify(3) without libsystemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(address)
        sock.sendall(message.encode("utf-8"))
    except (OSError, socket.error):
        pass
    finally:
        sock.close()


def read_link(interface):
    """``{"ifindex", "up"}`` from sysfs, or None when the interface does not exist."""
    try:
        with open(os.path.join(SYS_NET, interface, "ifindex")) as handle:
            ifindex = int(handle.read())
        with open(os.path.join(SYS_NET, interface, "flags")) as handle:
            flags = int(handle.read(), 16)
    except (IOError, OSError, ValueError):
        return None
    return {"ifindex": ifindex, "up": bool(flags & 0x1)}


class Watchdog(object):
    def __init__(self, spec, run=run_command, prober=probe.probe, links=read_link, clock=time.monotonic,
                 run_dir=bspec.RUN_DIR):
        self.spec, self.prober, self.links, self.clock, self.run_dir = spec, prober, links, clock, run_dir
        self.kernel = kernel.Kernel(run, run_dir)
        self.scope = kernel.Scope.bond(spec)
        settings = spec["probe"]
        self.interval, self.timeout = float(settings["interval"]), float(settings["timeout"])
        self.verify_every = float(settings["verify_every"])
        self.health = liveness.Health(int(settings["down_after"]), int(settings["up_after"]))
        self.seen_links, self.spread, self.verified_at, self.live_text = None, None, None, None

    def probe_round(self):
        """Observes every tunnel once; returns the interfaces' state and the transitions."""
        links = dict((t["interface"], self.links(t["interface"])) for t in self.spec["tunnels"])
        targets = dict((t["index"], (t["peer_address"], links[t["interface"]]["ifindex"]))
                       for t in self.spec["tunnels"] if (links[t["interface"]] or {}).get("up"))
        results = self.prober(targets, self.timeout) if targets else {}
        transitions = []
        for tunnel in self.spec["tunnels"]:
            index = tunnel["index"]
            result = results.get(index)
            ok = bool(result and result["received"])
            change = self.health.observe(index, ok, immediate=result is None)
            if change:
                transitions.append((tunnel, change, self._why(tunnel, result)))
        return links, transitions

    def _why(self, tunnel, result):
        if result is None:
            return "interface %s is missing or down" % tunnel["interface"]
        if result["received"]:
            return "%s answers in %s ms" % (tunnel["peer_address"], result["rtt_ms"])
        return "no answer from %s in %.1f s%s" % (
            tunnel["peer_address"], self.timeout, ": %s" % result["error"] if result["error"] else "")

    def step(self):
        links, transitions = self.probe_round()
        for tunnel, change, why in transitions:
            log(WARNING if change == "down" else INFO,
                "tunnel %d (%s) %s: %s" % (tunnel["index"], tunnel["interface"], change, why))
        spread = bspec.effective_live(self.spec, self.health.live())
        now = self.clock()
        reasons = []
        if spread != self.spread:
            reasons.append("spreading over %s" % (",".join(str(i) for i in spread)))
        if links != self.seen_links and self.seen_links is not None:
            reasons.append("tunnel interfaces changed")
        if self.verified_at is None or now - self.verified_at >= self.verify_every:
            reasons.append("periodic check")
        if reasons:
            self.reconcile(reasons)
            self.spread, self.seen_links, self.verified_at = spread, links, now

    def reconcile(self, reasons):
        current = self.kernel.read(self.scope)
        want = render.desired(self.spec, self.health.live(), current.up())
        changes = kernel.plan_changes(want, current, self.scope)
        if changes:
            self.kernel.apply(changes)
            log(INFO, "%s; applied: %s" % ("; ".join(reasons), "; ".join(changes.summary)))
        text = bspec.format_live(self.spec, self.health.live())
        if text != self.live_text:
            kernel.write_atomic(bspec.live_path(self.spec["bond"], self.run_dir), text)
            self.live_text = text
            notify("STATUS=spreading over tunnels %s" % ",".join(str(i) for i in bspec.effective_live(
                self.spec, self.health.live())))

    def run_forever(self):
        ready = False
        while True:
            started = self.clock()
            try:
                self.step()
                if not ready:
                    notify("READY=1")
                    ready = True
            except (kernel.KernelError, OSError) as error:
                # Keep probing: the next round retries, and a dead tunnel must still leave the map.
                log(ERROR, "bond %s: %s" % (self.spec["bond"], error))
                self.verified_at = None
            time.sleep(max(0.0, self.interval - (self.clock() - started)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bonded-openvpn-watchdog", description=__doc__.split("\n\n")[0])
    parser.add_argument("bond")
    parser.add_argument("--config-dir", default=bspec.CONFIG_DIR)
    parser.add_argument("--run-dir", default=bspec.RUN_DIR)
    parser.add_argument("--once", action="store_true", help="probe once, apply, and exit")
    args = parser.parse_args(argv)
    try:
        spec = bspec.load(args.bond, args.config_dir)
    except (IOError, OSError, bspec.SpecError) as error:
        log(ERROR, "bond %s: cannot read its balance spec: %s" % (args.bond, error))
        return 1
    watchdog = Watchdog(spec, run_dir=args.run_dir)
    log(INFO, "bond %s (%s side, balance %s): watching %d tunnels every %.1f s"
        % (spec["bond"], spec["role"], spec["balance"], len(spec["tunnels"]), watchdog.interval))
    if args.once:
        watchdog.step()
        return 0
    watchdog.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
