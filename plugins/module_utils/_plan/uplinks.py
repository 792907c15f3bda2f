# -*- coding: utf-8 -*-
"""Uplinks: the client's links to its ISPs, each carrying some of a bond's tunnels.

A bond may name up to MAX_UPLINKS uplinks of its client. Tunnel k rides uplink ``k mod U``
(round-robin: growing or shrinking the bond never moves a tunnel that stays), or, when
every uplink gives ``tunnels``, the first uplink's count of tunnels, then the next's.
OpenVPN binds each instance to its uplink's ``address``; a routing table per uplink and
an ``ip rule from ADDRESS`` send everything from that address out of its ``interface``,
whatever the main table says, and an ``unreachable`` route behind it keeps a dead
uplink's packets from leaking out of another.

Tunnel weights default to each uplink's ``capacity`` shared among its tunnels, so a bond
over 30, 20 and 10 Mbit/s spreads 3:2:1 without anyone working the ratio out.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re
from fractions import Fraction

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import rules
from ansible_collections.bonded.openvpn.plugins.module_utils._net import shapes

MAX_UPLINKS = layout.MAX_UPLINKS
# Uplink u of bond id (layout.uplink_table, layout.uplink_priority): its table sits inside
# the bond's block of 100 tables, clear of its tunnels' 0..31, and its rule after every
# tunnel's fwmark rule (5000..13191): a marked packet is steered into its tunnel first.
CAPACITY_MAX = 1000000   # Mbit/s: a terabit uplink is beyond any bond
UPLINK_NAME = re.compile(r"[a-z][a-z0-9]{0,14}", re.ASCII)
# What the kernel accepts as an interface name, minus '/', ':' and whitespace; the
# collection's own tunnels ("bo-...") are never an uplink.
INTERFACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}", re.ASCII)
FIELDS = ("name", "interface", "address", "gateway", "remote", "capacity", "tunnels", "nat")
REQUIRED = ("name", "interface", "address")


def _unicast(field, value):
    address = shapes.ipv4(value)
    if address is None:
        return None, "field '%s': must be an IPv4 address (a.b.c.d), got %r" % (field, value)
    if address >> 24 in (0, 127) or address >> 28 >= 14:
        return None, "field '%s': %s is not a unicast host address" % (field, value)
    return address, None


def _check_one(uplink):
    if not isinstance(uplink, dict):
        return ["must be a mapping with name, interface and address, got %r" % (uplink,)]
    errors = rules.check_fields_known(uplink, FIELDS)
    errors += ["field '%s': required" % field for field in REQUIRED if uplink.get(field) is None]
    name = uplink.get("name")
    if name is not None and not (isinstance(name, str) and UPLINK_NAME.fullmatch(name)):
        errors.append("field 'name': must be 1-15 lower-case letters and digits starting with a letter, got %r"
                      % (name,))
    interface = uplink.get("interface")
    if interface is not None and not (isinstance(interface, str) and INTERFACE.fullmatch(interface)
                                      and interface not in (".", "..") and not interface.startswith(rules.INTERFACE_PREFIX)):
        errors.append("field 'interface': must be the name of a network interface of the client (1-15 letters, "
                      "digits, '_', '.', '-'; not one of the bond's own bo-* tunnels), got %r" % (interface,))
    address = gateway = None
    if uplink.get("address") is not None:
        address, problem = _unicast("address", uplink["address"])
        errors += [problem] if problem else []
    if uplink.get("gateway") is not None:
        gateway, problem = _unicast("gateway", uplink["gateway"])
        errors += [problem] if problem else []
        if gateway is not None and gateway == address:
            errors.append("field 'gateway': is the uplink's own address %s; give the next hop (the ISP router), "
                          "or leave gateway out when the server is on the uplink's link" % uplink["gateway"])
    errors += rules.check_remote(uplink.get("remote"))
    capacity = uplink.get("capacity")
    if capacity is not None and not (rules.is_int(capacity) and 1 <= capacity <= CAPACITY_MAX):
        errors.append("field 'capacity': must be Mbit/s from 1 to %d (an integer), got %r" % (CAPACITY_MAX, capacity))
    count = uplink.get("tunnels")
    if count is not None and not (rules.is_int(count) and count >= 1):
        errors.append("field 'tunnels': must be a positive integer, got %r" % (count,))
    if uplink.get("nat") is not None and not isinstance(uplink["nat"], bool):
        errors.append("field 'nat': must be true or false, got %r" % (uplink["nat"],))
    return errors


def _all_or_none(uplinks, field, why):
    given = [isinstance(u, dict) and u.get(field) is not None for u in uplinks]
    if any(given) and not all(given):
        missing = [_name(u, i) for i, (u, g) in enumerate(zip(uplinks, given)) if not g]
        return ["field 'uplinks': %s gives no %s; give every uplink a %s or none (%s)"
                % (", ".join(missing), field, field, why)]
    return []


def _name(uplink, position):
    if isinstance(uplink, dict) and isinstance(uplink.get("name"), str) and UPLINK_NAME.fullmatch(uplink["name"]):
        return "uplink '%s'" % uplink["name"]
    return "uplink #%d" % (position + 1)


def check(uplinks, tunnels, weights):
    """Errors of a bond's ``uplinks`` field, each prefixed with the uplink it concerns."""
    if uplinks is None:
        return []
    if not isinstance(uplinks, list) or not 1 <= len(uplinks) <= MAX_UPLINKS:
        return ["field 'uplinks': must be a list of 1 to %d uplinks of the client, got %r" % (MAX_UPLINKS, uplinks)]
    errors = []
    for position, uplink in enumerate(uplinks):
        errors += ["field 'uplinks': %s: %s" % (_name(uplink, position), e) for e in _check_one(uplink)]
    if errors:
        return errors
    for field in ("name", "address"):
        seen = {}
        for position, uplink in enumerate(uplinks):
            if uplink[field] in seen:
                errors.append("field 'uplinks': uplink #%d: %s %r is already used by uplink #%d; give each uplink "
                              "its own" % (position + 1, field, uplink[field], seen[uplink[field]] + 1))
            seen.setdefault(uplink[field], position)
    errors += _all_or_none(uplinks, "tunnels", "counts, or round-robin over all")
    if weights is None:
        errors += _all_or_none(uplinks, "capacity", "the tunnels' weights come from the capacities")
    if errors or not rules.is_int(tunnels):
        return errors
    counts = [uplink.get("tunnels") for uplink in uplinks]
    if None not in counts and sum(counts) != tunnels:
        errors.append("field 'uplinks': the uplinks' tunnels add up to %d but the bond has %d tunnels; make them "
                      "equal" % (sum(counts), tunnels))
    elif None in counts and tunnels < len(uplinks):
        errors.append("field 'uplinks': %d uplinks but %d tunnels; round-robin gives every uplink at least one "
                      "tunnel: raise tunnels to %d or list fewer uplinks" % (len(uplinks), tunnels, len(uplinks)))
    return errors


