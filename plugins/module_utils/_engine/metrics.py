# -*- coding: utf-8 -*-
"""What the watchdog knows, for an ops team: a Prometheus text file and the same figures
as JSON.

The text file follows node_exporter's textfile collector convention: one
``bonded_openvpn_<bond>.prom`` in its directory, written to a temporary name and renamed
(the collector never reads half a file), base units (seconds, ratios, bytes), and
``_total`` for counters. Byte and packet counters are the tunnel interface's own
(``/sys/class/net/<if>/statistics``), so they match ``ip -s link`` exactly. The JSON
(``<run_dir>/<bond>.metrics.json``) is what ``tunnel_facts`` (and so ``verify.yml``'s
report) reads. A bond with mptcp also gets its MPTCP connections, their bundle subflows and
each tunnel's subflows (mptcp_sockets); a bond without it, none of those families.

Standard library only: installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from . import steering

SYS_NET = "/sys/class/net"
COUNTERS = (("receive_bytes", "rx_bytes"), ("transmit_bytes", "tx_bytes"),
            ("receive_packets", "rx_packets"), ("transmit_packets", "tx_packets"))
HELP = (
    ("bonded_openvpn_bond_info", "gauge", "A bond this host plays, its side and balance mode (always 1)."),
    ("bonded_openvpn_tunnel_up", "gauge", "1 when the tunnel answers the watchdog's probes."),
    ("bonded_openvpn_tunnel_in_rotation", "gauge", "1 when traffic is spread over the tunnel."),
    ("bonded_openvpn_tunnel_rtt_seconds", "gauge", "Median probe round-trip time over the loss window."),
    ("bonded_openvpn_tunnel_base_rtt_seconds", "gauge",
     "Least probe round-trip time over the last few seconds: the base RTT the latency cutoff compares."),
    ("bonded_openvpn_tunnel_loss_ratio", "gauge", "Share of probes lost over the loss window."),
    ("bonded_openvpn_tunnel_receive_bytes_total", "counter", "Bytes received on the tunnel interface."),
    ("bonded_openvpn_tunnel_transmit_bytes_total", "counter", "Bytes sent on the tunnel interface."),
    ("bonded_openvpn_tunnel_receive_packets_total", "counter", "Packets received on the tunnel interface."),
    ("bonded_openvpn_tunnel_transmit_packets_total", "counter", "Packets sent on the tunnel interface."),
    ("bonded_openvpn_tunnel_transitions_total", "counter",
     "Times the tunnel left or returned to rotation, by reason, since the watchdog started."),
    ("bonded_openvpn_uplink_up", "gauge", "1 when the client's uplink has carrier (bonds with uplinks)."),
    ("bonded_openvpn_tunnel_uplink_info", "gauge", "The uplink a tunnel rides (always 1; bonds with uplinks)."),
    ("bonded_openvpn_dco_available", "gauge",
     "1 when this host can run the bond's tunnels with DCO: OpenVPN built with it, the kernel module it needs, "
     "no instance option that turns it off."),
    ("bonded_openvpn_tunnel_dco", "gauge", "1 when the tunnel's OpenVPN runs with data channel offload (a DCO device), "
                                           "0 on a tun device; no sample while the interface is absent."),
)
# Only in the file of a bond with mptcp: a bond without it keeps exactly the families above.
MPTCP_HELP = (
    ("bonded_openvpn_mptcp_connections", "gauge",
     "Established MPTCP connections between the two bundle addresses (bonds with mptcp)."),
    ("bonded_openvpn_mptcp_bundle_subflows", "gauge",
     "Established subflows from bundle address to bundle address, which no tunnel carries alone (bonds with mptcp)."),
    ("bonded_openvpn_tunnel_mptcp_subflows", "gauge",
     "Established MPTCP subflows over the tunnel's transfer addresses (bonds with mptcp)."),
)


def path(bond, directory):
    return os.path.join(directory, "bonded_openvpn_%s.prom" % bond)


def json_path(bond, run_dir):
    return os.path.join(run_dir, "%s.metrics.json" % bond)


def interface_counters(interface, root=SYS_NET):
    """The interface's byte and packet counters (None each when it is gone)."""
    found = {}
    for name, sysfs in COUNTERS:
        try:
            with open(os.path.join(root, interface, "statistics", sysfs)) as handle:
                found[name] = int(handle.read())
        except (IOError, OSError, ValueError):
            found[name] = None
    return found


