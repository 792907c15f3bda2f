from ansible_collections.bonded.openvpn.plugins.module_utils import instance_config
from ansible_collections.bonded.openvpn.plugins.module_utils.plan import build_plan, host_sides

BONDS = [{"name": "lab", "id": 1, "server": "s", "client": "c", "tunnels": 2, "port": 1194, "shaper": 5000000}]
SETTINGS = dict(config_dir="/etc/openvpn/bonded", runtime_dir="/run/bonded-openvpn", user="u", group="g",
                ciphers=["AES-256-GCM"], keepalive=[2, 10], socket_buffer=4194304, verb=3, managed="managed",
                peer_fingerprint="AA:BB", identity_digest="i" * 64, tls_crypt_digest="t" * 64)


def directives(text):
    return [(line.split(" ", 1) + [""])[:2] for line in text.splitlines() if not line.startswith("#")]


def side(host, proto="udp"):
    bonds = [dict(BONDS[0], proto=proto)]
    return host_sides(build_plan(bonds, None, {"s": "server.example", "c": "c"}), host)[0]


def test_server_listens_on_its_port_and_client_dials_it():
    server = dict(directives(instance_config.render(side("s"), side("s")["tunnels"][1], SETTINGS)))
    client = dict(directives(instance_config.render(side("c"), side("c")["tunnels"][1], SETTINGS)))
    assert (server["port"], server["proto"]) == ("1195", "udp")
    assert "tls-server" in server and "remote" not in server
    assert client["remote"] == "server.example 1195"
    assert "tls-client" in client and "nobind" in client and "port" not in client


def test_tcp_uses_tcp_server_and_tcp_client():
    assert dict(directives(instance_config.render(side("s", "tcp"), side("s", "tcp")["tunnels"][0], SETTINGS)))["proto"] == "tcp-server"
    assert dict(directives(instance_config.render(side("c", "tcp"), side("c", "tcp")["tunnels"][0], SETTINGS)))["proto"] == "tcp-client"


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
