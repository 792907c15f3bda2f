"""A stand-in host for balance_datapath: the kernel objects that ``ip`` and ``nft`` manage,
kept in memory and changed by the same commands the module sends, plus systemd's view of
the watchdog units. Failures are injected per command, so a test can break a run halfway
and then compare the host with what it was before."""
import copy
import json

from module_run import run_module


class FakeKernel(object):
    def __init__(self, interfaces):
        self.addresses, self.rules, self.routes, self.nft = set(), set(), {}, {}
        self.endpoints, self.subflow_limit, self.next_endpoint_id = {}, 2, 1   # address -> (id, dev)
        self.interfaces = list(interfaces)
        self.fail = {}      # "nft" or "ip-batch" -> stderr of the failure
        self.crash = None   # "nft": the module dies in that call (a lost host)
        self.calls = []

    def state(self):
        return copy.deepcopy((self.addresses, self.rules, self.routes, self.nft, self.endpoints))

    def __call__(self, argv, data=None):
        self.calls.append(argv)
        if argv[:4] == ["ip", "-N", "-j", "addr"]:
            info = [{"family": "inet6", "local": a, "prefixlen": 128} if ":" in a else
                    {"family": "inet", "local": a, "prefixlen": 32} for a in sorted(self.addresses)]
            return 0, json.dumps([{"ifname": "lo", "addr_info": info}]), ""
        if [a for a in argv if a != "-6"][:4] == ["ip", "-N", "-j", "rule"]:
            # ip shows one family's rules: IPv4 unless told -6.
            version = 6 if "-6" in argv else 4
            return 0, json.dumps([dict({"priority": p, "table": str(t), "protocol": "194"},
                                       **({"fwmark": hex(m)} if src is None else {"src": src}))
                                  for p, m, t, src, v in sorted(self.rules, key=str) if v == version]), ""
        if argv == ["ip", "-j", "mptcp", "endpoint", "show"]:
            return 0, json.dumps([{"address": a, "id": i, "subflow": True, "dev": dev}
                                  for a, (i, dev) in sorted(self.endpoints.items())]), ""
        if argv == ["ip", "mptcp", "limits", "show"]:
            return 0, "add_addr_accepted 0 subflows %d \n" % self.subflow_limit, ""
        if [a for a in argv if a not in ("-4", "-6")][:4] == ["ip", "-N", "-j", "route"]:
            # As ip shows them: both families without -4 or -6 ('table all'), and an IPv6
            # unreachable route on dev lo.
            shown = [dict(r, dev="lo") if r.get("type") == "unreachable" and ":" in r["dst"] else r
                     for r in self.routes.values() if "-4" not in argv or ":" not in r["dst"]
                     if "-6" not in argv or ":" in r["dst"]]
            # ip prints a host route without its prefix length, and a default route as "default".
            shown = [dict(r, dst=r["dst"].rsplit("/", 1)[0]) if r["dst"].endswith(("/32", "/128")) else
                     dict(r, dst="default") if r["dst"] in ("0.0.0.0/0", "::/0") else r for r in shown]
            return 0, json.dumps(shown), ""
        if argv[:4] == ["ip", "-N", "-j", "link"]:
            return 0, json.dumps([{"ifname": name, "ifindex": 10 + i, "flags": ["UP", "LOWER_UP"]}
                                  for i, name in enumerate(self.interfaces)]), ""
        if argv[:3] == ["nft", "list", "tables"]:
            return 0, "".join("table %s %s\n" % key for key in sorted(self.nft) if key[0] in argv[3:] or not argv[3:]), ""
        if [a for a in argv if a != "-t"][:3] == ["nft", "list", "table"]:
            key = tuple(argv[-2:])
            return (0, self.nft[key], "") if key in self.nft else (1, "", "No such file or directory")
        if argv == ["nft", "-f", "-"]:
            return self._nft(data)
        if argv[:3] == ["ip", "-force", "-batch"]:
            return self._batch(data, 4)
        if argv[:4] == ["ip", "-6", "-force", "-batch"]:
            return self._batch(data, 6)
        raise AssertionError("unexpected command %r" % (argv,))

    def _nft(self, script):
        if self.crash == "nft":
            raise KeyboardInterrupt("connection to the host lost")
        if "nft" in self.fail:
            return 1, "", self.fail["nft"]
        tables, block = dict(self.nft), None
        for line in script.splitlines():
            words = line.split()
            if block is None and not words:
                continue
            if block is not None:
                block[1].append(line)
                if line == "}":
                    tables[block[0]] = "\n".join(block[1]) + "\n"
                    block = None
            elif words[0] == "table" and line.endswith("{"):
                block = (tuple(words[1:3]), [line])
            elif words[0] == "table":
                tables.setdefault(tuple(words[1:3]), "table %s %s {\n}\n" % tuple(words[1:3]))
            elif words[:2] == ["delete", "table"]:
                del tables[tuple(words[2:4])]
        self.nft = tables  # one transaction: all or nothing
        return 0, "", ""

    def _batch(self, text, version):
        lines = text.splitlines()
        if "ip-batch" in self.fail and any(line.startswith(("route", "rule")) for line in lines):
            return 1, "", self.fail["ip-batch"]
        for line in lines:
            words = line.split()
            if words[0] == "address":
                (self.addresses.add if words[1] == "add" else self.addresses.discard)(words[2].split("/")[0])
            elif words[0] == "rule" and words[4] == "from":
                rule = (int(words[3]), None, int(words[7]), words[5], 6 if ":" in words[5] else 4)
                (self.rules.add if words[1] == "add" else self.rules.discard)(rule)
            elif words[0] == "rule":
                # Without an address, a rule is of the batch's family (IPv4 unless -6).
                rule = (int(words[3]), int(words[5]), int(words[7]), None, version)
                (self.rules.add if words[1] == "add" else self.rules.discard)(rule)
            elif words[0] == "mptcp":
                self._mptcp(words)
            else:
                self._route(words)
        return 0, "", ""

    def _mptcp(self, words):
        if words[1:3] == ["limits", "set"]:
            self.subflow_limit = int(words[words.index("subflows") + 1])
        elif words[1:3] == ["endpoint", "add"]:
            assert words[2 + 1] not in self.endpoints, "endpoint %s exists" % words[3]
            self.endpoints[words[3]] = (self.next_endpoint_id, words[words.index("dev") + 1])
            self.next_endpoint_id += 1
        elif words[1:3] == ["endpoint", "delete"]:
            gone = int(words[4])
            self.endpoints = dict((a, e) for a, e in self.endpoints.items() if e[0] != gone)
        else:
            raise AssertionError("unexpected mptcp command %r" % (words,))

    def _route(self, words):
        kind = "unreachable" if words[2] == "unreachable" else None
        rest = words[3:] if kind else words[2:]
        dst, table = rest[0], int(rest[2])
        metric = int(rest[rest.index("metric") + 1]) if "metric" in rest else 0
        key = (table, dst, metric)
        if words[1] == "del":
            self.routes.pop(key, None)
            return
        route = {"dst": dst, "table": "main" if table == 254 else str(table), "metric": metric}
        if kind:
            route["type"] = kind
        if "src" in rest:
            route["prefsrc"] = rest[rest.index("src") + 1]
        if "nexthop" in rest:
            route["nexthops"] = []
            for i, word in enumerate(rest):
                if word == "nexthop":
                    hop = rest[i + 1:i + 7] if rest[i + 1] == "via" else rest[i + 1:i + 5]
                    route["nexthops"].append(dict(zip(hop[::2], hop[1::2])))
                    route["nexthops"][-1]["weight"] = int(route["nexthops"][-1]["weight"])
            for hop in route["nexthops"]:
                if "via" in hop:
                    hop["gateway"] = hop.pop("via")
                elif ":" in dst:
                    # As the kernel says.
                    raise ValueError("Device only routes can not be added for IPv6 using the multipath API.")
        elif "dev" in rest:
            route["dev"] = rest[rest.index("dev") + 1]
        self.routes[key] = route