def collect(spec, alive, rotation, quality, now, counters=interface_counters, uplinks_up=None, mptcp=None, dco=None):
    """The figures of one bond: ``{"bond", "role", "balance", "tunnels": [...], "uplinks":
    [...], "dco_available"}``; ``uplinks_up``: {uplink name: has carrier}, as the watchdog last
    read it; ``dco``: dco.read_bond's result (None: unknown, and so is every DCO figure).
    A bond with mptcp also has ``"mptcp": {"connections", "bundle_subflows"}`` and
    ``mptcp_subflows`` in each tunnel's row, from ``mptcp`` (mptcp_sockets.read's
    figures; None: could not be read, and every one of them is None)."""
    tunnels = []
    for tunnel in spec["tunnels"]:
        index = tunnel["index"]
        row = {"index": index, "interface": tunnel["interface"], "up": index in alive,
               "in_rotation": index in rotation, "rtt_seconds": quality.rtt(index, now),
               "base_rtt_seconds": quality.base_rtt(index, now),
               "loss_ratio": quality.loss(index, now),
               "transitions": [{"direction": direction, "reason": reason,
                                "count": quality.transitions.get((index, direction, reason), 0)}
                               for direction, reason in steering.REASONS]}
        row.update(counters(tunnel["interface"]))
        row["dco"] = dco["tunnels"].get(index) if dco else None
        if spec.get("mptcp"):
            row["mptcp_subflows"] = mptcp["subflows"].get(index, 0) if mptcp else None
        tunnels.append(row)
    uplinks = [{"name": uplink["name"], "interface": uplink["interface"], "tunnels": list(uplink["tunnels"]),
                "up": (uplinks_up or {}).get(uplink["name"])} for uplink in spec.get("uplinks") or []]
    figures = {"bond": spec["bond"], "role": spec["role"], "balance": spec["balance"], "tunnels": tunnels,
               "uplinks": uplinks, "dco_available": dco["available"] if dco else None}
    if spec.get("mptcp"):
        figures["mptcp"] = dict((key, mptcp[key] if mptcp else None) for key in ("connections", "bundle_subflows"))
    return figures


def _labels(**labels):
    return "{%s}" % ",".join('%s="%s"' % (key, str(value).replace("\\", "\\\\").replace('"', '\\"'))
                             for key, value in sorted(labels.items()))


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def render(figures):
    """Prometheus text exposition format (0.0.4) of ``collect``'s figures; a value that is
    unknown (no samples yet, interface gone) is left out, not written as 0."""
    bond = figures["bond"]
    families = HELP + (MPTCP_HELP if "mptcp" in figures else ())
    samples = dict((name, []) for name, _kind, _help in families)
    samples["bonded_openvpn_bond_info"].append(
        (_labels(bond=bond, role=figures["role"], balance=figures["balance"]), 1))
    if figures.get("dco_available") is not None:
        samples["bonded_openvpn_dco_available"].append((_labels(bond=bond), figures["dco_available"]))
    for row in figures["tunnels"]:
        labels = dict(bond=bond, tunnel=row["index"], interface=row["interface"])
        samples["bonded_openvpn_tunnel_up"].append((_labels(**labels), row["up"]))
        samples["bonded_openvpn_tunnel_in_rotation"].append((_labels(**labels), row["in_rotation"]))
        for name, key in (("rtt_seconds", "rtt_seconds"), ("base_rtt_seconds", "base_rtt_seconds"),
                          ("loss_ratio", "loss_ratio")):
            if row.get(key) is not None:
                samples["bonded_openvpn_tunnel_" + name].append((_labels(**labels), row[key]))
        for name, _sysfs in COUNTERS:
            if row.get(name) is not None:
                samples["bonded_openvpn_tunnel_%s_total" % name].append((_labels(**labels), row[name]))
        if row.get("dco") is not None:
            samples["bonded_openvpn_tunnel_dco"].append((_labels(**labels), row["dco"]))
        for item in row["transitions"]:
            samples["bonded_openvpn_tunnel_transitions_total"].append(
                (_labels(direction=item["direction"], reason=item["reason"], **labels), item["count"]))
        if row.get("mptcp_subflows") is not None:
            samples["bonded_openvpn_tunnel_mptcp_subflows"].append(
                (_labels(bond=bond, tunnel=row["index"]), row["mptcp_subflows"]))
    for uplink in figures.get("uplinks") or []:
        if uplink["up"] is not None:
            samples["bonded_openvpn_uplink_up"].append(
                (_labels(bond=bond, uplink=uplink["name"], interface=uplink["interface"]), uplink["up"]))
        for index in uplink["tunnels"]:
            samples["bonded_openvpn_tunnel_uplink_info"].append(
                (_labels(bond=bond, tunnel=index, uplink=uplink["name"]), 1))
    for key, value in sorted((figures.get("mptcp") or {}).items()):
        if value is not None:
            samples["bonded_openvpn_mptcp_" + key].append((_labels(bond=bond), value))
    lines = []
    for name, kind, text in families:
        lines += ["# HELP %s %s" % (name, text), "# TYPE %s %s" % (name, kind)]
        lines += ["%s%s %s" % (name, labels, _number(value)) for labels, value in samples[name]]
    return "\n".join(lines) + "\n"
