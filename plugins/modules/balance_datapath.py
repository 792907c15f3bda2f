#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: balance_datapath
short_description: Converge the data path of every bond of a host in one call
description:
  - For every bond this host plays, puts the bundle address on C(lo), spreads the traffic
    for the peer's bundle address and networks over the bond's tunnels, and runs the bond's
    watchdog C(bonded-openvpn-watchdog@<bond>.service).
  - C(balance=packet) marks each packet with C(numgen) in the nftables table
    C(bonded_openvpn_<bond>) (weights repeat map entries), with one C(ip rule fwmark) and
    one routing table per tunnel; C(balance=flow) uses one multipath route with a weighted
    nexthop per tunnel. Either way the main table routes the peer's addresses into a live
    tunnel, so unmarked packets and loose C(rp_filter) find their way.
  - With C(snat) (client side), sources behind the host leave every tunnel as the bundle
    address, so conntrack's one NAT mapping per flow is right whatever tunnel a packet takes.
  - Writes one spec per bond (C(<config_dir>/<bond>.conf)) and installs the watchdog's code
    (the module's own C(balance_*) module_utils) under O(lib_dir); the watchdog rebuilds the
    whole data path from the spec at boot and keeps dead tunnels out of it.
  - Removes everything of bonds that no longer name this host, and of tunnels beyond a
    lowered N. The cost does not grow with the number of tunnels or bonds - three kernel
    calls apply all changes (one atomic C(nft -f) among them).
  - Routes and rules it owns carry protocol 194; it never touches others.
version_added: 0.1.0
author: bonded.openvpn maintainers
options:
  sides:
    description: What this host plays, from the C(bonded.openvpn.bond_sides) filter. An empty list removes every bond.
    type: list
    elements: dict
    required: true
  probe:
    description: How the watchdog tells live tunnels from dead ones.
    type: dict
    default: {}
    suboptions:
      interval:
        description: Seconds between probe rounds.
        type: float
        default: 1.0
      timeout:
        description: Seconds a round waits for each tunnel's echo reply (asking again within it).
        type: float
        default: 1.0
      down_after:
        description: Failed rounds in a row that take a tunnel out (a missing interface takes it out at once).
        type: int
        default: 1
      up_after:
        description: Good rounds in a row that put a tunnel back.
        type: int
        default: 2
      verify_every:
        description: Seconds between full checks of the bond's data path (repairs drift).
        type: float
        default: 10.0
  config_dir:
    description: Where the per-bond specs live.
    type: path
    default: /etc/openvpn/bonded/balance
  run_dir:
    description: Where the watchdogs write the live sets (C(<bond>.live)) and nftables snapshots.
    type: path
    default: /run/bonded-openvpn/balance
  lib_dir:
    description: Where the watchdog's Python package C(bonded_openvpn_balance) is installed.
    type: path
    default: /usr/local/lib/bonded-openvpn
  managed_marker:
    description: First line of every file written (without the comment sign).
    type: str
    default: Ansible managed by bonded.openvpn
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Spec files and kernel objects are shown in full; the watchdog's code by digest.
notes:
  - Needs C(ip) (iproute2), C(nft) (nftables) and the unit template C(bonded-openvpn-watchdog@.service)
    (the C(bonded.openvpn.balance) role installs it).
"""

EXAMPLES = r"""
- name: Converge the data path of every bond of this host
  bonded.openvpn.balance_datapath:
    sides: "{{ bonded_openvpn_bonds | bonded.openvpn.bond_plan(bonded_openvpn_pool, hostvars)
               | bonded.openvpn.bond_sides(inventory_hostname) }}"
    probe:
      interval: 1.0
      up_after: 2

- name: Remove the data path of every bond
  bonded.openvpn.balance_datapath:
    sides: []
"""

RETURN = r"""
bonds:
  description: Every bond this host plays, with what happened to it.
  returned: always
  type: list
  elements: dict
  sample: [{"bond": "paris", "role": "client", "balance": "packet", "action": "updated", "live": [0, 1, 2, 3]}]
updated:
  description: Bonds whose spec was created or changed (their watchdog restarted).
  returned: always
  type: list
  elements: str
removed:
  description: Bonds whose data path, spec and watchdog were removed.
  returned: always
  type: list
  elements: str
