"""The data path of a client's uplinks: a table and a source rule each, kept by the module
and the watchdog; a tunnel whose uplink loses carrier leaves at once."""
import json

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import safe_text

from balance_fixtures import ALL_UP, spec
from test_kernel import FakeHost
from test_watchdog import Lab

UPLINKS = [
    {"index": 0, "name": "fibre", "interface": "eth1", "address": "198.51.100.20", "gateway": "198.51.100.1",
     "table": 10150, "rule_priority": 14008, "tunnels": [0, 2]},
    {"index": 1, "name": "lte", "interface": "wwan0", "address": "100.64.0.2", "gateway": None,
     "table": 10151, "rule_priority": 14009, "tunnels": [1, 3]},
]
# What ip -N -j prints for them (iproute2 6.1, as read in the lab).
RULES_JSON = json.dumps([
    {"priority": 0, "src": "all", "table": "255"},
    {"priority": 14008, "src": "198.51.100.20", "table": "10150", "protocol": "194"},
    {"priority": 14009, "src": "100.64.0.0", "srclen": 24, "table": "10151", "protocol": "194"},
    {"priority": 14010, "src": "100.64.0.2", "table": "10151"},
])
ROUTES_JSON = json.dumps([
    {"dst": "default", "gateway": "198.51.100.1", "dev": "eth1", "table": "10150", "prefsrc": "198.51.100.20",
     "flags": []},
    {"type": "7", "dst": "default", "table": "10150", "metric": 4294967295, "flags": []},
])


def uplink_spec(**changes):
    return spec(uplinks=UPLINKS, **changes)


def uplink_objects(want):
    rules = sorted((r for r in want.rules if r.src), key=lambda r: r.priority)
    routes = [route for key, route in sorted(want.routes.items()) if key[0] in (10150, 10151)]
    return rules, routes


def test_each_uplink_gets_a_source_rule_a_default_route_and_an_unreachable_behind_it():
    rules, routes = uplink_objects(render.desired(uplink_spec(), None, ALL_UP | {"eth1", "wwan0"}))
    assert rules == [render.Rule(14008, None, 10150, "198.51.100.20"), render.Rule(14009, None, 10151, "100.64.0.2")]
    commands = [kernel.route_command("replace", route) for route in routes]
    assert commands == [
        "route replace 0.0.0.0/0 table 10150 proto 194 src 198.51.100.20 via 198.51.100.1 dev eth1",
        "route replace unreachable 0.0.0.0/0 table 10150 proto 194 metric 4294967295",
        "route replace 0.0.0.0/0 table 10151 proto 194 src 100.64.0.2 dev wwan0",
        "route replace unreachable 0.0.0.0/0 table 10151 proto 194 metric 4294967295",
    ]
    assert kernel.rule_command("add", rules[0]) == "rule add priority 14008 from 198.51.100.20 table 10150 protocol 194"


def test_an_uplink_that_is_down_keeps_only_its_unreachable_route():
    rules, routes = uplink_objects(render.desired(uplink_spec(), None, ALL_UP | {"eth1"}))
    assert [(r.table, r.kind) for r in routes] == [(10150, "unicast"), (10150, "unreachable"), (10151, "unreachable")]
    assert len(rules) == 2


def test_uplink_rules_and_routes_read_back_as_they_were_written():
    rules = kernel.parse_rules(RULES_JSON)
    # Not ours (no protocol), or not one address (a /24): left alone.
    assert rules == {render.Rule(14008, None, 10150, "198.51.100.20")}
    routes = kernel.parse_routes(ROUTES_JSON)
    want = render.desired(uplink_spec(), None, ALL_UP | {"eth1"}).routes
    assert routes[(10150, "0.0.0.0/0", 0)] == want[(10150, "0.0.0.0/0", 0)]
    assert routes[(10150, "0.0.0.0/0", 4294967295)] == want[(10150, "0.0.0.0/0", 4294967295)]


def test_the_bond_scope_owns_its_uplink_rules_and_the_host_scope_every_bonds():
    bond, host = kernel.Scope.bond(uplink_spec()), kernel.Scope.host(set())
    mine, other = render.Rule(14008, None, 10150, "198.51.100.20"), render.Rule(14016, None, 10250, "192.0.2.1")
    assert bond.has_rule(mine) and not bond.has_rule(other)
    assert host.has_rule(mine) and host.has_rule(other)
    assert not host.has_rule(render.Rule(32000, None, 10150, "192.0.2.1"))


def test_a_removed_uplink_loses_its_rule_and_routes():
    current = kernel.Current()
    old = render.desired(uplink_spec(), None, ALL_UP | {"eth1", "wwan0"})
    current.rules, current.routes = set(old.rules), dict(old.routes)
    current.addresses = set(old.addresses)
    changes = kernel.plan_changes(render.desired(spec(), None, ALL_UP), current, kernel.Scope.bond(spec()))
    removed = [line for line in changes.ip_commands if "1015" in line and " del " in " %s " % line]
    assert "rule del priority 14009 from 100.64.0.2 table 10151 protocol 194" in removed
    assert "route del 0.0.0.0/0 table 10151 proto 194" in removed
    assert len(removed) == 6


@pytest.mark.parametrize("field, value", [("interface", "eth1 up"), ("address", "1.2.3.4; x"), ("gateway", "a\nb"),
                                          ("name", "Fibre"), ("table", "10150")])
def test_an_uplink_value_of_the_wrong_shape_is_refused(field, value):
    bad = dict(UPLINKS[0], **{field: value})
    with pytest.raises(safe_text.UnsafeValue):
        render.desired(spec(uplinks=[bad]), None, ALL_UP)


