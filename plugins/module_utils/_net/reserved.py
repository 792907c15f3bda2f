# -*- coding: utf-8 -*-
"""Address ranges no bond can carry and no pool can number: a host never routes them into a
tunnel (loopback, link-local, multicast), or they mean "this host", "any" or "broadcast".
A plan that used them would be accepted and then fail on the host, after hosts changed.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.bonded.openvpn.plugins.module_utils._net import shapes

# (range, what it is), by family. 100.64.0.0/10 (carrier-grade NAT) and the documentation
# ranges route like any other, so they are not here.
RANGES = (
    ("0.0.0.0/8", "\"this network\", never a destination"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved, and the broadcast address"),
    ("::/8", "reserved: unspecified, loopback and IPv4-mapped addresses"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
)


def _parsed():
    found = []
    for text, what in RANGES:
        first, prefix, dummy = shapes.parse_cidr(text, ipv6=True)
        found.append((shapes.Net(first, prefix), what))
    return tuple(found)


PARSED = _parsed()


def overlap(network):
    """``(range, what it is)`` of the first reserved range ``network`` (a shapes.Net) meets,
    or None."""
    for reserved, what in PARSED:
        if network.overlaps(reserved):
            return reserved, what
    return None
