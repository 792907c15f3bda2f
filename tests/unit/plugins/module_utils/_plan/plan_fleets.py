"""Large valid fleets for the planner's cost test and bench/plan_cost."""


def hub_fleet(count):
    """(bonds, hosts): a hub serving ``count`` spokes, 4 tunnels each, the hub's LAN in every
    bond, a /24 behind each spoke, every host with an IP ansible_host outside 10/8."""
    hosts = {"hub": "198.18.0.1"}
    bonds = []
    for i in range(count):
        client = "spoke%d" % i
        hosts[client] = "198.19.%d.%d" % (i // 250, i % 250 + 1)
        bonds.append({"name": "s%d" % i, "id": i, "server": "hub", "client": client, "tunnels": 4,
                      "port": 2000 + 4 * i, "server_networks": ["192.168.0.0/24"],
                      "client_networks": ["172.16.%d.0/24" % i], "weights": [2, 1, 1, 1]})
    return bonds, hosts
