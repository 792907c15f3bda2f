"""balance_datapath with a bond that has mptcp: the relay's files, the endpoints and the
subflow limit come and go with the bond and with the field, against a stand-in host."""
import copy

import pytest

from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath as module
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

import balance_host
from balance_host import FakeSystemd, stand_in

BOND = {"name": "paris", "id": 1, "server": "hq", "client": "gw", "tunnels": 4, "port": 1194, "mptcp": True,
        "server_networks": ["192.168.1.0/24"], "client_networks": ["192.168.10.0/24"]}
SIDE = host_sides(build_plan([BOND], None, {"hq": "203.0.113.10", "gw": "203.0.113.20"}), "gw")[0]
WATCHDOG = "bonded-openvpn-watchdog@paris.service"


def side(**changes):
    changed = copy.deepcopy(SIDE)
    changed.update(changes)
    return changed


@pytest.fixture
def host(tmp_path, monkeypatch):
    return stand_in(module, tmp_path, monkeypatch, sorted(tunnel["interface"] for tunnel in SIDE["tunnels"]))


def converge(capsys, host, sides, check=False, rc=0):
    return balance_host.converge(module, capsys, host, sides, check, rc)


def relay_files(host):
    return sorted(p.name for p in (host.root / "etc").iterdir() if p.suffix in (".relay", ".redsocks"))


def test_a_bond_with_mptcp_gets_its_relay_files_endpoints_and_subflow_limit(capsys, host):
    result = converge(capsys, host, [side()])
    assert result["changed"] and relay_files(host) == ["paris.redsocks", "paris.relay"]
    assert "BONDED_RELAY_LISTEN=%s\n" % SIDE["local_bundle"] in (host.root / "etc" / "paris.relay").read_text()
    assert "\tip = %s;\n" % SIDE["peer_bundle"] in (host.root / "etc" / "paris.redsocks").read_text()
    assert sorted(host.endpoints) == sorted(t["local_address"] for t in SIDE["tunnels"])
    assert host.subflow_limit == 8
    assert sum(1 for rule in host.rules if rule[3] is not None) == 4
    assert any("mptcp endpoint" in line for diff in result["diff"] for line in diff.get("after", "").splitlines())


def test_a_converged_bond_with_mptcp_is_left_alone(capsys, host):
    converge(capsys, host, [side()])
    assert not converge(capsys, host, [side()], check=True)["changed"]
    assert not converge(capsys, host, [side()])["changed"] and FakeSystemd.calls == []


def test_check_mode_writes_no_relay_file_and_changes_no_endpoint(capsys, host):
    assert converge(capsys, host, [side()], check=True)["changed"]
    assert not (host.root / "etc").exists() or relay_files(host) == []
    assert host.endpoints == {} and host.subflow_limit == 2


def test_turning_mptcp_off_removes_the_relay_endpoints_and_source_rules_and_restarts_the_bond(capsys, host):
    converge(capsys, host, [side()])
    result = converge(capsys, host, [side(mptcp=False)])
    assert result["updated"] == ["paris"] and ("stop", [WATCHDOG]) in [(c[0], c[1]) for c in FakeSystemd.calls]
    assert relay_files(host) == [] and host.endpoints == {}
    assert all(rule[3] is None for rule in host.rules)
    assert not any(table > 10000 and table % 100 >= 50 for table, _dst, _metric in host.routes)
    # The limit is the host's: other MPTCP users may count on it.
    assert host.subflow_limit == 8


def test_a_removed_bond_takes_its_relay_files_and_endpoints_with_it(capsys, host):
    converge(capsys, host, [side()])
    assert converge(capsys, host, [])["removed"] == ["paris"]
    assert relay_files(host) == [] and host.endpoints == {} and host.rules == set()


def test_a_relay_file_changed_by_hand_is_put_back_and_restarts_the_bond(capsys, host):
    converge(capsys, host, [side()])
    (host.root / "etc" / "paris.redsocks").write_text("redsocks { ip = 192.0.2.66; }\n")
    result = converge(capsys, host, [side()])
    assert result["updated"] == ["paris"]
    assert "\tip = %s;\n" % SIDE["peer_bundle"] in (host.root / "etc" / "paris.redsocks").read_text()


def test_a_failed_apply_takes_back_the_relay_files_of_a_new_mptcp_bond(capsys, host):
    host.fail["ip-batch"] = "Error: Nexthop device is not up."
    converge(capsys, host, [side()], rc=1)
    assert relay_files(host) == [] and host.endpoints == {}
