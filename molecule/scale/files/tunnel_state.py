"""Prints, as JSON, every trace a bond's tunnels leave on this host, read with the host's own
tools; names and numbers, and the live set, come from the watchdog's engine installed there
(its layout and its live-set reader). Usage: tunnel_state.py BOND ID ENGINE_LIB_DIR"""
import json
import os
import re
import subprocess
import sys

BOND, BOND_ID = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from bonded_openvpn_balance import layout, live_set  # noqa: E402  (from the host's engine, found above)

TABLES = range(layout.mark(BOND_ID, 0), layout.mark(BOND_ID, 0) + layout.MAX_TUNNELS)
CONFIG = layout.CONFIG_DIR


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def tunnel_of(name):
    match = re.match(r"^(?:bo-)?%s-(\d+)(?:\.conf|\.service)?$" % BOND, name)
    return int(match.group(1)) if match else None


def indices(names):
    return sorted(k for k in (tunnel_of(n) for n in names) if k is not None)


units = run("systemctl", "list-units", "bonded-openvpn@*", "--all", "--plain", "--no-legend").split("\n")
loaded_active = [line.split()[0].split("@", 1)[1] for line in units
                 if line.strip() and line.split()[2] in ("active", "activating", "failed")]
nft = run("nft", "list", "table", "ip", layout.NFT_TABLE_PREFIX + BOND)
marks = set(int(x, 16) for x in re.findall(r"0x([0-9a-f]{8})", nft))
marks |= set(int(x) for x in re.findall(r"\b(1\d{4})\b", nft))
live = live_set.read(BOND)
pids = {}
for k in range(32):
    pid = run("systemctl", "show", "-p", "MainPID", "--value", "bonded-openvpn@%s-%d" % (BOND, k)).strip()
    if pid not in ("", "0"):
        pids[str(k)] = int(pid)
print(json.dumps({
    "configs": indices(os.listdir(CONFIG + "/instances")),
    "enabled": indices(n.split("@", 1)[1] for n in os.listdir("/etc/systemd/system/multi-user.target.wants")
                       if n.startswith("bonded-openvpn@")),
    "running": indices(loaded_active),
    "interfaces": indices(line.split()[0].split("@")[0] for line in run("ip", "-br", "link").splitlines()),
    "rules": sorted(t - TABLES[0] for t in (int(x) for x in re.findall(r"lookup (\d+)", run("ip", "rule", "show")))
                    if t in TABLES),
    "tables": [t - TABLES[0] for t in TABLES if run("ip", "route", "show", "table", str(t)).strip()],
    "nft_marks": sorted(m - TABLES[0] for m in marks if m in TABLES),
    "live": live,
    "nft_table": bool(nft.strip()),
    "watchdog": run("systemctl", "is-active", "bonded-openvpn-watchdog@%s" % BOND).strip(),
    "bundle_on_lo": "10.255.%d." % BOND_ID in run("ip", "-4", "-br", "addr", "show", "dev", "lo"),
    "identity": sorted(os.listdir(CONFIG + "/identity")),
    "bond_dir": os.path.exists("%s/bonds/%s" % (CONFIG, BOND)),
    "pids": pids,
}))
