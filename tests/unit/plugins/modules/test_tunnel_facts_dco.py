# -*- coding: utf-8 -*-
"""tunnel_facts' dco keys: one `openvpn --version` per host (recorded 2.6.14 output), the
device kind per tunnel, and the reason when a tunnel is not on DCO."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.bonded.openvpn.plugins.module_utils._host import dco
from test_parity_tunnel_facts import IP_ADDR, SYSTEMCTL_SHOW, gather
# certificate and host are pytest fixtures: imported to be found, never named in a test body.
from test_parity_tunnel_facts import certificate, host  # noqa: F401 pylint: disable=unused-import

RECORDED = os.path.join(os.path.dirname(__file__), "..", "module_utils", "_host", "dco_outputs", "openvpn-2.6.14-trixie.txt")


def tools():
    with open(RECORDED) as handle:
        version = handle.read()
    return {"systemctl": (0, SYSTEMCTL_SHOW, ""), "ip": (0, IP_ADDR, ""), "openvpn": (0, version, "")}


def test_tunnels_on_tun_without_a_module_say_why(host, monkeypatch):
    monkeypatch.setattr(dco, "kernel_dco_modules", lambda *args, **kwargs: [])
    monkeypatch.setattr(dco, "interface_kind", lambda name, *args: "tun")
    facts = gather(host, tools())[0]
    assert (facts["dco"]["possible"], facts["dco"]["openvpn"]) == (False, "2.6.14")
    for tunnel in facts["bonds"]["paris"]["tunnels"]:
        assert tunnel["dco"]["active"] is False and tunnel["dco"]["interface_kind"] == "tun"
        assert "OpenVPN 2.6.14 needs ovpn_dco_v2" in tunnel["dco"]["reason"]


def test_a_tunnel_on_a_dco_device_is_active(host, monkeypatch):
    monkeypatch.setattr(dco, "kernel_dco_modules", lambda *args, **kwargs: ["ovpn_dco_v2"])
    monkeypatch.setattr(dco, "interface_kind", lambda name, *args: "ovpn-dco" if name.endswith("-0") else "tun")
    facts = gather(host, tools())[0]
    tunnels = dict((t["index"], t) for t in facts["bonds"]["paris"]["tunnels"])
    first, second = tunnels[0], tunnels[1]
    assert facts["dco"]["possible"] is True and facts["dco"]["module"] == "ovpn_dco_v2"
    assert first["dco"] == {"active": True, "interface_kind": "ovpn-dco", "reason": None}
    assert second["dco"]["active"] is False and "journalctl" in second["dco"]["reason"]
