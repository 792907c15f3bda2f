# -*- coding: utf-8 -*-
"""Renders one OpenVPN instance config from a host side of the plan (docs/layout.md).

The config carries the SHA-256 of the host's certificate and of the bond's tls-crypt key
in its header, so rotating either changes the file and restarts exactly the instances
that use it, with no separate bookkeeping.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

DEFAULT_CIPHERS = ("AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305")


def instance_path(config_dir, instance):
    return "%s/instances/%s.conf" % (config_dir, instance)


def tls_crypt_path(config_dir, bond):
    return "%s/bonds/%s/tls-crypt.key" % (config_dir, bond)


def identity_paths(config_dir):
    return "%s/identity/host.key" % config_dir, "%s/identity/host.crt" % config_dir


def digest(text):
    return hashlib.sha256(text.encode("utf-8") if not isinstance(text, bytes) else text).hexdigest()


def _transport(side, tunnel):
    if side["role"] == "server":
        proto = "tcp-server" if side["proto"] == "tcp" else "udp"
        return ["proto %s" % proto, "port %d" % tunnel["port"], "tls-server"]
    proto = "tcp-client" if side["proto"] == "tcp" else "udp"
    return ["proto %s" % proto, "remote %s %d" % (side["remote"], tunnel["port"]), "nobind", "tls-client"]


def render(side, tunnel, settings):
    """``settings``: config_dir, runtime_dir, user, group, ciphers, keepalive (interval,
    timeout), socket_buffer, verb, managed (marker line), peer_fingerprint,
    identity_digest, tls_crypt_digest."""
    config_dir = settings["config_dir"]
    runtime = "%s/%s" % (settings["runtime_dir"], tunnel["instance"])
    key_path, cert_path = identity_paths(config_dir)
    lines = [
        "# %s" % settings["managed"],
        # No tunnel count here: growing N must not restart the tunnels that stay.
        "# bond %s tunnel %d, %s side; identity sha256 %s; tls-crypt sha256 %s"
        % (side["bond"], tunnel["index"], side["role"],
           settings["identity_digest"], settings["tls_crypt_digest"]),
        "dev %s" % tunnel["interface"],
        "dev-type tun",
    ]
    lines += _transport(side, tunnel)
    lines += [
        "ifconfig %s %s" % (tunnel["local_address"], tunnel["peer_address"]),
        "cert %s" % cert_path,
        "key %s" % key_path,
        "peer-fingerprint %s" % settings["peer_fingerprint"],
        "dh none",
        "tls-crypt %s" % tls_crypt_path(config_dir, side["bond"]),
        "data-ciphers %s" % ":".join(settings["ciphers"]),
        "keepalive %d %d" % tuple(settings["keepalive"]),
        "persist-tun",
        "persist-key",
        "user %s" % settings["user"],
        "group %s" % settings["group"],
        "management %s/management.sock unix" % runtime,
        "status %s/status 1" % runtime,
        "status-version 2",
        "sndbuf %d" % settings["socket_buffer"],
        "rcvbuf %d" % settings["socket_buffer"],
        "verb %d" % settings["verb"],
    ]
    if side.get("shaper"):
        lines.append("shaper %d" % side["shaper"])
    return "\n".join(lines) + "\n"
