# -*- coding: utf-8 -*-
"""The balancer's description of one bond: written by the balance_datapath module, read by
the bond's watchdog on the host.

A spec file is comment lines (the managed marker first) followed by one JSON object. It
holds everything the data path needs, so the watchdog can rebuild the whole data path
after a reboot from this file alone.

Standard library only: this file is also installed on the host, where the watchdog runs it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import math
import os

FORMAT_VERSION = 1
CONFIG_DIR = "/etc/openvpn/bonded/balance"
RUN_DIR = "/run/bonded-openvpn/balance"
# Routes and rules the balancer owns carry this protocol number ('ip route show proto 194'),
# so nothing else's routes are ever touched or mistaken for ours.
ROUTE_PROTOCOL = 194
MAIN_TABLE = 254
NFT_TABLE_PREFIX = "bonded_openvpn_"
# Mirrors plugins/module_utils/plan.py (a unit test keeps them equal): marks and tables
# 10000 + 100*id + k, rule priorities 5000 + 32*id + k.
TABLE_BASE, TABLE_STRIDE = 10000, 100
PRIORITY_BASE, PRIORITY_STRIDE = 5000, 32
MAX_BOND_ID = 255
# Mirrors plan_rules.BALANCE_MODES.
BALANCE_MODES = ("packet", "flow", "flowlet")

PROBE_DEFAULTS = {"interval": 1.0, "timeout": 1.0, "down_after": 1, "up_after": 2, "verify_every": 10.0,
                  "probes": 20, "loss_threshold": 0.03, "loss_window": 10.0, "rtt_factor": 4.0,
                  "rtt_margin": 0.3, "hold": 10.0}
# Quality steering settings a spec written before they existed lacks: they take their defaults.
STEERING = ("probes", "loss_threshold", "loss_window", "rtt_factor", "rtt_margin", "hold")
# (kind, lowest, highest, unit, role variable). The upper bounds keep one round (probe
# timeout plus the watchdog's command budget) well inside the unit's WatchdogSec=, and
# the lower ones keep a typo from turning the watchdog into a busy loop.
PROBE_LIMITS = {
    "interval": (float, 0.1, 10.0, "seconds", "bonded_openvpn_balance_probe_interval"),
    "timeout": (float, 0.1, 10.0, "seconds", "bonded_openvpn_balance_probe_timeout"),
    "down_after": (int, 1, 100, "rounds", "bonded_openvpn_balance_down_after"),
    "up_after": (int, 1, 100, "rounds", "bonded_openvpn_balance_up_after"),
    "verify_every": (float, 1.0, 3600.0, "seconds", "bonded_openvpn_balance_verify_every"),
    # At most 50 echoes a round: 32 tunnels x 50 is 1600 small packets a second.
    "probes": (int, 1, 50, "echoes per round", "bonded_openvpn_balance_probes"),
    "loss_threshold": (float, 0.001, 0.5, "lost share of echoes", "bonded_openvpn_balance_loss_threshold"),
    "loss_window": (float, 2.0, 300.0, "seconds", "bonded_openvpn_balance_loss_window"),
    "rtt_factor": (float, 1.1, 100.0, "times the best tunnel's RTT", "bonded_openvpn_balance_rtt_factor"),
    "rtt_margin": (float, 0.001, 10.0, "seconds", "bonded_openvpn_balance_rtt_margin"),
    "hold": (float, 1.0, 3600.0, "seconds", "bonded_openvpn_balance_hold"),
}
# nftables timeouts count in jiffies (4 ms at HZ=250): a shorter gap is not a gap.
FLOWLET_GAP_DEFAULT, FLOWLET_GAP_LIMITS = 48, (4, 10000)
METRICS_DIR = "/var/lib/prometheus/node-exporter"
INSTANCE_RUN_DIR = "/run/bonded-openvpn"
SIDE_FIELDS = ("bond", "id", "role", "balance", "snat", "local_bundle", "peer_bundle",
               "local_networks", "peer_networks")
TUNNEL_FIELDS = ("index", "interface", "local_address", "peer_address", "mark", "table",
                 "rule_priority", "weight")
# A client's uplinks (plan_uplinks): the watchdog keeps each one's routing table and rule,
# and takes its tunnels out at once when its interface loses carrier.
UPLINK_FIELDS = ("index", "name", "interface", "address", "gateway", "table", "rule_priority", "tunnels")
# Mirrors plan_uplinks (a unit test keeps them equal): uplink rules 14000 + 8*id + u.
UPLINK_PRIORITY_BASE, UPLINK_PRIORITY_STRIDE = 14000, 8
# MPTCP relay (a bond's ``mptcp``), on each gateway's bundle address: the SOCKS5 server the
# peer's relay connects to, and the transparent listener the LAN's TCP is DNATed to. An
# MPTCP connection's subflows are TCP sockets between a tunnel's transfer address and the
# peer's bundle address at SOCKS_PORT (the first subflow: bundle to bundle).
MPTCP_SOCKS_PORT, MPTCP_TRANSPARENT_PORT = 1080, 1081
# The in-kernel path manager's limit on extra subflows per connection (and on joins it
# accepts): its maximum, 8, caps a bond with mptcp at 8 tunnels.
MPTCP_MAX_SUBFLOWS = 8
# Per-address routing of subflows: tables 10050 + 100*id + k, rule priorities 5016 + 32*id + k
# (a bond with mptcp has at most 8 tunnels, so neither meets the fwmark ones).
MPTCP_TABLE_OFFSET, MPTCP_PRIORITY_OFFSET = 50, 16


class SpecError(ValueError):
    pass


def _probe_value(name, value):
    kind, lowest, highest, unit, _variable = PROBE_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if kind is int:
        if isinstance(value, float) and not (math.isfinite(value) and value == int(value)):
            return None
        value = int(value)
    elif not math.isfinite(value):
        return None
    return kind(value) if lowest <= value <= highest else None


def check_probe(settings):
    """The probe settings as numbers of the right kind; raises SpecError naming every
    setting that is missing, unknown, not finite or out of bounds (NaN compares false to
    everything, so a plain range check would let it through)."""
    if not isinstance(settings, dict):
        raise SpecError("probe settings must be a mapping of %s, got %r" % (", ".join(sorted(PROBE_LIMITS)), settings))
    problems, checked = [], {}
    for name in sorted(set(settings) - set(PROBE_LIMITS)):
        problems.append("probe setting %r is unknown; known are %s" % (name, ", ".join(sorted(PROBE_LIMITS))))
    for name in sorted(PROBE_LIMITS):
        kind, lowest, highest, unit, variable = PROBE_LIMITS[name]
        value = _probe_value(name, settings[name]) if name in settings else None
        if value is None:
            what = "an integer" if kind is int else "a finite number"
            problems.append("probe setting %r (%s): must be %s of %s from %s to %s, got %s"
                            % (name, variable, what, unit, lowest, highest,
                               "nothing" if name not in settings else repr(settings[name])))
        checked[name] = value
    if problems:
        raise SpecError("; ".join(problems))
    return checked


def from_side(side, probe=None, metrics_dir=METRICS_DIR, instance_run_dir=INSTANCE_RUN_DIR):
    """The spec of one side of a bond (an entry of ``bonded.openvpn.bond_sides``).
    ``metrics_dir`` None: no Prometheus file."""
    spec = dict((field, side[field]) for field in SIDE_FIELDS)
    spec["version"] = FORMAT_VERSION
    spec["tunnels"] = [dict((field, tunnel[field]) for field in TUNNEL_FIELDS) for tunnel in side["tunnels"]]
    spec["uplinks"] = [dict((field, uplink[field]) for field in UPLINK_FIELDS) for uplink in side.get("uplinks") or []]
    if spec["balance"] == "flowlet":
        spec["flowlet_gap"] = side.get("flowlet_gap") or FLOWLET_GAP_DEFAULT
    # Bits/s each tunnel interface may send (a tbf root qdisc the watchdog keeps); None: the
    # kernel's default qdisc. A spec written before the field existed reads as None.
    spec["egress_rate"] = side.get("egress_rate")
    spec["mptcp"] = bool(side.get("mptcp"))
    # IPv6 inside the bond (bonded_openvpn_pool6): only present when planned, so the spec of
    # an IPv4-only bond reads exactly as before.
    if side.get("local_bundle6"):
        spec["local_bundle6"], spec["peer_bundle6"] = side["local_bundle6"], side["peer_bundle6"]
        # The next hop of each tunnel in an IPv6 multipath route: the kernel refuses IPv6
        # multipath nexthops that name only a device.
        for tunnel, planned in zip(spec["tunnels"], side["tunnels"]):
            tunnel["peer_address6"] = planned["peer_address6"]
        if side.get("snat6"):
            spec["snat6"] = True
    spec["metrics_dir"] = metrics_dir
    if side["role"] == "client":
        # The client's watchdog makes a dead tunnel's OpenVPN reconnect at once over it.
        for tunnel, planned in zip(spec["tunnels"], side["tunnels"]):
            tunnel["management"] = "%s/%s-%d/management.sock" % (instance_run_dir, side["bond"], planned["index"])
    spec["probe"] = dict(PROBE_DEFAULTS)
    spec["probe"].update(probe or {})
    return spec


def with_relay_to(specs):
    """Gives every spec with MPTCP the networks its host's relays may open connections to:
    the networks behind this host that its MPTCP bonds carry, and their peers' bundles. One
    set for all of them, since each bond's nftables chain sees every relay's packets."""
    networks = set()
    for spec in specs:
        if spec.get("mptcp"):
            # The relays carry IPv4 only (an ip-family DNAT feeds them).
            networks.update(ipaddress.ip_network(n) for n in networks_of(spec["local_networks"], 4)
                            + ["%s/32" % spec["peer_bundle"]])
    relay_to = [str(n) for n in ipaddress.collapse_addresses(sorted(networks))]
    for spec in specs:
        if spec.get("mptcp"):
            spec["relay_to"] = relay_to
    return specs


def dump(spec, marker):
    header = ["# %s" % marker,
              "# Data path of bond '%s' (%s side), read by bonded-openvpn-watchdog@%s.service."
              % (spec["bond"], spec["role"], spec["bond"])]
    return "\n".join(header) + "\n" + json.dumps(spec, indent=2, sort_keys=True) + "\n"


def parse(text, origin="spec"):
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    try:
        spec = json.loads(body)
    except ValueError as error:
        raise SpecError("%s: not a balance spec (%s)" % (origin, error))
    if not isinstance(spec, dict) or spec.get("version") != FORMAT_VERSION:
        raise SpecError("%s: balance spec version %r, expected %d; re-run the bonded.openvpn.balance role"
                        % (origin, spec.get("version") if isinstance(spec, dict) else None, FORMAT_VERSION))
    probe = spec.get("probe")
    if isinstance(probe, dict):
        probe = dict(probe, **dict((name, PROBE_DEFAULTS[name]) for name in STEERING if name not in probe))
    try:
        spec["probe"] = check_probe(probe)
    except SpecError as error:
        raise SpecError("%s: %s; re-run the bonded.openvpn.balance role with valid settings" % (origin, error))
    return spec


def spec_path(bond, config_dir=CONFIG_DIR):
    return os.path.join(config_dir, "%s.conf" % bond)


def live_path(bond, run_dir=RUN_DIR):
    return os.path.join(run_dir, "%s.live" % bond)


def snapshot_path(bond, run_dir=RUN_DIR, family="ip"):
    """Where the input and listing of the bond's table of ``family`` (ip or ip6) are kept."""
    return os.path.join(run_dir, "%s.nft%s.json" % (bond, "6" if family == "ip6" else ""))


