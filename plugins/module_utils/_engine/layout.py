# -*- coding: utf-8 -*-
"""Every name and number bonded.openvpn puts on a host, in one place.

Paths, unit and interface names, marks, routing tables, rule priorities and the watchdog's
probe defaults are a contract: the roles write them, the modules and the watchdog read them,
and the cleanup of removed tunnels finds them by these patterns. The planner, the modules,
the engine, the roles (through the ``bonded.openvpn.layout`` filter) and the tests all take
them from here; docs/layout.md is checked against this file by a unit test.

Standard library only and no imports: part of the engine shipped to every host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Users and groups.
USER = "bonded-openvpn"
RELAY_USER = "bonded-relay"

# Files. Per-bond and per-instance names below these are built by the functions at the end.
CONFIG_DIR = "/etc/openvpn/bonded"
RUN_DIR = "/run/bonded-openvpn"
BALANCE_CONFIG_DIR = CONFIG_DIR + "/balance"
BALANCE_RUN_DIR = RUN_DIR + "/balance"
# The watchdog's code: this package, installed under ENGINE_LIB_DIR as ENGINE_PACKAGE.
ENGINE_LIB_DIR = "/usr/local/lib/bonded-openvpn"
ENGINE_PACKAGE = "bonded_openvpn_balance"
WATCHDOG_MODULE = ENGINE_PACKAGE + ".watchdog"
# node_exporter's textfile collector (Debian's prometheus-node-exporter reads it).
METRICS_DIR = "/var/lib/prometheus/node-exporter"
# Files the roles put in the system's own directories.
UNIT_DIR = "/etc/systemd/system"
SYSCTL_FILE = "/etc/sysctl.d/60-bonded-openvpn.conf"
BACKPORTS_SOURCES = "/etc/apt/sources.list.d/bonded-openvpn-backports.sources"
BACKPORTS_PIN = "/etc/apt/preferences.d/bonded-openvpn-backports"

# systemd units; %s is the instance ("<bond>-<k>") or the bond.
INSTANCE_UNIT = "bonded-openvpn@%s.service"
WATCHDOG_UNIT = "bonded-openvpn-watchdog@%s.service"
RELAY_UNIT = "bonded-openvpn-relay@%s.service"
SOCKS_UNIT = "bonded-openvpn-socks@%s.service"

# Kernel objects.
INTERFACE_PREFIX = "bo-"
NFT_TABLE_PREFIX = "bonded_openvpn_"
# Routes and rules the balancer owns carry this protocol number ('ip route show proto 194'),
# so nothing else's routes are ever touched or mistaken for ours.
ROUTE_PROTOCOL = 194
MAIN_TABLE = 254
# Tunnel k of bond id: firewall mark = routing table TABLE_BASE + TABLE_STRIDE * id + k,
# 'ip rule' priority PRIORITY_BASE + PRIORITY_STRIDE * id + k.
TABLE_BASE, TABLE_STRIDE = 10000, 100
PRIORITY_BASE, PRIORITY_STRIDE = 5000, 32
MAX_BOND_ID = 255
MAX_TUNNELS = 32
# Uplink u of a bond (client side): table TABLE_BASE + TABLE_STRIDE * id + UPLINK_TABLE_OFFSET + u,
# 'ip rule from <address>' priority UPLINK_PRIORITY_BASE + UPLINK_PRIORITY_STRIDE * id + u.
UPLINK_TABLE_OFFSET = 50
UPLINK_PRIORITY_BASE, UPLINK_PRIORITY_STRIDE = 14000, 8
MAX_UPLINKS = 8
# Per-address routing of MPTCP subflows: tables 10050 + 100*id + k, rule priorities
# 5016 + 32*id + k (a bond with mptcp has at most MPTCP_MAX_SUBFLOWS tunnels, so neither
# meets the fwmark ones).
MPTCP_TABLE_OFFSET, MPTCP_PRIORITY_OFFSET = 50, 16
# The in-kernel path manager's limit on extra subflows per connection (and on joins it
# accepts): its maximum, 8, caps a bond with mptcp at 8 tunnels.
MPTCP_MAX_SUBFLOWS = 8
# The MPTCP relay, on each gateway's bundle address: the SOCKS5 server the peer's relay
# connects to, and the transparent listener the LAN's TCP is DNATed to.
MPTCP_SOCKS_PORT, MPTCP_TRANSPARENT_PORT = 1080, 1081
# The egress shaper's root qdisc on each tunnel interface.
QDISC_HANDLE = "b0d:"

# Addresses inside a bond: block = the pool's /BLOCK_PREFIX number id; bundles at these
# offsets in it; IPv6 blocks are /BLOCK6_PREFIX, tunnels' IPv6 transfer nets /TRANSFER6_PREFIX
# (OpenVPN takes /64 to /124).
BLOCK_PREFIX = 24
SERVER_BUNDLE_OFFSET, CLIENT_BUNDLE_OFFSET = 254, 253
BLOCK6_PREFIX = 64
TRANSFER6_PREFIX = 120

# Spreading.
BALANCE_MODES = ("packet", "flow", "flowlet")
# The nft map holds one entry per weight unit: a bigger map is slower to load and to read.
MAX_MAP_ENTRIES = 256
# nftables timeouts count in jiffies (4 ms at HZ=250): a shorter gap is not a gap; past
# 10 s a flowlet is no longer one.
FLOWLET_GAP_DEFAULT, FLOWLET_GAP_LIMITS = 48, (4, 10000)
# Latency cutoff (latency_cutoff, ms; 0 = off): a tunnel whose base RTT exceeds the best
# tunnel's by more leaves the spread. The default is Peplink-like and awaits the bench's
# mixed profile (10/30/60+-10/80 ms RTTs: it keeps the first three and drops the 80 ms link).
# It applies by default where the bond spreads one flow over several tunnels (packet,
# flowlet) and MPTCP does not carry its TCP; elsewhere it is 0 unless the bond sets it.
# Off unless a bond sets it: on the lab's delayed links (bench/links --profiles mixed) a cutoff of
# 50 ms took the slowest tunnel out as designed, then the other tunnels died under one TCP flow,
# a failure not yet understood (docs/delay.md). 50 ms is what the docs suggest to try.
LATENCY_CUTOFF_DEFAULT, LATENCY_CUTOFF_SUGGESTED, LATENCY_CUTOFF_LIMITS = 0, 50, (0, 10000)
# A tunnel's base RTT is the least echo RTT over this many seconds (BBR's min_rtt idea, in a
# window short enough that a link whose delay jumps leaves within 5 s): its own queue under
# load does not raise it, since some echo in the window finds the queue shorter.
BASE_RTT_WINDOW = 3.0
# A tunnel out for latency returns once every round's fastest echo has stayed below this
# share of the cutoff above the best base RTT for a whole hold (the hysteresis margin).
LATENCY_RETURN_SHARE = 0.75
# How packet and flowlet modes place UDP (udp_balance): per flow (a hash of its addresses and
# ports over the tunnels in rotation: QUIC, VoIP and games are never reordered) or per packet
# like TCP (one UDP flow carrying another VPN may want the whole bond). The hash's seed is
# fixed so a flow keeps its tunnel across reloads while the live set stays the same.
UDP_BALANCE_MODES, UDP_BALANCE_DEFAULT, UDP_HASH_SEED = ("flow", "packet"), "flow", 0xB0D
# Bits/s a tunnel interface may send (egress_rate): below 1 kB/s tbf cannot shape.
EGRESS_RATE_LIMITS = (8000, 100000000000)

# The watchdog's probes and quality steering (bonded_openvpn_balance_* variables).
PROBE_DEFAULTS = {"interval": 1.0, "timeout": 1.0, "down_after": 1, "up_after": 2, "verify_every": 10.0,
                  "probes": 20, "loss_threshold": 0.03, "loss_window": 10.0, "rtt_factor": 4.0,
                  "rtt_margin": 0.3, "hold": 10.0}
# (kind, lowest, highest, unit, role variable). The upper bounds keep one round (probe
# timeout plus the watchdog's command budget) well inside the unit's WatchdogSec=, and
# the lower ones keep a typo from turning the watchdog into a busy loop.
PROBE_LIMITS = {
    "interval": (float, 0.1, 10.0, "seconds", "bonded_openvpn_balance_probe_interval"),
    "timeout": (float, 0.1, 10.0, "seconds", "bonded_openvpn_balance_probe_timeout"),
    "down_after": (int, 1, 100, "rounds", "bonded_openvpn_balance_down_after"),
    "up_after": (int, 1, 100, "rounds", "bonded_openvpn_balance_up_after"),
    "verify_every": (float, 1.0, 3600.0, "seconds", "bonded_openvpn_balance_verify_every"),
    # At most 50 echoes a round: 32 tunnels x 50 is 1600 small packets a second.
    "probes": (int, 1, 50, "echoes per round", "bonded_openvpn_balance_probes"),
    "loss_threshold": (float, 0.001, 0.5, "lost share of echoes", "bonded_openvpn_balance_loss_threshold"),
    "loss_window": (float, 2.0, 300.0, "seconds", "bonded_openvpn_balance_loss_window"),
    "rtt_factor": (float, 1.1, 100.0, "times the best tunnel's RTT", "bonded_openvpn_balance_rtt_factor"),
    "rtt_margin": (float, 0.001, 10.0, "seconds", "bonded_openvpn_balance_rtt_margin"),
    "hold": (float, 1.0, 3600.0, "seconds", "bonded_openvpn_balance_hold"),
}


def instance(bond, index):
    """An OpenVPN instance's name: its unit's instance, its files' stem."""
    return "%s-%d" % (bond, index)


