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
    if not IPV6_TEXT.fullmatch(value) or ":" not in value:
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


def dotted(number):
    return "%d.%d.%d.%d" % (number >> 24, (number >> 16) & 255, (number >> 8) & 255, number & 255)


def parse_cidr(value):
    """(first address as int, prefix length, None) or (None, None, why) for ``a.b.c.d/len``."""
    match = CIDR.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None, None, "form"
    first, prefix = ipv4(match.group(1)), int(match.group(2))
    if first is None or prefix > 32:
        return None, None, "form"
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    if first & mask != first:
        return first & mask, prefix, "host bits"
    return first, prefix, None


class Net(object):
    """An IPv4 network as integers: cheap to compare, sort and test for containment."""

    __slots__ = ("first", "prefix", "last")

    def __init__(self, first, prefix):
        self.first, self.prefix = first, prefix
        self.last = first + (1 << (32 - prefix)) - 1

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
