# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether OpenVPN data channel offload (DCO) can work on a host, and whether a tunnel uses it.

DCO needs three things to agree: an OpenVPN built with it (``[DCO]`` in ``openvpn --version``),
the kernel module that version speaks to (the out-of-tree ``ovpn_dco_v2`` for 2.6, the mainline
``ovpn`` of Linux 6.16+ for 2.7 and later), and an instance config without an option that
turns it off. OpenVPN then creates an ``ovpn``/``ovpn-dco`` device instead of a tun device, so
a running tunnel shows which way it went: a tun device has ``tun_flags`` in sysfs.

Everything here is pure (texts in, dicts out) except the small readers at the end, so the
"available" path is tested on recorded outputs without such a kernel. Standard library only:
the modules use it (through ``_host.dco``) and so does each bond's watchdog on the host, which
exports what it finds as metrics (``read_bond``).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import socket
import struct

from . import layout
from .directives import parse_directives

VERSION_LINE = re.compile(r"^OpenVPN (?P<version>(?P<major>[0-9]+)\.(?P<minor>[0-9]+)[0-9A-Za-z._~+-]*)\s", re.M)
DCO_VERSION_LINE = re.compile(r"^DCO version: (?P<dco>.*)$", re.M)
AEAD_CIPHERS = ("AES-128-GCM", "AES-192-GCM", "AES-256-GCM", "CHACHA20-POLY1305")
MODULE_FOR_MAINLINE = "ovpn"
MODULE_FOR_26 = "ovpn_dco_v2"
CONFIG_DIR = layout.CONFIG_DIR
SYS_CLASS_NET = "/sys/class/net"
NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST = 1
# Options that make OpenVPN turn DCO off for the instance, with what to do instead.
DISABLING_OPTIONS = (
    ("disable-dco", "remove disable-dco"),
    ("shaper", "replace the bond's 'shaper' field (bytes/s) with 'egress_rate' (bits/s, 8 x shaper), which "
               "shapes each tunnel interface with tc and keeps DCO on"),
    ("fragment", "drop fragment, and lower the tunnel MTU instead"),
    ("compress", "drop compression"),
    ("comp-lzo", "drop compression"),
    ("secret", "use TLS instead of a static key"),
    ("socks-proxy", "connect without a proxy"),
    ("http-proxy", "connect without a proxy"),
    ("mtu-test", "drop mtu-test"),
)


def parse_version(text):
    """``openvpn --version`` -> version, (major, minor), built with DCO, DCO version line."""
    match = VERSION_LINE.search(text or "")
    if not match:
        return {"version": None, "release": None, "built_with_dco": False, "dco_version": None}
    first_line = text[match.start():].split("\n", 1)[0]
    dco = DCO_VERSION_LINE.search(text)
    return {
        "version": match.group("version"),
        "release": (int(match.group("major")), int(match.group("minor"))),
        "built_with_dco": "[DCO]" in first_line,
        "dco_version": dco.group("dco").strip() if dco else None,
    }


def wanted_module(release):
    """The module a given OpenVPN release speaks to, or None if it has no DCO at all."""
    if release is None or release < (2, 6):
        return None
    return MODULE_FOR_26 if release < (2, 7) else MODULE_FOR_MAINLINE


def host_support(version, modules, loadable_reason=None):
    """Whether instances on this host can use DCO at all.

    ``version``: parse_version's result. ``modules``: the DCO modules the kernel provides
    (names as in /sys/module). ``loadable_reason``: why modules cannot be loaded here, if so.
    Returns possible, module (the one in use), openvpn (version), reason (why not, else None).
    """
    result = {"possible": False, "module": None, "openvpn": version["version"], "reason": None}
    present = sorted(set(modules))
    if version["version"] is None:
        result["reason"] = "OpenVPN is not installed or its version is unreadable"
        return result
    wanted = wanted_module(version["release"])
    if wanted is None:
        result["reason"] = "OpenVPN %s has no data channel offload (2.6 or later has)" % version["version"]
    elif not version["built_with_dco"]:
        result["reason"] = "OpenVPN %s was built without DCO ('[DCO]' is missing from openvpn --version)" % version["version"]
    elif wanted in present:
        result.update(possible=True, module=wanted)
    elif present:
        result["reason"] = ("OpenVPN %s needs the %s module, but the kernel has %s (%s)"
                            % (version["version"], wanted, ", ".join(present), _advice(wanted)))
    else:
        where = (" and modules cannot be loaded on this host (%s)" % loadable_reason) if loadable_reason else ""
        result["reason"] = ("the kernel has no DCO module (neither ovpn nor ovpn_dco_v2)%s; OpenVPN %s needs %s (%s)"
                            % (where, version["version"], wanted, _advice(wanted)))
    return result


def _advice(module):
    if module == MODULE_FOR_MAINLINE:
        return "Linux 6.16 or later, with OpenVPN 2.7 from trixie-backports"
    return "openvpn-dco-dkms with the running kernel's headers: bonded_openvpn_kernel_dco_dkms"


def _last(directives, name):
    args = (directives.get(name) or [[]])[-1]
    return args[0] if args else None


