#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tunnel_keys
short_description: Read the tls-crypt keys of the bonds a bonded OpenVPN server serves, for their clients
description:
  - Reads, in one call, the tls-crypt key of every bond named in O(bonds) from this host, the
    bonds' server, so that each client can be given its bond's key without connecting to the
    server itself.
  - A hub that serves H bonds runs one module, instead of one read delegated to it per client.
  - Read-only. The result holds key material, so the task that calls it must set C(no_log).
  - M(bonded.openvpn.tunnel_identity) makes the keys.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bonded.openvpn.config_dir
options:
  bonds:
    description: Names of the bonds this host serves whose keys the clients need.
    type: list
    elements: str
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
  - Call it with C(no_log=true). The keys are secrets, and anyone holding one can reach the
    bond's control channel.
"""

EXAMPLES = r"""
- name: Read the tls-crypt keys of the bonds this host serves
  bonded.openvpn.tunnel_keys:
    bonds: [paris, berlin]
  register: served_keys
  no_log: true
"""

RETURN = r"""
tls_crypt:
  description: Per bond whose key exists, the key file's text.
  returned: always
  type: dict
  sample: {"paris": "-----BEGIN OpenVPN Static key V1-----\n..."}
missing:
  description: The bonds of O(bonds) that have no key yet (in check mode before the first run).
  returned: always
  type: list
  elements: str
  sample: ["berlin"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._host.files import read_bytes
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.instance_config import tls_crypt_path
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import safe_text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default=layout.CONFIG_DIR),
            bonds=dict(type="list", elements="str", required=True),
        ),
        supports_check_mode=True,
    )
    tls_crypt, missing = {}, []
    for bond in module.params["bonds"]:
        try:
            # The name becomes a path component: no separator or '..' may reach it.
            safe_text.shaped("bonds", bond, safe_text.NAME, "a bond name", "a key path")
        except safe_text.UnsafeValue as error:
            module.fail_json(msg="%s; nothing was read" % error)
        content = read_bytes(tls_crypt_path(module.params["config_dir"], bond))
        if content is None:
            missing.append(bond)
        else:
            tls_crypt[bond] = content.decode("ascii", "replace")
    module.exit_json(changed=False, tls_crypt=tls_crypt, missing=missing)


if __name__ == "__main__":
    main()
