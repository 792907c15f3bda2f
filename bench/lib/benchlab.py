# -*- coding: utf-8 -*-
"""What the benchmarks in bench/ share beyond the lab library (lab/lablib): where results
go, logging, Markdown tables, and the lab library's calls under the names they use.

The benchmarks run through lab/run, which puts the venv's ansible-playbook on PATH and
sets CONTAINERS_CONF, LAB_IMAGE and ANSIBLE_COLLECTIONS_PATH. A benchmark prints
figures; it never gates anything.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from lablib import deploy, machine, podman  # noqa: E402
from lablib.deploy import changed_total, write_inventory  # noqa: E402,F401  pylint: disable=unused-import
from lablib.podman import GATEWAY_SYSCTLS, Lab, exec_in, run  # noqa: E402,F401  pylint: disable=unused-import

CACHE = os.path.join(ROOT, ".cache", "bench")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
load_average = machine.load_average


def log(message):
    print(message, flush=True)


def require_environment():
    podman.require_environment(os.path.relpath(sys.argv[0], ROOT))
    os.makedirs(CACHE, exist_ok=True)


def machine_summary():
    return machine.summary()


def other_containers(prefix):
    """Running containers that are not this benchmark's: other load on the machine."""
    return [name for name in podman.running() if not name.startswith(prefix)]


def cores_note(processes, generators):
    """Says when the OpenVPN processes (both gateways) and the traffic generators need
    more cores than the host has: then every figure is CPU-bound, not the bond's."""
    cores = os.cpu_count() or 1
    busy = processes + generators
    if busy <= cores:
        return "%d OpenVPN processes + %d traffic generators fit in %d cores" % (processes, generators, cores)
    return ("%d OpenVPN processes + %d traffic generators on %d cores: CPU-bound, more tunnels add contention, "
            "not capacity" % (processes, generators, cores))


def site(inventory, logfile, timer_out=None):
    return deploy.site(inventory, logfile, timer_out=timer_out, callback_dir=CALLBACKS)


def wait_live(gateways, bond, tunnels, timeout=90):
    return deploy.wait_live(gateways, bond, range(tunnels), timeout=timeout)


def format_table(headers, rows, align=None):
    """A GitHub-flavoured Markdown table (readable as plain text too)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([3, len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    align = align or ["l"] + ["r"] * (len(headers) - 1)

    def line(values):
        return "| " + " | ".join(
            value.rjust(width) if a == "r" else value.ljust(width)
            for value, width, a in zip(values, widths, align)) + " |"

    rule = "| " + " | ".join(
        ("-" * (width - 1) + ":") if a == "r" else "-" * width
        for width, a in zip(widths, align)) + " |"
    return "\n".join([line(headers), rule] + [line(row) for row in cells])
