"""Pins every Python package of the execution environment: lab/run lab/ee/lock.py [--doc-only | --check-doc]

Resolves, with pip's resolver (pip install --dry-run --report), what the EE installs: the
package_pip entries of execution-environment.yml (ansible-core, ansible-runner),
requirements.txt (what the collection declares) and lab/ee/lock.in (ansible-builder's own
tools and the versions held back). Writes every package of the result, transitive ones
included, as NAME==VERSION to constraints-ee.txt, which execution-environment.yml applies to
every pip install of the build (PIP_CONSTRAINT). Each line says whether the package stays
in the final image or serves only builder's build stage, and what it needs, so that a test
can check the lock is closed (tests/unit/test_ee_pins.py). Then rewrites the table of pins in
docs/execution-environment.md. --doc-only rewrites the table from the committed lock, and
--check-doc exits 1 when the table and the lock disagree; neither needs the network.

It resolves for the Python that runs it: that must be the EE's (3.11, Linux, x86_64), so
that environment markers select what they select in the image.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFINITION = os.path.join(ROOT, "execution-environment.yml")
REQUIREMENTS = os.path.join(ROOT, "requirements.txt")
INPUT = os.path.join(ROOT, "lab", "ee", "lock.in")
LOCK = os.path.join(ROOT, "constraints-ee.txt")
DOC = os.path.join(ROOT, "docs", "execution-environment.md")
EE_PYTHON = (3, 11)
# ansible-builder 3 installs this in the final stage when the definition sets no
# options.container_init (ours does not).
DEFAULT_INIT = "dumb-init"
BEGIN, END = "<!-- ee-pins: begin (lab/ee/lock.py writes this table) -->", "<!-- ee-pins: end -->"
LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s#]+)\s*#\s*(final|build only); needs: (.*)$")
HEADER = """\
# Every Python package the execution environment installs, transitive ones included, each
# at an exact version. execution-environment.yml applies this file to every pip install of
# the build (PIP_CONSTRAINT). "final": in the image; "build only": ansible-builder's builder
# stage. Written by lab/ee/lock.py from execution-environment.yml, requirements.txt and
# lab/ee/lock.in for Python %d.%d (the EE's, Debian 12); do not edit: change those and run
# lab/run lab/ee/lock.py (docs/execution-environment.md, "Pinned versions").
"""


def requirement_lines(path):
    with open(path) as handle:
        return [line.split("#", 1)[0].strip() for line in handle if line.split("#", 1)[0].strip()]


def definition_requirements(definition):
    """The pip requirements the committed definition names (package_pip), by role."""
    dependencies = definition["dependencies"]
    refs = [dependencies[name]["package_pip"] for name in ("ansible_core", "ansible_runner")
            if isinstance(dependencies.get(name), dict) and dependencies[name].get("package_pip")]
    init = (definition.get("options") or {}).get("container_init", {}).get("package_pip")
    return refs, init


def final_roots(definition, requirements):
    """Names whose closure ends up in the final image: the base stage's ansible refs, the
    init package and the collection's requirements.txt."""
    refs, init = definition_requirements(definition)
    names = [Requirement(ref).name for ref in refs] + [Requirement(init).name if init else DEFAULT_INIT]
    return set(canonicalize_name(name) for name in names + [Requirement(r).name for r in requirements])


def resolve(requirements):
    """pip's resolution of the requirements for this Python: {name: (version, [needs])}."""
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "report.json")
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                        "--only-binary=:all:", "--quiet", "--disable-pip-version-check",
                        "--report", report] + requirements, check=True)
        with open(report) as handle:
            installs = json.load(handle)["install"]
    resolved = {}
    for item in installs:
        metadata = item["metadata"]
        needs = set()
        for text in metadata.get("requires_dist") or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                needs.add(canonicalize_name(requirement.name))
        resolved[canonicalize_name(metadata["name"])] = (metadata["version"], sorted(needs))
    return resolved


def closure(roots, needs):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(needs.get(name, []))
    return seen


def write_lock(resolved, final):
    with open(LOCK, "w") as handle:
        handle.write(HEADER % EE_PYTHON)
        for name in sorted(resolved):
            version, needs = resolved[name]
            stage = "final" if name in final else "build only"
            handle.write("%s==%s  # %s; needs: %s\n" % (name, version, stage, ", ".join(needs) or "nothing"))


