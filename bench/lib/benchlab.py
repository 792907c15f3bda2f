# -*- coding: utf-8 -*-
"""Shared helpers of the benchmarks in bench/: podman containers and networks, deploying
with playbooks/site.yml from an inventory written here, reading what ran.

Standard library only. The benchmarks run through lab/run, which puts the venv's
ansible-playbook on PATH and sets CONTAINERS_CONF, LAB_IMAGE and ANSIBLE_COLLECTIONS_PATH.
A benchmark prints figures; it never gates anything.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, ".cache", "bench")

# What molecule/datapath gives its gateways: the sysctls the kernel role requires, set at
# creation because /proc/sys is read-only inside a container.
GATEWAY_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.rp_filter": 2,
    "net.ipv4.conf.default.rp_filter": 2,
    "net.ipv4.fib_multipath_hash_policy": 1,
}


def log(message):
    print(message, flush=True)


def run(argv, check=True, capture=True, timeout=None, stdin=None):
    """Runs a command; returns CompletedProcess (text). Raises with its output on failure."""
    proc = subprocess.run(argv, check=False, text=True, timeout=timeout, input=stdin,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        raise RuntimeError("command failed (rc=%d): %s\n%s%s" % (
            proc.returncode, " ".join(argv), proc.stdout or "", proc.stderr or ""))
    return proc


def exec_in(container, argv, check=True, timeout=None):
    return run(["podman", "exec", container] + list(argv), check=check, timeout=timeout)


def require_environment():
    missing = [name for name in ("LAB_IMAGE", "CONTAINERS_CONF") if not os.environ.get(name)]
    if missing:
        sys.exit("%s not set: run this through lab/run (e.g. lab/run %s)" % (
            ", ".join(missing), os.path.relpath(sys.argv[0], ROOT)))
    if run(["podman", "image", "exists", os.environ["LAB_IMAGE"]], check=False).returncode:
        sys.exit("lab image %s is missing: run lab/build-image (make image) first"
                 % os.environ["LAB_IMAGE"])
    os.makedirs(CACHE, exist_ok=True)


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def machine_summary():
    """nproc, CPU model and AES support, kernel: what the figures depend on."""
    model, flags = "?", set()
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "?":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "aes_ni": "aes" in flags,
        "kernel": os.uname().release,
        "load_average": load_average(),
    }


def other_containers(prefix):
    """Running containers that are not this benchmark's: other load on the machine."""
    out = run(["podman", "ps", "--format", "{{.Names}}"], check=False).stdout or ""
    return [name for name in out.split() if not name.startswith(prefix)]


