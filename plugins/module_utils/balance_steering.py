# -*- coding: utf-8 -*-
"""Quality-aware steering: which live tunnels stay in the spreading.

A tunnel that answers can still hurt every flow it carries: 5 % loss on one of four
tunnels costs packet mode far more than a quarter of the throughput. Fed the probe
samples of every round (round-trip time in seconds, or None for a lost echo), this takes
a live tunnel out of rotation when its loss over ``loss_window`` seconds passes
``loss_threshold`` above the least lossy live tunnel's (congestion drops echoes on every
busy tunnel alike: the links lab saw 4-5 % on healthy tunnels at full load, which must not
empty the bond), or its median RTT exceeds ``rtt_factor`` times the best live tunnel's
(and the best by at least ``rtt_margin`` seconds, so sub-millisecond RTTs on a quiet LAN
never count as "three times slower").

It puts a tunnel back only after a whole ``hold`` of good samples (loss at most half the
threshold: hysteresis), and never changes one tunnel's quality state twice within
``hold`` seconds, so a link whose loss toggles every few seconds stays out rather than
flapping. Dead or alive is not decided here (balance_liveness): a dead tunnel leaves at
once whatever its quality. The last live tunnel in rotation is never taken out for
quality: a bad tunnel beats no tunnel.

Standard library only: installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import deque

# Fewer samples than this say nothing about a few percent loss (1 lost of 20 is 5 %):
# 50 is 5 s of the default 10 echoes a round.
MIN_SAMPLES = 50
LEAVE, RETURN = "leave", "return"
# Reasons, as logged and counted in the metrics.
DEAD, ALIVE, LOSS, RTT, RECOVERED = "dead", "alive", "loss", "rtt", "recovered"
REASONS = ((LEAVE, DEAD), (LEAVE, LOSS), (LEAVE, RTT), (RETURN, ALIVE), (RETURN, RECOVERED))


def _median(values):
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0


class Steering(object):
    def __init__(self, loss_threshold, loss_window, rtt_factor, rtt_margin, hold, min_samples=MIN_SAMPLES):
        self.loss_threshold, self.loss_window = loss_threshold, loss_window
        self.rtt_factor, self.rtt_margin, self.hold = rtt_factor, rtt_margin, hold
        self.min_samples = min_samples
        self.samples = {}      # index -> deque of (time, rtt seconds or None)
        self.out = {}          # index -> reason it left for (LOSS or RTT)
        self.changed_at = {}   # index -> time of its last quality transition
        self.transitions = {}  # (index, direction, reason) -> count
        # Each tunnel's loss is compared with every other's: computed once per round and window.
        self._losses = {}

    def forget(self, index):
        """Drops a tunnel's samples (it died or came back: its old echoes mislead)."""
        self.samples.pop(index, None)
        self._losses = {}

    def add(self, index, now, samples):
        self._losses = {}
        queue = self.samples.setdefault(index, deque())
        for rtt in samples:
            queue.append((now, rtt))
        keep = max(self.loss_window, self.hold)
        while queue and now - queue[0][0] > keep:
            queue.popleft()

    def _window(self, index, now, seconds):
        return [rtt for at, rtt in self.samples.get(index, ()) if now - at <= seconds]

    def loss(self, index, now, seconds=None):
        """Lost share of the echoes judged in the last ``seconds`` (None: too few)."""
        key = (index, now, self.loss_window if seconds is None else seconds)
        if key not in self._losses:
            window = self._window(index, now, key[2])
            self._losses[key] = (None if len(window) < self.min_samples
                                 else sum(1 for rtt in window if rtt is None) / float(len(window)))
        return self._losses[key]

    def rtt(self, index, now, seconds=None):
        """Median round-trip time in seconds over the window (None: no answer in it)."""
        return _median([rtt for rtt in self._window(index, now, self.loss_window if seconds is None else seconds)
                        if rtt is not None])

    def count(self, index, direction, reason):
        key = (index, direction, reason)
        self.transitions[key] = self.transitions.get(key, 0) + 1

    def _best_loss(self, alive, now, seconds, but):
        losses = [self.loss(index, now, seconds) for index in alive if index != but]
        losses = [loss for loss in losses if loss is not None]
        return min(losses) if losses else 0.0

    def _best_rtt(self, alive, now, seconds):
        rtts = [self.rtt(index, now, seconds) for index in alive]
        rtts = [rtt for rtt in rtts if rtt is not None]
        return min(rtts) if rtts else None

    def _problem(self, index, now, seconds, loss_limit, best, alive):
        """(reason, detail) when the tunnel is not good enough over ``seconds``, else None."""
        loss = self.loss(index, now, seconds)
        floor = self._best_loss(alive, now, seconds, index)
        if loss is not None and loss > floor + loss_limit:
            return LOSS, "loss %.1f %% of %d echoes over %g s, limit %.1f %% above the best tunnel's %.1f %%" % (
                100 * loss, len(self._window(index, now, seconds)), seconds, 100 * loss_limit, 100 * floor)
        rtt = self.rtt(index, now, seconds)
        if rtt is not None and best is not None and rtt > max(self.rtt_factor * best, best + self.rtt_margin):
            return RTT, "median RTT %.1f ms over %g s, more than %g x the best tunnel's %.1f ms" % (
                1000 * rtt, seconds, self.rtt_factor, 1000 * best)
        return None

    def judge(self, alive, now):
        """``alive``: indexes the liveness check finds alive. Returns the quality
        transitions of this round, ``[(index, direction, reason, detail)]``."""
        alive = sorted(alive)
        self._losses = {}
        changes = []
        best = self._best_rtt(alive, now, self.loss_window)
        for index in alive:
            if index in self.out or now - self.changed_at.get(index, now - self.hold) < self.hold:
                continue
            problem = self._problem(index, now, self.loss_window, self.loss_threshold, best, alive)
            if not problem:
                continue
            if not [other for other in alive if other != index and other not in self.out]:
                continue   # the last one in rotation stays: a bad tunnel beats none
            self.out[index], self.changed_at[index] = problem[0], now
            self.count(index, LEAVE, problem[0])
            changes.append((index, LEAVE, problem[0], problem[1]))
        best_hold = self._best_rtt(alive, now, self.hold)
        for index in alive:
            if index not in self.out or now - self.changed_at[index] < self.hold:
                continue
            # The last hold's samples (all taken since it left) must be good.
            window = self._window(index, now, self.hold)
            if len(window) < self.min_samples:
                continue
            if self._problem(index, now, self.hold, self.loss_threshold / 2.0, best_hold, alive):
                continue
            loss, rtt = self.loss(index, now, self.hold), self.rtt(index, now, self.hold)
            del self.out[index]
            self.changed_at[index] = now
            self.count(index, RETURN, RECOVERED)
            changes.append((index, RETURN, RECOVERED, "good for %g s: loss %.1f %%, median RTT %s" % (
                self.hold, 100 * (loss or 0.0), "%.1f ms" % (1000 * rtt) if rtt is not None else "unknown")))
        return changes

    def in_rotation(self, alive):
        return sorted(index for index in alive if index not in self.out)
