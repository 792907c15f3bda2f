"""A bond between two gateways, a host behind each, links with a capacity (and, if given,
a delay, jitter or trace: links.Link) under it, and iperf3 between the hosts. Used by
bench/links and the links gate:

    PREFIX-lan-a .1.10 -- .1.2 PREFIX-client .0.11 == bond == .0.12 PREFIX-server .2.2 -- .2.10 PREFIX-lan-b
              (links: HTB per tunnel port on each sender, delay stage on each receiver)

Networks PREFIX-wan / -lan-a / -lan-b on BASE.0/24, BASE+1, BASE+2 (BASE e.g. "172.31.100").
With wans=3 (uplinks, lablib/uplinks.py), PREFIX-wan1 and -wan2 on BASE+3 and BASE+4 too:
client .11 and server .12 on each, wan (BASE+0) still every gateway's first network so
that it keeps the main default route and the Links fixture's device.
"""
import json
import os

from lablib import deploy, links as linkslib, machine
from lablib.podman import GATEWAY_SYSCTLS, Lab, exec_in

BOND, PORT = "bol", 1194
REORDER_COUNTERS = ("TCPSACKReorder", "TCPTSReorder", "TCPReorderSeen", "TCPDSACKRecv",
                    "TCPSpuriousRTOs", "TCPTimeouts", "TCPLossProbes")


def _subnet(base, offset):
    a, b, c = base.split(".")
    return "%s.%s.%d" % (a, b, int(c) + offset)


