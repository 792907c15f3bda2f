import copy
import json
import os
import re

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._host import remotes
from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath as module

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

from module_run import run_module

import balance_host
from balance_host import FakeKernel, FakeSystemd, stand_in
from lock_probe import is_held

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
ROLE = os.path.join(ROOT, "roles", "bonded_openvpn_balance")
SPEC = {"bond": "paris", "id": 1, "role": "client", "balance": "packet", "snat": False,
        "local_bundle": "10.255.1.253", "peer_bundle": "10.255.1.254", "local_networks": [],
        "peer_networks": ["192.168.1.0/24"], "version": 1, "tunnels": [], "probe": dict(layout.PROBE_DEFAULTS)}


class FakeModule(object):
    def __init__(self, tmp_path, check_mode=False):
        self.check_mode = check_mode
        self.params = {"lib_dir": str(tmp_path / "lib"), "config_dir": str(tmp_path / "etc"),
                       "run_dir": str(tmp_path / "run"), "managed_marker": "Ansible managed"}
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def atomic_move(self, src, dest, unsafe_writes=False, keep_dest_attrs=True):
        os.rename(src, dest)

    def fail_json(self, **result):
        raise AssertionError(result["msg"])


def test_the_watchdog_gets_the_very_code_the_module_runs(tmp_path):
    files = module.Files(FakeModule(tmp_path))
    assert module.install_engine(files, files.module.params)
    package = tmp_path / "lib" / module.PACKAGE
    source = open(module.render.__file__).read()
    assert (package / "render.py").read_text() == "# Ansible managed\n" + source
    engine = os.path.dirname(module.render.__file__)
    assert sorted(os.listdir(str(package))) == sorted(name for name in os.listdir(engine) if name.endswith(".py"))
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
    assert sorted(call["probe"]) == sorted(layout.PROBE_DEFAULTS)


# Whole runs against a stand-in host (balance_host.py): failures injected halfway must
# leave the host as it was, with every watchdog that ran running again.

BOND = {"name": "paris", "id": 1, "server": "hq", "client": "gw", "tunnels": 4, "port": 1194,
        "weights": [3, 1, 1, 1], "server_networks": ["192.168.1.0/24"], "client_networks": ["192.168.10.0/24"]}
CLIENT_SIDE = host_sides(build_plan([BOND], None, {"hq": "203.0.113.10", "gw": "203.0.113.20"}), "gw")[0]
INTERFACES = sorted(tunnel["interface"] for tunnel in CLIENT_SIDE["tunnels"])


def _host_side(**changes):
    side = copy.deepcopy(CLIENT_SIDE)
    side.update(changes)
    for tunnel, weight in zip(side["tunnels"], side["weights"]):
        tunnel["weight"] = weight
    return side


@pytest.fixture
def host(tmp_path, monkeypatch):
    return stand_in(module, tmp_path, monkeypatch, INTERFACES)


def converge(capsys, host, sides, check=False, rc=0):
    return balance_host.converge(module, capsys, host, sides, check, rc)


def snapshot(host):
    """Everything a run may change: files with their modes, kernel objects, unit states."""
    files = {}
    for path in sorted(host.root.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(host.root))] = (path.read_bytes(), oct(path.stat().st_mode & 0o777))
    return files, host.state(), copy.deepcopy(FakeSystemd.units)


WATCHDOG = "bonded-openvpn-watchdog@paris.service"


def test_a_converged_host_is_left_alone_by_a_rerun_in_check_mode_and_for_real(capsys, host):
    first = converge(capsys, host, [_host_side()])
    assert first["changed"] and FakeSystemd.units[WATCHDOG]["ActiveState"] == "active"
    assert not converge(capsys, host, [_host_side()], check=True)["changed"]
    assert not converge(capsys, host, [_host_side()])["changed"] and FakeSystemd.calls == []


@pytest.mark.parametrize("failure", ["nft", "ip-batch"])
def test_a_spec_change_that_fails_to_apply_restores_the_host_and_restarts_the_watchdog(capsys, host, failure):
    converge(capsys, host, [_host_side()])
    before = snapshot(host)
    host.fail[failure] = "Error: Could not process rule: No such file or directory"
    result = converge(capsys, host, [_host_side(weights=[1, 1, 1, 1], peer_networks=["192.168.2.0/24"])], rc=1)
    assert "bonds 'paris'" in result["msg"] and "Could not process rule" in result["msg"]
    assert "as it was before this run" in result["msg"] and "re-run" in result["msg"]
    assert ("stop", [WATCHDOG]) in FakeSystemd.calls and FakeSystemd.calls[-1] == ("start", [WATCHDOG])
    assert snapshot(host) == before
    del host.fail[failure]
    repaired = converge(capsys, host, [_host_side(weights=[1, 1, 1, 1], peer_networks=["192.168.2.0/24"])])
    assert repaired["changed"] and repaired["updated"] == ["paris"]
    assert "192.168.2.0/24" in host.nft[("ip", "bonded_openvpn_paris")]


