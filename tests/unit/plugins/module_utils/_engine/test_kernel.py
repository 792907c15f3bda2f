import json

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec

from balance_fixtures import ALL_UP, spec

# Recorded from iproute2 6.1 (`ip -N -j route show table all proto 194` omits the protocol).
ROUTES = json.dumps([
    {"dst": "default", "dev": "bo-paris-0", "table": "10100", "scope": "253", "prefsrc": "10.255.1.253", "flags": []},
    {"dst": "10.255.1.254", "dev": "bo-paris-0", "scope": "253", "prefsrc": "10.255.1.253", "flags": []},
    {"dst": "192.168.1.0/24", "prefsrc": "10.255.1.253", "flags": [],
     "nexthops": [{"dev": "bo-paris-0", "weight": 3, "flags": []}, {"dev": "bo-paris-1", "weight": 1, "flags": []}]},
    {"type": "7", "dst": "192.168.9.0/24", "metric": 4294967295, "flags": []},
    {"dst": "10.9.9.0/24", "dev": "eth0", "protocol": "4", "flags": []},
])
RULES = json.dumps([
    {"priority": 0, "src": "all", "table": "255"},
    {"priority": 5032, "src": "all", "fwmark": "0x2774", "table": "10100", "protocol": "194"},
    {"priority": 5040, "src": "all", "fwmark": "0x10", "table": "100"},
    {"priority": 32766, "src": "all", "table": "254"},
])
ADDRESSES = json.dumps([{"ifname": "lo", "addr_info": [
    {"family": "inet", "local": "127.0.0.1", "prefixlen": 8},
    {"family": "inet", "local": "10.255.1.253", "prefixlen": 32},
    {"family": "inet6", "local": "::1", "prefixlen": 128},
    {"family": "inet6", "local": "fd00:0:0:ff01::fd", "prefixlen": 128},
    {"family": "inet6", "local": "fe80::1", "prefixlen": 64}]}])
