# -*- coding: utf-8 -*-
"""Parity of a bond with mptcp: both watchdogs run it with mptcp or both without (and as the
plan says), compared only when both ends' metrics were read; each end's relay units are
active. Subflow counts change by the second under traffic and are never compared."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.module_utils._verify import parity
from ansible_collections.bonded.openvpn.plugins.modules import tunnel_parity
from test_parity_compare import apply_case

RELAY = "bonded-openvpn-relay@paris.service"
SOCKS = "bonded-openvpn-socks@paris.service"
METRICS_WITHOUT = {"bond": "paris", "balance": "packet", "tunnels": []}
METRICS_WITH = dict(METRICS_WITHOUT, mptcp={"connections": 2, "bundle_subflows": 2})


def with_mptcp(relay="active", socks="active", connections=2, bundle_subflows=2):
    """What tunnel_facts reports for a bond whose metrics say mptcp."""
    return {"connections": connections, "bundle_subflows": bundle_subflows, "relays": {RELAY: relay, SOCKS: socks}}


def mptcp_on(side, **mptcp):
    return {"%s.bonds.paris.metrics" % side: METRICS_WITH, "%s.bonds.paris.mptcp" % side: with_mptcp(**mptcp)}


def mptcp_off(side):
    return {"%s.bonds.paris.metrics" % side: METRICS_WITHOUT, "%s.bonds.paris.mptcp" % side: None}


def merged(*parts):
    found = {}
    for part in parts:
        found.update(part)
    return found


# Each case: what both ends report (set), the plan's mptcp (plan_mptcp; None: no plan), and
# exactly the (tunnel, field) mismatches expected.
CASES = [
    {"id": "both ends run mptcp as planned with their relays active",
     "set": merged(mptcp_on("client"), mptcp_on("server")), "plan_mptcp": True, "expect": []},
    {"id": "both ends run without mptcp as planned",
     "set": merged(mptcp_off("client"), mptcp_off("server")), "plan_mptcp": False, "expect": []},
    {"id": "mptcp on the client only",
     "set": merged(mptcp_on("client"), mptcp_off("server")), "plan_mptcp": True, "expect": [[None, "mptcp"]]},
    {"id": "mptcp on the server only, without a plan",
     "set": merged(mptcp_off("client"), mptcp_on("server")), "plan_mptcp": None, "expect": [[None, "mptcp"]]},
    {"id": "both ends without mptcp the plan has",
     "set": merged(mptcp_off("client"), mptcp_off("server")), "plan_mptcp": True, "expect": [[None, "mptcp"]]},
    {"id": "both ends with mptcp the plan no longer has",
     "set": merged(mptcp_on("client"), mptcp_on("server")), "plan_mptcp": False, "expect": [[None, "mptcp"]]},
    {"id": "an end without a metrics file is not compared",
     "set": mptcp_on("client"), "plan_mptcp": True, "expect": []},
    {"id": "an end without a metrics file is not compared with the plan either",
     "set": mptcp_off("client"), "plan_mptcp": True, "expect": []},
    {"id": "subflow and connection counts that differ are not compared",
     "set": merged(mptcp_on("client", connections=7, bundle_subflows=7), mptcp_on("server", connections=None),
                   {"client.bonds.paris.tunnels.0.mptcp_subflows": 5, "server.bonds.paris.tunnels.0.mptcp_subflows": 0}),
     "plan_mptcp": True, "expect": []},
    {"id": "a failed relay on the client",
     "set": merged(mptcp_on("client", relay="failed"), mptcp_on("server")), "plan_mptcp": True,
     "expect": [[None, "mptcp_relay"]]},
    {"id": "both relay units down on the server are one mismatch",
     "set": merged(mptcp_on("client"), mptcp_on("server", relay="inactive", socks="activating")), "plan_mptcp": True,
     "expect": [[None, "mptcp_relay"]]},
    {"id": "a relay down on each end is one mismatch per end",
     "set": merged(mptcp_on("client", socks="failed"), mptcp_on("server", relay="failed")), "plan_mptcp": True,
     "expect": [[None, "mptcp_relay"], [None, "mptcp_relay"]]},
    {"id": "an unknown relay state is left to the unit check",
     "set": merged(mptcp_on("client", relay=None, socks=None), mptcp_on("server")), "plan_mptcp": True,
     "expect": []},
    {"id": "a relay down facing relays of unknown state",
     "set": merged(mptcp_on("client", relay="failed"), mptcp_on("server", relay=None, socks=None)),
     "plan_mptcp": True, "expect": [[None, "mptcp_relay"]]},
    {"id": "mptcp on one end only, whose relay is down, is both",
     "set": merged(mptcp_on("client", relay="failed"), mptcp_off("server")), "plan_mptcp": True,
     "expect": [[None, "mptcp"], [None, "mptcp_relay"]]},
]


def apply(case):
    client, server, plan = apply_case({"set": case["set"], "plan_tunnels": 3 if case["plan_mptcp"] is not None else None})
    if plan is not None:
        plan["mptcp"] = case["plan_mptcp"]
        # The specs are as the last run deployed the plan: these cases are about what runs.
        for end in (client, server):
            if end.get("bonds"):
                end["bonds"]["paris"]["balance"]["spec"]["mptcp"] = case["plan_mptcp"]
    return client, server, plan


def mismatches(case):
    return parity.compare("paris", *apply(case))[1]


def case_named(name):
    return next(case for case in CASES if case["id"] == name)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_names_exactly_the_expected_mismatches(case):
    assert [[m["tunnel"], m["field"]] for m in mismatches(case)] == case["expect"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_mismatch_is_complete_and_says_to_re_run_site_yml(case):
    for item in mismatches(case):
        assert set(item) == {"bond", "tunnel", "field", "client", "server", "plan", "hint"}
        assert "re-run site.yml" in item["hint"]
        assert parity.describe(item).startswith("bond paris field %s: client=" % item["field"])


def test_mptcp_values_are_on_or_off_and_the_hint_names_both_hosts_and_the_plan():
    item = mismatches(case_named("mptcp on the client only"))[0]
    assert (item["client"], item["server"], item["plan"]) == ("on", "off", "on")
    assert item["hint"].startswith("the watchdog on paris1 (client) runs bond paris with mptcp, the one on hq1 "
                                   "(server) without (the plan has mptcp on): re-run site.yml on both hosts")


def test_without_a_plan_the_mptcp_hint_names_the_sides():
    item = mismatches(case_named("mptcp on the server only, without a plan"))[0]
    assert (item["client"], item["server"], item["plan"]) == ("off", "on", None)
    assert item["hint"].startswith("the watchdog on the server runs bond paris with mptcp, the one on the client "
                                   "without: ")


def test_both_ends_against_the_plan_say_so():
    item = mismatches(case_named("both ends without mptcp the plan has"))[0]
    assert (item["client"], item["server"], item["plan"]) == ("off", "off", "on")
    assert item["hint"].startswith("both watchdogs run bond paris with mptcp off, the plan has it on: ")


def test_a_relay_mismatch_names_the_unit_its_state_and_where_to_look():
    item = mismatches(case_named("a failed relay on the client"))[0]
    assert (item["client"], item["server"]) == ("%s failed" % RELAY, "active")
    assert item["hint"].startswith("%s is failed on paris1 (client), so the TCP that bond paris relays there fails: "
                                   "see journalctl -u %s there, then re-run site.yml" % (RELAY, RELAY))
    assert item["hint"].endswith("systemctl restart %s there once the cause is fixed" % RELAY)


def test_both_units_of_an_end_are_named_in_one_hint():
    item = mismatches(case_named("both relay units down on the server are one mismatch"))[0]
    assert item["server"] == "%s inactive, %s activating" % (RELAY, SOCKS)
    assert "%s is inactive and %s is activating on hq1 (server)" % (RELAY, SOCKS) in item["hint"]
    assert "journalctl -u %s -u %s there" % (RELAY, SOCKS) in item["hint"]


def test_relay_states_systemd_could_not_tell_are_shown_as_unknown():
    item = mismatches(case_named("a relay down facing relays of unknown state"))[0]
    assert item["server"] == "%s unknown, %s unknown" % (RELAY, SOCKS)


def test_one_mismatch_per_end_each_hint_naming_its_own_host():
    client_side, server_side = mismatches(case_named("a relay down on each end is one mismatch per end"))
    assert "%s is failed on paris1 (client)" % SOCKS in client_side["hint"]
    assert "%s is failed on hq1 (server)" % RELAY in server_side["hint"]


def test_bond_level_mismatches_are_listed_in_the_summary_and_tunnels_stay_ok():
    rows, found = parity.compare("paris", *apply(case_named("a failed relay on the client")))
    assert all(row["ok"] for row in rows)
    assert parity.summary_lines(rows, found)[-1] == \
        "paris bond-level MISMATCH mptcp_relay: client=%s failed server=active" % RELAY


def test_tunnel_parity_fails_naming_the_relay(capsys):
    client, server, plan = apply(case_named("a failed relay on the client"))
    with patch_module_args({"bond": "paris", "client_facts": client, "server_facts": server, "plan": plan}):
        with pytest.raises(SystemExit) as exit_info:
            tunnel_parity.main()
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    assert "bond paris field mptcp_relay: client=%s failed, server=active (" % RELAY in result["msg"]
