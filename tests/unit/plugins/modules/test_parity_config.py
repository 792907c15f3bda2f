# -*- coding: utf-8 -*-
"""Reading instance configs back: what tunnel_facts sees in what the tunnels role writes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import instance_config
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import config as openvpn_config
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

# The server example of docs/layout.md, annotations included.
LAYOUT_SERVER = """# Ansible managed
dev bo-paris-0
dev-type tun
proto udp                 # tcp-server for proto tcp
port 1194
tls-server
ifconfig 10.255.1.1 10.255.1.2
cert /etc/openvpn/bonded/identity/host.crt
key /etc/openvpn/bonded/identity/host.key
peer-fingerprint ab:cd:ef  # SHA-256 of the peer's certificate
dh none
tls-crypt /etc/openvpn/bonded/bonds/paris/tls-crypt.key
data-ciphers AES-256-GCM:aes-128-gcm:CHACHA20-POLY1305
keepalive 2 10
persist-tun
management /run/bonded-openvpn/paris-0/management.sock unix
status /run/bonded-openvpn/paris-0/status 1
status-version 2
"""

CLIENT = """; a hand-written client
proto tcp-client
remote 203.0.113.10 1197
nobind
tls-client
dev bo-paris-3
ifconfig 10.255.1.14 10.255.1.13
<peer-fingerprint>
AA:BB
cc:dd
</peer-fingerprint>
<tls-crypt>
-----BEGIN OpenVPN tls-crypt key-----
00112233
-----END OpenVPN tls-crypt key-----
</tls-crypt>
management 127.0.0.1 7505
"""


def test_server_config_of_the_layout():
    facts = openvpn_config.instance_facts(LAYOUT_SERVER)
    assert facts == {
        "role": "server", "port": 1194, "remote": None, "local": None, "proto": "udp", "proto_directive": "udp",
        "family": "ipv4", "local_address6": None, "peer_address6": None,
        "dev": "bo-paris-0", "local_address": "10.255.1.1", "peer_address": "10.255.1.2",
        "peer_fingerprints": ["AB:CD:EF"], "data_ciphers": "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305",
        "tls_crypt": "/etc/openvpn/bonded/bonds/paris/tls-crypt.key",
        "cert": "/etc/openvpn/bonded/identity/host.crt",
        "management": "/run/bonded-openvpn/paris-0/management.sock",
        "status": "/run/bonded-openvpn/paris-0/status",
    }


def test_client_port_comes_from_remote_and_tcp_client_is_tcp():
    facts = openvpn_config.instance_facts(CLIENT)
    assert (facts["role"], facts["port"], facts["remote"]) == ("client", 1197, "203.0.113.10")
    assert (facts["proto"], facts["proto_directive"]) == ("tcp", "tcp-client")


@pytest.mark.parametrize("text, family", [
    ("tls-server\nproto udp\n", "ipv4"),            # binds IPv4 only
    ("tls-server\nproto udp6\n", "ipv6"),           # dual stack
    ("tls-server\nproto tcp6-server\n", "ipv6"),
    ("tls-client\nproto udp\nremote 2001:db8::1 1194\n", "ipv6"),
    ("tls-client\nproto tcp4-client\nremote vpn.example 1194\n", "ipv4"),
    ("tls-client\nproto udp\nremote vpn.example 1194\n", None),   # either, by the resolver
])
def test_the_family_each_end_uses_on_the_underlay(text, family):
    assert openvpn_config.instance_facts(text)["family"] == family


def test_inline_peer_fingerprint_block_lists_every_pin_upper_case():
    assert openvpn_config.instance_facts(CLIENT)["peer_fingerprints"] == ["AA:BB", "CC:DD"]


def test_inline_blocks_do_not_leak_directives():
    directives = openvpn_config.parse_directives(CLIENT)
    assert "-----BEGIN" not in directives and "00112233" not in directives
    assert directives["tls-crypt"] == [["-----BEGIN OpenVPN tls-crypt key-----", "00112233",
                                        "-----END OpenVPN tls-crypt key-----"]]


def test_management_over_tcp_is_not_a_socket_path():
    assert openvpn_config.instance_facts(CLIENT)["management"] is None


def test_defaults_when_port_and_proto_are_absent():
    facts = openvpn_config.instance_facts("tls-server\ndev bo-x-0\n")
    assert (facts["port"], facts["proto"], facts["proto_directive"]) == (1194, "udp", None)


def test_quoted_arguments_and_leading_dashes():
    directives = openvpn_config.parse_directives('--status "/run/a b/status" 1\n')
    assert directives["status"] == [["/run/a b/status", "1"]]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "; another\n\n"])
def test_configs_without_directives_have_no_role(text):
    facts = openvpn_config.instance_facts(text)
    assert facts["role"] is None and facts["peer_fingerprints"] == []


@pytest.mark.parametrize("name, expected", [
    ("paris-0", ("paris", 0)), ("p2-31", ("p2", 31)), ("paris", None), ("Paris-1", None), ("paris-x", None),
    ("paris-1-2", None),
])
def test_split_instance(name, expected):
    assert openvpn_config.split_instance(name) == expected


def test_tls_crypt_body_ignores_comments_whitespace_and_case():
    one = "#\n# 2048 bit key\n#\n-----BEGIN OpenVPN Static key V1-----\nABCD\n0123\n-----END OpenVPN Static key V1-----\n"
    two = "-----BEGIN OpenVPN Static key V1-----\r\nabcd\r\n0123\r\n-----END OpenVPN Static key V1-----\r\n"
    assert openvpn_config.tls_crypt_body(one) == openvpn_config.tls_crypt_body(two) == "abcd0123"


@pytest.mark.parametrize("role, proto", [("server", "udp"), ("client", "udp"), ("server", "tcp"), ("client", "tcp")])
def test_reads_back_what_the_tunnels_role_renders(role, proto):
    bond = {"name": "paris", "id": 1, "server": "hq1", "client": "paris1", "tunnels": 2, "port": 1194,
            "proto": proto, "remote": "203.0.113.10"}
    side = list(host_sides(build_plan([bond], "10.255.0.0/16", {"hq1": "x", "paris1": "y"}),
                           "hq1" if role == "server" else "paris1"))[0]
    tunnel = side["tunnels"][1]
    settings = {"config_dir": "/etc/openvpn/bonded", "runtime_dir": "/run/bonded-openvpn",
                "user": "bonded-openvpn", "group": "bonded-openvpn",
                "ciphers": ["AES-256-GCM", "CHACHA20-POLY1305"], "keepalive": [2, 10], "socket_buffer": 4194304,
                "verb": 3, "managed": "Ansible managed", "peer_fingerprint": "AB:CD",
                "identity_digest": "0" * 64, "tls_crypt_digest": "1" * 64}
    facts = openvpn_config.instance_facts(instance_config.render(side, tunnel, settings))
    assert facts["role"] == role
    assert facts["port"] == tunnel["port"] == 1195
    assert facts["proto"] == proto
    assert facts["remote"] == ("203.0.113.10" if role == "client" else None)
    assert facts["dev"] == tunnel["interface"]
    assert (facts["local_address"], facts["peer_address"]) == (tunnel["local_address"], tunnel["peer_address"])
    assert facts["peer_fingerprints"] == ["AB:CD"]
    assert facts["data_ciphers"] == "AES-256-GCM:CHACHA20-POLY1305"
    assert facts["management"] == "/run/bonded-openvpn/paris-1/management.sock"
    assert facts["tls_crypt"] == "/etc/openvpn/bonded/bonds/paris/tls-crypt.key"
