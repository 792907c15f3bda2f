"""The bond of the IPv6 data path tests: IPv4 and IPv6 networks, the pool6, and a stand-in
host with its tunnel interfaces."""
from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath as module
from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

import balance_host

BOND = {"name": "paris", "id": 1, "server": "hq", "client": "gw", "tunnels": 3, "port": 1194, "balance": "flow",
        "server_networks": ["192.168.1.0/24", "2001:db8:1::/64"], "client_networks": ["2001:db8:10::/64"]}
HOSTS = {"hq": "203.0.113.10", "gw": "203.0.113.20"}
POOL6 = "fd00:0:0:ff00::/56"


def side(host="gw", pool6=POOL6, **changes):
    """``host``'s side of BOND with ``changes``."""
    return host_sides(build_plan([dict(BOND, **changes)], None, HOSTS, pool6), host)[0]


INTERFACES = sorted(tunnel["interface"] for tunnel in side()["tunnels"])


def stand_in(tmp_path, monkeypatch):
    return balance_host.stand_in(module, tmp_path, monkeypatch, INTERFACES)


def converge(capsys, host, sides, check=False, rc=0):
    return balance_host.converge(module, capsys, host, sides, check, rc)
