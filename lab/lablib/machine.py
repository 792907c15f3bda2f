"""What the host was doing while figures were taken: cores, CPU model, load, CPU busy."""
import os


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def summary():
    """nproc, CPU model and AES support, kernel: what the figures depend on."""
    model, flags = "?", set()
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            key, dummy, value = line.partition(":")
            if key.strip() == "model name" and model == "?":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    return {"nproc": os.cpu_count(), "cpu": model, "aes_ni": "aes" in flags,
            "kernel": os.uname().release, "load_average": load_average()}


def _cpu_fields():
    """The machine's line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal, ..."""
    with open("/proc/stat") as handle:
        return [int(value) for value in handle.readline().split()[1:]]


def cpu_times():
    """(total, idle) jiffies of the whole machine."""
    fields = _cpu_fields()
    return sum(fields), fields[3] + fields[4]


def cpu_ticks():
    """(busy, steal, total) jiffies: busy without idle, iowait or steal, which on a VM is
    time the hypervisor gave to someone else, not work done here."""
    fields = _cpu_fields()[:8]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq, steal, sum(fields)


def cpu_shares(before, after):
    """Busy and steal as fractions of all the machine's CPU time between two cpu_ticks()."""
    busy, steal, total = (b - a for a, b in zip(before, after))
    return {"busy": round(busy / float(total or 1), 3), "steal": round(steal / float(total or 1), 3)}


def busy_percent(before, after):
    total = after[0] - before[0] or 1
    return round(100.0 * (1 - (after[1] - before[1]) / float(total)), 1)


def _cgroup_usage_ns(path):
    """CPU time a cgroup used (ns): cgroup v1 cpuacct or v2 cpu.stat; None if unreadable."""
    try:
        with open("/sys/fs/cgroup/cpuacct%s/cpuacct.usage" % path) as handle:
            return int(handle.read())
    except (IOError, OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup%s/cpu.stat" % path) as handle:
            for line in handle:
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) * 1000
    except (IOError, OSError, ValueError):
        pass
    return None


class ContainerCpu(object):
    """CPU the named containers used, as a percentage of the whole machine: what the lab
    itself cost, apart from whatever else runs on the host."""

    def __init__(self, containers):
        from lablib.podman import run
        self.paths = [run(["podman", "inspect", "--format", "{{.State.CgroupPath}}", name]).stdout.strip()
                      for name in containers]

    def sample(self):
        import time
        values = [_cgroup_usage_ns(path) for path in self.paths]
        return time.monotonic(), None if None in values else sum(values)

    @staticmethod
    def percent(before, after):
        if before[1] is None or after[1] is None:
            return None
        wall = (after[0] - before[0]) * 1e9 * (os.cpu_count() or 1)
        return round(100.0 * (after[1] - before[1]) / wall, 1) if wall else None
