#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: preflight
short_description: Check, before any change, that a host can carry the bonds planned for it
description:
  - Reads, in one call, what the planner cannot see from the inventory and what would
    otherwise fail only half-way through a run, after other hosts have changed
    (docs/preflight.md lists every check and its message).
  - Resolves on this host every server address its client sides dial (a bond's C(remote)
    and each uplink's) in the bond's underlay family, and refuses one that a route this host
    installs into any of its bonds would cover (a peer's bundle or transfer address, a
    peer's networks), since the tunnels' own packets would go into the tunnels. A name that
    does not resolve is a warning.
  - Checks each uplink of a client side. Its C(address) must be held by the host (read from
    C(/proc/net/fib_trie)), or OpenVPN cannot bind the uplink's tunnels and their instances
    fail to start; a warning instead where C(net.ipv4.ip_nonlocal_bind=1) lets them bind. A
    missing or down C(interface) is a warning; when no uplink of a bond is usable, the bond
    cannot work, and that is a problem.
  - Checks the kernel features the bonds need. MPTCP enabled (C(net.mptcp.enabled=1)) for a
    bond with C(mptcp). IPv6 present, and not disabled on C(all) (an IPv6 underlay) nor on
    C(all), C(default) and C(lo) (a bond with IPv6 inside). tun built in, loaded or loadable,
    and C(/dev/net/tun) usable once it is there.
  - Read-only, and needs no package that the install role would install (no C(ip), no
    C(nft)). It fails listing every problem at once; C(playbooks/site.yml) does not let a
    problem fail the host, and fails once for the whole fleet, before any host changes.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  sides:
    description:
      - What this host plays, as the planner computed it (the C(bonded.openvpn.host_sides)
        filter), one entry per bond that names the host, from its own point of view.
    type: list
    elements: dict
    required: true
attributes:
  check_mode:
    support: full
    details: Reads the same in check mode; it never changes anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - A problem names the bond (and the uplink), what was found and what to do.
"""

EXAMPLES = r"""
- name: Check what the planner cannot see, before any host changes
  bonded.openvpn.preflight:
    sides: "{{ hostvars | bonded.openvpn.host_sides(inventory_hostname) }}"
  register: preflight
  failed_when: preflight.problems is not defined

- name: Refuse the fleet when any host has a problem
  ansible.builtin.assert:
    that: ansible_play_hosts | map('extract', hostvars, ['preflight', 'problems']) | flatten | length == 0
  run_once: true
"""

RETURN = r"""
problems:
  description: Why a bond cannot work on this host, or would fail half-way through a run; empty when none.
  returned: always
  type: list
  elements: str
  sample:
    - "bond 'paris': remote hub1 resolves on this host to 172.31.74.2, inside 172.31.74.0/24 (a network behind
      the server, field 'server_networks' of bond 'paris'), which this host routes into bond 'paris'; ..."
resolved:
  description: Each server address this host dials, with the addresses it resolved to here.
  returned: always
  type: dict
  sample: {"hub1": ["172.31.73.10"]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._host import preflight


def main():
    module = AnsibleModule(
        argument_spec=dict(sides=dict(type="list", elements="dict", required=True)),
        supports_check_mode=True,
    )
    problems, warnings, facts = preflight.check(module.params["sides"])
    for warning in warnings:
        module.warn(warning)
    result = dict(changed=False, problems=problems, **facts)
    if problems:
        module.fail_json(msg="; ".join(problems) + " (this module changed nothing)", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
