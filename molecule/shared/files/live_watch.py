"""Watches tunnel K in this host's live set, through the watchdog's own reader
(bonded_openvpn_balance.live_set), and prints one JSON line of when it left and came back.

  live_watch.py LIB BOND K watch [LIMIT_MS]             out_at, back_at (ms since the epoch)
  live_watch.py LIB BOND K kill [LIMIT_MS]              SIGKILLs K's OpenVPN first, as a crash would:
                                                        killed_at, out_ms, restarted_ms, back_ms
  live_watch.py LIB BOND K cut PORT HOLD_MS [LIMIT_MS]  drops K's IPv6 underlay (its UDP port, both
                                                        ways) for HOLD_MS: cut_at, out_ms, healed_ms, back_ms

LIB is where the engine is installed (the layout's engine_lib_dir); the *_ms figures count
from the kill or the cut.
"""
import importlib
import json
import os
import signal
import subprocess
import sys
import time

CUT_TABLE = "underlay6_cut"
CUT = """table ip6 %s {
\tchain output { type filter hook output priority 0; udp dport %d drop; }
\tchain input { type filter hook input priority 0; udp sport %d drop; }
}
"""


def now_ms():
    return int(time.time() * 1000)


def main_pid(unit):
    out = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True,
                         check=False)
    return int(out.stdout.strip() or 0)


def start(mode, unit, port):
    """Does what the mode says; returns (when it was done, the killed pid or None)."""
    if mode == "kill":
        pid = main_pid(unit)
        if pid <= 0:
            sys.exit("%s has no main process" % unit)
        at = now_ms()
        os.kill(pid, signal.SIGKILL)
        return at, pid
    if mode == "cut":
        subprocess.run(["nft", "-f", "-"], input=CUT % (CUT_TABLE, port, port), text=True, check=True)
    return now_ms(), None


def main(argv):
    lib, bond, k, mode = argv[1], argv[2], int(argv[3]), argv[4]
    numbers = [int(value) for value in argv[5:]]
    port, hold_ms = (numbers.pop(0), numbers.pop(0)) if mode == "cut" else (None, None)
    limit_ms = numbers[0] if numbers else 30000
    sys.path.insert(0, lib)
    live_set = importlib.import_module("bonded_openvpn_balance.live_set")
    unit = "bonded-openvpn@%s-%d.service" % (bond, k)
    began, pid = start(mode, unit, port)
    out = back = restarted = healed = None
    while now_ms() - began < limit_ms:
        elapsed = now_ms() - began
        if mode == "cut" and healed is None and elapsed >= hold_ms:
            subprocess.run(["nft", "delete", "table", "ip6", CUT_TABLE], check=True)
            healed = now_ms() - began
        if mode == "kill" and restarted is None and main_pid(unit) not in (0, pid):
            restarted = now_ms() - began
        if k in (live_set.read(bond) or []):
            if out is not None and (mode != "cut" or healed is not None):
                back = now_ms() if mode == "watch" else now_ms() - began
                break
        elif out is None:
            out = now_ms() if mode == "watch" else elapsed
        time.sleep(0.05)
    if mode == "cut" and healed is None:
        subprocess.run(["nft", "delete", "table", "ip6", CUT_TABLE], check=True)
    reports = {"watch": {"out_at": out, "back_at": back},
               "kill": {"killed_at": began, "out_ms": out, "restarted_ms": restarted, "back_ms": back},
               "cut": {"cut_at": began, "out_ms": out, "healed_ms": healed, "back_ms": back}}
    print(json.dumps(reports[mode]))


if __name__ == "__main__":
    main(sys.argv)
