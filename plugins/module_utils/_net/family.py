# -*- coding: utf-8 -*-
"""The address family a bond's tunnels travel in: its underlay.

An OpenVPN server given ``proto udp`` binds an IPv4 socket only; ``udp6`` binds a
dual-stack one (IPv6, and IPv4 as mapped addresses). So the server must know which family
its clients dial, and the client must not pick one by chance: a host name with both A
and AAAA records would otherwise be dialed in whichever family the resolver lists first.

A bond's family is its ``underlay_family`` when given, else IPv6 when an address the
client dials is an IPv6 address, else IPv4. Host names are dialed in the bond's family.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.bonded.openvpn.plugins.module_utils._net import shapes

NAMES = {"ipv4": "IPv4", "ipv6": "IPv6"}


def of_address(value):
    """"ipv4" or "ipv6" for an IP address written as this collection accepts it, else None
    (a host name, or a value another rule refuses)."""
    if shapes.ipv4(value) is not None:
        return "ipv4"
    if isinstance(value, str) and shapes.dial_problem(value) is None and ":" in value:
        return "ipv6"
    return None


def normalized(value):
    """An IPv6 address in its one canonical text (RFC 5952), so config, plan and parity
    compare alike however the inventory spells it; anything else as it is."""
    if of_address(value) == "ipv6":
        return str(ipaddress.IPv6Address(value))
    return value


def _dials(bond, hosts):
    """(address or name, where it comes from) for each server address the client dials."""
    remote = bond.get("remote")
    if remote is not None:
        found = [(remote, "field 'remote'")]
    else:
        found = [(hosts.get(bond.get("server")), "ansible_host of %r" % (bond.get("server"),))]
    uplinks = bond.get("uplinks")
    for uplink in uplinks if isinstance(uplinks, list) else []:
        if isinstance(uplink, dict) and uplink.get("remote") is not None:
            found.append((uplink["remote"], "uplink '%s' field 'remote'" % (uplink.get("name"),)))
    return found


def family(bond, hosts):
    """The bond's underlay family (for a bond that passed ``check``)."""
    if bond.get("underlay_family") is not None:
        return bond["underlay_family"]
    return "ipv6" if any(of_address(value) == "ipv6" for value, _where in _dials(bond, hosts)) else "ipv4"


def check(bond, hosts):
    """Errors of a bond whose dialed addresses cannot share one family, or whose uplinks
    (bound to IPv4 addresses) would have to dial IPv6."""
    chosen = bond.get("underlay_family")
    literal = [(value, where, of_address(value)) for value, where in _dials(bond, hosts)]
    literal = [item for item in literal if item[2] is not None]
    if chosen is not None:
        errors = ["field 'underlay_family': is %s, but %s (%s) is an %s address: dial an %s address or a host "
                  "name, or set underlay_family: %s" % (chosen, value, where, NAMES[found], NAMES[chosen], found)
                  for value, where, found in literal if found != chosen]
        if errors:
            return errors
    families = sorted(set(found for _value, _where, found in literal))
    if chosen is None and len(families) > 1:
        return ["field 'remote': the client dials %s; one bond's server listens in one family: dial all its "
                "addresses in one family" % " and ".join("%s (%s)" % (value, where) for value, where, _f in literal)]
    if family(bond, hosts) == "ipv6" and bond.get("uplinks"):
        return ["field 'uplinks': an uplink binds its tunnels to its IPv4 'address', and this bond's underlay is "
                "IPv6; dial the server at an IPv4 address over the uplinks, or leave uplinks out"]
    return []
