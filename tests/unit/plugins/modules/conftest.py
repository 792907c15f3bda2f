import pytest


@pytest.fixture(autouse=True)
def module_side_of_ansible(monkeypatch):
    """Modules run on the managed host, where warnings go into the result. Once any test has
    imported Ansible's controller code (the inventory, say), ansible-core routes module
    warnings to the controller's display instead; put them back where a module puts them.
    ansible-core before 2.19 has no such routing (nor the flag)."""
    try:
        from ansible.module_utils import _internal
    except ImportError:
        return
    if hasattr(_internal, "is_controller"):
        monkeypatch.setattr(_internal, "is_controller", False)
