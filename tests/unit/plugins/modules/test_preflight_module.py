"""The preflight module as site.yml calls it: one call per host, read-only, every problem at once."""
import ipaddress

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._host import preflight as checks
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides
from ansible_collections.bonded.openvpn.plugins.modules import preflight as module

from module_run import run_module

BOND = {"name": "paris", "id": 1, "server": "hq", "client": "gw", "tunnels": 2, "port": 1194,
        "remote": "hub1", "mptcp": True, "server_networks": ["192.168.1.0/24"], "client_networks": ["192.168.10.0/24"]}
SIDES = host_sides(build_plan([BOND], None, {"hq": "203.0.113.10", "gw": "203.0.113.20"}), "gw")


class Host(checks.Host):
    """tun usable, MPTCP off, hub1 resolving to ``address``; every read recorded."""

    address = "203.0.113.10"

    def __init__(self):
        self.reads = []

    def read(self, path):
        self.reads.append(path)
        return {checks.MPTCP_ENABLED: "0", checks.PROC_MODULES: "tun 1 0 - Live 0x0"}.get(path)

    def exists(self, path):
        self.reads.append(path)
        return path == checks.PROC_MODULES

    def opens(self, path):
        return None

    def resolve(self, name, family):
        return [ipaddress.ip_address(self.address)] if name == "hub1" else None


@pytest.fixture
def host(monkeypatch):
    made = Host()
    monkeypatch.setattr(checks, "Host", lambda: made)
    return made


@pytest.mark.parametrize("check_mode", [False, True])
def test_it_fails_listing_every_problem_and_changes_nothing(capsys, host, monkeypatch, check_mode):
    monkeypatch.setattr(Host, "address", "192.168.1.1")
    result = run_module(capsys, module.main, {"sides": SIDES, "_ansible_check_mode": check_mode}, rc=1)
    assert result["changed"] is False and len(result["problems"]) == 2
    assert result["problems"][0].startswith("bond 'paris': remote hub1 resolves on this host to 192.168.1.1")
    assert result["problems"][1].startswith("bond 'paris': mptcp is on, but MPTCP is off")
    assert result["msg"] == "; ".join(result["problems"]) + " (this module changed nothing)"
    assert result["resolved"] == {"hub1": ["192.168.1.1"]}


def test_a_host_without_problems_passes_with_what_it_resolved(capsys, host):
    result = run_module(capsys, module.main, {"sides": [dict(SIDES[0], mptcp=False)]})
    assert result == dict(result, changed=False, problems=[], resolved={"hub1": ["203.0.113.10"]})


def test_a_host_that_plays_nothing_reads_nothing(capsys, host):
    result = run_module(capsys, module.main, {"sides": []})
    assert result["problems"] == [] and host.reads == []
