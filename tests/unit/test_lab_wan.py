"""The lab's WAN emulator, its pure parts: the release schedule (lab/lablib/wanmodel.py), the
LTE-like trace, the nfnetlink_queue messages (nfqueue.py), the delay stage's bookkeeping
(delayer.py, on a fake socket and clock), the links' new fields and the probe's analysis
(udpprobe.py). No containers, no netlink."""
import os
import random
import socket
import statistics
import struct
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab"))
from lablib import delayer, links, nfqueue, udpprobe, wanmodel  # noqa: E402


def arrivals(rate_pps, seconds, seed=0, poisson=True):
    rng, t, found = random.Random(seed), 0.0, []
    while t < seconds:
        found.append(t)
        t += rng.expovariate(rate_pps) if poisson else 1.0 / rate_pps
    return found


@pytest.mark.parametrize("rate_pps", [10, 2000, 20000])
def test_a_link_never_reorders_whatever_the_jitter(rate_pps):
    times = arrivals(rate_pps, 2.0)
    released = wanmodel.schedule(times, 0.03, 0.01, seed=3)
    assert all(b >= a for a, b in zip(released, released[1:]))


def test_without_jitter_every_packet_waits_exactly_the_delay():
    times = arrivals(1000, 1.0)
    released = wanmodel.schedule(times, 0.02)
    assert all(abs(out - t - 0.02) < 1e-12 for out, t in zip(released, times))


def test_jitter_spreads_the_delay_by_its_stdev_around_the_delay():
    times = arrivals(500, 120.0, poisson=False)
    delays = [out - t for out, t in zip(wanmodel.schedule(times, 0.05, 0.005, seed=7), times)]
    assert statistics.median(delays) == pytest.approx(0.05, abs=0.001)
    assert statistics.pstdev(delays) == pytest.approx(0.005, rel=0.15)
    assert min(delays) >= 0.05 - 2.5 * 0.005 - 1e-9 and max(delays) <= 0.05 + 2.5 * 0.005 + 1e-9


def test_the_no_reordering_rule_does_not_eat_the_spread_at_high_rates():
    # Independent draws per packet would pile up at delay + their recent maximum.
    slow = arrivals(50, 200.0, seed=1)
    fast = arrivals(20000, 10.0, seed=1)
    spreads = []
    for times in (slow, fast):
        delays = [out - t for out, t in zip(wanmodel.schedule(times, 0.05, 0.005, seed=2), times)]
        spreads.append(udpprobe.percentile(delays, 0.9) - udpprobe.percentile(delays, 0.1))
    assert spreads[1] == pytest.approx(spreads[0], rel=0.35)


def test_jitter_never_makes_a_delay_negative():
    times = arrivals(1000, 5.0)
    released = wanmodel.schedule(times, 0.001, 0.01, seed=4)
    assert all(out >= t for out, t in zip(released, times))


def test_a_smaller_delay_set_at_run_time_waits_for_the_packets_ahead():
    link = wanmodel.Release(0.3)
    first = link.at(0.0)
    link.set(delay=0.03)
    assert link.at(0.01) == first
    assert link.at(0.5) == pytest.approx(0.53)


def test_the_same_seed_gives_the_same_jitter_and_another_seed_another():
    times = arrivals(100, 5.0)
    assert wanmodel.schedule(times, 0.02, 0.004, seed=1) == wanmodel.schedule(times, 0.02, 0.004, seed=1)
    assert wanmodel.schedule(times, 0.02, 0.004, seed=1) != wanmodel.schedule(times, 0.02, 0.004, seed=2)


def test_the_lte_trace_is_seeded_bounded_and_moves():
    trace = wanmodel.lte_trace(seed=5, seconds=300, step=0.5, mean=20, low=2, high=40)
    assert trace == wanmodel.lte_trace(seed=5, seconds=300, step=0.5, mean=20, low=2, high=40)
    assert trace != wanmodel.lte_trace(seed=6, seconds=300, step=0.5, mean=20, low=2, high=40)
    rates = [rate for dummy, rate in trace]
    assert len(trace) == 600 and trace[0][0] == 0 and trace[1][0] == 0.5
    assert 2 <= min(rates) and max(rates) <= 40
    assert 12 <= statistics.mean(rates) <= 24
    assert statistics.pstdev(rates) > 2
    assert any(b < a / 2.5 for a, b in zip(rates, rates[1:])), "no dip in 300 s"


