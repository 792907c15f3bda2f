"""mptcp_sockets: a bond's MPTCP connections and subflows, from /proc/net/tcp and ss -M.

The recorded outputs (mptcp_outputs/) come from one network namespace on a 6.18 kernel
(x86_64, little-endian) holding both gateways of bond paris: the bundles 10.255.1.253
(client) and .254 (server, its SOCKS port 1080 listening), the client's transfer
addresses .2, .6, .10 as the path manager's subflow endpoints (tunnels 0-2; tunnel 3's .14
has none) and two MPTCP connections from bundle to bundle; listeners on 1080 and 1081,
and the TIME_WAIT subflows of an earlier pair of connections. Each end sees, per
connection, one bundle subflow and one subflow per tunnel 0-2.
"""
import os

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import mptcp_sockets as mp

from balance_fixtures import spec

OUTPUTS = os.path.join(os.path.dirname(__file__), "mptcp_outputs")


def recorded(name):
    with open(os.path.join(OUTPUTS, name)) as handle:
        return handle.read()


def side(role):
    """Bond paris with mptcp, as the client or the server holds it."""
    if role == "client":
        return spec(mptcp=True)
    bond = spec(mptcp=True, role="server", local_bundle="10.255.1.254", peer_bundle="10.255.1.253")
    for tunnel in bond["tunnels"]:
        tunnel["local_address"], tunnel["peer_address"] = tunnel["peer_address"], tunnel["local_address"]
    return bond


def line(local, remote, state):
    """A /proc/net/tcp line as an x86 kernel prints it."""
    def hexed(address):
        host, port = address.rsplit(":", 1)
        return "%08X:%04X" % (int.from_bytes(bytes(int(part) for part in host.split(".")), "little"), int(port))
    return ("   7: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 69134 2 0000000041b505ad"
            " 20 0 0 10 -1" % (hexed(local), hexed(remote), state))


HEADING = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def test_addresses_are_decoded_from_the_kernels_little_endian_hex():
    sockets = mp.parse_proc_net_tcp(recorded("proc_net_tcp.txt"), "little")
    assert sockets[0] == (("10.255.1.254", 1080), ("0.0.0.0", 0), 0x0A)
    assert sockets[2] == (("10.255.1.253", 57711), ("10.255.1.254", 1080), mp.ESTABLISHED)
    assert len(sockets) == 26


def test_a_big_endian_host_prints_the_address_the_other_way_round():
    text = HEADING + "   0: 0AFF01FE:0438 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1 0\n"
    assert mp.parse_proc_net_tcp(text, "big")[0][0] == ("10.255.1.254", 1080)


def test_the_heading_and_lines_that_are_not_sockets_are_skipped():
    text = HEADING + "garbage\n   9: nothex:0438 00000000:0000 01\n\n" + line("10.255.1.2:4000", "10.255.1.254:1080", "01")
    assert mp.parse_proc_net_tcp(text, "little") == [(("10.255.1.2", 4000), ("10.255.1.254", 1080), 1)]


@pytest.mark.parametrize("role", ["client", "server"])
def test_each_end_counts_its_subflows_per_tunnel_and_the_bundle_ones(role):
    sockets = mp.parse_proc_net_tcp(recorded("proc_net_tcp.txt"), "little")
    assert mp.subflows(side(role), sockets) == ({0: 2, 1: 2, 2: 2, 3: 0}, 2)


@pytest.mark.parametrize("role", ["client", "server"])
def test_each_end_counts_only_the_connections_it_holds(role):
    assert mp.connections(side(role), mp.parse_ss(recorded("ss_established.txt"))) == 2


