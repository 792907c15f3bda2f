"""A playbook run the way AWX runs it in an execution environment, through ansible-runner's
streaming: `ansible-runner transmit` on the controller (this host) packs the job, `ansible-runner
worker` in the EE container runs it with the stream on its stdin and stdout (as Receptor runs
it: podman run -i), and `ansible-runner process` on the controller unpacks the events and
artifacts. Only the worker's stdout is read; its stderr is kept in a log and never parsed, so a
container runtime's warnings there cannot break a proof.

lab/ee/prove uses it; the hosts are reached over SSH with a key given as AWX gives a
machine credential (env/ssh_key, which ansible-runner loads into an ssh-agent).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import time

# What ansible prints when it warns: its own warnings and deprecations, and a Python
# warning (e.g. "CryptographyDeprecationWarning: ...") that reaches the job's output.
WARNING = re.compile(r"\[(?:DEPRECATION )?WARNING\]|\b[A-Za-z]*Warning: ")
RESULT_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")


class JobFailed(RuntimeError):
    pass


def prepare(private, inventory, ssh_key, playbook_fqcn, envvars):
    """A private data directory as AWX lays it out: project/ with a playbook that imports the
    collection's playbook, inventory/, env/ssh_key and env/envvars."""
    shutil.rmtree(private, ignore_errors=True)
    for sub in ("project", "inventory", "env"):
        os.makedirs(os.path.join(private, sub))
    with open(os.path.join(private, "project", "main.yml"), "w") as handle:
        handle.write("- name: The collection's playbook, as a project of AWX runs it\n"
                     "  ansible.builtin.import_playbook: %s\n" % playbook_fqcn)
    with open(os.path.join(private, "inventory", "hosts.json"), "w") as handle:
        json.dump(inventory, handle, indent=2)
    shutil.copy(ssh_key, os.path.join(private, "env", "ssh_key"))
    with open(os.path.join(private, "env", "envvars"), "w") as handle:
        json.dump(envvars, handle)


def _pipe(argv, stdin_path, stdout_path, stderr_path):
    with open(stdin_path, "rb") as given, open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        return subprocess.run(argv, stdin=given, stdout=out, stderr=err, check=False).returncode


def run(image, network, private, ident, logs):
    """transmit | worker (in the EE) | process; returns (seconds, events sorted by counter).
    Raises JobFailed when a step fails, naming its stderr log."""
    os.makedirs(logs, exist_ok=True)
    stream = dict((step, os.path.join(logs, "%s-%s" % (ident, step))) for step in ("transmit", "worker", "process"))
    started = time.monotonic()
    with open(stream["transmit"] + ".out", "wb") as out, open(stream["transmit"] + ".err", "wb") as err:
        rc = subprocess.run(["ansible-runner", "transmit", private, "--ident", ident, "-p", "main.yml"],
                            stdout=out, stderr=err, check=False).returncode
    steps = [("transmit", rc)]
    if rc == 0:
        steps.append(("worker", _pipe(["podman", "run", "-i", "--rm", "--network", network, image,
                                       "ansible-runner", "worker"],
                                      stream["transmit"] + ".out", stream["worker"] + ".out", stream["worker"] + ".err")))
    if steps[-1][1] == 0:
        steps.append(("process", _pipe(["ansible-runner", "process", private, "--ident", ident],
                                       stream["worker"] + ".out", stream["process"] + ".out",
                                       stream["process"] + ".err")))
    seconds = time.monotonic() - started
    step, rc = steps[-1]
    if rc != 0:
        with open(stream[step] + ".err", errors="replace") as handle:
            tail = "\n".join(handle.read().splitlines()[-20:])
        raise JobFailed("ansible-runner %s failed (rc=%d, %s.err):\n%s" % (step, rc, stream[step], tail))
    events = []
    for path in glob.glob(os.path.join(private, "artifacts", ident, "job_events", "*.json")):
        with open(path) as handle:
            events.append(json.load(handle))
    return seconds, sorted(events, key=lambda event: event["counter"])


def task_label(event_data):
    """A task as --list-tasks names it: "namespace.collection.role : task", or the task's name
    (a task start carries it as "name"; a result has the role and the task apart)."""
    if event_data.get("name"):
        return event_data["name"]
    role = event_data.get("resolved_role")
    return "%s : %s" % (role, event_data.get("task")) if role else event_data.get("task")


def data(event):
    return event.get("event_data") or {}


def summary(events):
    """What a proof checks in a job's events: the recap per host, the tasks started, the
    hosts each task reported on, and every warning (in the output or in a result)."""
    stats = [data(event) for event in events if event["event"] == "playbook_on_stats"]
    recap = {}
    if stats:
        hosts = set()
        for key in ("ok", "changed", "failures", "dark", "skipped"):
            hosts.update(stats[-1].get(key) or {})
        for host in hosts:
            recap[host] = dict((key, (stats[-1].get(key) or {}).get(host, 0))
                               for key in ("ok", "changed", "failures", "dark", "skipped"))
    started = [data(event) for event in events if event["event"] == "playbook_on_task_start"]
    reported = {}
    for event in events:
        if event["event"] in RESULT_EVENTS:
            reported.setdefault(data(event).get("task_uuid"), set()).add(data(event).get("host"))
    warnings = [line.strip() for event in events for line in (event.get("stdout") or "").splitlines()
                if WARNING.search(line)]
    for event in events:
        result = data(event).get("res")
        if isinstance(result, dict):
            for key in ("warnings", "deprecations"):
                warnings += ["%s: %s: %s" % (task_label(data(event)), key, item)
                             for item in result.get(key) or []]
    return {"recap": recap, "tasks": [task_label(task) for task in started],
            # A meta task (flush_handlers) reports on no host; every other task must.
            "silent": [task_label(task) for task in started if not reported.get(task.get("task_uuid"))
                       and task.get("resolved_action") != "ansible.builtin.meta"],
            "warnings": warnings, "has_stats": bool(stats)}


def listed_tasks(output):
    """Task names from `ansible-playbook --list-tasks` ("role : name<TAB>TAGS: [...]")."""
    return [line.split("\tTAGS:")[0].strip() for line in output.splitlines() if "\tTAGS:" in line
            and not line.strip().startswith("play #")]
