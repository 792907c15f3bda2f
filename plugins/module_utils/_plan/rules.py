# -*- coding: utf-8 -*-
"""Field-level rules for one bond definition.

Each check returns error strings instead of raising, so that one run reports every problem
in the inventory at once; the caller prefixes each with the bond it belongs to. Every
value is type-checked before it is compared, hashed or formatted, so a YAML set, mapping
or list in a scalar field gives a message, never an exception.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._net import reserved
from ansible_collections.bonded.openvpn.plugins.module_utils._net import shapes

MAX_TUNNELS = layout.MAX_TUNNELS
MAX_BOND_ID = layout.MAX_BOND_ID
IFNAME_MAX = 15
INTERFACE_PREFIX = layout.INTERFACE_PREFIX
PROTOS = ("udp", "tcp")
# The address family the tunnels' own packets travel in (their "underlay").
UNDERLAY_FAMILIES = ("ipv4", "ipv6")
BALANCE_MODES = layout.BALANCE_MODES
# Milliseconds (layout.FLOWLET_GAP_LIMITS says why these bounds).
FLOWLET_GAP_MIN, FLOWLET_GAP_MAX = layout.FLOWLET_GAP_LIMITS
# Packet mode repeats each tunnel's mark weight times in one nft map: 256 entries is
# 8 per tunnel at N=32, enough for any real link ratio, and keeps the table a few KB.
MAX_MAP_ENTRIES = layout.MAX_MAP_ENTRIES
# A multipath nexthop's weight is one byte plus one in the kernel (1..256).
MAX_NEXTHOP_WEIGHT = 256
# 10.0.0.0/8 is the widest private block; anything wider reaches into public space (the
# default route's halves 0.0.0.0/1 and 128.0.0.0/1 are the classic way to capture all).
MIN_NETWORK_PREFIX = 8
# The IPv6 counterpart: 2000::/3 is all of the global unicast space; a /16 is already more
# than any one site's (an RIR gives an ISP a /32).
MIN_NETWORK_PREFIX6 = 16
# egress_rate, bits/s per tunnel: tc parses rates into 64-bit bytes/s, but below 1000 bytes/s
# one full-size packet takes more than a second to leave, and 100 Gbit/s is beyond any one
# tunnel (a userspace tunnel carries about 1 Gbit/s, a DCO one a few).
EGRESS_RATE_MIN, EGRESS_RATE_MAX = layout.EGRESS_RATE_LIMITS
# latency_cutoff, milliseconds (0: off); past 10 s of delay difference nothing is bonded.
LATENCY_CUTOFF_MIN, LATENCY_CUTOFF_MAX = layout.LATENCY_CUTOFF_LIMITS

REQUIRED_FIELDS = ("name", "id", "server", "client", "tunnels", "port")
OPTIONAL_FIELDS = {
    "remote": None,
    "proto": "udp",
    "balance": "packet",
    "weights": None,
    "server_networks": [],
    "client_networks": [],
    "snat": False,
    "shaper": None,
    "egress_rate": None,
    "flowlet_gap": None,
    "latency_cutoff": None,
    "udp_balance": layout.UDP_BALANCE_DEFAULT,
    "uplinks": None,
    "mptcp": False,
    "underlay_family": None,
    "snat6": False,
}
KNOWN_FIELDS = set(REQUIRED_FIELDS) | set(OPTIONAL_FIELDS)
NETWORK_FIELDS = ("server_networks", "client_networks")


def interface_name(bond_name, index):
    return "%s%s-%d" % (INTERFACE_PREFIX, bond_name, index)


def is_int(value):
    # YAML gives booleans for yes/no; True must not pass as tunnel count 1.
    return isinstance(value, int) and not isinstance(value, bool)


def check_fields_known(mapping, known=None):
    """``known``: the fields, in the order the message lists them (default: a bond's, sorted)."""
    known = known or sorted(KNOWN_FIELDS)
    # A key is echoed escaped (a newline in it shows as \n), never raw.
    unknown = sorted(key.encode("unicode_escape").decode("ascii") if isinstance(key, str) else repr(key)
                     for key in mapping if key not in known)
    return ["field '%s': unknown field (known: %s)" % (key, ", ".join(known)) for key in unknown]


def check_required(bond):
    return ["field '%s': required" % field for field in REQUIRED_FIELDS if bond.get(field) is None]


def check_name(name, tunnels):
    if not shapes.is_bond_name(name):
        return ["field 'name': must be lower-case letters and digits starting with a letter, got %r" % (name,)]
    last = tunnels - 1 if is_int(tunnels) and 1 <= tunnels <= MAX_TUNNELS else MAX_TUNNELS - 1
    longest = interface_name(name, last)
    if len(longest) > IFNAME_MAX:
        allowed = IFNAME_MAX - len(interface_name("", last))
        return ["field 'name': interface name %r is longer than the kernel's %d characters; "
                "use a name of at most %d characters" % (longest, IFNAME_MAX, allowed)]
    return []


def check_id(bond_id, block_count):
    limit = min(MAX_BOND_ID, block_count - 1)
    if not is_int(bond_id) or not 0 <= bond_id <= limit:
        return ["field 'id': must be an integer from 0 to %d (the pool holds %d bond blocks of /24), got %r"
                % (limit, block_count, bond_id)]
    return []


def check_hosts(bond, hosts):
    errors = []
    for field in ("server", "client"):
        host = bond.get(field)
        if host is None:
            continue
        if not isinstance(host, str):
            errors.append("field '%s': must be an inventory hostname, got %r" % (field, host))
        elif not shapes.is_inventory_host(host):
            errors.append("field '%s': inventory hostname %r is not a safe host name (letters, digits, '.', "
                          "'-' and '_', starting and ending with a letter or digit, at most 253 characters); "
                          "rename the host in the inventory" % (field, host))
        elif host not in hosts:
            errors.append("field '%s': host %r is not in the inventory" % (field, host))
    if isinstance(bond.get("server"), str) and bond.get("server") == bond.get("client"):
        errors.append("field 'client': must differ from server (both are %r)" % (bond["server"],))
    return errors


def check_tunnels(tunnels):
    if not is_int(tunnels) or not 1 <= tunnels <= MAX_TUNNELS:
        return ["field 'tunnels': must be an integer from 1 to %d, got %r" % (MAX_TUNNELS, tunnels)]
    return []


def check_port(port, tunnels):
    if not is_int(port) or not 1 <= port <= 65535:
        return ["field 'port': must be an integer from 1 to 65535, got %r" % (port,)]
    if is_int(tunnels) and port + tunnels - 1 > 65535:
        return ["field 'port': tunnels use ports %d..%d, past 65535; lower the port" % (port, port + tunnels - 1)]
    return []


def check_choice(field, value, choices):
    if not isinstance(value, str) or value not in choices:
        return ["field '%s': must be one of %s, got %r" % (field, ", ".join(choices), value)]
    return []


def reduce_weights(weights):
    """Weights divided by their greatest common divisor (4:2:2 spreads as 2:1:1)."""
    divisor = 0
    for weight in weights:
        divisor = math.gcd(divisor, weight)
    return [weight // divisor for weight in weights]


def check_weights(weights, tunnels, balance):
    if weights is None:
        return []
    if not isinstance(weights, list) or not all(is_int(w) and w > 0 for w in weights):
        return ["field 'weights': must be a list of positive integers, got %r" % (weights,)]
    if is_int(tunnels) and len(weights) != tunnels:
        return ["field 'weights': has %d entries but tunnels is %d; give one weight per tunnel"
                % (len(weights), tunnels)]
    if balance == "flow" and max(weights) > MAX_NEXTHOP_WEIGHT:
        return ["field 'weights': in flow mode each weight must be from 1 to %d (what a multipath nexthop "
                "accepts), got %r" % (MAX_NEXTHOP_WEIGHT, weights)]
    if balance in ("packet", "flowlet"):
        entries = sum(reduce_weights(weights))
        if entries > MAX_MAP_ENTRIES:
            return ["field 'weights': the nft map would hold %d entries (the weights' sum after dividing by "
                    "their common divisor), more than %d; use smaller weights with the same ratio"
                    % (entries, MAX_MAP_ENTRIES)]
    return []


def check_flowlet_gap(gap, balance):
    if gap is None:
        return []
    if not is_int(gap) or not FLOWLET_GAP_MIN <= gap <= FLOWLET_GAP_MAX:
        return ["field 'flowlet_gap': must be milliseconds from %d to %d (an integer), got %r"
                % (FLOWLET_GAP_MIN, FLOWLET_GAP_MAX, gap)]
    if balance != "flowlet":
        return ["field 'flowlet_gap': applies to balance flowlet only, and balance is %r; remove it or set "
                "balance: flowlet" % (balance,)]
    return []


def check_latency_cutoff(cutoff):
    if cutoff is not None and (not is_int(cutoff) or not LATENCY_CUTOFF_MIN <= cutoff <= LATENCY_CUTOFF_MAX):
        return ["field 'latency_cutoff': must be milliseconds from %d to %d (an integer; 0 turns it off), got %r"
                % (LATENCY_CUTOFF_MIN, LATENCY_CUTOFF_MAX, cutoff)]
    return []


def latency_cutoff(bond):
    """The bond's latency cutoff in ms: as given, else the default (off until the delay
    bench shows a cutoff holding up on real tunnels; see layout.LATENCY_CUTOFF_DEFAULT)."""
    if bond.get("latency_cutoff") is not None:
        return bond["latency_cutoff"]
    return layout.LATENCY_CUTOFF_DEFAULT


def parse_networks(field, value):
    """Returns (networks, errors); networks are shapes.Net (IPv4 or IPv6), each listed once."""
    if not isinstance(value, list):
        return [], ["field '%s': must be a list of CIDRs, got %r" % (field, value)]
    networks, errors = [], []
    for item in value:
        first, prefix, problem = shapes.parse_cidr(item, ipv6=True)
        cidr_shaped = isinstance(item, str) and (shapes.CIDR.fullmatch(item) or shapes.CIDR6.fullmatch(item))
        if problem == "form" and cidr_shaped:
            errors.append("field '%s': %r is not a valid CIDR" % (field, item))
        elif problem == "form":
            errors.append("field '%s': %r must be an IPv4 or IPv6 network in CIDR form (a.b.c.d/len or x:x::/len)"
                          % (field, item))
        elif problem == "host bits":
            errors.append("field '%s': %r has host bits set; did you mean %s?"
                          % (field, item, shapes.Net(first, prefix)))
        elif prefix < _min_prefix(shapes.Net(first, prefix)):
            errors.append("field '%s': %s is broader than /%d; a bond carries private networks, not the "
                          "default route or its halves: list the networks behind the host"
                          % (field, shapes.Net(first, prefix), _min_prefix(shapes.Net(first, prefix))))
        elif reserved.overlap(shapes.Net(first, prefix)):
            errors.append("field '%s': %s overlaps %s (%s), which no tunnel can carry: list the networks behind "
                          "the host" % ((field, shapes.Net(first, prefix)) + reserved.overlap(shapes.Net(first, prefix))))
        elif shapes.Net(first, prefix) in networks:
            errors.append("field '%s': %s is listed twice; list each network once"
                          % (field, shapes.Net(first, prefix)))
        else:
            networks.append(shapes.Net(first, prefix))
    return networks, errors


def _min_prefix(network):
    return MIN_NETWORK_PREFIX6 if network.version == 6 else MIN_NETWORK_PREFIX


def carries_ipv6(bond):
    """Whether the bond lists an IPv6 network (it then gets IPv6 addresses inside)."""
    return any(network.version == 6 for field in NETWORK_FIELDS for network in parse_networks(field, bond.get(field, []))[0])


def check_ipv6_networks(bond, pool6_given):
    """An IPv6 network needs the bond's IPv6 addresses (from bonded_openvpn_pool6); NAT66
    (``snat6``) needs an IPv6 network on the server's side to rewrite the client's
    traffic to."""
    errors = []
    six = dict((field, [network for network in parse_networks(field, bond.get(field, []))[0] if network.version == 6])
               for field in NETWORK_FIELDS)
    for field in NETWORK_FIELDS:
        if six[field] and not pool6_given:
            errors.append("field '%s': %s is an IPv6 network, which needs the bond's IPv6 bundle and transfer "
                          "addresses: set bonded_openvpn_pool6 (an IPv6 /56 or larger, e.g. fd00:0:0:ff00::/56)"
                          % (field, six[field][0]))
    snat6 = bond.get("snat6", False)
    if not isinstance(snat6, bool):
        errors.append("field 'snat6': must be true or false, got %r" % (snat6,))
    elif snat6 and not six["server_networks"]:
        errors.append("field 'snat6': NAT66 rewrites the client's IPv6 sources on their way to the server's IPv6 "
                      "networks, and server_networks lists none; add the IPv6 networks behind the server, or set "
                      "snat6: false")
    return errors


def check_snat(snat):
    if not isinstance(snat, bool):
        return ["field 'snat': must be true or false, got %r" % (snat,)]
    return []


# The in-kernel MPTCP path manager opens at most 8 extra subflows per connection (one per
# tunnel here).
MPTCP_MAX_TUNNELS = layout.MPTCP_MAX_SUBFLOWS


def check_mptcp(mptcp, tunnels):
    if not isinstance(mptcp, bool):
        return ["field 'mptcp': must be true or false, got %r" % (mptcp,)]
    if mptcp and is_int(tunnels) and tunnels > MPTCP_MAX_TUNNELS:
        return ["field 'mptcp': an MPTCP connection has at most %d extra subflows (the kernel's limit), one per "
                "tunnel, and this bond has %d tunnels; lower 'tunnels' to %d or set mptcp: false"
                % (MPTCP_MAX_TUNNELS, tunnels, MPTCP_MAX_TUNNELS)]
    return []


def check_shaper(shaper):
    if shaper is not None and (not is_int(shaper) or not 100 <= shaper <= 100000000):
        return ["field 'shaper': must be bytes per second from 100 to 100000000 (OpenVPN's range), got %r"
                % (shaper,)]
    return []


def check_egress_rate(rate, shaper):
    if rate is None:
        return []
    if not is_int(rate) or not EGRESS_RATE_MIN <= rate <= EGRESS_RATE_MAX:
        return ["field 'egress_rate': must be bits per second from %d to %d (an integer), got %r"
                % (EGRESS_RATE_MIN, EGRESS_RATE_MAX, rate)]
    if shaper is not None:
        # Both would shape the same tunnel's sending; the tighter one wins and the other only
        # confuses. OpenVPN's also turns DCO off, so egress_rate is the one to keep.
        return ["field 'egress_rate': set together with 'shaper', which shapes the same tunnels inside OpenVPN "
                "and turns DCO off; keep egress_rate and remove shaper (shaper %r bytes/s is egress_rate %r)"
                % (shaper, shaper * 8 if is_int(shaper) else "8 x shaper")]
    return []


def check_remote(remote):
    problem = shapes.dial_problem(remote) if remote is not None else None
    if problem:
        return ["field 'remote': %s, got %r" % (problem, remote)]
    return []


def check_default_remote(server, address):
    """The server's ansible_host, which ``remote`` defaults to, as the client will dial it."""
    problem = shapes.dial_problem(address)
    if problem:
        return ["field 'remote' (defaulted from ansible_host of %r): %s, got %r; fix ansible_host or set "
                "remote on the bond" % (server, problem, address)]
    return []
