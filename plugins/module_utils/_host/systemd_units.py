# -*- coding: utf-8 -*-
"""One place that talks to systemctl, in batches, and never acts in check mode."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

# InvocationID changes with every start: proof that a unit started after a given moment.
SHOW_PROPERTIES = ("Id", "ActiveState", "UnitFileState", "MainPID", "InvocationID")


class SystemdUnits(object):
    def __init__(self, module):
        self.module = module
        self.systemctl = module.get_bin_path("systemctl", required=True)

    def show(self, units):
        """Returns {unit: {ActiveState, UnitFileState, MainPID}} with one systemctl call."""
        if not units:
            return {}
        rc, out, err = self.module.run_command(
            [self.systemctl, "show", "--no-pager", "-p", ",".join(SHOW_PROPERTIES)] + list(units))
        if rc != 0:
            self.module.fail_json(msg="systemctl show failed: %s" % err.strip())
        states, current = {}, {}
        for line in out.splitlines() + [""]:
            if not line.strip():
                if current.get("Id"):
                    states[current["Id"]] = current
                current = {}
                continue
            key, dummy, value = line.partition("=")
            current[key] = value
        return states

    def run(self, verb, units, *flags):
        error = self.try_run(verb, units, *flags)
        if error:
            self.module.fail_json(msg=error)

    def try_run(self, verb, units, *flags):
        """Like ``run``, but returns the failure (None on success) for a caller that must
        clean up before it fails."""
        if not units or self.module.check_mode:
            return None
        rc, out, err = self.module.run_command([self.systemctl, verb] + list(flags) + list(units))
        if rc == 0:
            return None
        return ("systemctl %s %s failed: %s; see 'journalctl -u %s' on the host"
                % (verb, " ".join(units), (err or out).strip(), units[0]))
