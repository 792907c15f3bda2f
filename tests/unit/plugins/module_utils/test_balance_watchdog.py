from ansible_collections.bonded.openvpn.plugins.module_utils import balance_spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils import balance_watchdog as watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils.host_state import parse_live_set

from balance_fixtures import spec
from test_balance_kernel import FakeHost


class Lab(object):
    """Tunnel interfaces and peers the tests switch on and off."""

    def __init__(self):
        self.ifindex = dict(("bo-paris-%d" % k, 10 + k) for k in range(4))
        self.answering = set(range(4))
        self.now = 0.0

    def links(self, interface):
        index = self.ifindex.get(interface)
        return None if index is None else {"ifindex": index, "up": True}

    def prober(self, targets, timeout):
        return dict((k, {"sent": 1, "received": int(k in self.answering), "rtt_ms": 1.0 if k in self.answering else None,
                         "error": None}) for k in targets)

    def clock(self):
        return self.now


def make(tmp_path, lab, host=None):
    dog = watchdog.Watchdog(spec(), run=host or FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path))
    return dog


def live(tmp_path):
    with open(bspec.live_path("paris", str(tmp_path))) as handle:
        return parse_live_set(handle.read())


def test_the_first_round_applies_the_data_path_and_writes_the_live_set(tmp_path, capsys):
    lab = Lab()
    make(tmp_path, lab).step()
    assert live(tmp_path) == [0, 1, 2, 3]
    assert "tunnel 3 (bo-paris-3) up" in capsys.readouterr().out


def test_a_tunnel_that_stops_answering_leaves_the_live_set_in_one_round(tmp_path, capsys):
    lab = Lab()
    dog = make(tmp_path, lab)
    dog.step()
    lab.answering.discard(2)
    lab.now += 1
    dog.step()
    assert live(tmp_path) == [0, 1, 3]
    assert "<4>tunnel 2 (bo-paris-2) down: no answer from 10.255.1.9" in capsys.readouterr().out


def test_a_recovered_tunnel_returns_after_two_good_rounds(tmp_path):
    lab = Lab()
    dog = make(tmp_path, lab)
    lab.answering.discard(2)
    dog.step()
    lab.answering.add(2)
    dog.step()
    assert live(tmp_path) == [0, 1, 3]
    dog.step()
    assert live(tmp_path) == [0, 1, 2, 3]


def test_a_returning_interface_triggers_a_repair_even_when_the_live_set_is_the_same(tmp_path):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    dog.step()
    reads = len(host.calls)
    dog.step()
    assert len(host.calls) == reads            # nothing changed: no kernel call
    lab.ifindex["bo-paris-1"] = 99             # OpenVPN restarted between two rounds
    dog.step()
    assert len(host.calls) > reads


def test_the_whole_data_path_is_checked_again_every_few_seconds(tmp_path):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    dog.step()
    reads = len(host.calls)
    lab.now += spec()["probe"]["verify_every"]
    dog.step()
    assert len(host.calls) > reads


def test_a_missing_interface_is_not_probed_and_is_down_at_once(tmp_path):
    lab = Lab()
    dog = make(tmp_path, lab)
    dog.step()
    del lab.ifindex["bo-paris-0"]
    asked = []
    dog.prober = lambda targets, timeout: asked.append(sorted(targets)) or lab.prober(targets, timeout)
    dog.step()
    assert asked == [[1, 2, 3]] and live(tmp_path) == [1, 2, 3]
