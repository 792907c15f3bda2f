# -*- coding: utf-8 -*-
"""The per-bond watchdog: ``python3 -m bonded_openvpn_balance.balance_watchdog BOND``.

Run by ``bonded-openvpn-watchdog@BOND.service``. At start it builds the bond's whole data
path from its spec (so a reboot needs nothing else); then, about once a second, it pings
every tunnel's peer transfer address out of that tunnel's interface and keeps the nftables
map (packet) or the multipath route (flow) to the tunnels that answer. It re-adds a
tunnel's routes when its interface comes back, re-checks everything every few seconds,
and writes the set it spreads over to ``/run/bonded-openvpn/balance/BOND.live``.
Stopping it leaves the data path as it is.

It fails safe: an error in a round (a tool that prints something unexpected, a command
that hangs and is killed at its timeout, a bug) is logged and the next round retries;
each round tells systemd ``WATCHDOG=1``, so only a watchdog that really hangs is
restarted (the unit's ``WatchdogSec=``). A spec it cannot use exits with ``EX_CONFIG``
(78), which the unit does not restart: retrying cannot fix a file.

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
import traceback

from . import balance_kernel as kernel
from . import balance_liveness as liveness
from . import balance_render as render
from . import balance_spec as bspec
from . import probe

INFO, WARNING, ERROR = 6, 4, 3
SYS_NET = "/sys/class/net"
EX_CONFIG = 78  # sysexits.h; the unit's RestartPreventExitStatus=
# ip and nft answer in milliseconds; one that takes seconds is stuck. A round (probe,
# then every command) must end within ROUND_BUDGET, far inside the unit's WatchdogSec=30s.
COMMAND_TIMEOUT = 10.0
ROUND_BUDGET = 15.0
# The same error every round is logged again only this often (with a count).
REPEAT_LOG_EVERY = 60.0


def log(level, message):
    # The journal reads the <N> prefix as the priority of the line.
    sys.stdout.write("<%d>%s\n" % (level, message))
    sys.stdout.flush()


def run_command(argv, data=None, timeout=COMMAND_TIMEOUT):
    """``(rc, stdout, stderr)``; a command still running after ``timeout`` seconds is
    killed and raises CommandTimeout."""
    try:
        done = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        # subprocess.run has killed and reaped it already.
        raise kernel.CommandTimeout("'%s' did not finish in %.1f s; killed it" % (" ".join(argv), timeout))
    return done.returncode, done.stdout, done.stderr


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
    def __init__(self, spec, run=None, prober=None, links=None, clock=time.monotonic,
                 run_dir=bspec.RUN_DIR, notifier=None, sleep=time.sleep):
        self.spec, self.clock, self.run_dir, self.sleep = spec, clock, run_dir, sleep
        self.run, self.prober = run or run_command, prober or probe.probe
        self.links, self.notify = links or read_link, notify if notifier is None else notifier
        self.kernel = kernel.Kernel(self._bounded_run, run_dir)
        self.scope = kernel.Scope.bond(spec)
        settings = bspec.check_probe(spec["probe"])
        self.interval, self.timeout = settings["interval"], settings["timeout"]
        self.verify_every = settings["verify_every"]
        self.health = liveness.Health(settings["down_after"], settings["up_after"])
        self.seen_links, self.spread, self.verified_at, self.live_text = None, None, None, None
        self.round_deadline = None
        self.last_error, self.error_rounds, self.error_logged_at, self.repeats = None, 0, None, 0

    def _bounded_run(self, argv, data=None):
        """Runs a command within what is left of the round's budget."""
        left = COMMAND_TIMEOUT if self.round_deadline is None else min(
            COMMAND_TIMEOUT, self.round_deadline - self.clock())
        if left <= 0:
            raise kernel.CommandTimeout("round over its %.0f s budget before '%s'" % (ROUND_BUDGET, " ".join(argv)))
        return self.run(argv, data, timeout=left)

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
            self.notify("STATUS=spreading over tunnels %s" % ",".join(str(i) for i in bspec.effective_live(
                self.spec, self.health.live())))

    def one_round(self):
        """One step that never raises (an Exception): its error is logged, and the next
        round reconciles everything again. Returns True when the round succeeded."""
        self.round_deadline = self.clock() + ROUND_BUDGET
        try:
            self.step()
        except Exception as error:  # noqa: BLE001 - whatever fails, the bond keeps its watchdog
            self._failed(error)
            return False
        finally:
            self.round_deadline = None
        if self.error_rounds:
            log(INFO, "bond %s: rounds succeed again after %d failed" % (self.spec["bond"], self.error_rounds))
            self.notify("STATUS=spreading over tunnels %s" % ",".join(str(i) for i in bspec.effective_live(
                self.spec, self.health.live())))
            self.last_error, self.error_rounds, self.error_logged_at = None, 0, None
        return True

    def _failed(self, error):
        # Repair everything next round: the failed one may have applied only part of a change.
        self.verified_at = None
        message = _describe(error)
        now = self.clock()
        self.error_rounds += 1
        if message != self.last_error:
            log(ERROR, "bond %s: round failed, retrying next round: %s" % (self.spec["bond"], message))
            self.last_error, self.error_logged_at, self.repeats = message, now, 0
            self.notify("STATUS=round failed: %s" % message)
        else:
            self.repeats += 1
            if now - self.error_logged_at >= REPEAT_LOG_EVERY:
                log(ERROR, "bond %s: round failed again (%d more times): %s" % (self.spec["bond"], self.repeats, message))
                self.error_logged_at, self.repeats = now, 0

    def run_forever(self, rounds=None):
        """Rounds every ``interval`` seconds (``rounds``: stop after that many, for tests).
        READY=1 follows the first round whatever its outcome: the module has already applied
        the data path, and a start that waits for a broken tool would only time out and loop."""
        done = 0
        while rounds is None or done < rounds:
            started = self.clock()
            self.one_round()
            self.notify("READY=1\nWATCHDOG=1" if done == 0 else "WATCHDOG=1")
            done += 1
            self.sleep(max(0.0, self.interval - (self.clock() - started)))