# One socket each, as the client of bond paris sees it: (local, remote, state) -> what it counts as.
CASES = [
    (("10.255.1.2:40000", "10.255.1.254:1080", "01"), "tunnel 0"),         # it connected over tunnel 0
    (("10.255.1.253:1080", "10.255.1.5:40000", "01"), "tunnel 1"),         # the server connected over tunnel 1
    (("10.255.1.253:40000", "10.255.1.254:1080", "01"), "bundle"),         # its first subflow
    (("10.255.1.253:1080", "10.255.1.254:40000", "01"), "bundle"),         # the server's first subflow
    (("10.255.1.14:40000", "10.255.1.254:1080", "06"), "nothing"),         # TIME_WAIT
    (("10.255.1.14:40000", "10.255.1.254:1080", "02"), "nothing"),         # SYN_SENT
    (("10.255.1.253:1080", "0.0.0.0:0", "0A"), "nothing"),                 # the listener
    (("10.255.1.2:40000", "10.255.1.254:1081", "01"), "nothing"),          # another port
    (("10.255.1.2:40000", "10.255.1.1:1080", "01"), "nothing"),            # not the peer's bundle
    (("10.255.1.253:1080", "10.255.1.6:40000", "01"), "nothing"),          # its own transfer address
    (("10.255.1.253:40000", "10.255.1.254:22", "01"), "nothing"),          # bundle to bundle, not the relay
    (("192.168.10.5:50000", "10.255.1.253:1081", "01"), "nothing"),        # a LAN connection to the relay
]


@pytest.mark.parametrize("addresses, counted", CASES, ids=[counted + " " + case[2] for case, counted in CASES])
def test_what_one_socket_counts_as(addresses, counted):
    per_tunnel, bundle = mp.subflows(side("client"), mp.parse_proc_net_tcp(HEADING + line(*addresses), "little"))
    found = ["tunnel %d" % index for index, count in per_tunnel.items() for dummy in range(count)]
    found += ["bundle"] * bundle
    assert found == ([] if counted == "nothing" else [counted])


SS_CASES = [
    ("0      0      10.255.1.253:57711 10.255.1.254:1080 \n", 1),
    ("0      0      10.255.1.253:1080  10.255.1.254:40000\n", 1),                  # the server connected
    ("ESTAB 0      0      10.255.1.253:57711 10.255.1.254:1080 \n", 1),            # without a state filter
    ("SYN-SENT 0      0      10.255.1.253:57711 10.255.1.254:1080 \n", 0),
    ("0      0      [::ffff:10.255.1.253]:57711 [::ffff:10.255.1.254]:1080\n", 1),  # a dual-stack socket
    ("0      0      10.255.1.253%lo:57711 10.255.1.254:1080\n", 1),                # bound to a device
    ("0      0      10.255.1.253:57711 10.255.1.254:1081\n", 0),
    ("0      0      10.255.1.254:1080  10.255.1.253:57711\n", 0),                  # the server's end
    ("0      0      10.255.1.2:57711 10.255.1.254:1080\n", 0),
    ("0      0      10.255.1.253:57711 10.255.1.254:1080\n\t subflows_max:2 token:8eb1b94b\n", 1),  # ss -i
    ("", 0),
]


@pytest.mark.parametrize("text, count", SS_CASES)
def test_which_mptcp_connections_are_the_bonds(text, count):
    assert mp.connections(side("client"), mp.parse_ss(text)) == count


class Run(object):
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def __call__(self, argv):
        self.calls.append(argv)
        return self.answer


def test_read_takes_one_file_and_one_ss_call():
    run = Run((0, recorded("ss_established.txt"), ""))
    found = mp.read(side("client"), run, os.path.join(OUTPUTS, "proc_net_tcp.txt"), "little")
    assert found == {"connections": 2, "bundle_subflows": 2, "subflows": {0: 2, 1: 2, 2: 2, 3: 0}}
    assert run.calls == [["ss", "-MHn", "state", "established"]]


def test_a_failing_ss_is_a_read_error_naming_the_command():
    with pytest.raises(mp.ReadError, match="'ss -MHn state established' failed \\(rc=1\\): netlink"):
        mp.read(side("client"), Run((1, "", "netlink error\n")), os.path.join(OUTPUTS, "proc_net_tcp.txt"))


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises((IOError, OSError)):
        mp.read(side("client"), Run((0, "", "")), str(tmp_path / "tcp"))
