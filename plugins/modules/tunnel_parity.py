#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tunnel_parity
short_description: Prove that both ends of a bonded OpenVPN bond agree, tunnel by tunnel
description:
  - Compares what M(bonded.openvpn.tunnel_facts) read on a bond's client and on its server,
    and the plan if given, and names every mismatch by bond, tunnel, field, client value and
    server value, with a hint on what to do.
  - "Bond-level checks: facts present for both ends, role (the client holds C(tls-client)
    configs, the server C(tls-server)), tunnel count (both ends and the plan), host
    certificates readable, and the balancers' live sets equal when both are known."
  - "For MPTCP (a bond with C(mptcp)): both watchdogs run the bond with mptcp or both without,
    and as the plan says - compared only when both ends' watchdog metrics were read, since
    null figures also mean no metrics file; and on each end whose watchdog runs it with mptcp,
    both relay units (C(bonded-openvpn-relay@<bond>), C(bonded-openvpn-socks@<bond>)) are
    active. A relay state systemd could not be asked for is left to the unit check. MPTCP
    connection and subflow counts change by the second under traffic and are never compared."
  - "Per tunnel: config present on both ends (and only for planned tunnels); port, proto,
    interface name and the client's remote equal (and equal to the plan); C(ifconfig)
    mirrored (and equal to the plan); each end pins the certificate the other really has;
    data ciphers and tls-crypt keys equal; both units active; both interfaces up with the
    configured address; both management interfaces report CONNECTED; with probes, echo
    replies over the tunnel."
  - "Over uplinks (a bond with C(uplinks)): the client's instance is bound to its uplink's
    address (config C(local)) and dials the uplink's server address, OpenVPN sends from that
    address, and the server sees the peer at it (not compared for an uplink with C(nat));
    an uplink none of whose tunnels is connected is named in one bond-level line."
  - Checks run in stages so that a mismatch names its cause rather than its echoes - a
    missing config hides the rest of that tunnel, and the runtime checks (interface,
    management, probe) run only when the configs agree and both units are active.
  - "Pure computation; it touches no host, so it runs anywhere (usually C(delegate_to: localhost))."
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  bond:
    description: Name of the bond to compare.
    type: str
    required: true
  client_facts:
    description:
      - The bond client's C(ansible_facts.bonded_openvpn_tunnel_facts) from M(bonded.openvpn.tunnel_facts),
        or just its entry for this bond.
      - An empty value means the client was not read; that is reported as a mismatch.
    type: dict
    required: true
  server_facts:
    description:
      - The bond server's C(ansible_facts.bonded_openvpn_tunnel_facts), or just its entry for this bond.
      - An empty value means the server was not read; that is reported as a mismatch.
    type: dict
    required: true
  plan:
    description:
      - This bond's entry of the C(bonded.openvpn.bond_plan) filter's result. When given, counts,
        ports, proto, addresses, interface names and the client's remote are also checked
        against it, and hints name the inventory hosts.
    type: dict
  fail_on_mismatch:
    description: Fail, listing every mismatch, when there is any. Otherwise only report them.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: The module changes nothing; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: bonded.openvpn.tunnel_facts
"""

EXAMPLES = r"""
- name: Read both ends of bond paris
  bonded.openvpn.tunnel_facts:
    bonds: [paris]
  become: true
  when: inventory_hostname in ['hq1', 'paris1']

- name: Compare them with each other and with the plan
  bonded.openvpn.tunnel_parity:
    bond: paris
    client_facts: "{{ hostvars['paris1'].ansible_facts.bonded_openvpn_tunnel_facts | default({}) }}"
    server_facts: "{{ hostvars['hq1'].ansible_facts.bonded_openvpn_tunnel_facts | default({}) }}"
    plan: "{{ bonded_openvpn_bonds | bonded.openvpn.bond_plan(bonded_openvpn_pool, hostvars)
              | selectattr('name', 'equalto', 'paris') | first }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
bond:
  description: The bond compared (handy when looping over bonds).
  returned: always
  type: str
  sample: paris
ok:
  description: True when there is no mismatch.
  returned: always
  type: bool
  sample: false
settling:
  description:
    - True when every mismatch is one the watchdogs heal by themselves within a round or two (V(balance_live), the
      live sets differ), so a caller may read the ends again before calling it; false when there is none or any
      other. C(playbooks/verify.yml) waits for such bonds, up to C(bonded_openvpn_verify_settle_timeout) seconds.
  returned: always
  type: bool
  sample: false