def test_a_new_bond_that_fails_to_apply_leaves_no_trace(capsys, host):
    before = snapshot(host)
    host.fail["nft"] = "Error: syntax error"
    result = converge(capsys, host, [_host_side()], rc=1)
    assert "syntax error" in result["msg"]
    assert snapshot(host)[1:] == before[1:] and not (host.root / "etc" / "paris.conf").exists()
    assert not (host.root / "lib" / module.PACKAGE / "render.py").exists()
    assert FakeSystemd.units.get(WATCHDOG, {}).get("ActiveState") != "active"


def test_a_watchdog_that_fails_to_start_brings_back_the_previous_spec(capsys, host):
    converge(capsys, host, [_host_side()])
    before = snapshot(host)
    FakeSystemd.fail["start"] = "systemctl start %s failed: exit status 1" % WATCHDOG
    result = converge(capsys, host, [_host_side(weights=[1, 1, 1, 1])], rc=1)
    assert "Restoring the previous state was incomplete" in result["msg"]
    del FakeSystemd.fail["start"]
    assert snapshot(host)[:2] == before[:2]
    assert converge(capsys, host, [_host_side(weights=[1, 1, 1, 1])])["changed"]
    assert FakeSystemd.units[WATCHDOG]["ActiveState"] == "active"


def test_a_run_cut_off_while_applying_is_finished_by_the_next(capsys, host):
    converge(capsys, host, [_host_side()])
    host.crash = "nft"
    with patch_module_args({"sides": [_host_side(weights=[1, 1, 1, 1])], "config_dir": str(host.root / "etc"),
                            "run_dir": str(host.root / "run"), "lib_dir": str(host.root / "lib")}):
        with pytest.raises(KeyboardInterrupt):
            module.main()
    assert FakeSystemd.units[WATCHDOG]["ActiveState"] == "inactive"  # what a killed run leaves
    host.crash = None
    repaired = converge(capsys, host, [_host_side(weights=[1, 1, 1, 1])])
    assert repaired["changed"] and repaired["kernel_changes"]
    assert FakeSystemd.units[WATCHDOG]["ActiveState"] == "active"
    assert not converge(capsys, host, [_host_side(weights=[1, 1, 1, 1])])["changed"]


def test_a_removed_bond_whose_removal_fails_gets_its_spec_and_watchdog_back(capsys, host):
    converge(capsys, host, [_host_side()])
    before = snapshot(host)
    host.fail["nft"] = "Error: Device or resource busy"
    result = converge(capsys, host, [], rc=1)
    assert "bonds 'paris'" in result["msg"] and "Device or resource busy" in result["msg"]
    assert snapshot(host) == before and FakeSystemd.units[WATCHDOG]["UnitFileState"] == "enabled"


def test_files_are_written_with_their_modes_and_no_temporary_files(capsys, host):
    converge(capsys, host, [_host_side()])
    assert oct((host.root / "etc" / "paris.conf").stat().st_mode & 0o777) == oct(0o644)
    assert not list(host.root.rglob("*.tmp"))


@pytest.mark.parametrize("field, side", [
    ("server_networks", _host_side(remote="vpn.example.test", peer_networks=["198.51.100.0/24"])),
    ("bonded_openvpn_pool", _host_side(remote="vpn.example.test", peer_bundle="198.51.100.7")),
])
def test_a_client_whose_remote_resolves_into_the_bonds_routes_is_refused_before_any_change(
        capsys, host, monkeypatch, field, side):
    monkeypatch.setattr(remotes.socket, "getaddrinfo", lambda name, *args: [
        (2, 2, 17, "", ("198.51.100.7", 0))] if name == "vpn.example.test" else [])
    result = converge(capsys, host, [side], rc=1)
    assert result["msg"].startswith("bond 'paris': remote vpn.example.test resolves on this host to 198.51.100.7")
    assert "field '%s' of bond 'paris'" % field in result["msg"]
    # Only what this module can vouch for: earlier tasks of a run may have changed the tunnels.
    assert result["msg"].endswith("(this host's data path was not changed)")
    assert "nothing was changed" not in result["msg"]
    assert not list(host.root.rglob("*")) and FakeSystemd.calls == [] and host.state() == FakeKernel([]).state()


def test_a_remote_outside_the_bonds_routes_passes_and_one_that_does_not_resolve_is_reported(capsys, host, monkeypatch):
    def resolve(name, *args):
        raise remotes.socket.gaierror(-2, "Name or service not known")
    monkeypatch.setattr(remotes.socket, "getaddrinfo", resolve)
    result = converge(capsys, host, [_host_side(remote="vpn.example.test")])
    assert "has no IPv4 address on this host" in json.dumps(result["warnings"])
    assert converge(capsys, host, [_host_side(remote="203.0.113.10", role="server")])["bonds"]


