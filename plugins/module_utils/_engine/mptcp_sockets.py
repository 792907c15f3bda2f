# -*- coding: utf-8 -*-
"""How a bond with ``mptcp`` uses its tunnels: MPTCP connections and their subflows.

The relays of the two gateways talk MPTCP to each other's SOCKS port on the bundle
addresses (layout.MPTCP_SOCKS_PORT). Each connection starts with one subflow from
bundle to bundle, which no tunnel can be credited with (the "bundle" subflow), and the
path manager adds one subflow per tunnel from its transfer address. Subflows are ordinary
TCP sockets in ``/proc/net/tcp``; as each gateway sees them:

- the connecting end: local = tunnel ``local_address``, remote = ``peer_bundle``:SOCKS_PORT;
- the accepting end: local = ``local_bundle``:SOCKS_PORT, remote = tunnel ``peer_address``;
- the bundle subflow: ``local_bundle`` <-> ``peer_bundle`` with SOCKS_PORT at one end.

A plain TCP connection between the bundles on that port would count as a bundle subflow
too: the file cannot tell them apart. The MPTCP connections themselves (the kernel's msk
sockets) are not in ``/proc/net/tcp``; ``ss -M`` lists them (INET_DIAG for IPPROTO_MPTCP).
A connection belongs to the bond when it joins the two bundle addresses with SOCKS_PORT
at one end.

Parsing is pure; ``read`` does the one file read and the one ``ss`` call of a round.
Standard library only: installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct
import sys

from . import layout

PROC_NET_TCP = "/proc/net/tcp"
SS_ARGV = ["ss", "-MHn", "state", "established"]
ESTABLISHED = 0x01  # include/net/tcp_states.h TCP_ESTABLISHED, as /proc/net/tcp's "st"


class ReadError(RuntimeError):
    """The sockets could not be read (a tool failed): no MPTCP figures this round."""


def _address(field, byteorder):
    """``("a.b.c.d", port)`` of a ``/proc/net/tcp`` address: the kernel prints the
    network-order 32-bit address as a host-order number, the port as a plain number."""
    host, port = field.split(":")
    packed = struct.pack("<I" if byteorder == "little" else ">I", int(host, 16))
    return socket.inet_ntoa(packed), int(port, 16)


def parse_proc_net_tcp(text, byteorder=sys.byteorder):
    """``[(local, remote, state)]`` of every socket in ``/proc/net/tcp``'s text, each
    address ``(ip, port)`` and ``state`` an int (1: ESTABLISHED). The heading, and any line
    that is not a socket, is skipped."""
    sockets = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].endswith(":"):
            continue
        try:
            sockets.append((_address(fields[1], byteorder), _address(fields[2], byteorder), int(fields[3], 16)))
        except (ValueError, struct.error, OSError):
            continue
    return sockets


def _ss_address(field):
    """``(ip, port)`` of an ``ss -n`` address: ``a.b.c.d:p``, ``[::ffff:a.b.c.d]:p`` or
    with a ``%device`` scope; the address part is returned as printed otherwise."""
    host, dummy, port = field.rpartition(":")
    host = host.split("%", 1)[0].strip("[]")
    if host.lower().startswith("::ffff:") and "." in host:
        host = host[len("::ffff:"):]
    return host, int(port) if port.isdigit() else None


def parse_ss(text):
    """``[(local, peer)]`` of the established sockets ``ss -MHn`` printed. With a state
    filter ss leaves the state column out; without one, only ``ESTAB`` lines count.
    Continuation lines (``-i``) and lines that are not sockets are skipped."""
    found = []
    for line in text.splitlines():
        if not line or line[0].isspace():
            continue
        fields = line.split()
        if fields and not fields[0].isdigit():
            if fields[0] != "ESTAB":
                continue
            fields = fields[1:]
        if len(fields) < 4 or not (fields[0].isdigit() and fields[1].isdigit()):
            continue
        found.append((_ss_address(fields[2]), _ss_address(fields[3])))
    return found


def subflows(spec, sockets):
    """``({tunnel index: established subflows}, bundle subflows)`` of the bond, from
    ``parse_proc_net_tcp``'s sockets; every tunnel of the spec has a count, 0 included."""
    port = layout.MPTCP_SOCKS_PORT
    local_bundle, peer_bundle = spec["local_bundle"], spec["peer_bundle"]
    by_local = dict((tunnel["local_address"], tunnel["index"]) for tunnel in spec["tunnels"])
    by_peer = dict((tunnel["peer_address"], tunnel["index"]) for tunnel in spec["tunnels"])
    counts = dict((tunnel["index"], 0) for tunnel in spec["tunnels"])
    bundle = 0
    for local, remote, state in sockets:
        if state != ESTABLISHED:
            continue
        if local[0] == local_bundle and remote[0] == peer_bundle and port in (local[1], remote[1]):
            bundle += 1
        elif remote == (peer_bundle, port) and local[0] in by_local:
            counts[by_local[local[0]]] += 1
        elif local == (local_bundle, port) and remote[0] in by_peer:
            counts[by_peer[remote[0]]] += 1
    return counts, bundle


def connections(spec, msk_sockets):
    """How many of ``parse_ss``'s MPTCP connections are the bond's: between this end's
    and the peer's bundle address, SOCKS_PORT at one end."""
    port = layout.MPTCP_SOCKS_PORT
    return sum(1 for local, peer in msk_sockets
               if local[0] == spec["local_bundle"] and peer[0] == spec["peer_bundle"] and port in (local[1], peer[1]))


def figures(spec, tcp_text, ss_text, byteorder=sys.byteorder):
    """``{"connections", "bundle_subflows", "subflows": {index: n}}`` from the two texts."""
    counts, bundle = subflows(spec, parse_proc_net_tcp(tcp_text, byteorder))
    return {"connections": connections(spec, parse_ss(ss_text)), "bundle_subflows": bundle, "subflows": counts}


def read(spec, run, proc_path=PROC_NET_TCP, byteorder=sys.byteorder):
    """``figures`` of the bond as the host has them now: one read of ``/proc/net/tcp``, one
    ``ss`` through ``run(argv)`` -> ``(rc, stdout, stderr)``. Raises ReadError when ss
    fails, IOError/OSError when the file (or ss) cannot be read at all, and whatever
    ``run`` raises (a timeout)."""
    with open(proc_path) as handle:
        tcp_text = handle.read()
    rc, out, err = run(list(SS_ARGV))
    if rc != 0:
        raise ReadError("'%s' failed (rc=%d): %s" % (" ".join(SS_ARGV), rc, (err or out).strip()[-200:]))
    return figures(spec, tcp_text, out, byteorder)
