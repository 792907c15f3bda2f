"""The watchdog's metrics: a Prometheus text file that prometheus_client's parser reads,
with the interface counters as they are, written by rename, and the same figures as JSON."""
import json
import os

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import metrics
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog

from balance_fixtures import spec
from test_kernel import FakeHost
from test_watchdog import Lab


def sysfs(root, counters):
    for interface, values in counters.items():
        directory = root / interface / "statistics"
        directory.mkdir(parents=True)
        for name, value in values.items():
            (directory / name).write_text("%d\n" % value)


COUNTERS = dict(("bo-paris-%d" % k, {"rx_bytes": 1000 * k + 1, "tx_bytes": 2000 * k + 2, "rx_packets": 10 * k + 3,
                                     "tx_packets": 20 * k + 4}) for k in range(4))


def samples(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def ten_echoes(lab):
    """The lab's prober, with ten echoes per tunnel and round as the watchdog's own sends."""
    def prober(targets, timeout):
        results = lab.prober(targets, timeout)
        for key, result in results.items():
            result["samples"] = [0.001 if result["received"] else None] * 10
        return results
    return prober


def run_rounds(tmp_path, lab, rounds, **spec_changes):
    root = tmp_path / "sys"
    sysfs(root, COUNTERS)
    bond = spec(**spec_changes)
    bond["metrics_dir"] = str(tmp_path / "prom")
    dog = watchdog.Watchdog(bond, run=FakeHost(), prober=ten_echoes(lab), links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path), counters=lambda name: metrics.interface_counters(name, str(root)),
                            reconnector=lambda path, kicked_at: ("signalled", None))
    for dummy in range(rounds):
        dog.step()
        lab.now += 1
    return dog


def test_the_file_parses_and_its_counters_are_the_interfaces(tmp_path):
    lab = Lab()
    run_rounds(tmp_path, lab, 6)
    text = (tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text()
    found = samples(text)
    for k in range(4):
        labels = (("bond", "paris"), ("interface", "bo-paris-%d" % k), ("tunnel", str(k)))
        # prometheus_client names a counter's sample with its _total suffix.
        assert found[("bonded_openvpn_tunnel_receive_bytes_total", labels)] == COUNTERS["bo-paris-%d" % k]["rx_bytes"]
        assert found[("bonded_openvpn_tunnel_transmit_bytes_total", labels)] == COUNTERS["bo-paris-%d" % k]["tx_bytes"]
        assert found[("bonded_openvpn_tunnel_receive_packets_total", labels)] == COUNTERS["bo-paris-%d" % k]["rx_packets"]
        assert found[("bonded_openvpn_tunnel_transmit_packets_total", labels)] == COUNTERS["bo-paris-%d" % k]["tx_packets"]
        assert found[("bonded_openvpn_tunnel_up", labels)] == 1
        assert found[("bonded_openvpn_tunnel_in_rotation", labels)] == 1
        assert found[("bonded_openvpn_tunnel_rtt_seconds", labels)] == 0.001
        assert found[("bonded_openvpn_tunnel_loss_ratio", labels)] == 0.0
    assert found[("bonded_openvpn_bond_info", (("balance", "packet"), ("bond", "paris"), ("role", "client")))] == 1
    assert "# TYPE bonded_openvpn_tunnel_transitions_total counter" in text
    assert sorted(os.listdir(tmp_path / "prom")) == ["bonded_openvpn_paris.prom"]   # no temporary file left


def test_a_dead_tunnel_is_down_out_of_rotation_and_counted_with_its_reason(tmp_path):
    lab = Lab()
    dog = run_rounds(tmp_path, lab, 25)
    lab.answering.discard(2)
    for dummy in range(2):
        dog.step()
        lab.now += 1
    found = samples((tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text())
    labels = (("bond", "paris"), ("interface", "bo-paris-2"), ("tunnel", "2"))
    assert found[("bonded_openvpn_tunnel_up", labels)] == 0
    assert found[("bonded_openvpn_tunnel_in_rotation", labels)] == 0
    assert found[("bonded_openvpn_tunnel_transitions_total", tuple(sorted(labels + (("direction", "leave"), ("reason", "dead")))))] == 1
    assert found[("bonded_openvpn_tunnel_transitions_total", tuple(sorted(labels + (("direction", "return"), ("reason", "alive")))))] == 0
    figures = json.loads((tmp_path / "paris.metrics.json").read_text())
    row = figures["tunnels"][2]
    assert (row["up"], row["in_rotation"], row["receive_bytes"]) == (False, False, 2001)


def test_the_json_holds_the_same_figures_as_the_text_file(tmp_path):
    lab = Lab()
    run_rounds(tmp_path, lab, 6, balance="flowlet")
    figures = json.loads((tmp_path / "paris.metrics.json").read_text())
    found = samples((tmp_path / "prom" / "bonded_openvpn_paris.prom").read_text())
    assert figures["balance"] == "flowlet"
    for row in figures["tunnels"]:
        labels = (("bond", "paris"), ("interface", row["interface"]), ("tunnel", str(row["index"])))
        assert found[("bonded_openvpn_tunnel_transmit_bytes_total", labels)] == row["transmit_bytes"]
        assert found[("bonded_openvpn_tunnel_rtt_seconds", labels)] == row["rtt_seconds"]


def test_without_a_metrics_directory_only_the_json_is_written(tmp_path):
    lab = Lab()
    bond = spec()
    bond["metrics_dir"] = None
    watchdog.Watchdog(bond, run=FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                      run_dir=str(tmp_path)).step()
    assert (tmp_path / "paris.metrics.json").exists()
    assert not (tmp_path / "prom").exists()


def test_a_missing_interface_leaves_its_counters_out_rather_than_zero(tmp_path):
    assert metrics.interface_counters("bo-gone-0", str(tmp_path)) == dict(
        (name, None) for name, _sysfs in metrics.COUNTERS)