class FakeSystemd(object):
    """systemd's unit states, shared by every instance the module makes."""
    units = {}
    calls = []
    fail = {}  # verb -> error for that verb

    def __init__(self, module):
        self.module = module

    def show(self, units):
        return dict((u, dict(FakeSystemd.units.get(u, {"ActiveState": "inactive", "UnitFileState": "disabled"})))
                    for u in units)

    def try_run(self, verb, units, *flags):
        if not units or self.module.check_mode:
            return None
        FakeSystemd.calls.append((verb, sorted(units)))
        if verb in FakeSystemd.fail:
            return FakeSystemd.fail[verb]
        for unit in units:
            state = FakeSystemd.units.setdefault(unit, {"ActiveState": "inactive", "UnitFileState": "disabled"})
            if verb == "enable" or verb == "disable":
                state["UnitFileState"] = verb + "d"
            if verb == "start" or (verb == "disable" and "--now" in flags) or verb == "stop":
                state["ActiveState"] = "active" if verb == "start" else "inactive"
        return None

    def run(self, verb, units, *flags):
        error = self.try_run(verb, units, *flags)
        if error:
            self.module.fail_json(msg=error)


def stand_in(module, tmp_path, monkeypatch, interfaces):
    """Points ``module`` (balance_datapath) at a FakeKernel with ``interfaces`` and at
    FakeSystemd, both fresh; the kernel's ``root`` is ``tmp_path``."""
    fake = FakeKernel(interfaces)
    FakeSystemd.units, FakeSystemd.calls, FakeSystemd.fail = {}, [], {}
    monkeypatch.setattr(module, "SystemdUnits", FakeSystemd)
    monkeypatch.setattr(module.AnsibleModule, "run_command",
                        lambda self, argv, data=None, binary_data=False, **kwargs: fake(argv, data))
    fake.root = tmp_path
    return fake


def converge(module, capsys, host, sides, check=False, rc=0):
    """One run of ``module`` on the stand-in host, its directories under ``host.root``."""
    args = {"sides": sides, "config_dir": str(host.root / "etc"), "run_dir": str(host.root / "run"),
            "lib_dir": str(host.root / "lib"), "_ansible_check_mode": check, "_ansible_diff": True}
    FakeSystemd.calls = []
    return run_module(capsys, module.main, args, rc)
