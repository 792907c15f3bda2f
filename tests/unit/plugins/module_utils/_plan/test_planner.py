import copy
import os

import pytest
import yaml

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import PlanError, build_plan, host_sides

# Inventory hostname -> ansible_host (or the name itself when it has none).
HOSTS = {"hq": "203.0.113.10", "paris1": "198.51.100.21", "berlin1": "berlin1"}
POOL = "10.255.0.0/16"
FLEET = [
    {"name": "paris", "id": 1, "server": "hq", "client": "paris1", "tunnels": 4, "port": 1194,
     "server_networks": ["192.168.1.0/24"], "client_networks": ["192.168.10.0/24"], "snat": True},
    {"name": "berlin", "id": 2, "server": "hq", "client": "berlin1", "tunnels": 2, "port": 1294,
     "server_networks": ["192.168.1.0/24"], "balance": "flow", "remote": "vpn.example.net"},
]

with open(os.path.join(os.path.dirname(__file__), "bad_bonds.yml")) as handle:
    BAD_CASES = yaml.safe_load(handle)


def fleet():
    return copy.deepcopy(FLEET)


def case_hosts(case):
    """The inventory of a case of bad_bonds.yml: HOSTS with its ``hosts`` patch applied."""
    hosts = dict(HOSTS)
    hosts.update(case.get("hosts") or {})
    return hosts


def apply_case(case):
    """The valid fleet changed as a case of bad_bonds.yml says (docs/validation.md uses it too)."""
    if "replace" in case:
        return copy.deepcopy(case["replace"])
    bonds = fleet()
    for position, patch in (case.get("bonds") or {}).items():
        for field, value in patch.items():
            if value is None:
                bonds[position].pop(field)
            else:
                bonds[position][field] = value
    return bonds + copy.deepcopy(case.get("extra") or [])


def by_name(plan):
    return dict((bond["name"], bond) for bond in plan)


def test_tunnel_k_uses_port_plus_k_and_its_own_interface():
    paris = by_name(build_plan(fleet(), POOL, HOSTS))["paris"]
    assert [t["port"] for t in paris["tunnel_list"]] == [1194, 1195, 1196, 1197]
    assert [t["interface"] for t in paris["tunnel_list"]] == ["bo-paris-0", "bo-paris-1", "bo-paris-2", "bo-paris-3"]
    assert [t["unit"] for t in paris["tunnel_list"]][-1] == "bonded-openvpn@paris-3.service"


def test_bond_id_selects_the_address_block_marks_and_tables():
    berlin = by_name(build_plan(fleet(), POOL, HOSTS))["berlin"]
    assert berlin["block"] == "10.255.2.0/24"
    assert (berlin["server_bundle"], berlin["client_bundle"]) == ("10.255.2.254", "10.255.2.253")
    second = berlin["tunnel_list"][1]
    assert (second["server_address"], second["client_address"]) == ("10.255.2.5", "10.255.2.6")
    assert (second["mark"], second["table"], second["rule_priority"]) == (10201, 10201, 5065)


def test_reordering_or_removing_bonds_does_not_renumber_the_others():
    full = by_name(build_plan(fleet(), POOL, HOSTS))
    reordered = by_name(build_plan(list(reversed(fleet())), POOL, HOSTS))
    alone = by_name(build_plan(fleet()[1:], POOL, HOSTS))
    assert full["berlin"] == reordered["berlin"] == alone["berlin"]


def test_both_sides_mirror_each_other():
    plan = build_plan(fleet(), POOL, HOSTS)
    server = [s for s in host_sides(plan, "hq") if s["bond"] == "paris"][0]
    client = host_sides(plan, "paris1")[0]
    assert (server["role"], client["role"]) == ("server", "client")
    for ours, theirs in zip(server["tunnels"], client["tunnels"]):
        assert ours["local_address"] == theirs["peer_address"]
        assert ours["peer_address"] == theirs["local_address"]
        assert ours["port"] == theirs["port"]
    assert server["local_bundle"] == client["peer_bundle"]
    assert server["peer_networks"] == client["local_networks"] == ["192.168.10.0/24"]


def test_a_hub_plays_every_bond_that_names_it():
    sides = host_sides(build_plan(fleet(), POOL, HOSTS), "hq")
    assert [(s["bond"], s["role"]) for s in sides] == [("paris", "server"), ("berlin", "server")]
    assert host_sides(build_plan(fleet(), POOL, HOSTS), "elsewhere") == []


def test_client_dials_the_servers_inventory_address_unless_remote_is_set():
    plan = by_name(build_plan(fleet(), POOL, HOSTS))
    assert plan["paris"]["remote"] == "203.0.113.10"
    assert plan["berlin"]["remote"] == "vpn.example.net"


def test_only_the_client_side_masquerades():
    plan = build_plan(fleet(), POOL, HOSTS)
    assert host_sides(plan, "paris1")[0]["snat"] is True
    assert [s["snat"] for s in host_sides(plan, "hq")] == [False, False]


def test_defaults_fill_optional_fields():
    berlin = by_name(build_plan(fleet(), POOL, HOSTS))["berlin"]
    assert (berlin["proto"], berlin["snat"], berlin["shaper"], berlin["weights"]) == ("udp", False, None, [1, 1])
    assert berlin["client_networks"] == []


