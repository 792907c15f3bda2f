"""Runs a module's main() as Ansible would run it on a host, and returns its JSON result."""
import json

import pytest

from ansible.module_utils.testing import patch_module_args


def run_module(capsys, main, args, rc=0):
    """``main()`` with ``args``; asserts the exit code (0 ok, 1 fail_json) and returns the result."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == rc, result
    return result
