"""Parity of a bond over uplinks: each tunnel rides its planned uplink, seen from both
ends, and an uplink whose tunnels are all down is named."""
import copy

from ansible_collections.bonded.openvpn.plugins.module_utils._verify import parity
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan

from test_parity_compare import FINGERPRINTS, HOSTS, tunnel_entry

UPLINKS = [{"name": "fibre", "interface": "eth1", "address": "192.0.2.20"},
           {"name": "lte", "interface": "wwan0", "address": "100.64.0.2", "remote": "198.51.100.9"}]


def plan_bond(nat=False):
    uplinks = [dict(UPLINKS[0]), dict(UPLINKS[1], nat=nat)]
    bond = {"name": "paris", "id": 1, "server": "hq1", "client": "paris1", "tunnels": 4, "port": 1194,
            "uplinks": uplinks}
    return build_plan([bond], "10.255.0.0/16", HOSTS)[0]


def facts(role, plan):
    tunnels = []
    for planned in plan["tunnel_list"]:
        entry = tunnel_entry(role, planned)
        if role == "client":
            entry["config"].update(remote=planned["remote"], local=planned["client_underlay"])
            entry["management"].update(remote_ip=planned["remote"], local_real_ip=planned["client_underlay"])
        else:
            entry["management"].update(remote_ip=planned["client_underlay"])
        tunnels.append(entry)
    return {"config_dir": "/etc/openvpn/bonded", "host_fingerprint": FINGERPRINTS[role], "problems": [],
            "bonds": {"paris": {"name": "paris", "role": role, "count": 4, "host_fingerprint": FINGERPRINTS[role],
                                "balance": {"path": "/run/x", "live": [0, 1, 2, 3]}, "tunnels": tunnels}}}


def compare(client, server, plan):
    rows, found = parity.compare("paris", client, server, plan)
    return rows, [(m["tunnel"], m["field"]) for m in found], found


def test_a_bond_whose_tunnels_ride_their_uplinks_is_whole_and_rows_name_the_uplink():
    plan = plan_bond()
    rows, fields, _found = compare(facts("client", plan), facts("server", plan), plan)
    assert fields == []
    assert [row["uplink"] for row in rows] == ["fibre", "lte", "fibre", "lte"]
    assert " uplink lte |" in parity.summary_lines(rows, [])[1]


def test_a_client_bound_elsewhere_or_dialing_elsewhere_is_a_mismatch():
    plan = plan_bond()
    client = facts("client", plan)
    client["bonds"]["paris"]["tunnels"][1]["config"].update(local=None, remote="198.51.100.1")
    _rows, fields, found = compare(client, facts("server", plan), plan)
    assert fields == [(1, "remote"), (1, "local")]
    assert "over uplink 'lte'" in found[0]["hint"] and found[1]["plan"] == "100.64.0.2"


def test_a_tunnel_leaving_by_another_uplink_is_named_by_both_ends():
    plan = plan_bond()
    client, server = facts("client", plan), facts("server", plan)
    client["bonds"]["paris"]["tunnels"][3]["management"]["local_real_ip"] = "192.0.2.20"
    server["bonds"]["paris"]["tunnels"][3]["management"]["remote_ip"] = "192.0.2.20"
    _rows, fields, found = compare(client, server, plan)
    assert fields == [(3, "uplink")]
    assert "tunnel 3 should ride uplink 'lte' (wwan0, from 100.64.0.2)" in found[0]["hint"]


def test_behind_nat_the_server_side_address_is_not_compared():
    plan = plan_bond(nat=True)
    server = facts("server", plan)
    server["bonds"]["paris"]["tunnels"][1]["management"]["remote_ip"] = "203.0.113.77"
    assert compare(facts("client", plan), server, plan)[1] == []
    assert compare(facts("client", plan_bond()), server, plan_bond())[1] == [(1, "uplink")]


def test_an_uplink_whose_tunnels_are_all_down_is_named_once():
    plan = plan_bond()
    client = facts("client", plan)
    for index in (1, 3):
        management = client["bonds"]["paris"]["tunnels"][index]["management"]
        management.update(state="RECONNECTING", connected=False)
    rows, fields, found = compare(client, facts("server", plan), plan)
    assert fields == [(1, "management"), (3, "management"), (None, "uplink_down")]
    lines = parity.summary_lines(rows, found)
    assert lines[-1].startswith("paris UPLINK DOWN: uplink 'lte' (wwan0, 100.64.0.2): none of its tunnels 1, 3 is "
                                "connected")
    one_down = copy.deepcopy(facts("client", plan))
    one_down["bonds"]["paris"]["tunnels"][1]["management"].update(state="RECONNECTING", connected=False)
    assert compare(one_down, facts("server", plan), plan)[1] == [(1, "management")]
