# -*- coding: utf-8 -*-
"""tunnel_facts against a fake host: a config tree in tmp_path, canned or absent tools."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.pem import certificate_fingerprint
from ansible_collections.bonded.openvpn.plugins.modules import tunnel_facts
from test_parity_compare import host_facts, plan_bond, tunnel_entry

SERVER_CONFIG = """# Ansible managed
dev bo-paris-{k}
proto udp
port {port}
tls-server
ifconfig 10.255.1.{s} 10.255.1.{c}
cert {root}/identity/host.crt
peer-fingerprint aa:bb
tls-crypt {root}/bonds/paris/tls-crypt.key
data-ciphers AES-256-GCM
management {run}/paris-{k}/management.sock unix
"""

SYSTEMCTL_SHOW = """MainPID=96
Id=bonded-openvpn@paris-0.service
LoadState=loaded
ActiveState=active
SubState=running

MainPID=0
Id=bonded-openvpn@paris-1.service
LoadState=loaded
ActiveState=failed
SubState=failed

MainPID=120
Id=bonded-openvpn@paris-5.service
LoadState=loaded
ActiveState=active
SubState=running

MainPID=0
Id=bonded-openvpn@lyon-0.service
LoadState=loaded
ActiveState=inactive
SubState=dead
"""

IP_ADDR = json.dumps([
    {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "addr_info": []},
    {"ifindex": 7, "ifname": "bo-paris-0", "flags": ["POINTOPOINT", "UP", "LOWER_UP"], "operstate": "UNKNOWN",
     "addr_info": [{"family": "inet", "local": "10.255.1.1", "address": "10.255.1.2", "prefixlen": 32},
                   {"family": "inet6", "local": "fe80::1", "prefixlen": 64}],
     "stats64": {"rx": {"bytes": 480, "packets": 10}, "tx": {"bytes": 528, "packets": 11}}},
    {"ifindex": 9, "ifname": "bo-rome-2", "flags": ["POINTOPOINT", "UP"], "addr_info": [],
     "stats64": {"rx": {"bytes": 0, "packets": 0}, "tx": {"bytes": 0, "packets": 0}}},
])


class FakeModule(object):
    """Just what tunnel_facts uses of AnsibleModule; tools answer from a dict."""

    def __init__(self, params, tools):
        self.params = dict({"bonds": None, "probe": False, "timeout": 0.3}, **params)
        self.tools, self.calls = tools, []

    def get_bin_path(self, name):
        return "/usr/bin/%s" % name if name in self.tools else None

    def run_command(self, args, environ_update=None):
        self.calls.append(args)
        return self.tools[args[0].rsplit("/", 1)[-1]]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A host certificate made with the openssl CLI, and the fingerprint openssl prints."""
    directory = tmp_path_factory.mktemp("identity")
    subprocess.check_call(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-days", "1", "-subj", "/CN=hq1", "-keyout", str(directory / "host.key"),
                           "-out", str(directory / "host.crt")], stderr=subprocess.DEVNULL)
    out = subprocess.check_output(["openssl", "x509", "-in", str(directory / "host.crt"), "-noout",
                                   "-fingerprint", "-sha256"]).decode()
    return (directory / "host.crt").read_text(), out.strip().split("=", 1)[1]


@pytest.fixture
def host(tmp_path, certificate):
    root, run = tmp_path / "etc", tmp_path / "run"
    for directory in ("instances", "identity", "bonds/paris"):
        (root / directory).mkdir(parents=True)
    (run / "balance").mkdir(parents=True)
    for k in range(2):
        (root / "instances" / ("paris-%d.conf" % k)).write_text(SERVER_CONFIG.format(
            k=k, port=1194 + k, s=4 * k + 1, c=4 * k + 2, root=root, run=run))
    (root / "instances" / "notes.txt").write_text("not a config")
    (root / "identity" / "host.crt").write_text(certificate[0])
    (root / "bonds" / "paris" / "tls-crypt.key").write_text(
        "-----BEGIN OpenVPN Static key V1-----\nabcd\n-----END OpenVPN Static key V1-----\n")
    (run / "balance" / "paris.live").write_text("1\n0\n")
    return {"config_dir": str(root), "runtime_dir": str(run)}