kernel_changes:
  description: What was (or in check mode, would be) changed in the kernel.
  returned: always
  type: list
  elements: str
  sample: ["add address 10.255.1.253/32 on lo", "load nftables table ip bonded_openvpn_paris"]
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils.files import read_bytes as _read
from ansible_collections.bonded.openvpn.plugins.module_utils import balance_kernel as kernel
from ansible_collections.bonded.openvpn.plugins.module_utils import balance_liveness
from ansible_collections.bonded.openvpn.plugins.module_utils import balance_render as render
from ansible_collections.bonded.openvpn.plugins.module_utils import balance_spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils import balance_watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils import probe
from ansible_collections.bonded.openvpn.plugins.module_utils.host_state import parse_live_set
from ansible_collections.bonded.openvpn.plugins.module_utils.systemd_units import SystemdUnits

UNIT = "bonded-openvpn-watchdog@%s.service"
PACKAGE = "bonded_openvpn_balance"
# The watchdog's code: the same files this module runs, so both build the data path alike.
# (Importing them here is also what makes Ansible ship them with the module.)
ENGINE = (bspec, render, kernel, balance_liveness, balance_watchdog, probe)


def _digest(content):
    return hashlib.sha256(content).hexdigest()


class Files(object):
    """Writes and deletes files, recording diffs; does nothing in check mode."""

    def __init__(self, module):
        self.module, self.diffs = module, []

    def write(self, path, content, mode, show=True):
        old = _read(path)
        if old == content:
            return False
        if show:
            before, after = (old or b"").decode("utf-8", "replace"), content.decode("utf-8")
        else:
            before = "sha256 %s\n" % _digest(old) if old is not None else ""
            after = "sha256 %s\n" % _digest(content)
        self.diffs.append(dict(before_header=path, after_header=path, before=before, after=after))
        if not self.module.check_mode:
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            tmp = "%s.tmp" % path
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            os.rename(tmp, path)
        return True

    def delete(self, path):
        if not os.path.lexists(path):
            return False
        self.diffs.append(dict(before_header=path, after_header="(deleted)", before=(_read(path) or b"").decode(
            "utf-8", "replace"), after=""))
        if not self.module.check_mode:
            os.unlink(path)
        return True


def _source(engine):
    """A module_utils file's text, whether Ansible shipped it in a zip or it is on disk."""
    loader = getattr(engine, "__loader__", None)
    source = loader.get_source(engine.__name__) if hasattr(loader, "get_source") else None
    if source is None:
        with open(engine.__file__) as handle:
            source = handle.read()
    return source.encode("utf-8")


def install_engine(files, params):
    """Installs the watchdog's package; returns True when its code changed."""
    directory = os.path.join(params["lib_dir"], PACKAGE)
    header = ("# %s\n" % params["managed_marker"]).encode("utf-8")
    wanted = {"__init__.py": header + b'"""bonded.openvpn data path and tunnel watchdog."""\n'}
    for engine in ENGINE:
        wanted[engine.__name__.rsplit(".", 1)[1] + ".py"] = header + _source(engine)
    changed = False
    for name, content in sorted(wanted.items()):
        changed |= files.write(os.path.join(directory, name), content, 0o644, show=False)
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        if name.endswith(".py") and name not in wanted:
            changed |= files.delete(os.path.join(directory, name))
    return changed


def deployed_specs(module, config_dir):
    """``{bond: spec or None}`` for every spec file on the host (None: unreadable)."""
    found = {}
    for name in sorted(os.listdir(config_dir)) if os.path.isdir(config_dir) else []:
        if not name.endswith(".conf"):
            continue
        bond = name[:-len(".conf")]
        try:
            found[bond] = bspec.parse((_read(os.path.join(config_dir, name)) or b"").decode("utf-8"), name)
        except bspec.SpecError as error:
            module.warn("%s; removing it" % error)
            found[bond] = None
    return found


def check_overlaps(module, specs):
    owners = {}
    for bond, spec in sorted(specs.items()):
        for dst in bspec.destinations(spec):
            if dst in owners:
                module.fail_json(msg="bonds '%s' and '%s' both route %s from this host; a destination can be "
                                     "carried by one bond only" % (owners[dst], bond, dst))
            owners[dst] = bond


def live_set(params, bond):
    """What the bond's watchdog last spread over (None: no watchdog has written it yet)."""
    text = _read(bspec.live_path(bond, params["run_dir"]))
    return parse_live_set(text.decode("utf-8", "replace")) if text is not None else None


