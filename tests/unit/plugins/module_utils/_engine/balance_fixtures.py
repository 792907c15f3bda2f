"""A bond side as the planner gives it, for the balance tests."""
import copy

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec

SIDE = {
    "bond": "paris", "id": 1, "role": "client", "peer": "hq", "proto": "udp", "balance": "packet",
    "remote": "203.0.113.10", "local_bundle": "10.255.1.253", "peer_bundle": "10.255.1.254",
    "local_networks": ["192.168.10.0/24"], "peer_networks": ["192.168.1.0/24"], "snat": False,
    "shaper": None, "weights": [3, 1, 1, 1], "target": "bonded-openvpn-paris.target",
    "tunnels": [
        {"index": k, "instance": "paris-%d" % k, "unit": "bonded-openvpn@paris-%d.service" % k,
         "interface": "bo-paris-%d" % k, "port": 1194 + k,
         "local_address": "10.255.1.%d" % (4 * k + 2), "peer_address": "10.255.1.%d" % (4 * k + 1),
         "mark": 10100 + k, "table": 10100 + k, "rule_priority": 5032 + k, "weight": [3, 1, 1, 1][k]}
        for k in range(4)
    ],
}
ALL_UP = {"bo-paris-0", "bo-paris-1", "bo-paris-2", "bo-paris-3"}


def spec(**changes):
    side = copy.deepcopy(SIDE)
    side.update(changes)
    return bspec.from_side(side)
