#!/usr/bin/env python3
"""Writes monitoring/grafana/bonded_openvpn.json, the collection's Grafana dashboard, with
Grafana's own grafana-foundation-sdk (pinned in requirements-dashboard.txt; only this
generator needs it, never the collection at run time).

    lab/run python tools/grafana_dashboard.py           # rewrites the JSON
    lab/run python tools/grafana_dashboard.py --check   # exits 1 when the JSON is stale

One bond at a time (variable ``bond``), both ends or one (``instance``): tunnels in
rotation, each tunnel's state, throughput per tunnel and in all, each tunnel's share, probe
loss and RTT, uplinks, MPTCP subflows, and the watchdog's events (a tunnel leaving or
returning to rotation, by reason). Every query reads a series the watchdog writes or a
record of monitoring/prometheus/bonded_openvpn.rules.yml (tests/unit/test_monitoring.py
checks it, lab/gate/monitoring asks a real Prometheus for each one).
"""
import json
import os
import sys

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUTPUT = os.path.join(ROOT, "monitoring", "grafana", "bonded_openvpn.json")
UID = "bonded-openvpn"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Every query of one bond's series, on the ends chosen.
SELECT = 'bond="$bond", instance=~"$instance"'
OUT_IN = {"0": model.ValueMappingResult(text="out", color="red", index=0),
          "1": model.ValueMappingResult(text="in", color="green", index=1)}
DOWN_UP = {"0": model.ValueMappingResult(text="down", color="red", index=0),
           "1": model.ValueMappingResult(text="up", color="green", index=1)}
# Userspace is not a fault (a host without the module can do no better): blue, not red.
OFF_ON = {"0": model.ValueMappingResult(text="off", color="blue", index=0),
          "1": model.ValueMappingResult(text="on", color="green", index=1)}


def query(expr, legend, ref):
    return (prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE))


def legend_table():
    return (common_builder.VizLegendOptions().display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM).show_legend(True))


def graph(title, description, unit, queries, width=12):
    panel = (timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
             .span(width).height(8).fill_opacity(10).legend(legend_table()))
    for ref, (expr, legend) in zip("ABCDEFGH", queries):
        panel = panel.with_target(query(expr, legend, ref))
    return panel


def states(title, description, queries, mapping, width=12):
    panel = (statetimeline.Panel().title(title).description(description).datasource(DATASOURCE).span(width)
             .height(8).mappings([model.ValueMap(options=mapping)]).show_value(common.VisibilityMode.NEVER)
             .merge_values(True))
    for ref, (expr, legend) in zip("ABCDEFGH", queries):
        panel = panel.with_target(query(expr, legend, ref))
    return panel


def rotation_row():
    return [
        stat.Panel().title("Tunnels in rotation").description(
            "Tunnels the watchdog spreads traffic over, on each end, of the bond's tunnels.").datasource(DATASOURCE)
        .span(6).height(8).with_target(query("bonded_openvpn_bond:tunnels_in_rotation:sum{%s}" % SELECT,
                                             "{{instance}}", "A"))
        .with_target(query("count by (instance) (bonded_openvpn_tunnel_in_rotation{%s})" % SELECT,
                           "{{instance}} tunnels", "B")),
        states("Tunnel in rotation", "Per end and tunnel: in rotation (traffic is spread over it) or out "
               "(dead, lossy or slow: the watchdog's journal says which).",
               [("bonded_openvpn_tunnel_in_rotation{%s}" % SELECT, "{{instance}} tunnel {{tunnel}}")], OUT_IN,
               width=18),
    ]


def traffic_row():
    return [
        graph("Throughput of the bond", "Bytes a second over all of the bond's tunnels, per end and direction.",
              "Bps", [("bonded_openvpn_bond:transmit_bytes:rate1m{%s}" % SELECT, "{{instance}} sent"),
                      ("bonded_openvpn_bond:receive_bytes:rate1m{%s}" % SELECT, "{{instance}} received")]),
        graph("Throughput per tunnel", "Bytes a second each tunnel interface sends, per end.", "Bps",
              [("bonded_openvpn_tunnel:transmit_bytes:rate1m{%s}" % SELECT, "{{instance}} tunnel {{tunnel}}")]),
        graph("Share per tunnel", "Each tunnel's share of what its end sends over the bond: with weights, "
              "about each tunnel's weight over their sum.", "percentunit",
              [("bonded_openvpn_tunnel:transmit_bytes:share1m{%s}" % SELECT, "{{instance}} tunnel {{tunnel}}")]),
        graph("Events", "Times a tunnel left or returned to rotation in each interval, by reason "
              "(dead, loss, rtt, latency; alive, recovered).", "short",
              [("increase(bonded_openvpn_tunnel_transitions_total{%s}[$__rate_interval]) > 0" % SELECT,
                "{{instance}} tunnel {{tunnel}} {{direction}} ({{reason}})")]),
    ]


