"""The server addresses a host dials, resolved there, against every route it puts into a bond."""
import ipaddress

from ansible_collections.bonded.openvpn.plugins.module_utils._host import remotes
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

HOSTS = {"hq": "203.0.113.10", "gw": "203.0.113.20", "spoke": "203.0.113.30"}
PARIS = {"name": "paris", "id": 1, "server": "hq", "client": "gw", "tunnels": 2, "port": 1194,
         "remote": "hq.example.test", "server_networks": ["192.168.1.0/24"], "client_networks": ["192.168.10.0/24"]}
# gw also serves berlin: its route for berlin's client network is one of gw's routes too.
BERLIN = {"name": "berlin", "id": 2, "server": "gw", "client": "spoke", "tunnels": 2, "port": 1300,
          "server_networks": ["192.168.10.0/24"], "client_networks": ["172.16.0.0/16"]}


def sides(host="gw", bonds=(PARIS, BERLIN)):
    return host_sides(build_plan([dict(b) for b in bonds], None, HOSTS), host)


def resolver(table, asked=None):
    def resolve(name, family):
        if asked is not None:
            asked.append((name, family))
        found = table.get(name)
        return None if found is None else [ipaddress.ip_address(a) for a in found]
    return resolve


def test_a_remote_that_resolves_outside_every_route_passes_and_is_reported():
    problems, warnings, resolved = remotes.check(sides(), resolver({"hq.example.test": ["203.0.113.10"]}))
    assert (problems, warnings, resolved) == ([], [], {"hq.example.test": ["203.0.113.10"]})


def test_a_remote_inside_the_bonds_own_server_networks_is_a_problem_naming_all_of_it():
    problems, dummy, dummy = remotes.check(sides(), resolver({"hq.example.test": ["192.168.1.1"]}))
    assert problems == [
        "bond 'paris': remote hq.example.test resolves on this host to 192.168.1.1, inside 192.168.1.0/24 (a network "
        "behind the server, field 'server_networks' of bond 'paris'), which this host routes into bond 'paris'; the "
        "tunnels' own packets would go into the tunnels: dial the server at an address outside the bonds' routes or "
        "change 'server_networks'"]


def test_the_peers_bundle_and_transfer_addresses_are_routes_too():
    for address, what in (("10.255.1.254", "the peer's bundle address"), ("10.255.1.5", "tunnel 1's peer address")):
        problems, dummy, dummy = remotes.check(sides(), resolver({"hq.example.test": [address]}))
        assert len(problems) == 1 and "(%s, field 'bonded_openvpn_pool' of bond 'paris')" % what in problems[0]


def test_a_route_of_another_bond_of_the_host_captures_the_remote_too():
    # gw serves berlin, so it routes berlin's client network into berlin.
    problems, dummy, dummy = remotes.check(sides(), resolver({"hq.example.test": ["172.16.3.4"]}))
    assert len(problems) == 1
    assert "field 'client_networks' of bond 'berlin'), which this host routes into bond 'berlin'" in problems[0]
    assert problems[0].startswith("bond 'paris': remote hq.example.test resolves on this host to 172.16.3.4")


def test_a_name_that_does_not_resolve_is_a_warning_only():
    problems, warnings, resolved = remotes.check(sides(), resolver({}))
    assert problems == [] and resolved == {}
    assert warnings == ["bond 'paris': field 'remote': 'hq.example.test' has no IPv4 address on this host, so it "
                        "cannot be checked against the bond's routes; the tunnels cannot connect until it resolves"]


def test_only_client_sides_dial_and_each_uplinks_remote_is_resolved_in_the_bonds_family():
    asked = []
    uplinked = dict(PARIS, uplinks=[{"name": "fibre", "interface": "eth1", "address": "198.51.100.2"},
                                    {"name": "lte", "interface": "wwan0", "address": "100.64.0.2",
                                     "remote": "hq-lte.example.test"}])
    remotes.check(sides("gw", (uplinked, BERLIN)), resolver({}, asked))
    assert asked == [("hq.example.test", "ipv4"), ("hq-lte.example.test", "ipv4")]
    asked[:] = []
    remotes.check(sides("hq", (dict(PARIS, underlay_family="ipv6"),)), resolver({}, asked))
    assert asked == []
    remotes.check(sides("gw", (dict(PARIS, underlay_family="ipv6"),)), resolver({}, asked))
    assert asked == [("hq.example.test", "ipv6")]


def test_an_ipv6_address_is_never_compared_with_an_ipv4_network():
    problems, dummy, dummy = remotes.check(sides(), resolver({"hq.example.test": ["::ffff:192.168.1.1"]}))
    assert problems == []
