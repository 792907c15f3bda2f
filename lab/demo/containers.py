"""Podman networks and containers of the demo fleet: create, wait for systemd, route, remove."""
import os
import subprocess
import time

LABEL = "bonded-openvpn-demo=1"
GATEWAY_OPTIONS = [
    "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun",
    "--sysctl", "net.ipv4.ip_forward=1",
    "--sysctl", "net.ipv4.conf.all.rp_filter=2",
    "--sysctl", "net.ipv4.conf.default.rp_filter=2",
    "--sysctl", "net.ipv4.fib_multipath_hash_policy=1",
]
# Left behind by the earlier two-container demo; removed too, so `down` always cleans up.
LEGACY_CONTAINERS = ["demo-hq"]
LEGACY_NETWORKS = ["bonded-demo-wan"]


def podman(*args, **kwargs):
    return subprocess.run(("podman",) + args, check=kwargs.get("check", True),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True).stdout


def exists(kind, name):
    return subprocess.run(["podman", kind, "exists", name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def down(fleet):
    for name in fleet.containers + LEGACY_CONTAINERS:
        if exists("container", name):
            podman("rm", "-f", "-t", "0", name)
    for name in list(fleet.networks) + LEGACY_NETWORKS:
        if exists("network", name):
            podman("network", "rm", "-f", name)


def _create_networks(fleet):
    for name, network in fleet.networks.items():
        args = ["network", "create", "--label", LABEL, "--subnet", network["subnet"]]
        podman(*(args + (["--internal"] if network["internal"] else []) + [name]))


def _start(fleet, name):
    networks = ["--network=%s:ip=%s" % item for item in fleet.addresses(name).items()]
    options = GATEWAY_OPTIONS if name in fleet.gateways else ["--cap-add", "NET_ADMIN"]
    podman("run", "-d", "--name", name, "--hostname", name, "--label", LABEL, "--systemd=always",
           *(networks + options + [os.environ["LAB_IMAGE"], "/sbin/init"]))


def _wait_for_systemd(fleet, timeout=120):
    """Until systemd in every container has booted. Right after `podman run` even
    `systemctl --wait` can fail (no bus yet), so ask again until the deadline."""
    deadline = time.monotonic() + timeout
    for name in fleet.containers:
        while True:
            state = podman("exec", name, "systemctl", "is-system-running", "--wait", check=False).strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("%s: systemd is %r, not running, after %d s" % (name, state, timeout))
            time.sleep(0.5)


def _route_lans(fleet):
    for lan in fleet.lans:
        for destination in fleet.far_side(lan):
            podman("exec", lan, "ip", "route", "replace", destination, "via", fleet.gateway_address_for(lan))


def up(fleet):
    down(fleet)
    _create_networks(fleet)
    for name in fleet.containers:
        _start(fleet, name)
    _wait_for_systemd(fleet)
    _route_lans(fleet)
