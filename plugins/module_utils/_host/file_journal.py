# -*- coding: utf-8 -*-
"""Writes and deletes files for a module, records diffs, and keeps what each path held
before, so a run that fails halfway can put every file back as it found it.

Nothing is touched in check mode. Writes go through ``files.write_atomic``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat

from .files import discard, read_bytes, write_atomic


def _digest(content):
    return hashlib.sha256(content).hexdigest()


class FileJournal(object):
    def __init__(self, module):
        self.module, self.diffs = module, []
        self._undo = []  # (path, bytes before or None, mode before or None), oldest first

    def write(self, path, content, mode, show=True):
        """Makes ``path`` hold ``content``; returns True when it did not already."""
        old = read_bytes(path)
        if old == content:
            return False
        if show:
            before, after = (old or b"").decode("utf-8", "replace"), content.decode("utf-8")
        else:
            before = "sha256 %s\n" % _digest(old) if old is not None else ""
            after = "sha256 %s\n" % _digest(content)
        self.diffs.append(dict(before_header=path, after_header=path, before=before, after=after))
        if not self.module.check_mode:
            self._remember(path, old)
            write_atomic(self.module, path, content, mode)
        return True

    def delete(self, path):
        if not os.path.lexists(path):
            return False
        old = read_bytes(path)
        self.diffs.append(dict(before_header=path, after_header="(deleted)",
                               before=(old or b"").decode("utf-8", "replace"), after=""))
        if not self.module.check_mode:
            self._remember(path, old)
            os.unlink(path)
        return True

    def _remember(self, path, old):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode) if old is not None else None
        except OSError:
            mode = None
        self._undo.append((path, old, mode))

    def restore(self):
        """Puts back every file this journal changed, newest change first; returns what
        could not be restored (an empty list when everything is as it was)."""
        problems = []
        for path, old, mode in reversed(self._undo):
            try:
                if old is None:
                    discard(path)
                else:
                    write_atomic(self.module, path, old, mode if mode is not None else 0o644)
            except (IOError, OSError) as error:
                problems.append("%s: %s" % (path, error))
        self._undo = []
        return problems
