import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import planner as plan
from ansible_collections.bonded.openvpn.plugins.module_utils._engine.live_set import parse as parse_live_set

from balance_fixtures import SIDE, spec


def test_a_spec_survives_its_file_format():
    text = bspec.dump(spec(), "Ansible managed")
    assert text.startswith("# Ansible managed\n")
    assert bspec.parse(text) == spec()


def test_a_spec_of_another_format_version_is_refused_with_what_to_do():
    text = bspec.dump(dict(spec(), version=99), "m")
    with pytest.raises(bspec.SpecError, match="re-run the bonded.openvpn.balance role"):
        bspec.parse(text)


def test_a_spec_keeps_only_what_the_data_path_needs():
    assert "remote" not in spec() and "port" not in spec()["tunnels"][0]
    assert spec()["probe"] == layout.PROBE_DEFAULTS


def test_the_bond_carries_the_peer_bundle_and_the_peer_networks():
    assert bspec.destinations(spec()) == ["10.255.1.254/32", "192.168.1.0/24"]


def test_the_planners_marks_tables_and_priorities_fall_in_the_watchdogs_ranges():
    bonds = [{"name": "a", "id": 0, "server": "s", "client": "c", "tunnels": 32, "port": 1000},
             {"name": "b", "id": 255, "server": "s", "client": "c", "tunnels": 32, "port": 2000}]
    for bond in plan.build_plan(bonds, "10.0.0.0/8", {"s": "s", "c": "c"}):
        tables, priorities = bspec.table_range(bond["id"]), bspec.priority_range(bond["id"])
        for tunnel in bond["tunnel_list"]:
            assert tables[0] <= tunnel["table"] == tunnel["mark"] <= tables[1]
            assert priorities[0] <= tunnel["rule_priority"] <= priorities[1]


def test_live_tunnels_are_the_ones_spread_over():
    assert bspec.effective_live(spec(), [0, 2, 9]) == [0, 2]


@pytest.mark.parametrize("live", [None, []])
def test_without_a_live_tunnel_every_tunnel_is_kept(live):
    assert bspec.effective_live(spec(), live) == [0, 1, 2, 3]


def test_the_live_file_is_what_tunnel_facts_reads():
    assert parse_live_set(bspec.format_live(spec(), [1, 3])) == [1, 3]
    assert parse_live_set(bspec.format_live(spec(), [])) == [0, 1, 2, 3]
    assert "all kept" in bspec.format_live(spec(), [])


def test_nft_table_names_map_back_to_bonds():
    assert bspec.bond_of_nft_table(bspec.nft_table(SIDE["bond"])) == "paris"
    assert bspec.bond_of_nft_table("filter") is None
