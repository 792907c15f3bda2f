# -*- coding: utf-8 -*-
"""Proves that tunnels pass traffic: one ICMP echo per tunnel to the peer's transfer
address, forced out of that tunnel's interface, all tunnels at once on one raw socket.

Each unanswered tunnel is asked again every third of the timeout, so a single lost packet
does not fail a tunnel. Needs CAP_NET_RAW (root); without it every probe reports why.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import socket
import struct
import time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux value; older Pythons lack the name
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
ECHO_REQUEST, ECHO_REPLY = 8, 0
ECHO6_REQUEST, ECHO6_REPLY = 128, 129
TRIES = 3


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident, sequence, payload=b"bonded-openvpn-probe"):
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, sequence)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum(header + payload), ident, sequence) + payload


def echo6_request(ident, sequence, payload=b"bonded-openvpn-probe"):
    """An ICMPv6 echo request. Its checksum covers a pseudo-header with both addresses,
    which the kernel fills in on a raw ICMPv6 socket (RFC 3542): left zero here."""
    return struct.pack("!BBHHH", ECHO6_REQUEST, 0, 0, ident, sequence) + payload


def parse_reply6(packet):
    """``(ident, sequence)`` of an ICMPv6 echo reply (a raw ICMPv6 socket gives no IP
    header: the source comes from recvfrom); else None."""
    if len(packet) < 8:
        return None
    kind, _code, _sum, ident, sequence = struct.unpack("!BBHHH", packet[:8])
    return (ident, sequence) if kind == ECHO6_REPLY else None


def parse_reply(packet):
    """``(source address, ident, sequence)`` of an echo reply with its IPv4 header; else None."""
    if len(packet) < 20:
        return None
    header_length = (packet[0] & 0x0F) * 4
    icmp = packet[header_length:header_length + 8]
    if len(icmp) < 8:
        return None
    kind, _code, _sum, ident, sequence = struct.unpack("!BBHHH", icmp)
    if kind != ECHO_REPLY:
        return None
    return socket.inet_ntoa(packet[12:16]), ident, sequence


def _send(sock, target, ident):
    request = echo_request(ident, target["sequence"])
    pktinfo = struct.pack("=I4s4s", target["ifindex"], b"\0" * 4, b"\0" * 4)
    sock.sendmsg([request], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0, (target["address"], 0))


def probe(targets, timeout=1.0):
    """``targets``: ``{key: (peer address, ifindex)}``. Returns ``{key: result}`` with
    ``sent``, ``received``, ``rtt_ms`` (since the latest echo sent) and ``error``."""
    results = dict((key, {"sent": 0, "received": 0, "rtt_ms": None, "error": None}) for key in targets)
    if not targets:
        return results
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except (OSError, socket.error) as error:
        for result in results.values():
            result["error"] = "cannot open an ICMP socket: %s" % (error.strerror or error)
        return results
    ident = os.getpid() & 0xFFFF
    plan = {}
    for sequence, key in enumerate(sorted(targets)):
        plan[sequence] = {"key": key, "address": targets[key][0], "ifindex": targets[key][1],
                          "sequence": sequence, "sent_at": None}
    try:
        _exchange(sock, plan, results, ident, timeout)
    finally:
        sock.close()
    return results


def _exchange(sock, plan, results, ident, timeout):
    start = time.monotonic()
    deadline = start + timeout
    waiting = set(plan)
    for attempt in range(TRIES):
        resend_at = min(deadline, start + timeout * (attempt + 1) / TRIES)
        for sequence in sorted(waiting):
            target, result = plan[sequence], results[plan[sequence]["key"]]
            try:
                _send(sock, target, ident)
                result["sent"] += 1
                target["sent_at"] = time.monotonic()
            except (OSError, socket.error) as error:
                result["error"] = "cannot send over interface %d: %s" % (target["ifindex"], error.strerror or error)
        while waiting and time.monotonic() < resend_at:
            readable = select.select([sock], [], [], max(0.0, resend_at - time.monotonic()))[0]
            if not readable:
                break
            reply = parse_reply(sock.recv(65535))
            if not reply or reply[1] != ident or reply[2] not in waiting:
                continue
            target = plan[reply[2]]
            if reply[0] != target["address"]:
                continue
            result = results[target["key"]]
            result["received"] += 1
            result["rtt_ms"] = round((time.monotonic() - target["sent_at"]) * 1000.0, 3)
            result["error"] = None
            waiting.discard(reply[2])
        if not waiting:
            break
