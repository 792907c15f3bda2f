# -*- coding: utf-8 -*-
"""The per-bond watchdog: ``python3 -m bonded_openvpn_balance.balance_watchdog BOND``.

Run by ``bonded-openvpn-watchdog@BOND.service``. At start it builds the bond's whole data
path from its spec (so a reboot needs nothing else); then, in rounds of about a second,
it pings every tunnel's peer transfer address out of that tunnel's interface (several
echoes a round, balance_probe) and keeps the nftables map (packet, flowlet) or the
multipath route (flow) to the tunnels that answer and whose loss and round-trip time are
good enough, and whose base RTT is within the bond's latency cutoff of the best (steering). It re-adds a tunnel's routes, and its tbf shaper when the
bond has an egress_rate, when its interface comes back, re-checks everything every few
seconds, writes the set it spreads over to ``spec.live_path(BOND)`` and
its figures as metrics (balance_metrics; for a bond with mptcp, also its MPTCP connections
and their subflows per tunnel, mptcp_sockets). On a client, it makes the OpenVPN instance of a
dead tunnel reconnect at once (over its management socket) rather than wait for
keepalive's ping-restart, so a tunnel whose server restarted is back seconds after that
server runs again. On a client with uplinks it keeps each uplink's table and source rule,
reads each uplink's carrier every round (an uplink without it takes its tunnels out in
that round, unprobed) and puts an uplink's route back when its interface returns. Whether
the tunnels run with DCO, and whether they could (balance_dco), it reads at the first round,
when a tunnel interface changes and every 5 minutes, not every round.
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
import json
import os
import socket
import subprocess
import sys
import time
import traceback

from . import dco as balance_dco
from . import layout
from . import kernel
from . import liveness
from . import lock as balance_lock
from . import metrics
from . import probe as balance_probe
from . import render
from . import spec as bspec
from . import steering
from . import mptcp_sockets

INFO, WARNING, ERROR = 6, 4, 3
SYS_NET = "/sys/class/net"
EX_CONFIG = 78  # sysexits.h; the unit's RestartPreventExitStatus=
# ip and nft answer in milliseconds; one that takes seconds is stuck. A round (probe,
# then every command) must end within ROUND_BUDGET, far inside the unit's WatchdogSec=30s.
COMMAND_TIMEOUT = 10.0
ROUND_BUDGET = 15.0
# The same error every round is logged again only this often (with a count).
REPEAT_LOG_EVERY = 60.0
# A dead client tunnel's OpenVPN is told to reconnect once it has been dead RECONNECT_AFTER
# seconds (a tunnel starved of CPU or queue can miss a round, and a reconnect would turn
# that into a real outage), then every RECONNECT_EVERY seconds (a handshake takes well
# under this; OpenVPN itself resends its first packet every 2 s in between), and after
# RECONNECT_FAST_FOR seconds only every RECONNECT_SLOW.
RECONNECT_AFTER, RECONNECT_EVERY, RECONNECT_FAST_FOR, RECONNECT_SLOW = 1.0, 2.0, 30.0, 15.0
MANAGEMENT_TIMEOUT = 1.0
# DCO figures are read again this often even when no tunnel interface changed: a DCO module
# loaded after the instances started shows as "available" within this, not never.
DCO_EVERY = 300.0
# balance_datapath holds the bond's lock for one read-plan-apply (well under a second, a
# few on a starved host); a round waits this long, then fails and repairs the next one.
LOCK_WAIT = 10.0


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


def _read_until(sock, markers, deadline):
    answer = b""
    while not any(marker in answer for marker in markers) and time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def _state(answer):
    """(state, since) from the answer to ``state``: its line ``since,STATE,...``."""
    for line in answer.decode("utf-8", "replace").replace("\r", "").split("\n"):
        fields = line.split(",")
        if len(fields) > 1 and fields[0].isdigit():
            return fields[1], int(fields[0])
    return None, None


def reconnect(path, kicked_at=None, timeout=MANAGEMENT_TIMEOUT, force=False):
    """Makes the OpenVPN instance behind a management socket reconnect (``signal
    SIGUSR1``: restart the connection, keep the tun device) when it still believes it is
    connected (the far end restarted and it waits for ping-restart) or has been stuck in
    one state of its handshake for RECONNECT_EVERY seconds. Not when it has connected since
    ``kicked_at`` (wall clock of our last request), nor when its handshake moves on: then
    the tunnel is coming back and a restart would only break it; ``force``: in any state.
    Returns ``(done, problem)``: done is "signalled", "connected" or "connecting"."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        sock.connect(path)
        sock.sendall(b"state\r\n")
        state, since = _state(_read_until(sock, (b"\nEND",), deadline))
        if not force and state == "CONNECTED" and kicked_at is not None and since is not None \
                and since >= int(kicked_at):
            return "connected", None
        if not force and state not in (None, "CONNECTED") and since is not None \
                and time.time() - since < RECONNECT_EVERY:
            return "connecting", None
        sock.sendall(b"signal SIGUSR1\r\n")
        answer = _read_until(sock, (b"SUCCESS:", b"ERROR:"), deadline)
    except (OSError, socket.error) as error:
        return None, "%s: %s" % (path, getattr(error, "strerror", None) or error)
    finally:
        sock.close()
    if b"SUCCESS:" in answer:
        return "signalled", None
    return None, "%s answered %r" % (path, answer.decode("utf-8", "replace").strip()[-200:])


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


