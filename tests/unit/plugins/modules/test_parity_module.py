# -*- coding: utf-8 -*-
"""tunnel_parity as Ansible runs it: arguments in, result or failure out."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.modules import tunnel_parity
from test_parity_compare import apply_case


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            tunnel_parity.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def arguments(case, **extra):
    client, server, plan = apply_case(case)
    args = {"bond": "paris", "client_facts": client, "server_facts": server, "plan": plan}
    args.update(extra)
    return args


def test_healthy_bond_passes_with_a_table(capsys):
    code, result = run_module(arguments({}), capsys)
    assert code == 0
    assert (result["changed"], result["ok"], result["bond"], result["mismatches"]) == (False, True, "paris", [])
    assert [row["tunnel"] for row in result["table"]] == [0, 1, 2]
    assert len(result["summary"]) == 3


def test_mismatch_fails_naming_bond_tunnel_field_and_values(capsys):
    code, result = run_module(arguments({"set": {"server.bonds.paris.tunnels.1.config.port": 1999}}), capsys)
    assert code == 1 and result["failed"] is True
    assert "bond paris: 1 mismatch:" in result["msg"]
    assert "bond paris tunnel 1 field port: client=1195, server=1999, plan=1195" in result["msg"]
    assert result["mismatches"][0]["field"] == "port"


def test_mismatch_is_only_reported_when_asked_not_to_fail(capsys):
    code, result = run_module(arguments({"set": {"server.bonds.paris.balance.live": [0]}},
                                        fail_on_mismatch=False), capsys)
    assert code == 0 and result["ok"] is False
    assert result["messages"] == [
        "bond paris field balance_live: client=[0,1,2], server=[0] (the balancers spread over different tunnels: "
        "check the tunnels missing from one set and the balance watchdog's log on both hosts)"]


def test_empty_facts_mean_the_host_was_not_read(capsys):
    code, result = run_module(arguments({"set": {"server": {}}}, fail_on_mismatch=False), capsys)
    assert [(m["tunnel"], m["field"], m["server"]) for m in result["mismatches"]] == [(None, "facts", "missing")]


def test_works_without_a_plan(capsys):
    args = arguments({})
    del args["plan"]
    code, result = run_module(args, capsys)
    assert code == 0 and result["ok"] is True


def test_a_bond_whose_only_mismatch_is_the_live_sets_is_settling(capsys):
    code, result = run_module(arguments({"set": {"server.bonds.paris.balance.live": [0]}},
                                        fail_on_mismatch=False), capsys)
    assert (code, result["ok"], result["settling"]) == (0, False, True)


def test_a_live_set_mismatch_beside_any_other_is_not_settling(capsys):
    code, result = run_module(arguments({"set": {"server.bonds.paris.balance.live": [0],
                                                 "server.bonds.paris.tunnels.1.config.port": 1999}},
                                        fail_on_mismatch=False), capsys)
    assert (result["ok"], result["settling"]) == (False, False)
    assert sorted(m["field"] for m in result["mismatches"]) == ["balance_live", "port"]


def test_a_whole_bond_is_not_settling(capsys):
    code, result = run_module(arguments({}), capsys)
    assert (result["ok"], result["settling"]) == (True, False)
