#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tunnel_facts
short_description: Read the real state of every bonded OpenVPN tunnel on a host
description:
  - "Reads, and never changes, what is really on the host for each bond found there (or for
    the bonds named in O(bonds)): the instance configs
    C(<config_dir>/instances/<bond>-<k>.conf), the C(bonded-openvpn@<bond>-<k>) units, the
    C(bo-<bond>-<k>) interfaces with their addresses and counters, each instance's
    management state, the host certificate's SHA-256 fingerprint, the balancer's live
    set C(<runtime_dir>/balance/<bond>.live) and the figures its watchdog last wrote
    (C(<runtime_dir>/balance/<bond>.metrics.json)), among them, for a bond with C(mptcp),
    its MPTCP connections and each tunnel's subflows; and for such a bond the states of its
    relay units C(bonded-openvpn-relay@<bond>) and C(bonded-openvpn-socks@<bond>)."
  - Tunnels are found from configs, loaded units and interfaces alike, so a leftover unit or
    interface without a config shows up as a tunnel whose config is absent.
  - The cost does not grow with the number of tunnels - one C(systemctl show) (for the
    OpenVPN units and the MPTCP relay units together) and one C(ip -j -s addr show) call in
    all, and all management sockets (and probes) are asked at once under one O(timeout).
  - A missing C(systemctl) or C(ip), or a host without systemd, is reported in RV(ansible_facts.bonded_openvpn_tunnel_facts.problems)
    and leaves the affected values null, rather than failing.
  - Reading configs, keys and management sockets needs root (use C(become)).
  - Feed the result of both ends of a bond to M(bonded.openvpn.tunnel_parity).
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
requirements:
  - iproute2 (C(ip))
  - systemd (C(systemctl))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bonded.openvpn.config_dir
  - ansible.builtin.action_common_attributes.facts
options:
  bonds:
    description:
      - Names of the bonds to report. A named bond with nothing on the host is reported
        with no tunnels, which parity flags.
      - Default is every bond found on the host.
    type: list
    elements: str
  runtime_dir:
    description:
      - Parent of each instance's runtime directory and of the balancer's C(balance/) directory.
      - An instance's management socket is taken from its config's C(management) line;
        C(<runtime_dir>/<bond>-<k>/management.sock) is only the fallback.
    type: path
    default: /run/bonded-openvpn
  probe:
    description:
      - Also send ICMP echoes to the peer's transfer address over each tunnel whose
        interface is up, forced out of that interface, to prove the tunnel passes traffic.
      - Read-only for the host's configuration; it does make the tunnels' counters grow.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for all management sockets together, and for all probes together.
    type: float
    default: 1.0
attributes:
  check_mode:
    support: full
    details: The module never changes anything; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
  facts:
    support: full
notes:
  - Each management socket is held only for the moment of one C(state) query, since
    OpenVPN serves one management client at a time.
  - The tls-crypt key itself is never returned, only the SHA-256 of its key material, so
    that parity can tell whether both ends hold the same key.
seealso:
  - module: bonded.openvpn.tunnel_parity
"""

EXAMPLES = r"""
- name: Read the tunnels of every bond on this host
  bonded.openvpn.tunnel_facts:
  become: true

- name: Read only the bonds paris and lyon, and prove each tunnel passes traffic
  bonded.openvpn.tunnel_facts:
    bonds: [paris, lyon]
    probe: true
  become: true

