# -*- coding: utf-8 -*-
"""tunnel_facts for a bond with mptcp: each tunnel's subflows, and the bond's connections
and bundle subflows, as its watchdog last wrote them to the metrics JSON; and the states of
the bond's two relay units, asked in the one systemctl call of the OpenVPN units."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import metrics
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import steering
from test_parity_tunnel_facts import IP_ADDR, SYSTEMCTL_SHOW, gather
# certificate and host are pytest fixtures: imported to be found, never named in a test body.
from test_parity_tunnel_facts import certificate, host  # noqa: F401 pylint: disable=unused-import

SIDE = {"bond": "paris", "id": 1, "role": "server", "balance": "packet", "snat": False,
        "local_bundle": "10.255.1.254", "peer_bundle": "10.255.1.253", "local_networks": [], "peer_networks": [],
        "tunnels": [{"index": k, "interface": "bo-paris-%d" % k, "local_address": "10.255.1.%d" % (4 * k + 1),
                     "peer_address": "10.255.1.%d" % (4 * k + 2), "mark": 10100 + k, "table": 10100 + k,
                     "rule_priority": 5032 + k, "weight": 1} for k in range(2)]}


def side(mptcp):
    """Bond paris's server side as its watchdog holds it (fields no figure needs: null)."""
    found = dict(SIDE, mptcp=mptcp)
    for field in bspec.SIDE_FIELDS:
        found.setdefault(field, None)
    for tunnel in found["tunnels"]:
        for field in bspec.TUNNEL_FIELDS:
            tunnel.setdefault(field, None)
    return bspec.from_side(found)


def write_metrics(host, mptcp, found):
    """The metrics JSON exactly as the watchdog writes it (balance_metrics.collect)."""
    quality = steering.Steering(0.2, 10.0, 3.0, 0.05, 5.0)
    figures = metrics.collect(side(mptcp), {0: True, 1: True}, [0, 1], quality, 0.0,
                              lambda name: {}, None, found)
    with open("%s/balance/paris.metrics.json" % host["runtime_dir"], "w") as handle:
        handle.write(json.dumps(figures, sort_keys=True) + "\n")


def test_each_tunnel_reports_its_subflows_and_the_bond_its_connections(host):
    write_metrics(host, True, {"connections": 4, "bundle_subflows": 3, "subflows": {0: 4, 1: 0}})
    bond = gather(host)[0]["bonds"]["paris"]
    assert (bond["mptcp"]["connections"], bond["mptcp"]["bundle_subflows"]) == (4, 3)
    assert [(t["index"], t["mptcp_subflows"]) for t in bond["tunnels"]] == [(0, 4), (1, 0)]


def test_figures_the_watchdog_could_not_read_are_null(host):
    write_metrics(host, True, None)
    bond = gather(host)[0]["bonds"]["paris"]
    assert (bond["mptcp"]["connections"], bond["mptcp"]["bundle_subflows"]) == (None, None)
    assert [t["mptcp_subflows"] for t in bond["tunnels"]] == [None, None]


def test_a_bond_without_mptcp_reports_none(host):
    write_metrics(host, False, None)
    bond = gather(host)[0]["bonds"]["paris"]
    assert bond["metrics"]["bond"] == "paris"
    assert bond["mptcp"] is None
    assert [t["mptcp_subflows"] for t in bond["tunnels"]] == [None, None]


def test_without_a_metrics_file_nothing_is_known(host):
    bond = gather(host)[0]["bonds"]["paris"]
    assert (bond["metrics"], bond["mptcp"]) == (None, None)
    assert [t["mptcp_subflows"] for t in bond["tunnels"]] == [None, None]


RELAY = "bonded-openvpn-relay@paris.service"
SOCKS = "bonded-openvpn-socks@paris.service"
RELAYS_SHOW = """
Id=bonded-openvpn-relay@paris.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=301

Id=bonded-openvpn-socks@paris.service
LoadState=loaded
ActiveState=failed
SubState=failed
MainPID=0

Id=bonded-openvpn-relay@lyon.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=302
"""


def tools(show=SYSTEMCTL_SHOW + RELAYS_SHOW):
    return {"systemctl": (0, show, ""), "ip": (0, IP_ADDR, "")}


def test_the_relay_units_states_are_reported_by_unit_name(host):
    write_metrics(host, True, {"connections": 1, "bundle_subflows": 1, "subflows": {0: 1, 1: 1}})
    bond = gather(host, tools())[0]["bonds"]["paris"]
    assert bond["mptcp"] == {"connections": 1, "bundle_subflows": 1, "relays": {RELAY: "active", SOCKS: "failed"}}


def test_the_relays_are_asked_in_the_one_systemctl_call_of_the_tunnels(host):
    write_metrics(host, True, None)
    _facts, module = gather(host, tools())
    assert [call[0] for call in module.calls] == ["/usr/bin/systemctl", "/usr/bin/ip"]
    assert module.calls[0][-2:] == ["bonded-openvpn-relay@*.service", "bonded-openvpn-socks@*.service"]


def test_named_bonds_name_their_relay_units(host):
    write_metrics(host, True, None)
    module = gather(host, tools(), bonds=["paris"])[1]
    assert module.calls[0][-2:] == [RELAY, SOCKS]


def test_a_relay_unit_systemd_does_not_list_is_inactive(host):
    write_metrics(host, True, None)
    bond = gather(host, tools(SYSTEMCTL_SHOW))[0]["bonds"]["paris"]
    assert bond["mptcp"]["relays"] == {RELAY: "inactive", SOCKS: "inactive"}


def test_without_systemd_the_relay_states_are_unknown(host):
    write_metrics(host, True, None)
    bond = gather(host)[0]["bonds"]["paris"]
    assert bond["mptcp"]["relays"] == {RELAY: None, SOCKS: None}


def test_a_bond_without_mptcp_reports_no_relays_even_when_units_run(host):
    write_metrics(host, False, None)
    assert gather(host, tools())[0]["bonds"]["paris"]["mptcp"] is None
