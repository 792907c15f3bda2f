# -*- coding: utf-8 -*-
"""The balancer's description of one bond: written by the balance_datapath module, read by
the bond's watchdog on the host.

A spec file is comment lines (the managed marker first) followed by one JSON object. It
holds everything the data path needs, so the watchdog can rebuild the whole data path
after a reboot from this file alone.

Standard library only: this file is also installed on the host, where the watchdog runs it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

FORMAT_VERSION = 1
CONFIG_DIR = "/etc/openvpn/bonded/balance"
RUN_DIR = "/run/bonded-openvpn/balance"
# Routes and rules the balancer owns carry this protocol number ('ip route show proto 194'),
# so nothing else's routes are ever touched or mistaken for ours.
ROUTE_PROTOCOL = 194
MAIN_TABLE = 254
NFT_TABLE_PREFIX = "bonded_openvpn_"
# Mirrors plugins/module_utils/plan.py (a unit test keeps them equal): marks and tables
# 10000 + 100*id + k, rule priorities 5000 + 32*id + k.
TABLE_BASE, TABLE_STRIDE = 10000, 100
PRIORITY_BASE, PRIORITY_STRIDE = 5000, 32
MAX_BOND_ID = 255

PROBE_DEFAULTS = {"interval": 1.0, "timeout": 1.0, "down_after": 1, "up_after": 2, "verify_every": 10.0}
SIDE_FIELDS = ("bond", "id", "role", "balance", "snat", "local_bundle", "peer_bundle",
               "local_networks", "peer_networks")
TUNNEL_FIELDS = ("index", "interface", "local_address", "peer_address", "mark", "table",
                 "rule_priority", "weight")


class SpecError(ValueError):
    pass


def from_side(side, probe=None):
    """The spec of one side of a bond (an entry of ``bonded.openvpn.bond_sides``)."""
    spec = dict((field, side[field]) for field in SIDE_FIELDS)
    spec["version"] = FORMAT_VERSION
    spec["tunnels"] = [dict((field, tunnel[field]) for field in TUNNEL_FIELDS) for tunnel in side["tunnels"]]
    spec["probe"] = dict(PROBE_DEFAULTS)
    spec["probe"].update(probe or {})
    return spec


def dump(spec, marker):
    header = ["# %s" % marker,
              "# Data path of bond '%s' (%s side), read by bonded-openvpn-watchdog@%s.service."
              % (spec["bond"], spec["role"], spec["bond"])]
    return "\n".join(header) + "\n" + json.dumps(spec, indent=2, sort_keys=True) + "\n"


def parse(text, origin="spec"):
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    try:
        spec = json.loads(body)
    except ValueError as error:
        raise SpecError("%s: not a balance spec (%s)" % (origin, error))
    if not isinstance(spec, dict) or spec.get("version") != FORMAT_VERSION:
        raise SpecError("%s: balance spec version %r, expected %d; re-run the bonded.openvpn.balance role"
                        % (origin, spec.get("version") if isinstance(spec, dict) else None, FORMAT_VERSION))
    return spec


def spec_path(bond, config_dir=CONFIG_DIR):
    return os.path.join(config_dir, "%s.conf" % bond)


def live_path(bond, run_dir=RUN_DIR):
    return os.path.join(run_dir, "%s.live" % bond)


def snapshot_path(bond, run_dir=RUN_DIR):
    return os.path.join(run_dir, "%s.nft.json" % bond)


def load(bond, config_dir=CONFIG_DIR):
    path = spec_path(bond, config_dir)
    with open(path) as handle:
        return parse(handle.read(), path)


def nft_table(bond):
    return NFT_TABLE_PREFIX + bond


def bond_of_nft_table(name):
    return name[len(NFT_TABLE_PREFIX):] if name.startswith(NFT_TABLE_PREFIX) else None


def destinations(spec):
    """What the bond carries: the peer's bundle address and the networks behind the peer."""
    return ["%s/32" % spec["peer_bundle"]] + list(spec["peer_networks"])


def table_range(bond_id):
    first = TABLE_BASE + TABLE_STRIDE * bond_id
    return first, first + TABLE_STRIDE - 1


def priority_range(bond_id):
    first = PRIORITY_BASE + PRIORITY_STRIDE * bond_id
    return first, first + PRIORITY_STRIDE - 1


def all_tables():
    return TABLE_BASE, table_range(MAX_BOND_ID)[1]


def all_priorities():
    return PRIORITY_BASE, priority_range(MAX_BOND_ID)[1]


def effective_live(spec, live):
    """The tunnels to spread over: the live ones, or all of them when none is live (a
    bond with no live tunnel keeps its full map rather than an empty one)."""
    indexes = [tunnel["index"] for tunnel in spec["tunnels"]]
    chosen = [index for index in indexes if live is not None and index in live]
    return chosen or indexes


def format_live(spec, live):
    indexes = effective_live(spec, live)
    note = "" if live and set(indexes) == set(live) else " (no tunnel answers: all kept)"
    return "# tunnels bond '%s' spreads over%s\n%s" % (
        spec["bond"], note, "".join("%d\n" % index for index in indexes))