class Carrier(object):
    def __init__(self):
        self.up = {"eth1": True, "wwan0": True}

    def __call__(self, interface):
        return self.up[interface]


def test_tunnels_of_an_uplink_without_carrier_leave_in_the_same_round_unprobed(tmp_path, capsys):
    lab, carrier, probed = Lab(), Carrier(), []

    def prober(targets, timeout):
        probed.append(sorted(targets))
        return lab.prober(targets, timeout)
    dog = watchdog.Watchdog(uplink_spec(), run=FakeHost(), prober=prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), carrier=carrier)
    dog.step()
    carrier.up["wwan0"] = False
    lab.now += 1
    dog.step()
    assert probed[-1] == [0, 2]
    assert dog.health.live() == [0, 2]
    out = capsys.readouterr().out
    assert "uplink lte (wwan0) is down or has no carrier: tunnels 1, 3" in out
    assert "tunnel 3 (bo-paris-3) down: uplink lte (wwan0) is down or has no carrier (reason dead)" in out
    carrier.up["wwan0"] = True
    for _round in range(3):
        lab.now += 1
        dog.step()
    assert dog.health.live() == [0, 1, 2, 3]
    assert "uplink lte (wwan0) has carrier again: tunnels 1, 3" in capsys.readouterr().out


def test_an_uplink_coming_back_makes_the_watchdog_reconcile_to_restore_its_route(tmp_path):
    lab, carrier, host = Lab(), Carrier(), FakeHost()
    dog = watchdog.Watchdog(uplink_spec(), run=host, prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), carrier=carrier)
    dog.step()
    lab.now += 1
    dog.step()
    reads = len([argv for argv, _data in host.calls if argv[:4] == ["ip", "-N", "-j", "rule"]])
    carrier.up["eth1"] = False
    lab.now += 1
    dog.step()
    carrier.up["eth1"] = True
    lab.now += 1
    dog.step()
    assert len([argv for argv, _data in host.calls if argv[:4] == ["ip", "-N", "-j", "rule"]]) == reads + 2


def test_carrier_reads_false_for_a_missing_or_downed_interface(tmp_path, monkeypatch):
    (tmp_path / "eth1").mkdir()
    (tmp_path / "eth1" / "carrier").write_text("1\n")
    (tmp_path / "eth2").mkdir()
    (tmp_path / "eth2" / "carrier").write_text("0\n")
    monkeypatch.setattr(watchdog, "SYS_NET", str(tmp_path))
    assert [watchdog.read_carrier(name) for name in ("eth1", "eth2", "eth9")] == [True, False, False]


def test_a_spec_written_before_uplinks_has_none():
    old = spec()
    old.pop("uplinks")
    assert bspec.uplinks(old) == [] and render.desired(old, None, ALL_UP).rules == render.desired(spec(), None, ALL_UP).rules


def test_tunnels_that_connected_before_their_uplinks_rule_reconnect_through_it(tmp_path, capsys):
    lab, kicked = Lab(), []

    def reconnector(path, kicked_at=None, force=False):
        kicked.append((path.split("/")[-2], force))
        return "signalled", None
    dog = watchdog.Watchdog(uplink_spec(), run=FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), carrier=Carrier(), reconnector=reconnector)
    dog.step()
    # The fake host never shows the rules, so each reconcile adds them again: all four ride.
    assert sorted(kicked) == [("paris-%d" % k, True) for k in range(4)]
    assert "uplink rules in place: told tunnels 0, 2, 1, 3 to reconnect through their uplinks" in capsys.readouterr().out
    added = {render.Rule(14009, None, 10151, "100.64.0.2"), render.Rule(5032, 10100, 10100)}
    assert [(u, k) for u, k, _path in bspec.riders_of(uplink_spec(), added)] == [("lte", 1), ("lte", 3)]
    assert bspec.riders_of(spec(role="server"), added) == []


def test_the_metrics_say_which_uplink_has_carrier_and_which_tunnels_ride_it(tmp_path):
    from test_metrics import samples
    lab, carrier = Lab(), Carrier()
    bond = uplink_spec()
    bond["metrics_dir"] = str(tmp_path / "prom")
    dog = watchdog.Watchdog(bond, run=FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), carrier=carrier,
                            reconnector=lambda path, kicked_at=None, force=False: ("signalled", None))
    carrier.up["wwan0"] = False
    dog.step()
    found = samples((tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text())
    assert found[("bonded_openvpn_uplink_up", (("bond", "paris"), ("interface", "wwan0"), ("uplink", "lte")))] == 0
    assert found[("bonded_openvpn_uplink_up", (("bond", "paris"), ("interface", "eth1"), ("uplink", "fibre")))] == 1
    assert found[("bonded_openvpn_tunnel_uplink_info", (("bond", "paris"), ("tunnel", "3"), ("uplink", "lte")))] == 1
    figures = json.loads((tmp_path / "paris.metrics.json").read_text())
    assert figures["uplinks"][1] == {"name": "lte", "interface": "wwan0", "tunnels": [1, 3], "up": False}


def test_a_bond_without_uplinks_has_no_uplink_samples(tmp_path):
    from test_metrics import samples
    lab = Lab()
    bond = spec()
    bond["metrics_dir"] = str(tmp_path / "prom")
    watchdog.Watchdog(bond, run=FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                      run_dir=str(tmp_path), reconnector=lambda path, kicked_at=None: ("signalled", None)).step()
    found = samples((tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text())
    assert not [key for key in found if "uplink" in key[0]]
