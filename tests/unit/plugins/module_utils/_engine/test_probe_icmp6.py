"""The watchdog's sampler on a tunnel with IPv6 inside: an ICMPv6 echo to the peer's IPv6
transfer address beside each ICMP one, forced out of the tunnel's interface, and both
counted toward the tunnel's loss. Sockets, select and the clock are stand-ins."""
import socket
import struct

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import probe as balance_probe
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import echo as wire

from balance_fixtures import spec
from test_kernel import FakeHost

PEER4, PEER6, IFINDEX = "10.255.1.1", "fd00:0:0:ff01::101", 10


class Peers(object):
    """Raw sockets whose peers answer at once, unless told to stay silent."""

    def __init__(self):
        self.now, self.silent, self.sent, self.queues = 0.0, set(), [], {}

    def socket(self, family, kind, protocol):
        assert kind == socket.SOCK_RAW
        assert (family, protocol) in ((socket.AF_INET, socket.IPPROTO_ICMP), (socket.AF_INET6, socket.IPPROTO_ICMPV6))
        return FakeSocket(self, 6 if family == socket.AF_INET6 else 4)

    def select(self, readable, _writable, _errors, timeout):
        ready = [sock for sock in readable if self.queues.get(sock)]
        if not ready:
            self.now += timeout
        return ready, [], []

    def clock(self):
        return self.now


class FakeSocket(object):
    def __init__(self, peers, family):
        self.peers, self.family = peers, family
        peers.queues[self] = []

    def sendmsg(self, buffers, ancdata, _flags, address):
        packet = b"".join(buffers)
        self.peers.sent.append((self.family, packet, ancdata, address))
        if address[0] in self.peers.silent:
            return
        kind, _code, _sum, ident, sequence = struct.unpack("!BBHHH", packet[:8])
        if self.family == 6:
            assert kind == wire.ECHO6_REQUEST
            self.peers.queues[self].append((struct.pack("!BBHHH", wire.ECHO6_REPLY, 0, 0, ident, sequence),
                                            (address[0], 0, 0, 0)))
        else:
            assert kind == wire.ECHO_REQUEST
            header = b"\x45" + b"\0" * 11 + socket.inet_aton(address[0]) + b"\0" * 4
            self.peers.queues[self].append((header + struct.pack("!BBHHH", wire.ECHO_REPLY, 0, 0, ident, sequence),
                                            (address[0], 0)))

    def recvfrom(self, _size):
        return self.peers.queues[self].pop(0)

    def recv(self, size):
        return self.recvfrom(size)[0]

    def close(self):
        pass


@pytest.fixture
def peers(monkeypatch):
    world = Peers()
    monkeypatch.setattr(balance_probe.socket, "socket", world.socket)
    monkeypatch.setattr(balance_probe.select, "select", world.select)
    return world


def sample(peers, targets, count=5):
    # A timeout shorter than the spacing: every echo lost in the round is judged in it.
    return balance_probe.Sampler(1.0, count, clock=peers.clock)(targets, timeout=0.1)


def test_a_tunnel_with_ipv6_inside_gets_an_icmpv6_echo_beside_each_icmp_one_out_of_its_interface(peers):
    result = sample(peers, {0: (PEER4, IFINDEX, PEER6)})[0]
    assert (result["sent"], result["received"], len(result["samples"])) == (10, 10, 10)
    six = [entry for entry in peers.sent if entry[0] == 6]
    assert len(six) == 5
    _family, packet, ancdata, address = six[0]
    assert address == (PEER6, 0, 0, 0) and packet[0] == wire.ECHO6_REQUEST
    # Out of the tunnel's interface, whatever the routes say; the kernel picks the source.
    assert ancdata == [(socket.IPPROTO_IPV6, wire.IPV6_PKTINFO, struct.pack("=16sI", b"\0" * 16, IFINDEX))]


def test_an_ipv4_only_tunnel_opens_no_icmpv6_socket(peers):
    sample(peers, {0: (PEER4, IFINDEX)})
    assert set(entry[0] for entry in peers.sent) == {4}
    assert all(sock.family == 4 for sock in peers.queues)


def test_a_tunnel_whose_ipv6_is_silent_stays_alive_but_loses_half_its_echoes(peers):
    peers.silent.add(PEER6)
    result = sample(peers, {0: (PEER4, IFINDEX, PEER6)})[0]
    assert result["received"] == 5
    assert result["samples"].count(None) == 5 and len(result["samples"]) == 10


def test_a_reply_from_another_address_proves_nothing(peers):
    original = FakeSocket.sendmsg

    def misdirected(sock, buffers, ancdata, flags, address):
        original(sock, buffers, ancdata, flags, address)
        if sock.family == 6 and sock.peers.queues[sock]:
            packet, _source = sock.peers.queues[sock].pop()
            sock.peers.queues[sock].append((packet, ("fd00:0:0:ff01::201", 0, 0, 0)))

    FakeSocket.sendmsg = misdirected
    try:
        result = sample(peers, {0: (PEER4, IFINDEX, PEER6)})[0]
    finally:
        FakeSocket.sendmsg = original
    assert result["received"] == 5 and result["samples"].count(None) == 5


def test_the_watchdog_probes_the_peers_ipv6_transfer_address_of_a_bond_with_ipv6_inside(tmp_path):
    bond = spec()
    bond.update(local_bundle6="fd00:0:0:ff01::fd", peer_bundle6="fd00:0:0:ff01::fe")
    for tunnel in bond["tunnels"]:
        tunnel["peer_address6"] = "fd00:0:0:ff01::%d01" % (tunnel["index"] + 1)
    seen = {}

    def prober(targets, timeout):
        seen.update(targets)
        return dict((k, {"sent": 2, "received": 1, "rtt_ms": 1.0, "error": None}) for k in targets)

    dog = watchdog.Watchdog(bond, run=FakeHost(), prober=prober, links=lambda name: {"ifindex": 7, "up": True},
                            clock=lambda: 0.0, run_dir=str(tmp_path))
    dog.probe_round()
    assert seen[2] == ("10.255.1.9", 7, "fd00:0:0:ff01::301")
    assert "10.255.1.9 and fd00:0:0:ff01::301 answers" in dog._why(bond["tunnels"][2], {"received": 1, "rtt_ms": 1.0})
