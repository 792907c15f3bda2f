"""tunnel_instances against a temporary tree and a recording stand-in for systemctl:
check mode, apply, idempotence; growing N touches only new tunnels; shrinking removes."""
import grp
import hashlib
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides
from ansible_collections.bonded.openvpn.plugins.modules import tunnel_instances

from module_run import run_module

from instance_tree import make_tree
from systemd_fake import RecordingSystemd

GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def tree(tmp_path, monkeypatch):
    return make_tree(tmp_path, monkeypatch, {"lab": "server key\n"})


def sides(tunnels, server_address="s"):
    bonds = [{"name": "lab", "id": 1, "server": "s", "client": "c", "tunnels": tunnels, "port": 1194}]
    return host_sides(build_plan(bonds, None, {"s": server_address, "c": "c"}), "s")


def run(capsys, tree, tunnels, check=False, rc=0, server_address="s"):
    args = {"sides": sides(tunnels, server_address), "peer_fingerprints": {"lab": "AA:BB"}, "config_dir": str(tree),
            "group": GROUP, "_ansible_check_mode": check, "_ansible_diff": True}
    RecordingSystemd.calls = []
    return run_module(capsys, tunnel_instances.main, args, rc)


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
    assert all("lab-0" not in " ".join(units) for dummy, units in RecordingSystemd.calls)


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


UNIT0 = "bonded-openvpn@lab-0.service"
UNIT1 = "bonded-openvpn@lab-1.service"


def rotate_key(tree):
    (tree / "bonds" / "lab" / "tls-crypt.key").write_text("rotated key\n")


def leftovers(tree):
    return [str(path) for path in tree.rglob("*.tmp")]


def a_restart_fails(capsys, tree, unit, how):
    """Deploys 2 tunnels, changes both configs, and makes ``unit``'s restart fail ``how``
    once; returns the failed run's result."""
    run(capsys, tree, 2)
    rotate_key(tree)
    RecordingSystemd.failures = {unit: how}
    failed = run(capsys, tree, 2, rc=1)
    RecordingSystemd.failures = {}
    return failed


@pytest.mark.parametrize("failure", ["crash", "refused"])
def test_an_instance_whose_restart_failed_is_restarted_by_the_next_run(capsys, tree, failure):
    failed = a_restart_fails(capsys, tree, UNIT1, failure)
    assert failed["failed_instances"] == ["lab-1"]
    assert "lab-1" in failed["msg"] and "re-run" in failed["msg"]
    config = (tree / "instances" / "lab-1.conf").read_bytes()
    assert (tree / "applied" / "lab-1.sha256").read_text().strip() != hashlib.sha256(config).hexdigest()
    repaired = run(capsys, tree, 2)
    assert repaired["changed"] and repaired["restarted"] == ["lab-1"]
    assert ("restart", [UNIT1]) in RecordingSystemd.calls
    assert not run(capsys, tree, 2)["changed"]


def test_the_instances_that_did_restart_are_not_restarted_again(capsys, tree):
    a_restart_fails(capsys, tree, UNIT1, "refused")
    assert run(capsys, tree, 2)["restarted"] == ["lab-1"]


def test_a_run_cut_off_between_writing_and_restarting_is_finished_by_the_next(capsys, tree):
    run(capsys, tree, 2)
    rotate_key(tree)
    RecordingSystemd.failures = {UNIT0: "lost", UNIT1: "lost"}
    with patch_module_args({"sides": sides(2), "peer_fingerprints": {"lab": "AA:BB"}, "config_dir": str(tree),
                            "group": GROUP}):
        with pytest.raises(KeyboardInterrupt):
            tunnel_instances.main()
    new_config = (tree / "instances" / "lab-0.conf").read_bytes()
    assert hashlib.sha256(b"rotated key\n").hexdigest().encode() in new_config
    assert (tree / "applied" / "lab-0.sha256").read_text().strip() != hashlib.sha256(new_config).hexdigest()
    RecordingSystemd.failures = {}
    repaired = run(capsys, tree, 2)
    assert repaired["restarted"] == ["lab-0", "lab-1"] and not leftovers(tree)


def test_check_mode_reports_a_pending_restart_and_records_nothing(capsys, tree):
    a_restart_fails(capsys, tree, UNIT0, "refused")
    recorded = (tree / "applied" / "lab-0.sha256").read_text()
    checked = run(capsys, tree, 2, check=True)
    assert checked["changed"] and checked["restarted"] == ["lab-0"]
    assert (tree / "applied" / "lab-0.sha256").read_text() == recorded


