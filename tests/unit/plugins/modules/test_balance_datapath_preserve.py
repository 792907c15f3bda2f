"""balance_datapath with preserve: a preserved bond's spec, watchdog, nftables table, rules,
routes and bundle address are not created, changed or removed, in check mode and for real,
whatever the plan now says about it; the other bonds converge as usual. The kernel is a
stand-in that holds objects in memory and records every change the module applies."""
import hashlib

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides
from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath

from module_run import run_module

from systemd_fake import RecordingSystemd

HUB = "hub"


def hub_sides(berlin_tunnels=2, paris_tunnels=2):
    bonds = [{"name": "paris", "id": 1, "server": HUB, "client": "sp1", "tunnels": paris_tunnels, "port": 1194,
              "client_networks": ["192.168.10.0/24"]},
             {"name": "berlin", "id": 2, "server": HUB, "client": "sp2", "tunnels": berlin_tunnels, "port": 1294,
              "balance": "flow", "client_networks": ["192.168.20.0/24"]}]
    return host_sides(build_plan(bonds, None, {HUB: HUB, "sp1": "sp1", "sp2": "sp2"}), HUB)


class FakeKernel(object):
    """Objects of the deployed bonds; ``applied``: every change summary the module ran."""
    state = render.Desired()
    interfaces = set()
    applied = []

    def __init__(self, run, run_dir):
        pass

    def read(self, scope):
        current = kernel.Current()
        current.addresses = set(FakeKernel.state.addresses)
        current.rules = set(rule for rule in FakeKernel.state.rules if scope.has_rule(rule))
        current.routes = dict((key, route) for key, route in FakeKernel.state.routes.items() if scope.has_route(route))
        current.nft = dict((name, {"listing": text, "input": text})
                           for name, text in FakeKernel.state.nft.items() if scope.has_nft_table(name[1]))
        current.interfaces = dict((name, {"ifindex": k, "up": True}) for k, name in enumerate(sorted(FakeKernel.interfaces)))
        return current

    def apply(self, changes):
        FakeKernel.applied.extend(changes.summary)


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setattr(balance_datapath.kernel, "Kernel", FakeKernel)
    RecordingSystemd.install(monkeypatch, balance_datapath)
    FakeKernel.state, FakeKernel.interfaces, FakeKernel.applied = render.Desired(), set(), []
    return tmp_path


def run(capsys, host, sides, check=False, preserve=None):
    args = {"sides": sides, "config_dir": str(host / "etc"), "run_dir": str(host / "run"),
            "lib_dir": str(host / "lib"), "_ansible_check_mode": check, "_ansible_diff": True}
    if preserve is not None:
        args["preserve"] = preserve
    FakeKernel.applied, RecordingSystemd.calls = [], []
    return run_module(capsys, balance_datapath.main, args)


@pytest.fixture
def deployed(capsys, host):
    """Both bonds deployed: spec files and watchdogs from a first run, kernel objects as rendered."""
    sides = hub_sides()
    FakeKernel.interfaces = set(t["interface"] for side in sides for t in side["tunnels"])
    run(capsys, host, sides)
    for side in sides:
        FakeKernel.state.merge(render.desired(bspec.from_side(side), None, FakeKernel.interfaces))
    assert not run(capsys, host, sides)["changed"]
    return host


def berlin_marks(side):
    """Text by which a change summary would touch bond berlin's kernel objects."""
    marks = [bspec.nft_table("berlin"), side["local_bundle"] + "/", side["peer_bundle"] + "/"] + side["peer_networks"]
    marks += ["table %d " % t["table"] for t in side["tunnels"]] + ["priority %d " % t["rule_priority"] for t in side["tunnels"]]
    return marks + ["bo-berlin-"]


def berlin_spec(host):
    path = host / "etc" / "berlin.conf"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


CHANGES = {
    "unchanged in the plan": hub_sides(),
    "more tunnels": hub_sides(berlin_tunnels=4),
    "fewer tunnels": hub_sides(berlin_tunnels=1),
    "gone from the plan": [side for side in hub_sides() if side["bond"] != "berlin"],
}


@pytest.mark.parametrize("check", [True, False], ids=["check", "apply"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_preserved_bond_is_neither_changed_nor_removed(capsys, deployed, change, check):
    berlin = [side for side in hub_sides() if side["bond"] == "berlin"][0]
    spec_before, units_before = berlin_spec(deployed), dict(RecordingSystemd.units)
    result = run(capsys, deployed, CHANGES[change], check=check, preserve=["berlin"])
    touching = [line for line in result["kernel_changes"] + FakeKernel.applied
                if any(mark in line + " " for mark in berlin_marks(berlin))]
    assert touching == [] and not result["changed"]
    assert berlin_spec(deployed) == spec_before and RecordingSystemd.units == units_before
    assert RecordingSystemd.calls == [] and result["removed"] == [] and result["updated"] == []


def test_a_preserved_bond_that_was_never_deployed_is_not_created(capsys, host):
    sides = hub_sides()
    FakeKernel.interfaces = set(t["interface"] for side in sides for t in side["tunnels"])
    result = run(capsys, host, sides, preserve=["berlin"])
    assert berlin_spec(host) is None and [bond["bond"] for bond in result["bonds"]] == ["paris"]
    assert not any("berlin" in line for line in FakeKernel.applied)
    assert all("berlin" not in unit for _verb, units in RecordingSystemd.calls for unit in units)


def test_the_other_bonds_still_converge(capsys, deployed):
    sides = hub_sides(paris_tunnels=3)
    FakeKernel.interfaces.add("bo-paris-2")
    result = run(capsys, deployed, sides, preserve=["berlin"])
    assert result["updated"] == ["paris"] and result["preserved"] == ["berlin"]
    assert any("priority 5034 " in line + " " for line in FakeKernel.applied)


def test_a_warning_names_the_preserved_bond_and_its_peer(capsys, deployed):
    result = run(capsys, deployed, hub_sides(), preserve=["berlin"])
    texts = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    assert len(texts) == 1 and "bond 'berlin'" in texts[0] and "peer 'sp2'" in texts[0]


def test_without_preserve_a_bond_gone_from_the_plan_is_removed(capsys, deployed):
    result = run(capsys, deployed, CHANGES["gone from the plan"])
    assert result["removed"] == ["berlin"] and berlin_spec(deployed) is None
    assert "delete nftables table ip bonded_openvpn_berlin" in FakeKernel.applied