def read_carrier(interface):
    """True when the interface is up and has carrier (the kernel refuses to read
    ``carrier`` of a device that is administratively down), False otherwise."""
    try:
        with open(os.path.join(SYS_NET, interface, "carrier")) as handle:
            return handle.read().strip() == "1"
    except (IOError, OSError):
        return False


class Watchdog(object):
    def __init__(self, spec, run=None, prober=None, links=None, clock=time.monotonic,
                 run_dir=layout.BALANCE_RUN_DIR, notifier=None, sleep=time.sleep, reconnector=None, counters=None,
                 carrier=None, mptcp_reader=None, dco_reader=None):
        self.spec, self.clock, self.run_dir, self.sleep = spec, clock, run_dir, sleep
        settings = bspec.check_probe(spec["probe"])
        self.interval, self.timeout = settings["interval"], settings["timeout"]
        self.run = run or run_command
        self.prober = prober or balance_probe.Sampler(self.interval, settings["probes"])
        self.links, self.notify = links or read_link, notify if notifier is None else notifier
        self.carrier, self.uplinks_up, self.seen_uplinks = carrier or read_carrier, {}, None
        self.reconnect, self.counters = reconnector or reconnect, counters or metrics.interface_counters
        # mptcp_reader(spec, run) -> mptcp_sockets.read's figures; asked only for a bond with mptcp.
        self.mptcp_reader, self.mptcp_error = mptcp_reader or mptcp_sockets.read, None
        # dco_reader(spec, run) -> dco.read_bond's result; asked at the first round, when a tunnel
        # interface changes (an instance restarted, maybe on a new OpenVPN) and every DCO_EVERY s.
        self.dco_reader, self.dco, self.dco_links, self.dco_said = dco_reader or read_dco, None, None, None
        self.dco_at = None
        self.kernel = kernel.Kernel(self._bounded_run, run_dir)
        self.scope = kernel.Scope.bond(spec)
        self.verify_every = settings["verify_every"]
        self.health = liveness.Health(settings["down_after"], settings["up_after"])
        self.quality = steering.Steering(settings["loss_threshold"], settings["loss_window"], settings["rtt_factor"],
                                         settings["rtt_margin"], settings["hold"],
                                         latency_cutoff=bspec.latency_cutoff(spec))
        self.rotation, self.kicks, self.output_errors = [], {}, {}
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

    def uplink_round(self):
        """Which tunnels ride an uplink without carrier ({index: why}); logs each uplink
        that goes or comes back. Such tunnels are not probed: they leave at once, not
        after a probe timeout, all of them in the same round."""
        stranded = {}
        for uplink in bspec.uplinks(self.spec):
            up = self.carrier(uplink["interface"])
            name = "uplink %s (%s)" % (uplink["name"], uplink["interface"])
            if self.uplinks_up.get(uplink["name"], True) != up:
                log(INFO if up else WARNING, "%s %s: tunnels %s" % (
                    name, "has carrier again" if up else "is down or has no carrier",
                    ", ".join(str(index) for index in uplink["tunnels"])))
            self.uplinks_up[uplink["name"]] = up
            if not up:
                for index in uplink["tunnels"]:
                    stranded[index] = "%s is down or has no carrier" % name
        return stranded

    def probe_round(self):
        """Observes every tunnel once; returns the interfaces' state and the transitions."""
        links = dict((t["interface"], self.links(t["interface"])) for t in self.spec["tunnels"])
        stranded = self.uplink_round()
        # A tunnel with IPv6 inside is probed in both families: one lost in either counts.
        targets = dict((t["index"], (t["peer_address"], links[t["interface"]]["ifindex"])
                        + ((t["peer_address6"],) if t.get("peer_address6") else ()))
                       for t in self.spec["tunnels"]
                       if (links[t["interface"]] or {}).get("up") and t["index"] not in stranded)
        results = self.prober(targets, self.timeout) if targets else {}
        now = self.clock()
        transitions = []
        for tunnel in self.spec["tunnels"]:
            index = tunnel["index"]
            result = results.get(index)
            if result is not None:
                self.quality.add(index, now, _samples(result))
            ok = bool(result and result["received"])
            known = index in self.health.alive     # a first observation is no transition
            change = self.health.observe(index, ok, immediate=result is None)
            if change:
                # A dead tunnel's lost echoes say nothing about its quality once it is back.
                self.quality.forget(index)
                if known:
                    self.quality.count(index, *((steering.LEAVE, steering.DEAD) if change == "down"
                                                else (steering.RETURN, steering.ALIVE)))
                transitions.append((tunnel, change, stranded.get(index) or self._why(tunnel, result)))
        return links, transitions

    def _why(self, tunnel, result):
        if result is None:
            return "interface %s is missing or down" % tunnel["interface"]
        if result["received"]:
            return "%s answers in %s ms" % (_peers(tunnel), result["rtt_ms"])
        return "no answer from %s in %.1f s%s" % (
            _peers(tunnel), self.timeout, ": %s" % result["error"] if result["error"] else "")

    def step(self):
        links, transitions = self.probe_round()
        for tunnel, change, why in transitions:
            reason = steering.DEAD if change == "down" else steering.ALIVE
            log(WARNING if change == "down" else INFO,
                "tunnel %d (%s) %s: %s (reason %s)" % (tunnel["index"], tunnel["interface"], change, why, reason))
        now = self.clock()
        alive = self.health.live()
        names = dict((tunnel["index"], tunnel["interface"]) for tunnel in self.spec["tunnels"])
        for index, direction, reason, detail in self.quality.judge(alive, now):
            log(WARNING if direction == steering.LEAVE else INFO, "tunnel %d (%s) %s rotation (reason %s): %s"
                % (index, names[index], "leaves" if direction == steering.LEAVE else "returns to", reason, detail))
        self.rotation = self.quality.in_rotation(alive)
        spread = bspec.effective_live(self.spec, self.rotation)
        reasons = []
        if spread != self.spread:
            reasons.append("spreading over %s" % (",".join(str(i) for i in spread)))
        if links != self.seen_links and self.seen_links is not None:
            reasons.append("tunnel interfaces changed")
        if self.uplinks_up != self.seen_uplinks and self.seen_uplinks is not None:
            # An uplink that comes back needs its route again (the kernel dropped it).
            reasons.append("uplinks changed")
        if self.verified_at is None or now - self.verified_at >= self.verify_every:
            reasons.append("periodic check")
        if reasons:
            self.reconcile(reasons)
            self.spread, self.seen_links, self.verified_at = spread, links, now
            self.seen_uplinks = dict(self.uplinks_up)
        self.refresh_dco(links, now)
        self.write_metrics(now, alive)
        # Last: slow management sockets must not delay taking a dead tunnel out.
        self.reconnect_dead(now)

    def reconnect_dead(self, now):
        """Client side: a dead tunnel's OpenVPN reconnects now, not at its ping-restart."""
        for tunnel in self.spec["tunnels"]:
            index, path = tunnel["index"], tunnel.get("management")
            if not path or self.health.alive.get(index) is not False:
                self.kicks.pop(index, None)
                continue
            first, last, wall = self.kicks.setdefault(index, (now, None, None))
            every = RECONNECT_EVERY if now - first < RECONNECT_FAST_FOR else RECONNECT_SLOW
            if now - first < RECONNECT_AFTER or (last is not None and now - last < every):
                continue
            if self.round_deadline is not None and self.round_deadline - self.clock() < 2 * MANAGEMENT_TIMEOUT:
                return    # many dead tunnels with slow sockets: the rest next round, within WatchdogSec=
            done, problem = self.reconnect(path, wall)
            self.kicks[index] = (first, now, time.time() if done == "signalled" else wall)
            if last is None:
                log(INFO if problem is None else WARNING, "tunnel %d (%s) is dead: %s" % (
                    index, tunnel["interface"], "told its OpenVPN to reconnect now (and every %g s while dead)"
                    % RECONNECT_EVERY if problem is None else "could not tell its OpenVPN to reconnect: %s" % problem))

    def reconnect_riders(self, rules_added):
        """Tunnels that may have connected before their uplink's rule (at boot) reconnect through it."""
        done = []
        for uplink, index, problem in reconnect_riders(self.spec, rules_added, self.reconnect):
            done.append("%d%s" % (index, "" if problem is None else " (%s)" % problem))
            self.kicks.pop(index, None)
        if done:
            log(INFO, "uplink rules in place: told tunnels %s to reconnect through their uplinks" % ", ".join(done))

    def read_mptcp(self):
        """The bond's MPTCP connections and subflows (one read of /proc/net/tcp, one ss), or
        None: for a bond without mptcp, and when they cannot be read (said once per new
        error; the round goes on, its metrics without them)."""
        if not self.spec.get("mptcp"):
            return None
        try:
            found = self.mptcp_reader(self.spec, self._bounded_run)
        except Exception as error:  # noqa: BLE001 - a figure is not worth the round's reconnects
            message = str(error) if isinstance(error, mptcp_sockets.ReadError) else _describe(error)
            if self.mptcp_error != message:
                log(WARNING, "bond %s: cannot read its MPTCP connections and subflows, metrics go without them: %s"
                    % (self.spec["bond"], message))
                self.mptcp_error = message
            return None
        self.mptcp_error = None
        return found

    def refresh_dco(self, links, now):
        """Reads whether the bond's tunnels run with DCO, and whether they could, when the
        tunnel interfaces differ from the last read (the first round included) or that read is
        DCO_EVERY old; says in the journal when that changes. A read that fails leaves the DCO
        figures unknown."""
        if links == self.dco_links and now - self.dco_at < DCO_EVERY:
            return
        self.dco_links, self.dco_at = links, now
        try:
            self.dco = self.dco_reader(self.spec, self._bounded_run)
            level, said = _dco_news(self.dco)
        except Exception as error:  # noqa: BLE001 - a figure is not worth the round
            self.dco, level = None, WARNING
            said = "cannot tell whether DCO is used, metrics go without it: %s" % _describe(error)
        if said != self.dco_said:
            log(level, "bond %s: %s" % (self.spec["bond"], said))
            self.dco_said = said

    def write_metrics(self, now, alive):
        figures = metrics.collect(self.spec, alive, self.rotation, self.quality, now, self.counters, self.uplinks_up,
                                  self.read_mptcp(), self.dco)
        outputs = [(metrics.json_path(self.spec["bond"], self.run_dir), json.dumps(figures, sort_keys=True) + "\n")]
        if self.spec.get("metrics_dir"):
            outputs.append((metrics.path(self.spec["bond"], self.spec["metrics_dir"]), metrics.render(figures)))
        for path, text in outputs:
            try:
                kernel.write_atomic(path, text)
                self.output_errors.pop(path, None)
            except (IOError, OSError) as error:
                # Metrics are not worth failing a round for; say so once per new error.
                if self.output_errors.get(path) != str(error):
                    log(WARNING, "bond %s: cannot write %s: %s" % (self.spec["bond"], path, error))
                    self.output_errors[path] = str(error)

    def reconcile(self, reasons):
        # The kernel and the live file change together, under the lock balance_datapath
        # takes to read them: it never sees one without the other.
        with balance_lock.held([balance_lock.lock_path(self.spec["bond"], self.run_dir)], LOCK_WAIT):
            current = self.kernel.read(self.scope)
            want = render.desired(self.spec, self.rotation, current.up())
            changes = kernel.plan_changes(want, current, self.scope)
            if changes:
                self.kernel.apply(changes)
                log(INFO, "%s; applied: %s" % ("; ".join(reasons), "; ".join(changes.summary)))
            text = bspec.format_live(self.spec, self.rotation)
            if text != self.live_text:
                kernel.write_atomic(bspec.live_path(self.spec["bond"], self.run_dir), text)
                self.live_text = text
                self.notify("STATUS=spreading over tunnels %s" % ",".join(str(i) for i in bspec.effective_live(
                    self.spec, self.rotation)))
        if changes:
            self.reconnect_riders(want.rules - current.rules)
        self.shape(current.interfaces, reasons)

    def shape(self, interfaces, reasons):
        """Keeps each existing tunnel interface's root qdisc at the bond's egress_rate (a
        new interface, after its OpenVPN restarted, has the kernel's default), or takes
        the watchdog's own tbf away when the bond has no egress_rate any more."""
        want = render.shaping(self.spec, interfaces)
        if not want:
            return
        commands = kernel.plan_qdiscs(want, self.kernel.read_qdiscs())
        if commands:
            self.kernel.apply_qdiscs(commands)
            log(INFO, "%s; applied: tc %s" % ("; ".join(reasons), "; tc ".join(commands)))

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
                self.spec, self.rotation)))
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


