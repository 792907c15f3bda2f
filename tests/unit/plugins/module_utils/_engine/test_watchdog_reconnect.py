"""A client's watchdog makes a dead tunnel's OpenVPN reconnect at once (not at keepalive's
ping-restart), without breaking a handshake that is moving on or a fresh connection."""
import socket
import threading
import time

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog

from balance_fixtures import spec
from test_kernel import FakeHost
from test_watchdog import Lab


def run_dog(tmp_path, role="client"):
    lab, asked = Lab(), []

    def reconnector(path, kicked_at):
        asked.append((lab.now, path))
        return "signalled", None

    dog = watchdog.Watchdog(spec(role=role), run=FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), reconnector=reconnector)
    return lab, dog, asked


def rounds(lab, dog, count):
    for dummy in range(count):
        dog.step()
        lab.now += 1


def test_a_dead_client_tunnel_is_told_to_reconnect_after_a_second_then_every_two(tmp_path):
    lab, dog, asked = run_dog(tmp_path)
    rounds(lab, dog, 2)
    lab.answering.discard(1)
    rounds(lab, dog, 6)
    assert [t for t, _path in asked] == [3.0, 5.0, 7.0]
    assert asked[0][1] == "/run/bonded-openvpn/paris-1/management.sock"
    lab.answering.add(1)
    rounds(lab, dog, 5)
    assert len(asked) == 3        # answering again at 8.0 and up at 9.0: no more requests


def test_a_server_never_asks(tmp_path):
    lab, dog, asked = run_dog(tmp_path, role="server")
    rounds(lab, dog, 1)
    lab.answering.discard(1)
    rounds(lab, dog, 5)
    assert asked == []


class FakeOpenVPN(object):
    """A management socket answering 'state' with ``state`` since ``since``."""

    def __init__(self, path, state, since):
        self.state, self.since, self.commands = state, since, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def serve(self):
        conn, dummy = self.server.accept()
        conn.sendall(b">INFO:OpenVPN Management Interface Version 5\r\n")
        data = b""
        while True:
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
            while b"\r\n" in data:
                line, data = data.split(b"\r\n", 1)
                self.commands.append(line.decode())
                if line == b"state":
                    conn.sendall(b"%d,%s,SUCCESS,10.255.1.2,203.0.113.10,1194,,\r\nEND\r\n"
                                 % (self.since, self.state.encode()))
                elif line.startswith(b"signal"):
                    conn.sendall(b"SUCCESS: signal SIGUSR1 thrown\r\n")
        conn.close()
        self.server.close()


def test_an_instance_that_believes_it_is_connected_is_signalled(tmp_path):
    path = str(tmp_path / "m.sock")
    fake = FakeOpenVPN(path, "CONNECTED", int(time.time()) - 100)
    assert watchdog.reconnect(path) == ("signalled", None)
    fake.thread.join(5)
    assert fake.commands == ["state", "signal SIGUSR1"]


def test_an_instance_connected_since_the_last_request_is_left_alone(tmp_path):
    path = str(tmp_path / "m.sock")
    fake = FakeOpenVPN(path, "CONNECTED", int(time.time()))
    assert watchdog.reconnect(path, kicked_at=time.time() - 1) == ("connected", None)
    fake.thread.join(5)
    assert fake.commands == ["state"]


def test_a_handshake_that_moves_on_is_left_alone_and_one_stuck_is_restarted(tmp_path):
    path = str(tmp_path / "a.sock")
    fake = FakeOpenVPN(path, "AUTH", int(time.time()))
    assert watchdog.reconnect(path, kicked_at=time.time() - 1) == ("connecting", None)
    fake.thread.join(5)
    path = str(tmp_path / "b.sock")
    fake = FakeOpenVPN(path, "WAIT", int(time.time()) - 30)
    assert watchdog.reconnect(path, kicked_at=time.time() - 30) == ("signalled", None)
    fake.thread.join(5)


def test_a_missing_socket_is_a_problem_named_not_an_exception(tmp_path):
    done, problem = watchdog.reconnect(str(tmp_path / "none.sock"))
    assert done is None and "none.sock" in problem


def test_slow_management_sockets_never_push_a_round_past_its_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(watchdog, "ROUND_BUDGET", 3.0)
    lab, dog, asked = run_dog(tmp_path)
    rounds(lab, dog, 1)
    lab.answering.clear()

    def slow(path, kicked_at):
        asked.append((lab.now, path))
        lab.now += watchdog.MANAGEMENT_TIMEOUT     # a socket that answers only at its timeout
        return None, "%s: timed out" % path

    dog.reconnect = slow
    for dummy in range(2):
        dog.one_round()
        lab.now += 1
    started = lab.now
    assert dog.one_round()
    # Four dead tunnels at 1 s each would be 4 s; the round stops asking within its 3 s.
    assert lab.now - started <= watchdog.ROUND_BUDGET
    assert asked
