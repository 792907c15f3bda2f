"""Podman networks and containers for the lab: create, wait for systemd, remove on exit,
error, Ctrl-C or SIGTERM. One implementation for the demo, the benchmarks and the gate."""
import os
import signal
import subprocess
import sys
import time

# The sysctls the kernel role requires of a gateway, set at creation: /proc/sys is
# read-only inside a container.
GATEWAY_SYSCTLS = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.rp_filter": 2,
    "net.ipv4.conf.default.rp_filter": 2,
    "net.ipv4.fib_multipath_hash_policy": 1,
}


def run(argv, check=True, capture=True, timeout=None, stdin=None):
    """Runs a command; returns CompletedProcess (text). Raises with its output on failure."""
    proc = subprocess.run(argv, check=False, text=True, timeout=timeout, input=stdin,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        raise RuntimeError("command failed (rc=%d): %s\n%s%s" % (
            proc.returncode, " ".join(argv), proc.stdout or "", proc.stderr or ""))
    return proc


def exec_in(container, argv, check=True, timeout=None, stdin=None):
    interactive = ["-i"] if stdin is not None else []
    return run(["podman", "exec"] + interactive + [container] + list(argv), check=check,
               timeout=timeout, stdin=stdin)


def exists(kind, name):
    return run(["podman", kind, "exists", name], check=False).returncode == 0


def require_environment(script):
    """Stops with what to do when the script was not started through lab/run or the image
    is missing."""
    missing = [name for name in ("LAB_IMAGE", "CONTAINERS_CONF") if not os.environ.get(name)]
    if missing:
        sys.exit("%s not set: run this through lab/run (e.g. lab/run %s)" % (", ".join(missing), script))
    if not exists("image", os.environ["LAB_IMAGE"]):
        sys.exit("lab image %s is missing: run lab/build-image (make image) first" % os.environ["LAB_IMAGE"])


def remove(containers=(), networks=()):
    """Removes the named containers and networks that exist; absent ones are fine."""
    present = [name for name in containers if exists("container", name)]
    if present:
        run(["podman", "rm", "-f", "-t", "0"] + present, check=False)
    for name in networks:
        if exists("network", name):
            run(["podman", "network", "rm", "-f", name], check=False)


def running(prefix=""):
    """Names of running containers (whose name starts with prefix)."""
    out = run(["podman", "ps", "--format", "{{.Names}}"], check=False).stdout or ""
    return [name for name in out.split() if name.startswith(prefix)]


class Lab(object):
    """The containers and networks one user creates. teardown() removes them (unless
    keep); SIGTERM is turned into KeyboardInterrupt so that callers' cleanup runs."""

    def __init__(self, keep=False, label=None):
        self.containers, self.networks, self.keep, self.label = [], [], keep, label
        self._old_term = signal.signal(signal.SIGTERM, self._on_term)

    @staticmethod
    def _on_term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")

    def _labels(self):
        return ["--label", self.label] if self.label else []

    def network(self, name, subnet, internal=False):
        remove(networks=[name])
        argv = ["podman", "network", "create", "--subnet", subnet] + self._labels()
        run(argv + (["--internal"] if internal else []) + [name])
        self.networks.append(name)

    def container(self, name, networks, sysctls=None, tun=False):
        """networks: [(network, ip)]; the first one carries the default route."""
        remove(containers=[name])
        argv = ["podman", "run", "-d", "--name", name, "--hostname", name, "--systemd=always",
                "--cap-add", "NET_ADMIN"] + self._labels()
        if tun:
            argv += ["--device", "/dev/net/tun"]
        argv += ["--network=%s:ip=%s" % pair for pair in networks]
        argv += ["--sysctl=%s=%s" % item for item in sorted((sysctls or {}).items())]
        self.containers.append(name)
        run(argv + [os.environ["LAB_IMAGE"], "/sbin/init"])

    def wait_booted(self, timeout=180):
        """Until systemd in every container says running (or degraded). Right after
        `podman run` even `systemctl --wait` can fail (no bus yet): ask until the deadline."""
        deadline = time.monotonic() + timeout
        for name in self.containers:
            state = ""
            while True:
                try:
                    proc = exec_in(name, ["systemctl", "is-system-running", "--wait"], check=False,
                                   timeout=max(1, deadline - time.monotonic()))
                    state = proc.stdout.strip() or proc.stderr.strip()
                except subprocess.TimeoutExpired:
                    state = "no answer"
                if state in ("running", "degraded"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("%s: systemd is %r, not running, after %d s" % (name, state, timeout))
                time.sleep(0.5)

    def route(self, container, destinations, via):
        for destination in destinations:
            exec_in(container, ["ip", "route", "replace", destination, "via", via])

    def teardown(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.keep:
            print("kept (--keep): containers %s, networks %s" % (
                " ".join(self.containers), " ".join(self.networks)), flush=True)
        else:
            remove(self.containers, self.networks)
            self.containers, self.networks = [], []
        signal.signal(signal.SIGTERM, self._old_term)