def test_weights_follow_each_tunnel():
    bonds = fleet()
    bonds[0]["weights"] = [3, 1, 1, 1]
    paris = by_name(build_plan(bonds, POOL, HOSTS))["paris"]
    assert [t["weight"] for t in paris["tunnel_list"]] == [3, 1, 1, 1]


def test_a_hub_network_may_appear_in_each_of_its_bonds():
    # Both bonds list hq's LAN; that is one network behind one host, not a conflict.
    assert len(build_plan(fleet(), POOL, HOSTS)) == 2


def test_every_problem_is_reported_at_once():
    bonds = fleet()
    bonds[0]["tunnels"] = 0
    bonds[1]["proto"] = "icmp"
    with pytest.raises(PlanError) as raised:
        build_plan(bonds, POOL, HOSTS)
    assert len(raised.value.errors) == 2
    assert "nothing was changed" in str(raised.value)


@pytest.mark.parametrize("case", BAD_CASES, ids=[c["id"] for c in BAD_CASES])
def test_bad_input_is_rejected_naming_bond_and_field(case):
    with pytest.raises(PlanError) as raised:
        build_plan(apply_case(case), case.get("pool", POOL), case_hosts(case), case.get("pool6"))
    assert any(case["error"] in error for error in raised.value.errors), raised.value.errors


def test_packet_weights_are_planned_reduced_by_their_common_divisor():
    bonds = fleet()
    bonds[0]["weights"] = [4, 2, 2, 2]
    paris = by_name(build_plan(bonds, POOL, HOSTS))["paris"]
    assert paris["weights"] == [2, 1, 1, 1]
    assert [t["weight"] for t in paris["tunnel_list"]] == [2, 1, 1, 1]


def test_flow_weights_are_planned_as_given():
    bonds = fleet()
    bonds[1]["weights"] = [4, 2]
    assert by_name(build_plan(bonds, POOL, HOSTS))["berlin"]["weights"] == [4, 2]


def test_the_bounds_themselves_are_accepted():
    bonds = fleet()
    bonds[0]["weights"] = [253, 1, 1, 1]              # a map of exactly 256 entries
    bonds[1]["weights"] = [256, 1]                    # the largest nexthop weight
    bonds[0]["client_networks"] = ["172.0.0.0/8"]     # the broadest network
    assert len(build_plan(bonds, POOL, HOSTS)) == 2


@pytest.mark.parametrize("remote", ["2001:db8::10", "vpn-2.example.net", "hq", "a", "1e100.net", "198.51.100.200"])
def test_addresses_and_host_names_are_accepted_as_remote(remote):
    bonds = fleet()
    bonds[1]["remote"] = remote
    assert by_name(build_plan(bonds, POOL, HOSTS))["berlin"]["remote"] == remote


def test_networks_next_to_the_underlay_are_accepted():
    # 203.0.113.0/29 stops just before hq's 203.0.113.10; 198.51.100.0/28 before paris1's .21.
    bonds = fleet()
    bonds[0]["server_networks"] = ["203.0.113.0/29"]
    bonds[1]["client_networks"] = ["198.51.100.0/28"]
    assert len(build_plan(bonds, POOL, HOSTS)) == 2


def _underlay(hosts=None, **fields):
    bonds = fleet()[:1]
    bonds[0].update(fields)
    planned = build_plan(bonds, POOL, dict(HOSTS, **(hosts or {})))[0]
    server, client = (host_sides([planned], host)[0] for host in ("hq", "paris1"))
    return planned, server, client


def test_an_ipv4_or_named_server_gives_an_ipv4_underlay():
    assert _underlay()[0]["underlay_family"] == "ipv4"
    assert _underlay(remote="vpn.example.net")[0]["underlay_family"] == "ipv4"


def test_an_ipv6_address_dialed_gives_an_ipv6_underlay_on_both_sides():
    planned, server, client = _underlay(hosts={"hq": "2001:DB8::0a"})
    assert planned["underlay_family"] == server["underlay_family"] == client["underlay_family"] == "ipv6"
    # One spelling everywhere: what the config says, the plan says, and parity compares.
    assert client["remote"] == "2001:db8::a"
    assert [t["remote"] for t in client["tunnels"]] == ["2001:db8::a"] * 4


def test_a_name_is_dialed_over_ipv6_when_the_bond_says_so():
    planned = _underlay(remote="vpn.example.net", underlay_family="ipv6")[0]
    assert (planned["underlay_family"], planned["remote"]) == ("ipv6", "vpn.example.net")


def test_only_a_bond_that_carries_ipv6_gets_ipv6_addresses():
    bonds = fleet()
    bonds[0].update(balance="flow", client_networks=["192.168.10.0/24", "2001:db8:10::/64"])
    paris, berlin = build_plan(bonds, POOL, HOSTS, "fd00:0:0:ff00::/56")
    assert (paris["block6"], paris["server_bundle6"], paris["client_bundle6"]) == (
        "fd00:0:0:ff01::/64", "fd00:0:0:ff01::fe", "fd00:0:0:ff01::fd")
    assert paris["tunnel_list"][3]["server_address6"] == "fd00:0:0:ff01::401"
    # Setting the pool6 rewrites no other bond's tunnels.
    assert berlin == build_plan(fleet(), POOL, HOSTS)[1]