def assignment(uplinks, tunnels):
    """The uplink position of each tunnel, by index."""
    counts = [uplink.get("tunnels") for uplink in uplinks]
    if None in counts:
        return [k % len(uplinks) for k in range(tunnels)]
    return [position for position, count in enumerate(counts) for _k in range(count)]


def weights(uplinks, riders, limit_sum, limit_each):
    """Each tunnel's weight: its uplink's capacity shared among that uplink's tunnels, as
    the smallest integers with that ratio; scaled down (rounding, at least 1 each) when
    those would exceed what the data path holds (``limit_sum`` map entries in all, or
    ``limit_each`` per nexthop). None when the uplinks give no capacity."""
    if any(uplink.get("capacity") is None for uplink in uplinks):
        return None
    counts = [riders.count(position) for position in range(len(uplinks))]
    shares = [Fraction(uplinks[u]["capacity"], counts[u]) for u in riders]
    scale = 1
    for share in shares:
        scale = scale * share.denominator // math.gcd(scale, share.denominator)
    whole = rules.reduce_weights([int(share * scale) for share in shares])
    if sum(whole) > limit_sum or max(whole) > limit_each:
        factor = min(Fraction(limit_sum, sum(whole)), Fraction(limit_each, max(whole)))
        whole = [max(1, int(weight * factor)) for weight in whole]
    return whole


def planned(bond, remote):
    """The bond's uplinks as the hosts need them; [] for a bond without any."""
    uplinks = bond.get("uplinks") or []
    riders = assignment(uplinks, bond["tunnels"])
    result = []
    for position, uplink in enumerate(uplinks):
        result.append({
            "index": position,
            "name": uplink["name"],
            "interface": uplink["interface"],
            "address": uplink["address"],
            "gateway": uplink.get("gateway"),
            "remote": uplink.get("remote") or remote,
            "capacity": uplink.get("capacity"),
            "nat": bool(uplink.get("nat", False)),
            "table": layout.uplink_table(bond["id"], position),
            "rule_priority": layout.uplink_priority(bond["id"], position),
            "tunnels": [k for k, rider in enumerate(riders) if rider == position],
        })
    return result


def check_hosts(bonds):
    """One client may carry several bonds over one uplink address; each bond has its own
    rule for it, and the first one matches, so they must all route it the same way."""
    seen, errors = {}, []
    for label, bond in bonds:
        for uplink in bond.get("uplinks") or []:
            route = (uplink["interface"], uplink.get("gateway"))
            key = (bond["client"], uplink["address"])
            other = seen.setdefault(key, (label, uplink["name"], route))
            if other[2] != route:
                errors.append("%s: field 'uplinks': uplink '%s' sends %s out of %s%s, but uplink '%s' of %s sends it "
                              "out of %s%s on the same client %r; describe the uplink alike in both bonds"
                              % (label, uplink["name"], uplink["address"], route[0],
                                 " via %s" % route[1] if route[1] else "", other[1], other[0], other[2][0],
                                 " via %s" % other[2][1] if other[2][1] else "", bond["client"]))
    return errors
