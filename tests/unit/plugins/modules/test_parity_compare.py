# -*- coding: utf-8 -*-
"""Parity as a specification: every case of test_parity_cases.yml names exactly the
mismatches (tunnel, field) it must produce; the rest checks rows, hints and messages."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest
import yaml

from ansible_collections.bonded.openvpn.plugins.module_utils._verify import parity
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import rules

CASES = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "test_parity_cases.yml")))
FINGERPRINTS = {"client": "AA:AA:AA", "server": "BB:BB:BB"}
HOSTS = {"hq1": "198.51.100.1", "paris1": "198.51.100.2"}
CONFIG_DIR = "/etc/openvpn/bonded"


def plan_bond(tunnels, proto="udp", server_address=HOSTS["hq1"], pool6=None):
    bond = {"name": "paris", "id": 1, "server": "hq1", "client": "paris1", "tunnels": tunnels, "port": 1194,
            "proto": proto}
    if pool6:
        bond.update(balance="flow", server_networks=["2001:db8:1::/64"])
    return build_plan([bond], "10.255.0.0/16", dict(HOSTS, hq1=server_address), pool6)[0]


def tunnel_entry(role, tunnel):
    """One tunnel as tunnel_facts reports a healthy one."""
    other = "client" if role == "server" else "server"
    runtime = "/run/bonded-openvpn/%s" % tunnel["instance"]
    return {
        "index": tunnel["index"],
        "instance": tunnel["instance"],
        "config": {
            "present": True, "path": "%s/instances/%s.conf" % (CONFIG_DIR, tunnel["instance"]), "error": None,
            "role": role, "port": tunnel["port"], "remote": HOSTS["hq1"] if role == "client" else None, "local": None,
            "proto": "udp", "proto_directive": "udp", "family": "ipv4", "dev": tunnel["interface"],
            "local_address": tunnel["%s_address" % role], "peer_address": tunnel["%s_address" % other],
            "local_address6": None, "peer_address6": None,
            "peer_fingerprints": [FINGERPRINTS[other]],
            "data_ciphers": "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305",
            "cert": CONFIG_DIR + "/identity/host.crt", "cert_fingerprint": FINGERPRINTS[role],
            "tls_crypt": CONFIG_DIR + "/bonds/paris/tls-crypt.key", "tls_crypt_sha256": "ab" * 32,
            "management": runtime + "/management.sock", "status": runtime + "/status",
        },
        "unit": {"name": "bonded-openvpn@%s.service" % tunnel["instance"], "load_state": "loaded",
                 "active_state": "active", "sub_state": "running", "main_pid": 100 + tunnel["index"],
                 "active": True},
        "interface": {"name": tunnel["interface"], "present": True, "up": True,
                      "flags": ["POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"], "operstate": "UNKNOWN",
                      "ifindex": 10 + tunnel["index"],
                      "addresses": [{"local": tunnel["%s_address" % role], "peer": tunnel["%s_address" % other],
                                     "prefixlen": 32}],
                      "rx_packets": 5, "rx_bytes": 420, "tx_packets": 6, "tx_bytes": 504},
        "management": {"socket": runtime + "/management.sock", "state": "CONNECTED", "connected": True,
                       "since": 1732650000, "local_ip": tunnel["%s_address" % role], "remote_ip": HOSTS["hq1"],
                       "remote_port": tunnel["port"], "local_real_ip": None, "error": None},
        "probe": {"sent": 1, "received": 1, "rtt_ms": 0.4, "error": None},
        "dco": {"active": False, "interface_kind": "tun", "reason": "the kernel has no DCO module"},
        "mptcp_subflows": None,
    }


def host_facts(role, tunnels, balance="packet"):
    """A whole healthy tunnel_facts result of one end of bond paris."""
    planned = plan_bond(tunnels)
    spec = {"balance": balance, "weights": [t["weight"] for t in planned["tunnel_list"]], "flowlet_gap": None,
            "mptcp": False, "egress_rate": None, "latency_cutoff": rules.latency_cutoff({"balance": balance}),
            "udp_balance": "flow"}
    return {
        "config_dir": CONFIG_DIR,
        "host_fingerprint": FINGERPRINTS[role],
        "problems": [],
        "bonds": {"paris": {
            "name": "paris", "role": role, "count": tunnels, "host_fingerprint": FINGERPRINTS[role],
            "balance": {"path": "/run/bonded-openvpn/balance/paris.live", "live": list(range(tunnels)), "spec": spec},
            "metrics": None, "mptcp": None,
            "tunnels": [tunnel_entry(role, t) for t in planned["tunnel_list"]],
        }},
    }


def _walk(root, path):
    parts = path.split(".")
    node = root
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    return node, int(last) if isinstance(node, list) else last


def apply_case(case):
    tunnels = case.get("tunnels", 3)
    balance = "flow" if case.get("plan_pool6") else "packet"
    state = {"client": host_facts("client", tunnels, balance), "server": host_facts("server", tunnels, balance)}
    healthy = copy.deepcopy(state)
    for path, value in (case.get("set") or {}).items():
        if isinstance(value, str) and value.startswith("@"):
            node, key = _walk(healthy, value[1:])
            value = node[key]
        if "." not in path:
            state[path] = value
            continue
        node, key = _walk(state, path)
        node[key] = value
    for path in case.get("delete") or []:
        node, key = _walk(state, path)
        del node[key]
    plan_tunnels = case.get("plan_tunnels", tunnels)
    plan = plan_bond(plan_tunnels, case.get("plan_proto", "udp"), case.get("plan_server_address", HOSTS["hq1"]),
                     case.get("plan_pool6")) if plan_tunnels is not None else None
    return state["client"], state["server"], plan


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_names_exactly_the_expected_mismatches(case):
    client, server, plan = apply_case(case)
    rows, mismatches = parity.compare("paris", client, server, plan)
    assert [(m["bond"], m["tunnel"], m["field"]) for m in mismatches] == \
        [("paris", tunnel, field) for tunnel, field in case["expect"]]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_mismatch_is_complete_and_actionable(case):
    client, server, plan = apply_case(case)
    for item in parity.compare("paris", client, server, plan)[1]:
        assert set(item) == {"bond", "tunnel", "field", "client", "server", "plan", "hint"}
        assert any(action in item["hint"] for action in ("re-run site.yml", "restart ", "check ", "run "))
        line = parity.describe(item)
        assert line.startswith("bond paris ")
        assert "field %s: client=" % item["field"] in line


def test_rows_cover_every_tunnel_and_flag_the_bad_ones():
    client, server, plan = apply_case({"set": {"server.bonds.paris.tunnels.1.config.port": 1999}})
    rows, _mismatches = parity.compare("paris", client, server, plan)
    assert [(r["tunnel"], r["ok"], r["mismatches"]) for r in rows] == [(0, True, []), (1, False, ["port"]),
                                                                       (2, True, [])]
    assert rows[0]["client"]["management"] == "CONNECTED"
    assert rows[0]["server"]["live"] is True
    assert rows[1]["port"] == 1999


def test_rows_include_planned_tunnels_missing_on_both_ends():
    client, server, plan = apply_case({"plan_tunnels": 4})
    rows = parity.compare("paris", client, server, plan)[0]
    assert rows[3]["client"]["config"] == "absent" and rows[3]["server"]["config"] == "absent"
    assert rows[3]["port"] == 1197


def test_describe_names_bond_tunnel_field_and_both_values():
    item = parity.mismatch("paris", 2, "unit", "failed", "active", "restart it")
    assert parity.describe(item) == "bond paris tunnel 2 field unit: client=failed, server=active (restart it)"


def test_describe_bond_level_shows_the_plan():
    item = parity.mismatch("paris", None, "count", 3, 4, "re-run site.yml", plan=4)
    assert parity.describe(item) == "bond paris field count: client=3, server=4, plan=4 (re-run site.yml)"


def test_hints_name_inventory_hosts_when_the_plan_is_known():
    client, server, plan = apply_case({"set": {"client.bonds.paris.tunnels.1.unit.active": False,
                                               "client.bonds.paris.tunnels.1.unit.active_state": "failed"}})
    hint = parity.compare("paris", client, server, plan)[1][0]["hint"]
    assert "restart bonded-openvpn@paris-1 on paris1 (client)" in hint


def test_summary_has_one_line_per_tunnel_then_bond_level_mismatches():
    client, server, plan = apply_case({"set": {"server.bonds.paris.balance.live": [0]}})
    rows, mismatches = parity.compare("paris", client, server, plan)
    lines = parity.summary_lines(rows, mismatches)
    assert len(lines) == 4
    assert lines[0].startswith("paris k=0  port 1194/udp | client active")
    assert "CONNECTED" in lines[0] and lines[0].endswith("| ok")
    assert "balance_live" in lines[3]


def test_parity_does_not_modify_its_inputs():
    client, server, plan = apply_case({})
    before = copy.deepcopy((client, server, plan))
    parity.compare("paris", client, server, plan)
    assert (client, server, plan) == before
