# -*- coding: utf-8 -*-
"""The address, port, mark and table plan of a bonded OpenVPN fleet.

One pure function turns the inventory's ``bonded_openvpn_bonds`` into a plan for every
bond; both ends of a link read the same plan, so they agree by construction. Allocation is
driven by the bond ``id`` (never list position): adding, removing or reordering bonds
leaves the others untouched.

Per bond, block ``id`` of the pool (a /24) holds:
  tunnel k     server .4k+1, client .4k+2 (point-to-point transfer addresses)
  bundles      server .254, client .253 (tunnel-independent; SNAT and routing targets)
Tunnel k of bond ``id`` uses firewall mark and routing table ``10000 + 100*id + k`` and
``ip rule`` priority ``5000 + 32*id + k`` (below the main table's 32766).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import netaddr

from ansible_collections.bonded.openvpn.plugins.module_utils import plan_rules as rules

DEFAULT_POOL = "10.255.0.0/16"
TABLE_BASE = 10000
RULE_PRIORITY_BASE = 5000
BLOCK_PREFIX = 24
SERVER_BUNDLE_OFFSET = 254
CLIENT_BUNDLE_OFFSET = 253
UNIT_TEMPLATE = "bonded-openvpn@%s.service"


class PlanError(ValueError):
    """Raised with every problem found; ``errors`` lists them one per line."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(PlanError, self).__init__(
            "bonded_openvpn_bonds is invalid (%d problem%s); nothing was changed:\n  - %s"
            % (len(self.errors), "" if len(self.errors) == 1 else "s", "\n  - ".join(self.errors)))


def _label(bond, position):
    if isinstance(bond, dict) and isinstance(bond.get("name"), str):
        return "bond '%s'" % bond["name"]
    return "bond #%d in bonded_openvpn_bonds" % (position + 1)


def _parse_pool(pool):
    if pool is None:
        pool = DEFAULT_POOL
    try:
        network = netaddr.IPNetwork(str(pool))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise PlanError(["bonded_openvpn_pool: %r is not a valid CIDR" % (pool,)])
    if network.version != 4 or network.prefixlen > BLOCK_PREFIX or network.ip != network.network:
        raise PlanError(["bonded_openvpn_pool: %r must be an IPv4 network of /%d or larger, without host bits"
                         % (pool, BLOCK_PREFIX)])
    return network


def _check_bond(bond, hosts, block_count):
    if not isinstance(bond, dict):
        return ["must be a mapping with name, id, server, client, tunnels and port, got %r" % (bond,)]
    errors = rules.check_fields_known(bond) + rules.check_required(bond)
    tunnels = bond.get("tunnels")
    if "name" in bond:
        errors += rules.check_name(bond["name"], tunnels)
    if "id" in bond:
        errors += rules.check_id(bond["id"], block_count)
    errors += rules.check_hosts(bond, hosts)
    if "tunnels" in bond:
        errors += rules.check_tunnels(tunnels)
    if "port" in bond:
        errors += rules.check_port(bond["port"], tunnels)
    errors += rules.check_choice("proto", bond.get("proto", "udp"), rules.PROTOS)
    errors += rules.check_choice("balance", bond.get("balance", "packet"), rules.BALANCE_MODES)
    errors += rules.check_weights(bond.get("weights"), tunnels)
    errors += rules.check_snat(bond.get("snat", False))
    errors += rules.check_shaper(bond.get("shaper"))
    errors += rules.check_remote(bond.get("remote"))
    for field in ("server_networks", "client_networks"):
        errors += rules.parse_networks(field, bond.get(field, []))[1]
    return errors


def _check_unique(bonds, field):
    seen, errors = {}, []
    for position, bond in enumerate(bonds):
        value = bond.get(field)
        if value is None or isinstance(value, (list, dict)):
            continue
        if value in seen:
            errors.append("%s: field '%s': %r is already used by %s"
                          % (_label(bond, position), field, value, seen[value]))
        else:
            seen[value] = _label(bond, position)
    return errors


def _check_server_ports(bonds):
    errors, taken = [], {}
    for position, bond in enumerate(bonds):
        first, count = bond["port"], bond["tunnels"]
        for other_first, other_count, other_label in taken.get(bond["server"], []):
            if first <= other_first + other_count - 1 and other_first <= first + count - 1:
                errors.append("%s: field 'port': ports %d..%d on server %r overlap %s's ports %d..%d"
                              % (_label(bond, position), first, first + count - 1, bond["server"],
                                 other_label, other_first, other_first + other_count - 1))
        taken.setdefault(bond["server"], []).append((first, count, _label(bond, position)))
    return errors


