"""Role inputs: argument specs agree with the real defaults, and READMEs are generated from them."""
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import DEFAULT_POOL

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES = sorted(name for name in os.listdir(os.path.join(ROOT, "roles")))
# Fleet inputs shared by every role live in the inventory; their defaults live in the planner.
SHARED_DEFAULTS = {"bonded_openvpn_pool": DEFAULT_POOL, "bonded_openvpn_remove": []}


def load(role, *path):
    full = os.path.join(ROOT, "roles", role, *path)
    if not os.path.exists(full):
        return None
    with open(full) as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_an_argument_spec(role):
    assert load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_declared_with_the_same_value(role):
    defaults = load(role, "defaults", "main.yml") or {}
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, value in defaults.items():
        assert name in options, "%s: %s is in defaults/main.yml but not in the argument spec" % (role, name)
        assert options[name].get("default") == value, "%s: %s spec default %r != defaults %r" % (
            role, name, options[name].get("default"), value)


@pytest.mark.parametrize("role", ROLES)
def test_every_declared_default_is_the_real_one(role):
    defaults = load(role, "defaults", "main.yml") or {}
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, option in options.items():
        if option.get("required") or "default" not in option:
            continue
        real = SHARED_DEFAULTS[name] if name in SHARED_DEFAULTS else defaults.get(name, "<missing>")
        assert option["default"] == real, "%s: %s is documented as %r but really defaults to %r" % (
            role, name, option["default"], real)


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_collection_prefix(role):
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert all(name.startswith("bonded_openvpn_") for name in options), sorted(options)


def test_role_readmes_are_generated_from_the_specs():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "role_readme.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
