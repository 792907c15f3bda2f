"""The monitoring the collection ships (monitoring/): the dashboard is what its generator
writes, and reads only series that exist; every alert is shaped for an ops team and has a
promtool test that fires and one that does not (promtool itself runs them: make monitoring)."""
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "monitoring", "prometheus", "bonded_openvpn.rules.yml")
RULE_TESTS = os.path.join(ROOT, "monitoring", "prometheus", "tests", "bonded_openvpn.test.yml")
DASHBOARD = os.path.join(ROOT, "monitoring", "grafana", "bonded_openvpn.json")
# node_exporter's own series that the rules read (its textfile collector).
NODE_EXPORTER = {"node_textfile_mtime_seconds"}
# A metric family in the watchdog's source: ("bonded_openvpn_...", "gauge" or "counter", help).
NAME = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b")
PROMQL_WORDS = {"by", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "sum", "count",
                "max", "min", "avg", "increase", "rate", "time", "label_replace", "instance", "bond", "uplink",
                "tunnel", "interface", "job", "file"}


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def watchdog_families():
    """The families the watchdog writes, as its metrics module declares them."""
    from ansible_collections.bonded.openvpn.plugins.module_utils._engine import metrics
    return set(name for name, dummy, dummy in metrics.HELP + metrics.MPTCP_HELP)


def records():
    return {rule["record"] for group in load(RULES)["groups"] for rule in group["rules"] if "record" in rule}


def alerts():
    return [rule for group in load(RULES)["groups"] for rule in group["rules"] if "alert" in rule]


def series_names(expr):
    """Metric and record names in a PromQL expression (label values and matchers removed)."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\([^()]*\)\s*(?=\()", "", expr)     # grouping labels: by (...), on (...), group_left (...)
    return {name for name in NAME.findall(expr) if name not in PROMQL_WORDS and not name.startswith("$")}


def dashboard_targets():
    with open(DASHBOARD) as handle:
        board = json.load(handle)
    return [(panel["title"], target["expr"]) for panel in board["panels"] if panel["type"] != "row"
            for target in panel["targets"]]


def test_the_watchdog_families_are_found():
    # Guards the next tests: they compare against this set.
    assert {"bonded_openvpn_tunnel_in_rotation", "bonded_openvpn_uplink_up",
            "bonded_openvpn_tunnel_mptcp_subflows"} <= watchdog_families()


def test_the_committed_dashboard_is_what_the_generator_writes():
    pytest.importorskip("grafana_foundation_sdk")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "grafana_dashboard.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_panel_has_a_query():
    with open(DASHBOARD) as handle:
        panels = [panel for panel in json.load(handle)["panels"] if panel["type"] != "row"]
    assert panels and all(panel.get("targets") for panel in panels)


@pytest.mark.parametrize("title, expr", dashboard_targets())
def test_every_dashboard_query_reads_a_series_that_exists(title, expr):
    known = watchdog_families() | records()
    names = series_names(expr)
    assert names, "%s: no series found in %s" % (title, expr)
    assert names <= known, "%s reads %s, which neither the watchdog writes nor a rule records" % (
        title, ", ".join(sorted(names - known)))


def test_every_rule_reads_a_series_that_exists():
    known = watchdog_families() | records() | NODE_EXPORTER
    for group in load(RULES)["groups"]:
        for rule in group["rules"]:
            unknown = series_names(rule["expr"]) - known
            assert not unknown, "%s reads unknown series %s" % (rule.get("alert") or rule["record"], sorted(unknown))


@pytest.mark.parametrize("alert", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_waits_has_a_severity_and_names_the_bond(alert):
    assert re.match(r"^\d+[sm]$", alert.get("for", "")), "%s: no for:" % alert["alert"]
    assert alert["labels"]["severity"] in ("warning", "critical")
    summary = alert["annotations"]["summary"]
    assert "$labels.bond" in summary
    if "tunnel" in alert["expr"] and "by (instance, job, bond)" not in alert["expr"]:
        assert "$labels.tunnel" in summary or "$labels.uplink" in summary, alert["alert"]


def test_every_alert_has_a_promtool_test_that_fires_and_one_that_does_not():
    fires, silent = set(), set()
    for test in load(RULE_TESTS)["tests"]:
        for case in test.get("alert_rule_test", []):
            (fires if case["exp_alerts"] else silent).add(case["alertname"])
    names = {alert["alert"] for alert in alerts()}
    assert names - fires == set(), "alerts no test fires: %s" % sorted(names - fires)
    assert names - silent == set(), "alerts no test expects silent: %s" % sorted(names - silent)