class BondLab(object):
    def __init__(self, prefix, base, workdir, keep=False, wans=1):
        self.prefix, self.workdir = prefix, workdir
        self.wan, self.lan_a, self.lan_b = _subnet(base, 0), _subnet(base, 1), _subnet(base, 2)
        subnets = [self.wan] + [_subnet(base, 2 + u) for u in range(1, wans)]
        self.wans = [{"subnet": net, "client": net + ".11", "server": net + ".12"} for net in subnets]
        self._uplink_devices = None
        self.client, self.server = prefix + "client", prefix + "server"
        self.sender, self.receiver = prefix + "lan-a", prefix + "lan-b"
        self.lab = Lab(keep=keep, label="bonded-openvpn-lab=" + prefix.rstrip("-"))
        self.links = linkslib.Links({self.client: self.wan + ".12", self.server: self.wan + ".11"})
        self.tunnels, self.deploys, self.recap = 0, 0, {}
        os.makedirs(workdir, exist_ok=True)

    def build(self):
        lab, p = self.lab, self.prefix
        lab.network(p + "wan", self.wan + ".0/24")
        lab.network(p + "lan-a", self.lan_a + ".0/24", internal=True)
        lab.network(p + "lan-b", self.lan_b + ".0/24", internal=True)
        more = self.wans[1:]
        for u, wan in enumerate(more, 1):
            lab.network(self._wan_network(u), wan["subnet"] + ".0/24")
        lab.container(self.client, [(p + "wan", self.wan + ".11"), (p + "lan-a", self.lan_a + ".2")]
                      + [(self._wan_network(u), wan["client"]) for u, wan in enumerate(more, 1)],
                      sysctls=GATEWAY_SYSCTLS, tun=True)
        lab.container(self.server, [(p + "wan", self.wan + ".12"), (p + "lan-b", self.lan_b + ".2")]
                      + [(self._wan_network(u), wan["server"]) for u, wan in enumerate(more, 1)],
                      sysctls=GATEWAY_SYSCTLS, tun=True)
        lab.container(self.sender, [(p + "lan-a", self.lan_a + ".10")])
        lab.container(self.receiver, [(p + "lan-b", self.lan_b + ".10")])
        lab.wait_booted()
        for gateway in (self.client, self.server):
            # netavark gives every network a default route, all of metric 100, and the
            # kernel takes the last added: wan alone keeps the main table's.
            for wan in more:
                exec_in(gateway, ["ip", "route", "del", "default", "via", wan["subnet"] + ".1"], check=False)
        lab.route(self.sender, [self.lan_b + ".0/24", "10.255.0.0/16"], self.lan_a + ".2")
        lab.route(self.receiver, [self.lan_a + ".0/24", "10.255.0.0/16"], self.lan_b + ".2")
        exec_in(self.receiver, ["systemd-run", "--unit=bo-iperf3", "--quiet", "iperf3", "--server"])
        self.cpu = machine.ContainerCpu(self.lab.containers)

    def teardown(self):
        self.links.close()
        self.lab.teardown()

    def _wan_network(self, u):
        return self.prefix + ("wan%d" % u if u else "wan")

    def uplink_devices(self):
        """{gateway: [its device on wan u, for each u]}, found by address: podman numbers
        a container's devices in its own order."""
        if self._uplink_devices is None:
            found = {}
            for gateway, side in ((self.client, "client"), (self.server, "server")):
                by_address = {}
                for link in json.loads(exec_in(gateway, ["ip", "-j", "addr", "show"]).stdout):
                    for info in link.get("addr_info", []):
                        by_address[info.get("local")] = link["ifname"]
                found[gateway] = [by_address[wan[side]] for wan in self.wans]
            self._uplink_devices = found
        return self._uplink_devices

    def uplinks_field(self, capacities):
        """The bond's ``uplinks`` for the inventory: uplink u on wan u, dialing the server's
        address on that same network (podman masquerades a source leaving its subnet)."""
        devices = self.uplink_devices()[self.client]
        return [{"name": "wan%d" % u, "interface": devices[u], "address": wan["client"], "remote": wan["server"],
                 "capacity": capacities[u]} for u, wan in enumerate(self.wans)]

    def misroute_main(self):
        """Sends the client's traffic for the server's other wan addresses out wan0 in the
        main table: only the uplinks' own tables (ip rule from ADDRESS) can get a tunnel
        onto its uplink then."""
        device = self.uplink_devices()[self.client][0]
        for wan in self.wans[1:]:
            exec_in(self.client, ["ip", "route", "replace", wan["server"] + "/32", "via", self.wan + ".12", "dev", device])

    def deploy(self, tunnels, balance, weights=None, extra_vars=None, bond_fields=None):
        """(Re)deploys the bond with site.yml; returns (site.yml seconds, seconds until
        both watchdogs spread over every tunnel). ``bond_fields``: more fields of the bond
        (flowlet_gap, ...). The links (tc, nftables table bo_links) are not the
        collection's: they stay as they were."""
        bond = {"name": BOND, "id": 1, "server": self.server, "client": self.client,
                "remote": self.wan + ".12", "tunnels": tunnels, "port": PORT, "balance": balance,
                "client_networks": [self.lan_a + ".0/24"], "server_networks": [self.lan_b + ".0/24"]}
        if weights:
            bond["weights"] = list(weights)
        bond.update(bond_fields or {})
        inventory = os.path.join(self.workdir, "inventory.yml")
        deploy.write_inventory(inventory, [self.client, self.server], [bond], extra_vars)
        self.deploys += 1
        logfile = os.path.join(self.workdir, "site-%d-%s-%d.log" % (self.deploys, balance, tunnels))
        seconds, self.recap = deploy.site(inventory, logfile)
        self.tunnels = tunnels
        # The shaper must be in place before the watchdog's probes judge the tunnels.
        return seconds, self.wait_whole()

    def wait_whole(self, timeout=90):
        return deploy.wait_live([self.client, self.server], BOND, range(self.tunnels), timeout=timeout)

    def shape(self, links):
        self.links.apply(links)

    def ports(self):
        return [PORT + k for k in range(self.tunnels)]

    def _netstat(self):
        lines = exec_in(self.sender, ["cat", "/proc/net/netstat"]).stdout.splitlines()
        counters = {}
        for header, values in zip(lines[::2], lines[1::2]):
            prefix, names = header.split(":", 1)
            if prefix == "TcpExt":
                counters.update(zip(names.split(), (int(n) for n in values.split(":", 1)[1].split())))
        return counters

    def iperf(self, streams, seconds, omit=1):
        """One iperf3 run lan-a -> lan-b: Mbit/s received, retransmits, the sender's reorder
        counters, what the shaper sent and dropped per link (zeros without Links applied:
        an Uplinks lab counts its own), host CPU busy (whole machine) and lab CPU (this
        lab's containers' share of the machine)."""
        stats = self.links.stats if self.links.links else (lambda: {})
        before, shaped = self._netstat(), stats()
        cpu, lab_cpu = machine.cpu_times(), self.cpu.sample()
        argv = ["iperf3", "--client", self.lan_b + ".10", "--time", str(seconds), "--omit", str(omit),
                "--json", "--parallel", str(streams)]
        proc = exec_in(self.sender, argv, check=False, timeout=seconds + omit + 60)
        busy = machine.busy_percent(cpu, machine.cpu_times())
        lab_busy = self.cpu.percent(lab_cpu, self.cpu.sample())
        after, shaped_after = self._netstat(), stats()
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = {"error": "no JSON from iperf3 (rc %d): %s %s" % (proc.returncode, proc.stdout[-300:], proc.stderr[-300:])}
        if report.get("error"):
            raise RuntimeError("iperf3 failed: %s" % report["error"])
        end = report["end"]
        shaper = linkslib.delta(shaped, shaped_after)
        sent = [shaper[port]["sent_bytes"] for port in sorted(p for p in shaper if p != "total")]
        return {
            "mbps": end["sum_received"]["bits_per_second"] / 1e6,
            "retransmits": end["sum_sent"].get("retransmits", 0),
            "counters": dict((name, after.get(name, 0) - before.get(name, 0)) for name in REORDER_COUNTERS),
            "shaper_drops": shaper["total"]["queue_drops"],
            "loss_drops": shaper["total"]["loss_drops"],
            "share": [round(100.0 * value / (sum(sent) or 1), 1) for value in sent],
            "cpu_busy": busy,
            "lab_cpu": lab_busy,
        }


