"""Deploying a lab with the real playbooks/site.yml from an inventory written here, and
waiting until a bond's watchdogs spread over every tunnel."""
import json
import os
import re
import subprocess
import time

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from lablib.podman import exec_in

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


# lab/connection/podman_pipe.py: containers.podman.podman with pipelining (one podman
# exec per task and host, not three); playbook() puts it on Ansible's plugin path.
CONNECTIONS = os.path.join(ROOT, "lab", "connection")


def write_inventory(path, gateways, bonds, extra_vars=None, connection="podman_pipe"):
    """A podman-connection inventory (JSON is YAML) with the bonds in all.vars."""
    variables = {
        "ansible_connection": connection,
        "ansible_python_interpreter": "/usr/bin/python3",
        "bonded_openvpn_pool": "10.255.0.0/16",
        "bonded_openvpn_bonds": bonds,
    }
    variables.update(extra_vars or {})
    inventory = {"all": {"vars": variables,
                         "children": {"gateways": {"hosts": dict((name, {}) for name in gateways)}}}}
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=2)
        handle.write("\n")


def playbook(inventory, name, extra_env=None):
    """Runs playbooks/<name> with plain, uncoloured output; returns the finished process
    (returncode, stdout with stderr in it)."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_CONNECTION_PLUGINS=CONNECTIONS, ANSIBLE_PIPELINING="1")
    env.update(extra_env or {})
    return subprocess.run(["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", name)],
                          cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False)


def site(inventory, logfile, timer_out=None, callback_dir=None):
    """Runs playbooks/site.yml; returns (seconds, {host: {ok, changed, ...}}). The whole
    output goes to logfile; a failure raises with its tail. timer_out: where the
    bench_timer callback (in callback_dir) writes each task's wall time (JSON)."""
    timer = dict(ANSIBLE_CALLBACK_PLUGINS=callback_dir, ANSIBLE_CALLBACKS_ENABLED="bench_timer",
                 BENCH_TIMER_OUT=timer_out) if timer_out else None
    started = time.monotonic()
    proc = playbook(inventory, "site.yml", timer)
    seconds = time.monotonic() - started
    with open(logfile, "w") as handle:
        handle.write(proc.stdout)
    recap = {}
    for line in proc.stdout.splitlines():
        match = RECAP.match(line.strip())
        if match:
            host, ok, changed, unreachable, failed = match.groups()
            recap[host] = {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable),
                           "failed": int(failed)}
    if proc.returncode != 0 or any(r["failed"] or r["unreachable"] for r in recap.values()):
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise RuntimeError("site.yml failed (rc=%d, log %s):\n%s" % (proc.returncode, logfile, tail))
    return seconds, recap


def changed_total(recap):
    return sum(r["changed"] for r in recap.values())


# The watchdog's own reader of the live set, run on the gateway (_engine/live_set.py).
READ_LIVE = ["env", "PYTHONPATH=%s" % layout.ENGINE_LIB_DIR, "python3", "-m", "%s.live_set" % layout.ENGINE_PACKAGE]


def live_state(gateway, bond):
    """``{"live": [...] or None, "all_kept": bool}`` as the gateway's watchdog last wrote it."""
    proc = exec_in(gateway, READ_LIVE + [bond, "--json"], check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else {"live": None, "all_kept": False}


def live_set(gateway, bond):
    """The tunnels the gateway's watchdog spreads over, or None while it keeps all."""
    state = live_state(gateway, bond)
    return None if state["all_kept"] else state["live"]


def wait_live(gateways, bond, want, timeout=90):
    """Until both watchdogs spread over exactly the tunnels in want (probed, not 'all
    kept'); returns the seconds it took."""
    want = sorted(want)
    started = time.monotonic()
    last = {}
    while time.monotonic() - started < timeout:
        last = dict((name, live_set(name, bond)) for name in gateways)
        if all(value == want for value in last.values()):
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError("bond %s: the watchdogs did not spread over tunnels %s within %d s: %s"
                       % (bond, want, timeout, last))
