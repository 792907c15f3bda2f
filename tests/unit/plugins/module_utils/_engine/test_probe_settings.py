"""Probe settings are checked by one function, used by the module, the spec loader and the
watchdog at start: every bad value is refused with the setting (and its role variable) named."""
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import watchdog
from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath

from balance_fixtures import spec

BAD_VALUES = [float("inf"), float("-inf"), float("nan"), -1, 0, True, "1", None]
CASES = [(name, value) for name in sorted(layout.PROBE_LIMITS) for value in BAD_VALUES]


def settings(**changes):
    values = dict(layout.PROBE_DEFAULTS)
    values.update(changes)
    return values


def case_id(case):
    return "%s=%r" % case


@pytest.mark.parametrize("name,value", CASES, ids=[case_id(c) for c in CASES])
def test_a_bad_value_is_refused_naming_the_setting_and_its_role_variable(name, value):
    with pytest.raises(bspec.SpecError) as error:
        bspec.check_probe(settings(**{name: value}))
    message = str(error.value)
    assert "probe setting %r (%s)" % (name, layout.PROBE_LIMITS[name][4]) in message
    assert "got %r" % (value,) in message


@pytest.mark.parametrize("name", sorted(layout.PROBE_LIMITS))
def test_values_past_the_upper_bound_are_refused(name):
    highest = layout.PROBE_LIMITS[name][2]
    with pytest.raises(bspec.SpecError, match="probe setting %r" % name):
        bspec.check_probe(settings(**{name: highest * 2}))


def test_every_bad_setting_is_reported_at_once():
    with pytest.raises(bspec.SpecError) as error:
        bspec.check_probe(settings(interval=float("nan"), up_after=0))
    assert "'interval'" in str(error.value) and "'up_after'" in str(error.value)


def test_missing_and_unknown_settings_are_refused():
    values = settings(interval_s=1)
    del values["timeout"]
    with pytest.raises(bspec.SpecError) as error:
        bspec.check_probe(values)
    assert "'interval_s' is unknown" in str(error.value) and "'timeout'" in str(error.value)
    assert "got nothing" in str(error.value)


def test_good_values_come_back_as_numbers_of_their_kind():
    checked = bspec.check_probe(settings(interval=1, down_after=3.0, verify_every=0x10))
    assert checked == dict(layout.PROBE_DEFAULTS, interval=1.0, down_after=3, verify_every=16.0)
    assert isinstance(checked["interval"], float) and isinstance(checked["down_after"], int)


def test_the_defaults_are_within_the_limits():
    assert bspec.check_probe(dict(layout.PROBE_DEFAULTS)) == layout.PROBE_DEFAULTS


def test_the_spec_loader_refuses_a_spec_with_nan_json_can_carry_it():
    text = bspec.dump(dict(spec(), probe=settings(interval=float("nan"))), "m")
    assert "NaN" in text
    with pytest.raises(bspec.SpecError, match="probe setting 'interval'.*re-run the bonded.openvpn.balance role"):
        bspec.parse(text, "paris.conf")


def test_the_watchdog_refuses_bad_settings_even_when_handed_a_spec_directly():
    with pytest.raises(bspec.SpecError, match="'timeout'"):
        watchdog.Watchdog(dict(spec(), probe=settings(timeout=float("inf"))))


def test_the_watchdog_does_not_start_on_a_bad_spec_and_exits_with_ex_config(tmp_path, capsys):
    (tmp_path / "paris.conf").write_text(bspec.dump(dict(spec(), probe=settings(down_after=0)), "m"))
    code = watchdog.main(["paris", "--config-dir", str(tmp_path), "--run-dir", str(tmp_path)])
    assert code == watchdog.EX_CONFIG == 78
    out = capsys.readouterr().out
    assert out.startswith("<3>bond paris: cannot use its balance spec") and "'down_after'" in out


@pytest.mark.parametrize("name,value", [("interval", float("inf")), ("timeout", float("nan")),
                                        ("verify_every", -1.0), ("up_after", 0)])
def test_the_module_fails_naming_the_setting_before_changing_anything(name, value, capsys, tmp_path):
    args = {"sides": [], "probe": {name: value}, "config_dir": str(tmp_path / "etc"),
            "run_dir": str(tmp_path / "run"), "lib_dir": str(tmp_path / "lib")}
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            balance_datapath.main()
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1 and result["failed"]
    assert "probe setting %r (%s)" % (name, layout.PROBE_LIMITS[name][4]) in result["msg"]
    assert "this host's data path was not changed" in result["msg"]
    assert not list(tmp_path.iterdir())


def documented_limits():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "docs", "validation.md")
    with open(path) as handle:
        text = handle.read().split("## Watchdog probe settings", 1)[1]
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in layout.PROBE_LIMITS:
            rows[cells[0]] = (cells[1], cells[2], cells[3], cells[4])
    return rows


def test_docs_validation_lists_every_probe_setting_with_its_variable_and_bounds():
    expected = dict((name, (variable, unit, str(lowest), str(highest)))
                    for name, (_kind, lowest, highest, unit, variable) in layout.PROBE_LIMITS.items())
    assert documented_limits() == expected
