"""DCO detection on recorded outputs (dco_outputs/: `openvpn --version` of Debian 13's 2.6.14
and trixie-backports' 2.7.8, recorded in the lab) and on sysfs trees built in tmp_path, so the
"available" path is proved without a kernel that has ovpn or ovpn_dco_v2."""
import os

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._host import dco
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import instance_config
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import management
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.config import parse_directives
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

OUTPUTS = os.path.join(os.path.dirname(__file__), "dco_outputs")


def recorded(name):
    with open(os.path.join(OUTPUTS, name)) as handle:
        return handle.read()


V26 = recorded("openvpn-2.6.14-trixie.txt")
V27 = recorded("openvpn-2.7.8-trixie-backports.txt")
# Constructed, not recorded: a build without DCO, as OpenVPN prints it (no "[DCO]" flag and
# no "DCO version" line), and a 2.5 that predates DCO.
V26_NO_DCO = V26.replace(" [DCO]", "").replace("DCO version: N/A\n", "")
V25 = "OpenVPN 2.5.1 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11] [MH/PKTINFO] [AEAD]\n"


def test_recorded_versions_parse():
    assert dco.parse_version(V26) == {"version": "2.6.14", "release": (2, 6), "built_with_dco": True,
                                      "dco_version": "N/A"}
    assert dco.parse_version(V27)["release"] == (2, 7)
    assert dco.parse_version(V27)["built_with_dco"] is True
    assert dco.parse_version(V26_NO_DCO)["built_with_dco"] is False
    assert dco.parse_version("")["version"] is None


@pytest.mark.parametrize("text, modules, module", [
    (V26, ["ovpn_dco_v2"], "ovpn_dco_v2"),
    (V27, ["ovpn"], "ovpn"),
    (V27, ["ovpn", "ovpn_dco_v2"], "ovpn"),
])
def test_available_when_the_module_matches_the_version(text, modules, module):
    support = dco.host_support(dco.parse_version(text), modules)
    assert (support["possible"], support["module"], support["reason"]) == (True, module, None)


@pytest.mark.parametrize("text, modules, words", [
    (V26, [], ["no DCO module", "OpenVPN 2.6.14 needs ovpn_dco_v2", "bonded_openvpn_kernel_dco_dkms"]),
    (V27, [], ["no DCO module", "OpenVPN 2.7.8 needs ovpn ", "Linux 6.16"]),
    (V26, ["ovpn"], ["OpenVPN 2.6.14 needs the ovpn_dco_v2 module, but the kernel has ovpn"]),
    (V27, ["ovpn_dco_v2"], ["OpenVPN 2.7.8 needs the ovpn module, but the kernel has ovpn_dco_v2"]),
    (V26_NO_DCO, ["ovpn_dco_v2"], ["built without DCO"]),
    (V25, ["ovpn_dco_v2"], ["2.5.1 has no data channel offload"]),
    ("", ["ovpn"], ["not installed"]),
])
def test_unavailable_says_why(text, modules, words):
    support = dco.host_support(dco.parse_version(text), modules, None)
    assert support["possible"] is False
    for word in words:
        assert word in support["reason"]


def test_unavailable_names_a_host_that_cannot_load_modules():
    support = dco.host_support(dco.parse_version(V26), [], "/proc/modules is absent")
    assert "modules cannot be loaded on this host (/proc/modules is absent)" in support["reason"]


def sysfs(tmp_path, name, tun, devtype=None):
    base = tmp_path / name
    base.mkdir()
    if tun:
        (base / "tun_flags").write_text("0x1001\n")
    (base / "uevent").write_text("INTERFACE=%s\nIFINDEX=7\n%s" % (name, "DEVTYPE=%s\n" % devtype if devtype else ""))
    return str(tmp_path)


def test_interface_kind_tells_tun_from_dco_devices(tmp_path):
    sysfs(tmp_path, "bo-lab-0", tun=True)
    sysfs(tmp_path, "bo-lab-1", tun=False, devtype="ovpn")
    sysfs(tmp_path, "bo-lab-2", tun=False)
    assert dco.interface_kind("bo-lab-0", str(tmp_path)) == "tun"
    assert dco.interface_kind("bo-lab-1", str(tmp_path)) == "ovpn"
    assert dco.interface_kind("bo-lab-2", str(tmp_path)) == "ovpn"
    assert dco.interface_kind("bo-lab-3", str(tmp_path)) is None


