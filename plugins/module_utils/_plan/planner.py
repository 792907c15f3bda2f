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

Addresses are integers throughout: a block is ``pool + 256*id``, so the cost of planning
does not depend on the pool's size, and every cross-bond rule sorts once (n log n).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import cross
from ansible_collections.bonded.openvpn.plugins.module_utils._net import family
from ansible_collections.bonded.openvpn.plugins.module_utils._net import reserved
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import rules
from ansible_collections.bonded.openvpn.plugins.module_utils._net import shapes
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import underlay
from ansible_collections.bonded.openvpn.plugins.module_utils._plan import uplinks

DEFAULT_POOL = "10.255.0.0/16"
BLOCK_PREFIX = layout.BLOCK_PREFIX
SERVER_BUNDLE_OFFSET, CLIENT_BUNDLE_OFFSET = layout.SERVER_BUNDLE_OFFSET, layout.CLIENT_BUNDLE_OFFSET
# bonded_openvpn_pool6 (optional): a bond with an IPv6 network gets its /64 number ``id``, and in it the
# bundles at the IPv4 block's offsets (::fe and ::fd), and tunnel k in a /120 of its own from
# ::(k+1)00 (server ::(k+1)01, client ::(k+1)02): OpenVPN takes an ifconfig-ipv6 prefix of /64
# to /124 only, and a /120 per tunnel keeps each one's connected route apart from the others.
BLOCK6_PREFIX = layout.BLOCK6_PREFIX
TRANSFER6_PREFIX = layout.TRANSFER6_PREFIX
CONTRACT = "define the list of bonds in group_vars/all (see README, 'The inventory contract')"


