# -*- coding: utf-8 -*-
"""The layout filter: a name or number bonded.openvpn puts on a host (documented in layout.yml)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout as host_layout


def layout(name=None):
    """The value of ``name``, or every name and value (a mapping) when ``name`` is none."""
    values = host_layout.public()
    if name is None:
        return values
    if name not in values:
        raise AnsibleFilterError("bonded.openvpn.layout: %r is not a name of the layout; known are %s"
                                 % (name, ", ".join(sorted(values))))
    return values[name]


class FilterModule(object):
    def filters(self):
        return {"layout": layout}
