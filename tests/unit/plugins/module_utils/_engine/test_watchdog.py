import os
import time

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import lock as balance_lock
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog
from ansible_collections.bonded.openvpn.plugins.module_utils._engine.live_set import parse as parse_live_set

from balance_fixtures import spec
from lock_probe import is_held
from test_kernel import FakeHost


class Lab(object):
    """Tunnel interfaces and peers the tests switch on and off."""

    def __init__(self):
        self.ifindex = dict(("bo-paris-%d" % k, 10 + k) for k in range(4))
        self.answering = set(range(4))
        self.now = 0.0

    def links(self, interface):
        index = self.ifindex.get(interface)
        return None if index is None else {"ifindex": index, "up": True}

    def prober(self, targets, timeout):
        return dict((k, {"sent": 1, "received": int(k in self.answering), "rtt_ms": 1.0 if k in self.answering else None,
                         "error": None}) for k in targets)

    def clock(self):
        return self.now


def make(tmp_path, lab, host=None):
    dog = watchdog.Watchdog(spec(), run=host or FakeHost(), prober=lab.prober, links=lab.links, clock=lab.clock,
                            run_dir=str(tmp_path))
    return dog


def live(tmp_path):
    with open(bspec.live_path("paris", str(tmp_path))) as handle:
        return parse_live_set(handle.read())


def test_the_first_round_applies_the_data_path_and_writes_the_live_set(tmp_path, capsys):
    lab = Lab()
    make(tmp_path, lab).step()
    assert live(tmp_path) == [0, 1, 2, 3]
    assert "tunnel 3 (bo-paris-3) up" in capsys.readouterr().out


def test_a_tunnel_that_stops_answering_leaves_the_live_set_in_one_round(tmp_path, capsys):
    lab = Lab()
    dog = make(tmp_path, lab)
    dog.step()
    lab.answering.discard(2)
    lab.now += 1
    dog.step()
    assert live(tmp_path) == [0, 1, 3]
    assert "<4>tunnel 2 (bo-paris-2) down: no answer from 10.255.1.9" in capsys.readouterr().out


def test_a_recovered_tunnel_returns_after_two_good_rounds(tmp_path):
    lab = Lab()
    dog = make(tmp_path, lab)
    lab.answering.discard(2)
    dog.step()
    lab.answering.add(2)
    dog.step()
    assert live(tmp_path) == [0, 1, 3]
    dog.step()
    assert live(tmp_path) == [0, 1, 2, 3]


def test_a_returning_interface_triggers_a_repair_even_when_the_live_set_is_the_same(tmp_path):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    dog.step()
    reads = len(host.calls)
    dog.step()
    assert len(host.calls) == reads            # nothing changed: no kernel call
    lab.ifindex["bo-paris-1"] = 99             # OpenVPN restarted between two rounds
    dog.step()
    assert len(host.calls) > reads


def test_the_whole_data_path_is_checked_again_every_few_seconds(tmp_path):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    dog.step()
    reads = len(host.calls)
    lab.now += spec()["probe"]["verify_every"]
    dog.step()
    assert len(host.calls) > reads


def test_a_missing_interface_is_not_probed_and_is_down_at_once(tmp_path):
    lab = Lab()
    dog = make(tmp_path, lab)
    dog.step()
    del lab.ifindex["bo-paris-0"]
    asked = []
    dog.prober = lambda targets, timeout: asked.append(sorted(targets)) or lab.prober(targets, timeout)
    dog.step()
    assert asked == [[1, 2, 3]] and live(tmp_path) == [1, 2, 3]


# Failing safe: errors in a round, broken tools, hung commands, systemd's watchdog.

class Notices(list):
    def __call__(self, message):
        self.append(message)


def looping(tmp_path, lab, host=None, prober=None):
    """A watchdog for run_forever: a recording notifier and a sleep that advances the clock."""
    notices = Notices()

    def sleep(seconds):
        lab.now += max(seconds, 0.001)

    dog = watchdog.Watchdog(spec(), run=host or FakeHost(), prober=prober or lab.prober, links=lab.links,
                            clock=lab.clock, run_dir=str(tmp_path), notifier=notices, sleep=sleep)
    return dog, notices


