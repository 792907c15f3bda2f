# -*- coding: utf-8 -*-
"""What kind of host the kernel modules run on, only to phrase their messages.

Nothing here changes behaviour: a read-only /proc/sys or a kernel without loadable modules
is handled the same way on any host; a container only gets more precise advice.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

_CONTAINER_MARKERS = (
    ("/run/systemd/container", None),  # written by systemd when it runs as a container's PID 1
    ("/run/.containerenv", "podman"),
    ("/.dockerenv", "docker"),
)


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def _pid1_container_env():
    environ = _read_text("/proc/1/environ")
    for entry in (environ or "").split("\0"):
        if entry.startswith("container="):
            return entry.split("=", 1)[1] or "container"
    return None


def container_kind():
    """Returns the container manager's name ("podman", "docker", "lxc", ...) or None."""
    for path, kind in _CONTAINER_MARKERS:
        if os.path.exists(path):
            return kind or _read_text(path) or "container"
    return _pid1_container_env()
