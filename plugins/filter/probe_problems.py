# -*- coding: utf-8 -*-
"""The probe_problems filter: what is wrong with one host's watchdog settings (documented in
probe_problems.yml). The planning play runs it for every host, before any host changes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from jinja2 import Undefined

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec


def _as_kind(kind, value):
    """A value given as text (``-e name=1.5``) as the role's argument spec reads it."""
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return value
    return value


def probe_problems(variables):
    """Each problem of the host's bonded_openvpn_balance_* probe settings, as the balance role
    would refuse it on the host; unset settings take the role's defaults, which are valid."""
    settings = {}
    for name, (kind, dummy, dummy, dummy, variable) in layout.PROBE_LIMITS.items():
        try:
            value = variables[variable]
        except (KeyError, TypeError):
            value = None
        if value is None or isinstance(value, Undefined):
            value = layout.PROBE_DEFAULTS[name]
        settings[name] = _as_kind(kind, value)
    try:
        bspec.check_probe(settings)
    except bspec.SpecError as error:
        return str(error).split("; ")
    return []


class FilterModule(object):
    def filters(self):
        return {"probe_problems": probe_problems}
