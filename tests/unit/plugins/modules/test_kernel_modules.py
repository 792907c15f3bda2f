# -*- coding: utf-8 -*-
"""kernel_modules: built-in support is recognised where modules cannot be loaded, a missing
required module fails saying why, and a probe never loads or fails."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.modules import kernel_modules


@pytest.fixture
def no_module_support(tmp_path, monkeypatch):
    """A kernel like the lab's: no /proc/modules, tun built in, no DCO."""
    misc = tmp_path / "misc_tun"
    misc.mkdir()
    device = tmp_path / "tun_device"
    device.write_text("")
    monkeypatch.setattr(kernel_modules, "PROC_MODULES", str(tmp_path / "absent"))
    monkeypatch.setattr(kernel_modules, "SYS_MODULE", str(tmp_path / "sys_module"))
    monkeypatch.setattr(kernel_modules, "MISC_DEVICES", {"tun": str(misc)})
    monkeypatch.setattr(kernel_modules, "DEVICE_NODES", {"tun": str(device)})
    monkeypatch.setattr(kernel_modules, "builtin_modules", set)
    monkeypatch.setattr(kernel_modules, "genl_family_exists", lambda family: False)
    monkeypatch.setattr(kernel_modules, "container_kind", lambda: None)
    return {"device": device}


def run(capsys, modules, check=False):
    with patch_module_args({"modules": modules, "_ansible_check_mode": check}):
        with pytest.raises(SystemExit) as exit_info:
            kernel_modules.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_built_in_tun_passes_where_modules_cannot_be_loaded(capsys, no_module_support):
    code, result = run(capsys, [{"name": "tun"}, {"name": "ovpn", "alternatives": ["ovpn_dco_v2"], "state": "probe"}])
    assert (code, result["changed"], result["loadable"]) == (0, False, False)
    assert "is absent" in result["reason"]
    assert result["modules"]["tun"]["how"] == "builtin"
    assert result["modules"]["ovpn"] == {"available": False, "module": None, "how": "missing",
                                         "device": None, "device_error": None}


def test_required_dco_that_cannot_be_loaded_fails_saying_why(capsys, no_module_support):
    code, result = run(capsys, [{"name": "ovpn", "alternatives": ["ovpn_dco_v2"]}])
    assert code == 1
    assert "the kernel does not provide ovpn or ovpn_dco_v2" in result["msg"]
    assert "modules cannot be loaded on this host" in result["msg"]


def test_a_dco_generic_netlink_family_counts_as_built_in(capsys, no_module_support, monkeypatch):
    monkeypatch.setattr(kernel_modules, "genl_family_exists", lambda family: family == "ovpn-dco-v2")
    code, result = run(capsys, [{"name": "ovpn", "alternatives": ["ovpn_dco_v2"]}])
    assert code == 0 and result["modules"]["ovpn"]["module"] == "ovpn_dco_v2"


def test_tun_without_its_device_fails_naming_the_device(capsys, no_module_support):
    no_module_support["device"].unlink()
    code, result = run(capsys, [{"name": "tun"}])
    assert code == 1 and "tun_device" in result["msg"] and "No such file" in result["msg"]


def test_a_loadable_host_loads_with_modprobe(capsys, no_module_support, tmp_path, monkeypatch):
    proc_modules = tmp_path / "modules"
    proc_modules.write_text("nf_tables 1 0 - Live 0x0\n")
    monkeypatch.setattr(kernel_modules, "PROC_MODULES", str(proc_modules))
    monkeypatch.setattr(kernel_modules, "MISC_DEVICES", {})
    calls = []

    def fake_run_command(self, argv, **kwargs):
        calls.append(argv)
        return 0, "", ""
    monkeypatch.setattr(kernel_modules.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/sbin/modprobe")
    monkeypatch.setattr(kernel_modules.AnsibleModule, "run_command", fake_run_command)
    code, result = run(capsys, [{"name": "tun"}], check=True)
    assert (code, result["changed"], result["modules"]["tun"]["how"]) == (0, True, "would_load")
    assert calls == [["/sbin/modprobe", "--dry-run", "--", "tun"]]
    code, result = run(capsys, [{"name": "tun"}])
    assert (code, result["modules"]["tun"]["how"]) == (0, "loaded_now")
    assert calls[-1] == ["/sbin/modprobe", "--", "tun"]


def fake_openvpn(tmp_path, recording):
    """An executable that prints an `openvpn --version` recorded in the lab."""
    source = tmp_path / "recorded.txt"
    outputs = os.path.join(os.path.dirname(__file__), "..", "module_utils", "_host", "dco_outputs")
    with open(os.path.join(outputs, recording)) as handle:
        source.write_text(handle.read())
    binary = tmp_path / "openvpn"
    binary.write_text("#!/bin/sh\ncat '%s'\n" % source)
    binary.chmod(0o755)
    return str(binary)


def run_dco(capsys, binary):
    with patch_module_args({"modules": [{"name": "ovpn", "alternatives": ["ovpn_dco_v2"], "state": "probe"}],
                            "openvpn": binary}):
        with pytest.raises(SystemExit):
            kernel_modules.main()
    return json.loads(capsys.readouterr().out)["dco"]


def test_dco_unavailable_on_the_lab_kernel_says_why(capsys, no_module_support, tmp_path):
    dco = run_dco(capsys, fake_openvpn(tmp_path, "openvpn-2.7.8-trixie-backports.txt"))
    assert (dco["possible"], dco["openvpn"], dco["modules"]) == (False, "2.7.8", [])
    assert "no DCO module" in dco["reason"] and "modules cannot be loaded on this host" in dco["reason"]


def test_dco_possible_when_the_version_meets_its_module(capsys, no_module_support, tmp_path):
    (tmp_path / "sys_module" / "ovpn_dco_v2").mkdir(parents=True)
    dco = run_dco(capsys, fake_openvpn(tmp_path, "openvpn-2.6.14-trixie.txt"))
    assert (dco["possible"], dco["module"], dco["reason"]) == (True, "ovpn_dco_v2", None)


def test_dco_not_possible_when_the_module_is_the_other_one(capsys, no_module_support, tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_modules, "genl_family_exists", lambda family: family == "ovpn")
    dco = run_dco(capsys, fake_openvpn(tmp_path, "openvpn-2.6.14-trixie.txt"))
    assert dco["possible"] is False and "needs the ovpn_dco_v2 module, but the kernel has ovpn" in dco["reason"]


def test_dco_without_openvpn_says_it_is_not_installed(capsys, no_module_support, tmp_path):
    dco = run_dco(capsys, str(tmp_path / "absent"))
    assert dco["possible"] is False and "not installed" in dco["reason"]
