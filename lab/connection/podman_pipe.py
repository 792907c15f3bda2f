# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Molecule connection: containers.podman.podman, with pipelining.

containers.podman's connection runs ``podman exec`` without ``--interactive``, so a
module cannot arrive on stdin and each task costs a temporary directory, a copy and a
clean-up: three ``podman exec`` per task and host. With ``-i`` Ansible pipes the module
into one ``podman exec`` instead; that is most of what a Molecule run spends on 2 cores.
Lab only: the collection's users reach real hosts over SSH.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: podman_pipe
short_description: Run tasks in podman containers, with pipelining
description:
  - containers.podman.podman with C(podman exec --interactive), so that Ansible can pipe modules.
author: bonded.openvpn lab
options:
  remote_addr:
    description: The container to run in.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: The user in the container.
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments to podman.
    default: ''
    vars:
      - name: ansible_podman_extra_args
  podman_executable:
    description: The podman command.
    default: podman
    vars:
      - name: ansible_podman_executable
  pipelining:
    description: Pipe modules into the container (C(ANSIBLE_PIPELINING)).
    type: bool
    default: true
    vars:
      - name: ansible_pipelining
    env:
      - name: ANSIBLE_PIPELINING
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection


class Connection(PodmanConnection):
    transport = "podman_pipe"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "--interactive"] if in_data is not None else ["exec"]
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
