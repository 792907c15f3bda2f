import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.bonded.openvpn.plugins.filter import bond_sides as sides_module
from ansible_collections.bonded.openvpn.plugins.filter import probe_problems as probe_module
from ansible_collections.bonded.openvpn.plugins.filter.bond_plan import FilterModule, bond_plan
from ansible_collections.bonded.openvpn.plugins.filter.bond_sides import bond_sides

BONDS = [
    {"name": "paris", "id": 1, "server": "hq", "client": "paris1", "tunnels": 2, "port": 1194},
    {"name": "berlin", "id": 2, "server": "hq", "client": "berlin1", "tunnels": 2, "port": 1294},
]
HOSTVARS = {"hq": {"ansible_host": "198.51.100.7"}, "paris1": {}, "berlin1": {}}


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"bond_plan"}
    assert set(sides_module.FilterModule().filters()) == {"bond_sides", "host_sides"}
    assert set(probe_module.FilterModule().filters()) == {"probe_problems"}


def test_a_client_dials_the_servers_ansible_host_or_its_name():
    plan = bond_plan(BONDS, None, HOSTVARS)
    assert [bond["remote"] for bond in plan] == ["198.51.100.7", "198.51.100.7"]
    assert bond_plan(BONDS, None, {"hq": {}, "paris1": {}, "berlin1": {}})[0]["remote"] == "hq"


def test_bad_input_becomes_a_filter_error_naming_bond_and_field():
    with pytest.raises(AnsibleFilterError, match="bond 'paris': field 'tunnels'"):
        bond_plan([dict(BONDS[0], tunnels=0)], None, HOSTVARS)


def test_sides_leave_out_the_bonds_being_removed():
    plan = bond_plan(BONDS, None, HOSTVARS)
    assert [side["bond"] for side in bond_sides(plan, "hq")] == ["paris", "berlin"]
    assert [side["bond"] for side in bond_sides(plan, "hq", exclude=["paris"])] == ["berlin"]
    assert bond_sides(plan, "hq", exclude="all") == []


def test_a_single_name_instead_of_a_list_is_refused():
    with pytest.raises(AnsibleFilterError, match="list of bond names"):
        bond_sides(bond_plan(BONDS, None, HOSTVARS), "hq", exclude="paris")


def test_a_missing_fleet_says_what_to_define_and_where():
    with pytest.raises(AnsibleFilterError, match=r"bonded_openvpn_bonds is not defined: define the list of bonds "
                                                 r"in group_vars/all \(see README, 'The inventory contract'\)"):
        bond_plan(None, None, HOSTVARS)


def test_a_hostile_ansible_host_is_refused_naming_bond_field_and_host():
    hostvars = dict(HOSTVARS, hq={"ansible_host": "198.51.100.7\nscript-security 2\nup /tmp/x.sh"})
    with pytest.raises(AnsibleFilterError,
                       match=r"bond 'paris': field 'remote' \(defaulted from ansible_host of 'hq'\)"):
        bond_plan(BONDS, None, hostvars)


def test_only_the_hosts_the_bonds_name_are_read():
    class Inventory(dict):
        def __getitem__(self, host):
            read.append(host)
            return dict.__getitem__(self, host)

    read = []
    bond_plan(BONDS, None, Inventory(HOSTVARS, elsewhere={"ansible_host": "bad value"}))
    assert sorted(read) == ["berlin1", "hq", "paris1"]


def test_the_layout_filter_answers_a_layout_name_and_refuses_others():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.bonded.openvpn.plugins.filter.layout import FilterModule as LayoutFilters
    from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout as host_layout
    layout = LayoutFilters().filters()["layout"]
    assert layout("config_dir") == host_layout.CONFIG_DIR
    assert layout("watchdog_unit") == host_layout.WATCHDOG_UNIT
    with pytest.raises(AnsibleFilterError, match="'nowhere' is not a name of the layout"):
        layout("nowhere")
    every = layout(None)
    assert every["config_dir"] == host_layout.CONFIG_DIR
    # Plain data a playbook can keep as a fact: kinds by name, tuples as lists.
    assert every["probe_limits"]["probes"][:3] == ["int", 1, 50] and every["balance_modes"] == ["packet", "flow", "flowlet"]


def test_probe_settings_are_checked_as_the_watchdog_would_on_the_host():
    problems = probe_module.probe_problems
    assert problems({}) == []
    assert problems({"bonded_openvpn_balance_probe_interval": "2.5", "bonded_openvpn_balance_probes": 10}) == []
    found = problems({"bonded_openvpn_balance_probe_interval": 0.01, "bonded_openvpn_balance_probes": "many"})
    assert len(found) == 2
    assert "bonded_openvpn_balance_probe_interval" in found[0] and "0.1 to 10.0" in found[0]
    assert "bonded_openvpn_balance_probes" in found[1] and "'many'" in found[1]
    assert problems({"bonded_openvpn_balance_loss_threshold": float("nan")}) != []
