# -*- coding: utf-8 -*-
"""Field-level rules for one bond definition.

Each check returns error strings instead of raising, so that one run reports every problem
in the inventory at once; the caller prefixes each with the bond it belongs to.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import netaddr

MAX_TUNNELS = 32
MAX_BOND_ID = 255
IFNAME_MAX = 15
INTERFACE_PREFIX = "bo-"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")
PROTOS = ("udp", "tcp")
BALANCE_MODES = ("packet", "flow")

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
}
KNOWN_FIELDS = set(REQUIRED_FIELDS) | set(OPTIONAL_FIELDS)


def interface_name(bond_name, index):
    return "%s%s-%d" % (INTERFACE_PREFIX, bond_name, index)


def is_int(value):
    # YAML gives booleans for yes/no; True must not pass as tunnel count 1.
    return isinstance(value, int) and not isinstance(value, bool)


def check_fields_known(bond):
    unknown = sorted(str(key) for key in bond if key not in KNOWN_FIELDS)
    if unknown:
        return ["field '%s': unknown field (known: %s)" % (key, ", ".join(sorted(KNOWN_FIELDS)))
                for key in unknown]
    return []


def check_required(bond):
    return ["field '%s': required" % field for field in REQUIRED_FIELDS if bond.get(field) is None]


def check_name(name, tunnels):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
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
    if value not in choices:
        return ["field '%s': must be one of %s, got %r" % (field, ", ".join(choices), value)]
    return []


def check_weights(weights, tunnels):
    if weights is None:
        return []
    if not isinstance(weights, list) or not all(is_int(w) and w > 0 for w in weights):
        return ["field 'weights': must be a list of positive integers, got %r" % (weights,)]
    if is_int(tunnels) and len(weights) != tunnels:
        return ["field 'weights': has %d entries but tunnels is %d; give one weight per tunnel"
                % (len(weights), tunnels)]
    return []


def parse_networks(field, value):
    """Returns (networks, errors); networks are netaddr.IPNetwork in CIDR form."""
    if not isinstance(value, list):
        return [], ["field '%s': must be a list of CIDRs, got %r" % (field, value)]
    networks, errors = [], []
    for item in value:
        try:
            network = netaddr.IPNetwork(str(item))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            errors.append("field '%s': %r is not a valid CIDR" % (field, item))
            continue
        if network.version != 4 or "/" not in str(item):
            errors.append("field '%s': %r must be an IPv4 network in CIDR form (a.b.c.d/len)" % (field, item))
        elif network.ip != network.network:
            errors.append("field '%s': %r has host bits set; did you mean %s?" % (field, item, network.cidr))
        else:
            networks.append(network)
    return networks, errors


def check_snat(snat):
    if not isinstance(snat, bool):
        return ["field 'snat': must be true or false, got %r" % (snat,)]
    return []


def check_shaper(shaper):
    if shaper is not None and (not is_int(shaper) or not 100 <= shaper <= 100000000):
        return ["field 'shaper': must be bytes per second from 100 to 100000000 (OpenVPN's range), got %r"
                % (shaper,)]
    return []


def check_remote(remote):
    if remote is not None and (not isinstance(remote, str) or not remote.strip()):
        return ["field 'remote': must be a host name or address, got %r" % (remote,)]
    return []
