# -*- coding: utf-8 -*-
"""Tunnel liveness with hysteresis, fed one probe result per tunnel and round.

A tunnel goes down after ``down_after`` failed rounds in a row (a round already retries
inside its timeout, see probe.py), or at once when its interface is gone; it comes back
after ``up_after`` good rounds in a row, so a flapping tunnel does not flap the map.

Standard library only: also installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Health(object):
    def __init__(self, down_after=1, up_after=2):
        if down_after < 1 or up_after < 1:
            raise ValueError("down_after and up_after must be at least 1")
        self.down_after, self.up_after = down_after, up_after
        self.alive = {}    # index -> bool, from the first observation on
        self.streak = {}   # index -> rounds in a row that contradict ``alive``

    def observe(self, index, ok, immediate=False):
        """Records one round; returns "up" or "down" when the tunnel's state changes."""
        if index not in self.alive:
            # The first round decides directly: a restarted watchdog must not hold a dead
            # tunnel in the map (nor keep a good one out) for several seconds.
            self.alive[index], self.streak[index] = ok, 0
            return "up" if ok else "down"
        if ok == self.alive[index]:
            self.streak[index] = 0
            return None
        self.streak[index] += 1
        needed = self.up_after if ok else self.down_after
        if immediate or self.streak[index] >= needed:
            self.alive[index], self.streak[index] = ok, 0
            return "up" if ok else "down"
        return None

    def live(self):
        return sorted(index for index, alive in self.alive.items() if alive)
