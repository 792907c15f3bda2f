# -*- coding: utf-8 -*-
"""Quality-aware steering: which live tunnels stay in the spreading.

A tunnel that answers can still hurt every flow it carries: 5 % loss on one of four
tunnels costs packet mode far more than a quarter of the throughput. Fed the probe
samples of every round (round-trip time in seconds, or None for a lost echo), this takes
a live tunnel out of rotation when its echoes show more loss than the rest of the bond's,
the sooner the more (with the defaults, 5 % above it in about 6 s, 3 % in about 17 s, 1 %
about once an hour by chance), or when its median RTT over ``loss_window`` exceeds
``rtt_factor`` times the best live tunnel's (and the best by at least ``rtt_margin``
seconds, so sub-millisecond RTTs on a quiet LAN never count as "three times slower").

Loss is judged by a CUSUM test, echo by echo, not by a share over a window. A share over
10 s (100 echoes at 10 a second) "3 % above the best tunnel's" let congestion that drops
1-2 % of every tunnel's echoes (queues counted in packets, as many routers have) take
healthy tunnels out: bench/echo_loss saw 5 and 9 false leaves in 30 s, and the simulation
in bench/steering_noise 15-45 per tunnel and hour, while a link at 5 % loss one way still
took up to 17 s to be seen. The reference is the rest of the bond: the pooled loss of the
other tunnels in rotation over ``loss_window`` (a pool of hundreds of echoes, where the
best of three tunnels at 2 % often shows 0 % by chance), so congestion that every busy
tunnel sees alike is no reason to leave. Each fresh echo adds its log-likelihood ratio to
the tunnel's sum, which never drops below zero: a lost one adds much, an answered one
takes a little, so a tunnel at the reference drifts down and a bad one climbs steadily.

A tunnel out of rotation comes back once its echoes give the same weight of evidence the
other way (loss near the reference; with no loss at all, about 10 s of echoes) and a whole
``hold`` has passed since it left, so a link whose loss toggles every few seconds stays
out rather than flapping. Dead or alive is not decided here (balance_liveness): a dead
tunnel leaves at once whatever its quality. The last live tunnel in rotation is never
taken out for quality: a bad tunnel beats no tunnel; and when every live tunnel is out for
quality (the last good one died), all of them carry again.

Latency (``latency_cutoff`` seconds, 0 = off; the bond's field, for the modes that spread
one flow over several tunnels): spreading one flow over tunnels of different delay
reorders it, so a tunnel whose base RTT exceeds the best tunnel's by more than the cutoff
leaves. Its base RTT is the least echo RTT over layout.BASE_RTT_WINDOW seconds (BBR's
min_rtt), so its own queue under load does not push it out, and a jump from 30 to 300 ms
is seen within that window. It comes back once the fastest echo of every round has stayed
under layout.LATENCY_RETURN_SHARE of the cutoff above the best base RTT for a whole
``hold`` (a link whose delay alternates every 2 s stays out: each slow round restarts the
count). The reference is the best of the tunnels that may carry (in rotation or out for
latency alone), never one out for loss.

Standard library only: installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from collections import deque

from .layout import BASE_RTT_WINDOW, LATENCY_RETURN_SHARE

# Fewer samples than this say nothing about a few percent loss (1 lost of 20 is 5 %):
# 50 is 2.5 s of the default 20 echoes a round.
MIN_SAMPLES = 50
# The CUSUM weighs each echo as evidence for "reference + BAD x loss_threshold" against
# "reference + GOOD x loss_threshold". In rotation, the sum of a tunnel whose loss stays
# above about 0.72 x loss_threshold over the rest of the bond's climbs (slowly near it:
# about a minute at 3 %), and it leaves at CUSUM_LIMIT; out of rotation, the opposite
# evidence brings it back, never within a hold of leaving. In bench/steering_noise's
# simulation (20 echoes a second, 2 simulated hours per figure) 6 left 0-0.25 times per
# tunnel and hour at 1-3 % common loss (the earlier rule "3 % above the best tunnel's over
# 10 s" at 10 echoes: 16-74), took a tunnel 1 % worse than the rest out once an hour (14),
# and saw a link at 5 % loss within 14 s in 9 starts of 10 (18).
CUSUM_LIMIT = 6.0
GOOD, BAD = 1 / 3.0, 4 / 3.0
LEAVE, RETURN = "leave", "return"
# Reasons, as logged and counted in the metrics.
DEAD, ALIVE, LOSS, RTT, LATENCY, RECOVERED = "dead", "alive", "loss", "rtt", "latency", "recovered"
REASONS = ((LEAVE, DEAD), (LEAVE, LOSS), (LEAVE, RTT), (LEAVE, LATENCY), (RETURN, ALIVE), (RETURN, RECOVERED))


def _median(values):
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0


class Steering(object):
    def __init__(self, loss_threshold, loss_window, rtt_factor, rtt_margin, hold, min_samples=MIN_SAMPLES,
                 latency_cutoff=0.0):
        self.loss_threshold, self.loss_window = loss_threshold, loss_window
        self.rtt_factor, self.rtt_margin, self.hold = rtt_factor, rtt_margin, hold
        self.min_samples, self.latency_cutoff = min_samples, latency_cutoff
        self.fastest = {}      # index -> the fastest echo added since the last judge (seconds)
        self.low_since = {}    # index -> since when every round's fastest echo was low enough to return
        self.samples = {}      # index -> deque of (time, rtt seconds or None)
        self.fresh = {}        # index -> samples added since the last judge (the CUSUM's input)
        self.cusum = {}        # index -> the loss CUSUM's sum
        self.out = {}          # index -> reason it left for (LOSS or RTT)
        self.changed_at = {}   # index -> time of its last quality transition
        self.transitions = {}  # (index, direction, reason) -> count
        # Each tunnel's loss is compared with every other's: computed once per round and window.
        self._losses = {}

    def forget(self, index):
        """Drops a tunnel's samples (it died or came back: its old echoes mislead)."""
        self.samples.pop(index, None)
        self.fresh.pop(index, None)
        self.cusum.pop(index, None)
        self.fastest.pop(index, None)
        self.low_since.pop(index, None)
        self._losses = {}

    def add(self, index, now, samples):
        self._losses = {}
        queue = self.samples.setdefault(index, deque())
        for rtt in samples:
            queue.append((now, rtt))
        self.fresh.setdefault(index, []).extend(samples)
        answered = [rtt for rtt in samples if rtt is not None]
        if answered:
            self.fastest[index] = min([min(answered)] + ([self.fastest[index]] if index in self.fastest else []))
        keep = max(self.loss_window, self.hold, BASE_RTT_WINDOW)
        while queue and now - queue[0][0] > keep:
            queue.popleft()

    def _window(self, index, now, seconds):
        return [rtt for at, rtt in self.samples.get(index, ()) if now - at <= seconds]

    def _lost(self, index, now, seconds):
        window = self._window(index, now, seconds)
        return sum(1 for rtt in window if rtt is None), len(window)

    def loss(self, index, now, seconds=None):
        """Lost share of the echoes judged in the last ``seconds`` (None: too few)."""
        key = (index, now, self.loss_window if seconds is None else seconds)
        if key not in self._losses:
            lost, judged = self._lost(index, now, key[2])
            self._losses[key] = None if judged < self.min_samples else lost / float(judged)
        return self._losses[key]

    def rtt(self, index, now, seconds=None):
        """Median round-trip time in seconds over the window (None: no answer in it)."""
        return _median([rtt for rtt in self._window(index, now, self.loss_window if seconds is None else seconds)
                        if rtt is not None])

    def base_rtt(self, index, now):
        """The least echo RTT over BASE_RTT_WINDOW seconds (None: no answer in it)."""
        answered = [rtt for rtt in self._window(index, now, BASE_RTT_WINDOW) if rtt is not None]
        return min(answered) if answered else None

    def count(self, index, direction, reason):
        key = (index, direction, reason)
        self.transitions[key] = self.transitions.get(key, 0) + 1

    def _references(self, alive, now):
        """{index: the rest of the bond's loss}: echoes lost over judged over ``loss_window``,
        pooled over the other live tunnels in rotation that have enough of them (0.0 when
        none has). Each window is read once: the pool less the tunnel's own share."""
        counts = dict((index, self._lost(index, now, self.loss_window)) for index in alive if index not in self.out)
        counts = dict((index, count) for index, count in counts.items() if count[1] >= self.min_samples)
        lost, judged = sum(count[0] for count in counts.values()), sum(count[1] for count in counts.values())
        references = {}
        for index in alive:
            own_lost, own_judged = counts.get(index, (0, 0))
            rest = judged - own_judged
            references[index] = (lost - own_lost) / float(rest) if rest else 0.0
        return references

    def _best_rtt(self, alive, now, seconds):
        rtts = [self.rtt(index, now, seconds) for index in alive]
        rtts = [rtt for rtt in rtts if rtt is not None]
        return min(rtts) if rtts else None

    def _rtt_problem(self, index, now, seconds, best):
        rtt = self.rtt(index, now, seconds)
        if rtt is not None and best is not None and rtt > max(self.rtt_factor * best, best + self.rtt_margin):
            return RTT, "median RTT %.1f ms over %g s, more than %g x the best tunnel's %.1f ms" % (
                1000 * rtt, seconds, self.rtt_factor, 1000 * best)
        return None

    def _best_base(self, candidates, now):
        """The best base RTT among the tunnels that may carry: in rotation, or out for
        latency alone (one out for loss or RTT is no reference)."""
        bases = [self.base_rtt(index, now) for index in candidates if self.out.get(index, LATENCY) == LATENCY]
        bases = [base for base in bases if base is not None]
        return min(bases) if bases else None

    def _latency_problem(self, index, now, best):
        base = self.base_rtt(index, now)
        if self.latency_cutoff <= 0 or base is None or best is None or base - best <= self.latency_cutoff:
            return None
        samples = self.samples.get(index)
        if not samples or now - samples[0][0] < BASE_RTT_WINDOW:
            return None   # a tunnel just up (or back) has too short a history for its fastest echo to mean much
        return LATENCY, "base RTT %.1f ms (its fastest echo over %g s) exceeds the best tunnel's %.1f ms by more " \
            "than the latency cutoff of %g ms" % (1000 * base, BASE_RTT_WINDOW, 1000 * best, 1000 * self.latency_cutoff)

    def _latency_recovered(self, index, now, best, fastest):
        """Out for latency: whether every round's fastest echo has been low enough for a
        whole hold (a round without an answer, or a slow one, starts the count again)."""
        if fastest is None or best is None or fastest - best >= LATENCY_RETURN_SHARE * self.latency_cutoff:
            self.low_since.pop(index, None)
            return False
        since = self.low_since.setdefault(index, now)
        return now - since >= self.hold and now - self.changed_at[index] >= self.hold

    def _step(self, index, reference, toward):
        """Adds the tunnel's fresh echoes to its CUSUM; returns the new sum. ``toward`` BAD:
        evidence that its loss is BAD x the threshold above the reference (in rotation);
        GOOD: that it is GOOD x the threshold above it (out of rotation, to come back)."""
        good = min(reference + GOOD * self.loss_threshold, 0.5)
        bad = min(reference + BAD * self.loss_threshold, 0.99)
        if_lost, if_answered = math.log(bad / good), math.log((1.0 - bad) / (1.0 - good))
        if toward == GOOD:
            if_lost, if_answered = -if_lost, -if_answered
        total = self.cusum.get(index, 0.0)
        for rtt in self.fresh.pop(index, ()):
            total = max(0.0, total + (if_lost if rtt is None else if_answered))
        self.cusum[index] = total
        return total

    def _loss_problem(self, index, now, reference):
        if self._step(index, reference, BAD) < CUSUM_LIMIT:
            return None
        lost, judged = self._lost(index, now, self.loss_window)
        if judged < self.min_samples:
            return None
        return LOSS, "%d of %d echoes lost over %g s (%.1f %%) against the rest of the bond's %.1f %%: " \
            "CUSUM %.1f reached %g for %.1f %% above it" % (
                lost, judged, self.loss_window, 100.0 * lost / (judged or 1), 100 * reference,
                self.cusum[index], CUSUM_LIMIT, 100 * self.loss_threshold)

    def judge(self, alive, now):
        """``alive``: indexes the liveness check finds alive. Returns the quality
        transitions of this round, ``[(index, direction, reason, detail)]``."""
        alive = sorted(alive)
        self._losses = {}
        changes = []
        # A dead tunnel is still probed (all lost) but judged by liveness, not here.
        for index in [index for index in self.fresh if index not in alive]:
            del self.fresh[index]
        best = self._best_rtt(alive, now, self.loss_window)
        best_base = self._best_base(alive, now)
        fastest, self.fastest = self.fastest, {}
        references = self._references(alive, now)
        for index in alive:
            if index in self.out:
                continue
            problem = self._loss_problem(index, now, references[index])
            if now - self.changed_at.get(index, now - self.hold) < self.hold:
                continue
            problem = (problem or self._rtt_problem(index, now, self.loss_window, best)
                       or self._latency_problem(index, now, best_base))
            if not problem:
                continue
            if not [other for other in alive if other != index and other not in self.out]:
                continue   # the last one in rotation stays: a bad tunnel beats none
            self.out[index], self.changed_at[index], self.cusum[index] = problem[0], now, 0.0
            self.count(index, LEAVE, problem[0])
            changes.append((index, LEAVE, problem[0], problem[1]))
        best_hold = self._best_rtt(alive, now, self.hold)
        for index in alive:
            if index not in self.out:
                continue
            # Out of rotation its echoes count toward coming back: as much evidence that its
            # loss is low as it took to leave, and never before a whole hold.
            good = self._step(index, references[index], GOOD) >= CUSUM_LIMIT
            if self.out[index] == LATENCY:
                if self._latency_recovered(index, now, best_base, fastest.get(index)):
                    changes.append(self._return(index, now, "its fastest echo within %g ms of the best tunnel's base "
                                                "RTT %.1f ms every round for %g s" % (
                                                    1000 * LATENCY_RETURN_SHARE * self.latency_cutoff,
                                                    1000 * best_base, self.hold)))
                continue
            if not good or now - self.changed_at[index] < self.hold:
                continue
            if self._rtt_problem(index, now, self.hold, best_hold) or self._latency_problem(index, now, best_base):
                continue
            lost, judged = self._lost(index, now, self.hold)
            rtt = self.rtt(index, now, self.hold)
            changes.append(self._return(index, now, "good for %g s: %d of %d echoes lost (%.1f %%) against the rest "
                                        "of the bond's %.1f %%, median RTT %s" % (
                                            self.hold, lost, judged, 100.0 * lost / (judged or 1),
                                            100 * references[index],
                                            "%.1f ms" % (1000 * rtt) if rtt is not None else "unknown")))
        return changes

    def _return(self, index, now, detail):
        del self.out[index]
        self.low_since.pop(index, None)
        self.changed_at[index], self.cusum[index] = now, 0.0
        self.count(index, RETURN, RECOVERED)
        return index, RETURN, RECOVERED, detail

    def in_rotation(self, alive):
        """The live tunnels to spread over: those not out for quality, or, when every live
        one is (the last good tunnel died), all of them: a bad tunnel beats none."""
        return sorted(index for index in alive if index not in self.out) or sorted(alive)
