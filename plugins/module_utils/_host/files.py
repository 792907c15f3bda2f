# -*- coding: utf-8 -*-
"""Small file helpers the modules share: reading, and replacing a file atomically.

Every write goes to a unique temporary file in the target's own directory (so the final
rename never crosses a file system and two writers never share a name), gets its mode and
owner before it becomes visible, and is moved with ``AnsibleModule.atomic_move`` (which
keeps SELinux contexts and copes with bind-mounted targets). A failure removes the
temporary file, so an interrupted run leaves either the old file or the new one, and no
debris.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import tempfile


def read_bytes(path):
    """The file's bytes, or None when it does not exist or cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def temporary_path(path):
    """A new, empty, private (0600) file next to ``path``; the caller fills and places it."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".",
                                         prefix=".%s." % os.path.basename(path), suffix=".tmp")
    os.close(handle)
    return temporary


def discard(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def place(module, temporary, path, mode, uid=-1, gid=-1):
    """Moves a finished temporary file to ``path`` with ``mode`` and owner (-1: unchanged).

    The new content is never visible with looser permissions than ``mode``: the temporary
    file has them before the rename, and an old file loses any extra ones first (atomic_move
    copies the old file's mode, owner and SELinux context onto the new one). Mode and owner
    are set again afterwards because ``atomic_move`` gives a file it creates a mode from the
    umask and the caller's owner.
    """
    os.chmod(temporary, mode)
    if uid != -1 or gid != -1:
        os.chown(temporary, uid, gid)
    if os.path.isfile(path) and not os.path.islink(path):
        # atomic_move gives the new file the old one's mode (and SELinux context): first
        # take from the old file any permission the new one must not have.
        os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) & mode)
    umask = os.umask(0o077)
    try:
        module.atomic_move(temporary, path)
    finally:
        os.umask(umask)
    os.chmod(path, mode)
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)


def write_atomic(module, path, content, mode, uid=-1, gid=-1, dir_mode=0o755):
    """Replaces ``path`` with ``content`` (bytes) in one rename; creates its directory."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, dir_mode)
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        place(module, temporary, path, mode, uid, gid)
    except BaseException:
        discard(temporary)
        raise
