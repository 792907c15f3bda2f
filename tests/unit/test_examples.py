"""The example fleets are valid: Ansible reads their inventories and the planner plans them.

examples/inventory is the fleet documented for users; lab/demo/inventory.yml is what
`make demo` deploys.
"""
import os

import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.bonded.openvpn.plugins.filter.bond_plan import bond_plan
from ansible_collections.bonded.openvpn.plugins.filter.bond_sides import bond_sides

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_hostvars(source):
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[os.path.join(ROOT, source)])
    variables = VariableManager(loader=loader, inventory=inventory)
    return dict((host.name, variables.get_vars(host=host)) for host in inventory.get_hosts())


def plan_of(hostvars):
    any_host = next(iter(hostvars.values()))
    return bond_plan(any_host["bonded_openvpn_bonds"], any_host["bonded_openvpn_pool"], hostvars,
                     any_host.get("bonded_openvpn_pool6"))


@pytest.fixture(scope="module")
def hostvars():
    return load_hostvars(os.path.join("examples", "inventory"))


@pytest.fixture(scope="module")
def plan(hostvars):
    return plan_of(hostvars)


def test_the_example_is_a_hub_with_three_spokes(hostvars, plan):
    assert sorted(hostvars) == ["berlin1", "hq1", "lisbon1", "paris1"]
    assert set(bond["server"] for bond in plan) == {"hq1"}
    assert sorted(bond["client"] for bond in plan) == ["berlin1", "lisbon1", "paris1"]


def test_it_mixes_modes_and_protocols(plan):
    assert set(bond["balance"] for bond in plan) == {"packet", "flow"}
    assert set(bond["proto"] for bond in plan) == {"udp", "tcp"}


def test_every_host_plays_a_bond_and_the_hub_plays_all(hostvars, plan):
    for host in hostvars:
        assert bond_sides(plan, host), "%s plays no bond" % host
    assert [side["bond"] for side in bond_sides(plan, "hq1")] == ["paris", "berlin", "lisbon"]


def test_clients_dial_the_hub_address_or_the_bond_remote(plan):
    remotes = dict((bond["name"], bond["remote"]) for bond in plan)
    assert remotes == {"paris": "203.0.113.10", "berlin": "203.0.113.10", "lisbon": "vpn2.hq.example.net"}


def test_the_hub_listens_on_disjoint_port_ranges(plan):
    ports = [tunnel["port"] for bond in plan for tunnel in bond["tunnel_list"]]
    assert len(ports) == len(set(ports)) == 4 + 8 + 2


def test_the_demo_fleet_is_a_hub_with_a_packet_and_a_flow_spoke():
    plan = plan_of(load_hostvars(os.path.join("lab", "demo", "inventory.yml")))
    assert [(bond["name"], bond["server"], bond["balance"], bond["tunnels"]) for bond in plan] == [
        ("paris", "demo-hub", "packet", 4), ("berlin", "demo-hub", "flow", 2)]


def molecule_inventories():
    """(scenario, bonds, pool, hostvars, pool6) of every Molecule scenario that defines a fleet."""
    found = []
    for scenario in sorted(os.listdir(os.path.join(ROOT, "molecule"))):
        path = os.path.join(ROOT, "molecule", scenario, "molecule.yml")
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            config = yaml.safe_load(handle)
        inventory = (config.get("provisioner") or {}).get("inventory") or {}
        fleet = ((inventory.get("group_vars") or {}).get("all") or {})
        if "bonded_openvpn_bonds" in fleet:
            host_vars = inventory.get("host_vars") or {}
            hostvars = dict((p["name"], host_vars.get(p["name"], {})) for p in config["platforms"])
            found.append((scenario, fleet["bonded_openvpn_bonds"], fleet.get("bonded_openvpn_pool"), hostvars,
                          fleet.get("bonded_openvpn_pool6")))
    return found


@pytest.mark.parametrize("scenario, bonds, pool, hostvars, pool6", molecule_inventories(),
                         ids=[entry[0] for entry in molecule_inventories()])
def test_every_molecule_fleet_passes_the_planner(scenario, bonds, pool, hostvars, pool6):
    # A stricter planner must not break a scenario: it would fail only in Molecule, late.
    assert bond_plan(bonds, pool, hostvars, pool6)


def test_the_molecule_fleets_are_found():
    assert len(molecule_inventories()) >= 4


def test_the_multi_wan_example_spreads_its_tunnels_over_three_uplinks_by_capacity():
    hostvars = load_hostvars(os.path.join("examples", "multi-wan"))
    bond = plan_of(hostvars)[0]
    assert [t["uplink"] for t in bond["tunnel_list"]] == ["fibre", "dsl", "lte"] * 2
    assert bond["weights"] == [3, 2, 1, 3, 2, 1]
    client = bond_sides([bond], "porto1")[0]
    assert [(u["name"], u["tunnels"]) for u in client["uplinks"]] == [("fibre", [0, 3]), ("dsl", [1, 4]), ("lte", [2, 5])]
