"""What a host of a bonded OpenVPN fleet must look like, checked with pytest-testinfra.

A scenario's verify.yml writes the expectation as JSON and runs
``pytest molecule/shared/hoststate --expect FILE``; the file holds
``{"present": {HOST: [side, ...]}, "absent": {HOST: [bond, ...]}, "bare": [HOST, ...]}``: a
side is what ``bonded.openvpn.bond_sides`` gives for that host, an absent bond what
``bonded.openvpn.bond_plan`` gave for it, and a bare host one that no bond names any more. Hosts are reached with testinfra's
podman backend (``podman exec``), about 0.1 s a command, where the Ansible backend takes
seconds. The tests read the hosts with their own tools (ip, nft, systemctl, stat), never
with the collection's modules, so a bug in those cannot hide a broken host.
"""
import json
import os
import sys

import pytest
import testinfra

# The collection, for its layout (the names and numbers a host sees), however pytest is run.
COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".cache", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


def pytest_addoption(parser):
    parser.addoption("--expect", required=True, help="JSON file: the sides present and the bonds absent, by host")


def _expectation(config):
    with open(config.getoption("--expect")) as handle:
        return json.load(handle)


def pytest_generate_tests(metafunc):
    expect = _expectation(metafunc.config)
    present = expect.get("present", {})
    absent = expect.get("absent", {})
    used = metafunc.fixturenames
    if "tunnel" in used:
        cases = [{"hostname": host, "side": side, "tunnel": tunnel}
                 for host in sorted(present) for side in present[host] for tunnel in side["tunnels"]]
        _parametrize(metafunc, cases, lambda case: "%s-%s" % (case["hostname"], case["tunnel"]["instance"]))
    elif "side" in used:
        cases = [{"hostname": host, "side": side} for host in sorted(present) for side in present[host]]
        _parametrize(metafunc, cases, lambda case: "%s-%s" % (case["hostname"], case["side"]["bond"]))
    elif "gone_bond" in used:
        cases = [{"hostname": host, "gone_bond": bond} for host in sorted(absent) for bond in absent[host]]
        _parametrize(metafunc, cases, lambda case: "%s-%s" % (case["hostname"], case["gone_bond"]["name"]))
    elif "bare_hostname" in used:
        _parametrize(metafunc, [{"bare_hostname": host} for host in sorted(expect.get("bare", []))],
                     lambda case: case["bare_hostname"])
    elif "hostname" in used:
        _parametrize(metafunc, [{"hostname": host} for host in sorted(present)], lambda case: case["hostname"])


def _parametrize(metafunc, cases, name):
    """One test per case, with those of the case's values that the test asks for."""
    keys = [key for key in ("hostname", "bare_hostname", "side", "tunnel", "gone_bond") if key in metafunc.fixturenames
            and (not cases or key in cases[0])]
    values = [tuple(case[key] for key in keys) if len(keys) > 1 else case[keys[0]] for case in cases]
    metafunc.parametrize(",".join(keys), values, ids=[name(case) for case in cases])


@pytest.fixture(scope="session")
def hosts():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host("podman://" + name)
        return cache[name]
    return get


@pytest.fixture
def host(hosts, hostname):
    return hosts(hostname)


@pytest.fixture
def bare_host(hosts, bare_hostname):
    return hosts(bare_hostname)


def json_of(host, command):
    """The parsed JSON output of a command that must succeed (ip -j, nft -j)."""
    return json.loads(host.check_output(command) or "[]")
