"""The planner's cost is linear in bonds and independent of the pool's size.

Ratios measured in one run, in CPU time, best of several runs each: they do not depend on
how fast or busy the machine is, so the bounds can be generous and still tell linear from
quadratic (t(256) / t(1) would be about 65536 times a pair's cost) and a pool-sized cost
from a constant one (a /8 holds 256 times the /24 blocks of a /16).
"""
import time

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan

from plan_fleets import hub_fleet


def cpu_seconds(count, pool, repeat):
    bonds, hosts = hub_fleet(count)
    best = None
    for _run in range(repeat):
        start = time.process_time()
        build_plan(bonds, pool, hosts)
        elapsed = time.process_time() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def test_256_bonds_cost_at_most_4_times_256_single_bonds():
    one, many = cpu_seconds(1, "10.0.0.0/8", 30), cpu_seconds(256, "10.0.0.0/8", 3)
    assert many / one < 4 * 256, (one, many)


def test_a_pool_256_times_larger_costs_about_the_same():
    small, large = cpu_seconds(256, "10.0.0.0/16", 3), cpu_seconds(256, "10.0.0.0/8", 3)
    assert large / small < 3, (small, large)


def test_256_bonds_in_a_slash_8_plan_well_under_a_second():
    assert cpu_seconds(256, "10.0.0.0/8", 3) < 0.5