def journal_events(gateway, unit, since, keep=lambda entry: True):
    """[(unix time, message)] of a unit's journal entries since unix time ``since`` that
    ``keep`` accepts, timed by the journal (the host's clock), not by how fast we poll."""
    out = exec_in(gateway, ["journalctl", "-u", unit, "-o", "json", "--no-pager", "--since", "@%.3f" % since],
                  check=False).stdout
    events = []
    for line in out.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry.get("MESSAGE"), str) and keep(entry):
            events.append((int(entry["__REALTIME_TIMESTAMP"]) / 1e6, entry["MESSAGE"]))
    return events


def watchdog_events(gateway, since, bond=BOND):
    """The bond's watchdog lines since ``since``: its transitions with their reasons."""
    return journal_events(gateway, "bonded-openvpn-watchdog@%s" % bond, since)


def unit_events(gateway, unit, since):
    """systemd's own lines about a unit since ``since`` (its starts and exits)."""
    return journal_events(gateway, unit, since, keep=lambda entry: entry.get("SYSLOG_IDENTIFIER") == "systemd")


def first(events, text, after=0.0):
    """Time of the first event after ``after`` whose message contains ``text``, or None."""
    for at, message in events:
        if at >= after and text in message:
            return at
    return None


def metrics_text(gateway, bond=BOND, directory="/var/lib/prometheus/node-exporter"):
    return exec_in(gateway, ["cat", "%s/bonded_openvpn_%s.prom" % (directory, bond)]).stdout


def interface_counters(gateway, interfaces):
    """{interface: {receive_bytes, transmit_bytes, receive_packets, transmit_packets}} from ip -s."""
    links = json.loads(exec_in(gateway, ["ip", "-s", "-j", "link", "show"]).stdout)
    found = {}
    for link in links:
        if link["ifname"] in interfaces:
            stats = link["stats64"]
            found[link["ifname"]] = {"receive_bytes": stats["rx"]["bytes"], "transmit_bytes": stats["tx"]["bytes"],
                                     "receive_packets": stats["rx"]["packets"], "transmit_packets": stats["tx"]["packets"]}
    return found
