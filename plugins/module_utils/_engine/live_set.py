# -*- coding: utf-8 -*-
"""The live set: the tunnels a bond's watchdog last spread over, one file per bond.

The watchdog writes it, and everything else reads it through this file: the balance_datapath
and tunnel_facts modules, the lab and the Molecule scenarios (on a host, as
``python3 -m bonded_openvpn_balance.live_set BOND``, with the engine's directory on
PYTHONPATH). A ``#`` comment line, then one live tunnel index per line.

Standard library only: part of the engine shipped to every host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys

from . import layout


# The comment that marks a set the watchdog keeps whole because no tunnel answers: it was
# not chosen by probing.
ALL_KEPT = "(no tunnel answers: all kept)"


def path(bond, run_dir=layout.BALANCE_RUN_DIR):
    return os.path.join(run_dir, "%s.live" % bond)


def parse(text):
    """Tunnel indexes, one per line, sorted; blank lines and ``#`` comments ignored.

    Returns None when a line is not an index: a half-written file must not pass as a set.
    """
    live = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not line.isdigit():
            return None
        live.add(int(line))
    return sorted(live)


def effective(indexes, live):
    """The tunnels to spread over: the live ones among ``indexes``, or all of them when none
    is live (a bond with no live tunnel keeps its full map rather than an empty one)."""
    chosen = [index for index in indexes if live is not None and index in live]
    return chosen or list(indexes)


def render(bond, indexes, live):
    chosen = effective(indexes, live)
    note = "" if live and set(chosen) == set(live) else " " + ALL_KEPT
    return "# tunnels bond '%s' spreads over%s\n%s" % (bond, note, "".join("%d\n" % index for index in chosen))


def read(bond, run_dir=layout.BALANCE_RUN_DIR):
    """The bond's live set, or None when no watchdog has written a readable one."""
    return read_state(bond, run_dir)["live"]


def read_state(bond, run_dir=layout.BALANCE_RUN_DIR):
    """``{"live": the set or None, "all_kept": whether the watchdog keeps every tunnel
    because none answers}``."""
    try:
        with open(path(bond, run_dir)) as handle:
            text = handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return {"live": None, "all_kept": False}
    return {"live": parse(text), "all_kept": ALL_KEPT in text}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Prints the tunnels a bond's watchdog spreads over, "
                                                 "space-separated; exits 1 when there is no live set.")
    parser.add_argument("bond")
    parser.add_argument("--run-dir", default=layout.BALANCE_RUN_DIR)
    parser.add_argument("--json", action="store_true", help='print {"live": [...], "all_kept": true|false}')
    args = parser.parse_args(argv)
    state = read_state(args.bond, args.run_dir)
    if state["live"] is None:
        return 1
    sys.stdout.write((json.dumps(state) if args.json else " ".join(str(index) for index in state["live"])) + "\n")
    return 0


if __name__ == "__main__":
    # A program's exit status for the shell that asked, not a module's exit.
    raise SystemExit(main())