def gather(host, tools=None, **params):
    module = FakeModule(dict(host, **params), tools or {})
    return tunnel_facts.gather(module), module


def test_fingerprint_matches_openssl(certificate):
    assert certificate_fingerprint(certificate[0]) == certificate[1]


def test_host_fingerprint_is_the_openssl_fingerprint_of_host_crt(host, certificate):
    facts, _module = gather(host)
    assert facts["host_fingerprint"] == certificate[1]
    assert facts["bonds"]["paris"]["host_fingerprint"] == certificate[1]
    assert facts["bonds"]["paris"]["tunnels"][0]["config"]["cert_fingerprint"] == certificate[1]


def test_missing_tools_leave_states_null_and_say_why(host):
    facts, _module = gather(host)
    assert facts["problems"] == ["systemctl not found: unit states unknown", "ip not found: interface states unknown"]
    bond = facts["bonds"]["paris"]
    assert (bond["role"], bond["count"], [t["index"] for t in bond["tunnels"]]) == ("server", 2, [0, 1])
    tunnel = bond["tunnels"][0]
    assert tunnel["unit"]["active"] is None and tunnel["interface"]["up"] is None
    assert tunnel["management"]["connected"] is None and "no management socket" in tunnel["management"]["error"]


def test_config_fields(host):
    config = gather(host)[0]["bonds"]["paris"]["tunnels"][1]["config"]
    assert (config["present"], config["port"], config["local_address"], config["peer_address"]) == \
        (True, 1195, "10.255.1.5", "10.255.1.6")
    assert config["peer_fingerprints"] == ["AA:BB"]
    assert len(config["tls_crypt_sha256"]) == 64
    assert config["management"].endswith("/run/paris-1/management.sock")


def test_live_set_is_read_sorted_and_missing_is_unknown(host, tmp_path):
    assert gather(host)[0]["bonds"]["paris"]["balance"]["live"] == [0, 1]
    (tmp_path / "run" / "balance" / "paris.live").unlink()
    assert gather(host)[0]["bonds"]["paris"]["balance"]["live"] is None


def test_the_watchdog_s_metrics_are_read_and_missing_or_broken_is_null(host, tmp_path):
    path = tmp_path / "run" / "balance" / "paris.metrics.json"
    assert gather(host)[0]["bonds"]["paris"]["metrics"] is None
    path.write_text('{"bond": "paris", "balance": "flowlet", "tunnels": [{"index": 0, "loss_ratio": 0.01}]}\n')
    assert gather(host)[0]["bonds"]["paris"]["metrics"]["tunnels"][0]["loss_ratio"] == 0.01
    path.write_text('{"bond": ')
    assert gather(host)[0]["bonds"]["paris"]["metrics"] is None


def test_one_systemctl_and_one_ip_call_whatever_the_count(host):
    facts, module = gather(host, {"systemctl": (0, SYSTEMCTL_SHOW, ""), "ip": (0, IP_ADDR, "")})
    assert [call[0] for call in module.calls] == ["/usr/bin/systemctl", "/usr/bin/ip"]
    show = module.calls[0]
    assert show[1:5] == ["show", "--no-pager", "-p", "Id,LoadState,ActiveState,SubState,MainPID"]
    assert show[5:] == ["bonded-openvpn@paris-0.service", "bonded-openvpn@paris-1.service", "bonded-openvpn@*.service",
                        "bonded-openvpn-relay@*.service", "bonded-openvpn-socks@*.service"]
    assert module.calls[1][1:] == ["-j", "-s", "addr", "show"]
    assert facts["problems"] == []