def test_kernel_dco_modules_reads_sys_module(tmp_path):
    assert dco.kernel_dco_modules(str(tmp_path), ask_netlink=False) == []
    (tmp_path / "ovpn_dco_v2").mkdir()
    assert dco.kernel_dco_modules(str(tmp_path), ask_netlink=False) == ["ovpn_dco_v2"]
    (tmp_path / "ovpn").mkdir()
    assert dco.kernel_dco_modules(str(tmp_path), ask_netlink=False) == ["ovpn", "ovpn_dco_v2"]


def rendered_config(**bond):
    bonds = [dict({"name": "lab", "id": 1, "server": "s", "client": "c", "tunnels": 2, "port": 1194}, **bond)]
    side = host_sides(build_plan(bonds, None, {"s": "server.example", "c": "c"}), "s")[0]
    settings = dict(config_dir="/etc/openvpn/bonded", runtime_dir="/run/bonded-openvpn", user="u", group="g",
                    ciphers=["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"], keepalive=[2, 10],
                    socket_buffer=4194304, verb=3, managed="managed", peer_fingerprint="AA:BB",
                    identity_digest="i" * 64, tls_crypt_digest="t" * 64)
    return parse_directives(instance_config.render(side, side["tunnels"][0], settings))


def test_the_configs_the_collection_writes_keep_dco_on():
    assert dco.disabling_options(rendered_config()) == []
    assert dco.disabling_options(rendered_config(proto="tcp")) == []


def test_shaper_turns_dco_off_and_the_reason_offers_tc():
    reasons = dco.disabling_options(rendered_config(shaper=5000000))
    assert len(reasons) == 1
    assert "shaper" in reasons[0] and "tc" in reasons[0]


def test_the_reason_for_shaper_names_egress_rate_as_the_way_out():
    assert "'egress_rate'" in dco.disabling_options(rendered_config(shaper=5000000))[0]


def test_egress_rate_shapes_outside_openvpn_and_keeps_dco_on():
    config = rendered_config(egress_rate=40000000)
    assert dco.disabling_options(config) == []
    assert "shaper" not in config


@pytest.mark.parametrize("config, word", [
    ("compress lz4-v2\n", "compress"),
    ("comp-lzo\n", "comp-lzo"),
    ("fragment 1400\n", "fragment"),
    ("secret static.key\n", "secret"),
    ("disable-dco\n", "disable-dco"),
    ("dev tap0\n", "tap device"),
    ("dev bo-x-0\ndev-type tap\n", "tap device"),
    ("data-ciphers AES-256-GCM:BF-CBC\n", "BF-CBC"),
])
def test_options_that_turn_dco_off_are_named(config, word):
    reasons = dco.disabling_options(parse_directives(config))
    assert len(reasons) == 1 and word in reasons[0]


def test_tunnel_status_active_on_a_dco_device():
    host = dco.host_support(dco.parse_version(V27), ["ovpn"])
    assert dco.tunnel_status(host, rendered_config(), "ovpn") == {"active": True, "interface_kind": "ovpn", "reason": None}


def test_tunnel_status_on_tun_gives_the_host_reason_and_the_config_reason():
    host = dco.host_support(dco.parse_version(V26), [], "/proc/modules is absent")
    status = dco.tunnel_status(host, rendered_config(shaper=5000000), "tun")
    assert status["active"] is False and status["interface_kind"] == "tun"
    assert "no DCO module" in status["reason"] and "shaper" in status["reason"]


def test_tunnel_status_on_tun_where_dco_was_possible_points_at_the_log():
    host = dco.host_support(dco.parse_version(V26), ["ovpn_dco_v2"])
    status = dco.tunnel_status(host, rendered_config(), "tun")
    assert status["active"] is False and "journalctl" in status["reason"]


def test_tunnel_status_without_interface_is_unknown():
    host = dco.host_support(dco.parse_version(V26), [])
    assert dco.tunnel_status(host, None, None)["active"] is None


@pytest.mark.parametrize("name, local_ip, remote_ip", [
    ("management-2.6.14-state-version.txt", "10.255.1.2", "172.31.80.12"),
    ("management-2.7.8-state-version.txt", "10.255.2.2", "172.31.80.22"),
])
def test_recorded_management_state_of_2_6_and_2_7_parses_alike(name, local_ip, remote_ip):
    """Recorded in the lab (state, then version): 2.7 says Management Version 6, 2.6 says 5,
    and the state line has the same fields."""
    # Stored with LF (ansible-test line-endings); the socket itself sends CRLF.
    state = management.parse_state("/run/x.sock", recorded(name).replace("\n", "\r\n"))
    assert (state["state"], state["connected"], state["local_ip"], state["remote_ip"], state["remote_port"],
            state["error"]) == ("CONNECTED", True, local_ip, remote_ip, 1194, None)
