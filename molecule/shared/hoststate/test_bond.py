"""A host that serves or dials a bond: files, units, interfaces, nftables, rules and routes.

One test per behaviour; each runs for every tunnel, every side of a bond, or every host
listed in the expectation file (see conftest.py). The kernel objects are those
plugins/module_utils/_engine/render.py describes; the hosts are read with ip, nft and
systemctl.
"""
import os
import re
import time

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from conftest import json_of

CONFIG_DIR = layout.CONFIG_DIR
ROUTE_PROTOCOL = layout.ROUTE_PROTOCOL
# The modes that mark packets for their tunnels (fwmark rules and a table per tunnel); flow
# mode routes by one multipath route instead.
MARKING = ("packet", "flowlet")
# systemd-analyze security bands: below 5.0 is OK or better (the units scored 7.3 and 5.9
# before they were locked down).
EXPOSURE_MAX = 5.0
CAP_NET_ADMIN = 1 << 12
CAP_DAC_OVERRIDE = 1 << 1


def eventually(check, seconds=30, interval=2):
    """Runs check() until it passes or ``seconds`` are over (tunnels renegotiate, the
    watchdog needs a few probe rounds to call a tunnel alive); the last failure stands."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


def assert_private_to_root(host, path):
    key = host.file(path)
    assert key.is_file, "%s is missing" % path
    assert (key.mode, key.user) == (0o600, "root"), "%s: mode %o, owner %s" % (path, key.mode, key.user)


# Files and modes

def test_host_key_is_private_to_root(host):
    assert_private_to_root(host, CONFIG_DIR + "/identity/host.key")


def test_tls_crypt_key_is_private_to_root(host, side):
    assert_private_to_root(host, "%s/bonds/%s/tls-crypt.key" % (CONFIG_DIR, side["bond"]))


def test_instance_config_is_readable_by_openvpn_only(host, tunnel):
    config = host.file("%s/instances/%s.conf" % (CONFIG_DIR, tunnel["instance"]))
    assert config.is_file
    assert (config.mode, config.user, config.group) == (0o640, "root", layout.USER)


def test_no_config_unit_or_interface_beyond_the_planned_tunnels(host, side):
    planned = sorted(tunnel["index"] for tunnel in side["tunnels"])
    assert tunnel_indexes(side["bond"], host.check_output("ls %s/instances", CONFIG_DIR).split()) == planned
    assert tunnel_indexes(side["bond"], running_units(host)) == planned
    assert tunnel_indexes(side["bond"], enabled_units(host)) == planned
    assert tunnel_indexes(side["bond"], [link["ifname"] for link in json_of(host, "ip -j link show")]) == planned


def test_no_rule_or_routing_table_beyond_the_planned_tunnels(host, side):
    planned = sorted(tunnel["table"] for tunnel in side["tunnels"]) if side["balance"] in MARKING else []
    tables = bond_tables(side["id"])
    ruled = sorted(int(rule["table"]) for rule in json_of(host, "ip -j rule show")
                   if rule.get("table", "").isdigit() and int(rule["table"]) in tables)
    assert ruled == planned
    assert routed_tables(host, tables) == planned


# Units

def test_instance_runs_and_starts_at_boot(host, tunnel):
    unit = host.service(tunnel["unit"])
    assert unit.is_running
    assert unit.is_enabled


def test_watchdog_runs(host, side):
    assert host.service(layout.WATCHDOG_UNIT % side["bond"]).is_running


def test_units_are_sandboxed(host, side):
    for unit in (side["tunnels"][0]["unit"], layout.WATCHDOG_UNIT % side["bond"]):
        report = host.check_output("systemd-analyze security --no-pager %s", unit)
        levels = re.findall(r"Overall exposure level for \S+: ([0-9.]+)", report)
        assert len(levels) == 1 and float(levels[0]) < EXPOSURE_MAX, "%s: %s" % (unit, levels)


def test_openvpn_runs_as_its_own_user_with_net_admin_alone(host, side):
    pid = host.check_output("systemctl show -p MainPID --value %s", side["tunnels"][0]["unit"])
    status = host.file("/proc/%s/status" % pid).content_string
    assert host.file("/proc/%s" % pid).user == layout.USER
    assert int(re.search(r"CapEff:\s*([0-9a-f]+)", status).group(1), 16) == CAP_NET_ADMIN
    assert not int(re.search(r"CapBnd:\s*([0-9a-f]+)", status).group(1), 16) & CAP_DAC_OVERRIDE


# Tunnels

def test_tunnel_is_connected(host, tunnel):
    def connected():
        state = host.run("python3 -c %s %s", MANAGEMENT_STATES, tunnel["instance"])
        assert state.stdout.strip() == "CONNECTED", "%s: %s%s" % (tunnel["instance"], state.stdout, state.stderr)
    eventually(connected)


def test_tunnel_interface_is_up_with_its_address(host, tunnel):
    link = json_of(host, "ip -j addr show dev %s" % tunnel["interface"])[0]
    assert "UP" in link["flags"]
    assert tunnel["local_address"] in [address["local"] for address in link["addr_info"]]


def test_ping_crosses_the_tunnel_to_its_peer(host, tunnel):
    host.check_output("ping -c 2 -W 2 -I %s %s", tunnel["interface"], tunnel["peer_address"])


# Data path

def test_bundle_address_is_on_lo(host, side):
    link = json_of(host, "ip -j addr show dev lo")[0]
    assert side["local_bundle"] in [address["local"] for address in link["addr_info"]]


def test_nft_table_spreads_packets_over_every_tunnel(host, side):
    def every_mark():
        table = host.check_output("nft list table ip %s%s", layout.NFT_TABLE_PREFIX, side["bond"])
        if side["balance"] == "packet":
            marks = set(int(mark, 0) for mark in re.findall(r"\d+ : (0x[0-9a-f]+|\d+)", table))
            assert marks == set(tunnel["mark"] for tunnel in side["tunnels"]), table
        elif side["balance"] == "flowlet":
            # A chain per flowlet: a packet of a known flowlet keeps its tunnel's mark.
            marks = set(int(mark, 0) for mark in re.findall(r"meta mark set (0x[0-9a-f]+|\d+)", table))
            assert marks == set(tunnel["mark"] for tunnel in side["tunnels"]), table
        else:
            assert "meta mark set" not in table, table
        if side["balance"] in ("packet", "flowlet"):
            # UDP per flow (udp_balance flow, the default): a hash of its addresses and ports.
            # nft lists the rule without its "meta l4proto udp", which the udp ports imply.
            hashed = "meta mark set jhash ip saddr . ip daddr . udp sport . udp dport" in table
            assert hashed == (side.get("udp_balance", "flow") == "flow"), table
        if side["snat"]:
            # nft lists "snat ip to A" where the rule names its family (packet mode's map
            # rules) and "snat to A" where it does not (flow mode): both are the same SNAT.
            assert re.search(r"snat (ip )?to %s\b" % re.escape(side["local_bundle"]), table), table
    eventually(every_mark)


def test_marked_packets_are_routed_into_their_tunnel(host, tunnel, side):
    """Packet and flowlet modes: the tunnel's mark leads to its table, whose one route is the
    tunnel. Flow mode marks nothing, so no rule of the tunnel's may exist."""
    rules = [dict((key, rule.get(key)) for key in ("priority", "fwmark", "table")) for rule in json_of(host, "ip -j rule show")]
    wanted = {"priority": tunnel["rule_priority"], "fwmark": hex(tunnel["mark"]), "table": str(tunnel["table"])}
    if side["balance"] not in MARKING:
        assert not [rule for rule in rules if rule["fwmark"] == hex(tunnel["mark"])], rules
        return
    assert wanted in rules, rules
    routes = json_of(host, "ip -j route show table %d proto %d" % (tunnel["table"], ROUTE_PROTOCOL))
    assert [(route["dst"], route.get("dev")) for route in routes] == [("default", tunnel["interface"])]


