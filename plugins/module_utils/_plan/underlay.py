# -*- coding: utf-8 -*-
"""Rules that keep the bond off the underlay: no host may route an address its tunnels
travel to into a bond, the pool may not shadow a host's address, and no host may carry
one destination in two bonds.

A host installs the peer's networks of every side it plays (a client installs the bond's
``server_networks``, a server its ``client_networks``). Its tunnels travel to the server's
dial address (``remote``, or the server's ``ansible_host`` it defaults to) and to the
client's ``ansible_host``, in every bond it plays: a hub's route for one spoke's networks
must not swallow another spoke's address. Host names cannot be checked (they resolve on
the host); IP addresses can.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect

from ansible_collections.bonded.openvpn.plugins.module_utils._net import shapes


def _dial(label, bond, hosts):
    if bond.get("remote") is not None:
        return bond["remote"], "%s field 'remote'" % label
    return hosts[bond["server"]], "%s field 'remote' (defaulted from ansible_host of %r)" % (label, bond["server"])


def _uplink_addresses(label, bond):
    """What the client's uplinks add: its own addresses on them, their next hops, and the
    server addresses it dials over them."""
    found = []
    for uplink in bond.get("uplinks") or []:
        where = "%s uplink '%s'" % (label, uplink["name"])
        found.append((uplink["address"], "%s field 'address'" % where))
        for field in ("gateway", "remote"):
            if uplink.get(field) is not None:
                found.append((uplink[field], "%s field '%s'" % (where, field)))
    return found


def endpoints(bonds, hosts):
    """(host, address as int, where it comes from) for each IP address a bond's tunnels use,
    once for each end of the bond."""
    found = []
    for label, bond in bonds:
        dial, dial_source = _dial(label, bond, hosts)
        client_source = "ansible_host of %r, client of %s" % (bond["client"], label)
        for value, source in [(dial, dial_source), (hosts[bond["client"]], client_source)] + _uplink_addresses(label, bond):
            address = shapes.address(value)
            if address is not None:
                for host in (bond["server"], bond["client"]):
                    found.append((host, address, source))
    return found


def routes(bonds):
    """(host, network, label, field) for each route a host installs into a bond."""
    found = []
    for label, bond in bonds:
        for host, field in ((bond["client"], "server_networks"), (bond["server"], "client_networks")):
            for network in bond["__networks"][field]:
                found.append((host, network, label, field))
    return found


def check_capture(bonds, hosts):
    underlay = {}
    for host, address, source in endpoints(bonds, hosts):
        underlay.setdefault(host, {}).setdefault(address, source)
    sorted_underlay = dict((host, sorted(addresses)) for host, addresses in underlay.items())
    errors = []
    for host, network, label, field in routes(bonds):
        addresses = sorted_underlay.get(host, [])
        at = bisect.bisect_left(addresses, network.first)
        if at < len(addresses) and addresses[at] <= network.last:
            address = addresses[at]
            errors.append("%s: field '%s': %s covers %s (%s), which %r must reach outside the bond; routed "
                          "into the bond it would carry the tunnels' own packets: narrow the network"
                          % (label, field, network, shapes.dotted(address), underlay[host][address], host))
    return errors


def check_pool(bonds, hosts, pool, name="bonded_openvpn_pool"):
    """Bundle and transfer addresses come from the pool (or pool6); a host address inside it
    would be shadowed by them."""
    sources = []
    for label, bond in bonds:
        dial, dial_source = _dial(label, bond, hosts)
        sources.append((dial, dial_source))
        for role in ("server", "client"):
            sources.append((hosts[bond[role]], "ansible_host of %r, %s of %s" % (bond[role], role, label)))
        sources += _uplink_addresses(label, bond)
    errors, seen = [], set()
    for value, source in sources:
        address = shapes.address(value)
        if address is not None and pool.holds(address) and address not in seen:
            seen.add(address)
            errors.append("%s: %s contains %s (%s); choose a pool that holds no host's "
                          "address" % (name, pool, shapes.dotted(address), source))
    return errors


def check_destinations(bonds):
    """The data path keys a host's routes by destination: two bonds cannot both carry one."""
    carried, errors = {}, []
    for host, network, label, field in routes(bonds):
        other = carried.setdefault((host, network), (label, field))
        if other[0] != label:
            errors.append("%s: field '%s': %s is also routed by %r into %s (field '%s'); a host carries a "
                          "destination in one bond only: list it in one of them"
                          % (label, field, network, host, other[0], other[1]))
    return errors
