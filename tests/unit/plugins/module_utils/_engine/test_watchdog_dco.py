"""The watchdog's DCO figures: whether the host could run the bond's tunnels with DCO and
whether each one does, read from `openvpn --version` (recorded in the lab, _host/dco_outputs),
the kernel's modules, the instance configs and the interfaces' kinds in a sysfs built in
tmp_path, so the "available" path is proved without a kernel that has ovpn or ovpn_dco_v2.
The watchdog reads them at its first round, when a tunnel interface changes and every five
minutes, never every round."""
import os

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import dco
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import metrics
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog

from balance_fixtures import spec
from test_kernel import FakeHost
from test_watchdog import Lab

OUTPUTS = os.path.join(os.path.dirname(__file__), "..", "_host", "dco_outputs")
CONFIG = "# managed\ndev bo-paris-%d\ndev-type tun\ndata-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\n"


def recorded(name):
    with open(os.path.join(OUTPUTS, name)) as handle:
        return handle.read()


V26 = recorded("openvpn-2.6.14-trixie.txt")


def host(tmp_path, kinds, extra=""):
    """Instance configs for the four tunnels of bond paris, and interfaces of the given kinds
    ("tun", a DCO device type such as "ovpn-dco", or None: absent)."""
    configs = tmp_path / "etc" / "instances"
    configs.mkdir(parents=True)
    for index in range(4):
        (configs / ("paris-%d.conf" % index)).write_text(CONFIG % index + extra)
    for index, kind in enumerate(kinds):
        if kind is None:
            continue
        device = tmp_path / "sys" / ("bo-paris-%d" % index)
        device.mkdir(parents=True)
        if kind == "tun":
            (device / "tun_flags").write_text("0x1001\n")
        else:
            (device / "uevent").write_text("DEVTYPE=%s\nINTERFACE=bo-paris-%d\n" % (kind, index))
    return dict(config_dir=str(tmp_path / "etc"), sys_class_net=str(tmp_path / "sys"))


def test_with_the_module_its_openvpn_needs_dco_is_available_and_each_tunnel_says_its_device(tmp_path):
    paths = host(tmp_path, ["ovpn-dco", "ovpn-dco", "tun", None])
    found = dco.read_bond(spec(), V26, modules=lambda: ["ovpn_dco_v2"], **paths)
    assert (found["available"], found["module"], found["reason"]) == (True, "ovpn_dco_v2", None)
    assert found["tunnels"] == {0: True, 1: True, 2: False, 3: None}


def test_without_a_dco_module_as_on_the_lab_kernel_it_is_not_available(tmp_path):
    paths = host(tmp_path, ["tun"] * 4)
    found = dco.read_bond(spec(), V26, modules=lambda: [], **paths)
    assert found["available"] is False
    assert "no DCO module" in found["reason"]
    assert found["tunnels"] == {0: False, 1: False, 2: False, 3: False}


def test_a_config_that_turns_dco_off_makes_it_unavailable_for_the_bond(tmp_path):
    paths = host(tmp_path, ["tun"] * 4, extra="shaper 125000\n")
    found = dco.read_bond(spec(), V26, modules=lambda: ["ovpn_dco_v2"], **paths)
    assert found["available"] is False
    assert "sets shaper" in found["reason"] and found["reason"].count("shaper, which") == 1


def test_no_openvpn_reads_as_unavailable(tmp_path):
    found = dco.read_bond(spec(), "", modules=lambda: ["ovpn"], **host(tmp_path, [None] * 4))
    assert found["available"] is False and "not installed" in found["reason"]


def series(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            found[(sample.name, labels.get("tunnel"))] = sample.value
    return found


class Reader(object):
    """A dco_reader that counts its calls and answers what the test sets."""

    def __init__(self, answer):
        self.answer, self.calls = answer, 0

    def __call__(self, bond_spec, run):
        self.calls += 1
        return self.answer


def rounds(tmp_path, lab, reader, count):
    bond = spec()
    bond["metrics_dir"] = str(tmp_path / "prom")
    dog = watchdog.Watchdog(bond, run=FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), counters=lambda name: {}, dco_reader=reader,
                            reconnector=lambda path, kicked_at: ("signalled", None))
    for dummy in range(count):
        dog.step()
        lab.now += 1
    return dog


