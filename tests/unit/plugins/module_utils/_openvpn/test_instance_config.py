from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import instance_config
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

BONDS = [{"name": "lab", "id": 1, "server": "s", "client": "c", "tunnels": 2, "port": 1194, "shaper": 5000000}]
SETTINGS = dict(config_dir="/etc/openvpn/bonded", runtime_dir="/run/bonded-openvpn", user="u", group="g",
                ciphers=["AES-256-GCM"], keepalive=[2, 10], socket_buffer=4194304, verb=3, managed="managed",
                peer_fingerprint="AA:BB", identity_digest="i" * 64, tls_crypt_digest="t" * 64)


def directives(text):
    return [(line.split(" ", 1) + [""])[:2] for line in text.splitlines() if not line.startswith("#")]


def side(host, proto="udp", server_address="server.example", **fields):
    bonds = [dict(BONDS[0], proto=proto, **fields)]
    return host_sides(build_plan(bonds, None, {"s": server_address, "c": "c"}), host)[0]


def protos(**kwargs):
    """(server's proto, client's proto, client's remote) of tunnel 0."""
    server, client = [dict(directives(instance_config.render(s, s["tunnels"][0], SETTINGS)))
                      for s in (side("s", **kwargs), side("c", **kwargs))]
    return server["proto"], client["proto"], client["remote"]


def test_server_listens_on_its_port_and_client_dials_it():
    server = dict(directives(instance_config.render(side("s"), side("s")["tunnels"][1], SETTINGS)))
    client = dict(directives(instance_config.render(side("c"), side("c")["tunnels"][1], SETTINGS)))
    assert (server["port"], server["proto"]) == ("1195", "udp")
    assert "tls-server" in server and "remote" not in server
    assert client["remote"] == "server.example 1195"
    assert "tls-client" in client and "nobind" in client and "port" not in client


def test_an_ipv4_address_dialed_keeps_the_directives_written_before_ipv6():
    assert protos(server_address="192.0.2.1") == ("udp", "udp", "192.0.2.1 1194")
    assert protos(proto="tcp", server_address="192.0.2.1") == ("tcp-server", "tcp-client", "192.0.2.1 1194")


def test_a_host_name_is_dialed_in_the_bonds_family_only():
    assert protos() == ("udp", "udp4", "server.example 1194")
    assert protos(proto="tcp") == ("tcp-server", "tcp4-client", "server.example 1194")
    assert protos(underlay_family="ipv6") == ("udp6", "udp6", "server.example 1194")
    assert protos(proto="tcp", underlay_family="ipv6") == ("tcp6-server", "tcp6-client", "server.example 1194")


def test_an_ipv6_address_dialed_makes_the_server_listen_dual_stack():
    # udp6 and tcp6-server bind [::], which takes IPv4 too (as mapped addresses).
    assert protos(server_address="2001:DB8:0::0001") == ("udp6", "udp6", "2001:db8::1 1194")
    assert protos(proto="tcp", remote="2001:db8::7") == ("tcp6-server", "tcp6-client", "2001:db8::7 1194")


def test_ifconfig_mirrors_between_the_two_ends():
    server = dict(directives(instance_config.render(side("s"), side("s")["tunnels"][0], SETTINGS)))
    client = dict(directives(instance_config.render(side("c"), side("c")["tunnels"][0], SETTINGS)))
    assert server["ifconfig"] == "10.255.1.1 10.255.1.2"
    assert client["ifconfig"] == "10.255.1.2 10.255.1.1"


def test_config_pins_the_peer_and_uses_only_aead_without_compression():
    text = instance_config.render(side("c"), side("c")["tunnels"][0], SETTINGS)
    config = dict(directives(text))
    assert config["peer-fingerprint"] == "AA:BB"
    assert config["data-ciphers"] == "AES-256-GCM"
    assert not any(key.startswith(("comp", "compress", "secret", "cipher")) for key, dummy in directives(text))
    assert config["management"] == "/run/bonded-openvpn/lab-0/management.sock unix"
    assert config["shaper"] == "5000000"


def test_key_and_certificate_digests_are_recorded_so_rotation_changes_the_file():
    rotated = dict(SETTINGS, identity_digest="x" * 64)
    tunnel = side("s")["tunnels"][0]
    assert instance_config.render(side("s"), tunnel, SETTINGS) != instance_config.render(side("s"), tunnel, rotated)


def test_a_tunnels_config_does_not_depend_on_how_many_tunnels_there_are():
    # Growing N must not restart tunnels that stay (their config must be byte-identical).
    small = host_sides(build_plan(BONDS, None, {"s": "x", "c": "c"}), "s")[0]
    large = host_sides(build_plan([dict(BONDS[0], tunnels=7)], None, {"s": "x", "c": "c"}), "s")[0]
    assert instance_config.render(small, small["tunnels"][0], SETTINGS) == \
        instance_config.render(large, large["tunnels"][0], SETTINGS)


def test_a_bond_with_ipv6_inside_gives_each_tunnel_a_mirrored_120():
    bonds = [dict(BONDS[0], balance="flow", server_networks=["2001:db8:1::/64"])]
    plan = build_plan(bonds, None, {"s": "server.example", "c": "c"}, "fd00:0:0:ff00::/56")
    server, client = (host_sides(plan, host)[0] for host in ("s", "c"))
    assert dict(directives(instance_config.render(server, server["tunnels"][1], SETTINGS)))["ifconfig-ipv6"] == \
        "fd00:0:0:ff01::201/120 fd00:0:0:ff01::202"
    assert dict(directives(instance_config.render(client, client["tunnels"][1], SETTINGS)))["ifconfig-ipv6"] == \
        "fd00:0:0:ff01::202/120 fd00:0:0:ff01::201"


def test_a_bond_without_pool6_writes_no_ipv6_line():
    assert "ifconfig-ipv6" not in instance_config.render(side("s"), side("s")["tunnels"][0], SETTINGS)
