# -*- coding: utf-8 -*-
"""One lock per bond between its watchdog and the balance_datapath module.

Both read the live set and the kernel, plan, and apply. Unserialized, the module could
read the live set a watchdog was about to replace, then the kernel that watchdog had just
changed, and "repair" the kernel back to the old rotation: a re-run that reports a change
nobody asked for (seen at 24 bonds on a CPU-starved hub). Whoever holds
``<run_dir>/<bond>.lock`` (flock, exclusive) does the whole read-plan-apply-write alone.

A wait is bounded: a watchdog that cannot have its lock fails that round and repairs
the next one; the module fails with the holder to look at.

Standard library only: installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import time

POLL = 0.05


class LockTimeout(RuntimeError):
    """Another process held a bond's lock for longer than the caller would wait."""


def lock_path(bond, run_dir):
    return os.path.join(run_dir, "%s.lock" % bond)


@contextlib.contextmanager
def held(paths, wait, create=True, clock=time.monotonic, sleep=time.sleep):
    """Holds exclusive flocks on ``paths`` (taken in sorted order, so two holders of
    overlapping sets cannot deadlock) for the ``with`` block; raises LockTimeout when
    they are not all held within ``wait`` seconds. ``create=False`` (check mode) skips a
    lock file that does not exist: no watchdog has used it, so nothing to wait for."""
    handles = []
    deadline = clock() + wait
    try:
        for path in sorted(set(paths)):
            handle = _open(path, create)
            if handle is None:
                continue
            handles.append(handle)
            _acquire(handle, path, deadline, clock, sleep, wait)
        yield
    finally:
        for handle in reversed(handles):
            os.close(handle)    # closing drops the flock


def _open(path, create):
    if create:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        return os.open(path, os.O_RDONLY)
    except OSError as error:
        if error.errno == errno.ENOENT:
            return None
        raise


def _acquire(handle, path, deadline, clock, sleep, wait):
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except (IOError, OSError) as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if clock() >= deadline:
            raise LockTimeout("%s is held by another process for over %g s" % (path, wait))
        sleep(POLL)