class PlanError(ValueError):
    """Raised with every problem found; ``errors`` lists them one per line."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(PlanError, self).__init__(
            "bonded_openvpn_bonds is invalid (%d problem%s); nothing was changed:\n  - %s"
            % (len(self.errors), "" if len(self.errors) == 1 else "s", "\n  - ".join(self.errors)))


def _label(bond, position):
    if isinstance(bond, dict) and shapes.is_bond_name(bond.get("name")):
        return "bond '%s'" % bond["name"]
    return "bond #%d in bonded_openvpn_bonds" % (position + 1)


def _parse_pool(pool):
    if pool is None:
        pool = DEFAULT_POOL
    first, prefix, problem = shapes.parse_cidr(pool)
    if problem == "form":
        raise PlanError(["bonded_openvpn_pool: %r is not a valid CIDR" % (pool,)])
    if problem or prefix > BLOCK_PREFIX:
        raise PlanError(["bonded_openvpn_pool: %r must be an IPv4 network of /%d or larger, without host bits"
                         % (pool, BLOCK_PREFIX)])
    if reserved.overlap(shapes.Net(first, prefix)):
        raise PlanError(["bonded_openvpn_pool: %s overlaps %s (%s), where no host can hold a bond's addresses: "
                         "choose a private range such as %s" % ((shapes.Net(first, prefix),)
                                                                + reserved.overlap(shapes.Net(first, prefix))
                                                                + (DEFAULT_POOL,))])
    return shapes.Net(first, prefix)


def _parse_pool6(pool6):
    if pool6 is None:
        return None
    first, prefix, problem = shapes.parse_cidr(pool6, ipv6=True)
    if problem == "form" or (first is not None and shapes.Net(first, prefix).version != 6):
        return PlanError(["bonded_openvpn_pool6: %r is not a valid IPv6 CIDR (x:x::/len)" % (pool6,)])
    if problem or prefix > BLOCK6_PREFIX - 8:
        return PlanError(["bonded_openvpn_pool6: %r must be an IPv6 network of /%d or larger (a /64 for each bond "
                          "id 0..255), without host bits" % (pool6, BLOCK6_PREFIX - 8)])
    if reserved.overlap(shapes.Net(first, prefix)):
        return PlanError(["bonded_openvpn_pool6: %s overlaps %s (%s), where no host can hold a bond's addresses: "
                          "choose a unique local range (fd00::/8) such as fd00:0:0:ff00::/56"
                          % ((shapes.Net(first, prefix),) + reserved.overlap(shapes.Net(first, prefix)))])
    return shapes.Net(first, prefix)


def _check_bonds_given(bonds):
    if bonds is None:
        raise PlanError(["bonded_openvpn_bonds is not defined: %s" % CONTRACT])
    if not isinstance(bonds, list):
        raise PlanError(["bonded_openvpn_bonds: must be a list of bonds, got %r" % (bonds,)])
    if not bonds:
        raise PlanError(["bonded_openvpn_bonds is empty: %s; to take bonds off hosts, run playbooks/remove.yml"
                         % CONTRACT])


def _check_bond(bond, hosts, block_count, pool6_given):
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
    errors += rules.check_weights(bond.get("weights"), tunnels, bond.get("balance", "packet"))
    errors += rules.check_flowlet_gap(bond.get("flowlet_gap"), bond.get("balance", "packet"))
    errors += rules.check_latency_cutoff(bond.get("latency_cutoff"))
    errors += rules.check_choice("udp_balance", bond.get("udp_balance", layout.UDP_BALANCE_DEFAULT),
                                 layout.UDP_BALANCE_MODES)
    errors += rules.check_snat(bond.get("snat", False))
    errors += rules.check_mptcp(bond.get("mptcp", False), tunnels)
    errors += rules.check_shaper(bond.get("shaper"))
    errors += rules.check_egress_rate(bond.get("egress_rate"), bond.get("shaper"))
    errors += rules.check_remote(bond.get("remote"))
    errors += uplinks.check(bond.get("uplinks"), tunnels, bond.get("weights"))
    server = bond.get("server")
    if bond.get("remote") is None and shapes.is_inventory_host(server) and server in hosts:
        errors += rules.check_default_remote(server, hosts[server])
    if bond.get("underlay_family") is not None:
        errors += rules.check_choice("underlay_family", bond["underlay_family"], rules.UNDERLAY_FAMILIES)
    if not errors:
        errors += family.check(bond, hosts)
    for field in rules.NETWORK_FIELDS:
        errors += rules.parse_networks(field, bond.get(field, []))[1]
    if not errors:
        errors += rules.check_ipv6_networks(bond, pool6_given)
    return errors


def _unique_entries(bonds, field, valid):
    return [(_label(bond, position), bond[field]) for position, bond in enumerate(bonds)
            if isinstance(bond, dict) and valid(bond.get(field))]


def _checked(bonds):
    """(label, bond with its parsed networks) for bonds known to be valid field by field."""
    checked = []
    for position, bond in enumerate(bonds):
        view = dict(bond)
        view["__networks"] = dict((field, rules.parse_networks(field, bond.get(field, []))[0])
                                  for field in rules.NETWORK_FIELDS)
        checked.append((_label(bond, position), view))
    return checked


def validate(bonds, pool, hosts, pool6=None):
    """Raises PlanError listing every problem; returns the parsed pools (pool6 None when not given)."""
    _check_bonds_given(bonds)
    pool_network = _parse_pool(pool)
    pool6_network = _parse_pool6(pool6)
    if isinstance(pool6_network, PlanError):
        raise pool6_network
    block_count = 1 << (BLOCK_PREFIX - pool_network.prefix)
    errors = []
    for position, bond in enumerate(bonds):
        errors += ["%s: %s" % (_label(bond, position), e)
                   for e in _check_bond(bond, hosts, block_count, pool6_network is not None)]
    errors += cross.check_unique(_unique_entries(bonds, "name", shapes.is_bond_name), "name")
    errors += cross.check_unique(_unique_entries(bonds, "id", rules.is_int), "id")
    if errors:
        raise PlanError(errors)
    # Cross-bond checks need every field valid, so they run only on a clean first pass.
    checked = _checked(bonds)
    errors = (cross.check_server_ports(checked)
              + cross.check_networks(cross.owned_networks(checked), pool_network, pool6_network)
              + underlay.check_destinations(checked)
              + underlay.check_capture(checked, hosts)
              + underlay.check_pool(checked, hosts, pool_network)
              + (underlay.check_pool(checked, hosts, pool6_network, "bonded_openvpn_pool6") if pool6_network else [])
              + uplinks.check_hosts(checked))
    if errors:
        raise PlanError(errors)
    return pool_network, pool6_network


def _tunnel(bond, block, weights, index, uplink, remote, block6=None):
    instance = "%s-%d" % (bond["name"], index)
    return {
        "server_address6": shapes.dotted(block6 + ((index + 1) << 8) + 1) if block6 is not None else None,
        "client_address6": shapes.dotted(block6 + ((index + 1) << 8) + 2) if block6 is not None else None,
        "index": index,
        "instance": instance,
        "unit": layout.INSTANCE_UNIT % instance,
        "interface": rules.interface_name(bond["name"], index),
        "port": bond["port"] + index,
        "server_address": shapes.dotted(block + 4 * index + 1),
        "client_address": shapes.dotted(block + 4 * index + 2),
        "mark": layout.mark(bond["id"], index),
        "table": layout.mark(bond["id"], index),
        "rule_priority": layout.rule_priority(bond["id"], index),
        "weight": weights[index],
        "uplink": uplink["name"] if uplink else None,
        "remote": uplink["remote"] if uplink else remote,
        "client_underlay": uplink["address"] if uplink else None,
    }


def _weights(bond):
    packet_like = bond.get("balance", "packet") in ("packet", "flowlet")
    if not bond.get("weights") and bond.get("uplinks"):
        limits = (rules.MAX_MAP_ENTRIES, rules.MAX_MAP_ENTRIES) if packet_like else (
            rules.MAX_NEXTHOP_WEIGHT * rules.MAX_TUNNELS, rules.MAX_NEXTHOP_WEIGHT)
        derived = uplinks.weights(bond["uplinks"], uplinks.assignment(bond["uplinks"], bond["tunnels"]), *limits)
        if derived:
            return derived
    weights = list(bond.get("weights") or [1] * bond["tunnels"])
    # Packet mode repeats each mark weight times in the nft map: the smallest equal ratio.
    return rules.reduce_weights(weights) if packet_like else weights


def _bond(bond, pool, hosts, pool6=None):
    block = pool.first + (bond["id"] << (32 - BLOCK_PREFIX))
    # IPv6 addresses only for a bond that carries IPv6: setting the pool6 for one bond must
    # not rewrite (and restart) the tunnels of every other.
    block6 = pool6.first + (bond["id"] << (128 - BLOCK6_PREFIX)) if pool6 is not None and rules.carries_ipv6(bond) else None
    weights = _weights(bond)
    planned = dict(rules.OPTIONAL_FIELDS)
    planned.update(bond)
    planned["remote"] = family.normalized(bond.get("remote") or hosts[bond["server"]])
    planned["underlay_family"] = family.family(bond, hosts)
    planned["weights"] = weights
    planned["latency_cutoff"] = rules.latency_cutoff(bond)
    for field in rules.NETWORK_FIELDS:
        planned[field] = [str(n) for n in rules.parse_networks(field, bond.get(field, []))[0]]
    planned["block"] = str(shapes.Net(block, BLOCK_PREFIX))
    planned["server_bundle"] = shapes.dotted(block + SERVER_BUNDLE_OFFSET)
    planned["client_bundle"] = shapes.dotted(block + CLIENT_BUNDLE_OFFSET)
    planned["block6"] = str(shapes.Net(block6, BLOCK6_PREFIX)) if block6 is not None else None
    planned["server_bundle6"] = shapes.dotted(block6 + SERVER_BUNDLE_OFFSET) if block6 is not None else None
    planned["client_bundle6"] = shapes.dotted(block6 + CLIENT_BUNDLE_OFFSET) if block6 is not None else None
    planned["target"] = "bonded-openvpn-%s.target" % bond["name"]
    planned["uplinks"] = uplinks.planned(bond, planned["remote"])
    riders = dict((k, uplink) for uplink in planned["uplinks"] for k in uplink["tunnels"])
    planned["tunnel_list"] = [_tunnel(bond, block, weights, k, riders.get(k), planned["remote"], block6)
                              for k in range(bond["tunnels"])]
    return planned


def build_plan(bonds, pool, hosts, pool6=None):
    """Validates and plans every bond.

    ``hosts`` maps each inventory hostname to the address a client dials by default (its
    ``ansible_host``, else its name); ``pool`` None means DEFAULT_POOL; ``pool6`` None: no
    bond has IPv6 addresses inside (and none may carry an IPv6 network).
    Returns a list of planned bonds, ordered by id.
    """
    pool_network, pool6_network = validate(bonds, pool, hosts, pool6)
    return [_bond(bond, pool_network, hosts, pool6_network) for bond in sorted(bonds, key=lambda b: b["id"])]


def _side(bond, role):
    local, peer = ("server", "client") if role == "server" else ("client", "server")
    tunnels = []
    for tunnel in bond["tunnel_list"]:
        side = dict((k, v) for k, v in tunnel.items() if not k.endswith(("_address", "_address6")))
        side["local_address"] = tunnel["%s_address" % local]
        side["peer_address"] = tunnel["%s_address" % peer]
        side["local_address6"] = tunnel["%s_address6" % local]
        side["peer_address6"] = tunnel["%s_address6" % peer]
        tunnels.append(side)
    return {
        "bond": bond["name"],
        "id": bond["id"],
        "role": role,
        "peer": bond[peer],
        "proto": bond["proto"],
        "underlay_family": bond["underlay_family"],
        "balance": bond["balance"],
        "remote": bond["remote"] if role == "client" else None,
        "local_bundle": bond["%s_bundle" % local],
        "peer_bundle": bond["%s_bundle" % peer],
        "local_bundle6": bond["%s_bundle6" % local],
        "peer_bundle6": bond["%s_bundle6" % peer],
        "local_networks": bond["%s_networks" % local],
        "peer_networks": bond["%s_networks" % peer],
        "snat": bond["snat"] and role == "client",
        "snat6": bond["snat6"] and role == "client",
        "shaper": bond["shaper"],
        "egress_rate": bond["egress_rate"],
        "flowlet_gap": bond["flowlet_gap"],
        "latency_cutoff": bond["latency_cutoff"],
        "udp_balance": bond["udp_balance"],
        "mptcp": bond["mptcp"],
        "weights": bond["weights"],
        "target": bond["target"],
        "tunnels": tunnels,
        "uplinks": bond["uplinks"] if role == "client" else [],
        # Several server addresses dialed (one per uplink): a UDP server must answer each
        # from the address it was dialed at, not from the one its route would pick.
        "multihome": role == "server" and bond["proto"] == "udp" and len(set(u["remote"] for u in bond["uplinks"])) > 1,
    }


def host_sides(plan, host):
    """What ``host`` plays: one entry per bond that names it, from its own point of view."""
    sides = []
    for bond in plan:
        for role in ("server", "client"):
            if bond[role] == host:
                sides.append(_side(bond, role))
    return sides
