# -*- coding: utf-8 -*-
"""Rules across bonds: unique names and ids, port ranges per server, networks per host.

Each pass sorts once and compares neighbours, so the cost grows as n log n with the number
of bonds, never n squared (a fleet of 256 spokes plans in milliseconds). Every bond is
known to be field-valid here (the field rules ran first) and carries its parsed networks
under ``__networks``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


def check_unique(entries, field):
    """``entries``: (label, value) with hashable values; the later duplicate is reported."""
    seen, errors = {}, []
    for label, value in entries:
        if value in seen:
            errors.append("%s: field '%s': %r is already used by %s" % (label, field, value, seen[value]))
        else:
            seen[value] = label
    return errors


def check_server_ports(bonds):
    """``bonds``: (label, bond) pairs. One server's bonds must use disjoint port ranges."""
    by_server = {}
    for position, (label, bond) in enumerate(bonds):
        by_server.setdefault(bond["server"], []).append(
            (bond["port"], position, bond["port"] + bond["tunnels"] - 1, label))
    errors = []
    for server in sorted(by_server):
        reach = None  # the range reaching furthest so far
        for first, _position, last, label in sorted(by_server[server]):
            if reach is not None and first <= reach[1]:
                errors.append("%s: field 'port': ports %d..%d on server %r overlap %s's ports %d..%d"
                              % (label, first, last, server, reach[2], reach[0], reach[1]))
            if reach is None or last > reach[1]:
                reach = (first, last, label)
    return errors


def owned_networks(bonds):
    """(network, owner host, label, field) for every network of every bond, in order."""
    owned = []
    for label, bond in bonds:
        for field, owner in (("server_networks", bond["server"]), ("client_networks", bond["client"])):
            for network in bond["__networks"][field]:
                owned.append((network, owner, label, field))
    return owned


def check_networks(owned, pool, pool6=None):
    """A network may appear in several bonds only behind the same host (a hub's LAN);
    otherwise networks are disjoint, and none touches the pool.

    CIDR blocks either nest or are disjoint, so a sweep in address order with a stack of
    the blocks enclosing the current one finds every overlap with its innermost partner."""
    errors = []
    for network, _owner, label, field in owned:
        for name, reserved in (("bonded_openvpn_pool", pool), ("bonded_openvpn_pool6", pool6)):
            if reserved is not None and network.overlaps(reserved):
                errors.append("%s: field '%s': %s overlaps %s %s" % (label, field, network, name, reserved))
    order = sorted(range(len(owned)), key=lambda i: (owned[i][0].first, owned[i][0].prefix, i))
    stack = []
    for i in order:
        network, owner, label, field = owned[i]
        while stack and stack[-1][0].last < network.first:
            stack.pop()
        if stack:
            other, other_owner, other_label, other_field = stack[-1]
            if other_owner != owner or other != network:
                errors.append("%s: field '%s': %s overlaps %s behind %r (%s field '%s')"
                              % (label, field, network, other, other_owner, other_label, other_field))
        stack.append(owned[i])
    return errors
