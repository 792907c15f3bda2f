"""What a host must offer before site.yml changes anything: its uplinks and its kernel, read
from a stand-in host (files, devices, names), never from the machine running the tests."""
import ipaddress
import os
import re

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._host import preflight
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
HOSTS = {"hq": "203.0.113.10", "gw": "203.0.113.20"}
BOND = {"name": "paris", "id": 1, "server": "hq", "client": "gw", "tunnels": 4, "port": 1194,
        "server_networks": ["192.168.1.0/24"], "client_networks": ["192.168.10.0/24"]}
UPLINKS = [{"name": "fibre", "interface": "eth1", "address": "198.51.100.2"},
           {"name": "lte", "interface": "wwan0", "address": "100.64.0.2"}]
# A trimmed /proc/net/fib_trie of a real host: the held addresses are the "/32 host LOCAL" leaves.
FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 100.64.0.0/24 2 0 2
        |-- 100.64.0.0
           /24 link UNICAST
        |-- 100.64.0.2
           /32 host LOCAL
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.0
           /8 host LOCAL
        |-- 127.0.0.1
           /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 198.51.100.0/24 2 0 2
        |-- 198.51.100.2
           /32 host LOCAL
        |-- 198.51.100.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 198.51.100.2
        /32 host LOCAL
"""
UP, DOWN = "0x1003", "0x1002"


class FakeHost(preflight.Host):
    """A healthy host with tun built in, IPv6 on and MPTCP on; tests take things away."""

    def __init__(self, **files):
        self.files = {
            preflight.FIB_TRIE: FIB_TRIE,
            preflight.NONLOCAL_BIND: "0",
            "/sys/class/net/eth1/flags": UP,
            "/sys/class/net/wwan0/flags": UP,
            preflight.MPTCP_ENABLED: "1",
            preflight.IPV6_PROC: "",
            preflight.PROC_MODULES: "tun 61440 0 - Live 0x0000000000000000\n",
            preflight.DISABLE_IPV6 % "all": "0",
            preflight.DISABLE_IPV6 % "default": "0",
            preflight.DISABLE_IPV6 % "lo": "0",
        }
        self.files.update(dict((path, text) for path, text in files.items()))
        self.files = dict((path, text) for path, text in self.files.items() if text is not None)
        self.device_error = None
        self.names = {}

    def read(self, path):
        return self.files.get(path)

    def exists(self, path):
        return path in self.files

    def opens(self, path):
        assert path == preflight.TUN_DEVICE
        return self.device_error

    def release(self):
        return "6.1.0-28-amd64"

    def resolve(self, name, family):
        # As getaddrinfo: an address stands for itself.
        found = self.names.get(name, [name] if re.match(r"[0-9.]+\Z|.*:", name) else None)
        return None if found is None else [ipaddress.ip_address(a) for a in found]


def sides(host="gw", pool6=None, **changes):
    return host_sides(build_plan([dict(BOND, **changes)], None, HOSTS, pool6), host)


def check(host, side_list):
    problems, warnings, dummy = preflight.check(side_list, host)
    return problems, warnings


def test_a_healthy_host_has_nothing_to_say():
    host = FakeHost()
    host.names["hq.example.test"] = ["203.0.113.10"]
    assert check(host, sides(remote="hq.example.test", uplinks=UPLINKS, mptcp=True)) == ([], [])
    assert preflight.check(sides(remote="hq.example.test"), host)[2] == {"resolved": {"hq.example.test": ["203.0.113.10"]}}


def test_the_held_addresses_are_the_local_leaves_of_the_fib_trie():
    assert preflight.local_ipv4(FIB_TRIE) == {"100.64.0.2", "127.0.0.1", "198.51.100.2"}
    assert preflight.local_ipv4(None) == set()


def test_a_remote_resolving_into_the_bonds_routes_is_a_problem():
    host = FakeHost()
    host.names["hq.example.test"] = ["192.168.1.1"]
    problems, dummy = check(host, sides(remote="hq.example.test"))
    assert len(problems) == 1 and "inside 192.168.1.0/24" in problems[0]


def test_an_uplink_address_the_host_does_not_hold_is_a_problem_naming_bond_uplink_and_tunnels():
    problems, warnings = check(FakeHost(), sides(uplinks=[UPLINKS[0], dict(UPLINKS[1], address="100.64.0.9")]))
    assert problems == ["bond 'paris': uplink 'lte': address 100.64.0.9 is not held by this host, so OpenVPN cannot "
                        "bind tunnels 1, 3 to it and their instances would fail to start: give wwan0 the address "
                        "100.64.0.9, or correct the uplink's 'address'"]
    assert warnings == []


def test_with_nonlocal_bind_a_missing_address_is_a_warning_while_another_uplink_works():
    host = FakeHost(**{preflight.NONLOCAL_BIND: "1"})
    problems, warnings = check(host, sides(uplinks=[UPLINKS[0], dict(UPLINKS[1], address="100.64.0.9")]))
    assert problems == [] and len(warnings) == 1
    assert warnings[0].startswith("bond 'paris': uplink 'lte': address 100.64.0.9 is not held by this host")


def test_a_missing_or_down_interface_is_a_warning_while_another_uplink_works():
    host = FakeHost(**{"/sys/class/net/wwan0/flags": None})
    assert check(host, sides(uplinks=UPLINKS)) == ([], [
        "bond 'paris': uplink 'lte': interface wwan0 is not on this host; the uplink's tunnels stay out of the bond "
        "until it is up"])
    host = FakeHost(**{"/sys/class/net/eth1/flags": DOWN})
    assert check(host, sides(uplinks=UPLINKS))[1] == [
        "bond 'paris': uplink 'fibre': interface eth1 is down; the uplink's tunnels stay out of the bond until it is up"]


def test_a_bond_none_of_whose_uplinks_can_carry_a_tunnel_is_a_problem():
    host = FakeHost(**{"/sys/class/net/eth1/flags": DOWN, "/sys/class/net/wwan0/flags": None})
    problems, warnings = check(host, sides(uplinks=UPLINKS))
    assert problems == ["bond 'paris': none of its uplinks (fibre, lte) can carry a tunnel on this host, so the bond "
                        "cannot work; see the warnings about them"]
    assert len(warnings) == 2


def test_uplinks_are_the_clients_business_only():
    host = FakeHost(**{preflight.FIB_TRIE: None})
    assert check(host, sides("hq", uplinks=UPLINKS)) == ([], [])


@pytest.mark.parametrize("enabled, why", [
    ("0", "MPTCP is off (net.mptcp.enabled = 0): set it to 1"),
    (None, "its kernel has no MPTCP (no /proc/sys/net/mptcp/enabled: a kernel built without CONFIG_MPTCP)"),
])
def test_an_mptcp_bond_needs_mptcp_enabled(enabled, why):
    host = FakeHost(**{preflight.MPTCP_ENABLED: enabled})
    assert check(host, sides(mptcp=True))[0] == ["bond 'paris': mptcp is on, but %s; or set mptcp: false on it" % why]
    assert check(host, sides())[0] == []


def test_an_ipv6_underlay_needs_ipv6_in_the_kernel_and_not_disabled():
    side_list = sides(underlay_family="ipv6", remote="2001:db8::10")
    assert check(FakeHost(**{preflight.IPV6_PROC: None}), side_list)[0] == [
        "bond 'paris' (its underlay is IPv6): this host's kernel has no IPv6 (/proc/net/if_inet6 is missing: booted "
        "with ipv6.disable=1?); enable IPv6 on the host, or plan the bond without it"]
    assert check(FakeHost(**{preflight.DISABLE_IPV6 % "all": "1"}), side_list)[0] == [
        "bond 'paris' (its underlay is IPv6): IPv6 is disabled on this host (net.ipv6.conf.all.disable_ipv6 = 1); "
        "set it to 0"]
    # Only 'all' matters to the underlay; lo and new devices matter to IPv6 inside.
    assert check(FakeHost(**{preflight.DISABLE_IPV6 % "lo": "1"}), side_list)[0] == []


def test_ipv6_inside_needs_it_on_lo_and_on_new_devices_and_ipv4_bonds_never_ask():
    side_list = sides(pool6="fd00:0:0:ff00::/56", server_networks=["192.168.1.0/24", "fd00:1::/64"])
    host = FakeHost(**{preflight.DISABLE_IPV6 % "lo": "1", preflight.DISABLE_IPV6 % "default": "1"})
    assert check(host, side_list)[0] == [
        "bond 'paris' (it carries IPv6 (bonded_openvpn_pool6)): IPv6 is disabled on this host "
        "(net.ipv6.conf.default.disable_ipv6, net.ipv6.conf.lo.disable_ipv6 = 1); set them to 0"]
    assert check(FakeHost(**{preflight.IPV6_PROC: None}), sides())[0] == []


def test_tun_built_in_or_loaded_must_have_a_usable_device():
    host = FakeHost()
    host.device_error = "No such file or directory"
    assert check(host, sides())[0] == [
        "the kernel has tun, but /dev/net/tun cannot be used (No such file or directory); give the host the device "
        "(a container: create it with --device /dev/net/tun)"]
    host = FakeHost(**{preflight.PROC_MODULES: None, "/sys/class/misc/tun": ""})
    assert check(host, sides())[0] == []


def test_tun_that_is_not_there_must_be_loadable():
    no_modules = FakeHost(**{preflight.PROC_MODULES: None})
    assert check(no_modules, sides())[0] == [
        "the tunnels need tun, but the kernel cannot load modules (/proc/modules is absent) and has no tun built in; "
        "use a kernel with CONFIG_TUN"]
    dep = preflight.MODULES_DEP % "6.1.0-28-amd64"
    loadable = FakeHost(**{preflight.PROC_MODULES: "", dep: "kernel/drivers/net/tun.ko.xz:\nkernel/fs/fat.ko.xz:"})
    assert check(loadable, sides())[0] == []
    assert check(FakeHost(**{preflight.PROC_MODULES: ""}), sides())[0] == []   # no modules.dep: the role will say
    without = FakeHost(**{preflight.PROC_MODULES: "", dep: "kernel/drivers/net/tunnel4.ko.xz:"})
    assert check(without, sides())[0] == [
        "the tunnels need tun, but kernel 6.1.0-28-amd64 has no tun module (/lib/modules/6.1.0-28-amd64/modules.dep "
        "does not list tun.ko); use a kernel with CONFIG_TUN"]


def test_a_host_that_plays_no_bond_needs_nothing():
    assert check(FakeHost(**{preflight.PROC_MODULES: None}), []) == ([], [])


def test_every_problem_is_reported_at_once():
    host = FakeHost(**{preflight.MPTCP_ENABLED: "0", preflight.PROC_MODULES: None})
    host.names["hq.example.test"] = ["192.168.1.7"]
    problems, dummy = check(host, sides(remote="hq.example.test", mptcp=True,
                                        uplinks=[dict(UPLINKS[0], address="198.51.100.9")]))
    starts = ["bond 'paris': remote hq.example.test resolves", "bond 'paris': uplink 'fibre': address 198.51.100.9",
              "bond 'paris': mptcp is on", "the tunnels need tun"]
    assert len(problems) == len(starts) and all(p.startswith(start) for p, start in zip(problems, starts)), problems


def _templates():
    with open(os.path.join(ROOT, "docs", "preflight.md")) as handle:
        section = handle.read().split("\n## Messages\n", 1)[1].split("\n## ", 1)[0]
    lines = [line[3:-1] for line in section.splitlines() if line.startswith("- `")]
    return [re.compile(".+?".join(re.escape(part) for part in re.split(r"<[^<>]+>", line)) + r"\Z") for line in lines]


def test_every_problem_is_documented_and_every_documented_message_is_real():
    host = FakeHost(**{preflight.MPTCP_ENABLED: "0", preflight.PROC_MODULES: None})
    host.names["hq.example.test"] = ["192.168.1.7"]
    messages = check(host, sides(remote="hq.example.test", mptcp=True,
                                 uplinks=[dict(UPLINKS[0], address="198.51.100.9")]))[0]
    down = FakeHost(**{"/sys/class/net/eth1/flags": DOWN, "/sys/class/net/wwan0/flags": DOWN})
    down.device_error = "Operation not permitted"
    messages += check(down, sides(uplinks=UPLINKS))[0]
    underlay6 = sides(underlay_family="ipv6", remote="2001:db8::1")
    messages += check(FakeHost(**{preflight.IPV6_PROC: None}), underlay6)[0]
    messages += check(FakeHost(**{preflight.DISABLE_IPV6 % "all": "1"}), underlay6)[0]
    templates = _templates()
    assert len(templates) == 8
    for message in messages:
        assert [t for t in templates if t.match(message)], message
    for template in templates:
        assert [m for m in messages if template.match(m)], template.pattern
