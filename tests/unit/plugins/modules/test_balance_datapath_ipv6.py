"""balance_datapath with IPv6 networks inside a bond (balance flow, bonded_openvpn_pool6):
the IPv6 bundle address on lo, a multipath route per IPv6 destination with its fallbacks,
idempotence across the kernel's IPv6 quirks, and removal, against a stand-in host."""
import copy

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec

from balance_host import FakeKernel, FakeSystemd
from ipv6_bond import INTERFACES, converge, side, stand_in

SIDE = side()


@pytest.fixture
def host(tmp_path, monkeypatch):
    return stand_in(tmp_path, monkeypatch)


def routes_to(host, dst):
    return sorted((key[2], route) for key, route in host.routes.items() if key[1] == dst)


def test_the_plan_gives_each_end_its_ipv6_bundle_from_the_bonds_64():
    assert (SIDE["local_bundle6"], SIDE["peer_bundle6"]) == ("fd00:0:0:ff01::fd", "fd00:0:0:ff01::fe")
    assert [(t["local_address6"], t["peer_address6"]) for t in SIDE["tunnels"]][2] == (
        "fd00:0:0:ff01::302", "fd00:0:0:ff01::301")


def test_an_ipv6_network_gets_a_multipath_route_its_fallbacks_and_a_backstop(capsys, host):
    assert converge(capsys, host, [SIDE])["changed"]
    assert SIDE["local_bundle6"] in host.addresses and SIDE["local_bundle"] in host.addresses
    routes = routes_to(host, "2001:db8:1::/64")
    # Never metric 0: the kernel would store an IPv6 route given 0 at 1024.
    assert [metric for metric, _route in routes] == [1, 2, 3, 4, 4294967295]
    multipath = routes[0][1]
    assert [hop["dev"] for hop in multipath["nexthops"]] == INTERFACES
    # Each IPv6 nexthop names its tunnel's far end: the kernel refuses device-only ones.
    assert [hop["gateway"] for hop in multipath["nexthops"]] == [t["peer_address6"] for t in SIDE["tunnels"]]
    assert multipath["prefsrc"] == SIDE["local_bundle6"] and multipath["table"] == "main"
    assert routes[-1][1]["type"] == "unreachable"
    assert [metric for metric, _route in routes_to(host, SIDE["peer_bundle6"] + "/128")] == [1, 2, 3, 4, 4294967295]
    # IPv4 keeps its own: the same layout from metric 0, from the IPv4 bundle.
    assert [m for m, _r in routes_to(host, "192.168.1.0/24")] == [0, 1, 2, 3, 4294967295]
    # Per flow, IPv6 needs no nftables: the ip table alone, without an IPv6 address.
    assert list(host.nft) == [("ip", "bonded_openvpn_paris")] and ":" not in "".join(host.nft.values())


@pytest.mark.parametrize("balance", ["flow", "packet", "flowlet"])
def test_a_converged_ipv6_bond_is_left_alone(capsys, host, balance):
    converged = side(balance=balance)
    converge(capsys, host, [converged])
    assert not converge(capsys, host, [converged], check=True)["changed"]
    assert not converge(capsys, host, [converged])["changed"] and FakeSystemd.calls == []


def test_dropping_ipv6_takes_its_routes_and_address_away(capsys, host):
    converge(capsys, host, [SIDE])
    plain = side(pool6=None, server_networks=["192.168.1.0/24"], client_networks=[])
    assert converge(capsys, host, [plain])["changed"]
    assert not any(":" in dst for _table, dst, _metric in host.routes)
    assert SIDE["local_bundle6"] not in host.addresses


def test_a_watchdog_of_an_ipv4_bond_or_a_host_without_ipv6_never_runs_ip_dash_6():
    fake = FakeKernel(INTERFACES)
    plain = bspec.from_side(side(pool6=None, server_networks=["192.168.1.0/24"], client_networks=[]))
    kernel.Kernel(fake, ipv6=True).read(kernel.Scope.bond(plain))
    kernel.Kernel(fake, ipv6=False).read(kernel.Scope.bond(bspec.from_side(SIDE)))
    kernel.Kernel(fake, ipv6=False).read(kernel.Scope.host(set()))
    assert not [argv for argv in fake.calls if "-6" in argv or "ip6" in argv]
    kernel.Kernel(fake, ipv6=True).read(kernel.Scope.bond(bspec.from_side(SIDE)))
    assert [argv for argv in fake.calls if "-6" in argv] and ["nft", "list", "tables", "ip6"] in fake.calls


def test_a_spec_with_an_ipv6_network_but_no_ipv6_bundle_is_refused():
    spec = bspec.from_side(copy.deepcopy(SIDE))
    del spec["local_bundle6"]
    with pytest.raises(ValueError, match="IPv6 peer_networks or snat6"):
        kernel.render.desired(spec, None, set(INTERFACES))
