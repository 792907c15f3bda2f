"""Traffic through every bond of the demo fleet, and the per-tunnel report.

For each bond, iperf3 runs from the client's LAN host to the server's LAN host (one TCP
flow for a packet-mode bond, eight for a flow-mode bond, whose hashing spreads flows, not
packets). The tunnels' tx counters are read on both gateways before and after: their
difference is what each tunnel carried, each way.
"""
import json
import subprocess
import time

from containers import podman
from lablib.deploy import live_state

FLOWS = {"packet": 1, "flow": 8}
IPERF_PORT = 5201
READ_TX = ("for dev in /sys/class/net/bo-*; do [ -e \"$dev\" ] || continue; "
           "echo \"${dev##*/} $(cat $dev/statistics/tx_packets)\"; done")
ROW = "  %-3s %-12s %-5s %-21s %-9s %12s %12s %7s"


def tx_packets(hosts):
    """{host: {interface: tx packets}} of every tunnel interface of the hosts."""
    result = {}
    for host in hosts:
        lines = podman("exec", host, "sh", "-c", READ_TX).splitlines()
        result[host] = dict((name, int(count)) for name, count in (line.split() for line in lines))
    return result


def live_set(host, bond):
    return set(live_state(host, bond)["live"] or [])


def push(client_lan, server_address, flows, port, seconds):
    """iperf3 from client_lan to server_address (whose LAN host already listens on port):
    {"mbits", "retransmits"} or {"error"}."""
    for dummy in range(10):   # the server daemon listens a moment after it forks
        run = subprocess.run(["podman", "exec", client_lan, "iperf3", "--client", server_address, "--port", str(port),
                              "--time", str(seconds), "--parallel", str(flows), "--json"],
                             stdout=subprocess.PIPE, universal_newlines=True, check=False)
        result = json.loads(run.stdout or '{"error": "no output"}')
        if "Connection refused" not in result.get("error", ""):
            break
        time.sleep(0.3)
    if "error" in result:
        return {"error": result["error"]}
    return {"mbits": result["end"]["sum_received"]["bits_per_second"] / 1e6,
            "retransmits": result["end"]["sum_sent"].get("retransmits", "?")}


def _state(row):
    """Both ends' management state as playbooks/verify.yml found them, or its mismatches."""
    if row is None:
        return "not verified"
    if row["ok"]:
        return "%s/%s" % (row["client"]["management"], row["server"]["management"])
    return "MISMATCH " + ",".join(sorted(set(m["field"] for m in row["mismatches"])))


def _heading(bond, lans, flows, traffic, link_mbit):
    tunnels = bond["tunnel_list"]
    measured = ("%.1f Mbit/s (%.2f x one %g Mbit/s link), %s retransmits"
                % (traffic["mbits"], traffic["mbits"] / link_mbit, link_mbit, traffic["retransmits"])
                if "error" not in traffic else "FAILED: %s" % traffic["error"])
    return ["bond %-8s %s (server) <- %s (client)   %s, %d tunnels, %s ports %d..%d%s"
            % (bond["name"], bond["server"], bond["client"], bond["balance"], len(tunnels), bond["proto"],
               tunnels[0]["port"], tunnels[-1]["port"], ", snat" if bond["snat"] else ""),
            "  traffic: %s -> %s, %d flow%s, %s" % (lans[0], lans[1], flows, "" if flows == 1 else "s", measured),
            ROW % ("k", "interface", "port", "state client/server", "live c/s", "pkts c->s", "pkts s->c", "share")]


def bond_table(bond, rows, sent, live):
    """One row per tunnel and a total. ``sent``: (client, server) packets per tunnel;
    ``rows``: verify.yml's rows by (bond, tunnel); ``live``: the live sets by host."""
    total = sum(up + down for up, down in sent)
    lines = []
    for tunnel, (up, down) in zip(bond["tunnel_list"], sent):
        k = tunnel["index"]
        live_mark = "/".join("yes" if k in live[bond[role]] else "NO" for role in ("client", "server"))
        lines.append(ROW % (k, tunnel["interface"], tunnel["port"], _state(rows.get((bond["name"], k))), live_mark,
                            up, down, "%.1f%%" % (100.0 * (up + down) / (total or 1))))
    lines.append(ROW % ("", "total", "", "", "", sum(u for u, dummy in sent), sum(d for dummy, d in sent),
                        "100.0%" if total else "0.0%"))
    return lines


def report_bond(fleet, bond, rows, port, seconds):
    """Pushes traffic through one bond; returns (report lines, whether the traffic passed)."""
    lans = (fleet.lan_host(bond["client"]), fleet.lan_host(bond["server"]))
    flows = FLOWS[bond["balance"]]
    hosts = (bond["client"], bond["server"])
    podman("exec", lans[1], "iperf3", "--server", "--one-off", "--daemon", "--port", str(port))
    before = tx_packets(hosts)
    traffic = push(lans[0], fleet.lan_address(lans[1]), flows, port, seconds)
    after = tx_packets(hosts)
    sent = [tuple(after[host][t["interface"]] - before[host][t["interface"]] for host in hosts)
            for t in bond["tunnel_list"]]
    live = dict((host, live_set(host, bond["name"])) for host in hosts)
    return _heading(bond, lans, flows, traffic, fleet.vars["demo_link_mbit"]) + bond_table(bond, rows, sent, live), "error" not in traffic


def run(fleet, verify_path, seconds):
    """Pushes traffic through every bond and prints the report; True if verify.yml passed
    and every run of traffic completed."""
    try:
        with open(verify_path) as handle:
            verify = json.load(handle)
    except (IOError, ValueError):
        verify = {}
    rows = dict(((row["bond"], row["tunnel"]), row) for row in verify.get("tunnels", []))
    healthy = bool(verify.get("ok"))
    for position, bond in enumerate(fleet.plan):
        lines, passed = report_bond(fleet, bond, rows, IPERF_PORT + position, seconds)
        print(("\n" if position else "") + "\n".join(lines), flush=True)
        healthy = healthy and passed
    return healthy