def read_dco(spec, run):
    """dco.read_bond on this host: one ``openvpn --version`` (through ``run``, within the
    round's budget; no OpenVPN reads as no version), the kernel's modules, the bond's files."""
    try:
        dummy, out, err = run(["openvpn", "--version"])
    except OSError:
        out, err = "", ""
    # Older OpenVPN releases exit 1 after printing their version: only the text counts.
    return balance_dco.read_bond(spec, out or err)


def reconnect_riders(spec, rules_added, reconnector=reconnect):
    """``[(uplink, tunnel index, problem or None)]``: each client tunnel whose uplink's rule
    is among ``rules_added`` told to reconnect through it (spec.riders_of), in any
    state. Shared by the watchdog and the balance_datapath module."""
    return [(uplink, index, reconnector(path, force=True)[1])
            for uplink, index, path in bspec.riders_of(spec, rules_added)]


def _dco_news(found):
    """(level, journal line) of dco.read_bond's result: a warning only when DCO could be on
    and some tunnel runs without it."""
    if not found["available"]:
        return INFO, "DCO not available: %s" % found["reason"]
    off = sorted(index for index, active in found["tunnels"].items() if active is False)
    if off:
        return WARNING, "DCO available (%s) but tunnels %s run on tun devices; their journals say why" % (
            found["module"], ",".join(str(index) for index in off))
    return INFO, "DCO available (%s)" % found["module"]


