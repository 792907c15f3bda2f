"""A recording stand-in for module_utils._host.systemd_units, shared by the module tests."""
import itertools


class RecordingSystemd(object):
    """Keeps unit states in memory; records every batch the module asks for.

    ``failures`` injects what goes wrong when a unit is (re)started: "crash" (the process
    exits, systemd retries: the unit sits in "activating"), "refused" (systemctl fails and
    the old process keeps running the old config) or "lost" (the module dies mid-call).
    """
    units = {}
    calls = []
    failures = {}
    invocations = itertools.count(1)

    def __init__(self, module):
        self.module = module

    @classmethod
    def install(cls, monkeypatch, module):
        """Fresh unit states, and ``module``'s SystemdUnits replaced by this stand-in."""
        cls.units, cls.calls, cls.failures = {}, [], {}
        monkeypatch.setattr(module, "SystemdUnits", cls)

    def show(self, units):
        return dict((u, dict(RecordingSystemd.units.get(u, {"ActiveState": "inactive", "UnitFileState": "disabled"})))
                    for u in units)

    def try_run(self, verb, units, *flags):
        if not units or self.module.check_mode:
            return None
        RecordingSystemd.calls.append((verb, sorted(units)))
        failed = []
        for unit in units:
            state = RecordingSystemd.units.setdefault(unit, {"ActiveState": "inactive", "UnitFileState": "disabled"})
            failure = RecordingSystemd.failures.get(unit) if verb in ("start", "restart") else None
            if failure == "lost":
                raise KeyboardInterrupt("connection to the host lost")
            if failure:
                failed.append(unit)
                if failure == "crash":
                    state.update(ActiveState="activating", InvocationID=str(next(RecordingSystemd.invocations)))
            elif verb == "enable":
                state["UnitFileState"] = "enabled"
            elif verb in ("start", "restart"):
                state.update(ActiveState="active", InvocationID=str(next(RecordingSystemd.invocations)))
            elif verb == "disable":
                state.update(ActiveState="inactive", UnitFileState="disabled")
            elif verb == "stop":
                state["ActiveState"] = "inactive"
        return "systemctl %s failed for %s" % (verb, ", ".join(failed)) if failed else None

    def run(self, verb, units, *flags):
        error = self.try_run(verb, units, *flags)
        if error:
            self.module.fail_json(msg=error)
