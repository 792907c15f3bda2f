"""egress_rate: the tbf root qdisc the watchdog keeps on each tunnel interface.

The tc outputs below were recorded with iproute2 6.1 (Debian 12) in the lab's container on
a tun interface: the kernel's default qdisc, a tbf of ours after tc's rounding into ticks,
and a tbf someone else set.
"""
import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import planner as plan
from ansible_collections.bonded.openvpn.plugins.module_utils._engine.safe_text import UnsafeValue

from balance_fixtures import ALL_UP, spec
from test_kernel import FakeHost
from test_watchdog import Lab

DEFAULT = ('{"kind":"pfifo_fast","handle":"0:","dev":"%s","root":true,"refcnt":2,"options":{"bands":3,'
           '"priomap":[1,2,2,2,1,2,0,0,1,1,1,1,1,1,1,1],"multiqueue":false}}')
OURS = '{"kind":"tbf","handle":"b0d:","dev":"%s","root":true,"refcnt":2,"options":{"rate":%d,"burst":%d,"lat":%d}}'
FOREIGN = '{"kind":"tbf","handle":"1:","dev":"%s","root":true,"refcnt":2,"options":{"rate":1000,"burst":3000,"lat":25000}}'
LO = '{"kind":"noqueue","handle":"0:","dev":"lo","root":true,"refcnt":2,"options":{}}'


def listing(*qdiscs):
    return "[%s]\n" % ",".join((LO,) + qdiscs)


def test_the_rate_is_the_bits_as_the_kernel_keeps_them_in_bytes():
    assert render.tbf(12345678).rate == 1543209


def test_the_burst_is_five_milliseconds_of_the_rate():
    assert render.tbf(100000000).burst == 62500


def test_the_burst_never_falls_below_two_full_packets():
    assert render.tbf(8000).burst == 3000


def test_the_latency_bounds_the_queue_at_25_ms():
    assert render.tbf(100000000).latency == 25000


def test_a_spec_with_a_rate_outside_the_planner_range_is_refused():
    with pytest.raises(UnsafeValue, match="egress_rate"):
        render.shaping(spec(egress_rate=10), ALL_UP)


def test_the_spec_carries_egress_rate():
    assert spec(egress_rate=40000000)["egress_rate"] == 40000000


def test_a_spec_written_before_egress_rate_means_no_shaping():
    old = dict((k, v) for k, v in spec().items() if k != "egress_rate")
    text = bspec.dump(old, "managed")
    assert render.shaping(bspec.parse(text), ALL_UP) == dict((name, None) for name in ALL_UP)


def test_only_existing_tunnel_interfaces_are_shaped():
    want = render.shaping(spec(egress_rate=40000000), {"bo-paris-0", "bo-paris-2", "eth0"})
    assert want == {"bo-paris-0": render.tbf(40000000), "bo-paris-2": render.tbf(40000000)}


def test_root_qdiscs_are_read_per_interface():
    qdiscs = kernel.parse_qdiscs(listing(DEFAULT % "bo-paris-0", OURS % ("bo-paris-1", 5000000, 200000, 25000)))
    assert qdiscs["bo-paris-0"]["kind"] == "pfifo_fast"
    assert qdiscs["bo-paris-1"] == {"kind": "tbf", "handle": "b0d:",
                                    "options": {"rate": 5000000, "burst": 200000, "lat": 25000}}


def test_the_kernel_default_qdisc_is_replaced_by_the_shaper():
    want = {"bo-paris-0": render.tbf(40000000)}
    assert kernel.plan_qdiscs(want, kernel.parse_qdiscs(listing(DEFAULT % "bo-paris-0"))) == [
        "qdisc replace dev bo-paris-0 root handle b0d: tbf rate 5000000bps burst 25000 latency 25000us"]


@pytest.mark.parametrize("bits, rate, burst, lat", [
    # What tc printed back after it rounded the values into kernel ticks.
    (100000000000, 12500000000, 62487500, 25001),
    (12345678, 1543209, 7712, 25000),
    (8000, 1000, 3000, 25000),
])
def test_a_shaper_that_matches_after_rounding_is_kept(bits, rate, burst, lat):
    current = kernel.parse_qdiscs(listing(OURS % ("bo-paris-0", rate, burst, lat)))
    assert kernel.plan_qdiscs({"bo-paris-0": render.tbf(bits)}, current) == []


def test_a_shaper_at_another_rate_is_replaced():
    current = kernel.parse_qdiscs(listing(OURS % ("bo-paris-0", 1000000, 5000, 25000)))
    assert kernel.plan_qdiscs({"bo-paris-0": render.tbf(40000000)}, current) == [
        kernel.tbf_command("bo-paris-0", render.tbf(40000000))]


def test_a_shaper_with_another_burst_is_replaced():
    current = kernel.parse_qdiscs(listing(OURS % ("bo-paris-0", 5000000, 3000, 25000)))
    assert len(kernel.plan_qdiscs({"bo-paris-0": render.tbf(40000000)}, current)) == 1


def test_someone_elses_tbf_at_the_same_rate_is_replaced_by_ours():
    current = kernel.parse_qdiscs(listing(FOREIGN % "bo-paris-0"))
    assert kernel.plan_qdiscs({"bo-paris-0": render.tbf(8000)}, current) == [
        kernel.tbf_command("bo-paris-0", render.tbf(8000))]


def test_without_egress_rate_our_tbf_is_removed():
    current = kernel.parse_qdiscs(listing(OURS % ("bo-paris-0", 5000000, 25000, 25000)))
    assert kernel.plan_qdiscs({"bo-paris-0": None}, current) == ["qdisc del dev bo-paris-0 root handle b0d:"]


