# -*- coding: utf-8 -*-
"""The MPTCP relay of a bond with ``mptcp``: its files, read by two systemd template units.

On each gateway, ``bonded-openvpn-relay@<bond>`` (redsocks) takes the LAN's TCP that the
bond's nftables table DNATs to the bundle address and carries it over SOCKS5 to the peer,
and ``bonded-openvpn-socks@<bond>`` (microsocks) answers the peer's relay on the bundle
address and opens the connection to the far host. Both run under ``mptcpize``, which makes
their TCP sockets MPTCP ones: between the gateways, one connection with a subflow per
tunnel; towards the LAN, plain TCP (MPTCP falls back to it).

Pure functions; the module writes what they render. Nothing here reads the host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render


def env_path(bond, config_dir=layout.BALANCE_CONFIG_DIR):
    # Not '.conf': deployed_specs reads every '<bond>.conf' of the directory as a spec.
    return os.path.join(config_dir, "%s.relay" % bond)


def redsocks_path(bond, config_dir=layout.BALANCE_CONFIG_DIR):
    return os.path.join(config_dir, "%s.redsocks" % bond)


def paths(bond, config_dir=layout.BALANCE_CONFIG_DIR):
    return [env_path(bond, config_dir), redsocks_path(bond, config_dir)]


def _addresses(spec):
    """The bundle addresses, once check_spec has refused any that is not an IPv4 address."""
    render.check_spec(spec)
    return spec["local_bundle"], spec["peer_bundle"]


def render_env(spec, marker):
    """The socks unit's EnvironmentFile: where microsocks listens."""
    local, peer = _addresses(spec)
    return ("# %s\n# MPTCP relay of bond '%s': microsocks listens on the bundle address for the peer (%s).\n"
            "BONDED_RELAY_LISTEN=%s\nBONDED_RELAY_PORT=%d\n"
            % (marker, spec["bond"], peer, local, layout.MPTCP_SOCKS_PORT))


def render_redsocks(spec, marker):
    """redsocks' configuration: the transparent listener on the bundle address, the peer's
    SOCKS server as the way out. ``redirector = iptables`` reads the original destination
    from conntrack (SO_ORIGINAL_DST), which nftables' DNAT sets just as iptables' did."""
    local, peer = _addresses(spec)
    return "\n".join([
        "// %s" % marker,
        "// MPTCP relay of bond '%s': the LAN's TCP to %s, over SOCKS5 to the peer's relay."
        % (spec["bond"], ", ".join(spec["peer_networks"]) or "(no network)"),
        "base {", "\tlog_debug = off;", "\tlog_info = on;", "\tlog = stderr;", "\tdaemon = off;",
        "\tredirector = iptables;", "}",
        "redsocks {", "\tlocal_ip = %s;" % local, "\tlocal_port = %d;" % layout.MPTCP_TRANSPARENT_PORT,
        "\tip = %s;" % peer, "\tport = %d;" % layout.MPTCP_SOCKS_PORT, "\ttype = socks5;", "}", ""])
