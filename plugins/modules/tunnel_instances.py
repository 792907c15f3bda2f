#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tunnel_instances
short_description: Converge every bonded OpenVPN instance of a host in one call
description:
  - Writes the config of every tunnel of every bond this host plays, the tls-crypt keys of
    the bonds it is the client of, and enables and starts one
    C(bonded-openvpn@<bond>-<k>) unit per tunnel.
  - Restarts an instance only when its own config changed (the config records the digests
    of the host certificate and tls-crypt key, so a rotation restarts what uses them).
  - Stops, disables and deletes instances and tls-crypt keys that the plan no longer has:
  - Its cost does not grow with Ansible tasks per tunnel; systemd is asked in batches.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  sides:
    description: What this host plays, from the C(bonded.openvpn.bond_sides) filter.
    type: list
    elements: dict
    required: true
  peer_fingerprints:
    description: Per bond, the SHA-256 fingerprint of the peer's certificate, pinned with C(peer-fingerprint).
    type: dict
    required: true
  tls_crypt_keys:
    description:
      - Per bond this host is the client of, the tls-crypt key made on the server.
      - Secret; never logged or shown in a diff.
    type: dict
    default: {}
  config_dir:
    description: Root of the collection's OpenVPN files.
    type: path
    default: /etc/openvpn/bonded
  runtime_dir:
    description: Parent of each instance's runtime directory (management socket, status file).
    type: path
    default: /run/bonded-openvpn
  user:
    description: Unprivileged user OpenVPN drops to.
    type: str
    default: bonded-openvpn
  group:
    description: Group OpenVPN drops to; owns the configs.
    type: str
    default: bonded-openvpn
  ciphers:
    description: AEAD data ciphers, in order of preference.
    type: list
    elements: str
    default: [AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305]
  keepalive:
    description: OpenVPN C(keepalive) interval and timeout, in seconds.
    type: list
    elements: int
    default: [2, 10]
  socket_buffer:
    description: C(sndbuf)/C(rcvbuf) in bytes; the default UDP buffers overflow under load.
    type: int
    default: 4194304
  verb:
    description: OpenVPN log verbosity.
    type: int
    default: 3
  managed_marker:
    description: First line of every config (without the comment sign).
    type: str
    default: Ansible managed by bonded.openvpn
  preserve:
    description:
      - Bonds to leave exactly as they are on this host, whether or not O(sides) names them;
        their instances, units and tls-crypt keys are not created, changed, restarted or removed.
      - For bonds whose peer cannot be reached in this run (the C(bonded.openvpn.bonded_openvpn_tunnels)
        role passes those); a warning names each preserved bond of O(sides) and its peer.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reports what it would make, write, start, restart or remove, and does none of it.
  diff_mode:
    support: full
  platform:
    platforms: posix
    details: Config diffs are shown in full (they hold paths, not keys); key changes show digests.
"""

EXAMPLES = r"""
- name: Converge all instances of this host
  bonded.openvpn.tunnel_instances:
    sides: "{{ __bonded_openvpn_plan | bonded.openvpn.bond_sides(inventory_hostname) }}"
    peer_fingerprints: {paris: "AB:CD:..."}
    tls_crypt_keys: {berlin: "{{ berlin_key }}"}
  no_log: false
"""

RETURN = r"""
instances:
  description: Every instance this host should run, with what happened to it.
  returned: always
  type: list
  elements: dict
  sample: [{"instance": "paris-0", "unit": "bonded-openvpn@paris-0.service", "action": "unchanged"}]
created:
  description: Instances whose config did not exist.
  returned: always
  type: list
  elements: str
restarted:
  description: Running instances restarted because their config changed.
  returned: always
  type: list
  elements: str
removed:
  description: Instances stopped, disabled and deleted because the plan no longer has them.
  returned: always
  type: list
  elements: str
preserved:
  description: Bonds of O(sides) left as they are because O(preserve) names them.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils.files import read_bytes as _read
