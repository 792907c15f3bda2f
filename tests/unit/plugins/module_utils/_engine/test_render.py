import re
from collections import Counter

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render

from balance_fixtures import ALL_UP, spec


def numgen_map(text):
    """{slot: mark} of the first numgen rule, and its modulus."""
    found = re.search(r"numgen inc mod (\d+) map \{ ([^}]*) \}", text)
    pairs = [item.split(" : ") for item in found.group(2).split(", ")]
    return int(found.group(1)), dict((int(slot), int(mark)) for slot, mark in pairs)


@pytest.mark.parametrize("weights, expected", [
    ([(0, 1), (1, 1), (2, 1), (3, 1)], [0, 1, 2, 3]),
    ([(0, 3), (1, 1), (2, 1), (3, 1)], [0, 1, 0, 2, 3, 0]),
    ([(0, 2), (1, 2)], [0, 1]),            # common divisor removed
    ([(2, 5)], [2]),
])
def test_spread_slots_interleave_tunnels_in_proportion_to_their_weights(weights, expected):
    assert render.spread_slots(weights) == expected


def test_spread_slots_never_put_a_heavy_tunnel_in_more_than_its_share_of_a_row():
    slots = render.spread_slots([(0, 5), (1, 3), (2, 2)])
    assert Counter(slots) == {0: 5, 1: 3, 2: 2}
    assert "0, 0, 0" not in ", ".join(str(s) for s in slots)


def test_packet_mode_marks_the_peer_traffic_in_prerouting_and_a_route_type_output_chain():
    text = render.render_nft(spec(), live=None)
    assert "type filter hook prerouting priority mangle" in text
    assert "type route hook output priority mangle" in text
    assert text.count("meta mark set numgen inc mod 6") == 2
    assert "elements = { 10.255.1.254/32, 192.168.1.0/24 }" in text


def test_packet_mode_weights_repeat_map_entries():
    modulus, mapping = numgen_map(render.render_nft(spec(), live=None))
    assert modulus == 6
    assert Counter(mapping.values()) == {10100: 3, 10101: 1, 10102: 1, 10103: 1}


def test_a_dead_tunnel_leaves_the_map_and_the_modulus_shrinks():
    modulus, mapping = numgen_map(render.render_nft(spec(), live=[0, 2, 3]))
    assert modulus == 5
    assert 10101 not in mapping.values()


def test_with_no_live_tunnel_the_map_keeps_every_tunnel_rather_than_none():
    modulus, mapping = numgen_map(render.render_nft(spec(), live=[]))
    assert modulus == 6 and set(mapping.values()) == {10100, 10101, 10102, 10103}


def test_snat_rewrites_everything_but_the_hosts_own_addresses_to_the_bundle_address():
    text = render.render_nft(spec(snat=True), live=None)
    assert 'oifname "bo-paris-*" ip saddr != { 10.255.1.253, 10.255.1.2, 10.255.1.6, 10.255.1.10, 10.255.1.14 }' \
        ' snat ip to 10.255.1.253' in text
    assert "type nat hook postrouting priority srcnat" in text


def test_without_snat_there_is_no_nat_chain():
    assert "snat" not in render.render_nft(spec(snat=False), live=None)


def test_flow_mode_has_no_marks():
    text = render.render_nft(spec(balance="flow"), live=None)
    assert "numgen" not in text and "chain prerouting" not in text


def main_routes(want, dst):
    return [want.routes[key] for key in sorted(key for key in want.routes if key[:2] == (254, dst))]


def test_packet_mode_wants_one_rule_per_tunnel_and_a_table_route_per_up_interface():
    want = render.desired(spec(), None, {"bo-paris-0", "bo-paris-2"})
    assert want.rules == set(render.Rule(5032 + k, 10100 + k, 10100 + k) for k in range(4))
    assert sorted(key for key in want.routes if key[0] != 254) == [(10100, "0.0.0.0/0", 0), (10102, "0.0.0.0/0", 0)]
    assert want.routes[(10102, "0.0.0.0/0", 0)] == render.Route(
        10102, "0.0.0.0/0", 0, "unicast", (("bo-paris-2", 1),), "10.255.1.253")


def test_packet_mode_routes_the_peer_unmarked_via_the_first_live_tunnel_then_the_others():
    want = render.desired(spec(), [1, 2, 3], ALL_UP)
    for dst in ("10.255.1.254/32", "192.168.1.0/24"):
        routes = main_routes(want, dst)
        assert [(r.metric, r.nexthops) for r in routes[:3]] == [
            (0, (("bo-paris-1", 1),)), (1, (("bo-paris-2", 1),)), (2, (("bo-paris-3", 1),))]
        assert routes[0].src == "10.255.1.253"


@pytest.mark.parametrize("balance", ["packet", "flow"])
def test_the_last_resort_for_the_peer_is_unreachable_rather_than_the_default_route_in_clear(balance):
    routes = main_routes(render.desired(spec(balance=balance), None, ALL_UP), "192.168.1.0/24")
    assert routes[-1] == render.Route(254, "192.168.1.0/24", render.BACKSTOP_METRIC, "unreachable", (), None)


@pytest.mark.parametrize("balance", ["packet", "flow"])
def test_with_no_interface_up_only_the_last_resort_remains(balance):
    routes = main_routes(render.desired(spec(balance=balance), None, set()), "192.168.1.0/24")
    assert [r.kind for r in routes] == ["unreachable"]


def test_the_bundle_address_is_wanted_on_lo():
    assert render.desired(spec(), None, ALL_UP).addresses == {"10.255.1.253"}


