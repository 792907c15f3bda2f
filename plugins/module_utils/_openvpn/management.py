# -*- coding: utf-8 -*-
"""Asks many OpenVPN management sockets for their ``state`` at once.

All sockets are queried concurrently under one deadline, so a host with 32 tunnels waits
no longer than a host with one, and a hung or busy instance costs one timeout, not N.
OpenVPN serves one management client at a time: we disconnect as soon as the answer is in
so that we never block the watchdog or an operator for longer than a moment.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import selectors
import socket
import time

STATE_COMMAND = b"state\r\n"
END_MARKER = "END"


def empty_state(path, error=None):
    return {"socket": path, "state": None, "connected": None, "since": None,
            "local_ip": None, "remote_ip": None, "remote_port": None, "local_real_ip": None, "error": error}


def parse_state(path, text):
    """Reads the answer to ``state``: ``time,STATE,detail,local_ip,remote_ip,remote_port,local_real_ip,...``.

    Lines starting with ``>`` are notifications (the greeting, logs) and are skipped; an
    answer without ``END`` is incomplete and reported as an error.
    """
    result = empty_state(path)
    lines = [line.strip() for line in text.replace("\r", "").split("\n")]
    if END_MARKER not in lines:
        result["error"] = "no complete answer to 'state'"
        return result
    for line in lines[:lines.index(END_MARKER)]:
        if not line or line.startswith(">"):
            continue
        if line.startswith("ERROR:"):
            result["error"] = line
            continue
        fields = line.split(",")
        if len(fields) < 2 or not fields[0].isdigit():
            continue
        result.update({
            "state": fields[1],
            "connected": fields[1] == "CONNECTED",
            "since": int(fields[0]),
            "local_ip": (fields[3] if len(fields) > 3 else "") or None,
            "remote_ip": (fields[4] if len(fields) > 4 else "") or None,
            "remote_port": int(fields[5]) if len(fields) > 5 and fields[5].isdigit() else None,
            "local_real_ip": (fields[6] if len(fields) > 6 else "") or None,
            "error": None,
        })
    if result["state"] is None and result["error"] is None:
        result["error"] = "answer to 'state' holds no state line"
    return result


RETRY_INTERVAL = 0.05


def _connect(path):
    """A connected non-blocking socket, or None when the listener's backlog is full.

    OpenVPN listens with a backlog of one and serves one client at a time: while it is
    still closing the previous session (ours, a moment ago, or the watchdog's), a unix
    connect fails with EAGAIN and must simply be tried again.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.connect(path)
    except (OSError, socket.error) as error:
        sock.close()
        if error.errno in (errno.EAGAIN, errno.EINPROGRESS):
            return None
        raise
    return sock


def _describe(error):
    if getattr(error, "errno", None) == errno.ENOENT:
        return "no management socket (instance not running?)"
    if getattr(error, "errno", None) == errno.ECONNREFUSED:
        return "management socket refuses connections (instance gone, socket left behind)"
    return "management socket: %s" % (getattr(error, "strerror", None) or error)


def query_states(paths, timeout=1.0):
    """Returns ``{path: state dict}`` for every path; never raises for one bad socket."""
    results, pending, waiting = {}, {}, list(paths)
    selector = selectors.DefaultSelector()
    deadline = time.monotonic() + timeout
    try:
        while True:
            waiting = _start(waiting, selector, pending, results)
            remaining = deadline - time.monotonic()
            if not (waiting or pending) or remaining <= 0:
                break
            wait = min(remaining, RETRY_INTERVAL) if waiting else remaining
            if not pending:
                time.sleep(wait)
                continue
            for key, events in selector.select(wait):
                _service(selector, pending, results, key.fileobj, events)
    finally:
        for path in waiting:
            results[path] = empty_state(path, "management socket busy for %.1fs (another client holds it)" % timeout)
        for sock, job in list(pending.items()):
            results[job["path"]] = empty_state(
                job["path"], "no answer from the management socket within %.1fs (busy or hung)" % timeout)
            selector.unregister(sock)
            sock.close()
        selector.close()
    return results


def _start(paths, selector, pending, results):
    """Connects what it can; returns the paths to try again."""
    retry = []
    for path in paths:
        try:
            sock = _connect(path)
        except (OSError, socket.error) as error:
            results[path] = empty_state(path, _describe(error))
            continue
        if sock is None:
            retry.append(path)
            continue
        pending[sock] = {"path": path, "out": STATE_COMMAND, "in": b""}
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    return retry


def _service(selector, pending, results, sock, events):
    job = pending[sock]
    try:
        if events & selectors.EVENT_WRITE and job["out"]:
            job["out"] = job["out"][sock.send(job["out"]):]
            if not job["out"]:
                selector.modify(sock, selectors.EVENT_READ)
        if not events & selectors.EVENT_READ:
            return
        chunk = sock.recv(65536)
        job["in"] += chunk
        text = job["in"].decode("utf-8", "replace")
        if chunk and "\nEND\r\n" not in text and "\nEND\n" not in text:
            return
        result = parse_state(job["path"], text)
    except (OSError, socket.error) as error:
        result = empty_state(job["path"], _describe(error))
    results[job["path"]] = result
    del pending[sock]
    selector.unregister(sock)
    sock.close()
