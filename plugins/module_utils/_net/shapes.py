# -*- coding: utf-8 -*-
"""The shapes a planned string may have: bond names, inventory host names, what a client
dials, IPv4 networks. Each is a full match over ASCII only (``re.fullmatch`` with
``re.ASCII``: ``$`` would accept a trailing newline, and ``\\d`` or ``[a-z]`` under
IGNORECASE would accept non-ASCII look-alikes).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

BOND_NAME = re.compile(r"[a-z][a-z0-9]*", re.ASCII)
# Inventory names become certificate common names and appear in file contents: letters,
# digits and . _ - only, as Ansible users write them (underscores are common there).
INVENTORY_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?", re.ASCII)
DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
# inet_aton (and so getaddrinfo) reads "10.1", "0x7f000001" or "010.0.0.1" as addresses;
# a name made only of such labels is an address in disguise.
NUMERIC_LABEL = re.compile(r"0[xX][0-9A-Fa-f]*|[0-9]+", re.ASCII)
DOTTED_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}", re.ASCII)
IPV6_TEXT = re.compile(r"[0-9A-Fa-f:.]{2,45}", re.ASCII)
CIDR = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3}){3})/([0-9]{1,2})", re.ASCII)
CIDR6 = re.compile(r"([0-9A-Fa-f:.]{2,45})/([0-9]{1,3})", re.ASCII)
# IPv6 addresses are kept as V6 + their value: one integer line holds both families without
# overlap (every IPv4 address is below 2**32), so the planner's sorted sweeps and
# containment tests work across families unchanged and never mix them.
V6 = 1 << 128
HOST_NAME_MAX = 253


def is_bond_name(value):
    return isinstance(value, str) and BOND_NAME.fullmatch(value) is not None


def is_inventory_host(value):
    return isinstance(value, str) and INVENTORY_HOST.fullmatch(value) is not None


def ipv4(value):
    """The address as an int when ``value`` is a dotted quad (no leading zeros), else None."""
    if not isinstance(value, str) or not DOTTED_QUAD.fullmatch(value):
        return None
    try:
        return int(ipaddress.IPv4Address(value))
    except ValueError:
        return None


def _ipv6(value):
    if not isinstance(value, str) or not IPV6_TEXT.fullmatch(value) or ":" not in value:
        return None
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def is_dns_name(value):
    if not isinstance(value, str) or not 1 <= len(value) <= HOST_NAME_MAX:
        return False
    labels = value.split(".")
    if not all(DNS_LABEL.fullmatch(label) for label in labels):
        return False
    return not all(NUMERIC_LABEL.fullmatch(label) for label in labels)


def dial_problem(value):
    """None when a client may dial ``value`` (a unicast IPv4 or IPv6 address or an RFC 1123
    host name), else why not."""
    if not isinstance(value, str):
        return "must be a string"
    address = ipv4(value)
    if address is not None:
        parsed = ipaddress.IPv4Address(address)
        if parsed.is_unspecified or parsed.is_multicast or address == 0xFFFFFFFF:
            return "is not a unicast address"
        return None
    v6 = _ipv6(value)
    if v6 is not None:
        if v6.is_unspecified or v6.is_multicast:
            return "is not a unicast address"
        if v6.is_link_local:
            return "is a link-local address, which OpenVPN dials only with an interface that 'remote' cannot name"
        if v6.ipv4_mapped is not None:
            return "is an IPv4-mapped address: write it as the IPv4 address %s" % v6.ipv4_mapped
        return None
    if is_dns_name(value):
        return None
    return ("must be an IP address or an RFC 1123 host name (labels of 1-63 letters, digits and '-', "
            "not starting or ending with '-', at most 253 characters in all)")


def address(value):
    """An IPv4 address as its int, an IPv6 one as V6 + its int (RFC 5952 text or any other
    spelling ``ipaddress`` reads), else None."""
    number = ipv4(value)
    if number is not None:
        return number
    parsed = _ipv6(value)
    return V6 + int(parsed) if parsed is not None else None


def dotted(number):
    """The text of an address as ``address`` numbers it."""
    if number >= V6:
        return str(ipaddress.IPv6Address(number - V6))
    return "%d.%d.%d.%d" % (number >> 24, (number >> 16) & 255, (number >> 8) & 255, number & 255)


def _bits(number):
    return 128 if number >= V6 else 32


def parse_cidr(value, ipv6=False):
    """(first address as ``address`` numbers it, prefix length, None) or (None, None, why)
    for ``a.b.c.d/len``, and with ``ipv6`` for ``x:x::/len`` too."""
    match = CIDR.fullmatch(value) if isinstance(value, str) else None
    if match is None and ipv6 and isinstance(value, str):
        match = CIDR6.fullmatch(value)
    if match is None:
        return None, None, "form"
    first, prefix = address(match.group(1)), int(match.group(2))
    if first is None or prefix > _bits(first):
        return None, None, "form"
    base = V6 if first >= V6 else 0
    span = 1 << (_bits(first) - prefix)
    if (first - base) % span:
        return first - (first - base) % span, prefix, "host bits"
    return first, prefix, None


class Net(object):
    """An IPv4 or IPv6 network as integers (``address``): cheap to compare, sort and test
    for containment; networks of two families never overlap."""

    __slots__ = ("first", "prefix", "last")

    def __init__(self, first, prefix):
        self.first, self.prefix = first, prefix
        self.last = first + (1 << (_bits(first) - prefix)) - 1

    @property
    def version(self):
        return 6 if self.first >= V6 else 4

    def __str__(self):
        return "%s/%d" % (dotted(self.first), self.prefix)

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, Net) and (self.first, self.prefix) == (other.first, other.prefix)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.first, self.prefix))

    def overlaps(self, other):
        return self.first <= other.last and other.first <= self.last

    def holds(self, address):
        return self.first <= address <= self.last
