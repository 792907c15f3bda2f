"""The WAN emulator's models, pure and seeded: when a held packet leaves (delay, jitter, no
reordering inside a link) and how an LTE-like capacity moves. Used by the delay stage
(delayer.py), the driver (wan.py), the fidelity gate (which runs the same model on its own
send times to know what spread to expect) and the unit tests. Times are seconds."""
import math
import random


class Jitter(object):
    """A delay offset that varies smoothly with arrival time: straight lines between knots
    ``period`` apart, each knot drawn from a normal law (scaled so that the offset's
    standard deviation over time is ``stdev``) and clipped to +-2.5 stdev.

    Why not one independent draw per packet: at thousands of packets a second the
    no-reordering rule (a packet never leaves before the one ahead of it) turns independent
    draws into "delay + the largest recent draw", a constant extra delay with little spread.
    Knots at least 6 stdev apart keep the offset's slope under 5/6, so arrival + offset
    always grows and the rule never has to bind: the spread is the one set, at any rate."""

    def __init__(self, stdev, seed=0, period=None):
        self.stdev = float(stdev)
        self.period = max(0.05, 6 * self.stdev) if period is None else float(period)
        self.random = random.Random(seed)
        self.start, self.knots = None, []

    def _knot(self):
        if not self.stdev:
            return 0.0
        # Linear interpolation between independent knots has 2/3 of their variance on average.
        value = self.random.gauss(0.0, self.stdev * math.sqrt(1.5))
        return max(-2.5 * self.stdev, min(2.5 * self.stdev, value))

    def offset(self, now):
        if not self.stdev:
            return 0.0
        if self.start is None:
            self.start, self.knots = now, [self._knot(), self._knot()]
        position = (now - self.start) / self.period
        if position >= 3.0:         # an idle link: start afresh rather than walk every knot missed
            self.start += (int(position) - 1) * self.period
            self.knots = [self._knot(), self._knot()]
            position -= int(position) - 1
        while position >= 1.0:      # arrivals only move forward
            self.start += self.period
            self.knots = [self.knots[1], self._knot()]
            position -= 1.0
        position = max(0.0, position)
        return self.knots[0] + (self.knots[1] - self.knots[0]) * position


class Release(object):
    """One link's release schedule: release = max(arrival + delay + jitter, previous release),
    so a link never reorders, as a real one does not."""

    def __init__(self, delay=0.0, jitter=0.0, seed=0):
        self.last = -math.inf
        self.seed, self.changes = seed, 0
        self.jitter = Jitter(0.0)
        self.set(delay, jitter)

    def set(self, delay=None, jitter=None):
        if delay is not None:
            if delay < 0:
                raise ValueError("delay %r s must be >= 0" % delay)
            self.delay = float(delay)
        if jitter is not None:
            if jitter < 0:
                raise ValueError("jitter %r s must be >= 0" % jitter)
            if jitter != self.jitter.stdev:
                # The n-th jitter of a seed is the same however it was reached, so a model run
                # on the same packets gives the stage's own delays (the gate relies on it).
                self.changes += 1
                self.jitter = Jitter(jitter, seed=self.seed * 1000 + self.changes)

    def at(self, arrival):
        """When a packet that arrives at ``arrival`` leaves (never before the previous one)."""
        wanted = arrival + max(0.0, self.delay + self.jitter.offset(arrival))
        self.last = max(wanted, self.last)
        return self.last


def schedule(arrivals, delay, jitter=0.0, seed=0):
    """Release times of packets arriving at ``arrivals`` (ascending) on one link."""
    link = Release(delay, jitter, seed)
    return [link.at(t) for t in arrivals]


def lte_trace(seed, seconds=60.0, step=0.5, mean=20.0, low=2.0, high=40.0, dip_chance=0.03, dip_steps=(2, 6)):
    """An LTE-like capacity, [(seconds, Mbit/s)] one step every ``step`` s for ``seconds``: a
    random walk pulled back towards ``mean`` (cell load changing), bounded to [low, high],
    with occasional dips to a quarter of the current rate for a few steps (handovers,
    fading). The same seed gives the same trace."""
    rng = random.Random(seed)
    rate, steps, dip = float(mean), [], 0
    count = int(round(seconds / step))
    for index in range(count):
        rate += 0.15 * (mean - rate) + rng.gauss(0.0, 0.12 * mean)
        rate = max(low, min(high, rate))
        if dip == 0 and rng.random() < dip_chance:
            dip = rng.randint(*dip_steps)
        shown = max(low, rate / 4.0) if dip else rate
        dip = max(0, dip - 1)
        steps.append((round(index * step, 6), round(shown, 2)))
    return steps


def rate_at(trace, seconds):
    """The trace's rate at ``seconds`` after its start (its last step holds afterwards)."""
    current = trace[0][1]
    for start, rate in trace:
        if start > seconds:
            break
        current = rate
    return current
