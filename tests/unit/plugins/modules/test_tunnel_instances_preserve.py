"""tunnel_instances with preserve: a preserved bond's configs, keys and units are not
created, changed, restarted or removed, in check mode and for real, whatever the plan now
says about it; the other bonds converge as usual."""
import grp
import hashlib
import os

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides
from ansible_collections.bonded.openvpn.plugins.modules import tunnel_instances

from module_run import run_module

from instance_tree import make_tree
from systemd_fake import RecordingSystemd

GROUP = grp.getgrgid(os.getgid()).gr_name
HUB = "hub"


def hub_sides(berlin_tunnels=2, paris_tunnels=2):
    bonds = [{"name": "paris", "id": 1, "server": HUB, "client": "sp1", "tunnels": paris_tunnels, "port": 1194},
             {"name": "berlin", "id": 2, "server": HUB, "client": "sp2", "tunnels": berlin_tunnels, "port": 1294}]
    return host_sides(build_plan(bonds, None, {HUB: HUB, "sp1": "sp1", "sp2": "sp2"}), HUB)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    return make_tree(tmp_path, monkeypatch, dict((bond, "%s key\n" % bond) for bond in ("paris", "berlin")))


def run(capsys, tree, sides, check=False, preserve=None, fingerprints=None):
    args = {"sides": sides, "peer_fingerprints": fingerprints or {"paris": "AA:01", "berlin": "BB:02"},
            "config_dir": str(tree), "group": GROUP, "_ansible_check_mode": check, "_ansible_diff": True}
    if preserve is not None:
        args["preserve"] = preserve
    RecordingSystemd.calls = []
    return run_module(capsys, tunnel_instances.main, args)


def berlin_files(tree):
    """Every file of bond berlin with its content digest."""
    found = {}
    for directory in (tree / "instances", tree / "bonds" / "berlin"):
        for name in sorted(os.listdir(str(directory))) if directory.exists() else []:
            if directory.name == "instances" and not name.startswith("berlin-"):
                continue
            found[name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()
    return found


def berlin_calls():
    return [(verb, units) for verb, units in RecordingSystemd.calls if any("berlin" in unit for unit in units)]


@pytest.fixture
def deployed(capsys, tree):
    run(capsys, tree, hub_sides())
    assert sorted(berlin_files(tree)) == ["berlin-0.conf", "berlin-1.conf", "tls-crypt.key"]
    return tree


# What the plan may say about a preserved bond: still there but changed (N, peer certificate), or gone.
CHANGES = {
    "more tunnels": dict(sides=hub_sides(berlin_tunnels=4)),
    "fewer tunnels": dict(sides=hub_sides(berlin_tunnels=1)),
    "new peer certificate": dict(sides=hub_sides(), fingerprints={"paris": "AA:01", "berlin": "CC:03"}),
    "no peer certificate": dict(sides=hub_sides(), fingerprints={"paris": "AA:01"}),
    "gone from the plan": dict(sides=[side for side in hub_sides() if side["bond"] != "berlin"]),
}


@pytest.mark.parametrize("check", [True, False], ids=["check", "apply"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_preserved_bond_is_neither_changed_restarted_nor_removed(capsys, deployed, change, check):
    before = berlin_files(deployed)
    units_before = dict((u, dict(s)) for u, s in RecordingSystemd.units.items() if "berlin" in u)
    result = run(capsys, deployed, check=check, preserve=["berlin"], **CHANGES[change])
    assert berlin_files(deployed) == before
    assert berlin_calls() == []
    assert dict((u, s) for u, s in RecordingSystemd.units.items() if "berlin" in u) == units_before
    assert not result["changed"] and result["removed"] == [] and result["restarted"] == []
    assert all(not entry["instance"].startswith("berlin-") for entry in result["instances"])


def test_a_preserved_bond_that_was_never_deployed_is_not_created(capsys, tree):
    result = run(capsys, tree, hub_sides(), preserve=["berlin"])
    assert berlin_files(tree) == {"tls-crypt.key": hashlib.sha256(b"berlin key\n").hexdigest()}
    assert berlin_calls() == [] and result["created"] == ["paris-0", "paris-1"]


def test_the_other_bonds_still_converge(capsys, deployed):
    result = run(capsys, deployed, hub_sides(paris_tunnels=3), preserve=["berlin"])
    assert result["created"] == ["paris-2"] and result["preserved"] == ["berlin"]
    assert ("start", ["bonded-openvpn@paris-2.service"]) in RecordingSystemd.calls


def test_a_warning_names_the_preserved_bond_and_its_peer(capsys, deployed):
    result = run(capsys, deployed, hub_sides(), preserve=["berlin"])
    texts = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    assert len(texts) == 1 and "bond 'berlin'" in texts[0] and "peer 'sp2'" in texts[0]


def test_without_preserve_the_same_change_removes_the_bond(capsys, deployed):
    result = run(capsys, deployed, CHANGES["gone from the plan"]["sides"])
    assert result["removed"] == ["berlin-0", "berlin-1"] and berlin_files(deployed) == {}