def disabling_options(directives):
    """Reasons, one per offending directive of an instance config (parse_directives' result)."""
    reasons = []
    for name, advice in DISABLING_OPTIONS:
        if name in directives:
            reasons.append("the config sets %s, which turns DCO off: %s" % (name, advice))
    dev_type, dev = _last(directives, "dev-type"), _last(directives, "dev") or ""
    if dev_type == "tap" or (dev_type is None and dev.startswith("tap")):
        reasons.append("the config uses a tap device; DCO needs tun")
    ciphers = _last(directives, "data-ciphers")
    if ciphers:
        other = [c for c in ciphers.upper().split(":") if c and c not in AEAD_CIPHERS]
        if other:
            reasons.append("data-ciphers lists %s; DCO only does AES-GCM and CHACHA20-POLY1305" % ":".join(other))
    return reasons


def tunnel_status(host, directives, interface_kind):
    """Per tunnel: active (True/False, None when unknown), kind of its interface, reason when not active.

    ``host``: host_support's result. ``directives``: the instance config's directives, None
    when absent. ``interface_kind``: from interface_kind(), None when the interface is absent.
    """
    status = {"active": None, "interface_kind": interface_kind, "reason": None}
    if interface_kind is None:
        status["reason"] = "the tunnel's interface is absent (instance down)"
        return status
    status["active"] = interface_kind != "tun"
    if status["active"]:
        return status
    reasons = [] if host["possible"] else [host["reason"]]
    reasons += disabling_options(directives or {})
    if not reasons:
        reasons = ["OpenVPN chose a tun device although %s is there; its log says why "
                   "(journalctl -u the instance's unit)" % host["module"]]
    status["reason"] = "; ".join(reasons)
    return status


def interface_kind(name, sys_class_net=SYS_CLASS_NET):
    """"tun" for a tun device, the DCO device type (from uevent DEVTYPE) otherwise, None if absent."""
    base = os.path.join(sys_class_net, name)
    if not os.path.isdir(base):
        return None
    if os.path.exists(os.path.join(base, "tun_flags")):
        return "tun"
    try:
        with open(os.path.join(base, "uevent")) as handle:
            for line in handle:
                if line.startswith("DEVTYPE="):
                    return line.strip().split("=", 1)[1]
    except (IOError, OSError):
        pass
    return "ovpn"


GENL_FAMILIES = {MODULE_FOR_MAINLINE: "ovpn", MODULE_FOR_26: "ovpn-dco-v2"}


def kernel_dco_modules(sys_module="/sys/module", ask_netlink=True):
    """The DCO modules that are loaded or built in: a /sys/module entry or a registered
    generic netlink family (a built-in module without parameters has no /sys/module entry)."""
    return [name for name in (MODULE_FOR_MAINLINE, MODULE_FOR_26)
            if os.path.isdir(os.path.join(sys_module, name)) or (ask_netlink and genl_family_exists(GENL_FAMILIES[name]))]


def genl_family_exists(family):
    """Asks the generic netlink controller whether ``family`` is registered."""
    name = family.encode("ascii") + b"\0"
    attribute = struct.pack("=HH", 4 + len(name), CTRL_ATTR_FAMILY_NAME) + name
    attribute += b"\0" * (-len(attribute) % 4)
    body = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + attribute
    message = struct.pack("=IHHII", 16 + len(body), GENL_ID_CTRL, NLM_F_REQUEST, 1, 0) + body
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    except (AttributeError, OSError):
        return False
    try:
        sock.settimeout(2)
        sock.send(message)
        reply = sock.recv(65536)
    except OSError:
        return False
    finally:
        sock.close()
    return len(reply) >= 16 and struct.unpack("=IH", reply[:6])[1] == GENL_ID_CTRL


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def read_bond(spec, version_text, config_dir=None, sys_class_net=None, modules=None):
    """What one bond's watchdog exports about DCO, from ``openvpn --version``'s text, the
    kernel's DCO modules, the bond's instance configs and its tunnel interfaces' kinds.

    ``available``: this host can run the bond's tunnels with DCO: OpenVPN is built with it, the
    kernel has the module that version speaks to, and no instance config turns it off (a bond
    with ``shaper``). ``reason``: why not, else None. ``tunnels``: {index: True on a DCO device,
    False on a tun device, None when the interface is absent}. The other arguments, for
    tests: where configs and interfaces are, and what reads the kernel's DCO modules.
    """
    host = host_support(parse_version(version_text), (modules or kernel_dco_modules)())
    config_dir, sys_class_net = config_dir or CONFIG_DIR, sys_class_net or SYS_CLASS_NET
    reasons = [] if host["possible"] else [host["reason"]]
    for tunnel in spec["tunnels"]:
        text = _read_text(layout.instance_config(layout.instance(spec["bond"], tunnel["index"]), config_dir))
        for reason in disabling_options(parse_directives(text)) if text else ():
            if reason not in reasons:
                reasons.append(reason)
    tunnels = {}
    for tunnel in spec["tunnels"]:
        kind = interface_kind(tunnel["interface"], sys_class_net)
        tunnels[tunnel["index"]] = None if kind is None else kind != "tun"
    return {"available": not reasons, "module": host["module"], "reason": "; ".join(reasons) or None,
            "tunnels": tunnels}
