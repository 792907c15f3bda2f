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

from . import live_set
from .layout import (BALANCE_CONFIG_DIR as CONFIG_DIR, BALANCE_RUN_DIR as RUN_DIR, FLOWLET_GAP_DEFAULT,
                     LATENCY_CUTOFF_LIMITS, MAX_BOND_ID, UDP_BALANCE_DEFAULT,
                     METRICS_DIR, NFT_TABLE_PREFIX, PRIORITY_BASE, PRIORITY_STRIDE, PROBE_DEFAULTS, PROBE_LIMITS,
                     RUN_DIR as INSTANCE_RUN_DIR, TABLE_BASE, TABLE_STRIDE, UPLINK_PRIORITY_BASE, UPLINK_PRIORITY_STRIDE)

FORMAT_VERSION = 1
# Quality steering settings a spec written before they existed lacks: they take their defaults.
STEERING = ("probes", "loss_threshold", "loss_window", "rtt_factor", "rtt_margin", "hold")
SIDE_FIELDS = ("bond", "id", "role", "balance", "snat", "local_bundle", "peer_bundle",
               "local_networks", "peer_networks")
TUNNEL_FIELDS = ("index", "interface", "local_address", "peer_address", "mark", "table",
                 "rule_priority", "weight")
# A client's uplinks (plan_uplinks): the watchdog keeps each one's routing table and rule,
# and takes its tunnels out at once when its interface loses carrier.
UPLINK_FIELDS = ("index", "name", "interface", "address", "gateway", "table", "rule_priority", "tunnels")


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
    # Milliseconds a tunnel's base RTT may exceed the best tunnel's before it leaves the
    # spread (0: off). The planner resolves the default per mode; a spec written before
    # the field existed reads as 0 (latency_cutoff below).
    spec["latency_cutoff"] = side.get("latency_cutoff") or 0
    # How packet and flowlet modes place UDP (render._udp_per_flow); older specs read as flow.
    spec["udp_balance"] = side.get("udp_balance") or UDP_BALANCE_DEFAULT
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
    cutoff, (lowest, highest) = spec.get("latency_cutoff", 0), LATENCY_CUTOFF_LIMITS
    if isinstance(cutoff, bool) or not isinstance(cutoff, int) or not lowest <= cutoff <= highest:
        raise SpecError("%s: latency_cutoff must be milliseconds from %d to %d (an integer), got %r; re-run the "
                        "bonded.openvpn.balance role" % (origin, lowest, highest, cutoff))
    return spec


def latency_cutoff(spec):
    """The bond's latency cutoff in seconds (0.0: off, also for a spec older than the field)."""
    return (spec.get("latency_cutoff") or 0) / 1000.0


# What both ends of a bond must agree on, as parity compares them (tunnel_facts reports them).
AGREED_FIELDS = ("balance", "weights", "flowlet_gap", "mptcp", "egress_rate", "latency_cutoff", "udp_balance")


def agreed(spec):
    """The settings of ``spec`` both ends of its bond must share, by AGREED_FIELDS; weights in
    tunnel order."""
    tunnels = sorted(spec.get("tunnels") or [], key=lambda tunnel: tunnel.get("index", 0))
    return {"balance": spec.get("balance"), "weights": [tunnel.get("weight") for tunnel in tunnels],
            "flowlet_gap": spec.get("flowlet_gap") if spec.get("balance") == "flowlet" else None,
            "mptcp": bool(spec.get("mptcp")), "egress_rate": spec.get("egress_rate"),
            "latency_cutoff": spec.get("latency_cutoff") or 0,
            "udp_balance": spec.get("udp_balance") or UDP_BALANCE_DEFAULT}


def spec_path(bond, config_dir=CONFIG_DIR):
    return os.path.join(config_dir, "%s.conf" % bond)


def live_path(bond, run_dir=RUN_DIR):
    return live_set.path(bond, run_dir)


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
    """The tunnels to spread over (live_set.effective) among the spec's tunnels."""
    return live_set.effective([tunnel["index"] for tunnel in spec["tunnels"]], live)


def format_live(spec, live):
    return live_set.render(spec["bond"], [tunnel["index"] for tunnel in spec["tunnels"]], live)
