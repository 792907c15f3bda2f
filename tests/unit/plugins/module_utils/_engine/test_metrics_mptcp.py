"""A bond with mptcp: the watchdog reads its MPTCP connections and subflows once a round
and writes them beside the other figures; a bond without mptcp keeps its metrics as they
were, and a reading that fails costs the figures, never the round."""
import functools
import json
import os

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import metrics
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import mptcp_sockets

from balance_fixtures import spec
from test_kernel import FakeHost
from test_metrics import samples
from test_watchdog import Lab

OUTPUTS = os.path.join(os.path.dirname(__file__), "mptcp_outputs")
FOUND = {"connections": 3, "bundle_subflows": 2, "subflows": {0: 3, 1: 3, 2: 0, 3: 1}}
NO_COUNTERS = dict((name, None) for name, _sysfs in metrics.COUNTERS)


class Reader(object):
    """An mptcp_reader that answers ``FOUND``, or raises ``error``; counts its calls."""

    def __init__(self, found=None, error=None):
        self.found, self.error, self.calls = found or FOUND, error, 0

    def __call__(self, bond, run):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.found


def make(tmp_path, lab, reader, mptcp=True, host=None):
    bond = spec(mptcp=mptcp)
    bond["metrics_dir"] = str(tmp_path / "prom")
    dog = watchdog.Watchdog(bond, run=host or FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), counters=lambda name: dict(NO_COUNTERS),
                            reconnector=lambda path, kicked_at: ("signalled", None), mptcp_reader=reader)
    # The data path of a bond with mptcp (relay, subflow routes) is balance_kernel's, tested
    # there; here only what the round writes as metrics.
    dog.reconcile = lambda reasons: None
    return dog


def written(tmp_path):
    text = (tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text()
    return text, samples(text), json.loads((tmp_path / "paris.metrics.json").read_text())


def test_each_tunnels_subflows_and_the_bonds_connections_are_gauges():
    figures = {"bond": "paris", "role": "client", "balance": "packet", "uplinks": [],
               "tunnels": [{"index": 0, "interface": "bo-paris-0", "up": True, "in_rotation": True,
                            "rtt_seconds": None, "loss_ratio": None, "transitions": [], "mptcp_subflows": 0}],
               "mptcp": {"connections": 3, "bundle_subflows": 2}}
    text = metrics.render(figures)
    found = samples(text)
    assert found[("bonded_openvpn_tunnel_mptcp_subflows", (("bond", "paris"), ("tunnel", "0")))] == 0
    assert found[("bonded_openvpn_mptcp_connections", (("bond", "paris"),))] == 3
    assert found[("bonded_openvpn_mptcp_bundle_subflows", (("bond", "paris"),))] == 2
    for name, kind, dummy in metrics.MPTCP_HELP:
        assert "# TYPE %s %s" % (name, kind) in text


def test_the_watchdog_writes_them_to_the_text_file_and_the_json(tmp_path):
    lab = Lab()
    make(tmp_path, lab, Reader()).step()
    dummy, found, figures = written(tmp_path)
    for index, count in FOUND["subflows"].items():
        assert found[("bonded_openvpn_tunnel_mptcp_subflows", (("bond", "paris"), ("tunnel", str(index))))] == count
        assert figures["tunnels"][index]["mptcp_subflows"] == count
    assert found[("bonded_openvpn_mptcp_connections", (("bond", "paris"),))] == 3
    assert found[("bonded_openvpn_mptcp_bundle_subflows", (("bond", "paris"),))] == 2
    assert figures["mptcp"] == {"connections": 3, "bundle_subflows": 2}


def test_a_tunnel_the_reading_does_not_mention_has_no_subflows(tmp_path):
    make(tmp_path, Lab(), Reader(found={"connections": 1, "bundle_subflows": 1, "subflows": {0: 1}})).step()
    assert [row["mptcp_subflows"] for row in written(tmp_path)[2]["tunnels"]] == [1, 0, 0, 0]


def test_a_bond_without_mptcp_is_never_read_and_its_metrics_are_unchanged(tmp_path):
    reader = Reader()
    make(tmp_path, Lab(), reader, mptcp=False).step()
    text, dummy, figures = written(tmp_path)
    assert reader.calls == 0
    assert "mptcp" not in text
    assert "mptcp" not in figures and all("mptcp_subflows" not in row for row in figures["tunnels"])


def test_the_sockets_are_read_once_a_round(tmp_path):
    lab = Lab()
    reader = Reader()
    dog = make(tmp_path, lab, reader)
    for dummy in range(3):
        dog.step()
        lab.now += 1
    assert reader.calls == 3


class SsHost(FakeHost):
    """FakeHost that also answers ``ss`` with the recorded output."""

    def __call__(self, argv, data=None, timeout=None):
        if argv[0] == "ss":
            self.calls.append((argv, data))
            self.timeouts.append(timeout)
            with open(os.path.join(OUTPUTS, "ss_established.txt")) as handle:
                return 0, handle.read(), ""
        return FakeHost.__call__(self, argv, data, timeout)


def test_the_real_reader_runs_one_ss_per_round_within_the_rounds_budget(tmp_path):
    lab, host = Lab(), SsHost()
    reader = functools.partial(mptcp_sockets.read, proc_path=os.path.join(OUTPUTS, "proc_net_tcp.txt"),
                               byteorder="little")
    dog = make(tmp_path, lab, reader, host=host)
    dog.round_deadline = lab.now + 3.0
    dog.step()
    ss_calls = [timeout for (argv, dummy), timeout in zip(host.calls, host.timeouts) if argv[0] == "ss"]
    assert ss_calls == [3.0]
    figures = written(tmp_path)[2]
    assert figures["mptcp"] == {"connections": 2, "bundle_subflows": 2}
    assert [row["mptcp_subflows"] for row in figures["tunnels"]] == [2, 2, 2, 0]


ERRORS = [mptcp_sockets.ReadError("'ss -MHn state established' failed (rc=1): nope"),
          IOError(2, "No such file or directory"), kernel.CommandTimeout("'ss' did not finish in 10.0 s; killed it"),
          KeyError("local_bundle")]


def test_a_reading_that_fails_leaves_the_figures_out_and_the_round_succeeds(tmp_path):
    for error in ERRORS:
        lab = Lab()
        dog = make(tmp_path, lab, Reader(error=error))
        assert dog.one_round() is True
        text, found, figures = written(tmp_path)
        assert figures["mptcp"] == {"connections": None, "bundle_subflows": None}
        assert [row["mptcp_subflows"] for row in figures["tunnels"]] == [None] * 4
        assert not [key for key in found if "mptcp" in key[0]]
        assert "# TYPE bonded_openvpn_mptcp_connections gauge" in text


def test_a_failing_reading_is_logged_once_until_it_changes(tmp_path, capsys):
    lab = Lab()
    reader = Reader(error=ERRORS[0])
    dog = make(tmp_path, lab, reader)
    for dummy in range(3):
        dog.step()
        lab.now += 1
    reader.error = ERRORS[1]
    dog.step()
    out = capsys.readouterr().out
    assert out.count("bond paris: cannot read its MPTCP connections and subflows") == 2
    assert "failed (rc=1): nope" in out and "No such file or directory" in out


def test_a_bug_in_the_reading_is_logged_with_where_it_happened(tmp_path, capsys):
    make(tmp_path, Lab(), Reader(error=ERRORS[3])).step()
    assert "metrics go without them: KeyError at test_metrics_mptcp.py:" in capsys.readouterr().out
