# -*- coding: utf-8 -*-
"""The management-state parser, and the concurrent client against fake OpenVPN sockets."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading
import time

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import management

GREETING = ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n"


def test_connected_state():
    state = management.parse_state("/s", GREETING + "1732650000,CONNECTED,SUCCESS,10.255.1.1,203.0.113.10,1194,,\r\nEND\r\n")
    assert state == {"socket": "/s", "state": "CONNECTED", "connected": True, "since": 1732650000,
                     "local_ip": "10.255.1.1", "remote_ip": "203.0.113.10", "remote_port": 1194, "local_real_ip": None,
                     "error": None}


def test_waiting_state_with_notifications_interleaved():
    text = GREETING + ">LOG:1732650000,I,TLS: Initial packet\r\n1732650001,WAIT,,,,,,\r\nEND\r\n"
    state = management.parse_state("/s", text)
    assert (state["state"], state["connected"], state["local_ip"], state["remote_port"]) == ("WAIT", False, None, None)


def test_incomplete_answer_is_an_error():
    state = management.parse_state("/s", GREETING + "1732650000,CONNECTED,SUCCESS")
    assert state["state"] is None and state["connected"] is None and "no complete answer" in state["error"]


def test_error_answer_is_reported():
    state = management.parse_state("/s", GREETING + "ERROR: unknown command\r\nEND\r\n")
    assert state["state"] is None and state["error"] == "ERROR: unknown command"


class FakeOpenVPN(object):
    """A unix management socket answering ``state`` like OpenVPN (or staying silent)."""

    def __init__(self, path, answer="1732650000,CONNECTED,SUCCESS,10.255.1.1,203.0.113.10,1194,,", silent=False):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(1)
        self.answer, self.silent, self.commands = answer, silent, []
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        conn, _address = self.listener.accept()
        conn.sendall(GREETING.encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
        self.commands.append(data)
        if self.silent:
            time.sleep(3)
        else:
            conn.sendall(("%s\r\nEND\r\n" % self.answer).encode())
        conn.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def sockets(tmp_path):
    servers = []

    def make(name, **kwargs):
        servers.append(FakeOpenVPN(tmp_path / name, **kwargs))
        return str(tmp_path / name)
    yield make
    for server in servers:
        server.close()


def test_query_reads_every_socket_and_sends_state(sockets):
    one, two = sockets("a.sock"), sockets("b.sock", answer="1732650002,RECONNECTING,ping-restart,,,,,")
    states = management.query_states([one, two], timeout=2.0)
    assert states[one]["connected"] is True
    assert (states[two]["state"], states[two]["connected"]) == ("RECONNECTING", False)


def test_missing_socket_is_reported_not_raised(tmp_path):
    path = str(tmp_path / "missing.sock")
    state = management.query_states([path], timeout=0.5)[path]
    assert state["state"] is None and "no management socket" in state["error"]


def test_socket_left_behind_by_a_dead_process(tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    assert "refuses connections" in management.query_states([path], timeout=0.5)[path]["error"]


def test_silent_sockets_cost_one_timeout_together(sockets):
    paths = [sockets("s%d.sock" % i, silent=True) for i in range(4)]
    started = time.monotonic()
    states = management.query_states(paths, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert all("no answer" in states[p]["error"] for p in paths)


def test_a_silent_socket_does_not_hide_the_others(sockets):
    good, silent = sockets("good.sock"), sockets("silent.sock", silent=True)
    states = management.query_states([silent, good], timeout=0.5)
    assert states[good]["connected"] is True and states[silent]["connected"] is None


def test_nothing_to_ask():
    assert management.query_states([], timeout=0.5) == {}
