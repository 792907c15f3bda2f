# -*- coding: utf-8 -*-
"""The bond_sides and host_sides filters: what one host plays (documented in bond_sides.yml
and host_sides.yml)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from jinja2 import Undefined

from ansible_collections.bonded.openvpn.plugins.filter.bond_plan import bond_plan
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import host_sides as planned_sides

# Where playbooks/plan.yml keeps the plan of a run.
KEPT_PLAN_HOST = "localhost"
KEPT_PLAN = "__bonded_openvpn_plan"


def bond_sides(plan, host, exclude=None):
    """``exclude``: bond names to leave out (being removed), or "all"."""
    if exclude == "all":
        return []
    if exclude is not None and not isinstance(exclude, (list, tuple)):
        raise AnsibleFilterError("bonded_openvpn_remove must be a list of bond names or \"all\", got %r" % (exclude,))
    return [side for side in planned_sides(plan, host) if side["bond"] not in (exclude or [])]


def _value(variables, name):
    """A variable of hostvars or of one host's, None where it is not defined."""
    try:
        value = variables[name]
    except (KeyError, TypeError):
        return None
    return None if isinstance(value, Undefined) else value


def host_sides(hostvars, host, exclude=None, require_bonds=True):
    """The sides ``host`` plays: from the plan this run's planning play kept, or planned here
    from the host's own variables when the roles are used without that play. A host with no
    ``bonded_openvpn_bonds`` plays nothing unless ``require_bonds`` (then the planner says
    what is missing)."""
    kept = _value(_value(hostvars, KEPT_PLAN_HOST), KEPT_PLAN)
    if kept is None:
        own = hostvars[host]
        bonds = _value(own, "bonded_openvpn_bonds")
        if bonds is None and not require_bonds:
            return []
        kept = bond_plan(bonds, _value(own, "bonded_openvpn_pool"), hostvars, _value(own, "bonded_openvpn_pool6"))
    return bond_sides(kept, host, exclude)


class FilterModule(object):
    def filters(self):
        return {"bond_sides": bond_sides, "host_sides": host_sides}
