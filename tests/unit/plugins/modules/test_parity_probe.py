# -*- coding: utf-8 -*-
"""The ICMP probe: packet building and parsing, and a real echo over loopback when allowed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import echo as probe


def test_checksum_of_a_request_verifies_to_zero():
    request = probe.echo_request(0x1234, 7)
    assert probe.checksum(request) == 0
    assert struct.unpack("!BBHHH", request[:8])[0::3] == (8, 0x1234)


def test_parse_reply_reads_source_ident_and_sequence():
    icmp = struct.pack("!BBHHH", 0, 0, 0, 0x1234, 7) + b"x"
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                         socket.inet_aton("10.255.1.2"), socket.inet_aton("10.255.1.1"))
    assert probe.parse_reply(header + icmp) == ("10.255.1.2", 0x1234, 7)


def test_parse_reply_ignores_requests_and_runts():
    request = probe.echo_request(1, 1)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(request), 0, 0, 64, 1, 0, b"\0" * 4, b"\0" * 4)
    assert probe.parse_reply(header + request) is None
    assert probe.parse_reply(b"\x45" * 10) is None


def test_no_targets_no_socket():
    assert probe.probe({}, timeout=0.1) == {}


def _raw_allowed():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        return True
    except (OSError, socket.error):
        return False


@pytest.mark.skipif(not _raw_allowed(), reason="needs CAP_NET_RAW")
def test_echo_over_loopback_and_silence_from_a_black_hole():
    results = probe.probe({"lo": ("127.0.0.1", socket.if_nametoindex("lo")),
                           "nowhere": ("192.0.2.1", socket.if_nametoindex("lo"))}, timeout=0.6)
    assert results["lo"]["received"] == 1 and results["lo"]["rtt_ms"] is not None
    assert results["nowhere"]["received"] == 0 and results["nowhere"]["sent"] == probe.TRIES
