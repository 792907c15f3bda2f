"""A role variable that calls one of the collection's filters is templated again in every task
that uses it, and each time the filter is loaded in that task's worker: measured at about
60 ms a host-task (a play of 40 tasks on 4 hosts took 16 s instead of 8). The roles read such
values once per host into a fact (the layout, the plan) and their variables refer to the fact."""
import glob
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_no_role_variable_calls_a_collection_filter():
    offenders = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "vars", "*.yml"))
                       + glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "*.yml"))):
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                if "bonded.openvpn." in line and not line.lstrip().startswith("#"):
                    offenders.append("%s:%d" % (os.path.relpath(path, ROOT), number))
    assert offenders == []


def test_the_roles_read_the_layout_once_per_host_before_anything_else():
    for role in ("bonded_openvpn_install", "bonded_openvpn_kernel", "bonded_openvpn_balance"):
        with open(os.path.join(ROOT, "roles", role, "tasks", "main.yml")) as handle:
            first = handle.read().split("\n- name: ", 2)[1]
        assert first.startswith("Read the names and paths the collection puts on hosts"), role
        assert "none | bonded.openvpn.layout" in first and "__bonded_openvpn_layout is not defined" in first, role
