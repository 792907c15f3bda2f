# -*- coding: utf-8 -*-
"""The bond_sides filter: what one host plays (documented in bond_sides.yml)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.bonded.openvpn.plugins.module_utils.plan import host_sides


def bond_sides(plan, host, exclude=None):
    """``exclude``: bond names to leave out (being removed), or "all"."""
    if exclude == "all":
        return []
    if exclude is not None and not isinstance(exclude, (list, tuple)):
        raise AnsibleFilterError("bonded_openvpn_remove must be a list of bond names or \"all\", got %r" % (exclude,))
    return [side for side in host_sides(plan, host) if side["bond"] not in (exclude or [])]


class FilterModule(object):
    def filters(self):
        return {"bond_sides": bond_sides}
