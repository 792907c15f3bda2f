# -*- coding: utf-8 -*-
"""What the data path of a bond should be, given which tunnels are live and which tunnel
interfaces are up: the bundle address, policy rules, routes and the nftables table.

Pure functions over the spec (see spec.py); nothing here reads or changes the host.
Standard library only: also installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re
from collections import namedtuple

from . import layout
from . import spec as bspec
from . import safe_text as safe

# kind: "unicast" or "unreachable"; nexthops: ((interface, weight), ...), or for IPv6 multipath
# ((interface, weight, gateway), ...) (the kernel refuses device-only IPv6 nexthops); src: preferred source.
# A route is keyed by (table, dst, metric): one destination has several, by preference.
# via: the next hop of a single-nexthop route (an uplink's gateway), else None.
Route = namedtuple("Route", "table dst metric kind nexthops src via")
Route.__new__.__defaults__ = (None,)
# The last resort for the peer's addresses: never the default route, in clear.
BACKSTOP_METRIC = 4294967295
# The nft map holds one entry per weight unit: the planner's limit, checked here again so a
# spec written by hand or by an older release cannot make the module or the watchdog build
# a map of millions of entries.
MAX_MAP_ENTRIES = layout.MAX_MAP_ENTRIES
BOND_NAME = re.compile(r"[a-z][a-z0-9]*", re.ASCII)
WHERE = "the data path (nftables, ip)"
# A tunnel's rule matches its fwmark (src None); an uplink's matches its source address (mark None).
# version: the family the rule is in (4, or 6 for the fwmark rules of IPv6 spread per packet).
Rule = namedtuple("Rule", "priority mark table src version")
Rule.__new__.__defaults__ = (None, 4)
UPLINK_NAME = re.compile(r"[a-z][a-z0-9]{0,14}", re.ASCII)
# A tunnel's egress shaper: rate in bytes/s (what the kernel keeps of "rate <bits>bit"),
# burst in bytes, latency in microseconds.
Tbf = namedtuple("Tbf", "rate burst latency")
EGRESS_RATE_LIMITS = layout.EGRESS_RATE_LIMITS
# Burst: a few milliseconds of the rate, so timer slack and a busy CPU (the token bucket
# refills only when the qdisc runs) do not push the rate below what was asked, while a
# burst stays short next to the link's own queue; never below two full-size packets
# (tun-mtu 1500), or tbf drops every packet larger than its bucket.
BURST_SECONDS, MIN_BURST = 0.005, 3000
# Latency: how long a packet may wait in the bucket's queue. 25 ms absorbs a TCP window's
# burst at the rate without adding the seconds of queue a big fixed limit would (bufferbloat).
LATENCY_US = 25000
# The system user the MPTCP relays run as (the balance role makes it): what it opens is
# limited by the bond's relay_out chain.
RELAY_USER = layout.RELAY_USER


class Desired(object):
    """The managed objects one or more bonds want on the host."""

    def __init__(self):
        self.addresses = set()      # bundle addresses, each a /32 on lo
        self.rules = set()          # Rule
        self.routes = {}            # (table, dst, metric) -> Route
        self.nft = {}               # (nft family "ip" or "ip6", table name) -> nft input text
        self.endpoints = {}         # MPTCP subflow endpoints: transfer address -> its tunnel interface
        self.mptcp_subflows = 0     # the least the host's MPTCP subflow limit must be

    def merge(self, other):
        self.addresses |= other.addresses
        self.rules |= other.rules
        self.routes.update(other.routes)
        self.nft.update(other.nft)
        self.endpoints.update(other.endpoints)
        self.mptcp_subflows = max(self.mptcp_subflows, other.mptcp_subflows)
        return self


def check_spec(spec):
    """Refuses a spec with a value that would change the meaning of an nft table or an
    ``ip`` command (see safe_text): every name, address and number in its shape."""
    safe.shaped("bond", spec["bond"], BOND_NAME, "a bond name", WHERE)
    for field, choices in (("role", ("server", "client")), ("balance", layout.BALANCE_MODES)):
        if spec[field] not in choices:
            raise safe.UnsafeValue("refusing to write %s %r into %s: expected one of %s"
                                   % (field, spec[field], WHERE, ", ".join(choices)))
    for field in ("local_bundle", "peer_bundle"):
        safe.shaped(field, spec[field], safe.IPV4, "an IPv4 address", WHERE)
    for field in ("local_bundle6", "peer_bundle6"):
        if spec.get(field) is not None:
            safe.shaped(field, spec[field], safe.IPV6, "an IPv6 address in RFC 5952 form", WHERE)
    for network in spec["peer_networks"]:
        if ":" in network:
            safe.shaped("peer_networks", network, safe.IPV6_NETWORK, "an IPv6 network x:x::/len", WHERE)
        else:
            safe.shaped("peer_networks", network, safe.IPV4_NETWORK, "an IPv4 network a.b.c.d/len", WHERE)
    if (bspec.networks_of(spec["peer_networks"], 6) or spec.get("snat6")) and not spec.get("local_bundle6"):
        # The planner refuses both; a hand-written spec must not get routes with no IPv6
        # source, or NAT66 to no address.
        raise safe.UnsafeValue("refusing IPv6 peer_networks or snat6 in %s: they need IPv6 bundle addresses "
                               "(bonded_openvpn_pool6)" % WHERE)
    for tunnel in spec["tunnels"]:
        safe.shaped("interface", tunnel["interface"], safe.NAME, "an interface name", WHERE)
        safe.shaped("local_address", tunnel["local_address"], safe.IPV4, "an IPv4 address", WHERE)
        if spec.get("local_bundle6") is not None:
            safe.shaped("peer_address6", tunnel.get("peer_address6"), safe.IPV6, "an IPv6 address in RFC 5952 form",
                        WHERE)
        for field in ("index", "mark", "table", "rule_priority", "weight"):
            safe.integer(field, tunnel[field], WHERE)
        if tunnel["weight"] < 1:
            raise safe.UnsafeValue("refusing to write weight %r into %s: expected a positive integer"
                                   % (tunnel["weight"], WHERE))
    for uplink in bspec.uplinks(spec):
        safe.shaped("uplink", uplink["name"], UPLINK_NAME, "an uplink name", WHERE)
        safe.shaped("interface", uplink["interface"], safe.NAME, "an interface name", WHERE)
        safe.shaped("address", uplink["address"], safe.IPV4, "an IPv4 address", WHERE)
        if uplink.get("gateway") is not None:
            safe.shaped("gateway", uplink["gateway"], safe.IPV4, "an IPv4 address", WHERE)
        for field in ("index", "table", "rule_priority"):
            safe.integer(field, uplink[field], WHERE)
        for index in uplink["tunnels"]:
            safe.integer("tunnels", index, WHERE)
    for network in spec.get("relay_to") or []:
        safe.shaped("relay_to", network, safe.IPV4_NETWORK, "an IPv4 network a.b.c.d/len", WHERE)
    if spec.get("egress_rate") is not None:
        rate = safe.integer("egress_rate", spec["egress_rate"], WHERE)
        if not EGRESS_RATE_LIMITS[0] <= rate <= EGRESS_RATE_LIMITS[1]:
            raise safe.UnsafeValue("refusing to shape at egress_rate %r bit/s in %s: expected %d to %d"
                                   % (rate, WHERE, EGRESS_RATE_LIMITS[0], EGRESS_RATE_LIMITS[1]))
    if spec.get("udp_balance", layout.UDP_BALANCE_DEFAULT) not in layout.UDP_BALANCE_MODES:
        raise safe.UnsafeValue("refusing to write udp_balance %r into %s: expected one of %s"
                               % (spec.get("udp_balance"), WHERE, ", ".join(layout.UDP_BALANCE_MODES)))
    if spec["balance"] == "flowlet":
        gap = safe.integer("flowlet_gap", spec.get("flowlet_gap"), WHERE)
        lowest, highest = layout.FLOWLET_GAP_LIMITS
        if not lowest <= gap <= highest:
            raise safe.UnsafeValue("refusing to write flowlet_gap %r ms into %s: expected %d to %d"
                                   % (gap, WHERE, lowest, highest))


def spread_slots(weights):
    """Smooth weighted round robin over ``[(index, weight), ...]``: the tunnel of each
    ``numgen`` slot. Weights are reduced by their common divisor and interleaved (3:1:1:1
    gives 0,1,0,2,0,3 rather than 0,0,0,1,2,3), so no tunnel gets bursts."""
    divisor = 0
    for _index, weight in weights:
        divisor = math.gcd(divisor, weight)
    weights = [(index, weight // divisor) for index, weight in weights]
    total = sum(weight for _index, weight in weights)
    if total > MAX_MAP_ENTRIES:
        raise safe.UnsafeValue("refusing to build an nft map of %d entries (weights %r): at most %d; "
                               "re-plan the bond with smaller weights"
                               % (total, [w for _i, w in weights], MAX_MAP_ENTRIES))
    current = dict((index, 0) for index, _weight in weights)
    slots = []
    for _slot in range(total):
        for index, weight in weights:
            current[index] += weight
        chosen = max(weights, key=lambda item: (current[item[0]], -item[0]))[0]
        current[chosen] -= total
        slots.append(chosen)
    return slots


def _live_tunnels(spec, live):
    chosen = set(bspec.effective_live(spec, live))
    return [tunnel for tunnel in spec["tunnels"] if tunnel["index"] in chosen]


def _carriers(spec, live, up):
    """Live tunnels whose interface is up: the only ones a route can point into."""
    return [tunnel for tunnel in _live_tunnels(spec, live) if tunnel["interface"] in up]


def _main_routes(spec, dst, carriers, multipath):
    """The main table's routes to one of the peer's destinations, by metric: the spreading
    route (flow mode) or the first live tunnel (packet mode, for unmarked packets and loose
    rp_filter), then every live tunnel alone, then unreachable. A route vanishes with its
    tunnel's interface; the next one then carries the traffic until the watchdog acts,
    and nothing ever falls through to the default route in clear."""
    ipv6 = ":" in dst
    source = spec["local_bundle6"] if ipv6 else spec["local_bundle"]
    # The kernel stores an IPv6 route given metric 0 at metric 1024: IPv6 counts from 1.
    first = 1 if ipv6 else 0
    routes = []
    if multipath and len(carriers) > 1:
        hops = tuple((tunnel["interface"], tunnel["weight"]) + ((tunnel["peer_address6"],) if ipv6 else ())
                     for tunnel in carriers)
        routes.append(Route(layout.MAIN_TABLE, dst, first, "unicast", hops, source))
    for tunnel in carriers:
        routes.append(Route(layout.MAIN_TABLE, dst, first + len(routes), "unicast", ((tunnel["interface"], 1),),
                            source))
    routes.append(Route(layout.MAIN_TABLE, dst, BACKSTOP_METRIC, "unreachable", (), None))
    return routes


def _nft_set(items):
    return "{ %s }" % ", ".join(items)


# What differs between the bond's two nftables tables. ``name`` is both the table's family
# and the keyword of its address matches (``ip daddr``, ``ip6 daddr``): nftables spells them alike.
Family = namedtuple("Family", "name addr_type version")
IPV4_NFT, IPV6_NFT = Family("ip", "ipv4_addr", 4), Family("ip6", "ipv6_addr", 6)
NFT_FAMILIES = (IPV4_NFT.name, IPV6_NFT.name)


def flowlet_key(family):
    """A flowlet's key: the 5-tuple (th sport/dport read the first 4 bytes of any transport
    header, so ICMP and others are keyed too)."""
    return "{0} saddr . {0} daddr . meta l4proto . th sport . th dport".format(family.name)


def flowlet_type(family):
    return "{0} . {0} . inet_proto . inet_service . inet_service".format(family.addr_type)


# Bounds the state of a bond with many short flows; a flow not in a full set is placed
# per packet by numgen, as in packet mode.
FLOWLET_SET_SIZE = 65535


def _flowlet_chain(spec, live, mapping, entries, family):
    """Flowlet mode: a flow stays on the tunnel whose set holds it while its packets keep
    coming (``update`` refreshes the entry's timeout, the gap); a packet of no flowlet is
    placed by ``numgen`` over the weighted map and starts one in its tunnel's set. Only
    tunnels in rotation have rules, so when one leaves, its flows fall to numgen, and a
    reload (the watchdog's, on every change of the live set) starts every set empty."""
    key = flowlet_key(family)
    lines = ["\tchain steer {", "\t\t%s daddr != @peer return" % family.name]
    for tunnel in _live_tunnels(spec, live):
        lines.append("\t\t%s @flowlet_%d meta mark set %d update @flowlet_%d { %s } return"
                     % (key, tunnel["index"], tunnel["mark"], tunnel["index"], key))
    lines.append("\t\tmeta mark set numgen inc mod %d map %s" % (entries, mapping))
    for tunnel in _live_tunnels(spec, live):
        lines.append("\t\tmeta mark %d add @flowlet_%d { %s }" % (tunnel["mark"], tunnel["index"], key))
    lines.append("\t}")
    return lines


def _spreading(spec, live, family, unmarked=()):
    """The sets and chains that mark the peer's traffic of ``family`` per packet (numgen
    over the live tunnels, weights repeated) or per flowlet (see _flowlet_chain); packets
    that match a rule of ``unmarked`` first are left to the main table."""
    marks = dict((tunnel["index"], tunnel["mark"]) for tunnel in spec["tunnels"])
    slots = spread_slots([(t["index"], t["weight"]) for t in _live_tunnels(spec, live)])
    mapping = _nft_set("%d : %d" % (slot, marks[index]) for slot, index in enumerate(slots))
    lines = ["\tset peer {", "\t\ttype %s" % family.addr_type, "\t\tflags interval",
             "\t\telements = %s" % _nft_set(bspec.destinations(spec, family.version)), "\t}"]
    unmarked = list(unmarked) + _udp_per_flow(spec, family, len(slots), mapping)
    if spec["balance"] == "packet":
        rule = "%s daddr @peer meta mark set numgen inc mod %d map %s" % (family.name, len(slots), mapping)
    else:
        for tunnel in spec["tunnels"]:
            lines += ["\tset flowlet_%d {" % tunnel["index"], "\t\ttype %s" % flowlet_type(family),
                      "\t\tsize %d" % FLOWLET_SET_SIZE, "\t\tflags dynamic,timeout",
                      "\t\ttimeout %dms" % spec["flowlet_gap"], "\t}"]
        lines += _flowlet_chain(spec, live, mapping, len(slots), family)
        rule = "jump steer"
    rules = ["\t\t" + line for line in unmarked] + ["\t\t" + rule]
    # Forwarded traffic is marked before routing; locally sent traffic needs a route-type
    # chain, or the new mark does not re-route the packet.
    return (lines + ["\tchain prerouting {", "\t\ttype filter hook prerouting priority mangle; policy accept;"] + rules
            + ["\t}", "\tchain output {", "\t\ttype route hook output priority mangle; policy accept;"] + rules
            + ["\t}"])


def udp_key(family):
    return "{0} saddr . {0} daddr . udp sport . udp dport".format(family.name)


def _udp_per_flow(spec, family, entries, mapping):
    """With udp_balance flow (the default; a spec older than the field reads so too), a UDP
    flow to the peer is placed by a hash of its addresses and ports over the same weighted
    map, and the chain ends there (before numgen or the flowlet sets): one UDP flow never
    spans tunnels of different delay, so QUIC and VoIP see no reordering."""
    if spec.get("udp_balance", layout.UDP_BALANCE_DEFAULT) != "flow":
        return []
    return ["%s daddr @peer meta l4proto udp meta mark set jhash %s mod %d seed 0x%x map %s return"
            % (family.name, udp_key(family), entries, layout.UDP_HASH_SEED, mapping)]


def _header(spec, family):
    return ["table %s %s {" % (family.name, bspec.nft_table(spec["bond"])),
            '\tcomment "bonded.openvpn bond %s, %s side, balance %s"' % (spec["bond"], spec["role"], spec["balance"])]


def render_nft(spec, live):
    """The bond's nftables table for IPv4. Packet and flowlet modes mark the peer's traffic
    (see _spreading); SNAT rewrites the client's sources to its bundle address, one
    address whatever the tunnel, so conntrack stays right."""
    check_spec(spec)
    lines = _header(spec, IPV4_NFT)
    if spec["balance"] in ("packet", "flowlet"):
        lines += _spreading(spec, live, IPV4_NFT, _subflows_unmarked(spec))
    if spec.get("mptcp"):
        lines += _relay_chains(spec)
    if spec["snat"]:
        own = [spec["local_bundle"]] + [tunnel["local_address"] for tunnel in spec["tunnels"]]
        lines += ["\tchain postrouting {", "\t\ttype nat hook postrouting priority srcnat; policy accept;",
                  '\t\toifname "bo-%s-*" ip saddr != %s snat ip to %s'
                  % (spec["bond"], _nft_set(own), spec["local_bundle"]), "\t}"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_nft6(spec, live):
    """The bond's ``ip6`` table, or None when it needs none: the spreading of its IPv6
    traffic (packet and flowlet modes), and NAT66 when the operator asked for it
    (``snat6``): what goes to the peer's IPv6 destinations leaves from the IPv6 bundle
    address. The tunnels' own transfer addresses are never the peer's destinations, so
    what the host sends to them keeps its source."""
    check_spec(spec)
    spreads = bspec.spreads_ipv6(spec)
    if not (spreads or spec.get("snat6")):
        return None
    lines = _header(spec, IPV6_NFT)
    if spreads:
        lines += _spreading(spec, live, IPV6_NFT)
    if spec.get("snat6"):
        lines += ["\tchain postrouting {", "\t\ttype nat hook postrouting priority srcnat; policy accept;",
                  '\t\toifname "bo-%s-*" ip6 saddr != %s ip6 daddr %s snat to %s'
                  % (spec["bond"], spec["local_bundle6"], _nft_set(bspec.destinations(spec, 6)),
                     spec["local_bundle6"]), "\t}"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _subflows_unmarked(spec):
    """MPTCP subflows (to or from the peer's SOCKS port on its bundle address) are not
    spread: each keeps the path its source address routes it by (its tunnel's table), and
    the first one, bundle to bundle, the main table's. A subflow striped per packet would
    be reordered, which is what MPTCP is here to avoid."""
    if not spec.get("mptcp"):
        return []
    return ["ip daddr %s tcp dport %d return" % (spec["peer_bundle"], layout.MPTCP_SOCKS_PORT),
            "ip daddr %s tcp sport %d return" % (spec["peer_bundle"], layout.MPTCP_SOCKS_PORT)]


def _relay_chains(spec):
    """The MPTCP relay's traffic rules. The LAN's TCP to the peer's networks goes to the
    transparent listener on the bundle address (the tunnels' own traffic never does); only
    such redirected connections reach that listener; the SOCKS port answers only the peer
    (its bundle and transfer addresses: joins come from the latter); and what the relay's
    user opens goes only to ``relay_to`` (the networks this host's bonds carry to it, and
    the peers' bundles)."""
    bundle, socks, transparent = spec["local_bundle"], layout.MPTCP_SOCKS_PORT, layout.MPTCP_TRANSPARENT_PORT
    peers = [spec["peer_bundle"]] + [tunnel["peer_address"] for tunnel in spec["tunnels"]]
    lines = []
    if bspec.networks_of(spec["peer_networks"], 4):
        lines += ["\tchain relay_in {", "\t\ttype nat hook prerouting priority dstnat; policy accept;",
                  '\t\tiifname != "bo-%s-*" ip daddr %s meta l4proto tcp dnat to %s:%d'
                  % (spec["bond"], _nft_set(bspec.networks_of(spec["peer_networks"], 4)), bundle, transparent), "\t}"]
    lines += ["\tchain relay_guard {", "\t\ttype filter hook input priority filter; policy accept;",
              "\t\tip daddr %s tcp dport %d ct status dnat accept" % (bundle, transparent),
              "\t\tip daddr %s tcp dport %d reject with tcp reset" % (bundle, transparent),
              "\t\tip daddr %s tcp dport %d ip saddr != %s reject with tcp reset" % (bundle, socks, _nft_set(peers)),
              "\t}",
              "\tchain relay_out {", "\t\ttype filter hook output priority filter; policy accept;",
              '\t\tmeta skuid "%s" ct state new ip daddr != %s reject'
              % (RELAY_USER, _nft_set(spec.get("relay_to") or ["%s/32" % spec["peer_bundle"]])), "\t}"]
    return lines


def _subflow_routing(spec, up, want):
    """Each tunnel's transfer address routes by its own table into its tunnel, so the
    subflow of that address rides that tunnel; while the tunnel's interface is gone,
    ``unreachable`` rather than another tunnel (the far end would answer into the dead one)."""
    for tunnel in spec["tunnels"]:
        table = tunnel["table"] + layout.MPTCP_TABLE_OFFSET
        want.rules.add(Rule(tunnel["rule_priority"] + layout.MPTCP_PRIORITY_OFFSET, None, table, tunnel["local_address"]))
        routes = [Route(table, "0.0.0.0/0", BACKSTOP_METRIC, "unreachable", (), None)]
        if tunnel["interface"] in up:
            routes.append(Route(table, "0.0.0.0/0", 0, "unicast", ((tunnel["interface"], 1),), tunnel["local_address"]))
        for route in routes:
            want.routes[route[:3]] = route


def desired(spec, live, up):
    """``live``: indexes the watchdog found alive (None: unknown, all); ``up``: names of
    the tunnel interfaces that exist and are up (routes cannot point into the others)."""
    check_spec(spec)
    want = Desired()
    want.addresses.add(spec["local_bundle"])
    if spec.get("local_bundle6"):
        want.addresses.add(spec["local_bundle6"])
    name = bspec.nft_table(spec["bond"])
    want.nft[(IPV4_NFT.name, name)] = render_nft(spec, live)
    table6 = render_nft6(spec, live)
    if table6:
        want.nft[(IPV6_NFT.name, name)] = table6
    carriers = _carriers(spec, live, up)
    if spec["balance"] in ("packet", "flowlet"):
        for tunnel in spec["tunnels"]:
            _mark_routing(spec, tunnel, up, want)
    for dst in bspec.destinations(spec):
        for route in _main_routes(spec, dst, carriers, spec["balance"] == "flow"):
            want.routes[route[:3]] = route
    if spec.get("mptcp"):
        _subflow_routing(spec, up, want)
        # A subflow per tunnel in rotation: the path manager opens one from each endpoint,
        # and closes an endpoint's subflows when it goes.
        want.endpoints.update((tunnel["local_address"], tunnel["interface"]) for tunnel in carriers)
        want.mptcp_subflows = layout.MPTCP_MAX_SUBFLOWS
    for uplink in bspec.uplinks(spec):
        for route in _uplink_routes(uplink, up):
            want.routes[route[:3]] = route
        want.rules.add(Rule(uplink["rule_priority"], None, uplink["table"], uplink["address"]))
    return want


def _mark_routing(spec, tunnel, up, want):
    """A tunnel's fwmark rule and table: what numgen marked for it leaves by it (while its
    interface is up; else the lookup falls through to the main table's fallbacks). IPv6
    has its own rule (rules are per family) and route, counted from metric 1 as in the
    main table."""
    want.rules.add(Rule(tunnel["rule_priority"], tunnel["mark"], tunnel["table"]))
    routes = []
    if tunnel["interface"] in up:
        routes.append(Route(tunnel["table"], "0.0.0.0/0", 0, "unicast", ((tunnel["interface"], 1),),
                            spec["local_bundle"]))
    if bspec.spreads_ipv6(spec):
        want.rules.add(Rule(tunnel["rule_priority"], tunnel["mark"], tunnel["table"], None, 6))
        if tunnel["interface"] in up:
            routes.append(Route(tunnel["table"], "::/0", 1, "unicast", ((tunnel["interface"], 1),),
                                spec["local_bundle6"]))
    for route in routes:
        want.routes[route[:3]] = route


def _uplink_routes(uplink, up):
    """Everything from the uplink's address leaves by its interface; while the interface
    is down (its route then cannot exist), ``unreachable`` answers rather than letting the
    lookup fall through to the main table and out of another uplink."""
    routes = [Route(uplink["table"], "0.0.0.0/0", BACKSTOP_METRIC, "unreachable", (), None)]
    if uplink["interface"] in up:
        routes.append(Route(uplink["table"], "0.0.0.0/0", 0, "unicast", ((uplink["interface"], 1),),
                            uplink["address"], uplink.get("gateway")))
    return routes


def tbf(egress_rate):
    """The tbf qdisc for ``egress_rate`` bits/s."""
    rate = egress_rate // 8
    return Tbf(rate, max(int(rate * BURST_SECONDS), MIN_BURST), LATENCY_US)


def shaping(spec, interfaces):
    """``{interface: Tbf or None}`` for the bond's tunnel interfaces that exist now (a
    qdisc lives on the interface, which vanishes whenever its OpenVPN restarts). None: no
    shaping, so a tbf the watchdog set earlier is to go."""
    check_spec(spec)
    wanted = tbf(spec["egress_rate"]) if spec.get("egress_rate") is not None else None
    return dict((tunnel["interface"], wanted) for tunnel in spec["tunnels"] if tunnel["interface"] in interfaces)
