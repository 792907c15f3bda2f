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
  - Compares each config with the one its process was last (re)started with, recorded in
    C(<config_dir>/applied/<instance>.sha256) only after systemd confirmed the (re)start; so
    an instance whose restart failed, or whose run was cut off between writing and
    restarting, is restarted by the next run.
  - Stops, disables and deletes instances and tls-crypt keys that the plan no longer has.
  - Files in C(instances/) or C(bonds/) that it did not write are reported with a warning
    and left alone.
  - Its cost does not grow with Ansible tasks per tunnel; systemd is asked in batches.
  - Fails before any change when a bond's underlay is IPv6 (C(underlay_family) of its side)
    and the host's kernel has no IPv6 (C(/proc/net/if_inet6) missing).
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
requirements:
  - openvpn
  - systemd (C(systemctl))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bonded.openvpn.config_dir
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
failed_instances:
  description: Instances that did not come up with their new config; the next run (re)starts them.
  returned: failure
  type: list
  elements: str
  sample: ["paris-2"]
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._host.files import read_bytes as _read, write_atomic
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import instance_config as config
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.config import split_instance
from ansible_collections.bonded.openvpn.plugins.module_utils._host.systemd_units import SystemdUnits

UNIT = layout.INSTANCE_UNIT
ACTIVE = ("active", "activating", "reloading")


def applied_path(config_dir, instance):
    """Digest of the config the instance's process was last (re)started with by this module.

    Written only after systemd confirmed the (re)start, so it never claims a config that
    no process runs; kept under /etc so a failed run or a crash between writing a config
    and restarting its instance is still seen as pending on the next run.
    """
    return os.path.join(config_dir, "applied", "%s.sha256" % instance)


def _is_file(path):
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


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
        write_atomic(self.module, path, content, mode, uid=0, gid=self._gid(group), dir_mode=0o750)
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
        if not _is_file(path):
            self.module.warn("%s is not a file the collection wrote; left in place, remove it by hand" % path)
            return
        self.changed = True
        self.diffs.append(dict(before_header=path, after_header="(deleted)", before="(present)\n", after=""))
        if not self.module.check_mode:
            os.unlink(path)

    def record_applied(self, instance, digest):
        if not self.module.check_mode:
            write_atomic(self.module, applied_path(self.params["config_dir"], instance), (digest + "\n").encode(),
                         0o640, uid=0, gid=self._gid(self.params["group"]), dir_mode=0o750)

    def forget_applied(self, instance):
        path = applied_path(self.params["config_dir"], instance)
        if os.path.lexists(path) and not self.module.check_mode:
            os.unlink(path)
            if not os.listdir(os.path.dirname(path)):
                os.rmdir(os.path.dirname(path))


def orphan_records(config_dir, configs, present):
    """Records of instances that have neither a config wanted nor one on disk. An instance
    left in place (not planned here, its config kept) keeps its record."""
    directory = os.path.dirname(applied_path(config_dir, "x"))
    names = os.listdir(directory) if os.path.isdir(directory) else []
    return sorted(name[:-len(".sha256")] for name in names if name.endswith(".sha256")
                  and name[:-len(".sha256")] not in configs and name[:-len(".sha256")] not in present)


def applied_digest(config_dir, instance):
    recorded = _read(applied_path(config_dir, instance))
    return recorded.decode("ascii", "replace").strip() if recorded is not None else None


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


def existing_instances(module, config_dir):
    """Instances with a config file on the host; anything else in instances/ is reported
    and left alone, so a stray file never stops the module from repairing the rest."""
    directory = os.path.join(config_dir, "instances")
    if not os.path.isdir(directory):
        return []
    found = []
    for name in sorted(os.listdir(directory)):
        instance = name[:-5] if name.endswith(".conf") else None
        if instance and split_instance(instance) is not None and _is_file(os.path.join(directory, name)):
            found.append(instance)
        else:
            module.warn("%s is not an instance config of bonded.openvpn; ignored (remove it if nothing needs it)"
                        % os.path.join(directory, name))
    return found


# Present whenever the kernel has IPv6 (absent when booted with ipv6.disable=1).
IPV6_PROC = "/proc/net/if_inet6"


def check_ipv6(module, sides):
    """Fails before any change when a bond's underlay is IPv6 and this kernel has none: its
    OpenVPN could not even open its socket, and would only say so in the journal."""
    wanting = sorted(side["bond"] for side in sides if side.get("underlay_family") == "ipv6")
    proc = IPV6_PROC
    if wanting and not os.path.exists(proc):
        module.fail_json(msg="bond%s %s: the underlay is IPv6, but this host's kernel has no IPv6 (%s is missing: "
                             "booted with ipv6.disable=1?); enable IPv6 on the host, or dial the server over IPv4 "
                             "(no instance was changed)" % ("s" if len(wanting) > 1 else "", ", ".join("'%s'" % b for b in wanting), proc))


def check_paths(module, sides, configs):
    """Fails before any change when something that is not a file sits where one must go."""
    config_dir = module.params["config_dir"]
    for name in sorted(configs):
        path = config.instance_path(config_dir, name)
        if os.path.lexists(path) and not _is_file(path):
            module.fail_json(msg="instance %s: %s is not a regular file, so its config cannot be written; "
                                 "move it away and re-run (no instance was changed)" % (name, path))
    for side in sides:
        directory = os.path.dirname(config.tls_crypt_path(config_dir, side["bond"]))
        if os.path.lexists(directory) and not os.path.isdir(directory):
            module.fail_json(msg="bond '%s': %s is not a directory, so its tls-crypt key has no place; "
                                 "move it away and re-run (no instance was changed)" % (side["bond"], directory))