def test_flow_mode_wants_one_weighted_multipath_route_over_the_live_tunnels_and_no_rules():
    want = render.desired(spec(balance="flow"), [0, 1, 3], ALL_UP)
    assert not want.rules
    assert set(key[:2] for key in want.routes) == {(254, "10.255.1.254/32"), (254, "192.168.1.0/24")}
    first = main_routes(want, "192.168.1.0/24")[0]
    assert first.metric == 0 and first.nexthops == (("bo-paris-0", 3), ("bo-paris-1", 1), ("bo-paris-3", 1))


def test_flow_mode_keeps_each_live_tunnel_as_a_fallback_for_when_the_multipath_route_vanishes():
    routes = main_routes(render.desired(spec(balance="flow"), [0, 1], ALL_UP), "192.168.1.0/24")
    assert [(r.metric, len(r.nexthops)) for r in routes] == [(0, 2), (1, 1), (2, 1), (render.BACKSTOP_METRIC, 0)]


def test_flow_mode_with_one_carrier_is_a_plain_route():
    assert main_routes(render.desired(spec(balance="flow"), [2], ALL_UP), "10.255.1.254/32")[0].nexthops == (
        ("bo-paris-2", 1),)


def test_merge_unites_what_several_bonds_want():
    other = spec(bond="berlin", id=2, local_bundle="10.255.2.253", peer_bundle="10.255.2.254", peer_networks=[])
    want = render.desired(spec(), None, ALL_UP).merge(render.desired(other, None, set()))
    assert want.addresses == {"10.255.1.253", "10.255.2.253"}
    assert set(want.nft) == {("ip", "bonded_openvpn_paris"), ("ip", "bonded_openvpn_berlin")}


def test_flowlet_mode_keeps_a_flow_on_its_tunnel_until_it_pauses_and_places_new_ones_by_weight():
    from balance_fixtures import spec as make_spec
    text = render.render_nft(make_spec(balance="flowlet", flowlet_gap=20), [0, 1, 3])
    for k in range(4):
        # Every tunnel has its set (a tunnel back in rotation finds it), with the gap as timeout.
        assert "\tset flowlet_%d {" % k in text
    assert text.count("timeout 20ms") == 4
    key = render.flowlet_key(render.IPV4_NFT)
    assert "%s @flowlet_0 meta mark set 10100 update @flowlet_0 { %s } return" % (key, key) in text
    # Only tunnels in rotation keep their flows: tunnel 2's fall to numgen.
    assert "@flowlet_2 meta mark" not in text and "add @flowlet_2" not in text
    assert "meta mark set numgen inc mod 5 map { 0 : 10100, 1 : 10101, 2 : 10100, 3 : 10103, 4 : 10100 }" in text
    assert text.count("jump steer") == 2      # prerouting and output


def test_flowlet_mode_has_the_rules_and_tables_of_packet_mode():
    from balance_fixtures import spec as make_spec
    flowlet = render.desired(make_spec(balance="flowlet"), None, ALL_UP)
    packet = render.desired(make_spec(balance="packet"), None, ALL_UP)
    assert flowlet.rules == packet.rules and flowlet.routes == packet.routes


def test_a_flowlet_gap_outside_its_bounds_is_refused():
    from balance_fixtures import spec as make_spec
    for gap in (0, 3, 10001, "20"):
        bond = make_spec(balance="flowlet")
        bond["flowlet_gap"] = gap
        with pytest.raises(Exception, match="flowlet_gap"):
            render.render_nft(bond, None)


# UDP in packet and flowlet modes: per flow by default (udp_balance).

UDP_HASH = ("ip daddr @peer meta l4proto udp meta mark set jhash ip saddr . ip daddr . udp sport . udp dport "
            "mod 5 seed 0xb0d map { 0 : 10100, 1 : 10101, 2 : 10100, 3 : 10103, 4 : 10100 } return")


@pytest.mark.parametrize("balance", ["packet", "flowlet"])
def test_a_udp_flow_is_hashed_onto_one_tunnel_in_rotation_before_any_per_packet_rule(balance):
    from balance_fixtures import spec as make_spec
    text = render.render_nft(make_spec(balance=balance, flowlet_gap=48 if balance == "flowlet" else None), [0, 1, 3])
    assert text.count(UDP_HASH) == 2          # prerouting and output
    for chain in ("prerouting", "output"):
        body = text.split("chain %s {" % chain)[1].split("\n\t}")[0]
        later = "numgen inc" if balance == "packet" else "jump steer"
        assert body.index(UDP_HASH) < body.index(later)


def test_udp_balance_packet_stripes_udp_like_tcp():
    from balance_fixtures import spec as make_spec
    text = render.render_nft(make_spec(udp_balance="packet"), [0, 1, 3])
    assert "jhash" not in text and "numgen inc mod 5" in text


def test_a_spec_older_than_udp_balance_hashes_udp_per_flow():
    from balance_fixtures import spec as make_spec
    old = dict((k, v) for k, v in make_spec().items() if k != "udp_balance")
    assert UDP_HASH in render.render_nft(old, [0, 1, 3])


def test_flow_mode_has_no_udp_rule():
    from balance_fixtures import spec as make_spec
    assert "jhash" not in render.render_nft(make_spec(balance="flow"), None)


def test_an_unknown_udp_balance_is_refused():
    from balance_fixtures import spec as make_spec
    with pytest.raises(Exception, match="udp_balance"):
        render.render_nft(make_spec(udp_balance="flowlet"), None)
