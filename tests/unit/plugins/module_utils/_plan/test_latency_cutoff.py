"""latency_cutoff in the plan and the spec: the default per mode, an explicit value kept,
both ends given the same, and a spec that carries it to the watchdog."""
import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

HOSTS = {"hq": "203.0.113.10", "paris1": "198.51.100.21"}


def planned(**fields):
    bond = {"name": "paris", "id": 1, "server": "hq", "client": "paris1", "tunnels": 4, "port": 1194,
            "server_networks": ["192.168.1.0/24"]}
    bond.update(fields)
    return build_plan([bond], "10.255.0.0/16", HOSTS)


@pytest.mark.parametrize("fields, cutoff", [
    ({}, 0),                                                          # off until the bench holds it up
    ({"balance": "flowlet"}, 0),
    ({"balance": "flow"}, 0),
    ({"mptcp": True}, 0),
    ({"latency_cutoff": layout.LATENCY_CUTOFF_SUGGESTED}, 50),         # given: kept
    ({"balance": "flow", "latency_cutoff": 150}, 150),                # given: kept in any mode
    ({"latency_cutoff": 0}, 0),                                       # 0: off
])
def test_the_plan_resolves_the_cutoff_by_mode(fields, cutoff):
    assert planned(**fields)[0]["latency_cutoff"] == cutoff


def test_both_ends_spec_carries_the_same_cutoff():
    plan = planned(latency_cutoff=80)
    specs = [bspec.from_side(side) for host in HOSTS for side in host_sides(plan, host)]
    assert [spec["latency_cutoff"] for spec in specs] == [80, 80]
    assert [bspec.agreed(spec)["latency_cutoff"] for spec in specs] == [80, 80]


def test_the_spec_file_keeps_the_cutoff():
    spec = bspec.from_side(host_sides(planned(latency_cutoff=80), "hq")[0])
    assert bspec.parse(bspec.dump(spec, "m"))["latency_cutoff"] == 80
    assert bspec.latency_cutoff(spec) == 0.08


def test_a_spec_written_before_the_cutoff_existed_means_off():
    spec = bspec.from_side(host_sides(planned(), "hq")[0])
    del spec["latency_cutoff"]
    assert bspec.latency_cutoff(bspec.parse(bspec.dump(spec, "m"))) == 0.0


@pytest.mark.parametrize("bad", [-1, 10001, 50.5, "50", True])
def test_a_spec_with_a_bad_cutoff_is_refused_with_what_to_do(bad):
    spec = dict(bspec.from_side(host_sides(planned(), "hq")[0]), latency_cutoff=bad)
    with pytest.raises(bspec.SpecError, match="latency_cutoff must be milliseconds from 0 to 10000.*re-run"):
        bspec.parse(bspec.dump(spec, "m"))
