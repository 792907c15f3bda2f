#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_files
short_description: Converge a role's directories and small files on a host in one call
description:
  - Makes each directory of O(directories) exist with its owner, group and mode, then each
    file of O(files) hold exactly its content with its owner, group and mode.
  - One module call replaces a C(file) or C(template) task per path, which cost a round
    trip to the host each (two for C(template)) on every run, changed or not.
  - A file is replaced in one rename, never visible with looser permissions than asked;
    an identical file only gets its owner, group and mode corrected.
  - Directories are made before files, so a file may live in a directory of the same call.
version_added: 0.4.0
author: bonded.openvpn maintainers (@bonded)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  directories:
    description: Directories to make, in order; parents that are missing are made C(0755) root.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: User that owns it.
        type: str
        default: root
      group:
        description: Group that owns it.
        type: str
        default: root
      mode:
        description: Octal mode, as a string (C("0750")).
        type: str
        default: "0755"
  files:
    description: Files to write; render templates on the controller (C(ansible.builtin.template) lookup).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The whole text the file must hold.
        type: str
        required: true
      owner:
        description: User that owns it.
        type: str
        default: root
      group:
        description: Group that owns it.
        type: str
        default: root
      mode:
        description: Octal mode, as a string (C("0644")).
        type: str
        default: "0644"
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One diff per file whose content changes, and one per path whose owner, group or mode changes.
  platform:
    platforms: posix
notes:
  - Not for secrets, which the diff would show; the collection writes keys with its own modules.
"""

EXAMPLES = r"""
- name: Make the configuration directory and install a systemd template unit
  bonded.openvpn.host_files:
    directories:
      - {path: /etc/bonded-openvpn, group: bonded-openvpn, mode: "0750"}
    files:
      - path: /etc/systemd/system/bonded-openvpn@.service
        content: "{{ lookup('ansible.builtin.template', 'bonded-openvpn@.service.j2') }}"
  register: installed
  notify: Reload systemd units
"""

RETURN = r"""
changed_paths:
  description: Every directory or file that was (or, in check mode, would be) made or changed, in order.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/bonded-openvpn@.service]
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bonded.openvpn.plugins.module_utils._host.files import read_bytes, write_atomic

ENTRY = dict(path=dict(type="path", required=True), owner=dict(type="str", default="root"),
             group=dict(type="str", default="root"))


def _mode(module, entry):
    try:
        mode = int(entry["mode"], 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        module.fail_json(msg="%s: mode %r is not an octal mode such as \"0644\"" % (entry["path"], entry["mode"]))
    return mode


def _ids(module, entry):
    """(uid, gid) of the entry's owner and group; a name the host lacks fails before any change."""
    try:
        uid = pwd.getpwnam(entry["owner"]).pw_uid
    except KeyError:
        module.fail_json(msg="%s: no user %r on this host (nothing was changed)" % (entry["path"], entry["owner"]))
    try:
        gid = grp.getgrnam(entry["group"]).gr_gid
    except KeyError:
        module.fail_json(msg="%s: no group %r on this host (nothing was changed)" % (entry["path"], entry["group"]))
    return uid, gid


def _attributes(module, entry, diffs):
    """Corrects owner, group and mode of an existing path; True when any differed."""
    file_args = dict(path=entry["path"], owner=entry["owner"], group=entry["group"], mode=entry["mode"],
                     secontext=None, attributes=None)
    diff = dict(before_header=entry["path"], after_header=entry["path"], before={}, after={})
    changed = module.set_fs_attributes_if_different(file_args, False, diff)
    if changed:
        diffs.append(diff)
    return changed


def converge_directory(module, entry, diffs):
    path = entry["path"]
    if os.path.isdir(path):
        return _attributes(module, entry, diffs)
    if os.path.lexists(path):
        module.fail_json(msg="%s exists and is not a directory: move it away, then re-run" % path)
    diffs.append(dict(before_header=path, after_header=path, before={"state": "absent"},
                      after={"state": "directory", "mode": entry["mode"]}))
    if not module.check_mode:
        uid, gid = entry["ids"]
        os.makedirs(path, 0o755)
        os.chmod(path, entry["bits"])
        os.chown(path, uid, gid)
    return True


def converge_file(module, entry, diffs):
    path, content = entry["path"], entry["content"].encode("utf-8")
    old = read_bytes(path)
    if old == content:
        return _attributes(module, entry, diffs)
    diffs.append(dict(before_header=path, after_header=path,
                      before="" if old is None else old.decode("utf-8", "replace"), after=entry["content"]))
    if not module.check_mode:
        uid, gid = entry["ids"]
        write_atomic(module, path, content, entry["bits"], uid, gid)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[],
                             options=dict(ENTRY, mode=dict(type="str", default="0755"))),
            files=dict(type="list", elements="dict", default=[],
                       options=dict(ENTRY, content=dict(type="str", required=True),
                                    mode=dict(type="str", default="0644"))),
        ),
        supports_check_mode=True,
    )
    entries = module.params["directories"] + module.params["files"]
    for entry in entries:
        entry["bits"] = _mode(module, entry)
        if not os.path.isabs(entry["path"]):
            module.fail_json(msg="%s: the path must be absolute (nothing was changed)" % entry["path"])
        # Every owner and group is looked up before the first change. Check mode may run
        # before the role's user exists, and writes nothing that needs one.
        entry["ids"] = None if module.check_mode else _ids(module, entry)
    diffs, changed_paths = [], []
    for entry in module.params["directories"]:
        if converge_directory(module, entry, diffs):
            changed_paths.append(entry["path"])
    for entry in module.params["files"]:
        if converge_file(module, entry, diffs):
            changed_paths.append(entry["path"])
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


if __name__ == "__main__":
    main()