def converge_kernel(module, specs, deployed):
    params = module.params
    krn = kernel.Kernel(lambda argv, data=None: module.run_command(argv, data=data, binary_data=True), params["run_dir"])
    known = set(spec["local_bundle"] for spec in list(specs.values()) + list(deployed.values()) if spec)
    scope = kernel.Scope.host(known)
    lives = dict((bond, bspec.effective_live(spec, live_set(params, bond))) for bond, spec in specs.items())
    summary, diff = [], None
    # A tunnel interface may vanish between reading and applying (an OpenVPN restart):
    # then read and plan once more before giving up.
    for attempt in (1, 2):
        try:
            current = krn.read(scope)
            want = render.Desired()
            for bond, spec in sorted(specs.items()):
                want.merge(render.desired(spec, lives[bond], current.up()))
            changes = kernel.plan_changes(want, current, scope)
            if diff is None:
                summary = changes.summary
                diff = dict(before_header="kernel (bonded.openvpn data path)",
                            after_header="kernel (bonded.openvpn data path)",
                            before=kernel.describe_current(current, scope, want),
                            after=kernel.describe(want.addresses, want.rules, want.routes, want.nft))
            if changes and not module.check_mode:
                krn.apply(changes)
            break
        except kernel.KernelError as error:
            if attempt == 2:
                module.fail_json(msg="%s; the data path is partly applied, re-run after fixing the cause" % error)
    return summary, diff, lives


def converge(module):
    params = module.params
    files = Files(module)
    units = SystemdUnits(module)
    specs = dict((side["bond"], bspec.from_side(side, params["probe"])) for side in params["sides"])
    check_overlaps(module, specs)
    engine_changed = install_engine(files, params)
    deployed = deployed_specs(module, params["config_dir"])
    stale = sorted(set(deployed) - set(specs))
    contents = dict((bond, bspec.dump(spec, params["managed_marker"]).encode("utf-8")) for bond, spec in specs.items())
    updated = sorted(bond for bond in specs if _read(bspec.spec_path(bond, params["config_dir"])) != contents[bond])
    states = units.show([UNIT % bond for bond in sorted(specs)])
    running = [bond for bond in specs
               if states.get(UNIT % bond, {}).get("ActiveState") in ("active", "activating", "reloading")]
    # Stop the watchdogs that would fight this run (their spec or code changes); they start
    # again below with the new spec, and stale ones stay off.
    to_stop = [bond for bond in running if bond in updated or engine_changed]
    units.run("disable", [UNIT % bond for bond in stale], "--now")
    units.run("stop", [UNIT % bond for bond in to_stop])
    for bond in sorted(specs):
        files.write(bspec.spec_path(bond, params["config_dir"]), contents[bond], 0o644)
    kernel_changes, kernel_diff, lives = converge_kernel(module, specs, deployed)
    for bond in stale:
        files.delete(bspec.spec_path(bond, params["config_dir"]))
        files.delete(bspec.live_path(bond, params["run_dir"]))
        files.delete(bspec.snapshot_path(bond, params["run_dir"]))
    to_enable = [UNIT % bond for bond in sorted(specs) if states.get(UNIT % bond, {}).get("UnitFileState") != "enabled"]
    to_start = [UNIT % bond for bond in sorted(specs) if bond not in running or bond in to_stop]
    units.run("enable", to_enable)
    units.run("start", to_start)
    report = [dict(bond=bond, role=spec["role"], balance=spec["balance"], live=lives[bond],
                   action="created" if bond not in deployed else "updated" if bond in updated else "unchanged")
              for bond, spec in sorted(specs.items())]
    return dict(
        changed=bool(files.diffs or kernel_changes or to_enable or to_start or stale),
        bonds=report, updated=updated, removed=stale, kernel_changes=kernel_changes,
        diff=files.diffs + ([kernel_diff] if kernel_changes else []),
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sides=dict(type="list", elements="dict", required=True),
            probe=dict(type="dict", default={}, options=dict(
                interval=dict(type="float", default=1.0),
                timeout=dict(type="float", default=1.0),
                down_after=dict(type="int", default=1),
                up_after=dict(type="int", default=2),
                verify_every=dict(type="float", default=10.0),
            )),
            config_dir=dict(type="path", default=bspec.CONFIG_DIR),
            run_dir=dict(type="path", default=bspec.RUN_DIR),
            lib_dir=dict(type="path", default="/usr/local/lib/bonded-openvpn"),
            managed_marker=dict(type="str", default="Ansible managed by bonded.openvpn"),
        ),
        supports_check_mode=True,
    )
    try:
        module.params["probe"] = bspec.check_probe(module.params["probe"])
    except bspec.SpecError as error:
        module.fail_json(msg="%s; nothing was changed" % error)
    module.exit_json(**converge(module))


if __name__ == "__main__":
    main()
