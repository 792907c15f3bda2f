"""A bond with mptcp: subflow routing, endpoints, the relay's nftables chains and files."""
import json

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._host import relay
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import safe_text

from balance_fixtures import ALL_UP, spec

# Recorded from iproute2 6.1 on kernel 6.18: an endpoint keeps the ifindex of the
# interface it was made on, shown as if<N> once that interface is gone.
ENDPOINTS = json.dumps([{"address": "10.255.1.2", "id": 1, "subflow": True, "dev": "bo-paris-0"},
                        {"address": "10.255.1.6", "id": 2, "subflow": True, "dev": "if12"},
                        {"address": "192.0.2.7", "id": 3, "signal": True}])


def mptcp_spec(**changes):
    return bspec.with_relay_to([spec(mptcp=True, **changes)])[0]


def in_sync(want, subflows=8):
    current = kernel.Current()
    current.addresses, current.rules, current.routes = set(want.addresses), set(want.rules), dict(want.routes)
    current.nft = dict((name, {"listing": "x", "input": text}) for name, text in want.nft.items())
    current.endpoints = dict((address, {"id": n, "dev": dev, "subflow": True})
                             for n, (address, dev) in enumerate(sorted(want.endpoints.items()), 1))
    current.mptcp_subflows = subflows
    return current


def test_each_transfer_address_routes_by_its_own_table_into_its_tunnel():
    want = render.desired(mptcp_spec(), None, ALL_UP)
    for k in range(4):
        table = 10100 + k + layout.MPTCP_TABLE_OFFSET
        assert render.Rule(5032 + k + layout.MPTCP_PRIORITY_OFFSET, None, table, "10.255.1.%d" % (4 * k + 2)) in want.rules
        assert want.routes[(table, "0.0.0.0/0", 0)].nexthops == (("bo-paris-%d" % k, 1),)
        assert want.routes[(table, "0.0.0.0/0", render.BACKSTOP_METRIC)].kind == "unreachable"


def test_a_gone_tunnel_leaves_its_subflows_unreachable_and_loses_its_endpoint():
    want = render.desired(mptcp_spec(), None, ALL_UP - {"bo-paris-2"})
    assert (10152, "0.0.0.0/0", 0) not in want.routes
    assert want.routes[(10152, "0.0.0.0/0", render.BACKSTOP_METRIC)].kind == "unreachable"
    assert want.endpoints == {"10.255.1.2": "bo-paris-0", "10.255.1.6": "bo-paris-1", "10.255.1.14": "bo-paris-3"}


def test_endpoints_follow_the_live_set():
    assert sorted(render.desired(mptcp_spec(), [0, 3], ALL_UP).endpoints) == ["10.255.1.14", "10.255.1.2"]


def test_a_bond_without_mptcp_has_no_endpoint_rule_or_relay_chain():
    want = render.desired(spec(), None, ALL_UP)
    assert not want.endpoints and not want.mptcp_subflows
    assert all(rule.src is None for rule in want.rules)
    assert "relay" not in want.nft[("ip", "bonded_openvpn_paris")] and "1080" not in want.nft[("ip", "bonded_openvpn_paris")]


@pytest.mark.parametrize("balance", ["packet", "flowlet"])
def test_subflows_are_never_spread_per_packet(balance):
    text = render.render_nft(mptcp_spec(balance=balance, flowlet_gap=48), None)
    for chain in ("chain prerouting {", "chain output {"):
        body = text.split(chain)[1].split("}")[0].splitlines()
        rules = [line.strip() for line in body if line.strip() and not line.strip().startswith("type")]
        assert rules[:2] == ["ip daddr 10.255.1.254 tcp dport 1080 return", "ip daddr 10.255.1.254 tcp sport 1080 return"]


def test_the_relay_chains_catch_lan_tcp_and_guard_both_ports():
    text = render.render_nft(mptcp_spec(balance="flow"), None)
    assert 'iifname != "bo-paris-*" ip daddr { 192.168.1.0/24 } meta l4proto tcp dnat to 10.255.1.253:1081' in text
    assert "ip daddr 10.255.1.253 tcp dport 1081 ct status dnat accept" in text
    assert "ip daddr 10.255.1.253 tcp dport 1081 reject with tcp reset" in text
    peers = "{ 10.255.1.254, 10.255.1.1, 10.255.1.5, 10.255.1.9, 10.255.1.13 }"
    assert "ip daddr 10.255.1.253 tcp dport 1080 ip saddr != %s reject with tcp reset" % peers in text
    assert 'meta skuid "bonded-relay" ct state new ip daddr != { 10.255.1.254/32, 192.168.10.0/24 } reject' in text


def test_a_side_without_peer_networks_relays_nothing_in():
    assert "relay_in" not in render.render_nft(mptcp_spec(peer_networks=[]), None)


def test_relay_destinations_are_the_union_of_the_hosts_mptcp_bonds_collapsed():
    first = spec(mptcp=True, local_networks=["192.168.0.0/16"])
    second = spec(mptcp=True, bond="lyon", peer_bundle="10.255.2.254", local_networks=["192.168.10.0/24"])
    plain = spec(bond="nice", local_networks=["172.16.0.0/12"])
    bspec.with_relay_to([first, second, plain])
    assert first["relay_to"] == second["relay_to"] == ["10.255.1.254/32", "10.255.2.254/32", "192.168.0.0/16"]
    assert "relay_to" not in plain


def test_a_relay_destination_that_is_not_a_network_is_refused():
    broken = mptcp_spec()
    broken["relay_to"] = ["192.168.1.0/24 } accept; {"]
    with pytest.raises(safe_text.UnsafeValue):
        render.render_nft(broken, None)


