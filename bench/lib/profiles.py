# -*- coding: utf-8 -*-
"""Link profiles like real WANs for bench/links --profiles: rates with one-way delay (RTT / 2),
jitter and an LTE-like capacity trace (lab/lablib/wanmodel.py). Every profile has four links,
one per tunnel, so that one deploy per mode serves them all; a profile of fewer links cuts
the rest (loss 1: the watchdogs take those tunnels out) and its ratios are to the sum of the
links it uses."""
from lablib import links, wanmodel

TUNNELS = 4
LTE_SECONDS = 900


def _link(index, first_port, rate=None, rtt=0.0, jitter=0.0, trace=None, queue=links.DEFAULT_QUEUE):
    return links.Link(first_port + index, rate if rate else trace[0][1], queue,
                      delay=rtt / 2.0, jitter=jitter, trace=trace)


def _cut(index, first_port):
    return links.Link(first_port + index, 10, loss=1.0)


def build(name, first_port, seed=1):
    """(links for the 4 tunnels, how many of them carry traffic, a description)."""
    if name == "equal":
        return [_link(k, first_port, 20, rtt=20) for k in range(TUNNELS)], 4, "4 x 20 Mbit/s, 20 ms RTT"
    if name == "mixed":
        return ([_link(0, first_port, 40, rtt=10), _link(1, first_port, 20, rtt=30),
                 _link(2, first_port, 10, rtt=60, jitter=5), _link(3, first_port, 10, rtt=80)], 4,
                "40 Mbit/s 10 ms, 20 Mbit/s 30 ms, 10 Mbit/s 60 ms +-10, 10 Mbit/s 80 ms (RTT)")
    if name == "lte":
        trace = wanmodel.lte_trace(seed=seed, seconds=LTE_SECONDS, mean=20.0, low=2.0, high=40.0)
        return ([_link(0, first_port, 40, rtt=10), _link(1, first_port, 20, rtt=30),
                 _link(2, first_port, rtt=50, jitter=5, trace=trace), _cut(3, first_port)], 3,
                "40 Mbit/s 10 ms, 20 Mbit/s 30 ms, LTE trace 2-40 Mbit/s (mean 20) 50 ms +-10 (RTT)")
    if name == "satellite":
        return ([_link(0, first_port, 40, rtt=10), _link(1, first_port, 10, rtt=600),
                 _cut(2, first_port), _cut(3, first_port)], 2,
                "40 Mbit/s 10 ms beside a 10 Mbit/s satellite link of 600 ms (RTT)")
    raise ValueError("unknown profile %r (equal, mixed, lte, satellite)" % name)


def capacity(profile_links, used, seconds=None):
    """The sum of the links a profile uses: for a trace, its mean over the run."""
    total = 0.0
    for link in profile_links[:used]:
        if link.trace and seconds:
            start, end = seconds
            steps = [r for at, r in link.trace if start <= at < end] or [wanmodel.rate_at(link.trace, start)]
            total += sum(steps) / len(steps)
        else:
            total += link.rate
    return total