def test_a_trace_holds_each_step_until_the_next_and_its_last_forever():
    trace = [(0, 20.0), (4, 8.0), (6, 30.0)]
    assert [wanmodel.rate_at(trace, t) for t in (0, 3.9, 4, 5.5, 6, 100)] == [20, 20, 8, 8, 30, 30]


# nfnetlink_queue messages

def test_a_batch_verdict_accepts_every_id_up_to_the_last_for_one_queue():
    data = nfqueue.verdict_batch(4701, 123456)
    length, kind, flags, dummy, dummy2 = struct.unpack_from("=IHHII", data)
    assert length == len(data) == 16 + 4 + 4 + 8
    assert kind == (3 << 8) | 3 and flags == 1
    assert struct.unpack_from("!BBH", data, 16) == (socket.AF_UNSPEC, 0, 4701)
    assert struct.unpack_from("=HH", data, 20) == (12, 2)
    assert struct.unpack_from("!II", data, 24) == (1, 123456)


def test_binding_asks_for_metadata_only_a_long_queue_and_an_answer():
    bind, params = nfqueue.bind(4702, 65536, seq=7)
    assert struct.unpack_from("=HHI", bind, 4)[1:] == (1 | 4, 7)
    found = nfqueue.attributes(bind, 20, len(bind))
    assert found[1] == struct.pack("!BxH", 1, socket.AF_INET)
    found = nfqueue.attributes(params, 20, len(params))
    assert found[2] == struct.pack("!IB", 0, 1)
    assert struct.unpack("!I", found[3])[0] == 65536
    assert found[4] == found[5] == struct.pack("!I", 4)
    assert len(params) % 4 == 0


def packet_notice(queue, packet_id, extra=b""):
    body = struct.pack("!BBH", socket.AF_INET, 0, queue)
    body += struct.pack("=HH", 4 + 7, 1) + struct.pack("!IHB", packet_id, 0x0800, 0) + b"\0"
    body += extra
    return struct.pack("=IHHII", 16 + len(body), (3 << 8) | 0, 0, 0, 0) + body


def test_a_datagram_of_packet_notices_and_an_ack_parses_in_order():
    ack = struct.pack("=IHHII", 36, 2, 0, 9, 0) + struct.pack("=i", 0) + b"\0" * 16
    failure = struct.pack("=IHHII", 36, 2, 0, 10, 0) + struct.pack("=i", -16) + b"\0" * 16
    mark = struct.pack("=HH", 8, 6) + struct.pack("!I", 5)
    data = packet_notice(4701, 41, extra=mark) + ack + packet_notice(4702, 42) + failure
    assert nfqueue.parse(data, len(data)) == [(0, 4701, 41), ("error", 0, 9), (0, 4702, 42), ("error", 16, 10)]


# The delay stage's bookkeeping on a fake socket and clock

class FakeSocket(object):
    def __init__(self):
        self.sent, self.inbox = [], []

    def send(self, data):
        self.sent.append(nfqueue.parse(data, len(data))[0] + (struct.unpack_from("!II", data, 24),))

    def recv_into(self, buffer):
        if not self.inbox:
            raise BlockingIOError()
        data = self.inbox.pop(0)
        buffer[:len(data)] = data
        return len(data)


def make_stage(delay=0.02, limit=100):
    clock = [100.0]
    sock = FakeSocket()
    stage = delayer.Delayer(sock, clock=lambda: clock[0])
    stage.links[4701] = delayer.Link(4701, seed=1)
    stage.configure(4701, delay, 0.0, limit)
    return stage, sock, clock


