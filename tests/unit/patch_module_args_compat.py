"""ansible.module_utils.testing.patch_module_args for ansible-core before 2.19, which lacks it.

The unit tests import it from ansible-core; on 2.16-2.18 conftest.py registers this module
under that name, so the same tests run unchanged on every core the collection supports.
It hands the arguments to AnsibleModule the way those cores read them (basic._ANSIBLE_ARGS).
"""
import contextlib
import json
from unittest import mock


@contextlib.contextmanager
def patch_module_args(args=None):
    """Expose ``args`` to AnsibleModule instances created within this context."""
    from ansible.module_utils import basic

    if not isinstance(args, (dict, type(None))):
        raise TypeError("The `args` arg must be a dict or None.")
    encoded = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
    with mock.patch.object(basic, "_ANSIBLE_ARGS", encoded):
        yield