from ansible_collections.bonded.openvpn.plugins.module_utils import instance_config as config
from ansible_collections.bonded.openvpn.plugins.module_utils.openvpn_config import split_instance
from ansible_collections.bonded.openvpn.plugins.module_utils.systemd_units import SystemdUnits

UNIT = "bonded-openvpn@%s.service"


class Converger(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False
        self.diffs = []
        self.restart_needed = set()

    def write(self, path, content, mode, group, diff_text=True):
        old = _read(path)
        if old == content:
            return False
        self.changed = True
        before = old.decode("utf-8", "replace") if diff_text and old is not None else ""
        after = content.decode("utf-8") if diff_text else ""
        if not diff_text:
            before = "sha256 %s\n" % config.digest(old) if old is not None else ""
            after = "sha256 %s\n" % config.digest(content)
        self.diffs.append(dict(before_header=path, after_header=path, before=before, after=after))
        if self.module.check_mode:
            return True
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o750)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        gid = self._gid(group)
        os.chown(tmp, 0, gid)
        os.rename(tmp, path)
        return True

    def _gid(self, group):
        import grp
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            self.module.fail_json(msg="group %r does not exist; apply the bonded.openvpn.install role first" % group)

    def delete(self, path):
        if not os.path.lexists(path):
            return
        self.changed = True
        self.diffs.append(dict(before_header=path, after_header="(deleted)", before="(present)\n", after=""))
        if not self.module.check_mode:
            os.unlink(path)


def tls_crypt_digests(converger, sides):
    """Writes client-side keys; returns {bond: sha256 of the key the instances will use}."""
    digests = {}
    config_dir = converger.params["config_dir"]
    keys = converger.params["tls_crypt_keys"] or {}
    for side in sides:
        path = config.tls_crypt_path(config_dir, side["bond"])
        if side["role"] == "client":
            key = keys.get(side["bond"])
            if key is None:
                digests[side["bond"]] = "(missing)"
                continue
            content = key.encode("utf-8")
            if not content.endswith(b"\n"):
                content += b"\n"
            converger.write(path, content, 0o600, "root", diff_text=False)
        else:
            content = _read(path)
            if content is None and not converger.module.check_mode:
                converger.module.fail_json(
                    msg="bond '%s': tls-crypt key %s is missing; run the tunnel_identity module first" % (side["bond"], path))
        digests[side["bond"]] = config.digest(content) if content is not None else "(made on apply)"
    return digests


def desired_configs(converger, sides, digests):
    params = converger.params
    cert = _read(config.identity_paths(params["config_dir"])[1])
    identity = config.digest(cert) if cert is not None else "(made on apply)"
    configs = {}
    for side in sides:
        fingerprint = (params["peer_fingerprints"] or {}).get(side["bond"])
        if not fingerprint and not converger.module.check_mode:
            converger.module.fail_json(
                msg="bond '%s': no certificate fingerprint for peer %r; include that host in the play"
                % (side["bond"], side["peer"]))
        settings = dict(
            config_dir=params["config_dir"], runtime_dir=params["runtime_dir"], user=params["user"],
            group=params["group"], ciphers=params["ciphers"], keepalive=params["keepalive"],
            socket_buffer=params["socket_buffer"], verb=params["verb"], managed=params["managed_marker"],
            peer_fingerprint=fingerprint or "(peer certificate made on apply)",
            identity_digest=identity, tls_crypt_digest=digests[side["bond"]])
        for tunnel in side["tunnels"]:
            configs[tunnel["instance"]] = config.render(side, tunnel, settings).encode("utf-8")
    return configs


def existing_instances(config_dir):
    directory = os.path.join(config_dir, "instances")
    if not os.path.isdir(directory):
        return []
    return sorted(name[:-5] for name in os.listdir(directory)
                  if name.endswith(".conf") and split_instance(name[:-5]) is not None)