def test_the_stage_holds_packets_and_lets_out_all_that_are_due_in_one_batch():
    stage, sock, clock = make_stage()
    for packet_id in (1, 2, 3):
        sock.inbox.append(packet_notice(4701, packet_id))
        stage.receive()
        clock[0] += 0.005
    assert stage.release() == pytest.approx(0.005)
    assert sock.sent == []
    clock[0] = 100.0 + 0.02 + 0.0051
    assert stage.release() == pytest.approx(0.0049)
    assert sock.sent == [(3, 4701, None, (1, 2))]
    counts = stage.links[4701].stats()
    assert (counts["received"], counts["released"], counts["held"], counts["max_held"]) == (3, 2, 1, 3)


def test_a_full_stage_drops_and_counts_instead_of_holding():
    stage, sock, clock = make_stage(limit=2)
    for packet_id in (1, 2, 3):
        sock.inbox.append(packet_notice(4701, packet_id))
    stage.receive()
    assert sock.sent == [(1, 4701, None, (0, 3))]       # a single drop verdict for packet 3
    assert stage.links[4701].stats()["full_drops"] == 1


def test_a_flood_gives_way_to_releases_after_a_bounded_number_of_reads():
    stage, sock, clock = make_stage(limit=10000)
    sock.inbox.extend(packet_notice(4701, packet_id) for packet_id in range(1, 1001))
    stage.receive(budget=100)
    assert stage.links[4701].stats()["received"] == 100 and len(sock.inbox) == 900


def test_stage_commands_change_a_link_and_report_it():
    stage, dummy, dummy2 = make_stage()
    assert delayer.command(stage, '{"op": "link", "queue": 4701, "delay": 0.05, "jitter": 0.002}') == {"ok": True}
    report = delayer.command(stage, '{"op": "stats"}')["links"]["4701"]
    assert report["delay_ms"] == pytest.approx(50) and report["jitter_ms"] == pytest.approx(2)
    assert delayer.command(stage, '{"op": "quit"}') is None


# The links' new fields

def test_a_link_takes_delay_jitter_and_a_trace_and_describes_them():
    link = links.Link(1194, 10, delay=30, jitter=5)
    assert link.describe() == "10 Mbit/s 30 ms +-5"
    traced = links.Link(1195, 99, trace=[(0, 20.0), (2, 5.0)])
    assert traced.rate == 20.0 and traced.describe() == "trace 5-20 Mbit/s"


@pytest.mark.parametrize("fields", [{"delay": -1}, {"jitter": -0.5}, {"trace": []}, {"trace": [(1, 10)]},
                                    {"trace": [(0, 10), (1, 0)]}])
def test_a_link_rejects_impossible_wan_settings_naming_its_port(fields):
    with pytest.raises(ValueError, match="link on port 1194"):
        links.Link(1194, 10, **fields)


# The probe's analysis

def test_reordering_counts_packets_that_arrive_after_a_higher_one():
    assert udpprobe.reordered([0, 1, 2, 3]) == 0
    assert udpprobe.reordered([0, 2, 1, 3, 5, 4]) == 2
    assert udpprobe.reordered([0, 1, 3]) == 0        # a loss is not a reorder


def test_delivered_rate_counts_what_the_shaper_sees():
    times = [i / 1000.0 for i in range(2000)]        # 1000 datagrams a second
    assert udpprobe.delivered_mbps(times, 1400, 0.5, 1.5) == pytest.approx(1000 * 1442 * 8 / 1e6)


def test_probe_records_round_trip():
    data = udpprobe.RECORD.pack(1194, 7, 1500000000, 1520000000)
    assert udpprobe.records(data) == [(1194, 7, 1.5, 1.52)]


def test_an_idle_link_resumes_its_jitter_within_bounds_at_once():
    jitter = wanmodel.Jitter(0.005, seed=3)
    jitter.offset(0.0)
    assert abs(jitter.offset(86400.0)) <= 2.5 * 0.005
    assert jitter.start > 86400.0 - 3 * jitter.period


def test_a_stage_configured_step_by_step_jitters_like_the_model_with_its_seed():
    times = arrivals(200, 3.0)
    link = wanmodel.Release(0.0, 0.0, seed=11)
    link.set(delay=0.03)
    link.set(jitter=0.005)
    assert [link.at(t) for t in times] == wanmodel.schedule(times, 0.03, 0.005, seed=11)
