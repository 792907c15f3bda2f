"""A host after a bond was removed from it: no trace of the bond is left.

Runs for every (host, bond) under "absent" in the expectation file (see conftest.py); an
absent entry is a planned bond (bonded.openvpn.bond_plan), for its name, id and bundles.
"""
from conftest import json_of
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from test_bond import CONFIG_DIR, bond_tables, enabled_units, routed_tables, running_units, tunnel_indexes


def test_no_instance_config_unit_or_interface_is_left(host, gone_bond):
    name = gone_bond["name"]
    assert tunnel_indexes(name, host.check_output("ls %s/instances", CONFIG_DIR).split()) == []
    assert tunnel_indexes(name, running_units(host)) == []
    assert tunnel_indexes(name, enabled_units(host)) == []
    assert tunnel_indexes(name, [link["ifname"] for link in json_of(host, "ip -j link show")]) == []


def test_bond_directory_is_gone(host, gone_bond):
    assert not host.file("%s/bonds/%s" % (CONFIG_DIR, gone_bond["name"])).exists


def test_watchdog_is_stopped(host, gone_bond):
    assert not host.service(layout.WATCHDOG_UNIT % gone_bond["name"]).is_running


def test_no_runtime_or_metrics_file_of_the_bond_is_left(host, gone_bond):
    # The watchdog's live set, snapshot, metrics and lock (the role's default directories).
    name = gone_bond["name"]
    left = [path for directory in (layout.BALANCE_RUN_DIR, layout.METRICS_DIR)
            for path in host.run("ls -A %s", directory).stdout.split()
            if path.startswith(name + ".") or path == "bonded_openvpn_%s.prom" % name]
    assert left == []


def test_nft_table_is_gone(host, gone_bond):
    assert host.run("nft list table ip %s%s", layout.NFT_TABLE_PREFIX, gone_bond["name"]).rc != 0


def test_no_rule_or_route_of_the_bond_is_left(host, gone_bond):
    tables = bond_tables(gone_bond["id"])
    assert [rule for rule in json_of(host, "ip -j rule show") if rule.get("table", "").isdigit()
            and int(rule["table"]) in tables] == []
    assert routed_tables(host, tables) == []


def test_bundle_addresses_are_off_lo(host, gone_bond):
    lo = json_of(host, "ip -j addr show dev lo")[0]
    kept = [address["local"] for address in lo["addr_info"]]
    assert [bundle for bundle in (gone_bond["client_bundle"], gone_bond["server_bundle"]) if bundle in kept] == []


def test_a_host_left_with_no_bond_keeps_no_identity(bare_host):
    assert bare_host.check_output("ls -A %s/identity", CONFIG_DIR) == ""