def plan_units(names, states, configs, pending, written, present):
    """Decides per instance: enable, start (not running) or restart (running an older config)."""
    to_start, to_restart, to_enable, report = [], [], [], []
    for name in names:
        unit = UNIT % name
        state = states.get(unit, {})
        action = "unchanged"
        if name in written and name not in present:
            action = "created"
        elif name in written:
            action = "updated"
        if state.get("UnitFileState") != "enabled":
            to_enable.append(unit)
        if state.get("ActiveState") not in ACTIVE:
            to_start.append(unit)
            action = action if action != "unchanged" else "started"
        elif name in pending:
            to_restart.append(unit)
            action = "restarted"
        report.append(dict(instance=name, unit=unit, action=action))
    return to_start, to_restart, to_enable, report


def start_and_record(converger, units, to_restart, to_start, digests, before):
    """(Re)starts the units and records the config each one now runs; returns the units
    that did not come up (they stay pending for the next run) and systemd's errors."""
    errors = [error for error in (units.try_run("restart", to_restart), units.try_run("start", to_start)) if error]
    started = to_restart + to_start
    if errors and not converger.module.check_mode:
        # Only a unit that is active under a new invocation provably read the new config.
        after = units.show(started)
        proven = [unit for unit in started if after.get(unit, {}).get("ActiveState") == "active"
                  and after[unit].get("InvocationID") != before.get(unit, {}).get("InvocationID")]
    else:
        proven = started
    for unit in proven:
        converger.record_applied(unit.split("@", 1)[1][:-len(".service")], digests[unit])
    return [unit for unit in started if unit not in proven], errors


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
    check_paths(module, sides, configs)
    check_ipv6(module, sides)
    present = existing_instances(module, params["config_dir"])
    stale = [name for name in present if name not in configs and split_instance(name)[0] not in preserve]
    for name in orphan_records(params["config_dir"], configs, present):
        converger.forget_applied(name)
    names = sorted(configs, key=split_instance)

    written = [name for name in sorted(configs)
               if converger.write(config.instance_path(params["config_dir"], name), configs[name], 0o640, params["group"])]
    # Compared with what the running process was started with, not with the file on disk:
    # a config written by a run whose restart failed is still pending.
    pending = set(name for name in configs
                  if name in written or applied_digest(params["config_dir"], name) != config.digest(configs[name]))
    states = units.show([UNIT % name for name in names])
    to_start, to_restart, to_enable, report = plan_units(names, states, configs, pending, written, present)
    removed_units = [UNIT % name for name in stale]

    units.run("disable", removed_units, "--now")
    for name in stale:
        converger.delete(config.instance_path(params["config_dir"], name))
        converger.forget_applied(name)
    remove_orphan_bonds(converger, sides, preserve)
    units.run("enable", to_enable)
    unit_digests = dict((UNIT % name, config.digest(configs[name])) for name in names)
    failed, errors = start_and_record(converger, units, to_restart, to_start, unit_digests, states)
    changed = converger.changed or bool(to_enable or to_start or to_restart or removed_units)
    result = dict(
        changed=changed,
        instances=report,
        created=[r["instance"] for r in report if r["action"] == "created"],
        restarted=[u.split("@")[1][:-8] for u in to_restart],
        removed=stale,
        preserved=[side["bond"] for side in preserved],
        diff=converger.diffs,
    )
    if errors:
        instances = ", ".join(unit.split("@", 1)[1][:-len(".service")] for unit in failed) or "(see below)"
        module.fail_json(msg="instances %s did not come up with their new config: %s. Their configs are written "
                             "and they stay marked as pending: fix the cause and re-run, and the next run "
                             "(re)starts them" % (instances, "; ".join(errors)),
                         failed_instances=[unit.split("@", 1)[1][:-len(".service")] for unit in failed], **result)
    return result


def remove_orphan_bonds(converger, sides, preserve):
    bonds_dir = os.path.join(converger.params["config_dir"], "bonds")
    if not os.path.isdir(bonds_dir):
        return
    wanted = set(side["bond"] for side in sides) | preserve
    for bond in sorted(os.listdir(bonds_dir)):
        directory = os.path.join(bonds_dir, bond)
        if bond in wanted:
            continue
        if not os.path.isdir(directory) or os.path.islink(directory):
            converger.module.warn("%s is not a bond directory of bonded.openvpn; ignored (remove it if nothing "
                                  "needs it)" % directory)
            continue
        for name in sorted(os.listdir(directory)):
            converger.delete(os.path.join(directory, name))
        if not converger.module.check_mode and not os.listdir(directory):
            os.rmdir(directory)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sides=dict(type="list", elements="dict", required=True),
            peer_fingerprints=dict(type="dict", required=True),
            tls_crypt_keys=dict(type="dict", default={}, no_log=True),
            config_dir=dict(type="path", default=layout.CONFIG_DIR),
            runtime_dir=dict(type="path", default=layout.RUN_DIR),
            user=dict(type="str", default=layout.USER),
            group=dict(type="str", default=layout.USER),
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
