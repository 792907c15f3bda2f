#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kernel_modules
short_description: Make sure the kernel provides tun (and optionally OpenVPN DCO), in one call
description:
  - For each entry, finds out whether the kernel provides it, already loaded or built in,
    and loads it with C(modprobe) where the host can load modules (C(/proc/modules) exists and
    C(modprobe) is installed). An entry may list alternatives, tried in order (DCO is C(ovpn)
    in Linux 6.16+ and C(ovpn_dco_v2) as the out-of-tree module).
  - On a host that cannot load modules (a kernel built without module support, or a
    container) it never fails for that alone; it reports what is built in and fails only for
    an entry with O(modules[].state=present) that the kernel does not provide.
  - Built-in support is recognised by C(/sys/module), C(modules.builtin), the tun misc device,
    and the generic netlink families of OpenVPN DCO (C(ovpn), C(ovpn-dco-v2)).
  - For C(tun), also checks that C(/dev/net/tun) exists and opens, which a container needs
    to be given explicitly.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
requirements:
  - kmod (C(modprobe)), only on a host that can load modules
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  modules:
    description: What the kernel must provide.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The kernel module (C(tun)); also the key of the result.
        type: str
        required: true
      alternatives:
        description: Other module names that provide the same, tried after O(modules[].name).
        type: list
        elements: str
        default: []
      state:
        description:
          - C(present) loads it if needed and fails if the kernel cannot provide it.
          - C(probe) only reports whether it is there; never loads, never fails.
        type: str
        choices: [present, probe]
        default: present
  openvpn:
    description:
      - The OpenVPN binary whose C(--version) decides which DCO module it can use (RV(dco)).
    type: path
    default: /usr/sbin/openvpn
attributes:
  check_mode:
    support: full
    details: Predicts a load with C(modprobe --dry-run).
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Needs root. Loads modules only for the running kernel; persisting them across reboots is
    unnecessary for C(tun), which the kernel loads on first use of C(/dev/net/tun).
"""

EXAMPLES = r"""
- name: Tun must work; report whether OpenVPN DCO is there
  bonded.openvpn.kernel_modules:
    modules:
      - name: tun
      - name: ovpn
        alternatives: [ovpn_dco_v2]
        state: probe
  register: kernel_modules_result
"""

RETURN = r"""
loadable:
  description: Whether this host can load kernel modules.
  returned: always
  type: bool
reason:
  description: Why modules cannot be loaded here, or null.
  returned: always
  type: str
  sample: /proc/modules is absent, the kernel has no loadable module support
container:
  description: The container manager this host runs in, or null.
  returned: always
  type: str
modules:
  description: Per entry (keyed by O(modules[].name)), what the kernel provides.
  returned: always
  type: dict
  contains:
    available:
      description: Whether the kernel provides it now (in check mode, would provide it).
      type: bool
    module:
      description: The module name that provides it (one of the alternatives), or null.
      type: str
    how:
      description: C(builtin), C(loaded), C(loaded_now), C(would_load) or C(missing).
      type: str
    device:
      description: The device node it needs (C(/dev/net/tun)), or null.
      type: str
    device_error:
      description: Why the device node cannot be used, or null.
      type: str
  sample:
    tun: {available: true, module: tun, how: builtin, device: /dev/net/tun, device_error: null}
dco:
  description:
    - Whether OpenVPN instances on this host can use data channel offload, judged from
      O(openvpn)'s C(--version) (built with DCO, 2.6 needs C(ovpn_dco_v2), 2.7 and later C(ovpn))
      and the DCO modules the kernel provides.
  returned: always
  type: dict
  contains:
    possible:
      description: Whether DCO can work here.
      type: bool
    module:
      description: The DCO module OpenVPN would use, or null.
      type: str
    openvpn:
      description: OpenVPN's version, or null when it is not installed.
      type: str
    modules:
      description: The DCO modules the kernel provides (C(ovpn), C(ovpn_dco_v2)).
      type: list
      elements: str
    reason:
      description: Why DCO cannot work here, or null.
      type: str
  sample:
    possible: false
    module: null
    openvpn: 2.6.14
    modules: []
    reason: >-
      the kernel has no DCO module (neither ovpn nor ovpn_dco_v2) and modules cannot be loaded on this host
      (/proc/modules is absent, the kernel has no loadable module support); OpenVPN 2.6.14 needs ovpn_dco_v2 (...)
