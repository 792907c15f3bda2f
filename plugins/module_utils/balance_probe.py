# -*- coding: utf-8 -*-
"""The watchdog's continuous probe: a round lasts ``duration`` seconds and sends ``count``
ICMP echoes to every tunnel's peer, spaced evenly, each forced out of that tunnel's
interface (probe.py's wire format and socket options).

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

from . import probe as wire


class Sampler(object):
    """``sampler(targets, timeout)`` -> ``{key: {"sent", "received", "rtt_ms", "error",
    "samples"}}`` for the echoes judged in this round: ``samples`` is one entry per echo,
    its round-trip time in seconds or None when it was lost."""

    def __init__(self, duration=1.0, count=10, clock=time.monotonic):
        self.duration, self.count, self.clock = duration, max(1, int(count)), clock
        self.sock, self.ident, self.sequence = None, os.getpid() & 0xFFFF, 0
        self.pending = {}   # sequence -> (key, sent_at)

    def _open(self):
        if self.sock is None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        return self.sock

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __call__(self, targets, timeout=1.0):
        results = dict((key, {"sent": 0, "received": 0, "rtt_ms": None, "error": None, "samples": []})
                       for key in targets)
        if not targets:
            return results
        try:
            sock = self._open()
        except (OSError, socket.error) as error:
            for result in results.values():
                result["error"] = "cannot open an ICMP socket: %s" % (error.strerror or error)
            return results
        start = self.clock()
        end = start + self.duration
        spacing = self.duration / self.count
        for slot in range(self.count):
            self._send_all(sock, targets, results)
            self._receive_until(sock, min(end, start + spacing * (slot + 1)), targets, results, timeout)
        self._expire(results, timeout)
        return results

    def _send_all(self, sock, targets, results):
        for key in sorted(targets):
            address, ifindex = targets[key]
            self.sequence = (self.sequence + 1) & 0xFFFF
            self.pending.pop(self.sequence, None)
            request = wire.echo_request(self.ident, self.sequence)
            pktinfo = struct.pack("=I4s4s", ifindex, b"\0" * 4, b"\0" * 4)
            try:
                sock.sendmsg([request], [(socket.IPPROTO_IP, wire.IP_PKTINFO, pktinfo)], 0, (address, 0))
            except (OSError, socket.error) as error:
                results[key]["error"] = "cannot send over interface %d: %s" % (ifindex, error.strerror or error)
                continue
            self.pending[self.sequence] = (key, address, self.clock())
            results[key]["sent"] += 1

    def _receive_until(self, sock, until, targets, results, timeout):
        while True:
            left = until - self.clock()
            if left <= 0:
                return
            if not select.select([sock], [], [], left)[0]:
                return
            reply = wire.parse_reply(sock.recv(65535))
            if not reply or reply[1] != self.ident or reply[2] not in self.pending:
                continue
            key, address, sent_at = self.pending[reply[2]]
            if reply[0] != address:
                continue
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
