"""The execution environment pins every Python package it installs (constraints-ee.txt,
written by lab/ee/lock.py), and every pip install of its build keeps to that lock."""
import copy
import os
import re
import subprocess
import sys

import pytest
import yaml

import lab_ee

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


lock = lab_ee.load("lock")


def definition():
    with open(lock.DEFINITION) as handle:
        return yaml.safe_load(handle)


def check(changed_definition=None, requirements=None, inputs=None, pins=None):
    return lock.problems(changed_definition or definition(),
                         lock.requirement_lines(lock.REQUIREMENTS) if requirements is None else requirements,
                         lock.requirement_lines(lock.INPUT) if inputs is None else inputs,
                         lock.read_lock() if pins is None else pins)


def test_every_package_of_the_ee_is_pinned_by_the_lock():
    assert check() == []


def test_every_line_of_the_lock_is_an_exact_annotated_pin():
    pins = lock.read_lock()
    assert pins and all(pin[0][0].isdigit() for pin in pins.values())


def test_a_range_in_the_lock_is_refused(tmp_path):
    path = tmp_path / "constraints-ee.txt"
    path.write_text("cryptography>=50  # final; needs: cffi\n")
    with pytest.raises(ValueError, match="not 'name==version"):
        lock.read_lock(str(path))


def test_an_unpinned_package_of_the_definition_is_reported():
    changed = copy.deepcopy(definition())
    changed["dependencies"]["ansible_runner"]["package_pip"] = "ansible-runner"
    assert check(changed) == ["execution-environment.yml: ansible-runner is not pinned to one version (name==version)"]


def test_a_version_the_lock_does_not_hold_is_reported():
    changed = copy.deepcopy(definition())
    changed["dependencies"]["ansible_core"]["package_pip"] = "ansible-core==2.19.0"
    found = check(changed)
    assert len(found) == 1 and "ansible-core==2.19.0, but constraints-ee.txt pins ansible-core==" in found[0]


def test_a_collection_requirement_that_is_not_locked_is_reported():
    assert check(requirements=["netaddr==1.3.0"]) == [
        "requirements.txt: netaddr==1.3.0 is not in constraints-ee.txt: run lab/run lab/ee/lock.py"]


def test_a_transitive_dependency_missing_from_the_lock_is_reported():
    pins = lock.read_lock()
    del pins["cffi"]
    assert "constraints-ee.txt: cryptography needs cffi, which it does not pin" in check(pins=pins)


def test_a_held_back_version_is_kept_below_its_bound():
    pins = lock.read_lock()
    pins["cryptography"] = ("51.0.1",) + pins["cryptography"][1:]
    assert any(problem.startswith("lab/ee/lock.in: cryptography<51, but") for problem in check(pins=pins))


def test_final_marks_follow_what_the_final_image_installs():
    pins = lock.read_lock()
    pins["bindep"] = (pins["bindep"][0], "final", pins["bindep"][2])
    assert check(pins=pins) == ["constraints-ee.txt: bindep is marked 'final' but is not in the final image"]


def test_every_pip_install_of_the_build_keeps_to_the_lock():
    ee = definition()
    copied = [item for item in ee["additional_build_files"] if item["src"] == "constraints-ee.txt"]
    assert len(copied) == 1, "execution-environment.yml must copy constraints-ee.txt into the build"
    steps = ee["additional_build_steps"]["prepend_base"]
    copy_step = "COPY _build/%s/constraints-ee.txt " % copied[0]["dest"]
    target = [step[len(copy_step):].strip() for step in steps if step.startswith(copy_step)]
    assert target and "ENV PIP_CONSTRAINT=%s" % target[0] in steps
    # prepend_base runs before builder's first pip install, and every later stage starts
    # from the base stage, so the variable reaches every pip install.
    assert steps.index("ENV PIP_CONSTRAINT=%s" % target[0]) < min(
        [i for i, step in enumerate(steps) if "pip" in step and step.startswith("RUN")] or [len(steps)])


def test_the_docs_table_of_pins_is_written_from_the_lock():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "lab", "ee", "lock.py"), "--check-doc"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_doc_states_no_locked_version_outside_the_written_table():
    with open(lock.DOC) as handle:
        text = handle.read()
    prose = text[:text.index(lock.BEGIN)] + text[text.index(lock.END):]
    for name, pin in lock.read_lock().items():
        copied = re.search(r"\b%s\W{1,3}%s\b" % (re.escape(name), re.escape(pin[0])), prose, re.IGNORECASE)
        assert not copied, "docs/execution-environment.md copies %r by hand; the table has it" % copied.group(0)
