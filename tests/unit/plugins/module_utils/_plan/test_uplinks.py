"""Uplinks in the plan: which tunnel rides which uplink, the weights their capacities give,
the numbers the hosts use, and the configs both ends get from them."""
import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import instance_config
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import planner
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import rules

HOSTS = {"hub": "203.0.113.10", "branch": "198.51.100.20"}
UPLINKS = [
    {"name": "fibre", "interface": "eth1", "address": "198.51.100.20", "gateway": "198.51.100.1", "capacity": 30},
    {"name": "dsl", "interface": "eth2", "address": "192.0.2.20", "capacity": 20},
    {"name": "lte", "interface": "wwan0", "address": "100.64.0.2", "capacity": 10, "nat": True},
]
SETTINGS = dict(config_dir="/etc/openvpn/bonded", runtime_dir="/run/bonded-openvpn", user="u", group="g",
                ciphers=["AES-256-GCM"], keepalive=[2, 10], socket_buffer=4194304, verb=3, managed="managed",
                peer_fingerprint="AA:BB", identity_digest="i" * 64, tls_crypt_digest="t" * 64)


def bond(**changes):
    value = {"name": "branch", "id": 3, "server": "hub", "client": "branch", "tunnels": 6, "port": 1194,
             "uplinks": [dict(u) for u in UPLINKS]}
    value.update(changes)
    return value


def plan(**changes):
    return planner.build_plan([bond(**changes)], None, HOSTS)[0]


def riders(planned):
    return [t["uplink"] for t in planned["tunnel_list"]]


def test_round_robin_keeps_every_tunnel_on_its_uplink_as_the_bond_grows():
    for tunnels in range(3, 12):
        assert riders(plan(tunnels=tunnels)) == [("fibre", "dsl", "lte")[k % 3] for k in range(tunnels)]


def test_counts_give_each_uplink_a_block_of_tunnels():
    counted = [dict(u, tunnels=n) for u, n in zip(UPLINKS, (3, 2, 1))]
    assert riders(plan(uplinks=counted)) == ["fibre"] * 3 + ["dsl"] * 2 + ["lte"]


def test_weights_share_each_uplinks_capacity_among_its_tunnels():
    assert plan()["weights"] == [3, 2, 1, 3, 2, 1]
    counted = [dict(u, tunnels=n) for u, n in zip(UPLINKS, (3, 2, 1))]
    assert plan(uplinks=counted)["weights"] == [1] * 6
    assert plan(tunnels=4)["weights"] == [3, 4, 2, 3]    # fibre 30/2, dsl 20/1, lte 10/1 -> 15:20:10:15


def test_weights_the_bond_gives_win_over_capacities():
    assert plan(weights=[1, 1, 1, 1, 1, 2])["weights"] == [1, 1, 1, 1, 1, 2]


def test_uplinks_without_capacities_spread_evenly():
    bare = [dict((k, v) for k, v in u.items() if k != "capacity") for u in UPLINKS]
    assert plan(uplinks=bare)["weights"] == [1] * 6


@pytest.mark.parametrize("balance", ["packet", "flowlet", "flow"])
def test_a_wild_capacity_ratio_is_scaled_into_what_the_data_path_holds(balance):
    wild = [dict(UPLINKS[0], capacity=1000000), dict(UPLINKS[1], capacity=7)]
    weights = plan(uplinks=wild, tunnels=2, balance=balance)["weights"]
    assert min(weights) >= 1 and weights[0] > 100 * weights[1] / 2
    if balance == "flow":
        assert max(weights) <= rules.MAX_NEXTHOP_WEIGHT
    else:
        assert sum(weights) <= rules.MAX_MAP_ENTRIES


def test_each_uplink_has_a_table_in_its_bonds_block_and_a_rule_after_every_tunnel_rule():
    planned = plan()
    first, last = bspec.table_range(3)
    tunnel_tables = set(t["table"] for t in planned["tunnel_list"])
    for uplink in planned["uplinks"]:
        assert first <= uplink["table"] <= last and uplink["table"] not in tunnel_tables
        assert bspec.uplink_priority_range(3)[0] <= uplink["rule_priority"] <= bspec.uplink_priority_range(3)[1]
    assert bspec.all_uplink_priorities()[0] > bspec.all_priorities()[1]
    assert bspec.all_uplink_priorities()[1] < 32766     # before the main table's rule


def test_uplink_tables_and_rules_stay_inside_their_bonds_blocks():
    assert layout.MAX_UPLINKS <= layout.UPLINK_PRIORITY_STRIDE
    assert layout.UPLINK_TABLE_OFFSET >= rules.MAX_TUNNELS
    assert layout.UPLINK_TABLE_OFFSET + layout.MAX_UPLINKS <= layout.TABLE_STRIDE


def test_only_the_client_side_carries_the_uplinks():
    planned = [plan()]
    client, server = planner.host_sides(planned, "branch")[0], planner.host_sides(planned, "hub")[0]
    assert [u["name"] for u in client["uplinks"]] == ["fibre", "dsl", "lte"] and server["uplinks"] == []
    assert client["uplinks"][0]["tunnels"] == [0, 3]
    assert bspec.from_side(client)["uplinks"][2] == {
        "index": 2, "name": "lte", "interface": "wwan0", "address": "100.64.0.2", "gateway": None,
        "table": 10352, "rule_priority": 14026, "tunnels": [2, 5]}
    assert bspec.from_side(server)["uplinks"] == []


def directives(side, index):
    text = instance_config.render(side, side["tunnels"][index], SETTINGS)
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_a_client_tunnel_binds_to_its_uplinks_address_and_dials_its_remote():
    dialed = [dict(UPLINKS[0]), dict(UPLINKS[1], remote="203.0.113.11"), dict(UPLINKS[2])]
    client = planner.host_sides([plan(uplinks=dialed)], "branch")[0]
    lines = directives(client, 1)
    assert "local 192.0.2.20" in lines and "lport 0" in lines and "nobind" not in lines
    assert "remote 203.0.113.11 1195" in lines
    assert "remote 203.0.113.10 1196" in directives(client, 2)


def test_a_server_dialed_at_several_addresses_answers_from_the_one_dialed():
    dialed = [dict(UPLINKS[0]), dict(UPLINKS[1], remote="203.0.113.11"), dict(UPLINKS[2])]
    assert "multihome" in directives(planner.host_sides([plan(uplinks=dialed)], "hub")[0], 0)
    assert "multihome" not in directives(planner.host_sides([plan()], "hub")[0], 0)
    assert "multihome" not in directives(planner.host_sides([plan(uplinks=dialed, proto="tcp")], "hub")[0], 0)


def test_a_bond_without_uplinks_renders_as_before():
    plain = planner.build_plan([dict((k, v) for k, v in bond().items() if k != "uplinks")], None, HOSTS)
    client = planner.host_sides(plain, "branch")[0]
    lines = directives(client, 0)
    assert "nobind" in lines and not [line for line in lines if line.startswith(("local ", "lport"))]
    assert client["uplinks"] == [] and plain[0]["tunnel_list"][0]["uplink"] is None
    assert "multihome" not in directives(planner.host_sides(plain, "hub")[0], 0)