- name: Show which tunnels of paris report CONNECTED
  ansible.builtin.debug:
    msg: >-
      {{ ansible_facts.bonded_openvpn_tunnel_facts.bonds.paris.tunnels
         | selectattr('management.connected') | map(attribute='index') | list }}
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    bonded_openvpn_tunnel_facts:
      description: What the host really runs.
      returned: always
      type: complex
      contains:
        config_dir:
          description: The config root read.
          type: str
          sample: /etc/openvpn/bonded
        host_fingerprint:
          description:
            - SHA-256 fingerprint of C(<config_dir>/identity/host.crt), as C(openssl x509 -fingerprint -sha256)
              prints it; null when unreadable.
          type: str
          sample: "25:3B:49:10:B8:8C:92:5E:4C:C0:25:7B:1C:26:D4:66:06:00:66:E8:B9:59:CF:44:97:8E:05:4B:8A:22:66:38"
        problems:
          description: What could not be read, one sentence each (missing tools, unreadable files).
          type: list
          elements: str
          sample: ["systemctl not found: unit states unknown"]
        dco:
          description:
            - Whether DCO can work on this host. Keys C(possible), C(module) (the one OpenVPN would use), C(openvpn)
              (its version), C(reason) (why not; null when possible).
          type: dict
          sample: {possible: false, module: null, openvpn: 2.6.14, reason: "the kernel has no DCO module (neither ovpn nor ovpn_dco_v2); ..."}
        bonds:
          description: One entry per bond, keyed by bond name.
          type: dict
          contains:
            name:
              description: The bond name.
              type: str
            role:
              description: V(server) or V(client) from the configs' C(tls-server)/C(tls-client); V(mixed) if they disagree; null without configs.
              type: str
            count:
              description: Number of tunnels with a config.
              type: int
            host_fingerprint:
              description: Same as the host-level value, so that one bond's entry stands alone.
              type: str
            balance:
              description: The balancer's live set.
              type: dict
              contains:
                path:
                  description: The live-set file read.
                  type: str
                live:
                  description: Sorted tunnel indexes the balancer uses; null when the file is missing or unreadable (unknown).
                  type: list
                  elements: int
                spec:
                  description:
                    - What the bond's data path spec on this host says both ends must agree on (C(balance),
                      C(weights) in tunnel order, C(flowlet_gap) for flowlet mode, C(mptcp), C(egress_rate),
                      C(latency_cutoff) in ms, 0 when off or when the spec predates it, C(udp_balance)).
                    - Null when the host holds no readable spec for the bond.
                  type: dict
            metrics:
              description:
                - What the bond's watchdog last wrote to C(<runtime_dir>/balance/<bond>.metrics.json), the figures of its
                  Prometheus file - C(bond), C(role), C(balance) and per tunnel C(index), C(interface), C(up),
                  C(in_rotation), C(rtt_seconds), C(loss_ratio), C(receive_bytes), C(transmit_bytes),
                  C(receive_packets), C(transmit_packets) and C(transitions) (C(direction), C(reason), C(count)).
                - For a bond with C(mptcp) also C(mptcp) (C(connections), C(bundle_subflows)) and per tunnel
                  C(mptcp_subflows).
                - Null when the file is missing or unreadable.
              type: dict
            mptcp:
              description:
                - For a bond with C(mptcp), from RV(ansible_facts.bonded_openvpn_tunnel_facts.bonds.metrics) - the
                  established MPTCP connections between the two bundle addresses (C(connections)) and their
                  established subflows from bundle address to bundle address (C(bundle_subflows)), the first
                  subflow of each connection, which no single tunnel carries. Each is null when the watchdog
                  could not read the host's sockets.
                - Also C(relays), the ActiveState of the bond's two relay units (C(bonded-openvpn-relay@<bond>.service),
                  redsocks, and C(bonded-openvpn-socks@<bond>.service), microsocks) keyed by unit name, for example
                  V(active), V(activating) (restarting after a crash), V(failed), or V(inactive) (also when the unit
                  is not loaded). Each state is null when systemd could not be asked.
                - Null for a bond without C(mptcp), and when the metrics file is missing or unreadable.
              type: dict
              sample:
                connections: 2
                bundle_subflows: 2
                relays: {"bonded-openvpn-relay@paris.service": active, "bonded-openvpn-socks@paris.service": active}
            tunnels:
              description: One entry per tunnel found, sorted by index.
              type: list
              elements: dict
              contains:
                index:
                  description: Tunnel index k.
                  type: int
                instance:
                  description: Instance name C(<bond>-<k>).
                  type: str
                config:
                  description:
                    - What the instance config says. Keys C(present), C(path), C(error), C(role), C(port) (server C(port), client
                      C(remote) port), C(remote), C(local) (the address a client on an uplink binds to, else null),
                      C(proto) (V(udp) or V(tcp)), C(proto_directive) (as written), C(family) (the underlay's address
                      family, V(ipv4) or V(ipv6); a server's plain V(udp) binds IPv4 only; null for a client that dials
                      a host name with a plain C(proto), which may go either way), C(dev),
                      C(local_address) and C(peer_address) (from C(ifconfig)), C(local_address6) and
                      C(peer_address6) (from C(ifconfig-ipv6), null without it), C(peer_fingerprints) (upper-case list),
                      C(data_ciphers) (upper-case), C(cert), C(cert_fingerprint), C(tls_crypt), C(tls_crypt_sha256),
                      C(management), C(status).
                    - All but C(present) and C(path) are null when the config is absent or unreadable.
                  type: dict
                unit:
                  description:
                    - The systemd unit. Keys C(name), C(load_state), C(active_state), C(sub_state), C(main_pid),
                      C(active) (bool). Values null when systemd could not be asked.
                  type: dict
                interface:
                  description:
                    - The tun interface. Keys C(name), C(present), C(up) (UP and LOWER_UP), C(flags), C(operstate),
                      C(ifindex), C(addresses) (list of C(local), C(peer), C(prefixlen); IPv4, and IPv6 but the
                      link-local one), C(rx_packets), C(rx_bytes),
                      C(tx_packets), C(tx_bytes). C(present) and C(up) are null when C(ip) could not be run.
                  type: dict
                management:
                  description:
                    - The answer to C(state) on the management socket. Keys C(socket), C(state) (for example
                      V(CONNECTED), V(WAIT), V(RECONNECTING)), C(connected) (bool), C(since) (epoch seconds),
                      C(local_ip), C(remote_ip) and C(remote_port) (the peer's real address, as this end sees it),
                      C(local_real_ip) (the underlay address this end sends from, when OpenVPN reports it), C(error).
                      C(state) and C(connected) are null with
                      C(error) set when the socket is missing or silent.
                  type: dict
                dco:
                  description:
                    - Data channel offload. Keys C(active) (bool; null when the interface is absent), C(interface_kind)
                      (V(tun) without DCO, the DCO device type such as V(ovpn) with it; null when absent) and
                      C(reason) (why DCO is not active - no module, the wrong module for this OpenVPN, a config
                      option such as C(shaper); null when active).
                  type: dict
                probe:
                  description:
                    - With O(probe), the ICMP probe to the peer's transfer address. Keys C(sent), C(received),
                      C(rtt_ms), C(error). Null when not probed (option off, interface down, or no C(ifconfig)).
                  type: dict
                mptcp_subflows:
                  description:
                    - For a bond with C(mptcp), the established MPTCP subflows over this tunnel, as the watchdog
                      last counted them - those this end opened from the tunnel's transfer address to the peer's
                      bundle address, and those the peer opened from its end of the tunnel to this end's bundle
                      address. With relay connections up, 0 means the tunnel carries none of them.
                    - Null for a bond without C(mptcp), when the watchdog could not read the host's sockets, and
                      when the metrics file is missing or unreadable.
                  type: int
  sample:
    bonded_openvpn_tunnel_facts:
      config_dir: /etc/openvpn/bonded
      host_fingerprint: "25:3B:49:10:B8:8C:92:5E:4C:C0:25:7B:1C:26:D4:66:06:00:66:E8:B9:59:CF:44:97:8E:05:4B:8A:22:66:38"
      problems: []
      bonds:
        paris:
          name: paris
          role: server
          count: 1
          host_fingerprint: "25:3B:49:10:B8:8C:92:5E:4C:C0:25:7B:1C:26:D4:66:06:00:66:E8:B9:59:CF:44:97:8E:05:4B:8A:22:66:38"
          balance:
            path: /run/bonded-openvpn/balance/paris.live
            live: [0]
            spec: {balance: packet, weights: [1], flowlet_gap: null, mptcp: false, egress_rate: null, latency_cutoff: 50,
                   udp_balance: flow}
          mptcp: null
          tunnels:
            - index: 0
              instance: paris-0
              config:
                present: true
                path: /etc/openvpn/bonded/instances/paris-0.conf
                error: null
                role: server
                port: 1194
                remote: null
                local: null
                proto: udp
                proto_directive: udp
                family: ipv4
                dev: bo-paris-0
                local_address: 10.255.1.1
                peer_address: 10.255.1.2
                peer_fingerprints: ["4D:27:6A:CD:22:80:60:0C:6F:EB:C3:7B:97:E0:08:86:03:DD:C6:57:6B:97:60:D6:02:FC:29:CE:12:47:15:23"]
                data_ciphers: AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305
                cert: /etc/openvpn/bonded/identity/host.crt
                cert_fingerprint: "25:3B:49:10:B8:8C:92:5E:4C:C0:25:7B:1C:26:D4:66:06:00:66:E8:B9:59:CF:44:97:8E:05:4B:8A:22:66:38"
                tls_crypt: /etc/openvpn/bonded/bonds/paris/tls-crypt.key
                tls_crypt_sha256: 0f3c5d2e8a41b6c7d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6
                management: /run/bonded-openvpn/paris-0/management.sock
                status: /run/bonded-openvpn/paris-0/status
              unit:
                name: bonded-openvpn@paris-0.service
                load_state: loaded
                active_state: active
                sub_state: running
                main_pid: 96
                active: true
              interface:
                name: bo-paris-0
                present: true
                up: true
                flags: [POINTOPOINT, MULTICAST, NOARP, UP, LOWER_UP]
                operstate: UNKNOWN
                ifindex: 3
                addresses: [{local: 10.255.1.1, peer: 10.255.1.2, prefixlen: 32}]
                rx_packets: 12
                rx_bytes: 1008
                tx_packets: 12
                tx_bytes: 1008
              management:
                socket: /run/bonded-openvpn/paris-0/management.sock
                state: CONNECTED
                connected: true
                since: 1732650000
                local_ip: 10.255.1.1
                remote_ip: 10.89.1.3
                remote_port: 1194
                local_real_ip: null
                error: null
              probe: {sent: 1, received: 1, rtt_ms: 0.412, error: null}
              dco: {active: false, interface_kind: tun, reason: "the kernel has no DCO module (neither ovpn nor ovpn_dco_v2); ..."}
              mptcp_subflows: null
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import live_set as balance_live_set
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._host import dco
from ansible_collections.bonded.openvpn.plugins.module_utils._host import state as host_state
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import management
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import config as openvpn_config
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import echo as probe
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.pem import certificate_fingerprint

UNIT_PREFIX = layout.INSTANCE_UNIT.split("%s", 1)[0]
UNIT_SUFFIX = layout.INSTANCE_UNIT.split("%s", 1)[1]
# The MPTCP relay units of a bond with mptcp (roles/bonded_openvpn_balance): one of each per bond.
RELAY_PREFIXES = tuple(unit.split("%s", 1)[0] for unit in (layout.RELAY_UNIT, layout.SOCKS_UNIT))
INTERFACE_PREFIX = layout.INTERFACE_PREFIX
CONFIG_SUFFIX = ".conf"
RUNNING_STATES = ("active", "activating", "deactivating", "reloading")


class HostReader(object):
    """Reads files and runs the host's tools, remembering what could not be read."""

    def __init__(self, module):
        self.module = module
        self.problems = []
        self._files = {}

    def read(self, path):
        """``(text, error)``; each file is read once however many tunnels refer to it."""
        if path not in self._files:
            try:
                with open(path, "rb") as handle:
                    self._files[path] = (handle.read().decode("utf-8", "replace"), None)
            except (IOError, OSError) as error:
                self._files[path] = (None, "%s: %s" % (path, error.strerror or error))
        return self._files[path]

    def run(self, tool, args, purpose):
        """stdout of one tool call, or None with a problem recorded."""
        path = self.module.get_bin_path(tool)
        if not path:
            self.problems.append("%s not found: %s unknown" % (tool, purpose))
            return None
        rc, out, err = self.module.run_command([path] + args, environ_update={"LC_ALL": "C"})
        if rc != 0:
            self.problems.append("%s %s failed (rc=%d: %s): %s unknown"
                                 % (tool, args[0], rc, (err or out).strip(), purpose))
            return None
        return out


def discover_configs(config_dir):
    """``{(bond, index): path}`` of every instance config named ``<bond>-<k>.conf``."""
    directory = os.path.join(config_dir, "instances")
    try:
        names = os.listdir(directory)
    except (IOError, OSError):
        return {}
    found = {}
    for name in names:
        if name.endswith(CONFIG_SUFFIX):
            key = openvpn_config.split_instance(name[:-len(CONFIG_SUFFIX)])
            if key:
                found[key] = os.path.join(directory, name)
    return found


def unit_name(instance):
    return "%s%s%s" % (UNIT_PREFIX, instance, UNIT_SUFFIX)


def relay_units(bond):
    """The relay units of ``bond`` (with ``*``, the patterns of every bond's)."""
    return ["%s%s%s" % (prefix, bond, UNIT_SUFFIX) for prefix in RELAY_PREFIXES]


def _instance_of_unit(name):
    if name.startswith(UNIT_PREFIX) and name.endswith(UNIT_SUFFIX):
        return openvpn_config.split_instance(name[len(UNIT_PREFIX):-len(UNIT_SUFFIX)])
    return None


def _instance_of_interface(name):
    if name.startswith(INTERFACE_PREFIX):
        return openvpn_config.split_instance(name[len(INTERFACE_PREFIX):])
    return None


def query_units(reader, keys, wanted):
    """One ``systemctl show`` for the configured units plus every loaded unit of our template,
    and the MPTCP relay units: two per named bond, else two patterns. Which bonds have mptcp
    is known only from their metrics, read later; asking for every bond's relays keeps it one
    call, whose size grows with the bonds and not with the tunnels."""
    if wanted:
        patterns = ["%s%s-*%s" % (UNIT_PREFIX, bond, UNIT_SUFFIX) for bond in sorted(wanted)]
        relays = [unit for bond in sorted(wanted) for unit in relay_units(bond)]
    else:
        patterns, relays = ["%s*%s" % (UNIT_PREFIX, UNIT_SUFFIX)], relay_units("*")
    units = [unit_name("%s-%d" % key) for key in sorted(keys)]
    out = reader.run("systemctl", ["show", "--no-pager", "-p", ",".join(host_state.UNIT_PROPERTIES)]
                     + units + patterns + relays, "unit states")
    if out is None:
        return None
    return host_state.parse_systemctl_show(out)


def query_interfaces(reader):
    out = reader.run("ip", ["-j", "-s", "addr", "show"], "interface states")
    if out is None:
        return None
    try:
        return host_state.parse_ip_addr(out)
    except ValueError as error:
        reader.problems.append("ip -j -s addr show gave unreadable JSON (%s): interface states unknown" % error)
        return None


def read_config(reader, path):
    facts = dict.fromkeys(("role", "port", "remote", "local", "proto", "proto_directive", "family", "dev",
                           "local_address", "peer_address", "local_address6", "peer_address6", "peer_fingerprints", "data_ciphers", "cert", "cert_fingerprint",
                           "tls_crypt", "tls_crypt_sha256", "management", "status"))
    facts.update({"present": path is not None, "path": path, "error": None})
    if path is None:
        return facts
    text, error = reader.read(path)
    if error:
        facts["error"] = error
        return facts
    facts.update(openvpn_config.instance_facts(text))
    if facts["cert"]:
        facts["cert_fingerprint"] = certificate_fingerprint(reader.read(facts["cert"])[0] or "")
    if facts["tls_crypt"]:
        key_text = reader.read(facts["tls_crypt"])[0]
        body = openvpn_config.tls_crypt_body(key_text or "")
        facts["tls_crypt_sha256"] = hashlib.sha256(body.encode("ascii")).hexdigest() if body else None
    return facts


def interface_name(instance):
    return "%s%s" % (INTERFACE_PREFIX, instance)


def _unit(units, name):
    if units is None:
        return host_state.unknown_unit(name)
    unit = host_state.unknown_unit(name)
    unit.update({"load_state": "not-found", "active_state": "inactive", "active": False})
    return units.get(name, unit)


def _interface(interfaces, name):
    if interfaces is None:
        return host_state.unknown_interface(name)
    return interfaces.get(name) or host_state.absent_interface(name)


def _tunnel(reader, params, key, config_path, units, interfaces):
    instance = "%s-%d" % key
    config = read_config(reader, config_path)
    socket_path = config["management"] or os.path.join(params["runtime_dir"], instance, "management.sock")
    return {"index": key[1], "instance": instance, "config": config,
            "unit": _unit(units, unit_name(instance)),
            "interface": _interface(interfaces, config["dev"] or interface_name(instance)),
            "management": management.empty_state(socket_path), "probe": None}


def _all_keys(configs, units, interfaces, wanted):
    keys = set(configs)
    # A unit without a config counts only while it may run a process: an inactive or
    # failed leftover is harmless, and systemd keeps such units loaded for a while.
    keys.update(k for k in (_instance_of_unit(u) for u, s in (units or {}).items()
                            if s["active_state"] in RUNNING_STATES) if k)
    keys.update(k for k in (_instance_of_interface(i) for i in (interfaces or {})) if k)
    if wanted:
        keys = set(k for k in keys if k[0] in wanted)
    return keys


def _bond(reader, params, name, tunnels, fingerprint, units):
    roles = set(t["config"]["role"] for t in tunnels if t["config"]["role"])
    live_path = balance_live_set.path(name, os.path.join(params["runtime_dir"], "balance"))
    text, error = reader.read(live_path)
    figures = _metrics(reader, params, name)
    mptcp = _mptcp(figures)
    for tunnel in tunnels:
        tunnel["mptcp_subflows"] = mptcp["subflows"].get(tunnel["index"]) if mptcp else None
    return {
        "name": name,
        "role": roles.pop() if len(roles) == 1 else ("mixed" if roles else None),
        "count": sum(1 for t in tunnels if t["config"]["present"]),
        "host_fingerprint": fingerprint,
        "balance": {"path": live_path, "live": None if error else balance_live_set.parse(text),
                    "spec": _balance_spec(reader, params, name)},
        "metrics": figures,
        "mptcp": _mptcp_entry(mptcp, name, units) if mptcp else None,
        "tunnels": sorted(tunnels, key=lambda t: t["index"]),
    }


def _balance_spec(reader, params, name):
    """What the bond's data path spec on this host says both ends must agree on (None: no
    readable spec)."""
    path = bspec.spec_path(name, os.path.join(params["config_dir"], os.path.basename(layout.BALANCE_CONFIG_DIR)))
    text, error = reader.read(path)
    if error:
        return None
    try:
        return bspec.agreed(bspec.parse(text, path))
    except bspec.SpecError as problem:
        reader.problems.append(str(problem))
        return None


def _mptcp(figures):
    """``{"connections", "bundle_subflows", "subflows": {index: n}}`` as the watchdog last
    wrote them (each None when it could not read them) for a bond with mptcp; None for a
    bond without mptcp, or without metrics."""
    if not isinstance(figures, dict) or not isinstance(figures.get("mptcp"), dict):
        return None
    rows = [row for row in figures.get("tunnels") or [] if isinstance(row, dict) and isinstance(row.get("index"), int)]
    return {"connections": figures["mptcp"].get("connections"),
            "bundle_subflows": figures["mptcp"].get("bundle_subflows"),
            "subflows": dict((row["index"], row.get("mptcp_subflows")) for row in rows)}


def _mptcp_entry(mptcp, name, units):
    """The bond's ``mptcp`` fact: its figures and the ActiveState of its relay units (null
    when systemd could not be asked; an unlisted unit is not loaded, so inactive)."""
    entry = dict((key, mptcp[key]) for key in ("connections", "bundle_subflows"))
    entry["relays"] = dict((unit, _unit(units, unit)["active_state"]) for unit in relay_units(name))
    return entry


def _metrics(reader, params, name):
    text, error = reader.read(os.path.join(params["runtime_dir"], "balance", "%s.metrics.json" % name))
    try:
        return None if error else json.loads(text)
    except ValueError:
        return None


def _add_runtime(params, tunnels):
    states = management.query_states([t["management"]["socket"] for t in tunnels], params["timeout"])
    for tunnel in tunnels:
        tunnel["management"] = states[tunnel["management"]["socket"]]
    if not params["probe"]:
        return
    targets = dict((t["instance"], (t["config"]["peer_address"], t["interface"]["ifindex"]))
                   for t in tunnels if t["interface"]["up"] and t["config"]["peer_address"])
    results = probe.probe(targets, params["timeout"])
    for tunnel in tunnels:
        tunnel["probe"] = results.get(tunnel["instance"])


def _add_dco(module, reader, tunnels):
    """Whether DCO can work on this host (one ``openvpn --version``), and per tunnel whether it does."""
    host = dco.host_support(dco.parse_version(dco.openvpn_version_text(module)), dco.kernel_dco_modules())
    for tunnel in tunnels:
        text = reader.read(tunnel["config"]["path"])[0] if tunnel["config"]["present"] else None
        directives = openvpn_config.parse_directives(text) if text else None
        tunnel["dco"] = dco.tunnel_status(host, directives, dco.interface_kind(tunnel["interface"]["name"]))
    return host


def gather(module):
    params = module.params
    reader = HostReader(module)
    wanted = set(params["bonds"] or [])
    configs = discover_configs(params["config_dir"])
    if wanted:
        configs = dict((k, v) for k, v in configs.items() if k[0] in wanted)
    units = query_units(reader, configs, wanted)
    interfaces = query_interfaces(reader)
    tunnels = [_tunnel(reader, params, key, configs.get(key), units, interfaces)
               for key in sorted(_all_keys(configs, units, interfaces, wanted))]
    _add_runtime(params, tunnels)
    host_dco = _add_dco(module, reader, tunnels)
    cert_path = os.path.join(params["config_dir"], "identity", "host.crt")
    cert_text, error = reader.read(cert_path)
    fingerprint = certificate_fingerprint(cert_text) if cert_text is not None else None
    if error or fingerprint is None:
        reader.problems.append("host certificate %s: %s" % (cert_path, error or "no PEM certificate in it"))
    names = wanted | set(t["instance"].rsplit("-", 1)[0] for t in tunnels)
    bonds = dict((name, _bond(reader, params, name, [t for t in tunnels if t["instance"].rsplit("-", 1)[0] == name],
                              fingerprint, units)) for name in sorted(names))
    return {"config_dir": params["config_dir"], "host_fingerprint": fingerprint,
            "problems": reader.problems, "bonds": bonds, "dco": host_dco}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bonds=dict(type="list", elements="str"),
            config_dir=dict(type="path", default=layout.CONFIG_DIR),
            runtime_dir=dict(type="path", default=layout.RUN_DIR),
            probe=dict(type="bool", default=False),
            timeout=dict(type="float", default=1.0),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, ansible_facts={"bonded_openvpn_tunnel_facts": gather(module)})


if __name__ == "__main__":
    main()