def prom(tmp_path):
    return (tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text()


AVAILABLE = {"available": True, "module": "ovpn", "reason": None, "tunnels": {0: True, 1: False, 2: True, 3: None}}


def test_the_metrics_hold_availability_per_bond_and_dco_per_tunnel(tmp_path, capsys):
    rounds(tmp_path, Lab(), Reader(AVAILABLE), 1)
    found = series(prom(tmp_path))
    assert found[("bonded_openvpn_dco_available", None)] == 1
    assert [found.get(("bonded_openvpn_tunnel_dco", str(k))) for k in range(4)] == [1, 0, 1, None]
    assert "<4>bond paris: DCO available (ovpn) but tunnels 1 run on tun devices" in capsys.readouterr().out


def test_where_dco_is_not_available_it_says_why_once(tmp_path, capsys):
    answer = {"available": False, "module": None, "reason": "the kernel has no DCO module",
              "tunnels": dict((k, False) for k in range(4))}
    lab = Lab()
    dog = rounds(tmp_path, lab, Reader(answer), 1)
    lab.ifindex["bo-paris-1"] = 99
    dog.step()
    found = series(prom(tmp_path))
    assert found[("bonded_openvpn_dco_available", None)] == 0
    assert [found[("bonded_openvpn_tunnel_dco", str(k))] for k in range(4)] == [0, 0, 0, 0]
    assert capsys.readouterr().out.count("<6>bond paris: DCO not available: the kernel has no DCO module") == 1


def test_dco_is_read_at_the_first_round_and_again_only_when_an_interface_changes(tmp_path):
    lab, reader = Lab(), Reader(AVAILABLE)
    dog = rounds(tmp_path, lab, reader, 5)
    assert reader.calls == 1
    lab.ifindex["bo-paris-2"] = 42     # its OpenVPN restarted: a new device, maybe a DCO one now
    dog.step()
    dog.step()
    assert reader.calls == 2


def test_dco_is_read_again_after_five_quiet_minutes(tmp_path):
    lab, reader = Lab(), Reader(AVAILABLE)
    dog = rounds(tmp_path, lab, reader, 1)
    lab.now += watchdog.DCO_EVERY - 2
    dog.step()
    assert reader.calls == 1
    lab.now += 2
    dog.step()
    assert reader.calls == 2


def test_a_read_that_fails_leaves_the_dco_series_out_and_the_round_goes_on(tmp_path, capsys):
    def broken(bond_spec, run):
        raise OSError("netlink says no")
    dog = rounds(tmp_path, Lab(), broken, 2)
    names = set(name for name, dummy in series(prom(tmp_path)))
    assert "bonded_openvpn_tunnel_up" in names
    assert not names & {"bonded_openvpn_dco_available", "bonded_openvpn_tunnel_dco"}
    assert dog.error_rounds == 0
    assert capsys.readouterr().out.count("cannot tell whether DCO is used") == 1


def test_the_default_reader_asks_openvpn_through_the_rounds_runner(tmp_path, monkeypatch):
    asked = []

    def run(argv, data=None, timeout=None):
        asked.append(argv)
        return 1, V26, ""     # some releases exit 1 after printing their version
    monkeypatch.setattr(dco, "kernel_dco_modules", lambda: ["ovpn_dco_v2"])
    monkeypatch.setattr(dco, "CONFIG_DIR", str(tmp_path / "etc"))
    found = watchdog.read_dco(spec(), run)
    assert asked == [["openvpn", "--version"]]
    assert found["module"] == "ovpn_dco_v2"


def test_a_host_without_openvpn_reads_as_no_version(monkeypatch):
    def run(argv, data=None, timeout=None):
        raise FileNotFoundError(2, "No such file or directory", "openvpn")
    monkeypatch.setattr(dco, "kernel_dco_modules", lambda: [])
    assert "not installed" in watchdog.read_dco(spec(), run)["reason"]


def test_without_a_dco_read_the_figures_are_unknown_not_zero():
    figures = {"bond": "paris", "role": "client", "balance": "packet", "uplinks": [], "dco_available": None,
               "tunnels": [{"index": 0, "interface": "bo-paris-0", "up": True, "in_rotation": True,
                            "rtt_seconds": None, "loss_ratio": None, "transitions": [], "dco": None}]}
    text = metrics.render(figures)
    assert "bonded_openvpn_dco_available{" not in text and "bonded_openvpn_tunnel_dco{" not in text