def test_unit_and_interface_states(host):
    bond = gather(host, {"systemctl": (0, SYSTEMCTL_SHOW, ""), "ip": (0, IP_ADDR, "")})[0]["bonds"]["paris"]
    first, second = bond["tunnels"][0], bond["tunnels"][1]
    assert first["unit"] == {"name": "bonded-openvpn@paris-0.service", "load_state": "loaded",
                             "active_state": "active", "sub_state": "running", "main_pid": 96, "active": True}
    assert (second["unit"]["active_state"], second["unit"]["main_pid"], second["unit"]["active"]) == \
        ("failed", None, False)
    assert first["interface"]["up"] is True and first["interface"]["ifindex"] == 7
    assert first["interface"]["addresses"] == [{"local": "10.255.1.1", "peer": "10.255.1.2", "prefixlen": 32}]
    assert (first["interface"]["rx_packets"], first["interface"]["tx_bytes"]) == (10, 528)
    assert (second["interface"]["present"], second["interface"]["up"]) == (False, False)


def test_running_leftovers_without_config_are_tunnels_with_absent_config(host):
    facts = gather(host, {"systemctl": (0, SYSTEMCTL_SHOW, ""), "ip": (0, IP_ADDR, "")})[0]
    paris = facts["bonds"]["paris"]
    assert [t["index"] for t in paris["tunnels"]] == [0, 1, 5]
    assert paris["count"] == 2 and paris["tunnels"][2]["config"]["present"] is False
    # An inactive leftover unit is harmless and ignored; a leftover interface is not.
    assert "lyon" not in facts["bonds"]
    assert facts["bonds"]["rome"]["role"] is None and facts["bonds"]["rome"]["tunnels"][0]["index"] == 2


def test_named_bonds_limit_the_report_and_absent_ones_are_empty(host):
    facts, module = gather(host, {"systemctl": (0, SYSTEMCTL_SHOW, ""), "ip": (0, IP_ADDR, "")},
                           bonds=["paris", "lyon"])
    assert sorted(facts["bonds"]) == ["lyon", "paris"]
    assert (facts["bonds"]["lyon"]["count"], facts["bonds"]["lyon"]["tunnels"]) == (0, [])
    assert module.calls[0][-6:] == ["bonded-openvpn@lyon-*.service", "bonded-openvpn@paris-*.service",
                                    "bonded-openvpn-relay@lyon.service", "bonded-openvpn-socks@lyon.service",
                                    "bonded-openvpn-relay@paris.service", "bonded-openvpn-socks@paris.service"]


def test_failing_tools_are_problems_not_failures(host):
    facts = gather(host, {"systemctl": (1, "", "System has not been booted with systemd"),
                          "ip": (0, "not json", "")})[0]
    assert facts["problems"][0].startswith("systemctl show failed (rc=1: System has not been booted")
    assert facts["problems"][1].startswith("ip -j -s addr show gave unreadable JSON")


def test_unreadable_config_is_reported_on_its_tunnel(host, tmp_path):
    path = tmp_path / "etc" / "instances" / "paris-1.conf"
    path.unlink()
    path.mkdir()  # reading a directory fails like an unreadable file
    config = gather(host)[0]["bonds"]["paris"]["tunnels"][1]["config"]
    assert config["present"] is True and config["error"] and config["port"] is None


def test_shape_matches_what_parity_is_tested_with(host):
    """The fixtures of test_parity_compare must look exactly like real tunnel_facts output."""
    bond = gather(host, {"systemctl": (0, SYSTEMCTL_SHOW, ""), "ip": (0, IP_ADDR, "")})[0]["bonds"]["paris"]
    assert set(bond) == set(host_facts("server", 1)["bonds"]["paris"])
    tunnel = bond["tunnels"][0]
    fixture = tunnel_entry("server", plan_bond(1)["tunnel_list"][0])
    assert set(tunnel) == set(fixture)
    for part in ("config", "unit", "interface", "management"):
        assert set(tunnel[part]) == set(fixture[part]), part


def test_main_returns_facts_and_never_changes_in_check_mode(host, capsys):
    with patch_module_args(dict(host, _ansible_check_mode=True, bonds=["paris"])):
        with pytest.raises(SystemExit) as exit_info:
            tunnel_facts.main()
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 0
    assert result["changed"] is False
    assert result["ansible_facts"]["bonded_openvpn_tunnel_facts"]["bonds"]["paris"]["count"] == 2