def quality_row():
    return [
        graph("Probe loss", "Share of the watchdog's probes lost over its loss window, per tunnel; the alert "
              "BondedOpenVPNTunnelLoss fires above 3 % for 5 minutes.", "percentunit",
              [("bonded_openvpn_tunnel_loss_ratio{%s}" % SELECT, "{{instance}} tunnel {{tunnel}}")]),
        graph("Probe RTT", "Median round-trip time of the watchdog's probes over its loss window, per tunnel.",
              "s", [("bonded_openvpn_tunnel_rtt_seconds{%s}" % SELECT, "{{instance}} tunnel {{tunnel}}")]),
    ]


def paths_row():
    return [
        states("Uplinks", "Carrier of each of the client's uplinks (bonds with uplinks), and the uplink each "
               "tunnel rides.",
               [("bonded_openvpn_uplink_up{%s}" % SELECT, "{{instance}} {{uplink}} ({{interface}})"),
                ("bonded_openvpn_uplink_up{%s} * on (instance, bond, uplink) group_right "
                 "bonded_openvpn_tunnel_uplink_info{%s}" % (SELECT, SELECT), "{{instance}} tunnel {{tunnel}} on {{uplink}}")],
               DOWN_UP),
        graph("MPTCP subflows", "Bonds with mptcp: established MPTCP connections between the bundle addresses, "
              "and each tunnel's subflows (one per connection when whole).", "short",
              [("bonded_openvpn_mptcp_connections{%s}" % SELECT, "{{instance}} connections"),
               ("bonded_openvpn_tunnel_mptcp_subflows{%s}" % SELECT, "{{instance}} tunnel {{tunnel}} subflows")]),
    ]


def offload_row():
    return [
        states("Data channel offload", "Whether each end could run the bond's tunnels with DCO (OpenVPN built with "
               "it, the kernel module it needs, no option that turns it off), and whether each tunnel does (a DCO "
               "device) or runs in userspace (tun). BondedOpenVPNTunnelDcoInactive fires on tun where DCO is "
               "available.",
               [("bonded_openvpn_dco_available{%s}" % SELECT, "{{instance}} available"),
                ("bonded_openvpn_tunnel_dco{%s}" % SELECT, "{{instance}} tunnel {{tunnel}}")], OFF_ON, width=24),
    ]


def build():
    board = (dash.Dashboard("bonded.openvpn bond").uid(UID).tags(["bonded-openvpn", "openvpn"])
             .description("One bond of bonded.openvpn, both ends: tunnels in rotation, traffic, probe quality, "
                          "uplinks, MPTCP subflows, data channel offload and the watchdog's events (docs/monitoring.md).")
             .refresh("30s").time("now-1h", "now").timezone("browser")
             .with_variable(dash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
             .with_variable(dash.QueryVariable("bond").label("Bond").datasource(DATASOURCE)
                            .query("label_values(bonded_openvpn_bond_info, bond)")
                            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(model.VariableSort.ALPHABETICAL_ASC))
             .with_variable(dash.QueryVariable("instance").label("End").datasource(DATASOURCE)
                            .query('label_values(bonded_openvpn_bond_info{bond="$bond"}, instance)')
                            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED).multi(True).include_all(True)
                            .all_value(".*")))
    for title, panels in (("Rotation", rotation_row()), ("Traffic", traffic_row()), ("Probes", quality_row()),
                          ("Uplinks and MPTCP", paths_row()), ("Offload", offload_row())):
        board = board.with_row(dash.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return board.build()


def render():
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv):
    text = render()
    if "--check" in argv:
        with open(OUTPUT) as handle:
            if handle.read() != text:
                print("%s is stale: run tools/grafana_dashboard.py" % os.path.relpath(OUTPUT, ROOT))
                return 1
        return 0
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
