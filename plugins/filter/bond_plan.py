# -*- coding: utf-8 -*-
"""Filters exposing the bond planner to roles and templates."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bond_plan
version_added: 0.1.0
short_description: Plan every bond of a bonded OpenVPN fleet
description:
  - Validates C(bonded_openvpn_bonds) and returns the plan of every bond (ports, interfaces,
    transfer and bundle addresses, marks, routing tables), ordered by bond id.
  - Fails with every problem found, each naming the bond and the field.
  - The companion filter C(bonded.openvpn.bond_sides) returns what one host plays;
    its optional C(exclude) (a list of bond names, or C(all)) leaves out bonds being removed.
options:
  _input:
    description:
      - The list of bonds (C(bonded_openvpn_bonds)).
      - None (C(bonded_openvpn_bonds | default(None))) or an empty list fails with a message saying what to define
        and where.
    type: list
    elements: dict
    required: true
  pool:
    description: The address pool (C(bonded_openvpn_pool)); bond C(id) selects its /24. None means 10.255.0.0/16.
    type: str
    required: true
  inventory:
    description:
      - C(hostvars), or a mapping of inventory hostname to the address a client dials.
      - With C(hostvars), a host's C(ansible_host) is used, else its name.
    type: raw
    required: true
  pool6:
    description:
      - The IPv6 address pool (C(bonded_openvpn_pool6)), /56 or larger; bond C(id) selects its /64.
      - None (the default) gives no bond IPv6 addresses inside, and refuses IPv6 networks.
    type: str
    required: false
"""

EXAMPLES = r"""
- name: Plan the fleet once, failing before any host changes
  ansible.builtin.set_fact:
    __bonded_openvpn_plan: "{{ bonded_openvpn_bonds | bonded.openvpn.bond_plan(bonded_openvpn_pool, hostvars) }}"

- name: What this host plays
  ansible.builtin.debug:
    msg: "{{ __bonded_openvpn_plan | bonded.openvpn.bond_sides(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: One planned bond per entry, with C(tunnel_list) holding one entry per tunnel.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import PlanError, build_plan


def _named_hosts(bonds):
    """The inventory hostnames the bonds name (only those are looked up in hostvars)."""
    names = set()
    for bond in bonds if isinstance(bonds, list) else []:
        for field in ("server", "client"):
            if isinstance(bond, dict) and isinstance(bond.get(field), str):
                names.add(bond[field])
    return names


def _dial_addresses(inventory, names):
    addresses = {}
    for host in sorted(names):
        if host not in inventory:
            continue
        entry = inventory[host]
        if isinstance(entry, str):
            addresses[host] = entry
        else:
            address = entry.get("ansible_host") if hasattr(entry, "get") else None
            addresses[host] = str(address) if address else str(host)
    return addresses


def bond_plan(bonds, pool, inventory, pool6=None):
    try:
        return build_plan(bonds, pool, _dial_addresses(inventory, _named_hosts(bonds)), pool6)
    except PlanError as error:
        raise AnsibleFilterError(str(error))


class FilterModule(object):
    def filters(self):
        return {"bond_plan": bond_plan}