LINKS = json.dumps([{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"]},
                    {"ifindex": 7, "ifname": "bo-paris-0", "flags": ["POINTOPOINT", "UP", "LOWER_UP"]},
                    {"ifindex": 8, "ifname": "bo-paris-1", "flags": ["POINTOPOINT"]}])


def test_routes_are_read_in_every_table_with_default_and_host_routes_normalised():
    routes = kernel.parse_routes(ROUTES)
    assert routes[(10100, "0.0.0.0/0", 0)] == render.Route(
        10100, "0.0.0.0/0", 0, "unicast", (("bo-paris-0", 1),), "10.255.1.253")
    assert (254, "10.255.1.254/32", 0) in routes


def test_multipath_and_unreachable_routes_are_read_as_rendered():
    routes = kernel.parse_routes(ROUTES)
    assert routes[(254, "192.168.1.0/24", 0)].nexthops == (("bo-paris-0", 3), ("bo-paris-1", 1))
    assert routes[(254, "192.168.9.0/24", 4294967295)] == render.Route(
        254, "192.168.9.0/24", 4294967295, "unreachable", (), None)


def test_routes_of_other_protocols_are_never_ours():
    assert not [key for key in kernel.parse_routes(ROUTES) if key[1] == "10.9.9.0/24"]


def test_only_rules_tagged_with_our_protocol_are_read():
    assert kernel.parse_rules(RULES) == {render.Rule(5032, 10100, 10100)}


def test_only_host_addresses_on_lo_are_read():
    assert kernel.parse_addresses(ADDRESSES) == {"10.255.1.253", "fd00:0:0:ff01::fd"}


def test_an_interface_is_up_only_with_the_up_flag():
    links = kernel.parse_links(LINKS)
    assert links["bo-paris-0"] == {"ifindex": 7, "up": True} and not links["bo-paris-1"]["up"]


def test_nft_tables_are_read_from_the_listing():
    assert kernel.parse_nft_tables("table ip nat\ntable ip bonded_openvpn_paris\n") == {"nat", "bonded_openvpn_paris"}


def in_sync(want):
    current = kernel.Current()
    current.addresses, current.rules, current.routes = set(want.addresses), set(want.rules), dict(want.routes)
    current.nft = dict((name, {"listing": "x", "input": text}) for name, text in want.nft.items())
    return current


def test_nothing_changes_when_the_kernel_holds_what_is_wanted():
    want = render.desired(spec(), None, ALL_UP)
    assert not kernel.plan_changes(want, in_sync(want), kernel.Scope.bond(spec()))


def test_a_table_route_that_vanished_with_its_interface_is_added_back():
    want = render.desired(spec(), None, ALL_UP)
    current = in_sync(want)
    del current.routes[(10102, "0.0.0.0/0", 0)]
    changes = kernel.plan_changes(want, current, kernel.Scope.bond(spec()))
    assert changes.ip_commands == ["route replace 0.0.0.0/0 table 10102 proto 194 src 10.255.1.253 dev bo-paris-2"]
    assert not changes.nft_script and not changes.address_adds


def test_a_drifted_nft_table_is_replaced_atomically_in_one_transaction():
    want = render.desired(spec(), None, ALL_UP)
    current = in_sync(want)
    current.nft[("ip", "bonded_openvpn_paris")]["input"] = None
    script = kernel.plan_changes(want, current, kernel.Scope.bond(spec())).nft_script
    assert script.startswith("table ip bonded_openvpn_paris\ndelete table ip bonded_openvpn_paris\ntable ip bonded_openvpn_paris {")


def test_objects_of_a_removed_bond_are_deleted_after_everything_else():
    old = render.desired(spec(), None, ALL_UP)
    changes = kernel.plan_changes(render.Desired(), in_sync(old), kernel.Scope.host({"10.255.1.253"}))
    assert changes.nft_script == "delete table ip bonded_openvpn_paris\n"
    assert changes.ip_commands[-1] == "address del 10.255.1.253/32 dev lo"
    assert "rule del priority 5032 fwmark 10100 table 10100 protocol 194" in changes.ip_commands
    assert "route del 192.168.1.0/24 table 254 proto 194" in changes.ip_commands
    assert "route del unreachable 192.168.1.0/24 table 254 proto 194 metric 4294967295" in changes.ip_commands


def test_a_bond_scope_leaves_other_bonds_alone():
    other = spec(bond="berlin", id=2, local_bundle="10.255.2.253", peer_bundle="10.255.2.254", peer_networks=[])
    for tunnel in other["tunnels"]:
        tunnel.update(mark=tunnel["mark"] + 100, table=tunnel["table"] + 100, rule_priority=tunnel["rule_priority"] + 32)
    current = in_sync(render.desired(spec(), None, ALL_UP).merge(render.desired(other, None, ALL_UP)))
    scope = kernel.Scope.bond(spec())
    current.rules = set(r for r in current.rules if scope.has_rule(r))
    current.routes = dict((k, r) for k, r in current.routes.items() if scope.has_route(r))
    current.nft = dict((k, v) for k, v in current.nft.items() if scope.has_nft_table(k[1]))
    assert not kernel.plan_changes(render.desired(spec(), None, ALL_UP), current, scope)


def test_a_new_bond_gets_its_address_before_routes_that_use_it_as_source():
    want = render.desired(spec(), None, ALL_UP)
    changes = kernel.plan_changes(want, kernel.Current(), kernel.Scope.bond(spec()))
    assert changes.address_adds == ["address add 10.255.1.253/32 dev lo"]
    assert changes.ip_commands[:4] == ["rule add priority %d fwmark %d table %d protocol 194" % (5032 + k, 10100 + k, 10100 + k)
                                       for k in range(4)]


def test_a_multipath_route_is_written_with_weighted_nexthops():
    route = render.Route(254, "192.168.1.0/24", 0, "unicast", (("bo-paris-0", 3), ("bo-paris-1", 1)), "10.255.1.253")
    assert kernel.route_command("replace", route) == (
        "route replace 192.168.1.0/24 table 254 proto 194 src 10.255.1.253 "
        "nexthop dev bo-paris-0 weight 3 nexthop dev bo-paris-1 weight 1")


class FakeHost(object):
    """Answers the reads of Kernel.read and records every command."""

    def __init__(self, tables="table ip bonded_openvpn_paris\n", listing="table ip bonded_openvpn_paris {}\n"):
        self.calls, self.tables, self.listing, self.timeouts = [], tables, listing, []

    def __call__(self, argv, data=None, timeout=None):
        self.calls.append((argv, data))
        self.timeouts.append(timeout)
        answers = {("ip", "-N", "-j", "addr"): ADDRESSES, ("ip", "-N", "-j", "rule"): RULES,
                   ("ip", "-N", "-j", "route"): ROUTES, ("ip", "-N", "-j", "link"): LINKS}
        key = tuple(a for a in argv if a != "-4")[:4]
        if key in answers:
            return 0, answers[key], ""
        if argv[:3] == ["nft", "list", "tables"]:
            return 0, self.tables, ""
        if [a for a in argv if a != "-t"][:3] == ["nft", "list", "table"]:
            return 0, self.listing, ""
        return 0, "", ""


def test_reading_costs_the_same_whatever_the_number_of_tunnels(tmp_path):
    host = FakeHost()
    kernel.Kernel(host, str(tmp_path)).read(kernel.Scope.bond(spec()))
    assert len(host.calls) == 6


def test_an_nft_table_matches_its_snapshot_only_while_its_listing_is_unchanged(tmp_path):
    host = FakeHost()
    krn = kernel.Kernel(host, str(tmp_path))
    changes = kernel.plan_changes(render.desired(spec(), None, ALL_UP), kernel.Current(), kernel.Scope.bond(spec()))
    krn.apply(changes)
    current = krn.read(kernel.Scope.bond(spec()))
    assert current.nft[("ip", "bonded_openvpn_paris")]["input"] == changes.nft_replaced[("ip", "bonded_openvpn_paris")]
    host.listing = "table ip bonded_openvpn_paris { chain x {} }\n"
    assert krn.read(kernel.Scope.bond(spec())).nft[("ip", "bonded_openvpn_paris")]["input"] is None


def test_applying_runs_one_nft_transaction_and_two_ip_batches(tmp_path):
    host = FakeHost()
    changes = kernel.plan_changes(render.desired(spec(), None, ALL_UP), kernel.Current(), kernel.Scope.bond(spec()))
    kernel.Kernel(host, str(tmp_path)).apply(changes)
    commands = [argv for argv, _data in host.calls if argv[:4] != ["nft", "-t", "list", "table"]]
    assert commands == [["ip", "-force", "-batch", "-"], ["nft", "-f", "-"], ["ip", "-force", "-batch", "-"]]


def test_a_failed_command_is_reported_with_its_error(tmp_path):
    def failing(argv, data=None):
        return 1, "", "Error: Nexthop device is not up."
    with pytest.raises(kernel.KernelError, match="Nexthop device is not up"):
        kernel.Kernel(failing, str(tmp_path)).read(kernel.Scope.bond(spec()))


def test_describe_lists_objects_in_a_stable_order():
    want = render.desired(spec(balance="flow"), [0], ALL_UP)
    text = kernel.describe(want.addresses, want.rules, want.routes, {})
    assert text.splitlines()[0] == "address 10.255.1.253/32 dev lo"
    assert text == kernel.describe(want.addresses, want.rules, dict(reversed(list(want.routes.items()))), {})


def test_the_host_scope_covers_every_bond_id():
    scope = kernel.Scope.host(set())
    assert scope.has_rule(render.Rule(bspec.priority_range(255)[1], 1, 1))
    assert scope.has_nft_table("bonded_openvpn_any") and not scope.has_nft_table("filter")


# What 'ip -6 -N -j route show' printed on kernel 6.18 for a multipath route and its backstop.
ROUTES6 = json.dumps([
    {"dst": "fd98::/64", "protocol": "194", "prefsrc": "fd00::fd", "metric": 1, "flags": [], "pref": "medium",
     "nexthops": [{"gateway": "fd00::2", "dev": "tk0", "weight": 1, "flags": ["linkdown"]},
                  {"gateway": "fd00::6", "dev": "tk1", "weight": 1, "flags": ["linkdown"]}]},
    {"type": "unreachable", "dst": "fd98::/64", "dev": "lo", "protocol": "194", "metric": 4294967295, "flags": [],
     "pref": "medium"},
    {"dst": "default", "table": "10101", "protocol": "194", "dev": "tk0", "metric": 1024, "flags": []}])


def test_ipv6_routes_keep_their_gateways_and_an_unreachable_route_has_no_device():
    routes = kernel.parse_routes(ROUTES6, 6)
    assert routes[(254, "fd98::/64", 1)] == render.Route(
        254, "fd98::/64", 1, "unicast", (("tk0", 1, "fd00::2"), ("tk1", 1, "fd00::6")), "fd00::fd")
    assert routes[(254, "fd98::/64", 4294967295)].nexthops == ()
    assert (10101, "::/0", 1024) in routes
    # And the command that makes the first one again names each gateway.
    assert kernel.route_command("replace", routes[(254, "fd98::/64", 1)]).endswith(
        "nexthop via fd00::2 dev tk0 weight 1 nexthop via fd00::6 dev tk1 weight 1")