def load(bond, config_dir=CONFIG_DIR):
    path = spec_path(bond, config_dir)
    with open(path) as handle:
        return parse(handle.read(), path)


def nft_table(bond):
    return NFT_TABLE_PREFIX + bond


def bond_of_nft_table(name):
    return name[len(NFT_TABLE_PREFIX):] if name.startswith(NFT_TABLE_PREFIX) else None


def spreads_ipv6(spec):
    """Whether the bond marks IPv6 packets for its tunnels (an nftables ``ip6`` table and
    ``ip -6`` fwmark rules): IPv6 destinations, spread per packet or per flowlet."""
    return bool(destinations(spec, 6)) and spec["balance"] in ("packet", "flowlet")


def networks_of(networks, version):
    """The networks of one IP version (4 or 6), in order."""
    return [n for n in networks if (":" in n) == (version == 6)]


def destinations(spec, version=None):
    """What the bond carries: the peer's bundle addresses and the networks behind the peer
    (``version`` 4 or 6: of that family only)."""
    found = ["%s/32" % spec["peer_bundle"]] + networks_of(spec["peer_networks"], 4)
    if spec.get("peer_bundle6"):
        found += ["%s/128" % spec["peer_bundle6"]] + networks_of(spec["peer_networks"], 6)
    return [dst for dst in found if version is None or (":" in dst) == (version == 6)]


