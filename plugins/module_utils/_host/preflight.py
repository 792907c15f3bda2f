# -*- coding: utf-8 -*-
"""What a host must offer before site.yml changes anything anywhere (docs/preflight.md).

The planner sees the inventory only; these checks read the host: the server addresses it
dials (``remotes``), its uplinks, and the kernel features its bonds need. Each check takes
the planned sides of the host and a ``Host`` (what it reads), and returns problems (the
bond cannot work, or the run would fail half-way) and warnings (the bond works, with less).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import platform
import re

from ansible_collections.bonded.openvpn.plugins.module_utils._host import remotes

TUN_DEVICE = "/dev/net/tun"
# The misc device or module directory a built-in or loaded tun leaves.
TUN_SIGNS = ("/sys/class/misc/tun", "/sys/module/tun")
PROC_MODULES = "/proc/modules"
MODULES_DEP = "/lib/modules/%s/modules.dep"
MODULES_BUILTIN = "/lib/modules/%s/modules.builtin"
MPTCP_ENABLED = "/proc/sys/net/mptcp/enabled"
# Present whenever the kernel has IPv6 (absent when booted with ipv6.disable=1).
IPV6_PROC = "/proc/net/if_inet6"
DISABLE_IPV6 = "/proc/sys/net/ipv6/conf/%s/disable_ipv6"
NONLOCAL_BIND = "/proc/sys/net/ipv4/ip_nonlocal_bind"
FIB_TRIE = "/proc/net/fib_trie"
SYS_CLASS_NET = "/sys/class/net"
IFF_UP = 0x1
TUN_MODULE = re.compile(r"(^|/)tun\.ko(\.[a-z]+)?:?")


class Host(object):
    """What the checks read from the host: files and names, nothing written. Tests give
    their own."""

    def read(self, path):
        """The text of ``path`` stripped, or None when it cannot be read."""
        try:
            with open(path) as handle:
                return handle.read().strip()
        except (IOError, OSError, UnicodeError):
            return None

    def exists(self, path):
        return os.path.exists(path)

    def opens(self, path):
        """None when ``path`` opens for reading and writing, else why not."""
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            return os.strerror(exc.errno)
        return None

    def release(self):
        return platform.release()

    def resolve(self, name, family):
        return remotes.resolve(name, family)


def local_ipv4(fib_trie):
    """The IPv4 addresses the host holds, from /proc/net/fib_trie (each is a "/32 host LOCAL"
    leaf): no iproute2 needed, which a minimal host gets only from the install role."""
    found, last = set(), None
    for line in (fib_trie or "").splitlines():
        text = line.strip()
        if text.startswith("|--"):
            last = text[3:].split()[0]
        elif text.startswith("/32 host LOCAL") and last:
            found.add(last)
    return found


def _interface(host, name):
    """"missing", "down" or "up"."""
    flags = host.read("%s/%s/flags" % (SYS_CLASS_NET, name))
    if flags is None:
        return "missing"
    try:
        return "up" if int(flags, 16) & IFF_UP else "down"
    except ValueError:
        return "up"


def _uplink(side, uplink, host, held, nonlocal_bind):
    """(problem, warnings, usable) of one uplink of a client side."""
    where = "bond '%s': uplink '%s'" % (side["bond"], uplink["name"])
    warnings = []
    if uplink["address"] not in held:
        text = ("%s: address %s is not held by this host, so OpenVPN cannot bind tunnel%s %s to it"
                % (where, uplink["address"], "s" if len(uplink["tunnels"]) > 1 else "",
                   ", ".join(str(k) for k in uplink["tunnels"])))
        if not nonlocal_bind:
            return (text + " and their instances would fail to start: give %s the address %s, or correct the "
                    "uplink's 'address'" % (uplink["interface"], uplink["address"])), warnings, False
        warnings.append(text + " but net.ipv4.ip_nonlocal_bind=1 lets them bind; they carry nothing until the "
                        "address is on %s" % uplink["interface"])
    state = _interface(host, uplink["interface"])
    if state != "up":
        warnings.append("%s: interface %s is %s; the uplink's tunnels stay out of the bond until it is up"
                        % (where, uplink["interface"], "not on this host" if state == "missing" else state))
    return None, warnings, not warnings


def check_uplinks(sides, host):
    """An uplink's address must be held, or OpenVPN cannot bind its tunnels to it and their
    instances fail to start in the middle of the run: a problem (a warning where
    ip_nonlocal_bind lets them bind anyway). A missing or down interface leaves the address
    bound but the uplink's tunnels dead until it appears: a warning while another uplink of
    the bond can carry it, a problem when none can."""
    problems, warnings = [], []
    uplinked = [side for side in sides if side.get("role") == "client" and side.get("uplinks")]
    if not uplinked:
        return problems, warnings
    held = local_ipv4(host.read(FIB_TRIE))
    nonlocal_bind = host.read(NONLOCAL_BIND) == "1"
    for side in uplinked:
        usable, refused = 0, 0
        for uplink in side["uplinks"]:
            problem, found, ok = _uplink(side, uplink, host, held, nonlocal_bind)
            problems += [problem] if problem else []
            warnings += found
            usable, refused = usable + ok, refused + bool(problem)
        # Only warned uplinks left: the run would pass and the bond carry nothing.
        if not usable and refused < len(side["uplinks"]):
            problems.append("bond '%s': none of its uplinks (%s) can carry a tunnel on this host, so the bond "
                            "cannot work; see the warnings about them" % (side["bond"], ", ".join(
                                u["name"] for u in side["uplinks"])))
    return problems, warnings


def check_mptcp(sides, host):
    wanting = sorted(set(side["bond"] for side in sides if side.get("mptcp")))
    if not wanting:
        return []
    enabled = host.read(MPTCP_ENABLED)
    if enabled == "1":
        return []
    why = ("its kernel has no MPTCP (no %s: a kernel built without CONFIG_MPTCP)" % MPTCP_ENABLED
           if enabled is None else "MPTCP is off (net.mptcp.enabled = %s): set it to 1" % enabled)
    return ["bond%s %s: mptcp is on, but %s; or set mptcp: false on %s"
            % ("s" if len(wanting) > 1 else "", ", ".join("'%s'" % b for b in wanting), why,
               "them" if len(wanting) > 1 else "it")]


def _ipv6_needs(sides):
    """{bond: why it needs IPv6} and the interfaces whose IPv6 must be on."""
    needs, interfaces = {}, set()
    for side in sides:
        if side.get("underlay_family") == "ipv6":
            needs[side["bond"]] = "its underlay is IPv6"
            interfaces.add("all")
        if side.get("local_bundle6"):
            needs.setdefault(side["bond"], "it carries IPv6 (bonded_openvpn_pool6)")
            # The bundle goes on lo; the tunnels are new interfaces, which take 'default'.
            interfaces.update(("all", "default", "lo"))
    return needs, interfaces


def check_ipv6(sides, host):
    needs, interfaces = _ipv6_needs(sides)
    if not needs:
        return []
    bonds = ", ".join("'%s' (%s)" % item for item in sorted(needs.items()))
    if not host.exists(IPV6_PROC):
        return ["bond %s: this host's kernel has no IPv6 (%s is missing: booted with ipv6.disable=1?); enable "
                "IPv6 on the host, or plan the bond without it" % (bonds, IPV6_PROC)]
    off = ["net.ipv6.conf.%s.disable_ipv6" % name for name in sorted(interfaces)
           if host.read(DISABLE_IPV6 % name) == "1"]
    if off:
        return ["bond %s: IPv6 is disabled on this host (%s = 1); set %s to 0"
                % (bonds, ", ".join(off), "them" if len(off) > 1 else "it")]
    return []


def _tun_loadable(host):
    """True when the kernel could load tun (the kernel role does), False when it cannot,
    with the reason."""
    if not host.exists(PROC_MODULES):
        return False, "the kernel cannot load modules (%s is absent) and has no tun built in" % PROC_MODULES
    release = host.release()
    dep, builtin = host.read(MODULES_DEP % release), host.read(MODULES_BUILTIN % release)
    if dep is None:
        return True, None
    if any(TUN_MODULE.search(line) for line in (dep + "\n" + (builtin or "")).splitlines()):
        return True, None
    return False, "kernel %s has no tun module (%s does not list tun.ko)" % (release, MODULES_DEP % release)


def check_tun(sides, host):
    """Every tunnel is a tun device opened through /dev/net/tun."""
    if not sides:
        return []
    present = any(host.exists(path) for path in TUN_SIGNS) or any(
        line.split(" ", 1)[0] == "tun" for line in (host.read(PROC_MODULES) or "").splitlines())
    if not present:
        loadable, why = _tun_loadable(host)
        return [] if loadable else ["the tunnels need tun, but %s; use a kernel with CONFIG_TUN" % why]
    error = host.opens(TUN_DEVICE)
    if error:
        return ["the kernel has tun, but %s cannot be used (%s); give the host the device (a container: create it "
                "with --device %s)" % (TUN_DEVICE, error, TUN_DEVICE)]
    return []


def check(sides, host=None):
    """(problems, warnings, facts) of one host's planned ``sides``."""
    host = host or Host()
    problems, warnings, resolved = remotes.check(sides, host.resolve)
    uplink_problems, uplink_warnings = check_uplinks(sides, host)
    problems += uplink_problems + check_mptcp(sides, host) + check_ipv6(sides, host) + check_tun(sides, host)
    return problems, warnings + uplink_warnings, {"resolved": resolved}
