"""tunnel_instances against a temporary tree and a recording stand-in for systemctl:
check mode, apply, idempotence; growing N touches only new tunnels; shrinking removes."""
import grp
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.module_utils.plan import build_plan, host_sides
from ansible_collections.bonded.openvpn.plugins.modules import tunnel_instances

GROUP = grp.getgrgid(os.getgid()).gr_name


class RecordingSystemd(object):
    """Keeps unit states in memory; records every batch the module asks for."""
    units = {}
    calls = []

    def __init__(self, module):
        self.module = module

    def show(self, units):
        return dict((u, RecordingSystemd.units.get(u, {"ActiveState": "inactive", "UnitFileState": "disabled"}))
                    for u in units)

    def run(self, verb, units, *flags):
        if not units or self.module.check_mode:
            return
        RecordingSystemd.calls.append((verb, sorted(units)))
        for unit in units:
            state = RecordingSystemd.units.setdefault(unit, {"ActiveState": "inactive", "UnitFileState": "disabled"})
            if verb == "enable":
                state["UnitFileState"] = "enabled"
            elif verb in ("start", "restart"):
                state["ActiveState"] = "active"
            elif verb == "disable":
                state.update(ActiveState="inactive", UnitFileState="disabled")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    RecordingSystemd.units, RecordingSystemd.calls = {}, []
    monkeypatch.setattr(tunnel_instances, "SystemdUnits", RecordingSystemd)
    monkeypatch.setattr(os, "chown", lambda *args: None)
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity" / "host.crt").write_text("not checked here\n")
    (tmp_path / "bonds" / "lab").mkdir(parents=True)
    (tmp_path / "bonds" / "lab" / "tls-crypt.key").write_text("server key\n")
    return tmp_path


def sides(tunnels):
    bonds = [{"name": "lab", "id": 1, "server": "s", "client": "c", "tunnels": tunnels, "port": 1194}]
    return host_sides(build_plan(bonds, None, {"s": "s", "c": "c"}), "s")


def run(capsys, tree, tunnels, check=False):
    args = {"sides": sides(tunnels), "peer_fingerprints": {"lab": "AA:BB"}, "config_dir": str(tree),
            "group": GROUP, "_ansible_check_mode": check, "_ansible_diff": True}
    RecordingSystemd.calls = []
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            tunnel_instances.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0, result
    return result


def configs(tree):
    return sorted(os.listdir(str(tree / "instances")))


def test_check_mode_reports_every_new_instance_and_writes_nothing(capsys, tree):
    result = run(capsys, tree, 3, check=True)
    assert result["changed"] and result["created"] == ["lab-0", "lab-1", "lab-2"]
    assert not (tree / "instances").exists() and RecordingSystemd.calls == []


def test_apply_writes_every_config_and_starts_units_in_one_batch_each(capsys, tree):
    run(capsys, tree, 3)
    assert configs(tree) == ["lab-0.conf", "lab-1.conf", "lab-2.conf"]
    units = ["bonded-openvpn@lab-%d.service" % k for k in range(3)]
    assert RecordingSystemd.calls == [("enable", units), ("start", units)]


def test_rerun_changes_nothing_in_check_mode_or_for_real(capsys, tree):
    run(capsys, tree, 3)
    assert not run(capsys, tree, 3, check=True)["changed"]
    assert not run(capsys, tree, 3)["changed"] and RecordingSystemd.calls == []


def test_growing_n_starts_only_the_new_tunnels(capsys, tree):
    run(capsys, tree, 2)
    result = run(capsys, tree, 4)
    assert result["created"] == ["lab-2", "lab-3"] and result["restarted"] == []
    assert all("lab-0" not in " ".join(units) for _, units in RecordingSystemd.calls)


def test_shrinking_n_stops_disables_and_deletes_the_extra_tunnels(capsys, tree):
    run(capsys, tree, 4)
    result = run(capsys, tree, 2)
    assert result["removed"] == ["lab-2", "lab-3"]
    assert ("disable", ["bonded-openvpn@lab-2.service", "bonded-openvpn@lab-3.service"]) in RecordingSystemd.calls
    assert configs(tree) == ["lab-0.conf", "lab-1.conf"]


def test_a_changed_key_restarts_exactly_the_instances_that_use_it(capsys, tree):
    run(capsys, tree, 2)
    (tree / "bonds" / "lab" / "tls-crypt.key").write_text("rotated key\n")
    result = run(capsys, tree, 2)
    assert result["restarted"] == ["lab-0", "lab-1"]


def test_a_bond_this_host_no_longer_plays_is_removed_with_its_key(capsys, tree):
    run(capsys, tree, 2)
    args = {"sides": [], "peer_fingerprints": {}, "config_dir": str(tree), "group": GROUP, "_ansible_diff": True}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            tunnel_instances.main()
    result = json.loads(capsys.readouterr().out)
    assert result["removed"] == ["lab-0", "lab-1"]
    assert configs(tree) == [] and not (tree / "bonds" / "lab").exists()
