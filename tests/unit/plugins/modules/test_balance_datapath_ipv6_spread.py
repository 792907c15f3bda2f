"""balance_datapath spreading IPv6 per packet and per flowlet (an nftables ip6 table, IPv6
fwmark rules and per-tunnel IPv6 routes), and NAT66 on request, against a stand-in host."""
import json

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec

from ipv6_bond import INTERFACES, converge, side as flow_side, stand_in

TABLE6 = ("ip6", "bonded_openvpn_paris")


def side(**changes):
    """The client's side, spread per packet unless ``changes`` say otherwise."""
    return flow_side(**dict({"balance": "packet"}, **changes))


SIDE = side()


@pytest.fixture
def host(tmp_path, monkeypatch):
    return stand_in(tmp_path, monkeypatch)


def rules_of(host, version):
    return sorted((priority, mark, table) for priority, mark, table, _src, v in host.rules if v == version)


def test_packet_mode_marks_ipv6_per_packet_and_routes_each_mark_into_its_tunnel(capsys, host):
    assert converge(capsys, host, [SIDE])["changed"]
    table = host.nft[TABLE6]
    assert table.startswith("table ip6 bonded_openvpn_paris {")
    assert "type ipv6_addr" in table and "elements = { %s/128, 2001:db8:1::/64 }" % SIDE["peer_bundle6"] in table
    marks = [tunnel["mark"] for tunnel in SIDE["tunnels"]]
    assert "ip6 daddr @peer meta mark set numgen inc mod 3 map { 0 : %d, 1 : %d, 2 : %d }" % tuple(marks) in table
    # IPv4 keeps its own table, unchanged in shape.
    assert "ip daddr @peer meta mark set numgen inc mod 3" in host.nft[("ip", "bonded_openvpn_paris")]
    # A rule per tunnel in each family: an fwmark rule is IPv4 unless it was added with -6.
    expected = [(t["rule_priority"], t["mark"], t["table"]) for t in SIDE["tunnels"]]
    assert rules_of(host, 4) == expected and rules_of(host, 6) == expected
    for tunnel in SIDE["tunnels"]:
        route = host.routes[(tunnel["table"], "::/0", 1)]
        assert route["dev"] == tunnel["interface"] and route["prefsrc"] == SIDE["local_bundle6"]
        assert (tunnel["table"], "0.0.0.0/0", 0) in host.routes
    # The main table still holds the fallbacks: the first tunnel, then each alone, then unreachable.
    assert sorted(m for t, dst, m in host.routes if dst == "2001:db8:1::/64") == [1, 2, 3, 4294967295]


def test_the_ip6_table_has_its_own_snapshot_and_a_drifted_one_is_reloaded(capsys, host):
    converge(capsys, host, [SIDE])
    with open(bspec.snapshot_path("paris", str(host.root / "run"), "ip6")) as handle:
        assert json.load(handle)["input"] == host.nft[TABLE6]
    host.nft[TABLE6] = "table ip6 bonded_openvpn_paris {\n}\n"
    result = converge(capsys, host, [SIDE])
    assert "load nftables table ip6 bonded_openvpn_paris" in result["kernel_changes"]
    assert "numgen" in host.nft[TABLE6]


def test_flowlet_mode_keys_ipv6_flowlets_by_their_ipv6_five_tuple(capsys, host):
    converge(capsys, host, [side(balance="flowlet", flowlet_gap=20)])
    table = host.nft[TABLE6]
    assert table.count("type ipv6_addr . ipv6_addr . inet_proto . inet_service . inet_service") == 3
    key = "ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport"
    assert "\t\tip6 daddr != @peer return" in table
    assert "%s @flowlet_0 meta mark set 10100 update @flowlet_0 { %s } return" % (key, key) in table
    assert table.count("timeout 20ms") == 3 and rules_of(host, 6)


def test_switching_to_flow_takes_the_ip6_table_rules_and_tunnel_routes_away(capsys, host):
    converge(capsys, host, [SIDE])
    assert converge(capsys, host, [side(balance="flow")])["changed"]
    assert TABLE6 not in host.nft and rules_of(host, 6) == [] and rules_of(host, 4) == []
    assert not [key for key in host.routes if key[1] == "::/0"]
    assert not (host.root / "run" / "paris.nft6.json").exists()


def test_a_removed_bond_leaves_neither_table_nor_snapshot(capsys, host):
    converge(capsys, host, [SIDE])
    assert converge(capsys, host, [])["changed"]
    assert host.nft == {} and host.rules == set() and host.routes == {}
    assert not list((host.root / "run").glob("paris.nft*"))


def test_nat66_only_when_asked_rewrites_to_the_ipv6_bundle_what_goes_to_the_peer(capsys, host):
    converge(capsys, host, [side(balance="flow")])
    assert TABLE6 not in host.nft
    converge(capsys, host, [side(balance="flow", snat6=True)])
    table = host.nft[TABLE6]
    assert "numgen" not in table
    assert ('oifname "bo-paris-*" ip6 saddr != %s ip6 daddr { %s/128, 2001:db8:1::/64 } snat to %s'
            % (SIDE["local_bundle6"], SIDE["peer_bundle6"], SIDE["local_bundle6"])) in table
    # IPv4 SNAT stays the operator's own choice.
    assert "snat" not in host.nft[("ip", "bonded_openvpn_paris")]


def test_nat66_is_the_clients_the_server_never_rewrites():
    server = side(host="hq", snat6=True)
    assert server["snat6"] is False and render.render_nft6(bspec.from_side(server), None).count("snat") == 0


def test_an_ipv4_only_bond_writes_a_spec_as_before_and_no_ip6_table():
    plain = side(server_networks=["192.168.1.0/24"], client_networks=[])
    spec = bspec.from_side(plain)
    assert "snat6" not in spec and "local_bundle6" not in spec
    want = render.desired(spec, None, set(INTERFACES))
    assert list(want.nft) == [("ip", "bonded_openvpn_paris")] and all(r.version == 4 for r in want.rules)


def test_ipv6_rules_go_in_an_ip_dash_6_batch_after_the_routes_they_lead_to(tmp_path):
    spec = bspec.from_side(SIDE)
    changes = kernel.plan_changes(render.desired(spec, None, set(INTERFACES)), kernel.Current(),
                                  kernel.Scope.bond(spec))
    assert all(line.startswith("rule add") for line in changes.ip6_commands) and len(changes.ip6_commands) == 3
    assert not [line for line in changes.ip_commands if line.startswith("rule") and "fwmark" in line
                and line.split()[3] in [str(t["rule_priority"]) for t in SIDE["tunnels"]]
                and changes.ip_commands.count(line) > 1]
    assert "-6 rule add priority 5032 fwmark 10100 table 10100 protocol 194" in changes.summary
    calls = []
    kernel.Kernel(lambda argv, data=None: calls.append(argv) or (0, "table ip6 x {}\n", ""), str(tmp_path),
                  ipv6=True).apply(changes)
    batches = [argv for argv in calls if "-batch" in argv]
    assert batches[-1] == ["ip", "-6", "-force", "-batch", "-"]
