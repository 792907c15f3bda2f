#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
    one routing table per tunnel; C(balance=flowlet) does the same per flowlet (a flow keeps
    its tunnel until it pauses for C(flowlet_gap) ms, one dynamic nftables set per tunnel);
    C(balance=flow) uses one multipath route with a weighted nexthop per tunnel. Either way the main table routes the peer's addresses into a live
    tunnel, so unmarked packets and loose C(rp_filter) find their way.
  - A bond with IPv6 inside (C(local_bundle6)) gets the same for its IPv6 destinations. Per
    packet and per flowlet, that is a second nftables table, C(ip6 bonded_openvpn_<bond>)
    (same map, same marks), an IPv6 fwmark rule per tunnel and an IPv6 default route in
    each tunnel's table. Per flow, it is a multipath route whose nexthops name the tunnels'
    far IPv6 transfer addresses.
  - With C(snat) (client side), sources behind the host leave every tunnel as the bundle
    address, so conntrack's one NAT mapping per flow is right whatever tunnel a packet takes.
    C(snat6) does the same for IPv6 (NAT66, to the IPv6 bundle address, in the C(ip6) table).
  - Writes one spec per bond (C(<config_dir>/<bond>.conf)) and installs the watchdog's code
    (the collection's C(_engine) module_utils, whole, the code this module runs) under O(lib_dir); the watchdog rebuilds the
    whole data path from the spec at boot and keeps dead tunnels out of it.
  - Removes everything of bonds that no longer name this host, and of tunnels beyond a
    lowered N. The cost does not grow with the number of tunnels or bonds - three kernel
    calls apply all changes (one atomic C(nft -f) among them), and a fourth, an
    C(ip -6 -batch), when IPv6 fwmark rules change.
  - On a client whose bond has C(uplinks), gives each uplink a routing table (its route out of
    its interface, C(unreachable) behind it) and an C(ip rule from <address>), so the uplink's
    OpenVPN instances leave by it whatever the main table says; tunnels that connected before
    their uplink's rule existed (the tunnels role starts them first) are told to reconnect
    through it.
  - For a bond with C(mptcp), on both sides, routes each tunnel's transfer address by a table
    of its own into its tunnel, keeps an MPTCP subflow endpoint for each tunnel in rotation
    (the watchdog makes it again when the tunnel returns), raises the host's MPTCP subflow
    limit to 8 (never lowers it), exempts the subflows from the spreading, adds the relay's
    DNAT and guard chains to the bond's table, and writes the relay units' files
    C(<config_dir>/<bond>.relay) and C(<config_dir>/<bond>.redsocks) (see docs/mptcp.md); the
    bond's watchdog restarts, with its relays, when they change.
  - Routes and rules it owns carry protocol 194; it never touches others.
  - Fails safe. When any step fails after the host was changed (C(nft -f) refusing the new
    table, say), it puts back the previous specs and watchdog code, brings the kernel back to
    the previous data path, starts again the watchdogs it had stopped, and then fails naming
    the bonds and the error; a watchdog is never left stopped by a failed run.
  - Before any change, on a client side, resolves the C(remote) it dials and refuses it when
    a route this host installs into any of its bonds (a peer's bundle or transfer address, a
    peer's networks) would cover that address, since the tunnels' own packets would then go
    into the tunnels. The planner checks IP addresses; a host name can only be checked on the
    host. C(playbooks/site.yml) checks the same in its preflight, before any host changes
    (M(bonded.openvpn.preflight)); here it guards the module used on its own.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
requirements:
  - iproute2 (C(ip))
  - nftables (C(nft))
  - systemd
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bonded.openvpn.config_dir.balance
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
      probes:
        description: ICMP echoes per tunnel and round, spread over the round (the loss test's samples).
        type: int
        default: 20
      loss_threshold:
        description:
          - How much more loss than the rest of the bond's (the other tunnels in rotation, pooled) a live
            tunnel's echoes must show to leave the spreading, judged echo by echo by a CUSUM test.
        type: float
        default: 0.03
      loss_window:
        description: Seconds of echoes the rest of the bond's loss and the median round-trip times are taken over.
        type: float
        default: 10.0
      rtt_factor:
        description: A live tunnel whose median round-trip time exceeds this many times the best tunnel's leaves the spreading.
        type: float
        default: 4.0
      rtt_margin:
        description: Seconds a round-trip time must also exceed the best one by to count as too slow.
        type: float
        default: 0.3
      hold:
        description:
          - Seconds a tunnel that left for loss or round-trip time must stay good before it returns (with at most
            half the loss threshold), and the least time between two such changes of one tunnel.
        type: float
        default: 10.0
  managed_marker:
    description: First line of every file written (without the comment sign).
    type: str
    default: Ansible managed by bonded.openvpn
  preserve:
    description:
      - Bonds to leave exactly as they are on this host, whether or not O(sides) names them;
        their spec, watchdog, nftables table, rules, routes and bundle address are not created,
        changed or removed.
      - For bonds whose peer cannot be reached in this run (the C(bonded.openvpn.bonded_openvpn_balance)
        role passes those); a warning names each preserved bond of O(sides) and its peer.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Spec files and kernel objects are shown in full; the watchdog's code by digest.
  platform:
    platforms: posix
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
preserved:
  description: Bonds of O(sides) left as they are because O(preserve) names them.
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

import importlib
import os
import pkgutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils import _engine
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import live_set as balance_live_set
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import lock as balance_lock
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import metrics as balance_metrics
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
# The watchdog imports the rest of the engine, so Ansible ships the whole package with this
# module; install_engine then installs it on the host as it came.
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog as balance_watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils._host import relay as balance_relay
from ansible_collections.bonded.openvpn.plugins.module_utils._host import remotes
from ansible_collections.bonded.openvpn.plugins.module_utils._host.file_journal import FileJournal as Files
from ansible_collections.bonded.openvpn.plugins.module_utils._host.files import read_bytes as _read
from ansible_collections.bonded.openvpn.plugins.module_utils._host.systemd_units import SystemdUnits

UNIT = layout.WATCHDOG_UNIT
ACTIVE = ("active", "activating", "reloading")
PACKAGE = layout.ENGINE_PACKAGE
# A watchdog holds its bond's lock for one round's apply: seconds at worst.
LOCK_WAIT = 30.0


class ApplyError(RuntimeError):
    """A step of the run failed after the host was changed: roll back, then fail."""


def _source(module):
    """A module_utils file's text, whether Ansible shipped it in a zip or it is on disk."""
    loader = getattr(module, "__loader__", None)
    source = loader.get_source(module.__name__) if hasattr(loader, "get_source") else None
    if source is None:
        with open(module.__file__) as handle:
            source = handle.read()
    return source.encode("utf-8")


def engine_files():
    """``{file name: module}`` of the watchdog's package: every module of ``_engine``, as
    the package is on disk or as Ansible shipped it (it ships what the watchdog imports,
    and the watchdog imports the whole engine; a unit test holds the two together)."""
    found = {}
    for info in pkgutil.iter_modules(_engine.__path__):
        module = importlib.import_module("%s.%s" % (_engine.__name__, info.name))
        found[info.name + ".py"] = module
    found["__init__.py"] = _engine
    return found


def install_engine(files, params):
    """Installs the watchdog's package; returns True when its code changed."""
    directory = os.path.join(params["lib_dir"], PACKAGE)
    header = ("# %s\n" % params["managed_marker"]).encode("utf-8")
    wanted = dict((name, header + _source(module)) for name, module in engine_files().items())
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
    return balance_live_set.read(bond, params["run_dir"])


def check_remotes(module, sides):
    """Refuses a client side whose routes (of any bond of this host) would cover an address
    it dials: the tunnels' own packets would then go into the tunnels. The preflight play of
    site.yml refuses the same before any host changes; here it guards this module used alone,
    and only this host's data path is known to be untouched (earlier tasks of the run may
    have changed its tunnels)."""
    problems, warnings, dummy = remotes.check(sides)
    for warning in warnings:
        module.warn(warning)
    if problems:
        module.fail_json(msg="%s (this host's data path was not changed)" % "; ".join(problems))


class WithoutPreserved(object):
    """A scope minus the kernel objects of preserved bonds (``kept``: their specs, as deployed or planned)."""

    def __init__(self, scope, kept, names):
        self.scope, self.names = scope, set(names)
        self.kept = [kernel.Scope.bond(spec) for spec in kept]
        self.addresses = scope.addresses - set(a for spec in kept for a in (spec["local_bundle"], spec.get("local_bundle6")))
        self.endpoints = scope.endpoints - kernel.mptcp_addresses(kept)

    def wants_ipv6(self):
        return self.scope.wants_ipv6()

    def has_rule(self, rule):
        return self.scope.has_rule(rule) and not any(kept.has_rule(rule) for kept in self.kept)

    def has_route(self, route):
        return self.scope.has_route(route) and not any(kept.has_route(route) for kept in self.kept)

    def has_nft_table(self, name):
        return self.scope.has_nft_table(name) and bspec.bond_of_nft_table(name) not in self.names


def converge_kernel(module, specs, deployed, lives=None, kept=()):
    """Brings the kernel to the data path of ``specs``; raises KernelError when it cannot.

    ``lives`` (bond -> live set) defaults to what each bond's watchdog last wrote; the
    kernel objects of ``kept`` (preserved bonds' specs) are out of scope, never touched."""
    params = module.params
    krn = kernel.Kernel(lambda argv, data=None: module.run_command(argv, data=data, binary_data=True), params["run_dir"])
    known = set(a for spec in list(specs.values()) + list(deployed.values()) if spec
                for a in (spec["local_bundle"], spec.get("local_bundle6")) if a)
    endpoints = kernel.mptcp_addresses(list(specs.values()) + list(deployed.values()))
    scope = WithoutPreserved(kernel.Scope.host(known, endpoints), kept, params["preserve"])
    locks = [balance_lock.lock_path(bond, params["run_dir"]) for bond in specs]
    try:
        with balance_lock.held(locks, LOCK_WAIT, create=not module.check_mode):
            return _converge_locked(module, krn, scope, specs, lives)
    except balance_lock.LockTimeout as error:
        raise kernel.KernelError("%s: another run of this module, or a bond's watchdog stuck in a round "
                                 "(journalctl -u 'bonded-openvpn-watchdog@*'), holds it" % error)


def _converge_locked(module, krn, scope, specs, lives):
    # Under the bonds' locks: the live sets read here are the ones their watchdogs' last
    # changes to the kernel went with.
    if lives is None:
        lives = dict((bond, bspec.effective_live(spec, live_set(module.params, bond))) for bond, spec in specs.items())
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
                            after=kernel.describe(want.addresses, want.rules, want.routes, want.nft, want.endpoints))
            if changes and not module.check_mode:
                krn.apply(changes)
                summary = summary + reconnect_riders(specs, want.rules - current.rules)
            break
        except kernel.KernelError:
            if attempt == 2:
                raise
    return summary, diff, lives


def reconnect_riders(specs, rules_added):
    """Client tunnels that connected before their uplink's rule existed (the tunnels role
    starts them first) reconnect through the uplink now: see balance_spec.riders_of."""
    return ["tunnel %s-%d (uplink %s): %s" % (bond, index, uplink, problem or "told to reconnect through it")
            for bond, spec in sorted(specs.items())
            for uplink, index, problem in balance_watchdog.reconnect_riders(spec, rules_added)]


def relay_files(specs, params):
    """``{bond: {path: content}}``: the relay's files of each bond with MPTCP (none without)."""
    marker = params["managed_marker"]
    found = {}
    for bond, spec in specs.items():
        found[bond] = {}
        if spec["mptcp"]:
            found[bond] = {balance_relay.env_path(bond, params["config_dir"]):
                           balance_relay.render_env(spec, marker).encode("utf-8"),
                           balance_relay.redsocks_path(bond, params["config_dir"]):
                           balance_relay.render_redsocks(spec, marker).encode("utf-8")}
    return found


def write_relay(files, wanted, paths):
    """Writes the relay files ``wanted`` ({path: content}) and deletes the others of ``paths``
    (a bond that dropped mptcp, or is gone): their units' conditions then keep them stopped."""
    for path in paths:
        if path in wanted:
            files.write(path, wanted[path], 0o644)
        else:
            files.delete(path)


def _unit_state(states, bond, key):
    return states.get(UNIT % bond, {}).get(key)


class Run(object):
    """One converge: what it changed on the host, so a failure can undo all of it."""

    def __init__(self, module):
        self.module, self.params = module, module.params
        self.files, self.units = Files(module), SystemdUnits(module)
        self.stopped, self.disabled, self.started, self.enabled = [], [], [], []
        self.kept = []

    def systemctl(self, verb, units, *flags):
        error = self.units.try_run(verb, units, *flags)
        if error:
            raise ApplyError(error)

    def rollback(self, specs, deployed, lives_before, running, enabled):
        """Puts back the files, the kernel's data path and the watchdogs as they were."""
        problems = self.files.restore()
        old = dict((bond, spec) for bond, spec in deployed.items() if spec and bond not in self.params["preserve"])
        # The new bonds' bundle addresses must be in scope, or they would stay on lo.
        known = dict(deployed, **dict(("new %s" % bond, spec) for bond, spec in specs.items()))
        try:
            converge_kernel(self.module, old, known, dict((bond, lives_before[bond]) for bond in old), self.kept)
        except kernel.KernelError as error:
            problems.append("data path: %s" % error)
        # Watchdogs this run started from scratch go; the ones it stopped or disabled come back.
        for verb, units in (("stop", [u for u in self.started if u not in running]),
                            ("disable", [u for u in self.enabled if u not in enabled]),
                            ("enable", [u for u in self.disabled if u in enabled]),
                            ("start", sorted(set(self.stopped + self.disabled) & set(running)))):
            error = self.units.try_run(verb, units)
            if error:
                problems.append(error)
        # A new bond's watchdog never ran: its lock file is this run's, and goes with it.
        for bond in sorted(set(specs) - set(deployed)):
            if not self.module.check_mode and os.path.exists(balance_lock.lock_path(bond, self.params["run_dir"])):
                os.unlink(balance_lock.lock_path(bond, self.params["run_dir"]))
        return problems


def converge(module):
    params = module.params
    run = Run(module)
    files, units = run.files, run.units
    preserve = set(params["preserve"])
    preserved = [side for side in params["sides"] if side["bond"] in preserve]
    for side in preserved:
        module.warn("bond '%s' (peer '%s') preserved: its data path and watchdog on this host are left exactly as "
                    "they are, not converged; run again once '%s' is reachable" % (side["bond"], side["peer"], side["peer"]))
    specs = dict((side["bond"], bspec.from_side(side, params["probe"], params["metrics_dir"] or None))
                 for side in params["sides"] if side["bond"] not in preserve)
    bspec.with_relay_to(list(specs.values()))
    check_overlaps(module, specs)
    check_remotes(module, params["sides"])
    deployed = deployed_specs(module, params["config_dir"])
    stale = sorted(set(deployed) - set(specs) - preserve)
    run.kept = [deployed[bond] for bond in sorted(preserve) if deployed.get(bond)]
    run.kept += [bspec.from_side(side) for side in preserved]
    contents = dict((bond, bspec.dump(spec, params["managed_marker"]).encode("utf-8")) for bond, spec in specs.items())
    relays = relay_files(specs, params)
    # A relay whose files change restarts with its bond's watchdog (the relay units are
    # PartOf= it), so a bond counts as updated when either changes.
    updated = sorted(bond for bond in specs if _read(bspec.spec_path(bond, params["config_dir"])) != contents[bond]
                     or any(_read(path) != content for path, content in relays[bond].items()))
    states = units.show([UNIT % bond for bond in sorted(set(specs) | set(stale))])
    running = [UNIT % bond for bond in sorted(set(specs) | set(stale)) if _unit_state(states, bond, "ActiveState") in ACTIVE]
    enabled = [UNIT % bond for bond in sorted(set(specs) | set(stale))
               if _unit_state(states, bond, "UnitFileState") == "enabled"]
    lives_before = dict((bond, bspec.effective_live(spec, live_set(params, bond)))
                        for bond, spec in deployed.items() if spec)
    try:
        engine_changed = install_engine(files, params)
        # Stop the watchdogs that would fight this run (their spec or code changes); they
        # start again below with the new spec, and stale ones stay off.
        to_stop = [UNIT % bond for bond in sorted(specs) if UNIT % bond in running and (bond in updated or engine_changed)]
        run.disabled = [UNIT % bond for bond in stale]
        run.systemctl("disable", run.disabled, "--now")
        run.stopped = to_stop
        run.systemctl("stop", to_stop)
        for bond in sorted(specs):
            files.write(bspec.spec_path(bond, params["config_dir"]), contents[bond], 0o644)
            write_relay(files, relays[bond], balance_relay.paths(bond, params["config_dir"]))
        kernel_changes, kernel_diff, lives = converge_kernel(module, specs, deployed, kept=run.kept)
        for bond in stale:
            files.delete(bspec.spec_path(bond, params["config_dir"]))
            write_relay(files, {}, balance_relay.paths(bond, params["config_dir"]))
            files.delete(bspec.live_path(bond, params["run_dir"]))
            for family in render.NFT_FAMILIES:
                files.delete(bspec.snapshot_path(bond, params["run_dir"], family))
            files.delete(balance_metrics.json_path(bond, params["run_dir"]))
            if (deployed.get(bond) or {}).get("metrics_dir"):
                files.delete(balance_metrics.path(bond, deployed[bond]["metrics_dir"]))
            # Its watchdog is stopped (above), so nobody holds or waits for this lock.
            files.delete(balance_lock.lock_path(bond, params["run_dir"]))
        run.enabled = [UNIT % bond for bond in sorted(specs) if UNIT % bond not in enabled]
        run.started = [UNIT % bond for bond in sorted(specs) if UNIT % bond not in running or UNIT % bond in to_stop]
        run.systemctl("enable", run.enabled)
        run.systemctl("start", run.started)
    except Exception as error:  # whatever failed, the host goes back: never a stopped watchdog
        problems = run.rollback(specs, deployed, lives_before, running, enabled)
        module.fail_json(msg=failure_message(sorted(set(updated) | set(stale)), error, problems))
    report = [dict(bond=bond, role=spec["role"], balance=spec["balance"], live=lives[bond],
                   action="created" if bond not in deployed else "updated" if bond in updated else "unchanged")
              for bond, spec in sorted(specs.items())]
    return dict(
        changed=bool(files.diffs or kernel_changes or run.enabled or run.started or stale),
        bonds=report, updated=updated, removed=stale, kernel_changes=kernel_changes,
        preserved=[side["bond"] for side in preserved],
        diff=files.diffs + ([kernel_diff] if kernel_changes else []),
    )


def failure_message(bonds, error, problems):
    scope = "bonds %s" % ", ".join("'%s'" % bond for bond in bonds) if bonds else "the data path"
    message = "%s: applying the new data path failed: %s. " % (scope, error)
    if not problems:
        return message + ("The previous specs, data path and watchdogs were restored, so the host is as it was "
                          "before this run; fix the cause and re-run")
    return message + ("Restoring the previous state was incomplete (%s); the watchdogs that could be started "
                      "run again. Fix the causes and re-run" % "; ".join(problems))


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
                probes=dict(type="int", default=20),
                loss_threshold=dict(type="float", default=0.03),
                loss_window=dict(type="float", default=10.0),
                rtt_factor=dict(type="float", default=4.0),
                rtt_margin=dict(type="float", default=0.3),
                hold=dict(type="float", default=10.0),
            )),
            metrics_dir=dict(type="str", default=layout.METRICS_DIR),
            config_dir=dict(type="path", default=layout.BALANCE_CONFIG_DIR),
            run_dir=dict(type="path", default=layout.BALANCE_RUN_DIR),
            lib_dir=dict(type="path", default=layout.ENGINE_LIB_DIR),
            managed_marker=dict(type="str", default="Ansible managed by bonded.openvpn"),
            preserve=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        module.params["probe"] = bspec.check_probe(module.params["probe"])
    except bspec.SpecError as error:
        module.fail_json(msg="%s; this host's data path was not changed" % error)
    module.exit_json(**converge(module))


if __name__ == "__main__":
    main()