def read_lock(path=LOCK):
    """{name: (version, stage, [needs])} from constraints-ee.txt; raises on a line that is
    not an exact, annotated pin."""
    pins = {}
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith("#"):
                continue
            match = LINE.match(line.strip())
            if not match:
                raise ValueError("%s:%d is not 'name==version  # final|build only; needs: ...': %s"
                                 % (os.path.basename(path), number, line.strip()))
            needs = [] if match.group(4) == "nothing" else [n.strip() for n in match.group(4).split(",")]
            pins[canonicalize_name(match.group(1))] = (match.group(2), match.group(3), needs)
    return pins


def problems(definition, requirements, inputs, pins):
    """Why the lock does not pin the EE: a package the definition, requirements.txt or
    lock.in asks for that is not exact or not locked at that version, a lock.in bound the
    lock breaks, a dependency the lock does not hold, a wrong final/build mark. [] when
    every package of the EE is pinned."""
    found = []
    refs, init = definition_requirements(definition)
    for source, lines, exact in (("execution-environment.yml", refs + ([init] if init else []), True),
                                 ("requirements.txt", requirements, True), ("lab/ee/lock.in", inputs, False)):
        for text in lines:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            pinned = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            if exact and not pinned:
                found.append("%s: %s is not pinned to one version (name==version)" % (source, text))
            if name not in pins:
                found.append("%s: %s is not in constraints-ee.txt: run lab/run lab/ee/lock.py" % (source, text))
            elif not requirement.specifier.contains(pins[name][0], prereleases=True):
                found.append("%s: %s, but constraints-ee.txt pins %s==%s: run lab/run lab/ee/lock.py"
                             % (source, text, name, pins[name][0]))
    for name, pin in sorted(pins.items()):
        found += ["constraints-ee.txt: %s needs %s, which it does not pin" % (name, need)
                  for need in pin[2] if need not in pins]
    final = closure(final_roots(definition, requirements), dict((n, p[2]) for n, p in pins.items()))
    found += ["constraints-ee.txt: %s is marked %r but is%s in the final image" % (
        name, pin[1], "" if name in final else " not") for name, pin in sorted(pins.items())
        if (pin[1] == "final") != (name in final)]
    return found


def table(pins):
    rows = ["| package | version | in the image | needed by |", "| --- | --- | --- | --- |"]
    for name in sorted(pins):
        version, stage = pins[name][:2]
        users = sorted(other for other, pin in pins.items() if name in pin[2])
        image = "yes" if stage == "final" else "no (build stage)"
        rows.append("| %s | %s | %s | %s |" % (name, version, image, ", ".join(users) or "asked for (top level)"))
    return "\n".join(rows)


def doc_with_table(text, pins):
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table(pins) + "\n" + text[end:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--doc-only", action="store_true", help="rewrite the doc's table from the committed lock")
    mode.add_argument("--check-doc", action="store_true", help="exit 1 if the doc's table differs from the lock")
    args = parser.parse_args()
    with open(DOC) as handle:
        doc = handle.read()
    if args.check_doc:
        if doc_with_table(doc, read_lock()) != doc:
            sys.exit("docs/execution-environment.md's table of pins differs from constraints-ee.txt: "
                     "run lab/run lab/ee/lock.py --doc-only")
        return 0
    if not args.doc_only:
        if sys.version_info[:2] != EE_PYTHON:
            sys.exit("lab/ee/lock.py resolves for the Python that runs it; the EE's is %d.%d, this is %d.%d"
                     % (EE_PYTHON + sys.version_info[:2]))
        with open(DEFINITION) as handle:
            definition = yaml.safe_load(handle)
        refs, init = definition_requirements(definition)
        wanted = refs + ([init] if init else []) + requirement_lines(REQUIREMENTS) + requirement_lines(INPUT)
        resolved = resolve(wanted)
        final = closure(final_roots(definition, requirement_lines(REQUIREMENTS)),
                        dict((name, item[1]) for name, item in resolved.items()))
        write_lock(resolved, final)
        found = problems(definition, requirement_lines(REQUIREMENTS), requirement_lines(INPUT), read_lock())
        if found:
            sys.exit("constraints-ee.txt was written, but it does not pin the EE:\n  " + "\n  ".join(found))
        print("constraints-ee.txt: %d packages pinned, %d of them in the final image" % (len(resolved), len(final)))
    with open(DOC, "w") as handle:
        handle.write(doc_with_table(doc, read_lock()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