def test_without_egress_rate_other_qdiscs_are_left_alone():
    current = kernel.parse_qdiscs(listing(FOREIGN % "bo-paris-0", DEFAULT % "bo-paris-1"))
    assert kernel.plan_qdiscs({"bo-paris-0": None, "bo-paris-1": None, "bo-paris-2": None}, current) == []


def test_shaping_runs_one_tc_batch(tmp_path):
    host = FakeHost()
    commands = ["qdisc del dev bo-paris-0 root handle b0d:", kernel.tbf_command("bo-paris-1", render.tbf(8000))]
    kernel.Kernel(host, str(tmp_path)).apply_qdiscs(commands)
    assert host.calls == [(["tc", "-batch", "-"], "".join(c + "\n" for c in commands))]


def test_shaping_refuses_when_tc_cannot_read_the_kernel_clock(tmp_path):
    host = FakeHost()
    with pytest.raises(kernel.KernelError, match="psched is not readable.*ProcSubset=pid"):
        kernel.Kernel(host, str(tmp_path)).apply_qdiscs([kernel.tbf_command("bo-paris-1", render.tbf(8000))],
                                                        psched=str(tmp_path / "psched"))
    assert host.calls == []


def test_removing_needs_no_kernel_clock(tmp_path):
    host = FakeHost()
    kernel.Kernel(host, str(tmp_path)).apply_qdiscs(["qdisc del dev bo-paris-0 root handle b0d:"],
                                                    psched=str(tmp_path / "psched"))
    assert len(host.calls) == 1


class TcHost(FakeHost):
    """A host whose tunnel interfaces hold the qdiscs in ``qdiscs`` ({dev: json})."""

    def __init__(self, qdiscs):
        super(TcHost, self).__init__()
        self.qdiscs = qdiscs

    def __call__(self, argv, data=None, timeout=None):
        if argv[:4] == ["tc", "-j", "qdisc", "show"]:
            self.calls.append((argv, data))
            return 0, listing(*self.qdiscs.values()), ""
        return super(TcHost, self).__call__(argv, data, timeout)

    def batches(self):
        return [data for argv, data in self.calls if argv[0] == "tc" and "-batch" in argv]


def dog_for(tmp_path, lab, host, **changes):
    return watchdog.Watchdog(spec(**changes), run=host, prober=lab.prober, links=lab.links, clock=lab.clock,
                             run_dir=str(tmp_path))


# FakeHost's `ip link` lists bo-paris-0 (up) and bo-paris-1 (down): both exist, both are shaped.
def test_the_watchdog_shapes_every_existing_tunnel_interface(tmp_path):
    host = TcHost({"bo-paris-0": DEFAULT % "bo-paris-0", "bo-paris-1": DEFAULT % "bo-paris-1"})
    dog_for(tmp_path, Lab(), host, egress_rate=40000000).step()
    assert host.batches() == ["".join(kernel.tbf_command(name, render.tbf(40000000)) + "\n"
                                      for name in ("bo-paris-0", "bo-paris-1"))]


def test_the_watchdog_keeps_a_shaper_that_is_in_place(tmp_path):
    host = TcHost(dict((name, OURS % (name, 5000000, 25000, 25000)) for name in ("bo-paris-0", "bo-paris-1")))
    lab = Lab()
    dog = dog_for(tmp_path, lab, host, egress_rate=40000000)
    dog.step()
    lab.now += 60
    dog.step()
    assert host.batches() == []
    assert sum(1 for argv, _data in host.calls if argv[0] == "tc") == 2


def test_the_watchdog_removes_its_shaper_from_a_bond_without_egress_rate(tmp_path):
    host = TcHost({"bo-paris-0": OURS % ("bo-paris-0", 5000000, 25000, 25000), "bo-paris-1": FOREIGN % "bo-paris-1"})
    dog_for(tmp_path, Lab(), host).step()
    assert host.batches() == ["qdisc del dev bo-paris-0 root handle b0d:\n"]


def test_the_watchdog_shapes_a_tunnel_interface_again_when_it_comes_back(tmp_path, capsys):
    host = TcHost({"bo-paris-0": OURS % ("bo-paris-0", 5000000, 25000, 25000),
                   "bo-paris-1": OURS % ("bo-paris-1", 5000000, 25000, 25000)})
    lab = Lab()
    dog = dog_for(tmp_path, lab, host, egress_rate=40000000)
    dog.step()
    # OpenVPN of tunnel 1 restarted: a new interface, with the kernel's default qdisc.
    lab.ifindex["bo-paris-1"] = 99
    host.qdiscs["bo-paris-1"] = DEFAULT % "bo-paris-1"
    lab.now += 1
    dog.step()
    assert host.batches() == [kernel.tbf_command("bo-paris-1", render.tbf(40000000)) + "\n"]
    assert "tunnel interfaces changed; applied: tc qdisc replace dev bo-paris-1" in capsys.readouterr().out


@pytest.mark.parametrize("role", ["server", "client"])
def test_both_ends_of_a_bond_get_its_egress_rate(role):
    bonds = [{"name": "lab", "id": 1, "server": "s", "client": "c", "tunnels": 2, "port": 1194, "egress_rate": 8000}]
    side = plan.host_sides(plan.build_plan(bonds, None, {"s": "192.0.2.1", "c": "192.0.2.2"}),
                           "s" if role == "server" else "c")[0]
    assert bspec.from_side(side)["egress_rate"] == 8000
