# -*- coding: utf-8 -*-
"""Renders one OpenVPN instance config from a host side of the plan (docs/layout.md).

The config carries the SHA-256 of the host's certificate and of the bond's tls-crypt key
in its header, so rotating either changes the file and restarts exactly the instances
that use it, with no separate bookkeeping.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._net import family as plan_family
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import safe_text as safe

DEFAULT_CIPHERS = ("AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305")
TRANSFER6_PREFIX = layout.TRANSFER6_PREFIX
# What check mode shows where a value is made only on apply, e.g. "(made on apply)".
PLACEHOLDER = re.compile(r"\([a-z ]+\)", re.ASCII)


def instance_path(config_dir, instance):
    return layout.instance_config(instance, config_dir)


def tls_crypt_path(config_dir, bond):
    return "%s/bonds/%s/tls-crypt.key" % (config_dir, bond)


def identity_paths(config_dir):
    return "%s/identity/host.key" % config_dir, "%s/identity/host.crt" % config_dir


def digest(text):
    return hashlib.sha256(text.encode("utf-8") if not isinstance(text, bytes) else text).hexdigest()


def _protos(side, remote):
    """(server's, client's) ``proto``. A server's ``udp`` binds IPv4 only and ``udp6`` both
    families; a client dialing a host name is held to the bond's family. The directives of
    an IPv4 bond that dials an address are the ones written before IPv6 existed here, so
    upgrading restarts none of its tunnels."""
    tcp = side["proto"] == "tcp"
    if side.get("underlay_family") == "ipv6":
        return ("tcp6-server", "tcp6-client") if tcp else ("udp6", "udp6")
    if remote is not None and plan_family.of_address(remote) is None:
        return ("tcp-server", "tcp4-client") if tcp else ("udp", "udp4")
    return ("tcp-server", "tcp-client") if tcp else ("udp", "udp")


def _transport(side, tunnel, port):
    if side["role"] == "server":
        # With several addresses dialed, a reply must leave from the one its packet came to.
        return (["proto %s" % _protos(side, None)[0], "port %s" % port]
                + (["multihome"] if side.get("multihome") else []) + ["tls-server"])
    remote = tunnel.get("remote") or side["remote"]
    lines = ["proto %s" % _protos(side, remote)[1], "remote %s %s" % (safe.word("remote", remote), port)]
    if tunnel.get("client_underlay"):
        # Bound to its uplink's address (any free port): the uplink's policy rule matches
        # that source, so keepalives and reconnects leave by the uplink too.
        lines += [_directive("local", tunnel["client_underlay"]), "lport 0"]
    else:
        lines.append("nobind")
    return lines + ["tls-client"]


def _integer(field, value):
    return "%d" % safe.integer(field, value)


def _directive(name, *args):
    """One config line; each argument must be one word (a space or newline in a value
    would add arguments or a whole directive)."""
    return " ".join([name] + [safe.word(name, arg) for arg in args])


def _fingerprint(value):
    if isinstance(value, str) and PLACEHOLDER.fullmatch(value):
        return "peer-fingerprint %s" % value
    return _directive("peer-fingerprint", value)


def render(side, tunnel, settings):
    """``settings``: config_dir, runtime_dir, user, group, ciphers, keepalive (interval,
    timeout), socket_buffer, verb, managed (marker line), peer_fingerprint,
    identity_digest, tls_crypt_digest."""
    config_dir = settings["config_dir"]
    runtime = "%s/%s" % (settings["runtime_dir"], tunnel["instance"])
    key_path, cert_path = identity_paths(config_dir)
    port = _integer("port", tunnel["port"])
    keepalive = [_integer("keepalive", value) for value in settings["keepalive"]]
    buffer_size = _integer("socket_buffer", settings["socket_buffer"])
    lines = [
        "# %s" % safe.line("managed marker", settings["managed"]),
        # No tunnel count here: growing N must not restart the tunnels that stay.
        "# bond %s tunnel %s, %s side; identity sha256 %s; tls-crypt sha256 %s"
        % (safe.word("bond", side["bond"]), _integer("tunnel index", tunnel["index"]), safe.word("role", side["role"]),
           safe.line("identity digest", settings["identity_digest"]),
           safe.line("tls-crypt digest", settings["tls_crypt_digest"])),
        _directive("dev", tunnel["interface"]),
        "dev-type tun",
    ]
    lines += _transport(side, tunnel, port)
    lines.append(_directive("ifconfig", tunnel["local_address"], tunnel["peer_address"]))
    if tunnel.get("local_address6"):
        # A /120 per tunnel: each tunnel interface gets a connected route of its own.
        lines.append(_directive("ifconfig-ipv6", "%s/%d" % (tunnel["local_address6"], TRANSFER6_PREFIX),
                                tunnel["peer_address6"]))
    lines += [
        _directive("cert", cert_path),
        _directive("key", key_path),
        _fingerprint(settings["peer_fingerprint"]),
        "dh none",
        _directive("tls-crypt", tls_crypt_path(config_dir, side["bond"])),
        _directive("data-ciphers", ":".join(safe.words("data-ciphers", settings["ciphers"]))),
        _directive("keepalive", *keepalive),
        "persist-tun",
        "persist-key",
        _directive("user", settings["user"]),
        _directive("group", settings["group"]),
        _directive("management", "%s/management.sock" % runtime, "unix"),
        _directive("status", "%s/status" % runtime, "1"),
        "status-version 2",
        _directive("sndbuf", buffer_size),
        _directive("rcvbuf", buffer_size),
        _directive("verb", _integer("verb", settings["verb"])),
    ]
    if side.get("shaper"):
        lines.append(_directive("shaper", _integer("shaper", side["shaper"])))
    return "\n".join(lines) + "\n"
