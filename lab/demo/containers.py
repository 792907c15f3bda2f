"""The demo fleet's podman networks and containers, made with the lab library (lab/lablib):
create, wait for systemd, route the LAN hosts through their gateways, remove."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lablib import podman as lab  # noqa: E402
from lablib.podman import GATEWAY_SYSCTLS, Lab  # noqa: E402

LABEL = "bonded-openvpn-demo=1"
# Left behind by the earlier two-container demo; removed too, so `down` always cleans up.
LEGACY_CONTAINERS = ["demo-hq"]
LEGACY_NETWORKS = ["bonded-demo-wan"]


def podman(*args, **kwargs):
    return lab.run(("podman",) + args, check=kwargs.get("check", True)).stdout


def down(fleet):
    lab.remove(fleet.containers + LEGACY_CONTAINERS, list(fleet.networks) + LEGACY_NETWORKS)


def up(fleet):
    """(Re)creates the fleet; the containers stay up after this process ends (no teardown)."""
    down(fleet)
    fleet_lab = Lab(label=LABEL)
    for name, network in fleet.networks.items():
        fleet_lab.network(name, network["subnet"], internal=network["internal"])
    for name in fleet.containers:
        gateway = name in fleet.gateways
        fleet_lab.container(name, list(fleet.addresses(name).items()),
                            sysctls=GATEWAY_SYSCTLS if gateway else None, tun=gateway)
    fleet_lab.wait_booted(timeout=120)
    for lan in fleet.lans:
        fleet_lab.route(lan, fleet.far_side(lan), fleet.gateway_address_for(lan))