class Lab(object):
    """Containers and networks this benchmark creates, removed on exit, error, Ctrl-C or
    SIGTERM (unless keep=True)."""

    def __init__(self, keep=False):
        self.containers, self.networks, self.keep = [], [], keep
        self._old_term = signal.signal(signal.SIGTERM, self._on_term)

    @staticmethod
    def _on_term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")

    def network(self, name, subnet, internal=False):
        self.remove_network(name)
        argv = ["podman", "network", "create", "--subnet", subnet]
        if internal:
            argv.append("--internal")
        run(argv + [name])
        self.networks.append(name)

    def container(self, name, networks, sysctls=None, tun=False):
        """networks: [(network, ip)]; the first one carries the default route."""
        run(["podman", "rm", "-f", "-t", "0", name], check=False)
        argv = ["podman", "run", "-d", "--name", name, "--hostname", name,
                "--systemd=always", "--cap-add", "NET_ADMIN"]
        if tun:
            argv += ["--device", "/dev/net/tun"]
        for network, address in networks:
            argv.append("--network=%s:ip=%s" % (network, address))
        for key, value in sorted((sysctls or {}).items()):
            argv.append("--sysctl=%s=%s" % (key, value))
        self.containers.append(name)
        run(argv + [os.environ["LAB_IMAGE"], "/sbin/init"])

    def wait_booted(self, timeout=180):
        """Until systemd in every container says running (or degraded); an exec into a
        container that is still starting fails, and is retried."""
        deadline = time.monotonic() + timeout
        for name in self.containers:
            state = ""
            while time.monotonic() < deadline:
                try:
                    proc = exec_in(name, ["systemctl", "is-system-running", "--wait"],
                                   check=False, timeout=max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    break
                state = (proc.stdout.strip() or proc.stderr.strip())
                if proc.stdout.strip() in ("running", "degraded"):
                    break
                time.sleep(1)
            else:
                raise RuntimeError("%s did not boot within %d s: %s" % (name, timeout, state))
            if state not in ("running", "degraded"):
                raise RuntimeError("%s did not boot within %d s: %s" % (name, timeout, state))

    @staticmethod
    def remove_network(name):
        if run(["podman", "network", "exists", name], check=False).returncode == 0:
            run(["podman", "network", "rm", "-f", name], check=False)

    def remove_containers(self, names=None):
        names = list(names if names is not None else self.containers)
        if names:
            run(["podman", "rm", "-f", "-t", "0"] + names, check=False)
        self.containers = [name for name in self.containers if name not in names]

    def teardown(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.keep:
            log("kept (--keep): containers %s, networks %s" % (
                " ".join(self.containers), " ".join(self.networks)))
            return
        self.remove_containers()
        for name in self.networks:
            self.remove_network(name)
        self.networks = []
        signal.signal(signal.SIGTERM, self._old_term)


def write_inventory(path, gateways, bonds, extra_vars=None):
    """A podman-connection inventory (JSON is YAML) with the bonds in all.vars."""
    variables = {
        "ansible_connection": "containers.podman.podman",
        "ansible_python_interpreter": "/usr/bin/python3",
        "bonded_openvpn_pool": "10.255.0.0/16",
        "bonded_openvpn_bonds": bonds,
    }
    variables.update(extra_vars or {})
    inventory = {"all": {"vars": variables,
                         "children": {"gateways": {"hosts": {name: {} for name in gateways}}}}}
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=2)
        handle.write("\n")


RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def site(inventory, logfile, timer_out=None):
    """Runs playbooks/site.yml; returns (seconds, {host: {ok, changed, ...}}). The whole
    output goes to logfile; a failure raises with its tail. timer_out: where the
    bench_timer callback writes each task's wall time (JSON)."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_RETRY_FILES_ENABLED="0")
    if timer_out:
        env.update(ANSIBLE_CALLBACK_PLUGINS=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_timer", BENCH_TIMER_OUT=timer_out)
    started = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", inventory,
                           os.path.join(ROOT, "playbooks", "site.yml")],
                          cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    with open(logfile, "w") as handle:
        handle.write(proc.stdout)
    recap = {}
    for line in proc.stdout.splitlines():
        match = RECAP.match(line.strip())
        if match:
            host, ok, changed, unreachable, failed = match.groups()
            recap[host] = {"ok": int(ok), "changed": int(changed),
                           "unreachable": int(unreachable), "failed": int(failed)}
    if proc.returncode != 0 or any(r["failed"] or r["unreachable"] for r in recap.values()):
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise RuntimeError("site.yml failed (rc=%d, log %s):\n%s" % (proc.returncode, logfile, tail))
    return seconds, recap


def changed_total(recap):
    return sum(r["changed"] for r in recap.values())


def wait_live(gateways, bond, tunnels, timeout=90):
    """Waits until both watchdogs spread over every tunnel (probed, not 'all kept')."""
    want = [str(index) for index in range(tunnels)]
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        whole = True
        for name in gateways:
            proc = exec_in(name, ["cat", "/run/bonded-openvpn/balance/%s.live" % bond], check=False)
            text = proc.stdout if proc.returncode == 0 else ""
            lines = [line for line in text.splitlines() if line and not line.startswith("#")]
            last[name] = text.strip()
            if "all kept" in text or lines != want:
                whole = False
        if whole:
            return
        time.sleep(1)
    raise RuntimeError("the bond did not become whole within %d s: %s" % (timeout, last))


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