def table_range(bond_id):
    first = TABLE_BASE + TABLE_STRIDE * bond_id
    return first, first + TABLE_STRIDE - 1


def priority_range(bond_id):
    first = PRIORITY_BASE + PRIORITY_STRIDE * bond_id
    return first, first + PRIORITY_STRIDE - 1


def uplink_priority_range(bond_id):
    first = UPLINK_PRIORITY_BASE + UPLINK_PRIORITY_STRIDE * bond_id
    return first, first + UPLINK_PRIORITY_STRIDE - 1


def all_uplink_priorities():
    return UPLINK_PRIORITY_BASE, uplink_priority_range(MAX_BOND_ID)[1]


def uplinks(spec):
    """The spec's uplinks; a spec written before uplinks existed has none."""
    return spec.get("uplinks") or []


def riders_of(spec, rules_added):
    """``[(uplink name, tunnel index, management socket)]`` of the client tunnels whose
    uplink's source rule is among ``rules_added`` (render.Rule). An OpenVPN that connected
    before its uplink's rule existed (a first deploy, a boot) sent its first packets by the
    main table; a multihomed server keeps answering out of the interface those arrived on,
    so such tunnels reconnect once the rule is there."""
    sources = set(rule.src for rule in rules_added if rule.src)
    paths = dict((tunnel["index"], tunnel.get("management")) for tunnel in spec["tunnels"])
    return [(uplink["name"], index, paths[index]) for uplink in uplinks(spec) if uplink["address"] in sources
            for index in uplink["tunnels"] if paths.get(index)]


def all_tables():
    return TABLE_BASE, table_range(MAX_BOND_ID)[1]


def all_priorities():
    return PRIORITY_BASE, priority_range(MAX_BOND_ID)[1]


def effective_live(spec, live):
    """The tunnels to spread over: the live ones, or all of them when none is live (a
    bond with no live tunnel keeps its full map rather than an empty one)."""
    indexes = [tunnel["index"] for tunnel in spec["tunnels"]]
    chosen = [index for index in indexes if live is not None and index in live]
    return chosen or indexes


def format_live(spec, live):
    indexes = effective_live(spec, live)
    note = "" if live and set(indexes) == set(live) else " (no tunnel answers: all kept)"
    return "# tunnels bond '%s' spreads over%s\n%s" % (
        spec["bond"], note, "".join("%d\n" % index for index in indexes))
