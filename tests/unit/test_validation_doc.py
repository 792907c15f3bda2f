"""docs/validation.md and the bad-input table (bad_bonds.yml) describe the same rules.

Every case id of the table appears in exactly one row of the document and every id in the
document is a case; each case, run through the planner, produces the message written in
its row. So the documented messages are the real ones.
"""
import importlib.util
import os
import re

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._plan.planner import PlanError, build_plan

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "validation.md")
CASES_DIR = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "_plan")
PLACEHOLDER = re.compile(r"<[^<>]+>")


def _load_base_fleet():
    # The cases patch the valid fleet of test_planner.py; load it from there, not a copy.
    spec = importlib.util.spec_from_file_location("_bad_bonds_base", os.path.join(CASES_DIR, "test_planner.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BASE = _load_base_fleet()
CASES = BASE.BAD_CASES


def _rows():
    """(row number, message template, [case ids]) for each row of the rules table."""
    rows = []
    with open(DOC) as handle:
        for line in handle:
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            if len(cells) != 5 or not cells[0].isdigit():
                continue
            message = cells[3]
            assert message.startswith("`") and message.endswith("`"), "row %s: message not in backticks" % cells[0]
            ids = re.findall(r"`([^`]+)`", cells[4])
            rows.append((int(cells[0]), message[1:-1], ids))
    return rows


ROWS = _rows()


def _ids_in_doc():
    return [case_id for dummy, dummy, ids in ROWS for case_id in ids]


def _apply(case):
    return BASE.apply_case(case)


def _pattern(template):
    parts = PLACEHOLDER.split(template)
    return re.compile(".+?".join(re.escape(part) for part in parts) + r"\Z")


def test_the_document_has_its_rules_table():
    assert len(ROWS) >= 25
    assert [number for number, dummy, dummy in ROWS] == list(range(1, len(ROWS) + 1)), "rows are not numbered 1..n"


def test_every_case_of_the_table_is_in_the_document():
    missing = [case["id"] for case in CASES if case["id"] not in _ids_in_doc()]
    assert not missing, "cases of bad_bonds.yml missing from docs/validation.md: %s" % missing


def test_every_case_in_the_document_is_in_the_table():
    known = set(case["id"] for case in CASES)
    unknown = [case_id for case_id in _ids_in_doc() if case_id not in known]
    assert not unknown, "docs/validation.md names cases that bad_bonds.yml lacks: %s" % unknown


def test_each_case_is_in_one_row_only():
    ids = _ids_in_doc()
    assert sorted(set(case_id for case_id in ids if ids.count(case_id) > 1)) == []


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_the_planner_says_what_the_row_of_the_case_says(case):
    template = [message for dummy, message, ids in ROWS if case["id"] in ids]
    if not template:
        pytest.fail("case %r has no row in docs/validation.md" % case["id"])
    with pytest.raises(PlanError) as raised:
        build_plan(_apply(case), case.get("pool", BASE.POOL), BASE.case_hosts(case), case.get("pool6"))
    pattern = _pattern(template[0])
    assert any(pattern.match(error) for error in raised.value.errors), (
        "documented: %s\nplanner said: %s" % (template[0], raised.value.errors))
