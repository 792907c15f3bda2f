"""Makes the collection importable as ansible_collections.bonded.openvpn from a checkout."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "bonded", "openvpn")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
# Helpers shared by the tests of several directories (lock_probe).
HELPERS = os.path.dirname(os.path.abspath(__file__))
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)


try:
    from ansible.module_utils import testing as _core_testing  # noqa: F401  (ansible-core 2.19+)
except ImportError:  # 2.16-2.18: the same helper, from this directory
    import patch_module_args_compat

    sys.modules["ansible.module_utils.testing"] = patch_module_args_compat

import pytest  # noqa: E402  (after the path set-up above, which the import of the collection needs)


@pytest.fixture(autouse=True)
def fresh_module_warnings():
    """ansible-core keeps module warnings in process-wide dicts and drops repeats; a warning
    one test's module emitted would otherwise be missing from a later test's result."""
    from ansible.module_utils.common import warnings as module_warnings
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()
    yield