"""

import os
import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._host import dco
from ansible_collections.bonded.openvpn.plugins.module_utils._host.dco import genl_family_exists
from ansible_collections.bonded.openvpn.plugins.module_utils._host.kernel_host import container_kind

PROC_MODULES = "/proc/modules"
SYS_MODULE = "/sys/module"
# Signs of a driver that is built in and leaves no /sys/module entry.
MISC_DEVICES = {"tun": "/sys/class/misc/tun"}
GENL_FAMILIES = {"ovpn": "ovpn", "ovpn_dco_v2": "ovpn-dco-v2"}
DEVICE_NODES = {"tun": "/dev/net/tun"}


def canonical(name):
    return name.replace("-", "_")


def loaded_modules():
    """Names in /proc/modules, or None where the kernel has no loadable module support."""
    try:
        with open(PROC_MODULES) as handle:
            return set(canonical(line.split(" ", 1)[0]) for line in handle if line.strip())
    except (IOError, OSError):
        return None


def builtin_modules():
    path = "/lib/modules/%s/modules.builtin" % platform.release()
    try:
        with open(path) as handle:
            return set(canonical(os.path.basename(line.strip())[:-len(".ko")])
                       for line in handle if line.strip().endswith(".ko"))
    except (IOError, OSError):
        return set()


def find_present(name, loaded, builtin):
    """Returns "loaded", "builtin" or None for one module name."""
    name = canonical(name)
    if loaded is not None and name in loaded:
        return "loaded"
    if name in builtin or os.path.exists(MISC_DEVICES.get(name, "/nonexistent/")):
        return "builtin"
    if os.path.isdir(os.path.join(SYS_MODULE, name)):
        return "builtin"
    if name in GENL_FAMILIES and genl_family_exists(GENL_FAMILIES[name]):
        return "builtin"
    return None


def check_device(name):
    node = DEVICE_NODES.get(canonical(name))
    if node is None:
        return None, None
    try:
        os.close(os.open(node, os.O_RDWR))
    except OSError as exc:
        return node, "%s: %s" % (node, os.strerror(exc.errno))
    return node, None


class Loader(object):
    """modprobe, where the host can load modules at all."""

    def __init__(self, module, loaded):
        self.module = module
        self.modprobe = module.get_bin_path("modprobe")
        if loaded is None:
            self.reason = "%s is absent, the kernel has no loadable module support" % PROC_MODULES
        elif not self.modprobe:
            self.reason = "modprobe is not installed, install kmod"
        else:
            self.reason = None

    @property
    def loadable(self):
        return self.reason is None

    def load(self, name):
        """Returns (how, error): "loaded_now"/"would_load", or None and modprobe's complaint."""
        argv = [self.modprobe] + (["--dry-run"] if self.module.check_mode else []) + ["--", name]
        rc, dummy, err = self.module.run_command(argv)
        if rc != 0:
            return None, err.strip() or "modprobe %s failed (rc=%d)" % (name, rc)
        return ("would_load" if self.module.check_mode else "loaded_now"), None


def ensure(entry, loader, loaded, builtin):
    candidates = [entry["name"]] + list(entry["alternatives"])
    result = {"available": False, "module": None, "how": "missing", "device": None,
              "device_error": None, "errors": []}
    for name in candidates:
        how = find_present(name, loaded, builtin)
        if how:
            result.update(available=True, module=name, how=how)
            break
    if not result["available"] and entry["state"] == "present" and loader.loadable:
        for name in candidates:
            how, error = loader.load(name)
            if how:
                result.update(available=True, module=name, how=how)
                break
            result["errors"].append(error)
    if result["available"] and result["how"] != "would_load":
        result["device"], result["device_error"] = check_device(result["module"])
    return result


def failure(entry, result, loader, container):
    label = entry["name"]
    names = " or ".join([label] + list(entry["alternatives"]))
    if not result["available"]:
        if loader.loadable:
            why = "modprobe could not load it: %s" % "; ".join(result["errors"])
        else:
            why = "modules cannot be loaded on this host (%s) and the kernel does not have it built in" % loader.reason
        advice = ("use a kernel that provides it" if not container
                  else "load it on the container host (modprobe %s) or give the host a kernel that has it" % label)
        return "the kernel does not provide %s: %s; %s" % (names, why, advice)
    if result["device_error"]:
        advice = ("create the container with --device %s" % result["device"] if container
                  else "check that udev created it, or create it with mknod")
        return "%s is available but its device cannot be used (%s); %s" % (label, result["device_error"], advice)
    return None


def dco_support(module, results, builtin, loader):
    """What OpenVPN's version and the kernel's DCO modules allow, after any loading above."""
    text = ""
    if os.access(module.params["openvpn"], os.X_OK):
        # Older OpenVPN releases exit 1 after printing their version: only the text counts.
        dummy, out, err = module.run_command([module.params["openvpn"], "--version"])
        text = out or err
    loaded = loaded_modules()
    present = set(name for name in (dco.MODULE_FOR_MAINLINE, dco.MODULE_FOR_26) if find_present(name, loaded, builtin))
    present.update(r["module"] for r in results.values() if r["how"] == "would_load" and r["module"] in GENL_FAMILIES)
    support = dco.host_support(dco.parse_version(text), present, loader.reason)
    support["modules"] = sorted(present)
    return support


def main():
    module = AnsibleModule(
        argument_spec=dict(
            modules=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                alternatives=dict(type="list", elements="str", default=[]),
                state=dict(type="str", choices=["present", "probe"], default="present"),
            )),
            openvpn=dict(type="path", default="/usr/sbin/openvpn"),
        ),
        supports_check_mode=True,
    )
    container = container_kind()
    loaded = loaded_modules()
    builtin = builtin_modules()
    loader = Loader(module, loaded)
    results, problems = {}, []
    for entry in module.params["modules"]:
        result = ensure(entry, loader, loaded, builtin)
        if entry["state"] == "present":
            problem = failure(entry, result, loader, container)
            if problem:
                problems.append(problem)
        del result["errors"]
        results[entry["name"]] = result
    common = dict(loadable=loader.loadable, reason=loader.reason, container=container, modules=results,
                  dco=dco_support(module, results, builtin, loader))
    if problems:
        module.fail_json(msg="\n".join(problems), **common)
    changed = any(r["how"] in ("loaded_now", "would_load") for r in results.values())
    module.exit_json(changed=changed, **common)


if __name__ == "__main__":
    main()