def interface(bond, index):
    return "%s%s" % (INTERFACE_PREFIX, instance(bond, index))


def mark(bond_id, index):
    """Tunnel ``index``'s firewall mark, which is also its routing table."""
    return TABLE_BASE + TABLE_STRIDE * bond_id + index


def rule_priority(bond_id, index):
    return PRIORITY_BASE + PRIORITY_STRIDE * bond_id + index


def uplink_table(bond_id, position):
    return TABLE_BASE + TABLE_STRIDE * bond_id + UPLINK_TABLE_OFFSET + position


def uplink_priority(bond_id, position):
    return UPLINK_PRIORITY_BASE + UPLINK_PRIORITY_STRIDE * bond_id + position


def instance_config(instance_name, config_dir=CONFIG_DIR):
    """An OpenVPN instance's config file (``instance_name``: instance())."""
    return "%s/instances/%s.conf" % (config_dir, instance_name)


def instance_run_dir(bond, index, run_dir=RUN_DIR):
    return "%s/%s" % (run_dir, instance(bond, index))


def _plain(value):
    """``value`` as data a playbook can hold: tuples as lists, a kind (int, float) by its name."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return dict((key, _plain(item)) for key, item in value.items())
    return value


def public():
    """{name: value} of every constant here, as plain data (the bonded.openvpn.layout filter's answer)."""
    return dict((name.lower(), _plain(value)) for name, value in globals().items()
                if name.isupper() and not name.startswith("_"))