def converge(module):
    converger = Converger(module)
    params = module.params
    preserve = set(params["preserve"])
    sides = [side for side in params["sides"] if side["bond"] not in preserve]
    preserved = [side for side in params["sides"] if side["bond"] in preserve]
    for side in preserved:
        module.warn("bond '%s' (peer '%s') preserved: its instances and keys on this host are left exactly as they "
                    "are, not converged; run again once '%s' is reachable" % (side["bond"], side["peer"], side["peer"]))
    units = SystemdUnits(module)
    digests = tls_crypt_digests(converger, sides)
    configs = desired_configs(converger, sides, digests)
    present = existing_instances(params["config_dir"])
    stale = [name for name in present if name not in configs and split_instance(name)[0] not in preserve]

    written = [name for name in sorted(configs)
               if converger.write(config.instance_path(params["config_dir"], name), configs[name], 0o640, params["group"])]
    states = units.show([UNIT % name for name in sorted(configs)])
    to_start, to_restart, to_enable, report = [], [], [], []
    for name in sorted(configs, key=split_instance):
        unit = UNIT % name
        state = states.get(unit, {})
        active = state.get("ActiveState") in ("active", "activating", "reloading")
        action = "unchanged"
        if name in written and name not in present:
            action = "created"
        elif name in written:
            action = "updated"
        if state.get("UnitFileState") != "enabled":
            to_enable.append(unit)
        if not active:
            to_start.append(unit)
            action = action if action != "unchanged" else "started"
        elif name in written:
            to_restart.append(unit)
            action = "restarted"
        report.append(dict(instance=name, unit=unit, action=action))
    removed_units = [UNIT % name for name in stale]

    units.run("disable", removed_units, "--now")
    for name in stale:
        converger.delete(config.instance_path(params["config_dir"], name))
    remove_orphan_bonds(converger, sides, preserve)
    units.run("enable", to_enable)
    units.run("restart", to_restart)
    units.run("start", to_start)
    changed = converger.changed or bool(to_enable or to_start or to_restart or removed_units)
    return dict(
        changed=changed,
        instances=report,
        created=[r["instance"] for r in report if r["action"] == "created"],
        restarted=[u.split("@")[1][:-8] for u in to_restart],
        removed=stale,
        preserved=[side["bond"] for side in preserved],
        diff=converger.diffs,
    )


def remove_orphan_bonds(converger, sides, preserve):
    bonds_dir = os.path.join(converger.params["config_dir"], "bonds")
    if not os.path.isdir(bonds_dir):
        return
    wanted = set(side["bond"] for side in sides) | preserve
    for bond in sorted(os.listdir(bonds_dir)):
        if bond in wanted:
            continue
        directory = os.path.join(bonds_dir, bond)
        for name in sorted(os.listdir(directory)):
            converger.delete(os.path.join(directory, name))
        if not converger.module.check_mode:
            os.rmdir(directory)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sides=dict(type="list", elements="dict", required=True),
            peer_fingerprints=dict(type="dict", required=True),
            tls_crypt_keys=dict(type="dict", default={}, no_log=True),
            config_dir=dict(type="path", default="/etc/openvpn/bonded"),
            runtime_dir=dict(type="path", default="/run/bonded-openvpn"),
            user=dict(type="str", default="bonded-openvpn"),
            group=dict(type="str", default="bonded-openvpn"),
            ciphers=dict(type="list", elements="str", default=list(config.DEFAULT_CIPHERS)),
            keepalive=dict(type="list", elements="int", default=[2, 10]),
            socket_buffer=dict(type="int", default=4194304),
            verb=dict(type="int", default=3),
            managed_marker=dict(type="str", default="Ansible managed by bonded.openvpn"),
            preserve=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    if len(module.params["keepalive"]) != 2:
        module.fail_json(msg="keepalive must be [interval, timeout], got %r" % (module.params["keepalive"],))
    module.exit_json(**converge(module))


if __name__ == "__main__":
    main()
