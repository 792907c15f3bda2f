# -*- coding: utf-8 -*-
"""host_files in the crypto pattern: check mode, apply, idempotence in check mode,
idempotence; an owner the host lacks and a bad mode fail before anything changes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.modules import host_files

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run(capsys, check=False, **args):
    params = dict(args, _ansible_check_mode=check, _ansible_diff=True)
    with patch_module_args(params):
        with pytest.raises(SystemExit) as exit_info:
            host_files.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def mode(path):
    return oct(os.stat(str(path)).st_mode & 0o7777)


@pytest.fixture
def wanted(tmp_path):
    directory, unit = tmp_path / "etc" / "bonded", tmp_path / "units" / "x@.service"
    return dict(
        directories=[dict(path=str(directory), owner=ME, group=MY_GROUP, mode="0750")],
        files=[dict(path=str(unit), content="[Unit]\nDescription=x %i\n", owner=ME, group=MY_GROUP)],
    ), directory, unit


def test_check_mode_reports_every_path_and_makes_nothing(capsys, wanted):
    args, directory, unit = wanted
    code, result = run(capsys, check=True, **args)
    assert code == 0 and result["changed"] is True
    assert result["changed_paths"] == [str(directory), str(unit)]
    assert not directory.exists() and not unit.exists()
    assert result["diff"][1]["after"] == "[Unit]\nDescription=x %i\n"


def test_apply_makes_directories_then_files_with_their_modes(capsys, wanted):
    args, directory, unit = wanted
    code, result = run(capsys, **args)
    assert code == 0 and result["changed"] is True
    assert mode(directory) == "0o750" and mode(unit) == "0o644"
    assert unit.read_text() == "[Unit]\nDescription=x %i\n"
    assert [p.name for p in unit.parent.iterdir()] == ["x@.service"]  # no temporary left


def test_a_second_run_changes_nothing_in_check_mode_or_not(capsys, wanted):
    args = wanted[0]
    run(capsys, **args)
    for check in (True, False):
        code, result = run(capsys, check=check, **args)
        assert code == 0 and result["changed"] is False and result["changed_paths"] == []


def test_only_a_wrong_mode_is_corrected_and_reported(capsys, wanted):
    args, directory, unit = wanted
    run(capsys, **args)
    os.chmod(str(unit), 0o666)
    code, result = run(capsys, **args)
    assert result["changed_paths"] == [str(unit)] and mode(unit) == "0o644"
    assert result["diff"][0]["before"]["mode"] == "0666"


def test_new_content_replaces_the_file(capsys, wanted):
    args, directory, unit = wanted
    run(capsys, **args)
    args["files"][0]["content"] = "[Unit]\nDescription=y\n"
    code, result = run(capsys, **args)
    assert result["changed_paths"] == [str(unit)] and unit.read_text() == "[Unit]\nDescription=y\n"
    assert result["diff"][0]["before"] == "[Unit]\nDescription=x %i\n"


@pytest.mark.parametrize("change, message", [
    (dict(owner="no-such-user-here"), "no user 'no-such-user-here' on this host (nothing was changed)"),
    (dict(group="no-such-group-here"), "no group 'no-such-group-here' on this host (nothing was changed)"),
    (dict(mode="rw-r--r--"), "is not an octal mode"),
])
def test_bad_entries_fail_before_any_change(capsys, wanted, change, message):
    args, directory, unit = wanted
    args["files"][0].update(change)
    code, result = run(capsys, **args)
    assert code == 1 and message in result["msg"]
    assert not directory.exists() and not unit.exists()


def test_a_file_where_a_directory_belongs_is_refused(capsys, wanted):
    args, directory, unit = wanted
    directory.parent.mkdir(parents=True)
    directory.write_text("not a directory")
    code, result = run(capsys, **args)
    assert code == 1 and "exists and is not a directory" in result["msg"]
