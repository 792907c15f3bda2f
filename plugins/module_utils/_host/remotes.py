# -*- coding: utf-8 -*-
"""The server addresses a host dials, resolved on that host, against the routes it installs.

A client's tunnels travel to its bond's ``remote`` (and each uplink's). If one of the routes
this host puts into a bond covers that address, the tunnels' own packets would be routed
into the tunnels. The planner refuses that for IP addresses; a host name resolves only on
the host, so the preflight module (before any host changes) and ``balance_datapath``
(before it changes the data path) both check it here. Every bond this host plays counts:
a hub that dials one bond must not route that bond's server into another of its bonds.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket

FAMILY_NAMES = {"ipv4": "IPv4", "ipv6": "IPv6"}


def resolve(name, family="ipv4"):
    """The addresses of ``family`` that ``name`` stands for on this host, as the client's
    OpenVPN dials it (None: it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET6 if family == "ipv6" else socket.AF_INET,
                                   socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError, OSError):
        return None
    return sorted(set(ipaddress.ip_address(info[4][0]) for info in infos))


def routed(sides):
    """(network, bond, field, what) for each destination this host routes into a bond."""
    found = []
    for side in sides:
        bond, client = side["bond"], side.get("role") == "client"
        found.append(("%s/32" % side["peer_bundle"], bond, "bonded_openvpn_pool", "the peer's bundle address"))
        if side.get("peer_bundle6"):
            found.append(("%s/128" % side["peer_bundle6"], bond, "bonded_openvpn_pool6",
                          "the peer's IPv6 bundle address"))
        for tunnel in side.get("tunnels") or []:
            found.append(("%s/32" % tunnel["peer_address"], bond, "bonded_openvpn_pool",
                          "tunnel %d's peer address" % tunnel["index"]))
        field, what = ("server_networks", "a network behind the server") if client else (
            "client_networks", "a network behind the client")
        found += [(network, bond, field, what) for network in side.get("peer_networks") or []]
    return [(ipaddress.ip_network(network, strict=False), bond, field, what) for network, bond, field, what in found]


def dialed(sides):
    """(bond, remote, family) for each server address a client side of this host dials."""
    found = []
    for side in sides:
        if side.get("role") != "client" or not side.get("remote"):
            continue
        # Each uplink may dial its own server address: every one is checked.
        remotes = [side["remote"]] + [u["remote"] for u in side.get("uplinks") or [] if u.get("remote")]
        for remote in sorted(set(remotes), key=remotes.index):
            found.append((side["bond"], remote, side.get("underlay_family") or "ipv4"))
    return found


def check(sides, resolver=resolve):
    """(problems, warnings, resolved): one problem per dialed address a route of this host
    covers; a warning per remote that does not resolve (it cannot be checked, and the tunnels
    cannot connect until it does); ``resolved`` maps each remote to its addresses as text."""
    routes = routed(sides)
    problems, warnings, resolved = [], [], {}
    for bond, remote, family in dialed(sides):
        addresses = resolver(remote, family)
        if addresses is None:
            warnings.append("bond '%s': field 'remote': %r has no %s address on this host, so it cannot be checked "
                            "against the bond's routes; the tunnels cannot connect until it resolves"
                            % (bond, remote, FAMILY_NAMES[family]))
            continue
        resolved[remote] = [str(address) for address in addresses]
        for address in addresses:
            for network, owner, field, what in routes:
                if address.version == network.version and address in network:
                    problems.append(
                        "bond '%s': remote %s resolves on this host to %s, inside %s (%s, field '%s' of bond '%s'), "
                        "which this host routes into bond '%s'; the tunnels' own packets would go into the tunnels: "
                        "dial the server at an address outside the bonds' routes or change '%s'"
                        % (bond, remote, address, network, what, field, owner, owner, field))
    return problems, warnings, resolved
