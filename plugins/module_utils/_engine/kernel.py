# -*- coding: utf-8 -*-
"""Reads the balancer's objects from the kernel (ip, nft) and brings them to a desired
state with as few commands as possible: one ``ip -batch`` for addresses, one atomic
``nft -f`` transaction, one ``ip -batch`` for rules and routes.

Only objects in a ``Scope`` are looked at: routes and rules tagged with the balancer's
protocol number, nftables tables with its prefix, and bundle addresses it was told about.
``run(argv, data=None) -> (rc, stdout, stderr)`` is the only way out, so the module (with
check mode) and the watchdog (plain subprocess) share this code.

Standard library only: also installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from . import layout
from . import render
from . import spec as bspec
from . import safe_text

# Terse: without set elements, which flowlet mode's dynamic sets change with every flow; a
# listing with them would never match the snapshot and every check would reload the table.
LIST_TABLE = ["nft", "-t", "list", "table"]
# The handle of the tbf root qdiscs the watchdog sets ("b0d" for bonded): a tbf with any
# other handle is someone else's and is never replaced or removed.
QDISC_HANDLE = layout.QDISC_HANDLE
# tc converts a burst into kernel ticks with the clock it reads from here; without it tc
# silently assumes 1 tick/us, and the bucket ends up 15.6 times smaller than asked (below
# one packet for small rates), so every packet is dropped.
PSCHED = "/proc/net/psched"
# What tc reports back after its own rounding into ticks: a match within these bounds is
# the shaper we set, and is left alone (no replace every round).
BURST_TOLERANCE, LATENCY_TOLERANCE = 0.01, 0.05
ROUTE_TYPES = {None: "unicast", "1": "unicast", "unicast": "unicast", "7": "unreachable", "unreachable": "unreachable"}
# Present whenever the kernel has IPv6 (absent when booted with ipv6.disable=1, where every
# 'ip -6' fails).
IF_INET6 = "/proc/net/if_inet6"


class KernelError(RuntimeError):
    pass


class CommandTimeout(KernelError):
    """A command that did not finish in time (and was killed)."""


class Scope(object):
    """What one reconcile may change. ``main_dsts`` None: every main-table route we own."""

    # uplink_priorities (1, 0) is an empty range: a scope without uplink rules.
    # endpoints: the transfer addresses whose MPTCP endpoints are ours (empty: MPTCP is not
    # looked at, so a host without it never runs 'ip mptcp').
    def __init__(self, priorities, tables, nft_tables=None, main_dsts=None, addresses=(), uplink_priorities=(1, 0),
                 endpoints=()):
        self.priorities, self.tables, self.uplink_priorities = priorities, tables, uplink_priorities
        self.nft_tables, self.main_dsts, self.addresses = nft_tables, main_dsts, set(addresses)
        self.endpoints = set(endpoints)

    @classmethod
    def bond(cls, spec):
        return cls(bspec.priority_range(spec["id"]), bspec.table_range(spec["id"]),
                   nft_tables={bspec.nft_table(spec["bond"])}, main_dsts=set(bspec.destinations(spec)),
                   addresses=set(a for a in (spec["local_bundle"], spec.get("local_bundle6")) if a),
                   uplink_priorities=bspec.uplink_priority_range(spec["id"]),
                   endpoints=mptcp_addresses([spec]))

    @classmethod
    def host(cls, addresses, endpoints=()):
        return cls(bspec.all_priorities(), bspec.all_tables(), addresses=addresses,
                   uplink_priorities=bspec.all_uplink_priorities(), endpoints=endpoints)

    def has_rule(self, rule):
        return any(first <= rule.priority <= last for first, last in (self.priorities, self.uplink_priorities))

    def has_route(self, route):
        if route.table == layout.MAIN_TABLE:
            return self.main_dsts is None or route.dst in self.main_dsts
        return self.tables[0] <= route.table <= self.tables[1]

    def wants_ipv6(self):
        """Whether the IPv6 routes are to be read: a scope of every route we own, or one
        with an IPv6 destination (an IPv4-only bond's watchdog never runs 'ip -6')."""
        return self.main_dsts is None or any(":" in dst for dst in self.main_dsts)

    def has_nft_table(self, name):
        if self.nft_tables is None:
            return bspec.bond_of_nft_table(name) is not None
        return name in self.nft_tables


def mptcp_addresses(specs):
    """The transfer addresses of the bonds with MPTCP: where their endpoints may be."""
    return set(tunnel["local_address"] for spec in specs if spec and spec.get("mptcp") for tunnel in spec["tunnels"])


class Current(object):
    def __init__(self):
        self.endpoints = {}   # address -> {"id": int, "dev": name or None}, ours only
        self.mptcp_subflows = None  # the host's subflow limit (None: not read)
        self.mptcp_accepted = 0
        self.addresses = set()
        self.rules = set()
        self.routes = {}
        # (family, name) -> {"listing": text, "input": what we applied, or None if it drifted}
        self.nft = {}
        self.interfaces = {}  # name -> {"ifindex": int, "up": bool}

    def up(self):
        return set(name for name, link in self.interfaces.items() if link["up"])


def _json(text):
    return json.loads(text) if text.strip() else []


def host_prefix(address):
    return "%s/128" % address if ":" in address else "%s/32" % address


def parse_addresses(text):
    """Host addresses (/32, and /128 for IPv6) on lo, from ``ip -j addr show dev lo``."""
    found = set()
    for link in _json(text):
        for info in link.get("addr_info", []):
            # ::1 is lo's own, never a bundle address.
            if (info.get("family"), info.get("prefixlen")) in (("inet", 32), ("inet6", 128)) and info["local"] != "::1":
                found.add(info["local"])
    return found


def parse_rules(text, version=4):
    """Our policy rules (protocol 194), from ``ip -N -j rule show`` (or ``ip -6 ...`` with
    ``version`` 6): a tunnel's by fwmark, an uplink's by one source address."""
    found = set()
    for rule in _json(text):
        if str(rule.get("protocol")) != str(layout.ROUTE_PROTOCOL):
            continue
        if "fwmark" in rule:
            found.add(render.Rule(int(rule["priority"]), int(rule["fwmark"], 0), int(rule["table"]), None, version))
        elif rule.get("src") not in (None, "all") and rule.get("srclen", 32) == 32 and version == 4:
            found.add(render.Rule(int(rule["priority"]), None, int(rule["table"]), rule["src"]))
    return found


def _dst(value, version=4):
    if value == "default":
        return "::/0" if version == 6 else "0.0.0.0/0"
    return value if "/" in value else value + ("/128" if version == 6 else "/32")


def parse_routes(text, version=4):
    """Our routes in every table, from ``ip -N -j route show table all proto 194`` (which
    leaves the protocol out of each route, since the filter implies it), or ``ip -6 ...``
    with ``version`` 6."""
    found = {}
    for route in _json(text):
        if str(route.get("protocol", layout.ROUTE_PROTOCOL)) != str(layout.ROUTE_PROTOCOL):
            continue
        table = route.get("table", str(layout.MAIN_TABLE))
        table = layout.MAIN_TABLE if table == "main" else int(table)
        if "nexthops" in route:
            hops = tuple((hop["dev"], hop.get("weight", 1)) + ((hop["gateway"],) if hop.get("gateway") else ())
                         for hop in route["nexthops"])
        else:
            hops = ((route["dev"], 1),) if "dev" in route else ()
        kind = ROUTE_TYPES.get(route.get("type"), str(route.get("type")))
        if kind == "unreachable":
            hops = ()  # IPv6 shows an unreachable route on dev lo
        parsed = render.Route(table, _dst(route["dst"], version), int(route.get("metric", 0)), kind, hops,
                              route.get("prefsrc"),
                              route.get("gateway") if "nexthops" not in route else None)
        found[parsed[:3]] = parsed
    return found


def parse_endpoints(text):
    """MPTCP endpoints, from ``ip -j mptcp endpoint show``: ``{address: {"id", "dev", "subflow"}}``.
    ``dev`` is the interface's name, or ``if<N>`` once that interface is gone (a tunnel
    whose OpenVPN restarted has a new one: the endpoint must be made again)."""
    return dict((endpoint["address"], {"id": int(endpoint["id"]), "dev": endpoint.get("dev"),
                                       "subflow": bool(endpoint.get("subflow"))})
                for endpoint in _json(text))


def parse_limits(text):
    """``(subflows, add_addr_accepted)`` from ``ip mptcp limits show`` (iproute2 6.1 has no
    JSON for it: ``add_addr_accepted 0 subflows 2``)."""
    words = text.split()
    values = dict(zip(words[::2], words[1::2]))
    return int(values["subflows"]), int(values["add_addr_accepted"])


def parse_links(text):
    return dict((link["ifname"], {"ifindex": link["ifindex"], "up": "UP" in link.get("flags", [])})
                for link in _json(text))


def parse_nft_tables(text, family="ip"):
    """Table names of ``family``, from ``nft list tables <family>``."""
    return set(line.split()[2] for line in text.splitlines() if line.startswith("table %s " % family))


def parse_qdiscs(text):
    """Root qdiscs by interface, from ``tc -j qdisc show``: ``{dev: {"kind", "handle",
    "options"}}``."""
    found = {}
    for qdisc in _json(text):
        if qdisc.get("root") and "dev" in qdisc:
            found[qdisc["dev"]] = {"kind": qdisc["kind"], "handle": qdisc.get("handle"),
                                   "options": qdisc.get("options") or {}}
    return found


def _near(value, wanted, share, slack):
    return isinstance(value, int) and abs(value - wanted) <= wanted * share + slack


def is_our_tbf(qdisc, wanted=None):
    """The root qdisc is a tbf the watchdog set; with ``wanted`` (a Tbf), at those values."""
    if not qdisc or qdisc["kind"] != "tbf" or qdisc["handle"] != QDISC_HANDLE:
        return False
    if wanted is None:
        return True
    options = qdisc["options"]
    return (options.get("rate") == wanted.rate and _near(options.get("burst"), wanted.burst, BURST_TOLERANCE, 2)
            and _near(options.get("lat"), wanted.latency, LATENCY_TOLERANCE, 2))


def tbf_command(interface, wanted):
    return "qdisc replace dev %s root handle %s tbf rate %dbps burst %d latency %dus" % (
        interface, QDISC_HANDLE, wanted.rate, wanted.burst, wanted.latency)


def plan_qdiscs(want, current):
    """``tc -batch`` lines that bring each interface of ``want`` ({interface: Tbf or None},
    render.shaping) from ``current`` (parse_qdiscs) to its shaper: replace a root qdisc
    that differs, keep one that matches, and delete only a tbf of ours that is no longer
    wanted (the interface then gets the kernel's default qdisc back)."""
    commands = []
    for interface, wanted in sorted(want.items()):
        qdisc = current.get(interface)
        if wanted is not None and not is_our_tbf(qdisc, wanted):
            commands.append(tbf_command(interface, wanted))
        elif wanted is None and is_our_tbf(qdisc):
            commands.append("qdisc del dev %s root handle %s" % (interface, QDISC_HANDLE))
    return commands


class Kernel(object):
    def __init__(self, run, run_dir=layout.BALANCE_RUN_DIR, ipv6=None):
        self.run, self.run_dir = run, run_dir
        self.ipv6 = os.path.exists(IF_INET6) if ipv6 is None else ipv6

    def _out(self, argv, data=None):
        # Last line of defence: no value reaches ip/nft with a control character, whatever
        # a future caller passes (UnsafeValue is a ValueError: the module rolls back, the
        # watchdog logs the round and goes on).
        safe_text.argv(argv)
        if data is not None:
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            # split on newline only: every other line break (CR, U+2028...) is refused below;
            # tabs are the renderers' own indentation.
            for number, command in enumerate(text.rstrip("\n").split("\n"), 1):
                safe_text.line("line %d of the input" % number, command.replace("\t", " "), "'%s'" % " ".join(argv))
        rc, out, err = self.run(argv, data)
        if rc != 0:
            raise KernelError("'%s' failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()))
        return out

    def _parsed(self, parser, argv):
        """``parser(output of argv)``; output the parser cannot read (a tool that changed its
        format, or printed a warning) is a KernelError naming the command, never a crash."""
        out = self._out(argv)
        try:
            return parser(out)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            raise KernelError("cannot read the output of '%s' (%s: %s): %r"
                              % (" ".join(argv), type(error).__name__, error, out[:200]))

    def read(self, scope):
        current = Current()
        current.addresses = self._parsed(parse_addresses, ["ip", "-N", "-j", "addr", "show", "dev", "lo"])
        six = self.ipv6 and scope.wants_ipv6()
        rules = self._parsed(parse_rules, ["ip", "-N", "-j", "rule", "show"])
        if six:
            rules |= self._parsed(lambda text: parse_rules(text, 6), ["ip", "-6", "-N", "-j", "rule", "show"])
        current.rules = set(r for r in rules if scope.has_rule(r))
        # -4 and -6 each: 'table all' without a family lists both, and an IPv6 host route
        # then reads as an IPv4 one.
        routes = self._parsed(parse_routes, ["ip", "-4", "-N", "-j", "route", "show", "table", "all", "proto",
                                             str(layout.ROUTE_PROTOCOL)])
        if six:
            routes.update(self._parsed(lambda text: parse_routes(text, 6), [
                "ip", "-6", "-N", "-j", "route", "show", "table", "all", "proto", str(layout.ROUTE_PROTOCOL)]))
        current.routes = dict((key, route) for key, route in routes.items() if scope.has_route(route))
        current.interfaces = self._parsed(parse_links, ["ip", "-N", "-j", "link", "show"])
        if scope.endpoints:
            endpoints = self._parsed(parse_endpoints, ["ip", "-j", "mptcp", "endpoint", "show"])
            current.endpoints = dict((address, endpoint) for address, endpoint in endpoints.items()
                                     if address in scope.endpoints)
            current.mptcp_subflows, current.mptcp_accepted = self._parsed(parse_limits, ["ip", "mptcp", "limits", "show"])
        # The bond's ip table always; its ip6 one (IPv6 spread per packet, NAT66) where IPv6 is read.
        for family in render.NFT_FAMILIES[:2 if six else 1]:
            names = self._parsed(lambda text: parse_nft_tables(text, family), ["nft", "list", "tables", family])
            for name in sorted(names):
                if scope.has_nft_table(name):
                    listing = self._out(LIST_TABLE + [family, name])
                    snapshot = self._snapshot((family, name))
                    current.nft[(family, name)] = {
                        "listing": listing, "input": snapshot["input"] if snapshot.get("listing") == listing else None}
        return current

    def _snapshot_path(self, key):
        family, name = key
        return bspec.snapshot_path(bspec.bond_of_nft_table(name), self.run_dir, family)

    def _snapshot(self, key):
        try:
            with open(self._snapshot_path(key)) as handle:
                snapshot = json.load(handle)
        except (IOError, OSError, ValueError):
            return {}
        # A snapshot that is not ours (hand-edited, truncated) only means: reload the table.
        return snapshot if isinstance(snapshot, dict) else {}

    def _save_snapshot(self, key, text):
        listing = self._out(LIST_TABLE + list(key))
        write_atomic(self._snapshot_path(key), json.dumps({"input": text, "listing": listing}))

    def read_qdiscs(self):
        return self._parsed(parse_qdiscs, ["tc", "-j", "qdisc", "show"])

    def apply_qdiscs(self, commands, psched=PSCHED):
        if any(" tbf " in command for command in commands) and not os.access(psched, os.R_OK):
            raise KernelError("cannot shape with tc: %s is not readable here, and without it tc would set a "
                              "burst 15 times too small; let the watchdog's unit see /proc/net (no ProcSubset=pid)"
                              % psched)
        self._out(["tc", "-batch", "-"], "".join(command + "\n" for command in commands))

    def apply(self, changes):
        """Runs a plan from ``plan_changes``; raises KernelError naming what failed."""
        if changes.address_adds:
            self._out(["ip", "-force", "-batch", "-"], "".join(line + "\n" for line in changes.address_adds))
        if changes.nft_script:
            self._out(["nft", "-f", "-"], changes.nft_script)
            for key, text in sorted(changes.nft_replaced.items()):
                self._save_snapshot(key, text)
            for key in changes.nft_deleted:
                remove_file(self._snapshot_path(key))
        if changes.ip_commands:
            self._out(["ip", "-force", "-batch", "-"], "".join(line + "\n" for line in changes.ip_commands))
        # A rule without an address is IPv4 unless ip is told otherwise, for a whole batch.
        if changes.ip6_commands:
            self._out(["ip", "-6", "-force", "-batch", "-"], "".join(line + "\n" for line in changes.ip6_commands))


class Changes(object):
    def __init__(self):
        self.address_adds, self.ip_commands, self.ip6_commands, self.summary = [], [], [], []
        self.nft_replaced, self.nft_deleted, self.nft_script = {}, [], ""

    def __bool__(self):
        return bool(self.summary)

    __nonzero__ = __bool__


def route_command(verb, route):
    words = ["route", verb]
    if route.kind != "unicast":
        words.append(route.kind)
    words += [route.dst, "table", str(route.table), "proto", str(layout.ROUTE_PROTOCOL)]
    if route.metric:
        words += ["metric", str(route.metric)]
    if verb == "del":
        return " ".join(words)
    if route.src:
        words += ["src", route.src]
    if route.via:
        words += ["via", route.via]
    if len(route.nexthops) == 1:
        words += ["dev", route.nexthops[0][0]]
    else:
        for hop in route.nexthops:
            words += ["nexthop"] + (["via", hop[2]] if len(hop) > 2 else []) + ["dev", hop[0], "weight", str(hop[1])]
    return " ".join(words)


def rule_command(verb, rule):
    """The rule's line in an ``ip -batch`` (an IPv6 rule's in an ``ip -6 -batch``)."""
    match = "fwmark %d" % rule.mark if rule.mark is not None else "from %s" % rule.src
    return "rule %s priority %d %s table %d protocol %d" % (verb, rule.priority, match, rule.table, layout.ROUTE_PROTOCOL)


def rule_text(verb, rule):
    """The rule as a person would type it: IPv6 rules say so."""
    return ("-6 " if rule.version == 6 else "") + rule_command(verb, rule)


def _rule_order(rule):
    # A fwmark rule and a source rule never share a priority of ours, but a hand-made one
    # might: never compare None with a number.
    return rule.version, rule.priority, str(rule)


def _add_rule_change(changes, verb, rule):
    (changes.ip6_commands if rule.version == 6 else changes.ip_commands).append(rule_command(verb, rule))
    changes.summary.append(rule_text(verb, rule))


def plan_changes(want, current, scope):
    """What to run so that ``current`` (within ``scope``) becomes ``want``."""
    changes = Changes()
    for address in sorted(want.addresses - current.addresses):
        changes.address_adds.append("address add %s dev lo" % host_prefix(address))
        changes.summary.append("add address %s on lo" % host_prefix(address))
    nft = []
    for key, text in sorted(want.nft.items()):
        if current.nft.get(key, {}).get("input") != text:
            nft += ["table %s %s" % key, "delete table %s %s" % key, text]
            changes.nft_replaced[key] = text
            changes.summary.append("load nftables table %s %s" % key)
    for key in sorted(set(current.nft) - set(want.nft)):
        nft.append("delete table %s %s" % key)
        changes.nft_deleted.append(key)
        changes.summary.append("delete nftables table %s %s" % key)
    changes.nft_script = "\n".join(nft) + "\n" if nft else ""
    for rule in sorted(want.rules - current.rules, key=_rule_order):
        _add_rule_change(changes, "add", rule)
    for key, route in sorted(want.routes.items()):
        if current.routes.get(key) != route:
            changes.ip_commands.append(route_command("replace", route))
            changes.summary.append(route_command("replace", route))
    for key in sorted(set(current.routes) - set(want.routes)):
        changes.ip_commands.append(route_command("del", current.routes[key]))
        changes.summary.append(route_command("del", current.routes[key]))
    for rule in sorted(current.rules - want.rules, key=_rule_order):
        _add_rule_change(changes, "del", rule)
    _plan_mptcp(changes, want, current)
    for address in sorted((scope.addresses & current.addresses) - want.addresses):
        changes.ip_commands.append("address del %s dev lo" % host_prefix(address))
        changes.summary.append("delete address %s from lo" % host_prefix(address))
    return changes


def _plan_mptcp(changes, want, current):
    """Endpoints after the rules and routes they need (the path manager opens a subflow
    from a new endpoint at once, on every connection). The subflow limit is only raised:
    other MPTCP users of the host may count on it, and it resets at boot."""
    if want.mptcp_subflows and current.mptcp_subflows is not None and current.mptcp_subflows < want.mptcp_subflows:
        command = "mptcp limits set subflows %d add_addr_accepted %d" % (want.mptcp_subflows, current.mptcp_accepted)
        changes.ip_commands.append(command)
        changes.summary.append(command)
    # Ours to keep: a subflow endpoint on the interface wanted (one made by hand without a
    # device, or left on a vanished interface, is made again).
    kept = set(address for address, endpoint in current.endpoints.items()
               if address in want.endpoints and endpoint["subflow"] and endpoint["dev"] == want.endpoints[address])
    for address, endpoint in sorted(current.endpoints.items()):
        if address not in kept:
            command = "mptcp endpoint delete id %d" % endpoint["id"]
            changes.ip_commands.append(command)
            changes.summary.append("%s (%s, dev %s)" % (command, address, endpoint["dev"]))
    for address, interface in sorted(want.endpoints.items()):
        if address not in kept:
            command = "mptcp endpoint add %s dev %s subflow" % (address, interface)
            changes.ip_commands.append(command)
            changes.summary.append(command)


def describe(addresses, rules, routes, nft, endpoints=None):
    """A stable text form of managed objects, for diffs (``endpoints``: address -> interface)."""
    lines = ["address %s dev lo" % host_prefix(address) for address in sorted(addresses)]
    lines += ["mptcp endpoint %s dev %s subflow" % item for item in sorted((endpoints or {}).items())]
    lines += [rule_text("add", rule).replace("rule add", "rule", 1) for rule in sorted(rules, key=_rule_order)]
    lines += [route_command("replace", route).replace("route replace", "route", 1) for _key, route in sorted(routes.items())]
    for name, text in sorted(nft.items()):
        lines += text.rstrip("\n").splitlines()
    return "\n".join(lines) + "\n" if lines else ""


def describe_current(current, scope, want):
    """``current`` as ``describe`` shows it; only addresses the scope or ``want`` knows."""
    nft = dict((key, entry["input"] or "# table %s %s differs from what was loaded:\n%s" % (key + (entry["listing"],)))
               for key, entry in current.nft.items())
    endpoints = dict((address, endpoint["dev"]) for address, endpoint in current.endpoints.items())
    return describe(current.addresses & (scope.addresses | want.addresses), current.rules, current.routes, nft,
                    endpoints)


def write_atomic(path, text, mode=0o644):
    """The watchdog's own atomic write (no AnsibleModule on the host): a unique temporary
    name next to ``path``, removed if anything fails before the rename."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        remove_file(tmp)
        raise


def remove_file(path):
    try:
        os.unlink(path)
    except OSError:
        pass