def test_a_round_that_raises_any_exception_is_logged_and_the_loop_goes_on(tmp_path, capsys):
    lab = Lab()
    calls = []

    def prober(targets, timeout):
        calls.append(1)
        if len(calls) == 2:
            raise ZeroDivisionError("a bug")
        return lab.prober(targets, timeout)

    dog, _notices = looping(tmp_path, lab, prober=prober)
    dog.run_forever(rounds=4)
    out = capsys.readouterr().out
    assert len(calls) == 4
    assert "<3>bond paris: round failed, retrying next round: ZeroDivisionError at test_watchdog.py:" in out
    assert "<6>bond paris: rounds succeed again after 1 failed" in out


def test_the_round_after_a_failure_checks_the_whole_data_path_again(tmp_path):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    dog.one_round()
    reads = len(host.calls)
    dog.prober = lambda targets, timeout: 1 / 0
    assert not dog.one_round()
    dog.prober = lab.prober
    assert dog.one_round()
    assert len(host.calls) > reads    # nothing changed, yet it read the kernel again


class NotJsonHost(FakeHost):
    """An ip that prints a line that is not JSON (a warning, a changed format)."""

    def __call__(self, argv, data=None, timeout=None):
        if argv[:4] == ["ip", "-N", "-j", "addr"]:
            self.calls.append((argv, data))
            return 0, "Warning: something unexpected\n", ""
        return FakeHost.__call__(self, argv, data, timeout)


def test_output_of_ip_that_is_not_json_is_an_error_naming_the_command_not_a_crash(tmp_path, capsys):
    lab = Lab()
    dog, notices = looping(tmp_path, lab, host=NotJsonHost())
    dog.run_forever(rounds=3)
    out = capsys.readouterr().out
    assert "cannot read the output of 'ip -N -j addr show dev lo' (JSONDecodeError" in out
    assert "Warning: something unexpected" in out
    assert sum("WATCHDOG=1" in notice for notice in notices) == 3


def test_the_same_error_every_round_is_logged_once_then_at_most_once_a_minute(tmp_path, capsys):
    lab = Lab()
    dog, _notices = looping(tmp_path, lab, host=NotJsonHost())
    dog.run_forever(rounds=int(watchdog.REPEAT_LOG_EVERY) + 5)
    lines = [line for line in capsys.readouterr().out.splitlines() if "cannot read the output" in line]
    assert len(lines) == 2 and "failed again (" in lines[1]


def test_watchdog_1_is_sent_each_round_and_ready_1_once_even_when_rounds_fail(tmp_path):
    lab = Lab()
    dog, notices = looping(tmp_path, lab, host=NotJsonHost())
    dog.run_forever(rounds=5)
    pings = [notice for notice in notices if "WATCHDOG=1" in notice]
    assert len(pings) == 5
    assert "READY=1" in pings[0] and not [notice for notice in pings[1:] if "READY=1" in notice]


def test_rounds_keep_their_interval(tmp_path):
    lab = Lab()
    dog, notices = looping(tmp_path, lab)
    dog.run_forever(rounds=10)
    assert lab.now == pytest.approx(10 * spec()["probe"]["interval"])


