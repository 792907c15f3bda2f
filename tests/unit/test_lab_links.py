"""The lab's links (lab/lablib/links.py): which tc and nft commands shape, degrade and cut
a tunnel's path, and how the shaper's own counters are read. No containers: the commands
are recorded instead of run."""
import json
import os
import sys
import types

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab"))
from lablib import links  # noqa: E402


class Gateways(object):
    """Stands in for podman exec: records (gateway, argv, stdin), answers route and stats."""

    def __init__(self, qdiscs=None, counters=None):
        self.calls, self.qdiscs, self.counters = [], qdiscs or [], counters or []

    def __call__(self, gateway, argv, check=True, timeout=None, stdin=None):
        self.calls.append((gateway, list(argv), stdin))
        out = ""
        if argv[:2] == ["ip", "-o"]:
            out = "%s dev eth0 src 172.31.80.11 uid 0 \\    cache" % argv[-1]
        elif argv[:3] == ["tc", "-s", "-j"]:
            out = json.dumps(self.qdiscs)
        elif argv[:3] == ["nft", "-j", "list"]:
            out = json.dumps({"nftables": [{"counter": c} for c in self.counters]})
        return types.SimpleNamespace(stdout=out, returncode=0)

    def batches(self, tool):
        return [(gateway, stdin) for gateway, argv, stdin in self.calls if argv[0] == tool and stdin]


@pytest.fixture
def gateways(monkeypatch):
    fake = Gateways()
    monkeypatch.setattr(links, "exec_in", fake)
    return fake


def shaped(gateways, rates=(20, 10)):
    pair = links.Links({"gw-a": "172.31.80.12", "gw-b": "172.31.80.11"})
    pair.apply(links.of_rates(1194, list(rates)))
    return pair


def test_every_gateway_gets_one_class_per_port_matched_in_both_directions(gateways):
    shaped(gateways)
    batches = gateways.batches("tc")
    assert [gateway for gateway, dummy in batches] == ["gw-a", "gw-b"]
    text = batches[0][1]
    assert "classid 1:10 htb rate 20mbit ceil 20mbit quantum 1514 burst 3000" in text
    assert "classid 1:11 htb rate 10mbit ceil 10mbit" in text
    assert "bfifo limit 60000" in text
    for field in ("sport", "dport"):
        assert "match ip %s 1194 0xffff flowid 1:10" % field in text
        assert "match ip %s 1195 0xffff flowid 1:11" % field in text


def test_a_link_without_loss_has_no_drop_rule(gateways):
    shaped(gateways)
    assert not any("drop" in stdin for dummy, stdin in gateways.batches("nft"))


def test_degrading_a_link_changes_only_its_class(gateways):
    pair = shaped(gateways)
    gateways.calls = []
    pair.set(1195, rate=2.5)
    text = gateways.batches("tc")[0][1]
    assert "class change dev eth0 parent 1: classid 1:11 htb rate 2.5mbit" in text
    assert "1:10" not in text


def test_loss_is_a_random_drop_both_ways_and_a_cut_drops_everything(gateways):
    pair = shaped(gateways)
    pair.set(1194, loss=0.01)
    rules = gateways.batches("nft")[-1][1]
    assert 'th sport 1194 numgen random mod 1000000 < 10000 counter name "loss_1194" drop' in rules
    assert 'th dport 1194 numgen random mod 1000000 < 10000 counter name "loss_1194" drop' in rules
    pair.set(1194, loss=1)
    rules = gateways.batches("nft")[-1][1]
    assert 'th dport 1194 counter name "loss_1194" drop' in rules
    assert "numgen" not in rules


def test_stats_add_up_both_gateways_per_port(monkeypatch):
    fake = Gateways(qdiscs=[{"kind": "htb", "handle": "1:", "bytes": 999, "drops": 7},
                            {"kind": "bfifo", "handle": "10:", "bytes": 1000, "packets": 10, "drops": 2},
                            {"kind": "bfifo", "handle": "11:", "bytes": 500, "packets": 5, "drops": 0}],
                    counters=[{"name": "loss_1195", "packets": 3, "bytes": 300}])
    monkeypatch.setattr(links, "exec_in", fake)
    stats = shaped(fake).stats()
    assert stats[1194] == {"sent_bytes": 2000, "sent_packets": 20, "queue_drops": 4, "loss_drops": 0}
    assert stats[1195] == {"sent_bytes": 1000, "sent_packets": 10, "queue_drops": 0, "loss_drops": 6}


def test_delta_gives_per_port_and_total_differences():
    before = {1194: {"sent_bytes": 10, "sent_packets": 1, "queue_drops": 0, "loss_drops": 0}}
    after = {1194: {"sent_bytes": 30, "sent_packets": 3, "queue_drops": 2, "loss_drops": 1}}
    result = links.delta(before, after)
    assert result[1194] == {"sent_bytes": 20, "sent_packets": 2, "queue_drops": 2, "loss_drops": 1}
    assert result["total"]["queue_drops"] == 2


@pytest.mark.parametrize("rate, queue, loss", [(0, 60000, 0), (10, 100, 0), (10, 60000, 1.5)])
def test_a_link_rejects_impossible_settings_naming_its_port(rate, queue, loss):
    with pytest.raises(ValueError, match="link on port 1194"):
        links.Link(1194, rate, queue, loss)