def test_a_client_over_ipv6_resolves_its_remote_in_that_family_only(capsys, host, monkeypatch):
    asked = []

    def resolve(name, port, family, *args):
        asked.append((name, family))
        return [(family, 2, 17, "", ("2001:db8::7", 0, 0, 0))]
    monkeypatch.setattr(remotes.socket, "getaddrinfo", resolve)
    result = converge(capsys, host, [_host_side(remote="vpn.example.test", underlay_family="ipv6")])
    assert asked == [("vpn.example.test", remotes.socket.AF_INET6)]
    assert result["bonds"] and not result.get("warnings")


def test_the_host_side_check_is_documented_with_its_real_message(capsys, host, monkeypatch):
    monkeypatch.setattr(remotes.socket, "getaddrinfo", lambda name, *args: [(2, 2, 17, "", ("198.51.100.7", 0))])
    message = converge(capsys, host, [_host_side(remote="vpn.example.test", peer_networks=["198.51.100.0/24"])],
                       rc=1)["msg"]
    with open(os.path.join(ROOT, "docs", "validation.md")) as handle:
        section = handle.read().split("## Checked on the host", 1)[1].split("\n## ", 1)[0]
    templates = [line.strip("`") for line in section.splitlines() if line.startswith("`bond '")]
    assert len(templates) == 1
    parts = re.split(r"<[^<>]+>", templates[0])
    assert re.match(".+?".join(re.escape(part) for part in parts) + r"\Z", message), message


def test_the_live_sets_and_the_kernel_are_read_and_changed_under_the_bonds_locks(capsys, host, monkeypatch):
    # A watchdog changes its kernel objects and its live set under the same lock: read
    # outside it, a live set a watchdog is about to replace would be "repaired" back.
    lock = module.balance_lock.lock_path("paris", str(host.root / "run"))
    held_during = []
    real_live_set, real_call = module.live_set, host.__call__

    def recording_live_set(params, bond):
        held_during.append(("live set", is_held(lock)))
        return real_live_set(params, bond)

    monkeypatch.setattr(module, "live_set", recording_live_set)
    monkeypatch.setattr(module.AnsibleModule, "run_command", lambda self, argv, data=None, binary_data=False, **kw: (
        held_during.append((" ".join(argv[:3]), is_held(lock))) or real_call(argv, data)))
    converge(capsys, host, [_host_side()])
    kernel_calls = [held for call, held in held_during if call.split()[0] in ("ip", "nft")]
    assert ("live set", True) in held_during and len(kernel_calls) > 3 and all(kernel_calls)
    assert not is_held(lock)


def test_a_lock_held_too_long_fails_the_run_naming_it_and_changes_nothing(capsys, host, monkeypatch):
    converge(capsys, host, [_host_side()])
    before = snapshot(host)
    monkeypatch.setattr(module, "LOCK_WAIT", 0.05)
    lock = module.balance_lock.lock_path("paris", str(host.root / "run"))
    with module.balance_lock.held([lock], 1.0):
        result = converge(capsys, host, [_host_side(peer_networks=["192.168.2.0/24"])], rc=1)
    assert "paris.lock is held by another process for over 0.05 s" in result["msg"]
    assert "bonded-openvpn-watchdog@" in result["msg"]
    assert snapshot(host)[:2] == before[:2]
    assert FakeSystemd.units[WATCHDOG]["ActiveState"] == "active"


def test_check_mode_leaves_no_lock_file_behind(capsys, host):
    assert converge(capsys, host, [_host_side()], check=True)["changed"]
    assert not (host.root / "run" / "paris.lock").exists()


def test_a_new_bond_that_fails_to_apply_leaves_no_lock_file(capsys, host):
    host.fail["nft"] = "Error: syntax error"
    converge(capsys, host, [_host_side()], rc=1)
    assert not (host.root / "run" / "paris.lock").exists()


def test_a_removed_bond_leaves_none_of_its_runtime_files(capsys, host):
    metrics_dir = host.root / "metrics"
    metrics_dir.mkdir()
    args = {"sides": [_host_side()], "config_dir": str(host.root / "etc"), "run_dir": str(host.root / "run"),
            "lib_dir": str(host.root / "lib"), "metrics_dir": str(metrics_dir)}
    run_module(capsys, module.main, args, 0)
    # What the bond's watchdog writes while it runs:
    for path in (host.root / "run" / "paris.live", host.root / "run" / "paris.metrics.json",
                 metrics_dir / "bonded_openvpn_paris.prom"):
        path.write_text("written by the watchdog\n")
    assert (host.root / "run" / "paris.lock").exists()
    removed = run_module(capsys, module.main, dict(args, sides=[]), 0)
    assert removed["removed"] == ["paris"]
    assert sorted(p.name for p in (host.root / "run").iterdir()) == []
    assert list(metrics_dir.iterdir()) == []
