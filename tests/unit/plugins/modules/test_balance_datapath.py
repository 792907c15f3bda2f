import os

import pytest
import yaml

from ansible_collections.bonded.openvpn.plugins.module_utils import balance_spec as bspec
from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath as module

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
ROLE = os.path.join(ROOT, "roles", "bonded_openvpn_balance")
SPEC = {"bond": "paris", "id": 1, "role": "client", "balance": "packet", "snat": False,
        "local_bundle": "10.255.1.253", "peer_bundle": "10.255.1.254", "local_networks": [],
        "peer_networks": ["192.168.1.0/24"], "version": 1, "tunnels": [], "probe": dict(bspec.PROBE_DEFAULTS)}


class FakeModule(object):
    def __init__(self, tmp_path, check_mode=False):
        self.check_mode = check_mode
        self.params = {"lib_dir": str(tmp_path / "lib"), "config_dir": str(tmp_path / "etc"),
                       "run_dir": str(tmp_path / "run"), "managed_marker": "Ansible managed"}
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **result):
        raise AssertionError(result["msg"])


def test_the_watchdog_gets_the_very_code_the_module_runs(tmp_path):
    files = module.Files(FakeModule(tmp_path))
    assert module.install_engine(files, files.module.params)
    package = tmp_path / "lib" / module.PACKAGE
    source = open(module.render.__file__).read()
    assert (package / "balance_render.py").read_text() == "# Ansible managed\n" + source
    assert sorted(os.listdir(str(package))) == sorted(
        ["__init__.py"] + [engine.__name__.rsplit(".", 1)[1] + ".py" for engine in module.ENGINE])
    assert not module.install_engine(files, files.module.params)


def test_check_mode_writes_nothing_but_reports_the_change(tmp_path):
    files = module.Files(FakeModule(tmp_path, check_mode=True))
    assert module.install_engine(files, files.module.params)
    assert not (tmp_path / "lib").exists()
    assert files.diffs and files.diffs[0]["after"].startswith("sha256 ")


def test_code_files_the_module_no_longer_ships_are_removed(tmp_path):
    files = module.Files(FakeModule(tmp_path))
    module.install_engine(files, files.module.params)
    old = tmp_path / "lib" / module.PACKAGE / "balance_old.py"
    old.write_text("")
    assert module.install_engine(files, files.module.params) and not old.exists()


def test_deployed_specs_are_found_and_unreadable_ones_marked_for_removal(tmp_path):
    fake = FakeModule(tmp_path)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "paris.conf").write_text(bspec.dump(SPEC, "m"))
    (tmp_path / "etc" / "broken.conf").write_text("# m\n{")
    found = module.deployed_specs(fake, fake.params["config_dir"])
    assert found == {"paris": SPEC, "broken": None}
    assert "broken.conf" in fake.warnings[0]


def test_two_bonds_may_not_route_the_same_destination_from_one_host(tmp_path):
    other = dict(SPEC, bond="berlin", peer_bundle="10.255.2.254")
    with pytest.raises(AssertionError, match="bonds 'berlin' and 'paris' both route 192.168.1.0/24"):
        module.check_overlaps(FakeModule(tmp_path), {"paris": SPEC, "berlin": other})


def test_the_role_passes_every_probe_setting_to_the_module():
    with open(os.path.join(ROLE, "tasks", "main.yml")) as handle:
        tasks = yaml.safe_load(handle)
    call = [task for task in tasks if "bonded.openvpn.balance_datapath" in task][0]["bonded.openvpn.balance_datapath"]
    assert sorted(call["probe"]) == sorted(bspec.PROBE_DEFAULTS)