def _peers(tunnel):
    return " and ".join(a for a in (tunnel["peer_address"], tunnel.get("peer_address6")) if a)


def _samples(result):
    """One entry per echo judged: RTT seconds, or None when lost. A prober that reports
    only counts (one echo a round) gives as many samples as it sent."""
    if "samples" in result:
        return result["samples"]
    rtt = result["rtt_ms"] / 1000.0 if result.get("rtt_ms") is not None else 0.0
    return [rtt] * result["received"] + [None] * max(0, result["sent"] - result["received"])


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
    parser.add_argument("--config-dir", default=layout.BALANCE_CONFIG_DIR)
    parser.add_argument("--run-dir", default=layout.BALANCE_RUN_DIR)
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
    log(INFO, "bond %s (%s side, balance %s): watching %d tunnels every %.1f s, latency cutoff %s"
        % (spec["bond"], spec["role"], spec["balance"], len(spec["tunnels"]), watchdog.interval,
           "%d ms" % spec["latency_cutoff"] if spec.get("latency_cutoff") else "off"))
    if args.once:
        return 0 if watchdog.one_round() else 1
    watchdog.run_forever()
    return 0


if __name__ == "__main__":
    # A program's exit status for systemd (RestartPreventExitStatus), not a module's exit.
    raise SystemExit(main())
