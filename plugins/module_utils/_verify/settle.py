# -*- coding: utf-8 -*-
"""Which mismatches heal by themselves while the watchdogs finish their rounds.

Right after site.yml restarted tunnels, one end's watchdog may already spread over a tunnel
that the other's still waits to see answer twice (its up_after): the live sets differ for a
round or two. verify.yml waits, bounded, for such bonds only, and calls every other mismatch
at once: a config, a pin, a port or a unit never fixes itself.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The fields of parity.compare that compare what the watchdogs decide from round to round.
SETTLING_FIELDS = ("balance_live",)


def settling(mismatches):
    """True when there are mismatches and every one of them is a live-set one."""
    return bool(mismatches) and all(item["field"] in SETTLING_FIELDS for item in mismatches)