def _check_networks(bonds, pool):
    """A network may appear in several bonds only behind the same host (a hub's LAN)."""
    errors, owners = [], []
    for position, bond in enumerate(bonds):
        for field, owner in (("server_networks", bond["server"]), ("client_networks", bond["client"])):
            for network in rules.parse_networks(field, bond.get(field, []))[0]:
                label = _label(bond, position)
                if network in pool or pool in network:
                    errors.append("%s: field '%s': %s overlaps bonded_openvpn_pool %s"
                                  % (label, field, network, pool))
                for other, other_owner, other_label, other_field in owners:
                    overlap = network in other or other in network
                    if overlap and (other_owner != owner or network != other):
                        errors.append("%s: field '%s': %s overlaps %s behind %r (%s field '%s')"
                                      % (label, field, network, other, other_owner, other_label, other_field))
                owners.append((network, owner, label, field))
    return errors


def validate(bonds, pool, hosts):
    """Raises PlanError listing every problem; returns the parsed pool."""
    pool_network = _parse_pool(pool)
    if not isinstance(bonds, list):
        raise PlanError(["bonded_openvpn_bonds: must be a list of bonds, got %r" % (bonds,)])
    block_count = 2 ** (BLOCK_PREFIX - pool_network.prefixlen)
    errors = []
    for position, bond in enumerate(bonds):
        errors += ["%s: %s" % (_label(bond, position), e) for e in _check_bond(bond, hosts, block_count)]
    mappings = [bond for bond in bonds if isinstance(bond, dict)]
    errors += _check_unique(mappings, "name") + _check_unique(mappings, "id")
    if errors:
        raise PlanError(errors)
    # Cross-bond checks need every field valid, so they run only on a clean first pass.
    errors = _check_server_ports(bonds) + _check_networks(bonds, pool_network)
    if errors:
        raise PlanError(errors)
    return pool_network


def _tunnel(bond, block, index):
    weights = bond.get("weights") or [1] * bond["tunnels"]
    return {
        "index": index,
        "instance": "%s-%d" % (bond["name"], index),
        "unit": UNIT_TEMPLATE % ("%s-%d" % (bond["name"], index)),
        "interface": rules.interface_name(bond["name"], index),
        "port": bond["port"] + index,
        "server_address": str(block[4 * index + 1]),
        "client_address": str(block[4 * index + 2]),
        "mark": TABLE_BASE + 100 * bond["id"] + index,
        "table": TABLE_BASE + 100 * bond["id"] + index,
        "rule_priority": RULE_PRIORITY_BASE + 32 * bond["id"] + index,
        "weight": weights[index],
    }


def _bond(bond, pool, hosts):
    block = list(pool.subnet(BLOCK_PREFIX))[bond["id"]] if pool.prefixlen < BLOCK_PREFIX else pool
    planned = dict(rules.OPTIONAL_FIELDS)
    planned.update(bond)
    planned["remote"] = bond.get("remote") or hosts[bond["server"]]
    planned["weights"] = bond.get("weights") or [1] * bond["tunnels"]
    planned["server_networks"] = [str(n.cidr) for n in rules.parse_networks("", bond.get("server_networks", []))[0]]
    planned["client_networks"] = [str(n.cidr) for n in rules.parse_networks("", bond.get("client_networks", []))[0]]
    planned["block"] = str(block)
    planned["server_bundle"] = str(block[SERVER_BUNDLE_OFFSET])
    planned["client_bundle"] = str(block[CLIENT_BUNDLE_OFFSET])
    planned["target"] = "bonded-openvpn-%s.target" % bond["name"]
    planned["tunnel_list"] = [_tunnel(bond, block, k) for k in range(bond["tunnels"])]
    return planned


def build_plan(bonds, pool, hosts):
    """Validates and plans every bond.

    ``hosts`` maps each inventory hostname to the address a client dials by default;
    ``pool`` None means DEFAULT_POOL.
    Returns a list of planned bonds, ordered by id.
    """
    pool_network = validate(bonds, pool, hosts)
    return [_bond(bond, pool_network, hosts) for bond in sorted(bonds, key=lambda b: b["id"])]


def _side(bond, role):
    local, peer = ("server", "client") if role == "server" else ("client", "server")
    tunnels = []
    for tunnel in bond["tunnel_list"]:
        side = dict((k, v) for k, v in tunnel.items() if not k.endswith("_address"))
        side["local_address"] = tunnel["%s_address" % local]
        side["peer_address"] = tunnel["%s_address" % peer]
        tunnels.append(side)
    return {
        "bond": bond["name"],
        "id": bond["id"],
        "role": role,
        "peer": bond[peer],
        "proto": bond["proto"],
        "balance": bond["balance"],
        "remote": bond["remote"] if role == "client" else None,
        "local_bundle": bond["%s_bundle" % local],
        "peer_bundle": bond["%s_bundle" % peer],
        "local_networks": bond["%s_networks" % local],
        "peer_networks": bond["%s_networks" % peer],
        "snat": bond["snat"] and role == "client",
        "shaper": bond["shaper"],
        "weights": bond["weights"],
        "target": bond["target"],
        "tunnels": tunnels,
    }


def host_sides(plan, host):
    """What ``host`` plays: one entry per bond that names it, from its own point of view."""
    sides = []
    for bond in plan:
        for role in ("server", "client"):
            if bond[role] == host:
                sides.append(_side(bond, role))
    return sides