mismatches:
  description: Every mismatch found, bond-level ones first, then by tunnel, then each uplink none of whose tunnels is connected.
  returned: always
  type: list
  elements: dict
  contains:
    bond:
      description: The bond.
      type: str
    tunnel:
      description: The tunnel index; null for bond-level fields.
      type: int
    field:
      description:
        - What disagrees. Bond-level V(facts), V(role), V(count), V(certificate), V(balance_live),
          V(mptcp) (one watchdog runs the bond with mptcp, the other without, or both unlike the plan;
          values V(on) or V(off)), V(mptcp_relay) (one per end whose relay units are not all active; values
          V(active), or each unit not active with its ActiveState, V(unknown) when systemd could not be asked;
          the hint names the units and C(journalctl -u) them),
          V(uplink_down) (none of an uplink's tunnels is connected; the hint names the uplink);
          per tunnel V(config), V(port), V(proto), V(underlay_family) (the client dials in another address family
          than the server listens in, or the server listens in another than the plan's C(underlay_family)),
          V(dev), V(remote), V(local) (the address a client on an uplink
          binds to), V(ifconfig), V(peer_fingerprint), V(data_ciphers), V(tls_crypt_key), V(unit), V(interface),
          V(interface_address), V(management), V(uplink) (the client sends from, or the server sees the peer at,
          another address than the tunnel's uplink's), V(probe).
      type: str
    client:
      description: The client's value (null when unknown).
      type: raw
    server:
      description: The server's value (null when unknown).
      type: raw
    plan:
      description: The plan's value, for fields checked against the plan; else null.
      type: raw
    hint:
      description: What to do about it.
      type: str
  sample:
    - bond: paris
      tunnel: 2
      field: unit
      client: failed
      server: active
      plan: null
      hint: restart bonded-openvpn@paris-2 on paris1 (client) (see journalctl -u bonded-openvpn@paris-2)
messages:
  description: Each mismatch as one line, C(bond X tunnel K field F client=..., server=... (hint)).
  returned: always
  type: list
  elements: str
table:
  description: One row per tunnel found on either end or planned, sorted by index.
  returned: always
  type: list
  elements: dict
  contains:
    bond:
      description: The bond.
      type: str
    tunnel:
      description: Tunnel index.
      type: int
    instance:
      description: Instance name C(<bond>-<k>).
      type: str
    port:
      description: The server's port (else the client's, else the plan's).
      type: int
    proto:
      description: V(udp) or V(tcp).
      type: str
    uplink:
      description: The uplink the plan puts this tunnel on; null for a bond without uplinks or without a plan.
      type: str
    client:
      description:
        - "The client's end: C(config) (V(present), V(absent), V(leftover) or V(unreadable)), C(port), C(unit)
          (ActiveState), C(management) (state), C(interface) (V(up), V(down), V(absent)), C(rx_packets),
          C(tx_packets), C(rx_bytes), C(tx_bytes), C(probe_ms), C(live) (in the balancer's live set)."
      type: dict
    server:
      description: The server's end, as RV(table[].client).
      type: dict
    mismatches:
      description: The fields of this tunnel that mismatch.
      type: list
      elements: str
    ok:
      description: True when this tunnel has no mismatch.
      type: bool
summary:
  description: One readable line per tunnel (ports, unit and management states, interface, packet counters), then bond-level mismatches.
  returned: always
  type: list
  elements: str
  sample:
    - "paris k=0  port 1194/udp | client active   CONNECTED    up     rx 4        tx 5       | server active   CONNECTED    up     rx 5        tx 4       | ok"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._verify import parity
from ansible_collections.bonded.openvpn.plugins.module_utils._verify import settle


def run(params):
    rows, mismatches = parity.compare(params["bond"], params["client_facts"], params["server_facts"],
                                      params["plan"])
    return {
        "changed": False,
        "bond": params["bond"],
        "ok": not mismatches,
        "settling": settle.settling(mismatches),
        "mismatches": mismatches,
        "messages": [parity.describe(m) for m in mismatches],
        "table": rows,
        "summary": parity.summary_lines(rows, mismatches),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bond=dict(type="str", required=True),
            client_facts=dict(type="dict", required=True),
            server_facts=dict(type="dict", required=True),
            plan=dict(type="dict"),
            fail_on_mismatch=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    result = run(module.params)
    if result["mismatches"] and module.params["fail_on_mismatch"]:
        module.fail_json(msg="bond %s: %d mismatch%s:\n%s" % (
            module.params["bond"], len(result["mismatches"]), "" if len(result["mismatches"]) == 1 else "es",
            "\n".join(result["messages"])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