def test_a_config_edited_and_applied_by_hand_is_put_back_and_restarted(capsys, tree):
    run(capsys, tree, 1)
    path = tree / "instances" / "lab-0.conf"
    path.write_text(path.read_text().replace("verb 3", "verb 9"))
    assert run(capsys, tree, 1)["restarted"] == ["lab-0"]
    assert "verb 3" in path.read_text()


def test_stray_entries_are_reported_and_do_not_block_the_repair(capsys, tree):
    a_restart_fails(capsys, tree, UNIT1, "crash")
    (tree / "bonds" / "README").write_text("a stray regular file\n")
    (tree / "bonds" / "old" / "keep").mkdir(parents=True)
    (tree / "bonds" / "old" / "tls-crypt.key").write_text("key of a removed bond\n")
    (tree / "instances" / "notes.txt").write_text("not a config\n")
    (tree / "instances" / "lab-9.conf").mkdir()
    result = run(capsys, tree, 2)
    assert result["restarted"] == ["lab-1"]
    warnings = json.dumps(result["warnings"])
    for stray in ("bonds/README", "bonds/old/keep", "instances/notes.txt", "instances/lab-9.conf"):
        assert stray in warnings
    assert (tree / "bonds" / "README").exists() and (tree / "bonds" / "old" / "keep").is_dir()
    assert not (tree / "bonds" / "old" / "tls-crypt.key").exists()


def test_a_directory_where_a_config_belongs_fails_before_any_change(capsys, tree):
    (tree / "instances" / "lab-1.conf").mkdir(parents=True)
    result = run(capsys, tree, 2, rc=1)
    assert "instance lab-1" in result["msg"] and "(no instance was changed)" in result["msg"]
    assert not (tree / "instances" / "lab-0.conf").exists() and RecordingSystemd.calls == []


def test_an_ipv6_underlay_on_a_kernel_without_ipv6_fails_before_any_change(capsys, tree, monkeypatch):
    monkeypatch.setattr(tunnel_instances, "IPV6_PROC", str(tree / "no-such-file"))
    result = run(capsys, tree, 2, server_address="2001:db8::1", rc=1)
    assert result["msg"].startswith("bond 'lab': the underlay is IPv6, but this host's kernel has no IPv6")
    assert "(no instance was changed)" in result["msg"]
    assert not (tree / "instances").exists() and RecordingSystemd.calls == []
    # An IPv4 bond does not care.
    assert run(capsys, tree, 2)["changed"]


def test_an_ipv6_underlay_on_a_kernel_with_ipv6_is_written(capsys, tree, monkeypatch):
    (tree / "if_inet6").write_text("")
    monkeypatch.setattr(tunnel_instances, "IPV6_PROC", str(tree / "if_inet6"))
    run(capsys, tree, 2, server_address="2001:db8::1")
    assert "proto udp6\n" in (tree / "instances" / "lab-0.conf").read_text()


def test_configs_are_written_with_their_mode_and_no_temporary_files(capsys, tree):
    run(capsys, tree, 2)
    assert oct(os.stat(str(tree / "instances" / "lab-0.conf")).st_mode & 0o777) == oct(0o640)
    assert oct(os.stat(str(tree / "applied" / "lab-0.sha256")).st_mode & 0o777) == oct(0o640)
    assert not leftovers(tree)


def test_removed_instances_leave_no_record_behind(capsys, tree):
    run(capsys, tree, 3)
    run(capsys, tree, 1)
    assert sorted(os.listdir(str(tree / "applied"))) == ["lab-0.sha256"]
    with patch_module_args({"sides": [], "peer_fingerprints": {}, "config_dir": str(tree), "group": GROUP}):
        with pytest.raises(SystemExit):
            tunnel_instances.main()
    assert not (tree / "applied").exists()


def test_a_record_whose_instance_has_no_config_any_more_is_dropped(capsys, tree):
    run(capsys, tree, 1)
    (tree / "applied" / "lab-7.sha256").write_text("0" * 64 + "\n")
    run(capsys, tree, 1)
    assert sorted(os.listdir(str(tree / "applied"))) == ["lab-0.sha256"]
