# -*- coding: utf-8 -*-
"""Parsers for what the host's tools report about tunnels: ``systemctl show`` blocks and
``ip -j -s addr`` JSON (the live set has its own reader, _engine/live_set.py). Pure
functions over text, so the module makes one call per tool whatever N is, and the parsing
is tested without a host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "MainPID")


def unknown_unit(name):
    return {"name": name, "load_state": None, "active_state": None, "sub_state": None,
            "main_pid": None, "active": None}


def parse_systemctl_show(text):
    """``{unit id: unit dict}`` from ``systemctl show -p Id,...`` output (blank-line separated)."""
    units, block = {}, {}
    for line in text.splitlines() + [""]:
        if line.strip():
            key, _sep, value = line.partition("=")
            block[key.strip()] = value.strip()
            continue
        if block.get("Id"):
            pid = block.get("MainPID", "")
            units[block["Id"]] = {
                "name": block["Id"],
                "load_state": block.get("LoadState") or None,
                "active_state": block.get("ActiveState") or None,
                "sub_state": block.get("SubState") or None,
                "main_pid": int(pid) if pid.isdigit() and int(pid) > 0 else None,
                "active": block.get("ActiveState") == "active",
            }
        block = {}
    return units


def unknown_interface(name):
    return {"name": name, "present": None, "up": None, "flags": [], "operstate": None,
            "ifindex": None, "addresses": [], "rx_packets": None, "rx_bytes": None,
            "tx_packets": None, "tx_bytes": None}


def _interface(link):
    flags = link.get("flags") or []
    stats = link.get("stats64") or link.get("stats") or {}
    rx, tx = stats.get("rx") or {}, stats.get("tx") or {}
    # IPv4, and IPv6 but its link-local address (every interface has one, none is planned).
    addresses = [{"local": a.get("local"), "peer": a.get("address"), "prefixlen": a.get("prefixlen")}
                 for a in link.get("addr_info") or []
                 if a.get("family") == "inet" or (a.get("family") == "inet6" and a.get("scope") != "link"
                                                  and not str(a.get("local")).lower().startswith("fe80:"))]
    return {
        "name": link.get("ifname"),
        "present": True,
        # A tun whose OpenVPN process is gone loses LOWER_UP; only both mean traffic can flow.
        "up": "UP" in flags and "LOWER_UP" in flags,
        "flags": flags,
        "operstate": link.get("operstate"),
        "ifindex": link.get("ifindex"),
        "addresses": addresses,
        "rx_packets": rx.get("packets"),
        "rx_bytes": rx.get("bytes"),
        "tx_packets": tx.get("packets"),
        "tx_bytes": tx.get("bytes"),
    }


def parse_ip_addr(text):
    """``{ifname: interface dict}`` from ``ip -j -s addr show`` output."""
    links = json.loads(text or "[]")
    return dict((link["ifname"], _interface(link)) for link in links if link.get("ifname"))


def absent_interface(name):
    result = unknown_interface(name)
    result.update({"present": False, "up": False})
    return result
