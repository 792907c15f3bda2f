# -*- coding: utf-8 -*-
"""The watchdog's continuous probe: a round lasts ``duration`` seconds and sends ``count``
ICMP echoes to every tunnel's peer, spaced evenly, each forced out of that tunnel's
interface (probe.py's wire format and socket options). A tunnel with IPv6 inside gets as
many ICMPv6 echoes to the peer's IPv6 transfer address; both count toward its loss.

Loss is only measurable with many samples: 10 echoes a second give 100 per 10 s, enough
to tell 5 % loss from none; at 32 tunnels that is 320 small packets a second, nothing
next to the data. An echo unanswered ``timeout`` seconds after it was sent counts as
lost; one still in flight when the round ends is judged in the next round, so a round's
length does not bias the loss estimate.

Standard library only: installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import socket
import struct
import time

from . import echo as wire


# A raw socket per family the targets need.
SOCKETS = {4: (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
           6: (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)}


def _addresses(target):
    """The addresses a target is probed at: the peer's IPv4 transfer address, then its IPv6
    one when the tunnel has IPv6 inside."""
    return (target[0],) + tuple(target[2:])


def _family(address):
    return 6 if ":" in address else 4


def _send(sock, address, ifindex, ident, sequence):
    """One echo to ``address``, out of interface ``ifindex`` whatever the routes say."""
    if _family(address) == 6:
        pktinfo = struct.pack("=16sI", b"\0" * 16, ifindex)
        sock.sendmsg([wire.echo6_request(ident, sequence)], [(socket.IPPROTO_IPV6, wire.IPV6_PKTINFO, pktinfo)], 0,
                     (address, 0, 0, 0))
    else:
        pktinfo = struct.pack("=I4s4s", ifindex, b"\0" * 4, b"\0" * 4)
        sock.sendmsg([wire.echo_request(ident, sequence)], [(socket.IPPROTO_IP, wire.IP_PKTINFO, pktinfo)], 0,
                     (address, 0))


class Sampler(object):
    """``sampler(targets, timeout)`` -> ``{key: {"sent", "received", "rtt_ms", "error",
    "samples"}}`` for the echoes judged in this round: ``samples`` is one entry per echo,
    its round-trip time in seconds or None when it was lost."""

    def __init__(self, duration=1.0, count=10, clock=time.monotonic):
        self.duration, self.count, self.clock = duration, max(1, int(count)), clock
        self.socks, self.ident, self.sequence = {}, os.getpid() & 0xFFFF, 0
        self.pending = {}   # sequence -> (key, address, sent_at)

    def _open(self, families):
        for family in families:
            if family not in self.socks:
                self.socks[family] = socket.socket(*SOCKETS[family])
        return self.socks

    def close(self):
        for sock in self.socks.values():
            sock.close()
        self.socks = {}

    def __call__(self, targets, timeout=1.0):
        """``targets``: ``{key: (peer address, ifindex[, peer IPv6 address])}``."""
        results = dict((key, {"sent": 0, "received": 0, "rtt_ms": None, "error": None, "samples": []})
                       for key in targets)
        if not targets:
            return results
        try:
            socks = self._open(sorted(set(_family(a) for target in targets.values() for a in _addresses(target))))
        except (OSError, socket.error) as error:
            for result in results.values():
                result["error"] = "cannot open an ICMP socket: %s" % (error.strerror or error)
            return results
        start = self.clock()
        end = start + self.duration
        spacing = self.duration / self.count
        for slot in range(self.count):
            self._send_all(socks, targets, results)
            self._receive_until(socks, min(end, start + spacing * (slot + 1)), results, timeout)
        self._expire(results, timeout)
        return results

    def _send_all(self, socks, targets, results):
        for key in sorted(targets):
            ifindex = targets[key][1]
            for address in _addresses(targets[key]):
                self.sequence = (self.sequence + 1) & 0xFFFF
                self.pending.pop(self.sequence, None)
                try:
                    _send(socks[_family(address)], address, ifindex, self.ident, self.sequence)
                except (OSError, socket.error) as error:
                    results[key]["error"] = "cannot send to %s over interface %d: %s" % (
                        address, ifindex, error.strerror or error)
                    continue
                self.pending[self.sequence] = (key, address, self.clock())
                results[key]["sent"] += 1

    def _receive_until(self, socks, until, results, timeout):
        while True:
            left = until - self.clock()
            if left <= 0:
                return
            readable = select.select(list(socks.values()), [], [], left)[0]
            if not readable:
                return
            for sock in readable:
                self._take_reply(sock is socks.get(6), sock, results, timeout)

    def _take_reply(self, ipv6, sock, results, timeout):
        if ipv6:
            packet, source = sock.recvfrom(65535)
            reply = wire.parse_reply6(packet)
            reply = (source[0],) + reply if reply else None
        else:
            reply = wire.parse_reply(sock.recv(65535))
        if not reply or reply[1] != self.ident or reply[2] not in self.pending:
            return
        key, address, sent_at = self.pending[reply[2]]
        if reply[0] == address:
            del self.pending[reply[2]]
            rtt = self.clock() - sent_at
            if key in results and rtt <= timeout:
                results[key]["received"] += 1
                results[key]["samples"].append(rtt)
                results[key]["rtt_ms"] = round(rtt * 1000.0, 3)
                results[key]["error"] = None

    def _expire(self, results, timeout):
        now = self.clock()
        for sequence, (key, _address, sent_at) in list(self.pending.items()):
            if now - sent_at > timeout or key not in results:
                del self.pending[sequence]
                if key in results:
                    results[key]["samples"].append(None)