def test_a_command_that_hangs_is_killed_at_its_timeout(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(kernel.CommandTimeout, match="did not finish in 0.5 s; killed it"):
        watchdog.run_command(["sh", "-c", "echo $$ > %s; exec sleep 30" % pid_file], timeout=0.5)
    assert time.monotonic() - started < 5
    with pytest.raises(OSError):
        os.kill(int(pid_file.read_text()), 0)    # gone: killed and reaped


def test_a_command_that_finishes_returns_its_output():
    assert watchdog.run_command(["sh", "-c", "cat; echo err >&2; exit 3"], "in\n") == (3, "in\n", "err\n")


def test_each_command_gets_at_most_what_is_left_of_the_round(tmp_path):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    dog.one_round()
    assert host.timeouts and max(host.timeouts) <= watchdog.COMMAND_TIMEOUT
    dog.round_deadline = lab.now + 2.5
    dog.kernel.read(dog.scope)
    assert host.timeouts[-1] == pytest.approx(2.5)


def test_a_round_out_of_budget_runs_no_more_commands(tmp_path, capsys):
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    slow = lab.prober

    def prober(targets, timeout):
        lab.now += watchdog.ROUND_BUDGET + 1
        return slow(targets, timeout)

    dog.prober = prober
    assert not dog.one_round()
    assert host.calls == []
    assert "round over its 15 s budget before 'ip -N -j addr show dev lo'" in capsys.readouterr().out


def test_a_missing_tool_is_an_error_of_the_round_not_the_end_of_the_process(tmp_path, capsys):
    lab = Lab()

    def missing(argv, data=None, timeout=None):
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    dog, notices = looping(tmp_path, lab, host=missing)
    dog.run_forever(rounds=2)
    assert "No such file or directory: 'ip'" in capsys.readouterr().out
    assert sum("WATCHDOG=1" in notice for notice in notices) == 2


def test_once_reports_a_failed_round_in_its_exit_code(tmp_path, monkeypatch):
    (tmp_path / "paris.conf").write_text(bspec.dump(spec(), "m"))
    monkeypatch.setattr(watchdog, "run_command", NotJsonHost())
    monkeypatch.setattr(watchdog.balance_probe, "Sampler", lambda *args: Lab().prober)
    monkeypatch.setattr(watchdog, "read_link", Lab().links)
    assert watchdog.main(["paris", "--once", "--config-dir", str(tmp_path), "--run-dir", str(tmp_path)]) == 1


ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "roles", "bonded_openvpn_balance")


def unit_and_vars():
    import yaml
    with open(os.path.join(ROLE, "templates", "bonded-openvpn-watchdog@.service.j2")) as handle:
        unit = dict(line.split("=", 1) for line in handle.read().splitlines() if "=" in line and line[0].isalpha())
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        return unit, yaml.safe_load(handle)


def test_the_unit_does_not_restart_a_watchdog_whose_spec_is_unusable():
    unit, _vars = unit_and_vars()
    assert unit["RestartPreventExitStatus"] == str(watchdog.EX_CONFIG)


def test_systemd_waits_for_watchdog_1_at_least_twice_as_long_as_the_longest_round_or_interval():
    unit, variables = unit_and_vars()
    assert unit["WatchdogSec"] == "{{ __bonded_openvpn_balance_watchdog_sec }}"
    seconds = float(variables["__bonded_openvpn_balance_watchdog_sec"].rstrip("s"))
    longest = max(watchdog.ROUND_BUDGET, layout.PROBE_LIMITS["interval"][2], layout.PROBE_LIMITS["timeout"][2])
    assert seconds >= 2 * longest
    assert watchdog.COMMAND_TIMEOUT <= watchdog.ROUND_BUDGET


def test_the_kernel_changes_and_the_live_set_is_written_under_the_bonds_lock(tmp_path, monkeypatch):
    # balance_datapath reads the live set and the kernel under the same lock: it must
    # never see a kernel changed for a rotation whose live set is not written yet.
    lab, host = Lab(), FakeHost()
    lock = balance_lock.lock_path("paris", str(tmp_path))
    held_during = []

    def recording_host(argv, data=None, timeout=None):
        if argv[0] in ("ip", "nft"):
            held_during.append((" ".join(argv[:4]), is_held(lock)))
        return host(argv, data, timeout)

    real_write = kernel.write_atomic

    def recording_write(path, text, mode=0o644):
        if path == bspec.live_path("paris", str(tmp_path)):
            held_during.append(("live set", is_held(lock)))
        return real_write(path, text, mode)

    monkeypatch.setattr(watchdog.kernel, "write_atomic", recording_write)
    make(tmp_path, lab, recording_host).step()
    assert live(tmp_path) == [0, 1, 2, 3]
    assert ("nft -f -", True) in held_during and held_during[-1] == ("live set", True)
    assert [call for call, held in held_during if not held] == []
    assert not is_held(lock)


def test_a_round_that_cannot_have_the_lock_fails_and_the_next_repairs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(watchdog, "LOCK_WAIT", 0.05)
    lab, host = Lab(), FakeHost()
    dog = make(tmp_path, lab, host)
    with balance_lock.held([balance_lock.lock_path("paris", str(tmp_path))], 1.0):
        assert not dog.one_round()
    assert host.calls == []
    assert "paris.lock is held by another process" in capsys.readouterr().out
    assert not os.path.exists(bspec.live_path("paris", str(tmp_path)))
    assert dog.one_round()
    assert live(tmp_path) == [0, 1, 2, 3]