def test_the_peer_is_routed_into_the_bond(host, side):
    """Flow mode: one multipath route over every tunnel; packet mode: a route into a tunnel
    for unmarked packets. Either way, before an unreachable route and never in clear."""
    interfaces = sorted(tunnel["interface"] for tunnel in side["tunnels"])
    for destination in [side["peer_bundle"]] + list(side["peer_networks"]):
        def routed(destination=destination):
            routes = json_of(host, "ip -j route show %s proto %d" % (destination, ROUTE_PROTOCOL))
            first = min(routes, key=lambda route: route.get("metric", 0))
            hops = sorted(hop["dev"] for hop in first.get("nexthops", [])) or [first.get("dev")]
            if side["balance"] == "flow":
                assert hops == interfaces, routes
            else:
                assert hops[0] in interfaces, routes
            assert any(route.get("type") == "unreachable" for route in routes), routes
        eventually(routed)


# Helpers: the hosts' own tools, parsed.

# Asks one instance's management socket for its state; run on the host with python3 -c.
with open(os.path.join(os.path.dirname(__file__), "management_states.py")) as _script:
    MANAGEMENT_STATES = _script.read()


def bond_tables(bond_id):
    """The balancer's routing tables of bond id ``bond_id``."""
    first = layout.mark(bond_id, 0)
    return range(first, first + layout.TABLE_STRIDE)


def routed_tables(host, tables):
    """Those of ``tables`` that hold a route, in one read of every table."""
    found = set(route.get("table") for route in json_of(host, "ip -j route show table all"))
    return [table for table in tables if str(table) in found]


def tunnel_indexes(bond, names):
    found = (re.match(r"^(?:bo-)?(?:bonded-openvpn@)?%s-(\d+)(?:\.conf|\.service)?$" % re.escape(bond), name)
             for name in names)
    return sorted(int(match.group(1)) for match in found if match)


def running_units(host):
    units = host.check_output("systemctl list-units 'bonded-openvpn@*' --all --plain --no-legend")
    return [line.split()[0] for line in units.splitlines()
            if line.strip() and line.split()[2] in ("active", "activating", "failed")]


def enabled_units(host):
    return host.check_output("ls /etc/systemd/system/multi-user.target.wants").split()
