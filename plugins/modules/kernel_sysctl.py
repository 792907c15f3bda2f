#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kernel_sysctl
short_description: Read, compare, apply and persist the sysctls of bonded OpenVPN in one call
description:
  - Reads every requested sysctl from C(/proc/sys), writes those that differ, and persists
    all of them in one C(sysctl.d) file so that they survive a reboot.
  - O(sysctls) must hold exactly; one that differs and cannot be written (a read-only
    C(/proc/sys), as inside a container, or a missing permission) fails the module, naming
    the sysctl, its current and wanted value and how to set it (for a container, the
    C(--sysctl) option to create it with). Nothing is written before that check passes.
  - O(minimums) are raised to at least the given value and never lowered; one that is lower
    and cannot be written is a warning, not a failure (they only affect performance).
  - A sysctl that already has the wanted value is never written, so a read-only
    C(/proc/sys) with the right values set at container creation passes unchanged.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  sysctls:
    description:
      - Sysctls that must have exactly this value, by dotted name (C(net.ipv4.ip_forward)).
      - A name may use C(/) instead of dots, for interface names that contain dots.
      - Values are compared as whitespace-separated words, so C(1) equals C("1").
    type: dict
    default: {}
  minimums:
    description:
      - Integer sysctls that must be at least this value (C(net.core.rmem_max)); a higher
        current value is kept, in C(/proc/sys) and in the persisted file.
    type: dict
    default: {}
  path:
    description:
      - The C(sysctl.d) file that persists every sysctl; omit it to change only the running
        kernel.
      - Its directory is made (C(0755)) when missing, as on a minimal Debian 13 host without procps.
    type: path
  header:
    description: Comment lines written at the top of O(path) (each must start with C(#)).
    type: str
    default: "# Managed by bonded.openvpn.kernel_sysctl"
attributes:
  check_mode:
    support: full
    details: Predicts writability with C(access(2)); a sysctl that is not namespaced can
      still refuse the write in a normal run.
  diff_mode:
    support: full
    details: One diff for the running kernel's values, one for the persisted file.
  platform:
    platforms: posix
notes:
  - Needs root. Writes only C(/proc/sys) entries that differ and the file at O(path).
  - A container created with C(--sysctl) sees those values but a read-only C(/proc/sys).
    C(net.core.rmem_max) and C(net.core.wmem_max) are not per network namespace; podman
    refuses to set them with C(--sysctl), and a container reads the host's values.
"""

EXAMPLES = r"""
- name: Forwarding, loose reverse-path filter, L4 multipath hash; socket buffers of 4 MiB
  bonded.openvpn.kernel_sysctl:
    sysctls:
      net.ipv4.ip_forward: 1
      net.ipv4.conf.all.rp_filter: 2
      net.ipv4.conf.default.rp_filter: 2
      net.ipv4.fib_multipath_hash_policy: 1
    minimums:
      net.core.rmem_max: 4194304
      net.core.wmem_max: 4194304
    path: /etc/sysctl.d/60-bonded-openvpn.conf
    header: "{{ ansible_managed | comment }}"
  register: sysctl_result
"""

RETURN = r"""
sysctls:
  description: Per sysctl, what was found and done.
  returned: always
  type: dict
  contains:
    kind:
      description: C(exact) (from O(sysctls)) or C(minimum) (from O(minimums)).
      type: str
    wanted:
      description: The requested value (normalised to single spaces).
      type: str
    before:
      description: The value found, or null if the kernel lacks the sysctl.
      type: str
    after:
      description: The value after this run (in check mode, the value it would have).
      type: str
    state:
      description: >-
        C(ok) (already right), C(set) (written), C(would_set) (check mode),
        C(read_only) (differs and cannot be written), C(missing) (kernel lacks it).
      type: str
    error:
      description: Why it could not be written, when C(state) is C(read_only).
      type: str
  sample:
    net.ipv4.ip_forward:
      kind: exact
      wanted: "1"
      before: "0"
      after: "1"
      state: set
read_only:
  description: Sysctls that differ from what was asked and could not be written.
  returned: always
  type: list
  elements: str
  sample: [net.core.rmem_max]
proc_sys_writable:
  description: Whether C(/proc/sys) accepts writes here (false inside most containers).
  returned: always
  type: bool
container:
  description: The container manager this host runs in (C(podman), C(docker), ...), or null.
  returned: always
  type: str
  sample: podman
"""

import errno
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.bonded.openvpn.plugins.module_utils._host.files import write_atomic
from ansible_collections.bonded.openvpn.plugins.module_utils._host.kernel_host import container_kind

PROC_SYS = "/proc/sys"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+([./][A-Za-z0-9_\-.]+)*$")
FILE_MODE = 0o644


def sysctl_path(name):
    relative = name if "/" in name else name.replace(".", "/")
    return os.path.join(PROC_SYS, relative)


def normalise(value):
    return " ".join(to_native(value).split())


def read_sysctl(name):
    try:
        with open(sysctl_path(name)) as handle:
            return normalise(handle.read())
    except (IOError, OSError):
        return None


def write_sysctl(name, value):
    """Returns None on success, else the reason the kernel refused."""
    try:
        with open(sysctl_path(name), "w") as handle:
            handle.write(value + "\n")
    except (IOError, OSError) as exc:
        return os.strerror(exc.errno) if exc.errno else to_native(exc)
    return None


def predict_write(name):
    """Check mode's guess: access(2) reports a read-only mount (EROFS) and missing permission."""
    if os.access(sysctl_path(name), os.W_OK):
        return None
    return os.strerror(errno.EROFS) if not proc_sys_writable() else os.strerror(errno.EACCES)


def proc_sys_writable():
    try:
        return not os.statvfs(PROC_SYS).f_flag & os.ST_RDONLY
    except OSError:
        return False


def as_int(name, value, field):
    try:
        return int(normalise(value))
    except ValueError:
        raise ValueError("%s: %s must be an integer, got %r" % (field, name, value))


def plan_one(name, kind, wanted, before):
    """Decides the value a sysctl should end with; returns its entry without side effects."""
    entry = {"kind": kind, "wanted": wanted, "before": before, "after": before, "state": "ok"}
    if before is None:
        entry["state"] = "missing"
        return entry
    if kind == "exact":
        target = wanted
    else:
        target = str(max(int(wanted), as_int(name, before, "current value")))
    if target != before:
        entry["after"] = target
        entry["state"] = "pending"
    return entry


def persisted_value(entry):
    """The boot-time value: the wanted one, or for a minimum the higher one already set."""
    if entry["after"] is not None and entry["state"] != "read_only":
        return entry["after"]
    if entry["kind"] == "minimum" and entry["before"] is not None:
        return str(max(int(entry["wanted"]), int(entry["before"])))
    return entry["wanted"]


def render_file(header, entries):
    lines = [line for line in header.splitlines() if line.strip()]
    groups = (
        ("exact", "# Required by the bonded OpenVPN tunnels."),
        ("minimum", "# Raised to at least what the OpenVPN instances ask for; never lowered here."),
    )
    for kind, title in groups:
        names = sorted(name for name, entry in entries.items()
                       if entry["kind"] == kind and entry["state"] != "missing")
        if names:
            lines.append(title)
            lines.extend("%s = %s" % (name, persisted_value(entries[name])) for name in names)
    return "\n".join(lines) + "\n"


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def write_file(module, path, content):
    write_atomic(module, path, to_bytes(content), FILE_MODE, dir_mode=0o755)


def how_to_fix(name, entry, container):
    if container and entry["kind"] == "minimum":
        return ("/proc/sys is read-only in this %s container and %s is not per network namespace: "
                "set it on the container host (sysctl -w %s=%s)" % (container, name, name, entry["wanted"]))
    if container:
        return "/proc/sys is read-only in this %s container" % container
    return ("it cannot be written here (%s): run as root on a host whose /proc/sys is writable, "
            "or set it at boot in /etc/sysctl.d" % (entry.get("error") or "read-only"))


def describe(name, entry, container):
    if entry["state"] == "missing":
        return ("%s does not exist on this kernel (no %s): the kernel lacks that feature; "
                "use a kernel that has it or stop asking for %s" % (name, sysctl_path(name), name))
    relation = " but bonded OpenVPN needs" if entry["kind"] == "exact" else ", below the minimum"
    return "%s is %s%s %s; %s" % (name, entry["before"], relation, entry["wanted"],
                                  how_to_fix(name, entry, container))


def gather(module):
    entries = {}
    for field, kind in (("sysctls", "exact"), ("minimums", "minimum")):
        for name, value in module.params[field].items():
            if not NAME_PATTERN.match(name) or ".." in name:
                module.fail_json(msg="%s: %r is not a sysctl name" % (field, name))
            if name in entries:
                module.fail_json(msg="%s is given in both sysctls and minimums; keep one" % name)
            try:
                wanted = normalise(value) if kind == "exact" else str(as_int(name, value, field))
                entries[name] = plan_one(name, kind, wanted, read_sysctl(name))
            except ValueError as exc:
                module.fail_json(msg=to_native(exc))
    return entries


def apply(module, entries, container):
    """Writes pending values, or in check mode predicts; marks the ones that cannot be set."""
    pending = [name for name in sorted(entries) if entries[name]["state"] == "pending"]
    for name in pending:
        entries[name]["error"] = predict_write(name)
    blocked = [name for name in pending if entries[name]["error"] and entries[name]["kind"] == "exact"]
    missing = [name for name in sorted(entries)
               if entries[name]["state"] == "missing" and entries[name]["kind"] == "exact"]
    fail_if_any(module, entries, missing + blocked, container, "no sysctl was changed")
    for name in pending:
        entry = entries[name]
        if module.check_mode:
            entry["state"] = "would_set" if not entry["error"] else "read_only"
            continue
        entry["error"] = write_sysctl(name, entry["after"]) if not entry["error"] else entry["error"]
        if not entry["error"]:
            now = read_sysctl(name)
            if now != entry["after"]:
                entry["error"] = "the kernel kept %s after writing %s" % (now, entry["after"])
        entry["state"] = "read_only" if entry["error"] else "set"
    refused = [name for name in pending if entries[name]["state"] == "read_only"
               and entries[name]["kind"] == "exact"]
    fail_if_any(module, entries, refused, container, "others may already be written; nothing was persisted")
    for name in pending:
        if entries[name]["state"] == "read_only":
            entries[name]["after"] = entries[name]["before"]
            module.warn(describe(name, entries[name], container)
                        + "; tunnels work, but expect UDP buffer drops and TCP retransmits under load")
    for name in sorted(entries):
        if entries[name]["state"] == "missing" and entries[name]["kind"] == "minimum":
            module.warn(describe(name, entries[name], container))
        entries[name].setdefault("error", None)


def fail_if_any(module, entries, names, container, outcome):
    if not names:
        return
    for name in names:
        if entries[name]["state"] == "pending":
            entries[name]["state"] = "read_only"
    problems = [describe(name, entries[name], container) for name in names]
    flags = " ".join("--sysctl %s=%s" % (name, entries[name]["wanted"])
                     for name in names if entries[name]["state"] != "missing")
    message = "%d sysctl%s cannot be made right; %s:\n  - %s" % (
        len(names), "" if len(names) == 1 else "s", outcome, "\n  - ".join(problems))
    if container and flags:
        message += ("\nA container's sysctls are set when it is created: %s "
                    "(Molecule: the platform's sysctls)" % flags)
    module.fail_json(msg=message, sysctls=entries, container=container)


def runtime_text(entries, field):
    return "".join("%s = %s\n" % (name, "(missing)" if entries[name][field] is None else entries[name][field])
                   for name in sorted(entries))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sysctls=dict(type="dict", default={}),
            minimums=dict(type="dict", default={}),
            path=dict(type="path"),
            header=dict(type="str", default="# Managed by bonded.openvpn.kernel_sysctl"),
        ),
        supports_check_mode=True,
    )
    if any(line.strip() and not line.lstrip().startswith("#")
           for line in module.params["header"].splitlines()):
        module.fail_json(msg="header: every line must be a comment starting with #")
    container = container_kind()
    entries = gather(module)
    apply(module, entries, container)
    changed = any(entry["state"] in ("set", "would_set") for entry in entries.values())
    diffs = [{"before_header": "running kernel", "after_header": "running kernel",
              "before": runtime_text(entries, "before"), "after": runtime_text(entries, "after")}]

    path = module.params["path"]
    if path:
        before = read_file(path)
        after = render_file(module.params["header"], entries)
        if before != after:
            changed = True
            if not module.check_mode:
                write_file(module, path, after)
        else:
            changed = module.set_mode_if_different(path, FILE_MODE, changed)
        diffs.append({"before_header": path, "after_header": path,
                      "before": before or "", "after": after})

    result = dict(
        changed=changed,
        sysctls=entries,
        read_only=sorted(name for name, entry in entries.items() if entry["state"] == "read_only"),
        proc_sys_writable=proc_sys_writable(),
        container=container,
    )
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
