# -*- coding: utf-8 -*-
"""kernel_sysctl against a fake /proc/sys: check mode, apply, idempotence in check mode,
idempotence; a read-only /proc/sys (a container) passes when values are right, fails naming
what to do when a required one is wrong, and only warns about a low advisory minimum."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.modules import kernel_sysctl

REQUIRED = {"net.ipv4.ip_forward": 1, "net.ipv4.conf.all.rp_filter": 2}
MINIMUMS = {"net.core.rmem_max": 4194304}


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake /proc/sys holding a fresh host's values, and where the sysctl.d file goes."""
    proc = tmp_path / "proc_sys"
    for name, value in (("net.ipv4.ip_forward", "0"), ("net.ipv4.conf.all.rp_filter", "1"),
                        ("net.core.rmem_max", "212992")):
        path = proc.joinpath(*name.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    monkeypatch.setattr(kernel_sysctl, "PROC_SYS", str(proc))
    monkeypatch.setattr(kernel_sysctl, "container_kind", lambda: None)
    monkeypatch.setattr(kernel_sysctl, "proc_sys_writable", lambda: True)
    return {"proc": proc, "file": tmp_path / "60-bonded-openvpn.conf"}


def make_read_only(monkeypatch, container="podman"):
    monkeypatch.setattr(kernel_sysctl, "container_kind", lambda: container)
    monkeypatch.setattr(kernel_sysctl, "proc_sys_writable", lambda: False)
    monkeypatch.setattr(kernel_sysctl, "predict_write", lambda name: "Read-only file system")


def value(host, name):
    return host["proc"].joinpath(*name.split(".")).read_text().strip()


def warnings(result):
    """Warning texts; ansible-core 2.19 wraps each in a WarningSummary."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def run(capsys, host, check=False, **args):
    params = {"sysctls": REQUIRED, "minimums": MINIMUMS, "path": str(host["file"]), "header": "# managed"}
    params.update(args)
    params.update({"_ansible_check_mode": check, "_ansible_diff": True})
    with patch_module_args(params):
        with pytest.raises(SystemExit) as exit_info:
            kernel_sysctl.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_check_mode_reports_changes_and_writes_nothing(capsys, host):
    code, result = run(capsys, host, check=True)
    assert code == 0 and result["changed"] is True
    assert result["sysctls"]["net.ipv4.ip_forward"]["state"] == "would_set"
    assert value(host, "net.ipv4.ip_forward") == "0"
    assert not host["file"].exists()


def test_apply_writes_differing_values_and_persists_all(capsys, host):
    code, result = run(capsys, host)
    assert code == 0 and result["changed"] is True
    assert [value(host, name) for name in ("net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter",
                                           "net.core.rmem_max")] == ["1", "2", "4194304"]
    assert host["file"].read_text() == (
        "# managed\n"
        "# Required by the bonded OpenVPN tunnels.\n"
        "net.ipv4.conf.all.rp_filter = 2\n"
        "net.ipv4.ip_forward = 1\n"
        "# Raised to at least what the OpenVPN instances ask for; never lowered here.\n"
        "net.core.rmem_max = 4194304\n")
    assert oct(os.stat(str(host["file"])).st_mode & 0o777) == "0o644"
    assert "net.ipv4.ip_forward = 0\n" in result["diff"][0]["before"]
    assert "net.ipv4.ip_forward = 1\n" in result["diff"][0]["after"]


def test_second_run_changes_nothing_in_check_mode_or_not(capsys, host):
    run(capsys, host)
    for check in (True, False):
        code, result = run(capsys, host, check=check)
        assert (code, result["changed"]) == (0, False)
        assert {entry["state"] for entry in result["sysctls"].values()} == {"ok"}


def test_a_minimum_is_never_lowered(capsys, host):
    host["proc"].joinpath("net", "core", "rmem_max").write_text("16777216\n")
    code, result = run(capsys, host)
    assert code == 0 and result["sysctls"]["net.core.rmem_max"]["state"] == "ok"
    assert value(host, "net.core.rmem_max") == "16777216"
    assert "net.core.rmem_max = 16777216\n" in host["file"].read_text()


def test_read_only_with_right_values_passes_unchanged(capsys, host, monkeypatch):
    run(capsys, host)
    make_read_only(monkeypatch)
    code, result = run(capsys, host)
    assert (code, result["changed"], result["read_only"], result["proc_sys_writable"]) == (0, False, [], False)


def test_read_only_with_a_wrong_required_value_fails_saying_how_to_fix(capsys, host, monkeypatch):
    make_read_only(monkeypatch)
    code, result = run(capsys, host)
    assert code == 1 and result["failed"] is True
    assert "net.ipv4.ip_forward is 0 but bonded OpenVPN needs 1" in result["msg"]
    assert "--sysctl net.ipv4.conf.all.rp_filter=2 --sysctl net.ipv4.ip_forward=1" in result["msg"]
    assert value(host, "net.ipv4.ip_forward") == "0" and not host["file"].exists()


def test_read_only_on_a_host_says_why_not_container_options(capsys, host, monkeypatch):
    make_read_only(monkeypatch, container=None)
    code, result = run(capsys, host, minimums={})
    assert code == 1
    assert "cannot be written here (Read-only file system)" in result["msg"]
    assert "--sysctl" not in result["msg"]


def test_read_only_with_a_low_minimum_only_warns(capsys, host, monkeypatch):
    host["proc"].joinpath("net", "ipv4", "ip_forward").write_text("1\n")
    host["proc"].joinpath("net", "ipv4", "conf", "all", "rp_filter").write_text("2\n")
    make_read_only(monkeypatch)
    code, result = run(capsys, host)
    assert code == 0 and result["read_only"] == ["net.core.rmem_max"]
    assert result["sysctls"]["net.core.rmem_max"]["after"] == "212992"
    assert any("net.core.rmem_max is 212992, below the minimum 4194304" in w and "on the container host" in w
               for w in warnings(result))
    assert "net.core.rmem_max = 4194304\n" in host["file"].read_text()


def test_a_sysctl_the_kernel_lacks_fails_when_required(capsys, host):
    code, result = run(capsys, host, sysctls={"net.ipv4.fib_multipath_hash_policy": 1})
    assert code == 1
    assert "net.ipv4.fib_multipath_hash_policy does not exist on this kernel" in result["msg"]


def test_a_sysctl_the_kernel_lacks_only_warns_when_advisory(capsys, host):
    code, result = run(capsys, host, minimums={"net.core.optmem_max": 1})
    assert code == 0
    assert any("net.core.optmem_max does not exist" in w for w in warnings(result))
    assert "optmem_max" not in host["file"].read_text()


@pytest.mark.parametrize("args, message", [
    ({"sysctls": {"../etc/passwd": 1}}, "is not a sysctl name"),
    ({"sysctls": {"net.core.rmem_max": 1}}, "given in both sysctls and minimums"),
    ({"minimums": {"net.core.rmem_max": "lots"}}, "must be an integer"),
    ({"header": "not a comment"}, "every line must be a comment"),
])
def test_bad_arguments_are_named(capsys, host, args, message):
    code, result = run(capsys, host, **args)
    assert code == 1 and message in result["msg"]


def test_the_persisted_file_is_world_readable_whatever_the_umask_and_leaves_no_temporary(capsys, host):
    old_umask = os.umask(0o077)
    try:
        code, _result = run(capsys, host)
    finally:
        os.umask(old_umask)
    assert code == 0 and oct(os.stat(str(host["file"])).st_mode & 0o777) == oct(0o644)
    assert sorted(os.listdir(str(host["file"].parent))) == ["60-bonded-openvpn.conf", "proc_sys"]


def test_a_missing_sysctl_directory_is_made_as_on_a_minimal_debian_13(capsys, host, tmp_path):
    target = tmp_path / "etc" / "sysctl.d" / "60-bonded-openvpn.conf"
    code, result = run(capsys, host, path=str(target))
    assert code == 0 and result["changed"] is True
    assert "net.ipv4.ip_forward = 1\n" in target.read_text()
    assert oct(os.stat(str(target.parent)).st_mode & 0o777) == "0o755"
