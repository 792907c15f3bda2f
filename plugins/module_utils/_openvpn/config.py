# -*- coding: utf-8 -*-
"""Reads back an OpenVPN instance config (docs/layout.md) into the facts parity compares.

Parsing is ``_engine.directives`` (the watchdog reads the same configs on the host).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.bonded.openvpn.plugins.module_utils._engine.directives import parse_directives
from ansible_collections.bonded.openvpn.plugins.module_utils._net import family as plan_family

# Full, ASCII-only matches: "$" would also accept "paris-0\n", a file name the module must
# never take for one of its instances.
INSTANCE_PATTERN = re.compile(r"(?P<bond>[a-z][a-z0-9]*)-(?P<index>[0-9]+)", re.ASCII)
TCP_DIRECTIVES = ("tcp", "tcp-server", "tcp-client", "tcp4", "tcp6", "tcp4-server", "tcp6-server",
                  "tcp4-client", "tcp6-client")
DEFAULT_PORT = 1194


def split_instance(name):
    """``paris-2`` -> ``("paris", 2)``; None for names this collection does not write."""
    match = INSTANCE_PATTERN.fullmatch(name)
    if not match:
        return None
    return match.group("bond"), int(match.group("index"))


def _first(directives, name, position=0):
    for args in directives.get(name, []):
        if len(args) > position:
            return args[position]
    return None


def _port(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _role(directives):
    if "tls-server" in directives or _first(directives, "mode") == "server":
        return "server"
    if "tls-client" in directives or "client" in directives:
        return "client"
    return None


def _proto(raw):
    if raw is None:
        return "udp"  # OpenVPN's default
    return "tcp" if raw.lower() in TCP_DIRECTIVES else "udp"


def _family(role, raw_proto, remote):
    """The address family the instance's socket uses: a 4 or 6 in ``proto`` says it; a
    server's plain ``udp``/``tcp-server`` binds IPv4 only; a client's plain one dials the
    family of its remote (None: a host name, either family)."""
    raw = (raw_proto or "udp").lower()
    for digit, family in (("6", "ipv6"), ("4", "ipv4")):
        if raw.endswith(digit) or (digit + "-") in raw:
            return family
    if role == "server":
        return "ipv4"
    return plan_family.of_address(remote)


def _fingerprints(directives):
    pins = []
    for args in directives.get("peer-fingerprint", []):
        for arg in args:
            pins.extend(p.strip().upper() for p in arg.split(",") if p.strip())
    return pins


def _management_socket(directives):
    args = (directives.get("management") or [[]])[-1]
    if len(args) >= 2 and args[1] == "unix":
        return args[0]
    return None


def instance_facts(text):
    """What one instance config says about its tunnel, normalised for comparison."""
    directives = parse_directives(text)
    role = _role(directives)
    raw_proto = _first(directives, "proto")
    if role == "client":
        port = _port(_first(directives, "remote", 1) or _first(directives, "rport") or DEFAULT_PORT)
    else:
        port = _port(_first(directives, "port") or _first(directives, "lport") or DEFAULT_PORT)
    ciphers = _first(directives, "data-ciphers")
    remote = _first(directives, "remote") if role == "client" else None
    return {
        "role": role,
        "port": port,
        "remote": remote,
        "local": _first(directives, "local"),
        "proto": _proto(raw_proto),
        "proto_directive": raw_proto,
        "family": _family(role, raw_proto, remote),
        "dev": _first(directives, "dev"),
        "local_address": _first(directives, "ifconfig", 0),
        "peer_address": _first(directives, "ifconfig", 1),
        "local_address6": (_first(directives, "ifconfig-ipv6", 0) or "").split("/")[0] or None,
        "peer_address6": _first(directives, "ifconfig-ipv6", 1),
        "peer_fingerprints": _fingerprints(directives),
        "data_ciphers": ciphers.upper() if ciphers else None,
        "tls_crypt": _first(directives, "tls-crypt"),
        "cert": _first(directives, "cert"),
        "management": _management_socket(directives),
        "status": _first(directives, "status"),
    }


def tls_crypt_body(text):
    """The key material of a static key file, whitespace and comments removed.

    Two copies of one key hash alike even if one was re-saved with other line endings.
    """
    body, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("-----BEGIN"):
            inside = True
        elif line.startswith("-----END"):
            inside = False
        elif inside and line:
            body.append(line.lower())
    return "".join(body)
