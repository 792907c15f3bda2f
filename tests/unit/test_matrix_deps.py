# -*- coding: utf-8 -*-
"""The core-version matrix (tox.ini) installs its own short list of test dependencies: a
library a unit test starts importing must reach that list too, with the same pin as
requirements-test.txt, or only the matrix stage fails (as prometheus_client once did)."""
from __future__ import absolute_import, division, print_function

import ast
import configparser
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(ROOT, "tests", "unit")
# Provided by ansible-core itself or by this checkout, not by a tox dependency.
PROVIDED = {"ansible", "ansible_collections", "jinja2", "yaml", "markupsafe", "packaging"}


def distribution_key(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def tox_deps():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, "tox.ini"))
    deps = {}
    for line in parser["testenv"]["deps"].splitlines():
        line = line.split("#", 1)[0].strip()
        if line and ":" not in line.split("=", 1)[0]:
            name = re.split(r"[<>=!\[]", line, maxsplit=1)[0]
            deps[distribution_key(name)] = line
    return deps


def requirement_pins():
    pins = {}
    with open(os.path.join(ROOT, "requirements-test.txt")) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                pins[distribution_key(re.split(r"[\[=]", line, maxsplit=1)[0])] = line
    return pins


def local_modules():
    """The tests' own helper modules, and the lab's packages they put on sys.path."""
    names = set()
    for folder, dummy, files in os.walk(UNIT):
        names.update(os.path.splitext(name)[0] for name in files if name.endswith(".py"))
    lab = os.path.join(ROOT, "lab")
    names.update(name for name in os.listdir(lab) if os.path.isfile(os.path.join(lab, name, "__init__.py")))
    return names


def third_party_imports():
    stdlib, local, found = set(sys.stdlib_module_names), local_modules(), set()
    for folder, dummy, files in os.walk(UNIT):
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name)) as handle:
                tree = ast.parse(handle.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    tops = [alias.name.split(".")[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                found.update(top for top in tops if top not in stdlib | local | PROVIDED and top != "__future__")
    return found


def test_every_library_the_unit_tests_import_is_a_matrix_dependency():
    missing = sorted(name for name in third_party_imports() if distribution_key(name) not in tox_deps())
    assert not missing, "add to tox.ini [testenv] deps, pinned as in requirements-test.txt: %s" % ", ".join(missing)


def test_matrix_pins_match_requirements_test():
    pins = requirement_pins()
    differ = ["%s (requirements-test.txt: %s)" % (line, pins.get(key)) for key, line in sorted(tox_deps().items())
              if pins.get(key) != line]
    assert not differ, "tox.ini [testenv] deps differ from requirements-test.txt: %s" % "; ".join(differ)


def molecule_envs():
    """Each tox env that runs Molecule: its passenv patterns and the scenarios it tests."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, "tox.ini"))
    for section in parser.sections():
        commands = parser[section].get("commands", "")
        scenarios = re.findall(r"molecule \w+ -s ([\w-]+)", commands)
        if scenarios:
            passenv = [line.split("#", 1)[0].strip() for line in parser[section].get("passenv", "").splitlines()]
            yield section, [pattern for pattern in passenv if pattern and "{" not in pattern], scenarios


def test_a_molecule_env_passes_every_variable_its_scenarios_read():
    # tox strips the environment: a variable molecule.yml reads but passenv lacks reaches
    # Molecule empty, and the scenario dies on "platforms.image: None" (as default once did).
    import fnmatch
    missing, envs = [], list(molecule_envs())
    assert envs, "tox.ini has no env running molecule: this test reads the wrong file"
    for section, patterns, scenarios in envs:
        for scenario in scenarios:
            with open(os.path.join(ROOT, "molecule", scenario, "molecule.yml")) as handle:
                wanted = set(re.findall(r"\$\{(\w+)", handle.read()))
            missing += ["%s: %s (molecule/%s)" % (section, name, scenario) for name in sorted(wanted)
                        if not name.startswith("MOLECULE_") and not any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    assert not missing, "add to passenv in tox.ini: %s" % "; ".join(missing)
