"""The tunnels and balance roles take the plan that playbooks/plan.yml keeps on localhost,
and plan for themselves only when used without that play. Renders each role's own "Plan
what this host plays" expression as Ansible does, with the collection's filters loaded (in
a fresh interpreter: the collection loader must be installed before the collection is
imported, and this test session imports it as a plain package)."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES = {"bonded_openvpn_tunnels": "__bonded_openvpn_sides", "bonded_openvpn_balance": "__bonded_openvpn_balance_sides",
         "bonded_openvpn_kernel": "__bonded_openvpn_kernel_sides"}
BONDS = [{"name": "paris", "id": 1, "server": "hub", "client": "sp1", "tunnels": 2, "port": 1194}]
# Another fleet: a role that returned it used the kept plan, not the inventory.
KEPT = build_plan([{"name": "lisbon", "id": 4, "server": "hub", "client": "sp3", "tunnels": 3, "port": 1394}],
                  None, {"hub": "192.0.2.1", "sp3": "192.0.2.3"})
RENDER = r"""
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates every string it is given
    def trust_as_template(expression):
        return expression
init_plugin_loader([sys.argv[1]])
results = []
for expression, variables in json.load(sys.stdin):
    try:
        results.append(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression)))
    except Exception as error:
        results.append("error: %s" % error)
json.dump(results, sys.stdout)
"""
CASES = {
    # No bonded_openvpn_bonds at all: planning again here would fail.
    "kept plan": {"localhost": {"__bonded_openvpn_plan": KEPT}},
    "no planning play": {"localhost": {}, "bonded_openvpn_bonds": BONDS},
    "kept plan, bond being removed": {"localhost": {"__bonded_openvpn_plan": KEPT}, "bonded_openvpn_remove": ["lisbon"]},
}


def plan_expression(role):
    with open(os.path.join(ROOT, "roles", role, "tasks", "main.yml")) as handle:
        tasks = yaml.safe_load(handle)
    for task in tasks:
        for where in (task.get("ansible.builtin.set_fact") or {}, task.get("vars") or {}):
            if ROLES[role] in where:
                return where[ROLES[role]]
    raise AssertionError("%s sets no %s" % (role, ROLES[role]))


@pytest.fixture(scope="module")
def rendered():
    keys, batch = [], []
    for role in sorted(ROLES):
        for case, given in sorted(CASES.items()):
            # As Ansible has them: the host's own variables are also in hostvars.
            variables = dict((k, v) for k, v in given.items() if k != "localhost")
            hub = dict(variables, ansible_host="192.0.2.1")
            variables.update(inventory_hostname="hub", hostvars={
                "localhost": given["localhost"], "hub": hub, "sp1": {}, "sp3": {}})
            keys.append((role, case))
            batch.append((plan_expression(role), variables))
    done = subprocess.run([sys.executable, "-c", RENDER, os.path.join(ROOT, ".cache", "collections")],
                          input=json.dumps(batch), capture_output=True, text=True, check=True)
    return dict(zip(keys, json.loads(done.stdout)))


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_plan_kept_on_localhost_is_used(rendered, role):
    found = rendered[(role, "kept plan")]
    assert [(s["bond"], s["role"], len(s["tunnels"])) for s in found] == [("lisbon", "server", 3)], found


@pytest.mark.parametrize("role", sorted(ROLES))
def test_without_the_planning_play_the_role_plans_itself(rendered, role):
    found = rendered[(role, "no planning play")]
    assert [(s["bond"], s["role"], len(s["tunnels"])) for s in found] == [("paris", "server", 2)], found


@pytest.mark.parametrize("role", sorted(set(ROLES) - {"bonded_openvpn_kernel"}))
def test_bonds_being_removed_are_left_out_of_a_kept_plan_too(rendered, role):
    assert rendered[(role, "kept plan, bond being removed")] == []


def test_the_roles_take_their_share_of_the_plan_the_same_way():
    # One filter, one call: no role derives its side of a bond in Jinja of its own.
    for role in ROLES:
        assert "bonded.openvpn.host_sides(inventory_hostname" in plan_expression(role), role
        assert "bond_plan" not in plan_expression(role), role


def test_the_kernel_role_plays_nothing_on_a_host_without_bonds(tmp_path):
    variables = {"inventory_hostname": "lone", "hostvars": {"localhost": {}, "lone": {}}}
    done = subprocess.run([sys.executable, "-c", RENDER, os.path.join(ROOT, ".cache", "collections")],
                          input=json.dumps([(plan_expression("bonded_openvpn_kernel"), variables)]),
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [[]]