def test_endpoints_are_read_as_ours_only_within_the_scope():
    endpoints = kernel.parse_endpoints(ENDPOINTS)
    assert endpoints["10.255.1.6"] == {"id": 2, "dev": "if12", "subflow": True}
    assert endpoints["192.0.2.7"]["subflow"] is False
    assert kernel.Scope.bond(mptcp_spec()).endpoints == {"10.255.1.2", "10.255.1.6", "10.255.1.10", "10.255.1.14"}
    assert not kernel.Scope.bond(spec()).endpoints


def test_limits_are_read_from_the_text_form():
    assert kernel.parse_limits("add_addr_accepted 0 subflows 2 \n") == (2, 0)


def test_nothing_changes_when_endpoints_and_limit_hold():
    want = render.desired(mptcp_spec(), None, ALL_UP)
    assert not kernel.plan_changes(want, in_sync(want), kernel.Scope.bond(mptcp_spec()))


def test_an_endpoint_left_on_a_vanished_interface_is_made_again_and_missing_ones_added():
    want = render.desired(mptcp_spec(), None, ALL_UP)
    current = in_sync(want)
    current.endpoints["10.255.1.6"]["dev"] = "if12"
    del current.endpoints["10.255.1.14"]
    commands = kernel.plan_changes(want, current, kernel.Scope.bond(mptcp_spec())).ip_commands
    stale = current.endpoints["10.255.1.6"]["id"]
    assert commands == ["mptcp endpoint delete id %d" % stale, "mptcp endpoint add 10.255.1.14 dev bo-paris-3 subflow",
                        "mptcp endpoint add 10.255.1.6 dev bo-paris-1 subflow"]


def test_an_endpoint_of_ours_without_a_device_is_deleted_when_its_tunnel_is_not_wanted():
    want = render.desired(mptcp_spec(), [0, 1, 2], ALL_UP)
    current = in_sync(want)
    current.endpoints["10.255.1.14"] = {"id": 9, "dev": None, "subflow": True}
    commands = kernel.plan_changes(want, current, kernel.Scope.bond(mptcp_spec())).ip_commands
    assert commands == ["mptcp endpoint delete id 9"]


def test_the_subflow_limit_is_raised_keeping_accepted_addresses_and_never_lowered():
    want = render.desired(mptcp_spec(), None, ALL_UP)
    current = in_sync(want, subflows=2)
    current.mptcp_accepted = 3
    changes = kernel.plan_changes(want, current, kernel.Scope.bond(mptcp_spec()))
    assert changes.ip_commands == ["mptcp limits set subflows 8 add_addr_accepted 3"]
    assert not kernel.plan_changes(want, in_sync(want, subflows=16), kernel.Scope.bond(mptcp_spec()))


def test_endpoints_come_after_the_rules_and_routes_they_need():
    want = render.desired(mptcp_spec(), None, ALL_UP)
    current = kernel.Current()
    current.mptcp_subflows = 2
    commands = kernel.plan_changes(want, current, kernel.Scope.bond(mptcp_spec())).ip_commands
    first_mptcp = min(n for n, c in enumerate(commands) if c.startswith("mptcp"))
    assert all(not c.startswith("mptcp") for c in commands[:first_mptcp])
    assert all(c.startswith("mptcp") for c in commands[first_mptcp:])
    assert commands[first_mptcp] == "mptcp limits set subflows 8 add_addr_accepted 0"


def test_a_removed_mptcp_bond_loses_its_endpoints():
    old = render.desired(mptcp_spec(), None, ALL_UP)
    commands = kernel.plan_changes(render.Desired(), in_sync(old), kernel.Scope.bond(mptcp_spec())).ip_commands
    assert sorted(c for c in commands if c.startswith("mptcp")) == ["mptcp endpoint delete id %d" % n for n in (1, 2, 3, 4)]


def test_a_host_without_mptcp_bonds_never_runs_ip_mptcp(tmp_path):
    calls = []

    def host(argv, data=None):
        calls.append(argv)
        return 0, "[]" if "-j" in argv else "add_addr_accepted 0 subflows 2\n", ""
    kernel.Kernel(host, str(tmp_path)).read(kernel.Scope.bond(spec()))
    assert not any("mptcp" in argv for argv in calls)
    kernel.Kernel(host, str(tmp_path)).read(kernel.Scope.bond(mptcp_spec()))
    assert ["ip", "-j", "mptcp", "endpoint", "show"] in calls and ["ip", "mptcp", "limits", "show"] in calls


def test_the_relay_files_name_the_bundles_and_ports():
    env = relay.render_env(mptcp_spec(), "managed")
    assert "BONDED_RELAY_LISTEN=10.255.1.253\nBONDED_RELAY_PORT=1080\n" in env
    conf = relay.render_redsocks(mptcp_spec(), "managed")
    for line in ("local_ip = 10.255.1.253;", "local_port = 1081;", "ip = 10.255.1.254;", "port = 1080;",
                 "type = socks5;", "redirector = iptables;", "daemon = off;"):
        assert "\t%s\n" % line in conf


def test_the_relay_files_refuse_an_address_that_would_change_their_meaning():
    broken = mptcp_spec()
    broken["peer_bundle"] = "10.255.1.254;\n}\nredsocks {"
    with pytest.raises(safe_text.UnsafeValue):
        relay.render_redsocks(broken, "managed")


def test_relay_file_names_are_never_read_as_specs():
    assert not any(path.endswith(".conf") for path in relay.paths("paris"))
