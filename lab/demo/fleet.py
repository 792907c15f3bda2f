"""The demo fleet as lab/demo/inventory.yml describes it: bonds, gateways, LAN hosts, networks, links."""
import os

import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lablib.links import Link, Links  # noqa: E402

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import build_plan, host_sides

INVENTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inventory.yml")


class Fleet(object):
    def __init__(self, path=INVENTORY):
        with open(path) as handle:
            top = yaml.safe_load(handle)["all"]
        self.vars = top["vars"]
        self.gateways = top["children"]["gateways"]["hosts"]
        self.lans = top["children"]["lans"]["hosts"]
        self.networks = self.vars["demo_networks"]
        names = list(self.gateways) + list(self.lans)
        self.plan = build_plan(self.vars["bonded_openvpn_bonds"], self.vars["bonded_openvpn_pool"],
                               dict((name, name) for name in names))

    @property
    def containers(self):
        return list(self.gateways) + list(self.lans)

    def addresses(self, host):
        return (self.gateways.get(host) or self.lans[host])["demo_addresses"]

    def lan_host(self, gateway):
        return [lan for lan, hostvars in self.lans.items() if hostvars["demo_gateway"] == gateway][0]

    def lan_address(self, lan):
        return list(self.addresses(lan).values())[0]

    def gateway_address_for(self, lan):
        """The gateway's address on the LAN host's network: the LAN host's next hop."""
        network = list(self.addresses(lan))[0]
        return self.addresses(self.lans[lan]["demo_gateway"])[network]

    def links(self):
        """Every gateway's WAN links: a Links over all gateways (each gateway's WAN device
        found by its route to another gateway), one link per tunnel port of every bond."""
        wan = [name for name, network in self.networks.items() if not network["internal"]][0]
        gateways = list(self.gateways)
        peers = dict((gw, self.addresses(gateways[(i + 1) % len(gateways)])[wan]) for i, gw in enumerate(gateways))
        ports = [tunnel["port"] for bond in self.plan for tunnel in bond["tunnel_list"]]
        return Links(peers, proto=self.plan[0]["proto"]), [Link(port, self.vars["demo_link_mbit"]) for port in ports]

    def far_side(self, lan):
        """What a LAN host reaches through its gateway: the networks behind the gateway's
        peers and the pool (bundle addresses, seen when a peer SNATs)."""
        gateway = self.lans[lan]["demo_gateway"]
        networks = [network for side in host_sides(self.plan, gateway) for network in side["peer_networks"]]
        return sorted(set(networks)) + [self.vars["bonded_openvpn_pool"]]