def _describe(error):
    if isinstance(error, (kernel.KernelError, OSError, bspec.SpecError)):
        return str(error)
    # Anything else is a bug: say where, so the journal line is enough to report it.
    frames = traceback.extract_tb(error.__traceback__)
    where = " at %s:%d" % (os.path.basename(frames[-1].filename), frames[-1].lineno) if frames else ""
    return "%s%s: %s" % (type(error).__name__, where, error)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bonded-openvpn-watchdog", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("bond")
    parser.add_argument("--config-dir", default=bspec.CONFIG_DIR)
    parser.add_argument("--run-dir", default=bspec.RUN_DIR)
    parser.add_argument("--once", action="store_true", help="probe once, apply, and exit")
    args = parser.parse_args(argv)
    try:
        spec = bspec.load(args.bond, args.config_dir)
        watchdog = Watchdog(spec, run_dir=args.run_dir)
    except (IOError, OSError, ValueError, KeyError, TypeError) as error:
        # Retrying cannot fix a file: exit with EX_CONFIG, which the unit does not restart.
        log(ERROR, "bond %s: cannot use its balance spec, not starting (fix it by re-running the "
                   "bonded.openvpn.balance role): %s" % (args.bond, error))
        notify("STATUS=cannot use the balance spec: %s" % error)
        return EX_CONFIG
    log(INFO, "bond %s (%s side, balance %s): watching %d tunnels every %.1f s"
        % (spec["bond"], spec["role"], spec["balance"], len(spec["tunnels"]), watchdog.interval))
    if args.once:
        return 0 if watchdog.one_round() else 1
    watchdog.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
